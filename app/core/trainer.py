"""Few-shot product recognition on a frozen MobileNetV2.

Design (see README, "How training works"):

* Features: MobileNetV2 (ImageNet, frozen) + global average pooling, exactly
  Teachable Machine's base, computed once per photo and per augmented view and
  cached (:mod:`app.core.features`). Products with few photos get more
  augmented views, so every product weighs about the same in training.
* Head: ``LayerNormalization`` (no learned scale/centre) then one ``Dense``
  softmax layer: a mix of each product's prototype (its mean normalised feature,
  a nearest-class-mean classifier centred on where shop photos sit) and a copy
  fine-tuned on all views with label smoothing, prototypes added back. How far
  it moves from the prototypes follows the evidence: leave-one-photo-out picks
  the mix when it can; otherwise counter photos keep the fine-tuned head and
  catalogue (studio) photos stay on the prototypes, so catalogue-only training
  is a nearest-class-mean on composited views and never learns "studio".
* Validation: leave-one-photo-out rounds over products with two or more
  photos; products with a single photo are trained on and reported as "not
  measurable", never silently dropped.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import resources, studio
from .calibration import MIN_HELD_BACK, accept_threshold, fit_temperature, softmax
from .dataset import Dataset, Sample
from .errors import Cancelled, ImageError
from .features import FeatureStore, extract, resolve_base_weights
from .images import load_rgb
from .model import Acceptance, TrainedModel, TrainOptions, TrainResult
from .progress import ProgressHook, Reporter, check_cancel
from .tf_runtime import tf_modules
from .wording import weak_products

log = logging.getLogger(__name__)

NORM_EPSILON = 1e-3


# Measured with bench/estimate.py on the reference machine (2 cores, quiet) on grocery
# sets of 6x5 to 30x10 photos, cold feature cache, TensorFlow loaded: ~7.8 ms per
# augmented view at alpha 0.35; then ~2.4 s + 1.4 ms/view for the held-back check,
# fitting and export; ~0.7 s before the first view (2.4 s on the first training after
# start, when the base model is built). Under load everything scales together: the app
# replaces SECONDS_PER_VIEW with the rate it measured here during the last training.
SECONDS_PER_VIEW = 0.0078
LOAD_S = 1.2
AFTER_FEATURES_S = 2.4
AFTER_FEATURES_PER_VIEW_S = 0.0014
# The head's Dense layer costs each view, in each pass, time per product as well: on the
# same machine, a pass over 6,000 views took 127 µs/view at 300 products and 357 µs/view
# at 3,000 (``python bench/estimate.py --head``): ~0.077 µs per view, pass and product.
# Negligible at 30 products, it is most of the work at 5,000.
HEAD_S_PER_VIEW_PASS_PRODUCT = 0.077e-6
# Leave-one-photo-out rounds: at most 3, one above this many photos (see ``_validate``).
MAX_ROUNDS = 3
ONE_ROUND_ABOVE = 3000


def validation_rounds(n_images: int, most_photos: int) -> int:
    """Held-back rounds for a shop whose best-photographed product has ``most_photos``."""
    return 1 if n_images > ONE_ROUND_ABOVE else min(MAX_ROUNDS, most_photos)


def quick_epochs(options: TrainOptions) -> int:
    """Passes of a validation round's fit: its figures are estimates, not the model."""
    return max(8, options.epochs // 2)


def head_passes(n_images: int, n_products: int, options: TrainOptions | None = None) -> int:
    """Passes over all views a training makes: the final fit and the held-back rounds."""
    o = options or TrainOptions()
    per_product = max(1, n_images // max(1, n_products))
    rounds = validation_rounds(n_images, per_product) if o.validate and per_product >= 2 else 0
    return o.epochs + rounds * quick_epochs(o)


def planned_views(n_images: int, n_products: int, options: TrainOptions | None = None) -> int:
    """Augmented views a training of this size computes (the unit of its cost)."""
    o = options or TrainOptions()
    per_product = max(1, n_images // max(1, n_products))
    return n_images * o.views_for(per_product)


def seconds_after_features(
    views: int, seconds_per_view: float | None = None, products: int = 0, passes: int = 0
) -> float:
    """Held-back check + fitting + export, on a machine with this per-view speed; with
    ``products`` and ``passes`` (``head_passes``), the head's cost per product too."""
    speed = (seconds_per_view or SECONDS_PER_VIEW) / SECONDS_PER_VIEW
    head = HEAD_S_PER_VIEW_PASS_PRODUCT * views * passes * products
    return (AFTER_FEATURES_S + AFTER_FEATURES_PER_VIEW_S * views + head) * speed


def base_width_cost(alpha: float) -> float:
    """A view's feature cost at this MobileNetV2 width, relative to alpha 0.35."""
    return 0.5 + 0.5 * (alpha / 0.35) ** 2


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
    passes = head_passes(n_images, n_products, o)
    spv = seconds_per_view or SECONDS_PER_VIEW
    speed = spv / SECONDS_PER_VIEW
    after = seconds_after_features(views, spv, n_products, passes)
    return LOAD_S * speed + views * spv * base_width_cost(o.alpha) + after


# While a head trains, progress is reported at least this often (seconds), also inside a
# pass: at thousands of products one pass takes minutes and a bar must not look stuck.
PROGRESS_EVERY_S = 2.0


class _KerasProgress:
    """Builds the Keras callback lazily (tf_keras is imported only when training)."""

    @staticmethod
    def make(
        reporter: Reporter,
        epochs: int,
        history: list[dict[str, float]] | None,
        phase: str = "training",
        prefix: str = "",
    ) -> Any:
        """``phase``/``prefix``: a validation round reports as "validating", "round 1 of 3: …"."""
        _, keras = tf_modules()

        class Callback(keras.callbacks.Callback):
            epoch = 0
            last = time.monotonic()

            def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
                self.epoch = epoch

            def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
                cancel = reporter.cancel
                if cancel is not None and cancel.is_set():
                    self.model.stop_training = True
                    return
                now = time.monotonic()
                steps = (self.params or {}).get("steps") or 0
                if now - self.last >= PROGRESS_EVERY_S and steps:
                    self.last = now
                    done = (self.epoch + (batch + 1) / steps) / epochs
                    reporter(phase, done, f"{prefix}pass {self.epoch + 1} of {epochs}")

            def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
                logs = dict(logs or {})
                row = {"epoch": float(epoch + 1)}
                for k in ("loss", "accuracy", "val_loss", "val_accuracy"):
                    if k in logs:
                        row[k.replace("accuracy", "acc")] = float(logs[k])
                if history is not None:
                    history.append(row)
                if reporter.cancel is not None and reporter.cancel.is_set():
                    self.model.stop_training = True
                    return
                self.last = time.monotonic()
                msg = f"{prefix}pass {epoch + 1} of {epochs}"  # the loss goes to the chart
                metrics = row if phase == "training" else {}  # the chart plots the final fit
                reporter(phase, (epoch + 1) / epochs, msg, **metrics)

        return Callback()


# The label of a "not a product" row in a fit: trained toward the uniform distribution
UNIFORM = -1


def smoothed_sparse_crossentropy(smoothing: float) -> Any:
    """Keras's ``CategoricalCrossentropy(label_smoothing=smoothing)`` on integer labels,
    so a fit never holds a dense (rows x products) target matrix (5,000 products x 96,000
    views would be 1.9 GB): ``-(1-e)·log p_y - e·mean_k log p_k``; a row labelled
    ``UNIFORM`` has the uniform target, ``-mean_k log p_k``. Computed from the softmax's
    logits, as Keras does, so the two give the same loss."""
    tf, _ = tf_modules()

    def loss(y_true: Any, probs: Any) -> Any:
        logits = getattr(probs, "_keras_logits", None)
        if logits is not None:
            logp = tf.nn.log_softmax(logits)
        else:  # pragma: no cover - our heads always end in a softmax layer
            logp = tf.math.log(tf.clip_by_value(probs, 1e-7, 1.0))
        y = tf.reshape(tf.cast(y_true, tf.int32), [-1])
        mean_logp = tf.reduce_mean(logp, axis=-1)
        picked = tf.gather(logp, tf.maximum(y, 0), axis=1, batch_dims=1)
        smoothed = -(1.0 - smoothing) * picked - smoothing * mean_logp
        return tf.where(y < 0, -mean_logp, smoothed)

    return loss


# A training holds every view's features at once (5,000 products x 2 photos: 120,000
# views x 1,280): half precision halves that; all arithmetic on them is float32, chunk
# by chunk, so no full-size float32 copy is made (see README, "Memory").
FEATURE_DTYPE = np.float16
CHUNK_ROWS = 8192


def normalise_features(x: np.ndarray) -> np.ndarray:
    """NumPy twin of ``LayerNormalization(center=False, scale=False)``, in float32."""
    x = np.asarray(x, dtype=np.float32)
    x = x - x.mean(axis=-1, keepdims=True)
    return x / np.sqrt((x**2).mean(axis=-1, keepdims=True) + NORM_EPSILON)


def mean_normalised(x: np.ndarray) -> np.ndarray:
    """``normalise_features(x).mean(axis=0)`` without a full-size copy."""
    total = np.zeros(x.shape[1], np.float64)
    for s in range(0, len(x), CHUNK_ROWS):
        total += normalise_features(x[s : s + CHUNK_ROWS]).sum(axis=0)
    return (total / max(1, len(x))).astype(np.float32)


def _prototypes(x: np.ndarray, y: np.ndarray, n: int) -> np.ndarray:
    """Each product's unit mean direction of its normalised views (chunk by chunk)."""
    protos = np.zeros((n, x.shape[1]), dtype=np.float32)
    for s in range(0, len(x), CHUNK_ROWS):
        np.add.at(protos, y[s : s + CHUNK_ROWS], normalise_features(x[s : s + CHUNK_ROWS]))
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


# How far the head may move from the class prototypes: its weights are
# ``mix * fine-tuned + (1 - mix) * prototypes`` (then the prototypes added back).
# mix 0 is a nearest-class-mean classifier on all views, centred on the training
# views' mean (the bias); 1 is the fully fine-tuned head.
MIX_CANDIDATES = (0.0, 0.5, 1.0)
# Without leave-one-photo-out evidence: counter photos keep the fine-tuned head
# (measured far above nearest-mean from 1 photo up), catalogue photos stay on the
# prototypes (fine-tuning on one studio photo per product learns the studio).
DEFAULT_MIX = {"counter": 1.0, "mixed": 0.5, "catalogue": 0.0}


@dataclass
class _Fit:
    """A fitted head's parts, so every ``mix`` can be scored without refitting."""

    kernel: np.ndarray  # (dim, n) fine-tuned Dense kernel (started at scale·prototypes)
    bias: np.ndarray
    protos: np.ndarray  # (n, dim) unit prototypes of the normalised views
    centre: np.ndarray  # (dim,) mean normalised training view

    def weights(
        self, mix: float | np.ndarray, o: TrainOptions, offset: np.ndarray | float = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """``mix`` and ``offset`` may be per product (arrays of n): a mixed shop's
        catalogue-only products get their own (:func:`_catalogue_round`)."""
        s = o.init_scale
        mix = np.asarray(mix, dtype=np.float32)
        w = mix * self.kernel + (1.0 - mix) * s * self.protos.T + o.proto_blend * s * self.protos.T
        # The prototype head is centred: logits (z - centre)·w, which ranks products
        # the same for every photo but takes out what all training views share.
        b = mix * self.bias - (1.0 - mix) * (self.centre @ w) + offset
        return w.astype(np.float32), b.astype(np.float32)

    def predict(
        self, x: np.ndarray, mix: float | np.ndarray, o: TrainOptions, offset: Any = 0.0
    ) -> np.ndarray:
        w, b = self.weights(mix, o, offset)
        return normalise_features(x) @ w + b


def _fit_parts(
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    options: TrainOptions,
    reporter: Reporter | None = None,
    history: list[dict[str, float]] | None = None,
    seed_offset: int = 0,
    fine_tune: bool = True,
    centre: np.ndarray | None = None,
    negatives: np.ndarray | None = None,
    phase: str = "training",
    prefix: str = "",
) -> tuple[Any, _Fit | None]:
    """Build and (unless ``fine_tune`` is False) fit the head; the parts for a cosine head.
    ``centre``: where shop photos sit (see ``_centre``); default the training views' mean.
    ``reporter`` gets the passes as ``phase``, each message after ``prefix``."""
    if centre is None:
        centre = mean_normalised(x)
    tf, keras = tf_modules()
    keras.utils.set_random_seed(options.seed + seed_offset)
    head = build_head(x.shape[1], n_classes, options.head)
    dense = head.get_layer("products")
    protos = None
    if options.head == "cosine":
        protos = _prototypes(x, y, n_classes)
        dense.set_weights([protos.T * options.init_scale, np.zeros(n_classes, np.float32)])
        if not fine_tune:
            kernel, bias = dense.get_weights()
            return head, _Fit(kernel, bias, protos, centre)
    head.compile(
        optimizer=keras.optimizers.Adam(options.learning_rate),
        loss=smoothed_sparse_crossentropy(
            options.label_smoothing if options.head == "cosine" else 0.0
        ),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    targets = y.astype(np.int32)
    if negatives is not None and len(negatives) and options.head == "cosine":
        # "not a product": trained toward the uniform target (outlier exposure), after the
        # prototypes and the centre were taken from the products' own photos
        reps = max(1, int(NEGATIVE_SHARE * len(x)) // len(negatives))
        x = np.concatenate([x, np.tile(negatives, (reps, 1))], dtype=x.dtype)
        targets = np.concatenate([targets, np.full(len(negatives) * reps, UNIFORM, np.int32)])
    batch = 128 if options.head == "cosine" else 16
    callbacks = []
    epochs = options.epochs if options.head == "cosine" else max(options.epochs, 50)
    if reporter is not None:
        callbacks.append(_KerasProgress.make(reporter, epochs, history, phase, prefix))
    head.fit(
        x,
        targets,
        epochs=epochs,
        batch_size=batch,
        shuffle=True,
        verbose=0,
        callbacks=callbacks,
    )
    if reporter is not None:
        check_cancel(reporter.cancel)
    if protos is None:
        return head, None
    kernel, bias = dense.get_weights()
    return head, _Fit(kernel, bias, protos, centre)


def fit_head(
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    options: TrainOptions,
    reporter: Reporter | None = None,
    history: list[dict[str, float]] | None = None,
    seed_offset: int = 0,
    mix: float | np.ndarray = 1.0,
    centre: np.ndarray | None = None,
    offset: np.ndarray | float = 0.0,
    negatives: np.ndarray | None = None,
) -> Any:
    """The Keras head; a cosine head ends at ``_Fit.weights(mix, offset)`` (mix 0 for
    every product skips fitting)."""
    fine_tune = float(np.max(mix)) > 0
    head, parts = _fit_parts(
        x, y, n_classes, options, reporter, history, seed_offset, fine_tune, centre, negatives
    )
    if parts is not None:
        head.get_layer("products").set_weights(list(parts.weights(mix, options, offset)))
    if reporter is not None and parts is not None and not fine_tune:
        reporter("training", 1.0, "done (each product's average photo was enough)")
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
    counter_frames: Sequence[Path] = (),
    not_product_photos: Sequence[Path] = (),
) -> TrainedModel:
    """Extract (cached) features, validate, fit the head on everything.

    ``counter_frames``: unlabelled photos of this shop's counter (any products, or
    none): they say where this shop's photos sit in feature space (:class:`_ShopLook`).
    A frame that cannot be used is reported in ``TrainResult.frames_skipped``.
    ``not_product_photos``: the shop's photos of its empty counter, trained (with drawn
    scenes) as "not a product" (:mod:`app.core.not_products`).
    """
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
        np.concatenate(rows_x, dtype=FEATURE_DTYPE),
        np.concatenate(rows_y),
        np.concatenate(rows_img),
        np.concatenate(rows_view),
    )
    del feats, rows_x  # the float32 copies: only the compact one stays
    n = len(labels)

    _check_studio_looks(dataset.samples, (store or FeatureStore()).root)
    trained_on, studio_products = _trained_on(dataset)
    as_is = _trained_as_is(dataset.samples, (store or FeatureStore()).root)
    studio_rows = np.array([is_catalogue_photo(s) for s in dataset.samples])[data.image]
    frames = _frame_features(
        counter_frames, weights, o, store, rep.sub(0.74, 0.75), data.x.shape[1]
    )
    prior = shop_prior(o.alpha, o.image_size)
    look = _ShopLook.of(frames.z, prior)
    use_negatives = o.not_products and o.head == "cosine"
    negs = _negatives(weights, o, store, not_product_photos) if use_negatives else None
    negatives = None if negs is None else negs.train
    default_mix = DEFAULT_MIX[trained_on] if o.head == "cosine" else 1.0
    v = _Validation(None, dict.fromkeys(labels, None), {}, "not measured", mix=default_mix)
    # Catalogue photos held out from catalogue photos say nothing about the shop
    # counter: there the prototype head stays whatever such a validation prefers.
    if o.validate:
        choose = trained_on != "catalogue"
        v = _validate(
            dataset,
            data,
            n,
            o,
            rep.sub(0.75, 0.83),
            default_mix,
            choose,
            studio_rows,
            look,
            negatives,
            None if negs is None else negs.held,
        )
    val_acc, per_product, confusions, scheme = v.accuracy, v.per_product, v.confusions, v.scheme
    mix, mix_scores, use_frames = v.mix, v.scores, v.use_frames
    if o.head == "cosine":
        chosen = mix_scores and trained_on != "catalogue"
        how = "chosen by leave-one-photo-out" if chosen else f"default for {trained_on} photos"
        scheme += f"; head mix {mix:g} ({how})"

    history: list[dict[str, float]] = []
    centre, centred_on = _centre(data, np.ones(len(data.x), bool), studio_rows, look, use_frames)
    if centred_on:
        scheme += f"; centred on {centred_on}"
    mixes, offsets = np.full(n, mix, np.float32), np.zeros(n, np.float32)
    cat = None
    if o.validate and o.head == "cosine" and trained_on == "mixed" and studio_products:
        only = np.array([labels.index(p) for p in studio_products])
        cat = _catalogue_round(
            dataset,
            data,
            n,
            o,
            studio_rows,
            look,
            mix,
            only,
            use_frames,
            negatives,
            rep.sub(0.83, 0.85),
        )
        if cat is not None:
            mixes[:] = cat.counter_mix
            mixes[only], offsets[only] = cat.mix, cat.offset
            scheme += f"; {cat.scheme}"
    head = fit_head(
        data.x,
        data.y,
        n,
        o,
        rep.sub(0.85, 1.0),
        history,
        mix=mixes,
        centre=centre,
        offset=offsets,
        negatives=negatives,
    )
    if cancel is not None and cancel.is_set():
        raise Cancelled("Training cancelled.")
    temperature, accept = _calibrate(v, o)
    if temperature != 1.0:  # folded into the exported softmax layer: the POS changes nothing
        dense = head.get_layer("products")
        kernel, bias = dense.get_weights()
        dense.set_weights([kernel / temperature, bias / temperature])

    counts = dataset.counts()
    needs_more = weak_products(labels, per_product, dict(counts))
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
        held_back=v.held_back,
        report_lines=dataset.report.summary_lines(dataset.names),
        options={k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(o).items()},
        trained_on=trained_on,
        trained_on_hint=_hint(trained_on, studio_products, dataset.names),
        head_mix=mix,
        mix_scores=mix_scores,
        counter_frames=len(frames.z) if use_frames else 0,
        counter_frames_newest=frames.newest if use_frames else "",
        frames_skipped=frames.skipped,
        centred_on=centred_on,
        trained_as_is=as_is,
        catalogue_only_accuracy=None if cat is None else cat.accuracy,
        catalogue_only_photos=None if cat is None else cat.photos,
        temperature=temperature,
        accept=accept,
    )
    return TrainedModel(head, weights, o, result, dataset.channel_id)


_STUDIO_LOOK: dict[str, bool] = {}


def _centre(
    data: _Features,
    mask: np.ndarray,
    studio_rows: np.ndarray,
    look: _ShopLook,
    use_frames: bool = True,
) -> tuple[np.ndarray | None, str]:
    """Where shop photos sit in feature space, and that in words: the prototype head's
    logits are ``(z - centre)·w``, so what every shop photo shares stops favouring
    products.

    The shop's own counter photos (as the POS sees them), with its counter frames when
    ``use_frames``; with frames alone, the frames (:class:`_ShopLook`); else the
    shipped shop prior (:func:`shop_prior`); else None (the training views' mean).
    Measured on grocery validation photos with the products split in two,
    catalogue-only nearest-mean on one half centred on the other half's shop photos:
    30.1 % → 38.6 % top-1 (centred on the catalogue views' own mean: 29.8 %).
    """
    counter = mask & ~studio_rows & (data.view == 0)
    frames = look.z if use_frames else look.z[:0]
    if counter.any():
        z = np.concatenate([normalise_features(data.x[counter]), frames])
        what = f"{int(counter.sum())} counter photos"
        return z.mean(axis=0), what + (f" and {len(frames)} counter frames" if len(frames) else "")
    if len(frames):
        return look.centre, f"{len(frames)} counter frames"
    if look.prior is not None:
        return look.prior, "the shipped shop prior"
    return None, ""


# How far a few counter frames are trusted against the shipped prior: the frames' mean
# gets weight n/(n + FRAMES_SHRINK), n = frames that are not near-duplicates (cosine
# below FRAMES_DISTINCT). Measured on catalogue-only nearest-class-mean (bench/
# counter_frames.py): 20 copies of one frame (a still, empty counter) took packaged goods
# from 15.7 to 13.0 % top-1 unshrunk, 15.6 % shrunk; 20 varied frames lose nothing.
FRAMES_SHRINK = 2.0
FRAMES_DISTINCT = 0.9


@dataclass
class _ShopLook:
    """This shop's counter frames (normalised features) and the centre they give."""

    z: np.ndarray  # (n_frames, dim)
    prior: np.ndarray | None
    centre: np.ndarray | None
    distinct: int = 0

    @classmethod
    def of(cls, z: np.ndarray, prior: np.ndarray | None) -> _ShopLook:
        if not len(z):
            return cls(z, prior, prior)
        distinct = distinct_frames(z)
        mean = z.mean(axis=0)
        if prior is None:
            return cls(z, prior, mean, distinct)
        w = distinct / (distinct + FRAMES_SHRINK)
        return cls(z, prior, (w * mean + (1.0 - w) * prior).astype(np.float32), distinct)


def distinct_frames(z: np.ndarray, threshold: float = FRAMES_DISTINCT) -> int:
    """How many frames are not near-duplicates of an earlier one (greedy, by cosine)."""
    u = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-8)
    kept: list[np.ndarray] = []
    for v in u:
        if not kept or float(np.max(np.stack(kept) @ v)) < threshold:
            kept.append(v)
    return len(kept)


@dataclass
class _Frames:
    z: np.ndarray  # normalised features of the usable frames, as the POS sees them
    newest: str  # ISO time of the newest usable frame ("" when none)
    skipped: list[tuple[str, str]]  # (file, why)


def _frame_features(
    paths: Sequence[Path],
    weights: Path,
    o: TrainOptions,
    store: FeatureStore | None,
    rep: Reporter,
    dim: int,
) -> _Frames:
    """Features of the counter frames (one view each: the frame as the POS sees it);
    files that are not usable photos are reported, never fatal."""
    from . import counter_frames
    from .dataset import photo_problem
    from .images import file_digest

    skipped: list[tuple[str, str]] = []
    items, seen, used = [], set(), []
    for p in map(Path, paths):
        reason = photo_problem(p)
        if reason is None:
            try:
                digest = file_digest(p)
            except OSError as exc:
                reason = f"unreadable ({exc.strerror or exc})"
        if reason is not None:
            skipped.append((str(p), reason))
            continue
        if digest in seen:
            skipped.append((str(p), "the same photo as another frame (used once)"))
            continue
        seen.add(digest)
        items.append((p, digest, 1))
    feats: dict[str, np.ndarray] = {}
    if items:
        feats, failed = extract(
            items,
            weights=weights,
            alpha=o.alpha,
            size=o.image_size,
            seed=o.seed,
            store=store,
            progress=rep,
        )
        for p, digest, _ in items:
            if digest in failed:
                skipped.append((str(p), failed[digest]))
            else:
                used.append(p)
    rows = [feats[d][0] for p, d, _ in items if d in feats]
    if rows:
        z = normalise_features(np.stack(rows).astype(np.float32))
    else:
        z = np.zeros((0, dim), np.float32)
    stamp = counter_frames.newest(used)
    newest = stamp.replace(microsecond=0).isoformat().replace("+00:00", "Z") if stamp else ""
    return _Frames(z, newest, skipped)


SHOP_PRIOR = "shop-prior-mobilenet_v2_{alpha:g}_{size}.npy"


@functools.lru_cache(maxsize=8)
def shop_prior(alpha: float, size: int) -> np.ndarray | None:
    """The mean normalised feature of real shop photos for this base model, shipped
    in ``resources/weights`` (``bench/make_shop_prior.py``), or None if not shipped."""
    name = f"{resources.BASE_WEIGHTS_DIR}/{SHOP_PRIOR.format(alpha=alpha, size=size)}"
    found = resources.find(name)
    if found is None:
        return None
    try:
        vec = np.load(found, allow_pickle=False).astype(np.float32)
    except (OSError, ValueError) as exc:
        log.warning("shop prior %s unreadable: %s", found, exc)
        return None
    return vec if vec.ndim == 1 else None


def is_catalogue_photo(sample: Sample) -> bool:
    """A catalogue shot: the studio look (plain light border,
    :func:`app.core.studio.studio_background`), whatever the source — a shop-server
    catalogue image that is really a counter photo trains like one, and the studio
    look is what fine-tuning would learn. Memoised per content; the check decodes a
    small draft of the photo (JPEG decodes at 1/8 scale)."""
    if sample.digest not in _STUDIO_LOOK:
        try:
            rgb = load_rgb(sample.path, max_side=128)
        except ImageError:
            return False
        _STUDIO_LOOK[sample.digest] = studio.studio_background(rgb) is not None
    return _STUDIO_LOOK[sample.digest]


STUDIO_LOOK_FILE = "studio-look.json"
CUTOUT_CHECK_FILE = "cutout-check.json"


def _trained_as_is(samples: list[Sample], root: Path) -> list[tuple[str, str]]:
    """(product, why) for each catalogue photo whose cut-out is not trusted, so its views
    are the photo as it is (:func:`app.core.features.view_of`): the owner is told. The
    check decodes the photo as feature extraction does; remembered beside the cache."""
    from .features import known_cut, studio_cut

    path = root / CUTOUT_CHECK_FILE
    known = _read_memo(path, str)
    out, changed = [], False
    for s in samples:
        if not is_catalogue_photo(s):
            continue
        if s.digest not in known:
            cut = known_cut(s.digest)  # extraction has just looked, unless it was cached
            if cut is None:
                try:
                    cut = studio_cut(load_rgb(s.path), s.digest)
                except ImageError:
                    continue
            known[s.digest] = cut.problem if cut.kind == "as-is" else ""
            changed = True
        if known[s.digest]:
            out.append((s.product_id, known[s.digest]))
    if changed:
        _write_memo(path, known)
    return out


def _read_memo(path: Path, kind: type) -> dict[str, Any]:
    """A per-photo memo beside the feature cache (digest -> value of ``kind``); a missing
    or damaged one is empty: it only costs the work again."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in raw.items() if isinstance(v, kind)} if isinstance(raw, dict) else {}


def _write_memo(path: Path, memo: dict[str, Any]) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(memo))
        os.replace(tmp, path)
    except OSError as exc:  # only costs the work again next time
        tmp.unlink(missing_ok=True)
        log.warning("%s not written: %s", path.name, exc)


def _check_studio_looks(samples: list[Sample], root: Path) -> None:
    """Fill the studio-look memo for ``samples``: from ``root/studio-look.json`` (beside
    the feature cache: a retrain decodes nothing again), else by a small decode in two
    threads (about 2 ms a photo), then saved back."""
    todo = [s for s in samples if s.digest not in _STUDIO_LOOK]
    if not todo:
        return
    path = root / STUDIO_LOOK_FILE
    known = _read_memo(path, bool)
    _STUDIO_LOOK.update(known)
    todo = [s for s in todo if s.digest not in _STUDIO_LOOK]
    if not todo:
        return
    with ThreadPoolExecutor(2, thread_name_prefix="studio-look") as pool:
        list(pool.map(is_catalogue_photo, todo))
    known.update({s.digest: _STUDIO_LOOK[s.digest] for s in todo if s.digest in _STUDIO_LOOK})
    _write_memo(path, known)


def _trained_on(dataset: Dataset) -> tuple[str, list[str]]:
    """What the photos are — "catalogue" (every one a catalogue shot), "counter" (none)
    or "mixed" — and the products whose photos are all catalogue shots."""
    flags: dict[str, list[bool]] = {}
    for s in dataset.samples:
        flags.setdefault(s.product_id, []).append(is_catalogue_photo(s))
    studio_only = [p for p, f in flags.items() if all(f)]
    if len(studio_only) == len(flags):
        return "catalogue", studio_only
    if not any(any(f) for f in flags.values()):
        return "counter", []
    return "mixed", studio_only


def _hint(trained_on: str, studio_products: list[str], names: dict[str, str]) -> str:
    """The owner's cheapest fix, in a sentence (empty when there is none to give)."""
    if trained_on == "catalogue":
        return (
            "Catalogue photos only — add 2–3 counter photos of each product for the biggest gain."
        )
    if studio_products:
        shown = ", ".join(names.get(p, p) for p in studio_products[:3])
        more = f" and {len(studio_products) - 3} more" if len(studio_products) > 3 else ""
        return (
            f"{len(studio_products)} product(s) have catalogue photos only ({shown}{more}) — "
            "2–3 counter photos of each would help most."
        )
    return ""


@dataclass
class _Validation:
    """What the leave-one-photo-out rounds measured, for the mix they pick."""

    accuracy: float | None
    per_product: dict[str, float | None]
    confusions: dict[tuple[str, str], int]
    scheme: str  # how it was measured, in words
    scores: dict[float, float] = field(default_factory=dict)  # every candidate mix's accuracy
    mix: float = 1.0
    held_back: int | None = None  # photos held back and recognised or not
    use_frames: bool = True  # centre on the counter frames too (see ``_validate``)
    logits: np.ndarray | None = None  # the held-back photos' logits, for calibration
    truth: np.ndarray | None = None
    negative_logits: np.ndarray | None = None  # held-back drawn scenes with no product


def _validate(
    dataset: Dataset,
    data: _Features,
    n: int,
    o: TrainOptions,
    rep: Reporter,
    default_mix: float,
    choose: bool = True,
    studio_rows: np.ndarray | None = None,
    look: _ShopLook | None = None,
    negatives: np.ndarray | None = None,
    held_negatives: np.ndarray | None = None,
) -> _Validation:
    """Leave-one-photo-out rounds: each round holds out one photo of every product
    that has at least two, trains on the rest (all views), tests on the held-out
    photo as the POS would see it (view 0). Every ``MIX_CANDIDATES`` head is scored
    on the same rounds (one fit each); returns the figures of the mix it picks
    (``_choose_mix``; ``default_mix`` when not ``choose``), every candidate's
    accuracy, and that mix.

    With counter frames and labelled counter photos, every candidate is also scored
    centred without the frames (the centre changes no fit): frames that would hurt
    this shop's held-back photos are left out (``use_frames``)."""
    labels = dataset.labels
    by_product: dict[int, list[int]] = {}
    for i, s in enumerate(dataset.samples):
        by_product.setdefault(labels.index(s.product_id), []).append(i)
    eligible = {c: imgs for c, imgs in by_product.items() if len(imgs) >= 2}
    per: dict[str, float | None] = dict.fromkeys(labels, None)
    look = look if look is not None else _ShopLook.of(np.zeros((0, data.x.shape[1])), None)
    if not eligible:
        return _Validation(
            None, per, {}, "not measurable: every product has a single photo", mix=default_mix
        )
    rounds = validation_rounds(len(dataset.samples), max(len(v) for v in eligible.values()))
    rng = np.random.default_rng(o.seed)
    order = {c: list(rng.permutation(imgs)) for c, imgs in eligible.items()}
    quick = TrainOptions(**{**asdict(o), "epochs": quick_epochs(o)})  # estimates only
    candidates = MIX_CANDIDATES if o.head == "cosine" else (1.0,)
    rows = studio_rows if studio_rows is not None else np.zeros(len(data.x), bool)
    has_counter = bool((~rows & (data.view == 0)).any())
    frame_choices = (True, False) if len(look.z) and has_counter else (True,)
    preds: dict[tuple[float, bool], list[np.ndarray]] = {
        (m, uf): [] for m in candidates for uf in frame_choices
    }
    neg_preds: dict[tuple[float, bool], list[np.ndarray]] = {k: [] for k in preds}
    truths: list[np.ndarray] = []
    for r in range(rounds):
        held = [order[c][r % len(order[c])] for c in eligible if r < len(order[c])]
        held_set = np.isin(data.image, held)
        train_mask = ~held_set
        test_mask = held_set & (data.view == 0)
        head, parts = _fit_parts(
            data.x[train_mask],
            data.y[train_mask],
            n,
            quick,
            rep.sub(r / rounds, (r + 1) / rounds),
            seed_offset=r + 1,
            centre=_centre(data, train_mask, rows, look)[0],
            negatives=negatives,
            phase="validating",
            prefix=f"round {r + 1} of {rounds}: ",
        )
        if parts is None:  # the plain reference's softmax: its log is a logit
            probs = np.asarray(head.predict_on_batch(data.x[test_mask]))
            preds[1.0, True].append(np.log(np.maximum(probs, 1e-12)))
        else:
            for uf in frame_choices:
                if uf is False:
                    centre = _centre(data, train_mask, rows, look, use_frames=False)[0]
                    if centre is None:  # as _fit_parts defaults: the training views' mean
                        centre = mean_normalised(data.x[train_mask])
                    parts = replace(parts, centre=centre)
                for m in candidates:
                    preds[m, uf].append(parts.predict(data.x[test_mask], m, o))
                    if held_negatives is not None and len(held_negatives):
                        neg_preds[m, uf].append(parts.predict(held_negatives, m, o))
        truths.append(data.y[test_mask])
        rep("validating", (r + 1) / rounds, f"{r + 1} of {rounds}")
    truth = np.concatenate(truths)
    logits = {k: np.concatenate(p) for k, p in preds.items()}
    every = {k: float((lg.argmax(1) == truth).mean()) for k, lg in logits.items()}
    best = {uf: max(a for (_, u), a in every.items() if u == uf) for uf in frame_choices}
    use_frames = best[True] >= best.get(False, 0.0) - 1e-9  # a tie keeps the frames
    scores = {m: a for (m, uf), a in every.items() if uf == use_frames}
    mix = _choose_mix(scores, default_mix) if choose and o.head == "cosine" else default_mix
    pred = logits[mix, use_frames].argmax(1)
    confusions: dict[tuple[str, str], int] = {}
    hits: dict[int, list[int]] = {c: [] for c in eligible}
    for t, p in zip(truth, pred, strict=True):
        hits[int(t)].append(int(t == p))
        if t != p:
            key = (labels[int(t)], labels[int(p)])
            confusions[key] = confusions.get(key, 0) + 1
    for c, v in hits.items():
        per[labels[c]] = float(np.mean(v)) if v else None
    scheme = (
        f"leave-one-photo-out, {rounds} round(s), {len(truth)} held-out photos of "
        f"{len(eligible)} products with 2+ photos"
    )
    if len(frame_choices) > 1:
        scheme += (
            f"; counter frames {'kept' if use_frames else 'left out'} "
            f"({best[True]:.0%} with, {best[False]:.0%} without)"
        )
    return _Validation(
        scores[mix],
        per,
        confusions,
        scheme,
        scores,
        mix,
        len(truth),
        use_frames,
        logits[mix, use_frames],
        truth,
        np.concatenate(neg_preds[mix, use_frames]) if neg_preds[mix, use_frames] else None,
    )


UNKNOWN_WEIGHT = 0.1


def _calibrate(v: _Validation, o: TrainOptions) -> tuple[float, Acceptance]:
    """Temperature and accept threshold from the held-back photos' logits (see
    :mod:`app.core.calibration`); 1.0 and a cautious unmeasured threshold without
    enough of them, and for the plain reference (no calibration: it is the reference)."""
    if o.head != "cosine" or v.logits is None or v.truth is None or len(v.truth) < MIN_HELD_BACK:
        held = 0 if v.truth is None else len(v.truth)
        return 1.0, accept_threshold(np.zeros(held), np.zeros(held, bool), o.accept_target)
    t = fit_temperature(v.logits, v.truth)
    probs = softmax(v.logits / t)
    right = probs.argmax(1) == v.truth
    # Each held-back photo also stands in for a product the model does not know: its
    # logits without its own product's column. Accepting one is a wrong add, weighed
    # UNKNOWN_WEIGHT against a real photo (the till also sees products not yet trained).
    unknown = v.logits / t
    unknown[np.arange(len(v.truth)), v.truth] = -np.inf
    # Drawn scenes with no product that the round's head never saw count the same way.
    none = softmax(v.negative_logits / t).max(1) if v.negative_logits is not None else []
    top1 = np.concatenate([probs.max(1), softmax(unknown).max(1), none])
    correct = np.concatenate([right, np.zeros(len(right) + len(none), bool)])
    weights = np.concatenate([np.ones(len(right)), np.full(len(right) + len(none), UNKNOWN_WEIGHT)])
    return t, accept_threshold(top1, correct, o.accept_target, weights)


@dataclass
class _CatalogueRound:
    """How a mixed shop's catalogue-only products are scored (see ``_catalogue_round``)."""

    mix: float  # their columns' fine-tuned share (0: their prototype alone)
    offset: float  # added to their logits, so they compete with counter products
    accuracy: float  # pretend-catalogue-only products' held-back counter photos right
    photos: int  # how many such photos measured it
    scheme: str
    counter_mix: float = 1.0  # the other products' mix, chosen with the same evidence


CATALOGUE_MIXES = (0.0, 0.5, 1.0)
# "Not a product" rows in a fit, as a share of its product rows (outlier exposure)
NEGATIVE_SHARE = 0.1


@dataclass
class _Negatives:
    train: np.ndarray  # trained toward the uniform target
    held: np.ndarray  # other drawn scenes, never trained: the accept threshold keeps them out


DRAWN_HELD = 24
HELD_SEED = 7919


def _negatives(
    weights: Path, o: TrainOptions, store: FeatureStore | None, photos: Sequence[Path]
) -> _Negatives:
    """Features of photos with none of the shop's products: the drawn scenes (cached per
    base model) and the shop's own ``photos`` of its empty counter (unusable ones are
    left out: they are the owner's extras, not products), and a held-back drawn set."""
    from .features import base_model, model_key
    from .images import file_digest, normalise
    from .not_products import DRAWN, drawn_backgrounds, drawn_key

    st = store or FeatureStore()
    key = model_key(weights, o.alpha, o.image_size)

    def drawn(n: int, seed: int) -> np.ndarray:
        digest = drawn_key(n, o.image_size, seed)
        arr = st.get(key, digest, n, o.seed)
        if arr is None:
            ims = drawn_backgrounds(n, o.image_size, seed)
            model = base_model(weights, o.alpha, o.image_size)
            arr = np.asarray(model.predict_on_batch(np.stack([normalise(a) for a in ims])))
            st.put(key, digest, n, o.seed, arr)
        return arr.astype(np.float32)

    rows = [drawn(DRAWN, o.seed)]
    held = drawn(DRAWN_HELD, o.seed + HELD_SEED)
    items = []
    for p in map(Path, photos):
        try:
            items.append((p, file_digest(p), 1))
        except OSError:
            continue
    if items:
        feats, _ = extract(
            items, weights=weights, alpha=o.alpha, size=o.image_size, seed=o.seed, store=st
        )
        rows += [feats[d] for _, d, _ in items if d in feats]
    return _Negatives(np.concatenate(rows).astype(np.float32), held)


def _offsets(logits: np.ndarray, truth: np.ndarray, steps: int = 16) -> list[float]:
    """Offsets worth trying for the catalogue-only columns: 0, and the margins by which
    the held-back photos' true products lose (their quantiles), just past each."""
    rows = np.arange(len(truth))
    true = logits[rows, truth]
    rest = logits.copy()
    rest[rows, truth] = -np.inf
    gap = rest.max(axis=1) - true
    gap = gap[gap > 0]
    if not len(gap):
        return [0.0]
    qs = np.quantile(gap, np.linspace(0.05, 0.95, steps)) + 1e-3
    return [0.0] + sorted({round(float(q), 3) for q in qs})


def _catalogue_round(
    dataset: Dataset,
    data: _Features,
    n: int,
    o: TrainOptions,
    studio_rows: np.ndarray,
    look: _ShopLook,
    counter_mix: float,
    only: np.ndarray,
    use_frames: bool,
    negatives: np.ndarray | None = None,
    rep: Reporter | None = None,
) -> _CatalogueRound | None:
    """A mixed shop's catalogue-only products must compete with products that have
    counter photos, whose logits on a counter photo are larger. Evidence from the shop:
    products with both a catalogue photo and counter photos are split in two; one half
    *pretends* to have only its catalogue photo (all its counter photos held back), the
    other products have one counter photo each held back. One fit on the rest scores every
    (mix, offset) for the pretend products' columns; the objective weighs the two halves'
    accuracies by the shop's share of catalogue-only products; then the halves swap.
    None when fewer than two products have both."""
    is_cat = np.zeros(len(dataset.samples), bool)
    is_cat[data.image[studio_rows]] = True
    labels = dataset.labels
    photos: dict[int, list[int]] = {}
    for i, s in enumerate(dataset.samples):
        photos.setdefault(labels.index(s.product_id), []).append(i)
    both = [c for c, imgs in photos.items() if any(is_cat[imgs]) and not all(is_cat[imgs])]
    if len(both) < 2:
        return None
    rng = np.random.default_rng(o.seed + 7)
    order = [int(c) for c in rng.permutation(both)]
    halves = [set(order[: len(order) // 2]), set(order[len(order) // 2 :])]
    quick = TrainOptions(**{**asdict(o), "epochs": quick_epochs(o)})
    share = len(only) / n  # of the shop's products: how much the pretend half weighs
    # per mix: [(logits, truth, pretend-group columns, is a pretend photo)] of each round
    # the others keep the mix leave-one-photo-out chose: letting this round move them too
    # (fruit mixed shop) overfitted its few photos: counter 58.1 %, catalogue-only 9.4 %
    pairs = [(counter_mix, m) for m in CATALOGUE_MIXES]
    seen: dict[tuple[float, float], list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]] = {
        k: [] for k in pairs
    }
    for r, pretend in enumerate(halves):
        held_pretend = [i for c in pretend for i in photos[c] if not is_cat[i]]
        held_counter = []
        for c, imgs in photos.items():
            counter_imgs = [i for i in imgs if not is_cat[i]]
            if c not in pretend and len(imgs) >= 2 and counter_imgs:
                held_counter.append(int(rng.choice(counter_imgs)))
        train_mask = ~np.isin(data.image, held_pretend + held_counter)
        _, parts = _fit_parts(
            data.x[train_mask],
            data.y[train_mask],
            n,
            quick,
            None if rep is None else rep.sub(r / 2, (r + 1) / 2),
            seed_offset=97 + r,
            centre=_centre(data, train_mask, studio_rows, look, use_frames)[0],
            negatives=negatives,
            phase="validating",
            prefix=f"catalogue-only check {r + 1} of 2: ",
        )
        if parts is None:
            return None
        test = np.isin(data.image, held_pretend + held_counter) & (data.view == 0)
        is_p = np.isin(data.image[test], held_pretend)
        group = np.zeros(n, bool)
        group[list(pretend)] = True
        group[only] = True  # the real catalogue-only products take the same columns
        for cm, m in pairs:
            mix = np.where(group, m, cm).astype(np.float32)
            seen[cm, m].append((parts.predict(data.x[test], mix, o), data.y[test], group, is_p))
    best: tuple[float, tuple[float, float], float, float, float] | None = None
    for key in pairs:  # the leave-one-photo-out counter mix first: a tie keeps it
        rounds = seen[key]
        pretend_logits = np.concatenate([lg[p] for lg, _, _, p in rounds])
        pretend_truth = np.concatenate([y[p] for _, y, _, p in rounds])
        for off in _offsets(pretend_logits, pretend_truth):
            right_p, right_c = [], []
            for lg, y, group, p in rounds:
                hit = (lg + np.where(group, off, 0.0)).argmax(1) == y
                right_p.append(hit[p])
                right_c.append(hit[~p])
            acc_p = float(np.concatenate(right_p).mean())
            counter_hits = np.concatenate(right_c)
            acc_c = float(counter_hits.mean()) if len(counter_hits) else acc_p
            score = share * acc_p + (1 - share) * acc_c
            # ties: the counter mix leave-one-photo-out chose, the prototype, no offset
            if best is None or score > best[0] + 1e-9:
                best = (score, key, off, acc_p, acc_c)
    assert best is not None
    _, (cm, m), off, acc_p, acc_c = best
    n_photos = sum(int(p.sum()) for _, _, _, p in seen[cm, m])
    scheme = (
        f"catalogue-only products: mix {m:g}, offset {off:g}, the others mix {cm:g} (chosen "
        f"on {len(both)} products pretending, half at a time, to have only their catalogue "
        f"photo: {acc_p:.0%} of {n_photos} counter photos; the others {acc_c:.0%})"
    )
    return _CatalogueRound(m, off, acc_p, n_photos, scheme, cm)


def _choose_mix(scores: dict[float, float], default_mix: float) -> float:
    """Best leave-one-photo-out accuracy; a tie goes to the evidence's default."""
    best = max(scores.values())
    tied = [m for m, a in scores.items() if a >= best - 1e-9]
    return min(tied, key=lambda m: abs(m - default_mix))
