"""Where this shop's photos sit in feature space: the centre of the prototype head.

The prototype head scores ``(z - centre)·prototype``, so what every shop photo shares
stops favouring some products. The centre comes from the shop's own counter photos,
its unlabelled counter frames (``app.core.counter_frames``), or the shipped shop prior
(``bench/make_shop_prior.py``), in that order.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import resources
from .features import FeatureStore, extract_for
from .head import Rows, normalise_features
from .model import TrainOptions
from .progress import Reporter

log = logging.getLogger(__name__)


def centre_of(
    data: Rows,
    mask: np.ndarray,
    studio_rows: np.ndarray,
    look: ShopLook,
    use_frames: bool = True,
) -> tuple[np.ndarray | None, str]:
    """Where shop photos sit in feature space, and that in words: the prototype head's
    logits are ``(z - centre)·w``, so what every shop photo shares stops favouring
    products.

    The shop's own counter photos (as the POS sees them), with its counter frames when
    ``use_frames``; with frames alone, the frames (:class:`ShopLook`); else the
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
class ShopLook:
    """This shop's counter frames (normalised features) and the centre they give."""

    z: np.ndarray  # (n_frames, dim)
    prior: np.ndarray | None
    centre: np.ndarray | None
    distinct: int = 0

    @classmethod
    def of(cls, z: np.ndarray, prior: np.ndarray | None) -> ShopLook:
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
class Frames:
    z: np.ndarray  # normalised features of the usable frames, as the POS sees them
    newest: str  # ISO time of the newest usable frame ("" when none)
    skipped: list[tuple[str, str]]  # (file, why)


def frame_features(
    paths: Sequence[Path],
    weights: Path,
    o: TrainOptions,
    store: FeatureStore | None,
    rep: Reporter,
    dim: int,
) -> Frames:
    """Features of the counter frames (one view each: the frame as the POS sees it);
    files that are not usable photos are reported, never fatal."""
    from . import counter_frames
    from .images import file_digest
    from .photo_check import photo_problem

    skipped: list[tuple[str, str]] = []
    items, seen, used = [], set(), []
    for p in map(Path, paths):
        reason = photo_problem(p, to_learn_from=True)
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
        feats, failed = extract_for(items, weights, o, store, rep)
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
    return Frames(z, newest, skipped)


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
