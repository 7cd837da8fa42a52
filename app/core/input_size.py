"""The square input the base model takes: one place for the sizes and the default.

MobileNetV2 is convolutional up to its global pooling, so the 224-pixel ImageNet
weights also run on a larger photo, where a product covers more of the network's cells.
``bench/input_size.py`` measured 256 pixels against 224 on both product domains: 0.1 to
3.8 points more top-1 in every setup but one (the packaged mixed shop's catalogue-only
products, -1.4), ours above nearest-class-mean in every row, for 1.33x the base model's
time per photo. 288 gained more in most rows but lost the mixed shop, at 1.74x.
Nothing heavy imported: the GUI reads these at start-up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# Input sizes Keras publishes ImageNet weights for (the weights file names one of them)
WEIGHT_SIZES = (96, 128, 160, 192, 224)
# Input sizes a training may choose: the published ones, and 256 on the 224 weights
IMAGE_SIZES = (*WEIGHT_SIZES, 256)
DEFAULT_IMAGE_SIZE = 256
# What a model file without an imageSize takes (Teachable Machine's size)
TM_IMAGE_SIZE = 224


def weights_size(size: int) -> int:
    """The input size whose ImageNet weights a model of input ``size`` runs on."""
    return size if size in WEIGHT_SIZES else max(s for s in WEIGHT_SIZES if s <= size)


_BASE_MODEL = re.compile(r"mobilenet_v2_([0-9.]+)_([0-9]+)")


def base_of(meta: Mapping[str, Any]) -> tuple[float, int] | None:
    """The width and input side our trainer names in metadata.json's ``baseModel``
    (``mobilenet_v2_0.35_256``); None for a model that names none (Teachable Machine's)."""
    found = _BASE_MODEL.fullmatch(str(meta.get("baseModel", "")))
    return (float(found.group(1)), int(found.group(2))) if found else None


def older_input(meta: Mapping[str, Any]) -> int | None:
    """The input side of a model this trainer made at another size than it makes now
    (224 before 0.2.0), which a training now would better; None otherwise."""
    named = base_of(meta)
    return named[1] if named is not None and named[1] != DEFAULT_IMAGE_SIZE else None
