"""The Advanced form offers only values TrainOptions.check() and the CLI accept (issue 10)."""

from __future__ import annotations

from app.core.model import EPOCHS_MAX, EPOCHS_MIN, MODEL_ALPHAS, SEED_MAX, TrainOptions


def test_advanced_form_offers_only_valid_values(window) -> None:
    screen = window.train
    assert (screen.epochs.minimum(), screen.epochs.maximum()) == (EPOCHS_MIN, EPOCHS_MAX)
    assert (screen.seed.minimum(), screen.seed.maximum()) == (0, SEED_MAX)
    offered = [screen.model_size.itemData(i) for i in range(screen.model_size.count())]
    assert offered == list(MODEL_ALPHAS)
    for epochs, seed, alpha in ((EPOCHS_MIN, 0, offered[0]), (EPOCHS_MAX, SEED_MAX, offered[-1])):
        TrainOptions(alpha=alpha, epochs=epochs, seed=seed).check()
    screen.epochs.setValue(0)  # typed or left over from an old settings file: clamped
    assert screen.epochs.value() == EPOCHS_MIN
