"""MobileNetV2 features, computed once per photo (and per augmented view) and cached.

Training only ever fits a small head on these vectors, so a retrain after adding
one product costs that product's photos, not the whole catalogue. TensorFlow is
imported lazily here so the GUI window appears before it loads.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from . import paths, resources
from .errors import BaseWeightsError, ImageError, TrainerError, WeightsUnavailable
from .fast_features import FAST_SUFFIX, lite_features
from .feature_store import FEATURE_WIDTH, FeatureStore, model_key
from .images import TM_SCALE, file_digest, load_rgb
from .input_size import DEFAULT_IMAGE_SIZE, weights_size
from .progress import Phase, Reporter, check_cancel
from .tf_runtime import tf_modules
from .view_workers import Turns, made_in_order, split_cores
from .views import view_of

log = logging.getLogger(__name__)

WEIGHTS_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
    "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{size}_no_top.h5"
)
ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
BUNDLED_WEIGHTS = ((0.35, 224),)  # resources/weights/: the default model (224 weights, any size)


def weights_filename(alpha: float, size: int = DEFAULT_IMAGE_SIZE) -> str:
    """The ImageNet weights file a model of input ``size`` runs on (256: the 224 file)."""
    return WEIGHTS_URL.format(alpha=_alpha_str(alpha), size=weights_size(size)).rsplit("/", 1)[1]


def shipped_weights(alpha: float, size: int) -> Path | None:
    """The weights file every installation ships for this width and input side; None
    where none is shipped (missing, it is a broken install: said by name when read)."""
    if (alpha, weights_size(size)) not in BUNDLED_WEIGHTS:
        return None
    return resources.path(f"{resources.BASE_WEIGHTS_DIR}/{weights_filename(alpha, size)}")


def _alpha_str(alpha: float) -> str:
    return f"{alpha:g}" if alpha != 1.0 else "1.0"


def keras_cache_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"


def resolve_base_weights(
    alpha: float,
    explicit: Path | str | None = None,
    *,
    size: int = DEFAULT_IMAGE_SIZE,
    download: bool = True,
    on_progress: Reporter | None = None,
) -> Path:
    """Find the ImageNet weights: explicit file, env var, the copy the app ships
    (alpha 0.35 at 224, so the default model trains offline from the first run),
    the Keras cache, then a download once."""
    if alpha not in ALPHAS:
        raise BaseWeightsError(f"Model size (alpha) must be one of {', '.join(map(str, ALPHAS))}")
    for candidate, what in (
        (explicit, "--base-weights"),
        (os.environ.get(paths.BASE_WEIGHTS_ENV), paths.BASE_WEIGHTS_ENV),
    ):
        if candidate:
            p = Path(candidate).expanduser()
            if not p.is_file():
                raise BaseWeightsError(f"Base weights file given by {what} not found: {p}")
            return p
    shipped = shipped_weights(alpha, size)
    if shipped is not None:
        return shipped
    cached = keras_cache_dir() / weights_filename(alpha, size)
    if cached.is_file() and cached.stat().st_size > 0:
        return cached
    if not download:
        raise _offline_error(alpha, size, "download disabled")
    url = WEIGHTS_URL.format(alpha=_alpha_str(alpha), size=weights_size(size))
    return _download(url, cached, on_progress, alpha, size)


def _offline_error(alpha: float, size: int, why: str) -> WeightsUnavailable:
    name = weights_filename(alpha, size)
    return WeightsUnavailable(
        f"Could not get the pretrained MobileNetV2 weights for model size {alpha:g} ({why}): "
        f"{name} is not on this computer. Connect to the internet once, or choose the "
        "default model size 0.35, which the app ships.",
        alpha=alpha,
        filename=name,
        why=why,
    )


def weights_need_download(
    alpha: float, explicit: Path | str | None = None, size: int = DEFAULT_IMAGE_SIZE
) -> bool:
    """Whether training at ``alpha`` would first download its pretrained weights: none
    shipped, cached, chosen (``explicit``) or named by the environment. No network is
    used; the app marks such model sizes before the owner picks one."""
    try:
        resolve_base_weights(alpha, explicit, size=size, download=False)
    except WeightsUnavailable:
        return True
    except TrainerError:  # a chosen file that is gone, a broken install: said at training
        return False
    return False


def _download(url: str, dest: Path, progress: Reporter | None, alpha: float, size: int) -> Path:
    import requests

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".part")
    try:
        with requests.get(url, stream=True, timeout=(10, 60)) as r:
            r.raise_for_status()
            total = int(r.headers.get("content-length") or 0)
            got = 0
            with open(tmp, "wb") as fh:
                for chunk in r.iter_content(1 << 16):
                    fh.write(chunk)
                    got += len(chunk)
                    if progress and total:
                        progress(
                            Phase.DOWNLOADING, got / total, "Downloading the recognition engine"
                        )
        os.replace(tmp, dest)
    except requests.RequestException as exc:
        tmp.unlink(missing_ok=True)
        raise _offline_error(alpha, size, type(exc).__name__) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest


_MODEL_LOCK = threading.Lock()
_Loaded = tuple[str, float, int | None]
_MODELS: dict[_Loaded, Any] = {}


def _loaded_key(weights: Path, alpha: float, size: int | None) -> _Loaded:
    """The in-process key of a base model and its feature functions (one place, so
    :func:`features_ready` asks exactly what :func:`image_features` keeps)."""
    return (str(weights), alpha, size)


def base_model(weights: Path, alpha: float, size: int | None = DEFAULT_IMAGE_SIZE) -> Any:
    """MobileNetV2 truncated at ``out_relu`` + global average pooling (TM's feature model).

    ``size`` None takes a square of any side: the exported model, so a till that feeds
    it Teachable Machine's 224 pixels instead of ``imageSize`` still gets an answer (its
    padding is the same as at any even side, so its features at 256 are these)."""
    key = _loaded_key(weights, alpha, size)
    with _MODEL_LOCK:
        if key not in _MODELS:
            _, keras = tf_modules()
            try:
                mobilenet = keras.applications.MobileNetV2(
                    input_shape=(size, size, 3),
                    alpha=alpha,
                    include_top=False,
                    weights=str(weights),
                )
            except (OSError, ValueError) as exc:
                raise BaseWeightsError(
                    f"The base weights file {weights} does not fit MobileNetV2 alpha {alpha}: {exc}"
                ) from None
            model = keras.Sequential(
                [mobilenet, keras.layers.GlobalAveragePooling2D(name="global_pool")],
                name="features",
            )
            model.trainable = False
            _MODELS[key] = model
        return _MODELS[key]


_FEATURE_FNS: dict[_Loaded, Callable[[np.ndarray], np.ndarray]] = {}
# The log's words when the shipped fast file is used, and when it cannot be (the
# bundle's smoke test looks for the first: a bundle without TensorFlow Lite or the file
# would train at half speed and still pass every other check)
FAST_IN_USE = "features by the shipped TensorFlow Lite model"
FAST_FALLBACK = "fast feature model not usable"
# Photos per call of the feature model (TensorFlow's graph: 2.6 ms a photo at 64 on two
# cores, 3.1 ms at 32)
FEATURE_BATCH = 64


def image_features(
    weights: Path, alpha: float, size: int = DEFAULT_IMAGE_SIZE
) -> Callable[[np.ndarray], np.ndarray]:
    """The base model's features, float32 (n, dim), of photos given as uint8 squares
    (n, size, size, 3), Teachable Machine's scaling included: by the shipped TensorFlow
    Lite file where these are the shipped weights (1.35 ms a photo on two cores), else
    by TensorFlow's graph, traced once per base model (2.6 ms; Keras's
    ``predict_on_batch`` of 32 photos scaled in NumPy took 4.1 ms)."""
    key = _loaded_key(weights, alpha, size)
    with _MODEL_LOCK:
        if key in _FEATURE_FNS:
            return _FEATURE_FNS[key]
    fast = fast_file(weights, alpha, size)
    features = None
    if fast is not None:
        try:
            features = _batched(*lite_features(fast, split_cores()[0]))
            log.info(f"{FAST_IN_USE}: %s", fast)
        except (ImportError, AttributeError, RuntimeError, ValueError) as exc:
            # a TensorFlow without its Lite interpreter, a damaged file: slower, not broken
            log.warning(f"{FAST_FALLBACK}: %s (%s); using TensorFlow's graph", fast, exc)
    if features is None:
        features = graph_features(weights, alpha, size)
    with _MODEL_LOCK:
        return _FEATURE_FNS.setdefault(key, features)


def features_ready(
    alpha: float, explicit: Path | str | None = None, size: int = DEFAULT_IMAGE_SIZE
) -> bool:
    """Whether this process already holds the feature model a training at ``alpha``
    would use: a second training does not load it again (the estimate's LOAD_S)."""
    try:
        weights = resolve_base_weights(alpha, explicit, size=size, download=False)
    except TrainerError:  # not on this computer: certainly not loaded
        return False
    with _MODEL_LOCK:
        return _loaded_key(weights, alpha, size) in _FEATURE_FNS


_GRAPH_FNS: dict[_Loaded, Callable[[np.ndarray], np.ndarray]] = {}


def graph_features(
    weights: Path, alpha: float, size: int = DEFAULT_IMAGE_SIZE
) -> Callable[[np.ndarray], np.ndarray]:
    """:func:`image_features` by TensorFlow's graph, for weights with no fast file."""
    key = _loaded_key(weights, alpha, size)
    with _MODEL_LOCK:
        if key in _GRAPH_FNS:
            return _GRAPH_FNS[key]
    model = base_model(weights, alpha, size)
    tf, _ = tf_modules()

    @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.uint8)])
    def run(pixels: Any) -> Any:
        return model(tf.cast(pixels, tf.float32) / TM_SCALE - 1.0, training=False)

    with _MODEL_LOCK:
        return _GRAPH_FNS.setdefault(
            key, _batched(lambda a: np.asarray(run(a), np.float32), model.output_shape[-1])
        )


