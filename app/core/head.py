"""The product layer: a nearest-class-mean classifier and its fine-tuned copy.

``LayerNormalization`` (no learned scale/centre) then one ``Dense`` softmax layer whose
weights are a mix of each product's prototype (its mean normalised feature, scored
centred on where shop photos sit) and a copy fine-tuned on all views with label
smoothing, prototypes added back (see README, "Head"). The parts are kept apart
(:class:`HeadParts`) so validation scores every mix from one fit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .head_fit import NORM_EPSILON, PROGRESS_EVERY_S, FitSettings, compiled_fit, smoothed_loss
from .heartbeat import Heartbeat
from .model import TrainOptions
from .progress import Phase, Reporter, check_cancel
from .tf_runtime import tf_modules


class KerasProgress:
    """Builds the Keras callback lazily (tf_keras is imported only when training)."""

    @staticmethod
    def make(
        reporter: Reporter,
        epochs: int,
        history: list[dict[str, float]] | None,
        phase: Phase = Phase.TRAINING,
        prefix: str = "",
    ) -> Any:
        """``phase``/``prefix``: a validation round reports as "validating", "round 1 of 3: …"."""
        _, keras = tf_modules()

        class Callback(keras.callbacks.Callback):
            epoch = 0
            last = time.monotonic()
            beat: Heartbeat | None = None

            def on_train_end(self, logs: dict | None = None) -> None:
                # if TensorFlow still works after the last pass before ``fit`` returns, say
                # so (with Keras's array input: 18 s and 58 s at 5,000 products; see
                # shuffled_batches, which removed that case)
                self.beat = Heartbeat(
                    lambda s: reporter(phase, 1.0, f"{prefix}finishing the passes… {s:.0f} s")
                ).__enter__()

            def settle(self) -> None:
                """``fit`` returned (or failed): the beats after the last pass stop."""
                if self.beat is not None:
                    self.beat.__exit__(None, None, None)
                    self.beat = None

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
                metrics = row if phase == Phase.TRAINING else {}  # the chart plots the final fit
                reporter(phase, (epoch + 1) / epochs, msg, **metrics)

        return Callback()


# "Not a product" rows in a fit, as a share of its product rows (outlier exposure)
NEGATIVE_SHARE = 0.1
# Label smoothing was chosen on shops of up to 50 products. Its pull toward the uniform
# target is spread over every product, and past that size it swamps the evidence: a
# synthetic catalogue of 5,000 products x 2 photos (bench/scale.py's), held-out top-1 of
# the fine-tuned head 81.5 % at 0.1, 85.4 % at 0 (plain softmax 86.0 %). So it shrinks
# as 50 / products beyond 50 products, and no figure of the two product domains moves.
SMOOTHING_PRODUCTS = 50


def smoothing_for(smoothing: float, n_classes: int) -> float:
    """The label smoothing a head of ``n_classes`` products trains with."""
    return smoothing * min(1.0, SMOOTHING_PRODUCTS / max(1, n_classes))


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
        return smoothed_loss(tf, logp, tf.reshape(tf.cast(y_true, tf.int32), [-1]), smoothing)

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


def prototypes(x: np.ndarray, y: np.ndarray, n: int) -> np.ndarray:
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
class HeadParts:
    """A fitted head's parts, so every ``mix`` can be scored without refitting."""

    kernel: np.ndarray  # (dim, n) fine-tuned Dense kernel (started at scale·prototypes)
    bias: np.ndarray
    protos: np.ndarray  # (n, dim) unit prototypes of the normalised views
    centre: np.ndarray  # (dim,) mean normalised training view

    def weights(
        self, mix: float | np.ndarray, o: TrainOptions, offset: np.ndarray | float = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """``mix`` and ``offset`` may be per product (arrays of n): a mixed shop's
        catalogue-only products get their own (:func:`catalogue_round`)."""
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

    def without(self, directions: np.ndarray | None) -> HeadParts:
        """These parts with ``directions`` projected out of the kernel, the prototypes
        and the centre: logits then equal the fit's on projected photos (Adam's updates
        leave the subspace a little; this puts the kernel back)."""
        if directions is None or not len(directions):
            return self
        d = directions.astype(np.float32)
        protos = self.protos - (self.protos @ d.T) @ d
        protos /= np.maximum(np.linalg.norm(protos, axis=1, keepdims=True), 1e-8)
        return HeadParts(
            (self.kernel - d.T @ (d @ self.kernel)).astype(np.float32),
            self.bias,
            protos.astype(np.float32),
            (self.centre - (self.centre @ d.T) @ d).astype(np.float32),
        )


def fit_parts(
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
    phase: Phase = Phase.TRAINING,
    prefix: str = "",
    set_aside: np.ndarray | None = None,
) -> tuple[Any, HeadParts | None]:
    """Fit the head (unless ``fine_tune`` is False): the plain reference's Keras head and
    None, or None and a cosine head's parts (no Keras model: :func:`fit_head` builds
    the one it exports; nine fits of a mixed shop built one each for 40 ms).
    ``centre``: where shop photos sit (see ``centre_of``); default the training views' mean.
    ``reporter`` gets the passes as ``phase``, each message after ``prefix``.
    ``set_aside``: orthonormal directions (rows) the head must not use
    (:func:`app.core.mixed_shop.domain_directions`): it is fitted on the normalised
    views with them projected out, and its parts are projected too, so the exported
    layer ignores them on any photo."""
    if centre is None:
        centre = mean_normalised(x)
    if options.head != "cosine":
        set_aside = None  # the plain reference stays plain
    if set_aside is not None and len(set_aside):
        x = project_out(x, set_aside)
        if negatives is not None and len(negatives):
            negatives = project_out(negatives, set_aside)
    _, keras = tf_modules()
    # the plain head's initial weights and every fit's shuffle (its op seed is paired
    # with this global seed) follow from it
    keras.utils.set_random_seed(options.seed + seed_offset)
    targets = y.astype(np.int32)
    if options.head != "cosine":  # the plain reference: Keras's own fit, as any plain trainer
        head = build_head(x.shape[1], n_classes, options.head)
        return _fit_plain(head, x, targets, options, reporter, history, seed_offset), None
    protos = prototypes(x, y, n_classes)
    kernel = (protos.T * options.init_scale).astype(np.float32)
    bias = np.zeros(n_classes, np.float32)
    if not fine_tune:
        return None, HeadParts(kernel, bias, protos, centre).without(set_aside)
    if negatives is not None and len(negatives):
        # "not a product": trained toward the uniform target (outlier exposure), after the
        # prototypes and the centre were taken from the products' own photos
        reps = max(1, int(NEGATIVE_SHARE * len(x)) // len(negatives))
        x = np.concatenate([x, np.tile(negatives, (reps, 1))], dtype=x.dtype)
        targets = np.concatenate([targets, np.full(len(negatives) * reps, UNIFORM, np.int32)])
    kernel, bias = compiled_fit(
        x,
        targets,
        kernel,
        bias,
        FitSettings(
            epochs=options.epochs,
            learning_rate=options.learning_rate,
            smoothing=smoothing_for(options.label_smoothing, n_classes),
            seed=options.seed + seed_offset,
        ),
        reporter,
        history,
        phase,
        prefix,
    )
    return None, HeadParts(kernel, bias, protos, centre).without(set_aside)


def _fit_plain(
    head: Any,
    x: np.ndarray,
    targets: np.ndarray,
    options: TrainOptions,
    reporter: Reporter | None,
    history: list[dict[str, float]] | None,
    seed_offset: int,
) -> Any:
    """The plain reference's fit: Keras's ``compile``/``fit``, batch 16, at least 50
    passes. Kept on Keras on purpose: it is the yardstick ours is timed against."""
    _, keras = tf_modules()
    head.compile(
        optimizer=keras.optimizers.Adam(options.learning_rate),
        loss=smoothed_sparse_crossentropy(0.0),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    epochs = max(options.epochs, 50)
    callbacks = []
    if reporter is not None:
        callbacks.append(KerasProgress.make(reporter, epochs, history))
    try:
        head.fit(
            shuffled_batches(x, targets, 16, options.seed + seed_offset),
            epochs=epochs,
            verbose=0,
            callbacks=callbacks,
        )
    finally:
        for cb in callbacks:
            cb.settle()
    if reporter is not None:
        check_cancel(reporter.cancel)
    return head


def shuffled_batches(x: np.ndarray, targets: np.ndarray, batch: int, seed: int) -> Any:
    """The fit's batches: the rows reshuffled every pass, gathered a batch at a time from
    one copy of ``x`` (as Keras does for arrays).

    Keras's own array input left ``fit`` busy for seconds after the last pass, growing
    with the passes: 18 s after a 15-pass held-back round and 58 s after the 30-pass final
    fit at 5,000 products (bench/scale.py), a third of the training. Shuffling indices
    and gathering here costs the same per pass and returns at once; the order is seeded.
    """
    tf, _ = tf_modules()
    xs, ys = tf.constant(x), tf.constant(targets)
    return (
        tf.data.Dataset.range(len(x))
        .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        .batch(batch)
        .map(lambda i: (tf.gather(xs, i), tf.gather(ys, i)))
        .prefetch(2)
    )


def project_out(x: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """The normalised rows of ``x`` without their part along ``directions`` (orthonormal
    rows), chunk by chunk, in ``x``'s dtype (no full-size float32 copy)."""
    out = np.empty(x.shape, dtype=x.dtype)
    for s in range(0, len(x), CHUNK_ROWS):
        z = normalise_features(x[s : s + CHUNK_ROWS])
        out[s : s + CHUNK_ROWS] = z - (z @ directions.T) @ directions
    return out


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
    set_aside: np.ndarray | None = None,
) -> Any:
    """The Keras head; a cosine head ends at ``HeadParts.weights(mix, offset)`` (mix 0 for
    every product skips fitting)."""
    fine_tune = float(np.max(mix)) > 0
    head, parts = fit_parts(
        x,
        y,
        n_classes,
        options,
        reporter,
        history,
        seed_offset,
        fine_tune,
        centre,
        negatives,
        set_aside=set_aside,
    )
    if parts is not None:
        head = build_head(x.shape[1], n_classes, options.head)
        head.get_layer("products").set_weights(list(parts.weights(mix, options, offset)))
    if reporter is not None and parts is not None and not fine_tune:
        reporter(Phase.TRAINING, 1.0, "done (each product's average photo was enough)")
    return head


@dataclass
class Rows:
    x: np.ndarray  # (n_views_total, dim)
    y: np.ndarray  # class index per row
    image: np.ndarray  # sample index per row
    view: np.ndarray  # view index per row (0 = what the POS sees)
