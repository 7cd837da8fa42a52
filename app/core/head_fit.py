"""The cosine head's fit, compiled once per process.

Keras's ``fit`` of a new model per fit traced its graph again each time (0.4 s a fit; a
mixed shop's training makes nine) and ran one step per call (3 ms of overhead a step).
This computes the same training (layer norm, dense, smoothed loss, Adam, the same
seeded batches) as one traced loop that runs many steps per call.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .progress import Phase, Reporter, check_cancel
from .tf_runtime import tf_modules

log = logging.getLogger(__name__)

NORM_EPSILON = 1e-3
# While a head trains, progress is reported at least this often (seconds), also inside a
# pass: at thousands of products one pass takes minutes and a bar must not look stuck.
PROGRESS_EVERY_S = 2.0


def smoothed_loss(tf: Any, logp: Any, y: Any, smoothing: Any) -> Any:
    """Per row: ``-(1-e)·log p_y - e·mean_k log p_k``, or ``-mean_k log p_k`` where
    ``y`` is negative (``head.UNIFORM``); one formula for the Keras loss and the compiled fit."""
    mean_logp = tf.reduce_mean(logp, axis=-1)
    picked = tf.gather(logp, tf.maximum(y, 0), axis=1, batch_dims=1)
    smoothed = -(1.0 - smoothing) * picked - smoothing * mean_logp
    return tf.where(y < 0, -mean_logp, smoothed)


@dataclass(frozen=True)
class FitSettings:
    """What a fit of the cosine head runs: passes, Adam's rate, label smoothing, the seed
    of its batches' order, the batch size."""

    epochs: int
    learning_rate: float
    smoothing: float
    seed: int
    batch: int = 128


# Adam as Keras has it (tf_keras.optimizers.Adam's defaults)
ADAM_BETA_1, ADAM_BETA_2, ADAM_EPSILON = 0.9, 0.999, 1e-7
# Rows x features x products one call of the compiled fit may multiply (about 50 ms on
# two cores): a 50-product shop runs a whole pass per call, 1,000 products 14 steps of
# 128 rows (3.5 ms each), 5,000 products 2; progress and cancel are seen between calls
# at any size. (One step a call, as before, spent a third of a pass at 1,000 products
# on the calls themselves.)
CALL_WORK = 3e9

_COMPILED: list[Any] = []
_COMPILED_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Compiled:
    """The traced loop and the variables it trains in place (shape-free: one set serves
    every fit's size); ``lock``: one fit at a time uses them."""

    steps: Any
    kernel: Any
    bias: Any
    moments: tuple[Any, Any, Any, Any]  # Adam's m and v of kernel and bias
    lock: threading.Lock


def _compiled_steps() -> _Compiled:
    """One ``tf.function`` for the whole process: the head's fits differ in rows and
    products, not in graph, so it is traced once, where a Keras model per fit was traced
    again each time (0.4 s a fit, 9 fits in a mixed shop's training)."""
    with _COMPILED_LOCK:  # a warm-up may be tracing it (:func:`warm_up`)
        if not _COMPILED:
            _COMPILED.append(_trace())
        return _COMPILED[0]


def warm_up(dtype: str) -> None:
    """Trace the fit's graph and run it once on one row, so the first fit does not wait
    for that (half a second): the trainer runs this beside the feature extraction. A
    failure here is only logged: the fit itself meets and reports it."""
    try:
        _warm(dtype)
    except Exception:  # noqa: BLE001 - a thread's traceback would reach the owner's console
        log.warning("warming up the head's fit failed", exc_info=True)


def _warm(dtype: str) -> None:
    one = np.zeros((1, 1), np.float32)
    compiled_fit(one.astype(dtype), np.zeros(1, np.int32), one, np.zeros(1, np.float32),
                 FitSettings(1, 0.0, 0.0, 0))  # fmt: skip


