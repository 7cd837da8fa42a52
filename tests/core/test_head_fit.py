"""The head's compiled fit computes Keras's fit of the same head (issue 15/22: speed only)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from app.core import head_fit
from app.core.errors import Cancelled
from app.core.head import (
    UNIFORM,
    build_head,
    prototypes,
    shuffled_batches,
    smoothed_sparse_crossentropy,
)
from app.core.head_fit import FitSettings, compiled_fit
from app.core.progress import Reporter
from app.core.tf_runtime import tf_modules


def _rows(dtype: type) -> tuple[np.ndarray, np.ndarray, int]:
    rng = np.random.default_rng(0)
    n = 20
    y = (np.arange(700) % n).astype(np.int32)
    y[::13] = UNIFORM  # "not a product" rows among them
    centres = rng.normal(size=(n, 64)).astype(np.float32)
    x = (centres[np.maximum(y, 0)] + rng.normal(size=(700, 64))).astype(dtype)
    return x, y, n


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_the_compiled_fit_trains_exactly_like_keras_fit(dtype: type) -> None:
    """Same start, seed, batches (the same seeded reshuffle each pass, a short last batch),
    smoothed loss and Adam: the same weights and per-pass loss and accuracy as Keras's
    ``fit`` of the exported head's layers."""
    _, keras = tf_modules()
    x, y, n = _rows(dtype)
    keras.utils.set_random_seed(5)
    head = build_head(64, n)
    dense = head.get_layer("products")
    dense.set_weights([prototypes(x, np.maximum(y, 0), n).T * 0.3, np.zeros(n, np.float32)])
    start_kernel, start_bias = dense.get_weights()
    head.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=smoothed_sparse_crossentropy(0.1),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    keras_history = head.fit(shuffled_batches(x, y, 128, 7), epochs=6, verbose=0).history
    keras_kernel, keras_bias = dense.get_weights()

    history: list[dict[str, float]] = []
    kernel, bias = compiled_fit(
        x, y, start_kernel, start_bias, FitSettings(6, 1e-3, 0.1, 7), history=history
    )
    assert np.abs(keras_kernel - start_kernel).max() > 0.01  # it trained
    np.testing.assert_allclose(kernel, keras_kernel, atol=2e-6)
    np.testing.assert_allclose(bias, keras_bias, atol=2e-6)
    np.testing.assert_allclose([r["loss"] for r in history], keras_history["loss"], rtol=1e-5)
    np.testing.assert_allclose([r["acc"] for r in history], keras_history["accuracy"], rtol=1e-6)


def test_a_different_seed_gives_a_different_order() -> None:
    x, y, n = _rows(np.float32)
    k = np.zeros((64, n), np.float32)
    b = np.zeros(n, np.float32)
    one = compiled_fit(x, y, k, b, FitSettings(2, 1e-2, 0.1, 1))[0]
    again = compiled_fit(x, y, k, b, FitSettings(2, 1e-2, 0.1, 1))[0]
    other = compiled_fit(x, y, k, b, FitSettings(2, 1e-2, 0.1, 2))[0]
    np.testing.assert_array_equal(one, again)
    assert np.abs(one - other).max() > 1e-6


def test_cancel_stops_the_fit_between_calls(monkeypatch) -> None:
    """A call is a batch here (as at 5,000 products): a cancel set during the first pass
    ends the fit with ``Cancelled`` before the passes are done."""
    monkeypatch.setattr(head_fit, "CALL_WORK", 1.0)
    monkeypatch.setattr(head_fit, "PROGRESS_EVERY_S", 0.0)
    x, y, n = _rows(np.float32)
    cancel = threading.Event()
    seen: list[str] = []

    def on(p) -> None:  # noqa: ANN001
        seen.append(p.message)
        cancel.set()

    with pytest.raises(Cancelled):
        compiled_fit(
            x,
            y,
            np.zeros((64, n), np.float32),
            np.zeros(n, np.float32),
            FitSettings(5, 1e-3, 0.1, 0),
            Reporter(on, cancel),
        )
    assert seen == ["pass 1 of 5"]


def test_the_orders_are_not_autotuned() -> None:
    """tf.data's autotuning thread kept working beside the passes, and deleting the
    orders' iterator waited for it: 55 s without progress after the final fit at 5,000
    products. The orders are permutations, seeded, and read without it."""
    ds = head_fit.orders_dataset(50, 3, 2)
    assert ds.options().autotune.enabled is False
    orders = [o.numpy() for o in ds]
    assert len(orders) == 3 and all(sorted(o) == list(range(50)) for o in orders)
    again = [o.numpy().tolist() for o in head_fit.orders_dataset(50, 3, 2)]
    assert again == [o.tolist() for o in orders]  # seeded
