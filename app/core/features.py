"""MobileNetV2 features, computed once per photo (and per augmented view) and cached.

Training only ever fits a small head on these vectors, so a retrain after adding
one product costs that product's photos, not the whole catalogue. TensorFlow is
imported lazily here so the GUI window appears before it loads.
"""

from __future__ import annotations

import collections
import hashlib
import itertools
import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from . import paths, resources, studio
from .errors import BaseWeightsError, ImageError, TrainerError, WeightsUnavailable
from .images import load_rgb, normalise, resize_square
from .progress import Reporter, check_cancel
from .tf_runtime import tf_modules

log = logging.getLogger(__name__)

WEIGHTS_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
    "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{size}_no_top.h5"
)
ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
BUNDLED_WEIGHTS = ((0.35, 224),)  # resources/weights/: the default model
FEATURE_VERSION = 10  # bump when preprocessing or augmentation changes (10: packs as is)
STUDIO_SHARE = 0.75  # of a studio photo's views: cut-out composited into a shop scene
STUDIO_PILE = 0.5  # of those: many copies filling the frame


def weights_filename(alpha: float, size: int = 224) -> str:
    return WEIGHTS_URL.format(alpha=_alpha_str(alpha), size=size).rsplit("/", 1)[1]


def _alpha_str(alpha: float) -> str:
    return f"{alpha:g}" if alpha != 1.0 else "1.0"


def keras_cache_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"


def resolve_base_weights(
    alpha: float,
    explicit: Path | str | None = None,
    *,
    size: int = 224,
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
    if (alpha, size) in BUNDLED_WEIGHTS:
        # Shipped with every installation: missing means a broken install, said by name.
        return resources.path(f"{resources.BASE_WEIGHTS_DIR}/{weights_filename(alpha, size)}")
    cached = keras_cache_dir() / weights_filename(alpha, size)
    if cached.is_file() and cached.stat().st_size > 0:
        return cached
    if not download:
        raise _offline_error(alpha, size, "download disabled")
    url = WEIGHTS_URL.format(alpha=_alpha_str(alpha), size=size)
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
    alpha: float, explicit: Path | str | None = None, size: int = 224
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
                        progress("downloading", got / total, "Downloading the recognition engine")
        os.replace(tmp, dest)
    except requests.RequestException as exc:
        tmp.unlink(missing_ok=True)
        raise _offline_error(alpha, size, type(exc).__name__) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest


_MODEL_LOCK = threading.Lock()
_MODELS: dict[tuple[str, float, int], Any] = {}


def base_model(weights: Path, alpha: float, size: int = 224) -> Any:
    """MobileNetV2 truncated at ``out_relu`` + global average pooling (TM's feature model)."""
    key = (str(weights), alpha, size)
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


# --- augmentation -----------------------------------------------------------------


def _shrink(im: Image.Image, side: int) -> Image.Image:
    """Antialiased reduction first, so the single affine resample below never aliases."""
    if max(im.size) <= side:
        return im
    im = im.copy()
    im.thumbnail((side, side), Image.Resampling.BILINEAR)
    return im


def _geometric(
    im: Image.Image,
    rng: np.random.Generator,
    out: tuple[int, int],
    area: tuple[float, float] = (0.3, 1.0),
    max_angle: float = 20.0,
) -> Image.Image:
    """Random crop, zoom, rotation and mirror in one bilinear affine resample.

    The rotated crop is kept inside the photo, so no empty corners appear.
    """
    w, h = im.size
    side = min(w, h)
    a = rng.uniform(*area)
    aspect = np.exp(rng.uniform(np.log(0.8), np.log(1.25)))
    cw, ch = side * np.sqrt(a * aspect), side * np.sqrt(a / aspect)
    theta = np.radians(rng.uniform(-max_angle, max_angle))
    cos, sin = np.cos(theta), np.sin(theta)
    hx = (abs(cos) * cw + abs(sin) * ch) / 2
    hy = (abs(sin) * cw + abs(cos) * ch) / 2
    fit = min(1.0, (w / 2) / hx, (h / 2) / hy)
    cw, ch, hx, hy = cw * fit, ch * fit, hx * fit, hy * fit
    cx = w / 2 + rng.uniform(-0.5, 0.5) * (w - 2 * hx)
    cy = h / 2 + rng.uniform(-0.5, 0.5) * (h - 2 * hy)
    flip = -1.0 if rng.random() < 0.5 else 1.0
    ow, oh = out
    sx, sy = flip * cw / ow, ch / oh
    ca, cb, cd, ce = cos * sx, -sin * sy, sin * sx, cos * sy
    data = (ca, cb, cx - ca * ow / 2 - cb * oh / 2, cd, ce, cy - cd * ow / 2 - ce * oh / 2)
    return im.transform(out, Image.Transform.AFFINE, data, resample=Image.Resampling.BILINEAR)


_GREY = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _photometric(im: Image.Image, rng: np.random.Generator) -> np.ndarray:
    """Shop lighting and white balance: brightness, contrast, colour strength; mild blur."""
    x = np.asarray(im, dtype=np.float32)
    grey = (x @ _GREY)[..., None]
    x = grey + rng.uniform(0.75, 1.25) * (x - grey)  # colour strength (no hue shift)
    mean = float(grey.mean())
    x = mean + rng.uniform(0.75, 1.25) * (x - mean)  # contrast
    x *= rng.uniform(0.7, 1.3)  # brightness
    arr = np.clip(x + 0.5, 0, 255).astype(np.uint8)
    if rng.random() < 0.25:
        blurred = Image.fromarray(arr).filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.4)))
        arr = np.asarray(blurred)
    return arr