def _trace() -> _Compiled:
    tf, _ = tf_modules()
    f32 = tf.float32

    def free(name: str) -> Any:
        return tf.Variable(tf.zeros([0]), shape=tf.TensorShape(None), trainable=False, name=name)

    kernel, bias, mw, mb, vw, vb = (free(n) for n in ("kernel", "bias", "mw", "mb", "vw", "vb"))

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None], f32),  # every row's features, layer-normed
            tf.TensorSpec([None], tf.int32),  # every row's target (UNIFORM: none)
            tf.TensorSpec([None], tf.int64),  # the rows this call trains on, in order
            tf.TensorSpec([], tf.int32),  # batch size
            tf.TensorSpec([], f32),  # Adam's step count so far
            tf.TensorSpec([], f32),  # learning rate
            tf.TensorSpec([], f32),  # label smoothing
        ]
    )
    def steps(x, targets, order, batch, step, lr, smoothing):  # noqa: ANN001, ANN202
        n = tf.shape(order)[0]
        one = tf.constant(1.0)

        def body(i, step, loss_sum, right):  # noqa: ANN001, ANN202
            idx = order[i * batch : tf.minimum((i + 1) * batch, n)]
            xb = tf.gather(x, idx)
            yb = tf.gather(targets, idx)
            w, b = kernel.read_value(), bias.read_value()
            with tf.GradientTape() as tape:
                tape.watch([w, b])
                logits = tf.matmul(xb, w) + b
                loss = tf.reduce_mean(smoothed_loss(tf, tf.nn.log_softmax(logits), yb, smoothing))
            gw, gb = tape.gradient(loss, [w, b])
            step = step + 1.0
            # Adam as Keras computes it, in one fused kernel per variable (its eleven
            # element-wise operations over the kernel took 40 % of a pass at 1,000
            # products): m += (g - m)(1 - b1); v += (g² - v)(1 - b2);
            # w -= m·lr·sqrt(1 - b2^t)/(1 - b1^t) / (sqrt(v) + eps)
            powers = (tf.pow(ADAM_BETA_1, step), tf.pow(ADAM_BETA_2, step))
            for var, m, v, g in ((kernel, mw, vw, gw), (bias, mb, vb, gb)):
                tf.raw_ops.ResourceApplyAdam(
                    var=var.handle, m=m.handle, v=v.handle, beta1_power=powers[0],
                    beta2_power=powers[1], lr=lr, beta1=ADAM_BETA_1 * one,
                    beta2=ADAM_BETA_2 * one, epsilon=ADAM_EPSILON * one, grad=g,
                )  # fmt: skip
            rows = tf.cast(tf.shape(idx)[0], f32)
            hit = tf.equal(tf.argmax(logits, axis=1, output_type=tf.int32), yb)
            right = right + tf.reduce_sum(tf.cast(hit, f32))
            return i + 1, step, loss_sum + loss * rows, right

        n_steps = (n + batch - 1) // batch
        zero = tf.constant(0.0)
        out = tf.while_loop(lambda i, *_: i < n_steps, body, [tf.constant(0), step, zero, zero])
        return out[1:]

    return _Compiled(steps, kernel, bias, (mw, mb, vw, vb), threading.Lock())


NORM_CHUNK = 4096  # rows layer-normed at a time


def _layer_norm(x: np.ndarray) -> Any:
    """The rows layer-normed in float32, once per fit (``LayerNormalization(center=False,
    scale=False)``, as the exported head has it; the same figures as per batch), a chunk
    at a time: whole, its three intermediates would triple the copy."""
    tf, _ = tf_modules()
    parts = []
    for s in range(0, len(x), NORM_CHUNK):
        xf = tf.cast(x[s : s + NORM_CHUNK], tf.float32)
        mean, var = tf.nn.moments(xf, axes=[1], keepdims=True)
        parts.append((xf - mean) * tf.math.rsqrt(var + NORM_EPSILON))
    if not parts:
        return tf.zeros([0, x.shape[1]], tf.float32)
    return tf.concat(parts, 0) if len(parts) > 1 else parts[0]


