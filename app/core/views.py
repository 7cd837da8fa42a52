"""A photo's views: what the POS sees (view 0) and the seeded variations training adds.

Each view is a pure function of the photo's content, its index and the seed, so a
photo's views are computed once and cached (:mod:`app.core.features`). Counter photos
get crops, turns, mirror, lighting, mosaics and close-ups; a catalogue (studio) photo
with a trusted cut-out is mostly put into drawn shop scenes (:mod:`app.core.studio`);
one whose cut-out is not trusted, or a pack, is zoomed into as it is.
"""

from __future__ import annotations

import collections
import hashlib
import threading
import weakref
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from . import studio
from .images import resize_square

FEATURE_VERSION = 10  # bump when preprocessing or augmentation changes (10: packs as is)
STUDIO_SHARE = 0.75  # of a studio photo's views: cut-out composited into a shop scene
STUDIO_PILE = 0.5  # of those: many copies filling the frame


# --- augmentation -----------------------------------------------------------------


def _shrink(im: Image.Image, side: int) -> Image.Image:
    """Antialiased reduction first, so the single affine resample below never aliases."""
    if max(im.size) <= side:
        return im
    im = im.copy()
    im.thumbnail((side, side), Image.Resampling.BILINEAR)
    return im


_SHRUNK: collections.OrderedDict[tuple[int, int], tuple[weakref.ref[np.ndarray], Image.Image]] = (
    collections.OrderedDict()
)
_SHRUNK_LOCK = threading.Lock()


def _shrunk(rgb: np.ndarray, side: int) -> Image.Image:
    """:func:`_shrink` of the photo, kept for its next views: a photo's seven views
    reduced it again each time, a fifth of their work. Keyed by the photo array itself
    (a weak reference: a freed array's id may be reused, and its photo is not kept
    alive); the last 16 are kept (0.3 MB each), and only read (resampling makes a new
    image)."""
    key = (id(rgb), side)
    with _SHRUNK_LOCK:
        hit = _SHRUNK.get(key)
        if hit is not None and hit[0]() is rgb:
            return hit[1]
    im = _shrink(Image.fromarray(rgb), side)
    with _SHRUNK_LOCK:
        _SHRUNK[key] = (weakref.ref(rgb), im)
        while len(_SHRUNK) > 16:
            _SHRUNK.popitem(last=False)
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
    # in place, the same float32 operations as ``grey + s * (x - grey)`` and so on
    x -= grey
    x *= rng.uniform(0.75, 1.25)  # colour strength (no hue shift)
    x += grey
    mean = float(grey.mean())
    x -= mean
    x *= rng.uniform(0.75, 1.25)  # contrast
    x += mean
    x *= rng.uniform(0.7, 1.3)  # brightness
    x += 0.5
    arr = np.clip(x, 0, 255, out=x).astype(np.uint8)
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
    src = _shrunk(rgb, int(size * 1.5))
    return _photometric(_geometric(src, rng, (size, size)), rng)


def mosaic(rgb: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """A tray or pile of the product: 2×2 or 3×3 differently cropped copies.

    Shops show fruit, vegetables and small packs several at a time; a catalogue
    photo shows one. Measured on the grocery benchmark this view type gave the
    largest gain for single-photo products.
    """
    n = int(rng.choice([2, 3]))
    edges = np.linspace(0, size, n + 1).round().astype(int)
    src = _shrunk(rgb, int(2 * size / n))
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
