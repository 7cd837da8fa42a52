"""The square input the base model takes: one place for the sizes and the default.

MobileNetV2 is convolutional up to its global pooling, so the 224-pixel ImageNet
weights also run on a larger photo, where a product covers more of the network's cells.
``bench/input_size.py`` measured 256 pixels against 224 on both product domains: 0.1 to
3.8 points more top-1 in every setup but one (the packaged mixed shop's catalogue-only
products, -1.4), ours above nearest-class-mean in every row, for 1.33x the base model's
time per photo. 288 gained more in most rows but lost the mixed shop, at 1.74x.
No imports: the GUI reads these at start-up.
"""

from __future__ import annotations

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