def compiled_fit(
    x: np.ndarray,
    targets: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray,
    s: FitSettings,
    reporter: Reporter | None = None,
    history: list[dict[str, float]] | None = None,
    phase: Phase = Phase.TRAINING,
    prefix: str = "",
) -> tuple[np.ndarray, np.ndarray]:
    """The cosine head's fit: what Keras's ``fit`` of ``LayerNormalization`` + ``Dense``
    + softmax with Adam and the smoothed loss computes, in the same batches (the same
    seeded shuffle, see :func:`shuffled_batches`), without a Keras model per fit: the
    graph is traced once per process and runs many steps per call. Returns the kernel
    and bias; ``history`` gets each pass's loss and accuracy, as Keras reports them."""
    c = _compiled_steps()
    with c.lock:
        return _fit(c, x, targets, kernel, bias, s, reporter, history, phase, prefix)


def _fit(
    c: _Compiled,
    x: np.ndarray,
    targets: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray,
    s: FitSettings,
    reporter: Reporter | None,
    history: list[dict[str, float]] | None,
    phase: Phase,
    prefix: str,
) -> tuple[np.ndarray, np.ndarray]:
    tf, _ = tf_modules()
    xs = _layer_norm(x)
    ys = tf.constant(targets.astype(np.int32))
    c.kernel.assign(tf.constant(kernel, tf.float32))
    c.bias.assign(tf.constant(bias, tf.float32))
    for m, like in zip(c.moments, (kernel, bias, kernel, bias), strict=True):
        m.assign(tf.zeros(like.shape, tf.float32))
    step = tf.constant(0.0)
    lr, smoothing = tf.constant(s.learning_rate, tf.float32), tf.constant(s.smoothing, tf.float32)
    batch = tf.constant(s.batch, tf.int32)
    per_call = s.batch * max(1, int(CALL_WORK // (s.batch * x.shape[1] * max(1, kernel.shape[1]))))
    cancel = reporter.cancel if reporter is not None else None
    last = time.monotonic()
    orders = _pass_orders(len(x), s.seed, s.epochs)
    for epoch in range(s.epochs):
        order = next(orders)
        loss_sum, right = 0.0, 0.0
        for start in range(0, len(order), per_call):
            check_cancel(cancel)
            step, loss_part, right_part = c.steps(
                xs, ys, order[start : start + per_call], batch, step, lr, smoothing
            )
            loss_sum += float(loss_part)
            right += float(right_part)
            now = time.monotonic()
            if reporter is not None and now - last >= PROGRESS_EVERY_S:
                last = now
                done = (epoch + min(1.0, (start + per_call) / len(order))) / s.epochs
                reporter(phase, done, f"{prefix}pass {epoch + 1} of {s.epochs}")
        row = {"epoch": float(epoch + 1), "loss": loss_sum / len(x), "acc": right / len(x)}
        if history is not None:
            history.append(row)
        if reporter is not None:
            last = time.monotonic()
            metrics = row if phase == Phase.TRAINING else {}  # the chart plots the final fit
            reporter(
                phase, (epoch + 1) / s.epochs, f"{prefix}pass {epoch + 1} of {s.epochs}", **metrics
            )
    check_cancel(cancel)
    return c.kernel.numpy().copy(), c.bias.numpy().copy()


def _pass_orders(rows: int, seed: int, passes: int) -> Iterator[Any]:
    """Each pass's order of the rows: the same seeded reshuffle per pass as
    :func:`app.core.head.shuffled_batches` gives Keras, which opens a new iterator of
    the dataset each pass (and one before the first pass, skipped here); repeating the
    dataset gives the same orders from one iterator."""
    orders = iter(orders_dataset(rows, seed, passes))
    next(orders)
    return orders


def orders_dataset(rows: int, seed: int, passes: int) -> Any:
    """``passes + 1`` seeded permutations of ``range(rows)``, one element each."""
    tf, _ = tf_modules()
    ds = tf.data.Dataset.range(rows).shuffle(rows, seed=seed, reshuffle_each_iteration=True)
    # No autotuning: its thread kept working while the passes ran (a pass at 5,000
    # products took up to a third longer), and deleting the iterator waited for it:
    # 17.7 s after a 15-pass round and 55 s after the 30-pass final fit at 5,000
    # products, with no progress to show (bench/scale.py)
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.repeat(passes + 1).batch(max(1, rows)).with_options(options)
