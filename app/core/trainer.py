"""Few-shot product recognition on a frozen MobileNetV2.

Design (see README, "How training works"):

* Features: MobileNetV2 (ImageNet, frozen) + global average pooling, exactly
  Teachable Machine's base, computed once per photo and per augmented view and
  cached (:mod:`app.core.features`). Products with few photos get more
  augmented views, so every product weighs about the same in training.
* Head: ``LayerNormalization`` (no learned scale/centre) then one ``Dense``
  softmax layer whose weights start at each product's mean normalised feature
  (its prototype: a nearest-class-mean classifier) and are then fine-tuned on
  all views with label smoothing; the prototypes are added back after fitting
  (``proto_blend``), which measured best from 1 to 10 photos per product. With
  one photo per product that is still a sensible classifier, which is where
  Teachable Machine trains on nothing.
* Validation: leave-one-photo-out rounds over products with two or more
  photos; products with a single photo are trained on and reported as "not
  measurable", never silently dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .dataset import Dataset
from .errors import Cancelled
from .features import FeatureStore, extract, resolve_base_weights
from .model import TrainedModel, TrainOptions, TrainResult
from .progress import ProgressHook, Reporter, check_cancel
from .tf_runtime import tf_modules

log = logging.getLogger(__name__)

NORM_EPSILON = 1e-3


# Measured in the app on grocery sets (6x5, 10x8, 20x10 photos, cold feature cache) on a
# busy 2-core machine: ~36 ms per augmented view at alpha 0.35, then ~7.5 s + 7 ms/view for
# the held-back check, fitting and export; building the base model ~3 s (more on the first
# training after start). The app replaces SECONDS_PER_VIEW with the rate it measured on
# this computer during the last training.
SECONDS_PER_VIEW = 0.036
LOAD_S = 3.0
AFTER_FEATURES_S = 7.5
AFTER_FEATURES_PER_VIEW_S = 0.007


def planned_views(n_images: int, n_products: int, options: TrainOptions | None = None) -> int:
    """Augmented views a training of this size computes (the unit of its cost)."""
    o = options or TrainOptions()
    per_product = max(1, n_images // max(1, n_products))
    return n_images * o.views_for(per_product)


def seconds_after_features(views: int, seconds_per_view: float | None = None) -> float:
    """Held-back check + fitting + export, on a machine with this per-view speed."""
    speed = (seconds_per_view or SECONDS_PER_VIEW) / SECONDS_PER_VIEW
    return (AFTER_FEATURES_S + AFTER_FEATURES_PER_VIEW_S * views) * speed


def estimate_seconds(
    n_images: int,
    n_products: int,
    options: TrainOptions | None = None,
    seconds_per_view: float | None = None,
) -> float:
    """Wall-clock of a first (uncached) training once TensorFlow is loaded.

    ``seconds_per_view`` is the rate measured on this computer (at alpha 0.35); without
    it, the benchmark machine's. Everything else scales with the same speed, and wider
    base models cost more per view.
    """
    o = options or TrainOptions()
    views = planned_views(n_images, n_products, o)
    width = 0.5 + 0.5 * (o.alpha / 0.35) ** 2
    spv = seconds_per_view or SECONDS_PER_VIEW
    speed = spv / SECONDS_PER_VIEW
    return LOAD_S * speed + views * spv * width + seconds_after_features(views, spv)


class _KerasProgress:
    """Builds the Keras callback lazily (tf_keras is imported only when training)."""

    @staticmethod
    def make(reporter: Reporter, epochs: int, history: list[dict[str, float]]) -> Any:
        _, keras = tf_modules()

        class Callback(keras.callbacks.Callback):
            def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
                cancel = reporter.cancel
                if cancel is not None and cancel.is_set():
                    self.model.stop_training = True

            def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
                logs = dict(logs or {})
                row = {"epoch": float(epoch + 1)}
                for k in ("loss", "accuracy", "val_loss", "val_accuracy"):
                    if k in logs:
                        row[k.replace("accuracy", "acc")] = float(logs[k])
                history.append(row)
                if reporter.cancel is not None and reporter.cancel.is_set():
                    self.model.stop_training = True
                    return
                msg = f"pass {epoch + 1} of {epochs}"  # the loss goes to the chart (metrics)
                reporter("training", (epoch + 1) / epochs, msg, **row)

        return Callback()


def normalise_features(x: np.ndarray) -> np.ndarray:
    """NumPy twin of ``LayerNormalization(center=False, scale=False)``."""
    x = x - x.mean(axis=-1, keepdims=True)
    return x / np.sqrt((x**2).mean(axis=-1, keepdims=True) + NORM_EPSILON)


def _prototypes(x: np.ndarray, y: np.ndarray, n: int) -> np.ndarray:
    z = normalise_features(x)
    protos = np.zeros((n, x.shape[1]), dtype=np.float32)
    for c in range(n):
        sel = z[y == c]
        if len(sel):
            protos[c] = sel.mean(axis=0)
    norms = np.linalg.norm(protos, axis=1, keepdims=True)
    return protos / np.maximum(norms, 1e-8)


def build_head(n_features: int, n_classes: int, kind: str = "cosine") -> Any:
    _, keras = tf_modules()
    layers = []
    if kind == "cosine":
        layers.append(
            keras.layers.LayerNormalization(
                center=False, scale=False, epsilon=NORM_EPSILON, name="feature_norm"
            )
        )
    layers += [
        keras.layers.Dense(n_classes, name="products"),
        keras.layers.Activation("softmax", name="probabilities"),
    ]
    head = keras.Sequential([keras.Input((n_features,)), *layers], name="head")
    return head


def fit_head(
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    options: TrainOptions,
    reporter: Reporter | None = None,
    history: list[dict[str, float]] | None = None,
    seed_offset: int = 0,
) -> Any:
    tf, keras = tf_modules()
    keras.utils.set_random_seed(options.seed + seed_offset)
    head = build_head(x.shape[1], n_classes, options.head)
    dense = head.get_layer("products")
    if options.head == "cosine":
        protos = _prototypes(x, y, n_classes)
        dense.set_weights([protos.T * options.init_scale, np.zeros(n_classes, np.float32)])
    head.compile(
        optimizer=keras.optimizers.Adam(options.learning_rate),
        loss=keras.losses.CategoricalCrossentropy(
            label_smoothing=options.label_smoothing if options.head == "cosine" else 0.0
        ),
        metrics=["accuracy"],
    )
    onehot = np.eye(n_classes, dtype=np.float32)[y]
    batch = 128 if options.head == "cosine" else 16
    callbacks = []
    if reporter is not None:
        callbacks.append(
            _KerasProgress.make(reporter, options.epochs, history if history is not None else [])
        )
    epochs = options.epochs if options.head == "cosine" else max(options.epochs, 50)
    head.fit(
        x,
        onehot,
        epochs=epochs,
        batch_size=batch,
        shuffle=True,
        verbose=0,
        callbacks=callbacks,
    )
    if reporter is not None:
        check_cancel(reporter.cancel)
    if options.head == "cosine" and options.proto_blend:
        kernel, bias = dense.get_weights()
        blend = options.proto_blend * options.init_scale
        dense.set_weights([kernel + blend * protos.T, bias])
    return head


@dataclass
class _Features:
    x: np.ndarray  # (n_views_total, dim)
    y: np.ndarray  # class index per row
    image: np.ndarray  # sample index per row
    view: np.ndarray  # view index per row (0 = what the POS sees)


def train(
    dataset: Dataset,
    options: TrainOptions | None = None,
    *,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
    store: FeatureStore | None = None,
) -> TrainedModel:
    """Extract (cached) features, validate, fit the head on everything."""
    o = options or TrainOptions()
    t0 = time.monotonic()
    rep = Reporter(on_progress, cancel)
    rep("preparing", 0.0, "Loading the recognition engine")
    weights = resolve_base_weights(
        o.alpha,
        o.base_weights,
        size=o.image_size,
        download=o.download_weights,
        on_progress=rep.sub(0, 0.05),
    )
    tf_modules()
    check_cancel(cancel)

    counts = dataset.counts()
    items = [(s.path, s.digest, o.views_for(counts[s.product_id])) for s in dataset.samples]
    feats, failed = extract(
        items,
        weights=weights,
        alpha=o.alpha,
        size=o.image_size,
        seed=o.seed,
        store=store,
        progress=rep.sub(0.05, 0.75),
    )
    dataset = dataset.drop(failed)  # raises DatasetError if fewer than two products remain
    labels = dataset.labels
    index = {p: i for i, p in enumerate(labels)}
    rows_x, rows_y, rows_img, rows_view = [], [], [], []
    for i, s in enumerate(dataset.samples):
        f = feats[s.digest]
        rows_x.append(f)
        rows_y.append(np.full(len(f), index[s.product_id]))
        rows_img.append(np.full(len(f), i))
        rows_view.append(np.arange(len(f)))
    data = _Features(
        np.concatenate(rows_x).astype(np.float32),
        np.concatenate(rows_y),
        np.concatenate(rows_img),
        np.concatenate(rows_view),
    )
    n = len(labels)

    per_product: dict[str, float | None] = dict.fromkeys(labels, None)
    confusions: dict[tuple[str, str], int] = {}
    val_acc: float | None = None
    scheme = "not measured"
    if o.validate:
        val_acc, per_product, confusions, scheme = _validate(
            dataset, data, n, o, rep.sub(0.75, 0.85)
        )

    history: list[dict[str, float]] = []
    head = fit_head(data.x, data.y, n, o, rep.sub(0.85, 1.0), history)
    if cancel is not None and cancel.is_set():
        raise Cancelled("Training cancelled.")

    counts = dataset.counts()
    needs_more = [
        p
        for p in labels
        if counts[p] < 3 or (per_product.get(p) is not None and (per_product[p] or 0) < 0.6)
    ]
    result = TrainResult(
        labels=labels,
        names={p: dataset.names.get(p, p) for p in labels},
        val_accuracy=val_acc,
        per_product=per_product,
        confusions=sorted(((a, b, c) for (a, b), c in confusions.items()), key=lambda t: -t[2]),
        history=history,
        needs_more_photos=needs_more,
        image_count=len(dataset.samples),
        product_count=n,
        duration_s=time.monotonic() - t0,
        validation=scheme,
        report_lines=dataset.report.summary_lines(dataset.names),
        options={k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(o).items()},
    )
    return TrainedModel(head, weights, o, result, dataset.channel_id)


def _validate(
    dataset: Dataset, data: _Features, n: int, o: TrainOptions, rep: Reporter
) -> tuple[float | None, dict[str, float | None], dict[tuple[str, str], int], str]:
    """Leave-one-photo-out rounds: each round holds out one photo of every product
    that has at least two, trains on the rest (all views), tests on the held-out
    photo as the POS would see it (view 0)."""
    labels = dataset.labels
    by_product: dict[int, list[int]] = {}
    for i, s in enumerate(dataset.samples):
        by_product.setdefault(labels.index(s.product_id), []).append(i)
    eligible = {c: imgs for c, imgs in by_product.items() if len(imgs) >= 2}
    per: dict[str, float | None] = dict.fromkeys(labels, None)
    if not eligible:
        return None, per, {}, "not measurable: every product has a single photo"
    rounds = min(3, max(len(v) for v in eligible.values()))
    if len(dataset.samples) > 3000:
        rounds = 1
    rng = np.random.default_rng(o.seed)
    order = {c: list(rng.permutation(imgs)) for c, imgs in eligible.items()}
    hits: dict[int, list[int]] = {c: [] for c in eligible}
    confusions: dict[tuple[str, str], int] = {}
    quick = TrainOptions(**{**asdict(o), "epochs": max(8, o.epochs // 2)})  # estimates only
    for r in range(rounds):
        held = [order[c][r % len(order[c])] for c in eligible if r < len(order[c])]
        held_set = np.isin(data.image, held)
        train_mask = ~held_set
        test_mask = held_set & (data.view == 0)
        head = fit_head(
            data.x[train_mask], data.y[train_mask], n, quick, None, None, seed_offset=r + 1
        )
        probs = np.asarray(head.predict_on_batch(data.x[test_mask]))
        pred = probs.argmax(axis=1)
        truth = data.y[test_mask]
        for t, p in zip(truth, pred, strict=True):
            hits[int(t)].append(int(t == p))
            if t != p:
                key = (labels[int(t)], labels[int(p)])
                confusions[key] = confusions.get(key, 0) + 1
        rep("validating", (r + 1) / rounds, f"{r + 1} of {rounds}")
    all_hits = [h for v in hits.values() for h in v]
    for c, v in hits.items():
        per[labels[c]] = float(np.mean(v)) if v else None
    scheme = (
        f"leave-one-photo-out, {rounds} round(s), {len(all_hits)} held-out photos of "
        f"{len(eligible)} products with 2+ photos"
    )
    return float(np.mean(all_hits)), per, confusions, scheme
