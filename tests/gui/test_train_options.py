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


def test_a_weights_file_from_the_environment_stays_the_environments(
    window, monkeypatch, tmp_path
) -> None:
    """Found by an audit: Advanced showed DUKAHUB_TRAINER_BASE_WEIGHTS's file, and its
    first save kept it in the settings, where it outlived every later change of the
    variable."""
    from app.core import paths

    first, later = tmp_path / "first.h5", tmp_path / "later.h5"
    monkeypatch.setenv(paths.BASE_WEIGHTS_ENV, str(first))
    screen = window.train
    screen.weights.setText(str(first))  # as the form shows it
    screen.epochs.setValue(7)
    screen.advanced.save()
    assert paths.Settings.load().base_weights == ""
    monkeypatch.setenv(paths.BASE_WEIGHTS_ENV, str(later))
    assert window.session.base_weights() == later

    screen.weights.setText(str(tmp_path / "mine.h5"))  # the owner's own choice is kept
    screen.advanced.save()
    assert paths.Settings.load().base_weights == str(tmp_path / "mine.h5")