def _batched(
    run: Callable[[np.ndarray], np.ndarray], dim: int
) -> Callable[[np.ndarray], np.ndarray]:
    def features(images: np.ndarray) -> np.ndarray:
        images = np.asarray(images)
        if images.dtype != np.uint8:
            raise TypeError(f"photos must be uint8 pixels, not {images.dtype}")
        if not len(images):
            return np.zeros((0, dim), np.float32)
        return np.concatenate(
            [run(images[s : s + FEATURE_BATCH]) for s in range(0, len(images), FEATURE_BATCH)]
        )

    return features


def fast_file(weights: Path, alpha: float, size: int) -> Path | None:
    """The shipped TensorFlow Lite file of these base weights, when ``weights`` holds
    the very weights the app ships (by content: ``--base-weights`` may name a copy)."""
    shipped = shipped_weights(alpha, size)
    if shipped is None:
        return None
    fast = shipped.with_suffix(FAST_SUFFIX)
    try:
        if not fast.is_file() or weights.stat().st_size != shipped.stat().st_size:
            return None
        return fast if file_digest(weights) == file_digest(shipped) else None
    except OSError:
        return None


# --- cached extraction ------------------------------------------------------------


def extract(
    items: Sequence[tuple[Path, str, int]],
    *,
    weights: Path,
    alpha: float,
    size: int = DEFAULT_IMAGE_SIZE,
    seed: int = 0,
    store: FeatureStore | None = None,
    progress: Reporter | None = None,
    batch_size: int = FEATURE_BATCH,
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Features for each (path, digest, n_views): {digest: (n_views, dim)}, {digest: error}.

    Cached entries are read back; the rest are decoded in a small thread pool
    (Pillow releases the GIL) while the model runs batches.
    """
    store = store or FeatureStore()
    key = model_key(weights, alpha, size)
    out: dict[str, np.ndarray] = {}
    failed: dict[str, str] = {}
    todo = []
    for path, digest, views in items:
        hit = store.get(key, digest, views, seed, FEATURE_WIDTH)
        if hit is not None:
            out[digest] = hit
        else:
            todo.append((path, digest, views))
    if not todo:
        return out, failed
    cancel = progress.cancel if progress is not None else None
    features_of = image_features(weights, alpha, size)
    total_views = sum(v for _, _, v in todo)
    done_views = 0

    def decode(item: tuple[Path, str, int]) -> tuple[str, list[np.ndarray] | str]:
        path, digest, views = item
        try:
            turns.view()
            rgb = load_rgb(path)
        except ImageError as exc:
            return digest, str(exc).split(": ", 1)[-1]
        out_views = []
        for v in range(views):
            if cancel is not None and cancel.is_set():
                return digest, "cancelled"  # dropped: the caller raises Cancelled
            turns.view()
            out_views.append(view_of(rgb, digest, v, seed, size))
        return digest, out_views

    pending: list[tuple[str, int, np.ndarray]] = []  # (digest, views, array)
    buf: dict[str, list[np.ndarray]] = {}

    def flush() -> None:
        nonlocal done_views
        if not pending:
            return
        check_cancel(cancel)  # a batch takes a few hundred ms: do not start one needlessly
        batch = np.stack([a for _, _, a in pending])
        with turns.model():
            feats = features_of(batch)
        for (digest, views, _), f in zip(pending, feats, strict=True):
            buf.setdefault(digest, []).append(f)
            if len(buf[digest]) == views:
                arr = np.stack(buf.pop(digest))
                out[digest] = arr
                store.put(key, digest, views, seed, arr)
        done_views += len(pending)
        pending.clear()
        if progress:
            progress(
                Phase.FEATURES,
                done_views / total_views,
                f"{done_views} of {total_views} photo variations",
                done=done_views,  # the counts themselves, for the live time-left
                total=total_views,
            )

    model_threads, workers = split_cores()
    turns = Turns(model_threads, workers)  # the model's cores are not the workers' meanwhile

    window = made_in_order(decode, todo, lambda j: j[2], 3 * batch_size, workers)
    with contextlib.closing(window):  # on cancel, the photos not started are dropped
        for digest, result in window:
            check_cancel(cancel)
            if isinstance(result, str):
                failed[digest] = result
                continue
            for a in result:
                pending.append((digest, len(result), a))
                if len(pending) >= batch_size:
                    flush()
    flush()
    return out, failed


class BaseChoice(Protocol):
    """What :func:`extract_for` reads of a training's options (``model.TrainOptions``,
    which imports this module for its base model: named here by shape, not by import)."""

    @property
    def alpha(self) -> float: ...
    @property
    def image_size(self) -> int: ...
    @property
    def seed(self) -> int: ...


def extract_for(
    items: Sequence[tuple[Path, str, int]],
    weights: Path,
    o: BaseChoice,
    store: FeatureStore | None = None,
    progress: Reporter | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """:func:`extract` with a training's base model and seed (``o``): the one call the
    trainer, the counter frames and the "not a product" photos share."""
    return extract(
        items,
        weights=weights,
        alpha=o.alpha,
        size=o.image_size,
        seed=o.seed,
        store=store,
        progress=progress,
    )
