"""What an exported model is, by name: the three files and their weight precisions.

Plain constants with no imports, so the command line's parser, the screens and the
validator (:mod:`app.core.modelfiles`, which needs NumPy) share one list each instead
of re-typing them. ``tests/core/test_facts.py`` pins each to this home.
"""

from __future__ import annotations

# The files the POS (and Teachable Machine's loader) loads, in the order they are listed.
FILES = ("model.json", "weights.bin", "metadata.json")
MODEL_JSON, WEIGHTS_BIN, METADATA_JSON = FILES

# Weight precisions an export can use: the first is the default (float32 as trained).
QUANTIZE = ("none", "float16", "uint8")
DEFAULT_QUANTIZE = QUANTIZE[0]

# metadata.json's sha256 of weights.bin, written by our export and checked on every load
WEIGHTS_SHA256 = "weightsSha256"
