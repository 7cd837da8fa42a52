"""Checking and running the three files the POS loads (ours or Teachable Machine's).

Prediction here runs from the exported files, not from the in-memory Keras
model, so what the app tests is byte for byte what the POS will load.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from .errors import ModelFilesError
from .input_size import TM_IMAGE_SIZE, base_of
from .model_format import FILES, weights_match
from .readers import MAX_JSON_BYTES, BadJson, parse_json, read_regular

T = TypeVar("T")

TRAINER_NAME = "dukahub-trainer"  # metadata "trainer.name": an export of ours
SEED_FIELDS = (
    "version",
    "trainedAt",
    "channelId",
    "productCount",
    "imageCount",
    "trainingDuration",
    "labels",
    "imageSize",
    "modelType",
)
# The most each file may hold (read whole): far above a MobileNetV2 at alpha 1.0
MAX_FILE_BYTES = {
    "model.json": MAX_JSON_BYTES,
    "weights.bin": 1 << 30,
    "metadata.json": MAX_JSON_BYTES,
}
_DTYPE_BYTES = {"float32": 4, "int32": 4, "bool": 1, "float16": 2, "uint8": 1, "uint16": 2}


def manifest_byte_count(model_json: dict[str, Any]) -> int:
    """Bytes the weights manifest promises (quantised entries count their stored dtype)."""
    total = 0
    for group in model_json.get("weightsManifest", []):
        for w in group.get("weights", []):
            n = math.prod(int(d) for d in w.get("shape", []))
            dtype = (w.get("quantization") or {}).get("dtype") or w.get("dtype", "float32")
            if dtype not in _DTYPE_BYTES:
                raise ModelFilesError(f"model.json: unsupported weight dtype {dtype!r}")
            total += n * _DTYPE_BYTES[dtype]
    return total


def _layer_nodes(topology: Any) -> Iterator[dict[str, Any]]:
    """Every object of a (possibly nested) layers-model topology, in document order."""
    if isinstance(topology, dict):
        yield topology
        for v in topology.values():
            yield from _layer_nodes(v)
    elif isinstance(topology, list):
        for v in topology:
            yield from _layer_nodes(v)


def output_units(topology: dict[str, Any]) -> int | None:
    """Units of the last Dense layer in a (possibly nested) layers-model topology."""
    last: int | None = None
    for node in _layer_nodes(topology):
        if node.get("class_name") == "Dense" and isinstance(node.get("config"), dict):
            units = node["config"].get("units")
            if isinstance(units, int) and not isinstance(units, bool):
                last = units or last
    return last


def has_layer(topology: dict[str, Any], class_name: str) -> bool:
    """Whether a (possibly nested) layers-model topology holds a layer of this class."""
    return any(node.get("class_name") == class_name for node in _layer_nodes(topology))


def input_side(topology: dict[str, Any]) -> int | None:
    """The side of the square photo the model takes (its first 4-D input shape)."""
    for node in _layer_nodes(topology):
        shape = node.get("batch_input_shape") or node.get("batch_shape")
        if isinstance(shape, list) and len(shape) == 4 and isinstance(shape[1], int):
            return shape[1]
    return None


@dataclass(frozen=True)
class ModelFiles:
    """The three files' bytes as validated, and the parsed metadata.

    Publishing uploads exactly these bytes: reading the folder once means the files
    that were checked are the files that are sent.
    """

    dir: Path
    files: dict[str, bytes]
    metadata: dict[str, Any]


def read_model_files(model_dir: Path | str) -> ModelFiles:
    """Reads and validates a model folder (the one validator: inspect, Test, publish).

    Raises ModelFilesError saying what is wrong.
    """
    d = Path(model_dir)
    for _ in range(2):
        before = _folder_identity(d)
        try:
            return _read_once(d)
        except ModelFilesError:
            # A training or teach swaps the whole folder for a new model: read across
            # the swap, two models' files mixed read as "weights.bin does not match the
            # checksum" (2 of 60 inspects during swaps). Read again when it was swapped.
            if _folder_identity(d) == before:
                raise
            time.sleep(0.05)
    return _read_once(d)


def _read_once(d: Path) -> ModelFiles:
    files = _read_files(d)
    return ModelFiles(dir=d, files=files, metadata=_validate(files))


def _folder_identity(d: Path) -> tuple[int, int, int] | None:
    """Which folder ``d`` names now (a swap puts another one there); None: none."""
    try:
        st = os.stat(d)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_mtime_ns)


def _read_files(d: Path) -> dict[str, bytes]:
    if not d.is_dir():
        raise ModelFilesError(f"Model folder not found: {d}")
    files: dict[str, bytes] = {}
    for name in FILES:
        p = d / name
        try:  # regular files only: a named pipe there would block the read forever
            files[name] = read_regular(p, MAX_FILE_BYTES[name])
        except FileNotFoundError:
            raise ModelFilesError(f"{name} is missing in {d}") from None
        except OSError as exc:
            raise ModelFilesError(f"{p} cannot be read ({exc.strerror})") from None
        if not files[name]:
            raise ModelFilesError(f"{name} is empty in {d}")
    return files


def validate_model_dir(model_dir: Path | str) -> dict[str, Any]:
    """Raise ModelFilesError unless the folder holds a loadable, consistent model.

    Returns the parsed metadata.
    """
    return read_model_files(model_dir).metadata


def _validate(files: dict[str, bytes]) -> dict[str, Any]:
    try:
        model = parse_json(files["model.json"], strict=True)  # as the till's browser reads it
    except BadJson as exc:
        raise ModelFilesError(f"model.json is not valid JSON: {exc}") from None
    try:
        meta = parse_json(files["metadata.json"], strict=True)
    except BadJson as exc:
        raise ModelFilesError(f"metadata.json is not valid JSON: {exc}") from None
    if not isinstance(model, dict) or not isinstance(model.get("modelTopology"), dict):
        raise ModelFilesError("model.json has no modelTopology: not a TF.js layers model")
    manifest = model.get("weightsManifest")
    if not isinstance(manifest, list) or not manifest:
        raise ModelFilesError("model.json has no weightsManifest")
    _check_manifest_shape(manifest)
    paths = [p for g in manifest for p in g.get("paths", [])]
    if paths != ["weights.bin"]:
        raise ModelFilesError(f"model.json must reference exactly ['weights.bin'], not {paths}")
    expected = manifest_byte_count(model)
    actual = len(files["weights.bin"])
    if expected != actual:
        raise ModelFilesError(
            f"weights.bin has {actual} bytes but model.json describes {expected}: "
            "the files do not belong together or a copy was cut short"
        )
    if not isinstance(meta, dict):
        raise ModelFilesError("metadata.json must be a JSON object")
    labels = meta.get("labels")
    if (
        not isinstance(labels, list)
        or not labels
        or not all(isinstance(x, str) and x for x in labels)
    ):
        raise ModelFilesError("metadata.json has no list of labels")
    if len(set(labels)) != len(labels):
        raise ModelFilesError("metadata.json lists a label twice")
    units = output_units(model["modelTopology"])
    if units is not None and units != len(labels):
        raise ModelFilesError(
            f"The model has {units} outputs but metadata.json lists {len(labels)} labels"
        )
    size = meta.get("imageSize", TM_IMAGE_SIZE)
    if not isinstance(size, int) or not 32 <= size <= 1024:
        raise ModelFilesError(f"metadata.json imageSize {size!r} is not a sensible size")
    side = input_side(model["modelTopology"])
    if side is not None and side != size:
        raise ModelFilesError(
            f"metadata.json imageSize {size} does not match the model's input ({side}×{side} "
            "px): the files do not belong together"
        )
    named = base_of(meta)
    trained = named[1] if named else None
    if side is None and trained is not None and trained != size:
        # a model of any side (ours) answers a wrong size with wrong products
        raise ModelFilesError(
            f"metadata.json imageSize {size} does not match the size the model was trained "
            f"at ({trained}×{trained} px, its baseModel): the files do not belong together"
        )
    names = meta.get("labelNames")
    if names is not None and not (
        isinstance(names, list)
        and len(names) == len(labels)
        and all(isinstance(x, str) for x in names)
    ):
        raise ModelFilesError(
            f"metadata.json labelNames must give one name for each of its {len(labels)} labels"
        )
    _check_checksum(meta, files["weights.bin"])
    _check_finite(model, files["weights.bin"])
    return meta


def _check_manifest_shape(manifest: list[Any]) -> None:
    """Every group and weight entry of the shape the byte count and the finite check
    read (a hand-edited or damaged model.json is one line, not a crash)."""

    def is_count(d: Any) -> bool:
        return isinstance(d, int) and not isinstance(d, bool) and d >= 0

    for group in manifest:
        ok = (
            isinstance(group, dict)
            and isinstance(group.get("paths", []), list)
            and all(isinstance(p, str) for p in group.get("paths", []))
            and isinstance(group.get("weights", []), list)
        )
        for w in group.get("weights", []) if ok else []:
            quant = w.get("quantization") if isinstance(w, dict) else None
            ok = ok and (
                isinstance(w, dict)
                and isinstance(w.get("shape", []), list)
                and all(is_count(d) for d in w.get("shape", []))
                and isinstance(w.get("dtype", "float32"), str)
                and (quant is None or isinstance(quant, dict))
            )
        if not ok:
            raise ModelFilesError(
                "model.json's weightsManifest is damaged (entries of the wrong kind)"
            )


def _check_checksum(meta: dict[str, Any], weights: bytes) -> None:
    """A same-size change to weights.bin is invisible to the size check: compare the hash."""
    if not weights_match(meta, weights):
        raise ModelFilesError(
            "weights.bin does not match the checksum in metadata.json: the file was "
            "changed or damaged after the export"
        )


def _check_finite(model: dict[str, Any], weights: bytes) -> None:
    """NaN or infinite weights make every prediction NaN: refuse them here, not at the POS.

    Entries are decoded in manifest order; quantised ones are finite unless stored as
    float16 or their ``min``/``scale`` are not finite numbers.
    """
    offset = 0
    for group in model["weightsManifest"]:
        for w in group.get("weights", []):
            n = math.prod(int(d) for d in w.get("shape", []))
            quant = w.get("quantization") or {}
            dtype = quant.get("dtype") or w.get("dtype", "float32")
            size = n * _DTYPE_BYTES[dtype]
            finite = True
            if dtype in ("float32", "float16"):
                values = np.frombuffer(
                    weights, dtype="<f4" if dtype == "float32" else "<f2", count=n, offset=offset
                )
                finite = bool(np.isfinite(values).all())
            for key in ("min", "scale"):
                if key in quant:
                    v = quant[key]
                    finite = finite and isinstance(v, (int, float)) and math.isfinite(v)
            if not finite:
                raise ModelFilesError(
                    "the model's weights are damaged (not finite numbers, in "
                    f"“{w.get('name', '?')}”)"
                )
            offset += size


def missing_seed_fields(meta: dict[str, Any]) -> list[str]:
    return [f for f in SEED_FIELDS if f not in meta]


@dataclass
class FileInfo:
    name: str
    path: Path
    size: int


_INFERENCE_THREAD = "tf-inference"
_inference: ThreadPoolExecutor | None = None
_inference_lock = threading.Lock()


def on_inference_thread(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` on the one thread every prediction runs on. TensorFlow keeps data for
    each thread that ever ran a model (a ``FunctionCallOptions`` and a list), never
    freed: the Test screen, which recognised each camera frame on a new thread, grew by
    two objects and 0.6 KB a frame without end (750 MB over a shop's day, found by an
    audit of long sessions), and every full garbage collection walked them all."""
    global _inference
    if threading.current_thread().name.startswith(_INFERENCE_THREAD):
        return fn(*args)
    with _inference_lock:
        if _inference is None:
            _inference = ThreadPoolExecutor(1, thread_name_prefix=_INFERENCE_THREAD)
        pool = _inference
    return pool.submit(fn, *args).result()


