"""Editing an exported model's weights in place, for the tests of the validators (model
files, publish): tampered, non-finite or overflowing weights in real TF.js files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from app.core.model_format import WEIGHTS_SHA256

LAST_KERNEL = "dense_Dense4/kernel"  # the Teachable Machine reference's output layer


def entry_offset(model_dir: Path, name: str) -> tuple[int, int]:
    """(byte offset, element count) of a float32 weight in weights.bin."""
    model = json.loads((model_dir / "model.json").read_text())
    offset = 0
    for group in model["weightsManifest"]:
        for w in group["weights"]:
            n = int(np.prod(w["shape"]))
            if w["name"] == name:
                return offset, n
            offset += n * 4
    raise KeyError(name)


def write_weights(model_dir: Path, weights: bytes, *, rehash: bool) -> None:
    (model_dir / "weights.bin").write_bytes(weights)
    if rehash:  # as if metadata.json were rewritten too: only the value check is left
        meta = json.loads((model_dir / "metadata.json").read_text())
        meta[WEIGHTS_SHA256] = hashlib.sha256(weights).hexdigest()
        (model_dir / "metadata.json").write_text(json.dumps(meta))


def overflowing(model_dir: Path) -> None:
    """Finite but huge output weights: every logit overflows, the prediction is NaN."""
    weights = bytearray((model_dir / "weights.bin").read_bytes())
    offset, n = entry_offset(model_dir, LAST_KERNEL)
    weights[offset : offset + 4 * n] = np.full(n, 3e38, dtype="<f4").tobytes()
    write_weights(model_dir, bytes(weights), rehash=True)
