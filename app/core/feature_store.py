"""The on-disk cache of photo features: one ``.npy`` per (photo content, base model,
seed) holding views 0..k, keyed so that another base model never shares an entry.
Plain NumPy (no TensorFlow): :mod:`app.core.features` computes what it lacks."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path

import numpy as np

from . import paths
from .images import file_digest
from .views import FEATURE_VERSION

log = logging.getLogger(__name__)

# How many features MobileNetV2 pools at every width offered (alpha up to 1: its last
# convolution keeps 1,280 filters); a cached entry of another width is damaged.
FEATURE_WIDTH = 1280


class FeatureStore:
    """On-disk cache: one .npy per (photo content, base model, seed) holding views 0..k.

    Views are deterministic, so a request for fewer views reuses a prefix and
    a request for more recomputes that photo once.
    """

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or paths.feature_cache_dir()

    def _path(self, model_key: str, digest: str, views: int, seed: int) -> Path:
        return self.root / model_key / digest[:2] / f"{digest}-s{seed}.npy"

    def get(
        self, model_key: str, digest: str, views: int, seed: int, width: int | None = None
    ) -> np.ndarray | None:
        """The cached views, or None to compute them again: an entry that is not what
        :meth:`put` writes (float32 rows of ``width`` features, finite, none all zero:
        pooled ReLU features never are) is damaged, and was trained on as it was (an
        empty file crashed every training; zeros trained a wrong model without a word)."""
        p = self._path(model_key, digest, views, seed)
        try:
            arr = np.load(p, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            return None
        if not isinstance(arr, np.ndarray) or arr.dtype != np.float32 or arr.ndim != 2:
            return None
        if arr.shape[0] < views or (width is not None and arr.shape[1] != width):
            return None
        arr = arr[:views]
        if not (np.isfinite(arr).all() and arr.any(axis=1).all()):
            return None
        paths.touch_used(p)  # kept by the cache's sweep (paths.sweep_unused)
        return arr

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
    """The feature cache's key of a base model: by the weights' content, as photos are
    (by name and size, another file of the same name and size shared the features of
    the first: 92 % held-back accuracy from a cache, 33 % computed afresh)."""
    raw = f"{file_digest(weights)}:{alpha}:{size}:{FEATURE_VERSION}"
    return hashlib.blake2b(raw.encode(), digest_size=8).hexdigest()