class ExportedModel:
    """A validated model folder, loaded through the TF.js format reader."""

    def __init__(self, model_dir: Path, metadata: dict[str, Any]) -> None:
        self.dir = model_dir
        self.metadata = metadata
        self.labels: list[str] = list(metadata["labels"])
        self.image_size: int = int(metadata.get("imageSize", TM_IMAGE_SIZE))
        self._model: Any = None
        self._lock = threading.Lock()

    @classmethod
    def load(cls, model_dir: Path | str, *, eager: bool = True) -> ExportedModel:
        d = Path(model_dir)
        m = cls(d, validate_model_dir(d))
        if eager:
            m.keras_model()
        return m

    @property
    def origin(self) -> str:
        if "trainer" in self.metadata:
            return "dukahub"
        if "tmVersion" in self.metadata:
            return "teachable-machine"
        return "unknown"

    @property
    def is_teachable_machine(self) -> bool:
        return self.origin == "teachable-machine"

    def files(self) -> list[FileInfo]:
        return [FileInfo(n, self.dir / n, (self.dir / n).stat().st_size) for n in FILES]

    def keras_model(self) -> Any:
        with self._lock:
            if self._model is None:
                from .tf_runtime import import_tfjs

                tfjs = import_tfjs()

                try:
                    self._model = tfjs.converters.load_keras_model(str(self.dir / "model.json"))
                except Exception as exc:  # the converter raises many kinds
                    raise ModelFilesError(
                        f"The model in {self.dir} could not be loaded: {exc}"
                    ) from None
            return self._model

    def predict(self, images: list[np.ndarray]) -> np.ndarray:
        """Probabilities (n, labels) for uint8 RGB images of any size."""
        from .images import preprocess

        if not images:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        x = np.stack([preprocess(im, self.image_size) for im in images])
        return self.predict_preprocessed(x)

    def predict_preprocessed(self, batch: np.ndarray) -> np.ndarray:
        model = self.keras_model()
        return on_inference_thread(self._predict_on_batch, model, batch)

    def _predict_on_batch(self, model: Any, batch: np.ndarray) -> np.ndarray:
        with self._lock:
            return np.asarray(model.predict_on_batch(batch), dtype=np.float32)

    def check_prediction(self) -> None:
        """Raise ModelFilesError unless a plain grey image gets finite probabilities.

        Finite weights can still overflow (huge values, a broken layer); the POS would
        then show ``nan`` for every product.
        """
        grey = np.full((self.image_size, self.image_size, 3), 128, dtype=np.uint8)
        if not np.isfinite(self.predict([grey])).all():
            raise ModelFilesError(
                "the model's test prediction is not a finite number: the model is broken"
            )

    @property
    def accept_threshold(self) -> float:
        """The top-1 probability at which the POS may add the product without asking:
        ``acceptThreshold`` from metadata.json, or the cautious default for a model
        without one (a Teachable Machine export, an older export of ours)."""
        from .model import NEVER_THRESHOLD, UNMEASURED_THRESHOLD

        value = self.metadata.get("acceptThreshold")
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return (
            float(value) if ok and 0.0 < float(value) <= NEVER_THRESHOLD else UNMEASURED_THRESHOLD
        )

    def top_k(self, rgb: np.ndarray, k: int = 3) -> list[tuple[str, float]]:
        probs = self.predict([rgb])[0]
        order = np.argsort(-probs)[:k]
        return [(self.labels[i], float(probs[i])) for i in order]
