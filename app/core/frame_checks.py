"""Is a frame a photo of a product at all, and which frames of a burst are worth keeping.

The counter's pictures (a cashier's answer, a burst from the camera or a video, a photo
from the till) are judged here before anything is taught or stored: too dark, blank or
blurred frames are refused with the reason the owner reads, and near copies of a view
already kept are left out (:func:`pick_frames`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageFilter

_GREY = np.array([0.299, 0.587, 0.114], dtype=np.float32)
ANALYSIS_SIDE = 256  # frames are judged at this size, so a 4K frame costs what a VGA one does
DARK_MEAN = 30.0  # mean grey level (0-255) below which nothing can be recognised
BLANK_STD = 6.0  # spread of grey levels below which the frame is one flat colour
# Variance of the Laplacian of the grey frame at ANALYSIS_SIDE below which it is blurred.
# Measured on 120 random test photos of each shared dataset: sharp photos 59 (1st
# percentile, fruit & veg) and 318 (packaged) up; the same photos blurred (Gaussian, 1 %
# of their side) at most 9.3 and 15.3 (99th percentile).
BLUR_VARIANCE = 25.0
# A photo *file* to learn from (a catalogue or counter photo, not a live frame) is "one
# flat colour" when each channel's middle 99.6 % of pixels lies within this many levels:
# a blank upload, a placeholder square, a transparent PNG with nothing drawn. Far
# stricter than BLANK_STD, which judges live frames: a white pack on a white backdrop
# (a few levels of contrast over a fraction of the picture) still passes.
ONE_COLOUR_SPREAD = 12
DUPLICATE_DISTANCE = 6.0  # mean grey difference (0-255) of 16x16 thumbnails: "the same view"

TOO_DARK = "too dark — switch on the light or move nearer to it"
BLANK = "blank — nothing in view (is the lens covered?)"
BLURRED = "blurred — hold it still"
DUPLICATE = "the same view as another frame — turn the product"
ENOUGH = "enough frames already"


def _grey_small(rgb: np.ndarray) -> np.ndarray:
    im = Image.fromarray(np.ascontiguousarray(rgb[..., :3], dtype=np.uint8))
    im.thumbnail((ANALYSIS_SIDE, ANALYSIS_SIDE), Image.Resampling.BILINEAR)
    return np.asarray(im, dtype=np.float32) @ _GREY


def _sharpness(grey: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian: high for in-focus edges, low for blur."""
    g = grey
    lap = g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4.0 * g[1:-1, 1:-1]
    return float(lap.var())


def frame_problem(rgb: np.ndarray) -> str | None:
    """Why a frame can't be a counter photo ('too dark', 'blank — nothing in view',
    'blurred — hold it still'), or None. Such a frame is never stored nor taught."""
    a = np.asarray(rgb)
    if a.ndim != 3 or a.shape[2] < 3 or min(a.shape[:2]) < 16:
        return "not a picture (too small or not colour)"
    grey = _grey_small(a)
    if float(grey.mean()) < DARK_MEAN:
        return TOO_DARK
    if float(grey.std()) < BLANK_STD:
        return BLANK
    if _sharpness(grey) < BLUR_VARIANCE:
        return BLURRED
    return None


def one_colour(rgb: np.ndarray) -> bool:
    """Whether a picture is one flat colour: nothing of a product to learn from."""
    a = np.asarray(rgb)[..., :3].reshape(-1, 3)
    lo, hi = np.percentile(a, [0.2, 99.8], axis=0)
    return bool((hi - lo).max() <= ONE_COLOUR_SPREAD)


@dataclass(frozen=True)
class PickedFrames:
    """The frames worth teaching from a burst, and every other one with why."""

    kept: list[np.ndarray]
    refused: list[tuple[int, str]]  # (index in the burst, reason)
    kept_index: list[int] = field(default_factory=list)  # each kept frame's index


def _thumb(rgb: np.ndarray) -> np.ndarray:
    im = Image.fromarray(np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)).convert("L")
    im = im.filter(ImageFilter.BoxBlur(1)).resize((16, 16), Image.Resampling.BILINEAR)
    t = np.asarray(im, dtype=np.float32)
    return t - t.mean()  # a change of light alone is not a new view


def pick_frames(frames: list[np.ndarray], want: int = 10) -> PickedFrames:
    """From a burst (live camera or video): drop refused, blurred and near-duplicate
    frames; keep up to ``want`` varied ones (sharpest first, then each as unlike the
    kept ones as possible), returned in burst order."""
    refused: list[tuple[int, str]] = []
    usable: list[tuple[int, float, np.ndarray]] = []  # index, sharpness, thumbnail
    for i, f in enumerate(frames):
        why = frame_problem(f)
        if why is not None:
            refused.append((i, why))
        else:
            usable.append((i, _sharpness(_grey_small(np.asarray(f))), _thumb(np.asarray(f))))
    usable.sort(key=lambda u: -u[1])
    kept: list[tuple[int, np.ndarray]] = []
    for i, _, t in usable:
        if any(float(np.abs(t - k).mean()) < DUPLICATE_DISTANCE for _, k in kept):
            refused.append((i, DUPLICATE))
        else:
            kept.append((i, t))
    if len(kept) > want:  # farthest-point: the most varied `want`, from the sharpest
        chosen = [kept[0]]
        rest = kept[1:]
        while len(chosen) < want:
            far = max(rest, key=lambda c: min(float(np.abs(c[1] - k).mean()) for _, k in chosen))
            chosen.append(far)
            rest.remove(far)
        refused += [(i, ENOUGH) for i, _ in rest]
        kept = chosen
    order = sorted(i for i, _ in kept)
    return PickedFrames([frames[i] for i in order], sorted(refused), order)
