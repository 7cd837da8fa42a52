"""The counter teaches the model: a corrected answer updates the exported head in place.

A full training (Train, ``sync``) validates and calibrates; between two of them a
cashier's correction or a product taught at the camera must help at once. The head
of an export is ``LayerNormalization`` (no parameters) -> ``Dense`` (temperature
folded in) -> softmax, so teaching only rewrites the ``products`` Dense kernel and
bias inside ``weights.bin``: the new photos' features come from the same frozen
base, the rule of :func:`update_head` moves the head, and the three files go through
the export's validator and atomic swap (:func:`app.core.export.replace_model_files`).
Everything else in the files (the base, its quantisation, the calibration) stays
byte for byte. Storing the photos is the store's job (:meth:`ChannelStore.add_rgb`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import taught_memory
from .calibration import softmax
from .errors import AlreadyNamed, ModelFilesError, TrainerError
from .frame_checks import frame_problem
from .input_size import base_of
from .model_format import WEIGHTS_SHA256, weights_sha256
from .modelfiles import has_layer, read_model_files
from .progress import Phase, ProgressHook, Reporter, check_cancel, span

KERNEL = "products/kernel"
BIAS = "products/bias"

# --- the in-place update ------------------------------------------------------------


class UnknownProduct(TrainerError):
    """The product is not among the model's labels (e.g. deleted from the shop)."""


class KeptModel(ModelFilesError):
    """The folder is an earlier model kept in a history: read only."""


class RefusedPhoto(TrainerError):
    """Every image was refused; ``reasons`` holds (index, why) for each."""

    def __init__(self, message: str, reasons: list[tuple[int, str]]) -> None:
        super().__init__(message)
        self.reasons = reasons


@dataclass(frozen=True)
class TeachResult:
    model_dir: Path
    product_id: str
    photos: int  # photos used (refused ones are in ``refused``)
    seconds: float
    before: str | None  # top-1 on the first used photo before the update
    after: str | None  # ... and after
    refused: tuple[tuple[int, str], ...] = ()
    taught_products: int = 0  # products taught since the full training, this one included


@dataclass(frozen=True)
class Rule:
    """How the head moves toward a taught product's photos (tuned on bench/replay.py).

    ``proto``: share of the taught column moved onto the photos' mean normalised
    feature (its length kept); then up to ``steps`` gradient steps (``lr``) of the
    softmax cross-entropy on the photos' views, stopping once each view's top-1 is
    the taught product with at least ``target`` probability.
    """

    views: int = 1
    proto: float = 0.0
    steps: int = 20
    lr: float = 1e-3
    target: float = 0.6


RULE = Rule()


