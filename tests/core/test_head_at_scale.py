"""The head's fit at many products (issue 22): integer targets, progress inside a pass."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from app.core import head_fit
from app.core import training_cost as trainer
from app.core.errors import InvalidOptions
from app.core.head import (
    UNIFORM,
    build_head,
    fit_parts,
    smoothed_sparse_crossentropy,
    smoothing_for,
)
from app.core.model import TrainOptions
from app.core.progress import Progress, Reporter
from app.core.tf_runtime import tf_modules


def _data(rows: int, dim: int, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(rows) % n
    centres = rng.normal(size=(n, dim)).astype(np.float32)
    x = centres[y] + 0.5 * rng.normal(size=(rows, dim)).astype(np.float32)
    return x.astype(np.float32), y


def test_integer_targets_train_exactly_like_smoothed_one_hot_and_uniform_rows() -> None:
    """Same seed, same rows, no shuffling: the sparse loss and Keras's dense
    CategoricalCrossentropy(label_smoothing) give the same losses and the same weights,
    with "not a product" rows (uniform target) among them."""
    _, keras = tf_modules()
    n, smoothing = 7, 0.1
    x, y = _data(300, 16, n)
    labels = y.astype(np.int32)
    labels[::10] = UNIFORM
    dense = np.eye(n, dtype=np.float32)[np.maximum(labels, 0)]
    dense[labels == UNIFORM] = 1.0 / n

    def fit(loss, targets) -> tuple[list[float], list[np.ndarray]]:
        keras.utils.set_random_seed(3)
        head = build_head(16, n)
        head.compile(optimizer=keras.optimizers.Adam(0.01), loss=loss)
        hist = head.fit(x, targets, epochs=3, batch_size=64, shuffle=False, verbose=0)
        return hist.history["loss"], head.get_weights()

    loss_dense, w_dense = fit(
        keras.losses.CategoricalCrossentropy(label_smoothing=smoothing), dense
    )
    loss_sparse, w_sparse = fit(smoothed_sparse_crossentropy(smoothing), labels)
    np.testing.assert_allclose(loss_sparse, loss_dense, rtol=1e-5)
    for a, b in zip(w_sparse, w_dense, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    # and the loss moved: a test that could not fail would not
    assert loss_sparse[-1] < loss_sparse[0]


def test_a_fit_with_5000_products_holds_no_dense_target_matrix() -> None:
    """20,000 views x 5,000 products: a one-hot target matrix alone is 400 MB. The fit's
    Python-side allocations stay far below that (tracemalloc sees every NumPy array)."""
    n, rows, dim = 5000, 20000, 32
    x, y = _data(rows, dim, n)
    options = TrainOptions(epochs=1)
    tracemalloc.start()
    try:
        _, parts = fit_parts(x, y, n, options)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert parts is not None and parts.kernel.shape == (dim, n)
    dense_bytes = rows * n * 4
    assert peak < dense_bytes / 8, f"peak {peak / 1e6:.0f} MB"
    # it learned: most training views are ranked to their own product
    right = (parts.predict(x[:2000], 1.0, options).argmax(1) == y[:2000]).mean()
    assert right > 0.5


def test_progress_moves_inside_a_pass_and_names_the_validation_round(monkeypatch) -> None:
    """At scale one pass takes minutes: the callback reports between passes too."""
    monkeypatch.setattr(head_fit, "PROGRESS_EVERY_S", 0.0)
    monkeypatch.setattr(head_fit, "CALL_WORK", 1.0)  # one batch per call, as at 5,000 products
    events: list[Progress] = []
    x, y = _data(2000, 16, 20)
    rep = Reporter(events.append)
    fit_parts(x, y, 20, TrainOptions(epochs=2), rep, phase="validating", prefix="round 1 of 3: ")
    inside = [e for e in events if 0 < e.fraction < 0.5]
    assert inside, [e.fraction for e in events]
    assert all(e.phase == "validating" for e in events)
    assert events[-1].message == "round 1 of 3: pass 2 of 2" and events[-1].fraction == 1.0
    assert all(not e.metrics for e in events)  # the chart plots the final fit only


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_sparse_loss_value_matches_the_formula(smoothing: float) -> None:
    tf, keras = tf_modules()
    logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]], np.float32)
    probs = keras.layers.Activation("softmax")(tf.constant(logits))
    got = smoothed_sparse_crossentropy(smoothing)(tf.constant([0, UNIFORM]), probs).numpy()
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    want = [-(1 - smoothing) * logp[0, 0] - smoothing * logp[0].mean(), -logp[1].mean()]
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_the_estimate_grows_with_products_not_only_with_views() -> None:
    """5,000 products x 2 photos: the head's passes cost per product too (issue 22: the
    old estimate counted views alone and was wrong by many minutes at that size)."""
    o = TrainOptions()
    views = trainer.planned_views(trainer.ShopShape.even(10000, 5000), o)
    passes = trainer.head_passes(trainer.ShopShape.even(10000, 5000), o)
    assert passes == o.epochs + trainer.quick_epochs(o)  # above 3,000 photos: one round
    assert trainer.head_passes(
        trainer.ShopShape.even(200, 100), o
    ) == o.epochs + 2 * trainer.quick_epochs(o)
    head = trainer.HEAD_S_PER_VIEW_PASS_PRODUCT * views * passes * 5000
    by_views = trainer.seconds_after_features(views)
    assert trainer.seconds_after_features(views, None, 5000, passes) == pytest.approx(
        by_views + head
    )
    assert head > by_views  # at this size the head is most of the work
    whole = trainer.estimate_seconds(trainer.ShopShape.even(10000, 5000), o)
    assert whole > views * trainer.SECONDS_PER_VIEW + head


def test_held_back_rounds_stop_once_enough_photos_are_held_back() -> None:
    """A round holds back a photo of every product with two or more: the shops the
    rules were set on (25-50 products) keep their three rounds, 1,000 products x 2
    photos hold back 1,000 photos in one round instead of 2,000 in two."""
    rounds = trainer.validation_rounds
    assert rounds(150, 3, 50) == rounds(75, 3, 25) == rounds(600, 3, 200) == 3
    assert rounds(500, 10, 50) == 3 and rounds(100, 2, 50) == 2  # fewer photos than rounds
    assert rounds(900, 3, 300) == 2 and rounds(2000, 2, 1000) == 1
    assert rounds(3500, 70, 50) == 1  # above 3,000 photos: one round, as before
    o = TrainOptions()
    assert trainer.head_passes(
        trainer.ShopShape.even(2000, 1000), o
    ) == o.epochs + trainer.quick_epochs(o)
    assert trainer.head_passes(
        trainer.ShopShape.even(150, 50), o
    ) == o.epochs + 3 * trainer.quick_epochs(o)


def test_photo_variations_grow_with_photos_in_a_large_catalogue_only() -> None:
    """Issue 22: a few hundred products keep every view; past 500 the views fall as
    1 / products (a pass of the head scores every view against every product), 5,000
    products x 2 photos get the photo alone, so the cost grows with the photos and not
    12 times them, and the estimate counts the same views the trainer extracts."""
    o = TrainOptions()
    assert o.view_cap([3] * 300) is None and o.view_cap([1] * 50) is None
    assert o.views_for(3, o.view_cap([3] * 300)) == 8  # unchanged
    assert o.view_cap([2] * 500) is None  # 12,000 views: a pass scores 6,000,000 pairs
    cap = o.view_cap([2] * 1000)  # 12,000 views would be 12,000,000 pairs a pass
    assert cap == 3 and 1000 * 2 * o.views_for(2, cap) * 1000 <= o.head_budget
    assert TrainOptions(head_budget=10**9).view_cap([2] * 1000) == 6  # the views' own budget
    assert o.views_for(2, o.view_cap([2] * 5000)) == 1
    assert trainer.planned_views(trainer.ShopShape.even(10000, 5000), o) == 10000
    assert trainer.planned_views(trainer.ShopShape.even(900, 300), o) == 900 * 8
    plain = TrainOptions(augment=False)
    assert plain.view_cap([2] * 5000) is None and plain.views_for(2) == 1
    with pytest.raises(InvalidOptions):
        TrainOptions(view_budget=0).check()
    with pytest.raises(InvalidOptions):
        TrainOptions(head_budget=0).check()


def test_label_smoothing_shrinks_past_fifty_products_only() -> None:
    """Chosen on shops of up to 50 products; at 5,000 its pull toward the uniform target
    swamped the evidence (bench/scale.py: 81.5 % held-out top-1 at 0.1, 85.4 % at 0)."""
    assert smoothing_for(0.1, 2) == smoothing_for(0.1, 50) == pytest.approx(0.1)
    assert smoothing_for(0.1, 500) == pytest.approx(0.01)
    assert smoothing_for(0.1, 5000) == pytest.approx(0.001)
    assert smoothing_for(0.0, 5000) == 0.0
