"""Writing the three POS files atomically: temp folder, validate, swap.

The converter writes ``group1-shard1of1.bin``; we rename it ``weights.bin`` and
rewrite the manifest. An existing export is replaced whole or not at all: the
new folder is complete and validated before it takes the old one's name.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from .. import __version__
from .errors import ExportError, ModelFilesError, TrainerError
from .faults import describe
from .heartbeat import Heartbeat
from .local_history import keep_previous, model_lock, rescuer
from .model import ACCEPT_TARGET, UNMEASURED_THRESHOLD, Acceptance
from .model_format import FILES, QUANTIZE, WEIGHTS_SHA256, weights_sha256
from .modelfiles import TRAINER_NAME, validate_model_dir
from .outdir import check_target, folder_mode, make_temp_dir, swap_into_place, sweep_stale
from .paths import resolved, write_durably
from .progress import Phase, ProgressHook, Reporter, check_cancel

if TYPE_CHECKING:
    from .model import TrainedModel, TrainResult

FORMAT_VERSION = "1.0.0"
PREPROCESSING = {
    "colorSpace": "RGB",
    "crop": "centre-square",
    "resize": "bilinear",
    "scale": "x / 127 - 1",
    "layout": "NHWC",
}


NEVER = 1.01  # an acceptThreshold above any probability: the till always asks


def accept_fields(r: TrainResult, quantize: str = "none") -> dict[str, Any]:
    """``acceptThreshold`` and what it rests on: the POS adds the top product by itself
    when its probability is at least the threshold, and shows the top three below it.
    A uint8 export never adds by itself: the threshold is measured on the float model,
    and uint8 weights moved its probabilities by up to 0.3 (an orange "Tomato" at 0.6)."""
    a = r.accept
    if a is None:
        a = Acceptance(UNMEASURED_THRESHOLD, None, None, ACCEPT_TARGET, False, 0)
    if quantize == "uint8":
        a = Acceptance(NEVER, None, None, a.target, False, a.photos)
    return {
        # rounded up: rounded down, photos below the measured threshold were accepted
        "acceptThreshold": math.ceil(a.threshold * 1e4) / 1e4,
        "acceptPrecision": None if a.precision is None else round(a.precision, 4),
        "acceptCoverage": None if a.coverage is None else round(a.coverage, 4),
        "acceptTarget": a.target,
        "acceptMeasured": a.measured,  # False: too few held-back photos; a cautious value
        "calibration": {"temperature": round(r.temperature, 4), "heldBackPhotos": a.photos},
    }


def build_metadata(model: TrainedModel, channel_id: str, quantize: str) -> dict[str, Any]:
    r = model.result
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    from .tf_runtime import import_tfjs

    tensorflowjs = import_tfjs()
    return {
        # Dukahub's seed schema
        "version": FORMAT_VERSION,
        "trainedAt": stamp,
        "channelId": channel_id,
        "productCount": r.product_count,
        "imageCount": r.image_count,
        "trainingDuration": round(r.duration_s, 1),
        "labels": list(r.labels),
        "imageSize": model.options.image_size,
        "modelType": "mobilenet",
        # what Teachable Machine's loader reads
        "tfjsVersion": tensorflowjs.__version__,
        "tmVersion": "2.4.5",
        "packageVersion": "0.8.4-alpha2",
        "packageName": "@teachablemachine/image",
        "timeStamp": now.isoformat().replace("+00:00", "Z"),
        "userMetadata": {},
        "modelName": f"dukahub-channel-{channel_id}" if channel_id else "dukahub-model",
        # ours
        "labelNames": [r.names.get(p, p) for p in r.labels],
        "preprocessing": PREPROCESSING,
        "baseModel": f"mobilenet_v2_{model.options.alpha:g}_{model.options.image_size}",
        "quantization": quantize,
        "validationAccuracy": r.val_accuracy,
        "validation": r.validation,
        "heldBackPhotos": r.held_back,
        "perProductAccuracy": {p: r.per_product.get(p) for p in r.labels},
        # (true, predicted, count) on held-back photos: the Train screen after a restart
        "confusions": [list(c) for c in r.confusions[:10]],
        # unlabelled counter frames the head was centred on: an owner refreshes them
        # after moving the camera or changing the light
        "counterFrames": {"count": r.counter_frames, "newest": r.counter_frames_newest or None},
        # what each product was trained from, its expected reliability, and the order
        # to photograph products at the counter in (app.core.photo_advice)
        "productStandings": {s.product: s.to_json() for s in r.standings},
        "photographFirst": [s.product for s in r.standings if s.gain > 0],
        # when the POS may add the top product without asking (app.core.calibration)
        **accept_fields(r, quantize),
        "trainer": {"name": TRAINER_NAME, "version": __version__},
    }


def export_model(
    model: TrainedModel,
    out_dir: Path,
    *,
    channel_id: str | None = None,
    quantize: str = "none",
    extra_metadata: dict[str, Any] | None = None,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Write the three files into ``out_dir`` atomically.

    ``extra_metadata`` adds keys of the caller's (the catalogue fingerprint) to
    ``metadata.json``; the seed and Teachable Machine fields cannot be overridden. The
    model it replaces is kept in the local history beside ``out_dir``
    (:mod:`app.core.local_history`): every training (CLI ``train``, ``sync``, the app)
    exports here, so every one keeps the last few models.
    """
    if quantize not in QUANTIZE:
        raise ExportError(f"Quantisation must be one of {', '.join(QUANTIZE)}, not {quantize!r}")
    rep = Reporter(on_progress, cancel)
    channel_id = model.channel_id if channel_id is None else channel_id
    out_dir = resolved(out_dir)
    check_target(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    mode = folder_mode(out_dir)
    # temp folders of killed runs (ours by name, their process gone); a model one left
    # on its way to the history goes there
    sweep_stale(out_dir, rescue=rescuer(out_dir))
    tmp = make_temp_dir(out_dir)
    try:
        rep(Phase.EXPORTING, 0.1, "Writing the three model files")
        with Heartbeat(lambda s: rep(Phase.EXPORTING, 0.1, f"Writing the model files… {s:.0f} s")):
            write_tfjs(model.full_model(), tmp, quantize)  # one blocking call (issue 22)
        check_cancel(cancel)
        meta = build_metadata(model, channel_id, quantize)  # seed fields first, as before
        meta.update({k: v for k, v in (extra_metadata or {}).items() if k not in meta})
        weights = (tmp / "weights.bin").read_bytes()
        meta[WEIGHTS_SHA256] = weights_sha256(weights)  # checked on every load
        _write_json(tmp / "metadata.json", meta)
        with model_lock(out_dir):  # not while a teach reads, updates and swaps its files
            _validate_and_swap(tmp, out_dir, mode, rep, keep_history=True)
    except Exception as exc:  # a full disk arrives as OSError, or TensorFlow's OpError
        _raise_export_error(exc, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def replace_model_files(
    out_dir: Path,
    files: dict[str, bytes],
    *,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Replace an export's three files with these bytes (an in-place update of the head,
    :mod:`app.core.teach`): the same temp folder, validator and atomic swap as
    :func:`export_model`, so the folder is the old model or the new one, never half.
    The caller holds :func:`~app.core.local_history.model_lock` from reading the files
    it changes to this swap."""
    rep = Reporter(on_progress, cancel)
    out_dir = resolved(out_dir)
    check_target(out_dir)
    mode = folder_mode(out_dir)
    sweep_stale(out_dir, rescue=rescuer(out_dir))
    tmp = make_temp_dir(out_dir)
    try:
        rep(Phase.EXPORTING, 0.1, "Writing the three model files")
        for name in FILES:
            write_durably(tmp / name, files[name])
        _validate_and_swap(tmp, out_dir, mode, rep)
    except Exception as exc:
        _raise_export_error(exc, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def _validate_and_swap(
    tmp: Path, out_dir: Path, mode: int, rep: Reporter, *, keep_history: bool = False
) -> None:
    """The one check every written model passes before it takes the folder's name;
    ``keep_history``: the model it replaces goes into the local history, else away."""
    rep(Phase.EXPORTING, 0.8, "Checking the files")
    try:
        validate_model_dir(tmp)
    except ModelFilesError as exc:
        raise ExportError(f"The exported files failed validation: {exc}") from None
    check_cancel(rep.cancel)
    os.chmod(tmp, mode)  # mkdtemp made it 0700
    keep = (lambda old: keep_previous(old, out_dir)) if keep_history else None
    swap_into_place(tmp, out_dir, keep)
    rep.report(Phase.EXPORTING, 1.0, f"Saved to {out_dir}")  # a cancel from now on is too late


def _raise_export_error(exc: Exception, out_dir: Path) -> NoReturn:
    """Our own errors as they are; a full disk (OSError, TensorFlow's OpError) as one line."""
    reason = None if isinstance(exc, TrainerError) else describe(exc)
    if reason is None:
        raise exc
    raise ExportError(f"Could not write the model to {out_dir}: {reason}") from None


def write_tfjs(keras_model: Any, dest: Path, quantize: str) -> None:
    """Convert through tensorflowjs's Keras path, then ship a single ``weights.bin``.

    The very steps of ``tensorflowjs.converters.save_keras_model`` (save ``.h5``,
    convert, ``write_artifacts``; the files are byte-identical) — but its ``.h5`` lives
    in memory (HDF5's core driver, no backing store) instead of ``tempfile.mktemp()``
    in the system temp folder, where a kill or a full disk left it behind, and where
    a full disk made HDF5 crash the process (SIGSEGV after ENOSPC, measured).
    """
    import importlib
    import uuid

    import h5py

    from .tf_runtime import import_tfjs

    import_tfjs()
    h5conv = importlib.import_module("tensorflowjs.converters.keras_h5_conversion")
    qmap = quantization_map(keras_model, quantize)
    dest.mkdir(parents=True, exist_ok=True)
    name = f"dukahub-export-{uuid.uuid4().hex}.h5"  # a name only: nothing is written
    with h5py.File(name, "w", driver="core", backing_store=False) as h5:
        keras_model.save(h5, save_format="h5")
        topology, groups = h5conv.h5_merged_saved_model_to_tfjs_format(h5)
    h5conv.write_artifacts(
        topology, groups, str(dest), quantization_dtype_map=qmap, weight_shard_size_bytes=1 << 30
    )
    model_json = json.loads((dest / "model.json").read_text(encoding="utf-8"))
    shards = [p for g in model_json["weightsManifest"] for p in g["paths"]]
    if len(shards) != 1:
        raise ExportError(f"The converter wrote {len(shards)} weight files; expected one")
    os.replace(dest / shards[0], dest / "weights.bin")
    for g in model_json["weightsManifest"]:
        g["paths"] = ["weights.bin"]
    _write_json(dest / "model.json", model_json)


def quantization_map(keras_model: Any, quantize: str) -> dict[str, Any] | None:
    """uint8 on everything but the depthwise kernels, which stay float16.

    Depthwise 3×3 kernels have few weights and wide ranges; 8 bits there caused
    most of the probability drift (measured: 0.24 → 0.18 max, top class kept)
    for 3 % more bytes.
    """
    if quantize == "none":
        return None
    if quantize == "float16":
        return {"float16": "*"}
    names = [w.name.split(":")[0] for w in keras_model.weights]
    depthwise = [n for n in names if "depthwise_kernel" in n]
    rest = [n for n in names if "depthwise_kernel" not in n]
    return {"uint8": rest, "float16": depthwise}


def _write_json(path: Path, data: Any) -> None:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    write_durably(path, text.encode())  # NaN is no JSON: a till's browser could not read it