def update_head(
    kernel: np.ndarray,
    bias: np.ndarray,
    z: np.ndarray,
    c: int,
    rule: Rule = RULE,
    memory: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The Dense ``kernel`` (dim, n) and ``bias`` (n,) after teaching product ``c`` from
    the normalised features ``z`` (views, dim) of its new photos. ``memory``: the
    photos taught since the full training (features, label index; these ones included),
    rehearsed in the same steps so that a correction does not undo an earlier one
    (:mod:`app.core.taught_memory`); the steps stop once the new photos reach the rule's
    target and every remembered photo is the top-1 of its product. Pure NumPy: the
    replay benchmark runs it thousands of times."""
    w = kernel.astype(np.float32, copy=True)
    b = bias.astype(np.float32, copy=True)
    z = np.asarray(z, dtype=np.float32)
    mz, my = memory if memory is not None else (np.zeros((0, z.shape[1]), np.float32), [])
    my = np.asarray(my, dtype=np.int64)
    if rule.proto > 0:
        u = z.mean(axis=0)
        u /= max(float(np.linalg.norm(u)), 1e-8)
        length = float(np.linalg.norm(w[:, c]))
        w[:, c] = (1.0 - rule.proto) * w[:, c] + rule.proto * length * u
    onehot = np.zeros((len(z), w.shape[1]), np.float32)
    onehot[:, c] = 1.0
    for _ in range(rule.steps):
        p = softmax(z @ w + b)
        pm = softmax(mz @ w + b) if len(my) else None
        taught = (p.argmax(axis=1) == c).all() and float(p[:, c].min()) >= rule.target
        if taught and (pm is None or (pm.argmax(axis=1) == my).all()):
            break
        g = (p - onehot) / len(z)
        gw, gb = z.T @ g, g.sum(axis=0)
        if pm is not None:
            pm[np.arange(len(my)), my] -= 1.0
            pm /= len(my)
            gw += mz.T @ pm
            gb += pm.sum(axis=0)
        w -= rule.lr * gw
        b -= rule.lr * gb
    return w, b


@dataclass
class _Entry:
    offset: int
    size: int
    shape: list[int]
    entry: dict[str, Any]  # the manifest's weight entry (its quantization is rewritten)


def _entries(model_json: dict[str, Any]) -> dict[str, _Entry]:
    from .modelfiles import _DTYPE_BYTES

    out: dict[str, _Entry] = {}
    offset = 0
    for group in model_json["weightsManifest"]:
        for w in group.get("weights", []):
            n = math.prod(int(d) for d in w.get("shape", []))
            dtype = (w.get("quantization") or {}).get("dtype") or w.get("dtype", "float32")
            size = n * _DTYPE_BYTES[dtype]
            out[str(w.get("name"))] = _Entry(offset, size, list(w.get("shape", [])), w)
            offset += size
    return out


def _decode(raw: bytes, e: _Entry) -> np.ndarray:
    q = e.entry.get("quantization") or {}
    dtype = q.get("dtype") or e.entry.get("dtype", "float32")
    chunk = raw[e.offset : e.offset + e.size]
    if dtype == "float32":
        a = np.frombuffer(chunk, "<f4").astype(np.float32)
    elif dtype == "float16":
        a = np.frombuffer(chunk, "<f2").astype(np.float32)
    elif dtype in ("uint8", "uint16"):
        a = np.frombuffer(chunk, "u1" if dtype == "uint8" else "<u2").astype(np.float64)
        a = (a * float(q["scale"]) + float(q["min"])).astype(np.float32)
    else:
        raise ModelFilesError(f"model.json: the head is stored as {dtype}, which cannot be taught")
    return a.reshape(e.shape)


def _encode(values: np.ndarray, e: _Entry) -> bytes:
    """The values stored the way the entry was (float32, or tfjs's own quantisation)."""
    q = e.entry.get("quantization")
    if not q:
        return np.ascontiguousarray(values, "<f4").tobytes()
    from .tf_runtime import import_tfjs

    import_tfjs()
    from tensorflowjs import quantization

    dtype = quantization.QUANTIZATION_OPTION_TO_DTYPES[q["dtype"]]
    data, meta = quantization.quantize_weights(np.asarray(values, np.float32), dtype)
    for k in ("min", "scale"):
        if k in meta:
            q[k] = float(meta[k])
    return np.ascontiguousarray(data).astype(data.dtype.newbyteorder("<")).tobytes()


def _base_of(meta: dict[str, Any]) -> tuple[float, int]:
    named = base_of(meta)
    if named is None:
        raise ModelFilesError(
            "This model does not say which base model it was trained on (baseModel in "
            "metadata.json): only models trained by this app can be taught"
        )
    return named


def photo_features(
    images: list[np.ndarray], weights: Path, alpha: float, size: int, views: int = 1
) -> np.ndarray:
    """Base-model features (len(images) * views, dim) of photos in memory: view 0 is
    what the POS sees, the others the training's own seeded augmentations."""
    from .features import image_features
    from .images import resize_square
    from .views import view_of

    batch = []
    for rgb in images:
        digest = hashlib.blake2b(np.ascontiguousarray(rgb).tobytes(), digest_size=16).hexdigest()
        batch.append(resize_square(rgb, size))
        batch += [view_of(rgb, digest, v, 0, size) for v in range(1, views)]
    return image_features(weights, alpha, size)(np.stack(batch))


def prepare(model_dir: Path, weights: Path | None = None) -> bool:
    """Build the base model a teach of this model needs, before the first correction:
    in a fresh process that takes about 2 s, the whole budget of an in-place update.
    Never downloads; False when the model is not ours or its weights are not here."""
    from .errors import BaseWeightsError
    from .features import image_features, resolve_base_weights

    try:
        alpha, size = _base_of(read_model_files(Path(model_dir)).metadata)
        base = resolve_base_weights(alpha, weights, size=size, download=False)
    except (ModelFilesError, BaseWeightsError, OSError):
        return False
    # built and traced on one blank photo: the first correction then only runs it
    image_features(base, alpha, size)(np.zeros((1, size, size, 3), np.uint8))
    return True


def teach(
    model_dir: Path,
    product_id: str,
    images: list[np.ndarray],
    *,
    weights: Path | None = None,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
    rule: Rule = RULE,
) -> TeachResult:
    """Update the local model in place for these photos of ``product_id`` (no full
    retrain), through the same atomic export and validation. Refused photos (dark,
    blank, blurred) are left out and listed; all refused raises :class:`RefusedPhoto`.
    ``weights``: the base model's ImageNet weights (default: found as training does).
    An earlier model kept in a history is refused (:class:`KeptModel`): read only.

    The photos' features (the slow part: the engine may start) come first; the model
    folder's lock is then held from reading the files to the swap, so a teach builds on
    whatever model is there by then and a training's export never waits on the engine."""
    from .features import resolve_base_weights
    from .head import normalise_features
    from .local_history import is_kept_copy, model_lock

    t0 = time.monotonic()
    model_dir = Path(model_dir)
    if is_kept_copy(model_dir):
        raise KeptModel(
            f"{model_dir} is an earlier model the app keeps: it is never changed where it "
            "lies. Use it again first (the Model screen's “Use this one again”), then teach it"
        )
    first = read_model_files(model_dir)  # said before any photo is looked at
    _head_of(first, product_id)
    refused = [(i, why) for i, im in enumerate(images) if (why := frame_problem(im)) is not None]
    bad = {i for i, _ in refused}
    use = [np.asarray(im)[..., :3] for i, im in enumerate(images) if i not in bad]
    if not use:
        raise RefusedPhoto(
            "No photo could be used: " + "; ".join(f"photo {i + 1}: {why}" for i, why in refused),
            refused,
        )
    rep = Reporter(on_progress, cancel)
    base_of = _base_of(first.metadata)
    rep(Phase.PREPARING, 0.1, "Looking at the photos")
    check_cancel(cancel)
    base = resolve_base_weights(base_of[0], weights, size=base_of[1], download=False)
    z = normalise_features(photo_features(use, base, *base_of, rule.views))
    check_cancel(cancel)
    with model_lock(model_dir):
        files = read_model_files(model_dir)  # a training may have replaced it meanwhile
        if _base_of(files.metadata) != base_of:
            raise ModelFilesError(
                "The model was replaced by one of another base model while the photos were "
                "read: teach them again"
            )
        head = _head_of(files, product_id)
        hooks = (on_progress, cancel)
        return _update(model_dir, files, head, product_id, z, rule, hooks, len(use), t0, refused)


@dataclass(frozen=True)
class _Head:
    model_json: dict[str, Any]
    entries: dict[str, _Entry]
    kernel: np.ndarray
    bias: np.ndarray


def _head_of(files: Any, product_id: str) -> _Head:
    """The product layer of a model the app can teach ``product_id`` in, or why not."""
    labels = list(files.metadata["labels"])
    if product_id not in labels:
        raise UnknownProduct(
            f"“{product_id}” is not one of this model's products (deleted from the shop, "
            "or added since the last training?): train the model again to include it"
        )
    model_json = json.loads(files.files["model.json"])
    entries = _entries(model_json)
    if KERNEL not in entries or BIAS not in entries:
        raise ModelFilesError(
            "This model has no product layer the app can teach (a Teachable Machine "
            "export?): train it here first"
        )
    if not has_layer(model_json.get("modelTopology"), "LayerNormalization"):
        # the plain reference (``train --plain``) scores raw features: a teach, which
        # works on normalised ones, said "now Lime" of a photo the model still called Banana
        raise ModelFilesError(
            "This model is the plain reference (trained with --plain), whose product "
            "layer the app cannot teach: train it here without --plain first"
        )
    raw = files.files["weights.bin"]
    return _Head(model_json, entries, _decode(raw, entries[KERNEL]), _decode(raw, entries[BIAS]))


def _update(
    model_dir: Path,
    files: Any,
    head: _Head,
    product_id: str,
    z: np.ndarray,
    rule: Rule,
    hooks: tuple[ProgressHook | None, threading.Event | None],
    photos: int,
    t0: float,
    refused: list[tuple[int, str]],
) -> TeachResult:
    """Moves the product layer toward ``z`` and swaps the files in (the caller holds the
    model folder's lock)."""
    from .export import replace_model_files

    rep = Reporter(*hooks)
    meta = dict(files.metadata)
    labels = list(meta["labels"])
    kernel, bias = head.kernel, head.bias
    c = labels.index(product_id)
    before = labels[int(np.argmax(z[0] @ kernel + bias))]
    trained_at = str(meta.get("trainedAt") or "")
    memory = taught_memory.load(model_dir, trained_at, z.shape[1]).plus(
        z[:: rule.views], product_id
    )
    new_kernel, new_bias = update_head(kernel, bias, z, c, rule, memory.rows_for(labels))
    if np.array_equal(new_kernel, kernel) and np.array_equal(new_bias, bias):
        taught_memory.save(model_dir, memory)  # still rehearsed by later corrections
        which = "these photos" if photos > 1 else "this photo"
        raise AlreadyNamed(  # "Taught …, the model is updated" said of unchanged files
            f"the model already names {(meta.get('labelNames') or labels)[c]} at "
            f"{100 * rule.target:.0f} % or more on {which}, so nothing in it changed"
        )
    after = labels[int(np.argmax(z[0] @ new_kernel + new_bias))]
    out = bytearray(files.files["weights.bin"])
    for name, values in ((KERNEL, new_kernel), (BIAS, new_bias)):
        e = head.entries[name]
        out[e.offset : e.offset + e.size] = _encode(values, e)
    taught = dict(meta.get("taught") or {})
    per = dict(taught.get("products") or {})
    per[product_id] = int(per.get(product_id, 0)) + photos
    stamp = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    meta["taught"] = {
        "photos": int(taught.get("photos", 0)) + photos,
        "products": per,  # photos taught per product since the full training (trainedAt)
        "lastAt": stamp.replace("+00:00", "Z"),
    }
    meta["imageCount"] = int(meta.get("imageCount", 0)) + photos
    meta["timeStamp"] = meta["taught"]["lastAt"]
    meta[WEIGHTS_SHA256] = weights_sha256(bytes(out))
    rep(Phase.EXPORTING, 0.5, "Saving the updated model")
    replace_model_files(
        model_dir,
        {
            "model.json": json.dumps(head.model_json, separators=(",", ":")).encode(),
            "weights.bin": bytes(out),
            "metadata.json": json.dumps(meta, ensure_ascii=False, separators=(",", ":")).encode(),
        },
        on_progress=span(hooks[0], 0.5, 1.0),
        cancel=hooks[1],
    )
    taught_memory.save(model_dir, memory)  # after the model: a stale memory only rehearses less
    return TeachResult(
        model_dir,
        product_id,
        photos,
        time.monotonic() - t0,
        before,
        after,
        tuple(refused),
        len(per),
    )
