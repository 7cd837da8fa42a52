"""What an exported model is, by name: the three files and their weight precisions.

Plain constants (and the weights' checksum rule) with nothing but the standard library,
so the command line's parser, the screens and the validator (:mod:`app.core.modelfiles`,
which needs NumPy) share one list each instead of re-typing them.
``tests/core/test_facts.py`` pins each to this home.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

# The files the POS (and Teachable Machine's loader) loads, in the order they are listed.
FILES = ("model.json", "weights.bin", "metadata.json")
MODEL_JSON, WEIGHTS_BIN, METADATA_JSON = FILES

# Weight precisions an export can use: the first is the default (float32 as trained).
QUANTIZE = ("none", "float16", "uint8")
DEFAULT_QUANTIZE = QUANTIZE[0]

# metadata.json's sha256 of weights.bin, written by our export and checked on every load
WEIGHTS_SHA256 = "weightsSha256"


def weights_sha256(weights: bytes) -> str:
    """The value of :data:`WEIGHTS_SHA256` for these weights (an export, a teach)."""
    return hashlib.sha256(weights).hexdigest()


def weights_match(meta: Mapping[str, Any], weights: bytes) -> bool:
    """Whether ``weights`` are the ones metadata.json's checksum names: a same-size change
    is invisible to the size check. True without a checksum (Teachable Machine's exports,
    ours from before the key existed)."""
    if WEIGHTS_SHA256 not in meta:
        return True
    expected = meta[WEIGHTS_SHA256]
    return isinstance(expected, str) and weights_sha256(weights) == expected.lower()