def augment(rgb: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """One plausible counter view of a product photo, as a size×size uint8 crop.

    Crops and zoom (product at another distance/position), small rotations (held
    at an angle), flips, lighting and colour strength (shop lights, white
    balance) and mild blur (motion, focus). No hue shift: colour tells green
    apples from red ones.
    """
    src = _shrink(Image.fromarray(rgb), int(size * 1.5))
    return _photometric(_geometric(src, rng, (size, size)), rng)


def mosaic(rgb: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """A tray or pile of the product: 2×2 or 3×3 differently cropped copies.

    Shops show fruit, vegetables and small packs several at a time; a catalogue
    photo shows one. Measured on the grocery benchmark this view type gave the
    largest gain for single-photo products.
    """
    n = int(rng.choice([2, 3]))
    edges = np.linspace(0, size, n + 1).round().astype(int)
    src = _shrink(Image.fromarray(rgb), int(2 * size / n))
    canvas = Image.new("RGB", (size, size))
    for i in range(n):
        for j in range(n):
            tile = (int(edges[j + 1] - edges[j]), int(edges[i + 1] - edges[i]))
            view = _photometric(_geometric(src, rng, tile), rng)
            canvas.paste(Image.fromarray(view), (int(edges[j]), int(edges[i])))
    return np.asarray(canvas)


def close_up(rgb: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """The product held close to the camera: a small region (4–40 % of the square)."""
    src = Image.fromarray(rgb)
    return _photometric(_geometric(src, rng, (size, size), area=(0.04, 0.4)), rng)


def zoom_in(rgb: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """The photo as it is, a little closer: a centre crop at 1.2–1.8× zoom, shifted by up
    to 4 % of its side. The views of a catalogue photo whose cut-out cannot be trusted
    (measured on packaged goods, studio shot + ×1.3 and ×1.7 crops: 44.4 % top-1 against
    37.4 % for the photo alone and 20.0 % for composites of a leaking cut-out)."""
    h, w = rgb.shape[:2]
    side = min(h, w) / rng.uniform(1.2, 1.8)
    cx = w / 2 + rng.uniform(-0.04, 0.04) * side
    cy = h / 2 + rng.uniform(-0.04, 0.04) * side
    box = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
    src = Image.fromarray(rgb).crop(tuple(int(round(v)) for v in box))
    return np.asarray(src.resize((size, size), Image.Resampling.BILINEAR))


@dataclass(frozen=True)
class StudioCut:
    """What a photo is, for its views: "shop" (no studio look), "cutout" (a studio shot
    with a trusted cut-out ``mask``) or "as-is" (a studio shot whose cut-out is not
    trusted, ``problem`` says why: :func:`app.core.studio.cutout`)."""

    kind: str
    mask: np.ndarray | None = None
    problem: str = ""


_CUTS: collections.OrderedDict[str, StudioCut] = collections.OrderedDict()
_CUTS_LOCK = threading.Lock()


# kind and problem of every photo looked at (a few bytes each; masks only for the last 64)
_KINDS: dict[str, StudioCut] = {}


def known_cut(digest: str) -> StudioCut | None:
    """The photo's :class:`StudioCut` if extraction has looked at it (its mask may be
    gone), so the trainer can report it without decoding the photo again."""
    with _CUTS_LOCK:
        return _KINDS.get(digest)


def studio_cut(rgb: np.ndarray, digest: str) -> StudioCut:
    """The photo's :class:`StudioCut` (memoised per photo: every view of a photo needs
    it, and finding it costs more than a view)."""
    with _CUTS_LOCK:
        if digest in _CUTS:
            return _CUTS[digest]
    mask, problem = studio.cutout(rgb)
    if studio.studio_background(rgb) is None:
        cut = StudioCut("shop")
    elif mask is None or problem is not None:
        cut = StudioCut("as-is", None, problem or "no clean cut-out")
    else:
        cut = StudioCut("cutout", mask)
    with _CUTS_LOCK:
        _CUTS[digest] = cut
        _KINDS[digest] = StudioCut(cut.kind, None, cut.problem)
        while len(_CUTS) > 64:
            _CUTS.popitem(last=False)
    return cut


def view_of(rgb: np.ndarray, digest: str, view: int, seed: int, size: int) -> np.ndarray:
    """View 0 is exactly what the POS sees; others are seeded augmentations:
    40 % single product, 42 % several together, 18 % close-up.

    A studio (catalogue) photo with a trusted cut-out has three quarters of its views
    replaced by its cut-out in a synthetic shop scene (:mod:`app.core.studio`), half of
    those as a pile or shelf row of copies. Catalogue-only on grocery validation photos
    (two halves of 25 products, prototype head centred on the shop prior): 37.0 %
    top-1 with the plain views, 40.2 % at 50 % composites, 41.0 % (2 seeds) here.
    A studio photo whose cut-out cannot be trusted is trained as it is: zoomed-in
    crops of the photo (:func:`zoom_in`), never composites or mosaics.
    """
    if view == 0:
        return resize_square(rgb, size)
    key = int(hashlib.blake2b(f"{digest}:{view}:{seed}".encode(), digest_size=8).hexdigest(), 16)
    rng = np.random.default_rng(key)
    cut = studio_cut(rgb, digest)
    if cut.kind == "as-is":
        return zoom_in(rgb, rng, size)
    if cut.mask is not None and rng.random() < STUDIO_SHARE:
        return studio.in_shop(rgb, cut.mask, rng, size, pile=STUDIO_PILE)
    r = rng.random()
    if r < 0.4:
        return augment(rgb, rng, size)
    if r < 0.82:
        return mosaic(rgb, rng, size)
    return close_up(rgb, rng, size)


# --- cached extraction ------------------------------------------------------------


class FeatureStore:
    """On-disk cache: one .npy per (photo content, base model, seed) holding views 0..k.

    Views are deterministic, so a request for fewer views reuses a prefix and
    a request for more recomputes that photo once.
    """

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or paths.feature_cache_dir()

    def _path(self, model_key: str, digest: str, views: int, seed: int) -> Path:
        return self.root / model_key / digest[:2] / f"{digest}-s{seed}.npy"

    def get(self, model_key: str, digest: str, views: int, seed: int) -> np.ndarray | None:
        p = self._path(model_key, digest, views, seed)
        try:
            arr = np.load(p, allow_pickle=False)
        except (OSError, ValueError):
            return None
        return arr[:views] if arr.ndim == 2 and arr.shape[0] >= views else None

    def put(self, model_key: str, digest: str, views: int, seed: int, arr: np.ndarray) -> None:
        p = self._path(model_key, digest, views, seed)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            with open(tmp, "wb") as fh:
                np.save(fh, arr.astype(np.float32), allow_pickle=False)
            os.replace(tmp, p)
        except OSError as exc:  # a full disk only costs speed next time
            tmp.unlink(missing_ok=True)
            log.warning("feature cache write failed: %s", exc)


def model_key(weights: Path, alpha: float, size: int) -> str:
    st = weights.stat()
    raw = f"{weights.name}:{st.st_size}:{alpha}:{size}:{FEATURE_VERSION}"
    return hashlib.blake2b(raw.encode(), digest_size=8).hexdigest()


def extract(
    items: Sequence[tuple[Path, str, int]],
    *,
    weights: Path,
    alpha: float,
    size: int = 224,
    seed: int = 0,
    store: FeatureStore | None = None,
    progress: Reporter | None = None,
    batch_size: int = 32,
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
        hit = store.get(key, digest, views, seed)
        if hit is not None:
            out[digest] = hit
        else:
            todo.append((path, digest, views))
    if not todo:
        return out, failed
    cancel = progress.cancel if progress is not None else None
    model = base_model(weights, alpha, size)
    total_views = sum(v for _, _, v in todo)
    done_views = 0

    def decode(item: tuple[Path, str, int]) -> tuple[str, list[np.ndarray] | str]:
        path, digest, views = item
        try:
            rgb = load_rgb(path)
        except ImageError as exc:
            return digest, str(exc).split(": ", 1)[-1]
        out_views = []
        for v in range(views):
            if cancel is not None and cancel.is_set():
                return digest, "cancelled"  # dropped: the caller raises Cancelled
            out_views.append(view_of(rgb, digest, v, seed, size))
        return digest, out_views

    pending: list[tuple[str, int, np.ndarray]] = []  # (digest, views, array)
    buf: dict[str, list[np.ndarray]] = {}

    def flush() -> None:
        nonlocal done_views
        if not pending:
            return
        check_cancel(cancel)  # a batch takes a few hundred ms: do not start one needlessly
        x = np.stack([normalise(a) for _, _, a in pending])
        feats = np.asarray(model.predict_on_batch(x), dtype=np.float32)
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
                "features",
                done_views / total_views,
                f"{done_views} of {total_views} photo variations",
                done=done_views,  # the counts themselves, for the live time-left
                total=total_views,
            )

    workers = max(1, min(4, (os.cpu_count() or 2)))
    # A bounded window of decodes in flight: pool.map would decode every photo ahead
    # of the model and hold them all in memory.
    window = 4 * workers
    jobs = iter(todo)
    with ThreadPoolExecutor(workers, thread_name_prefix="decode") as pool:
        inflight = collections.deque(pool.submit(decode, j) for j in itertools.islice(jobs, window))
        while inflight:
            digest, result = inflight.popleft().result()
            nxt = next(jobs, None)
            if nxt is not None:
                inflight.append(pool.submit(decode, nxt))
            if cancel is not None and cancel.is_set():
                for f in inflight:
                    f.cancel()
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
