"""Build the shop prior the trainer ships: the mean (normalised) MobileNetV2 feature of
real shop photos, from the Grocery Store Dataset's *training* list only.

The trainer centres its prototype head on it when a shop has catalogue photos only
(see ``app.core.shop_look.centre_of``): what every shop photo shares then stops favouring
one product. The test list is never read.

    python bench/make_shop_prior.py              # the default input size's prior
    python bench/make_shop_prior.py --size 224   # another size's
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.core.input_size import DEFAULT_IMAGE_SIZE, IMAGE_SIZES  # noqa: E402
from app.core.shop_look import SHOP_PRIOR  # noqa: E402
from bench.benchmark import prior_from, read_list  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, choices=IMAGE_SIZES, default=DEFAULT_IMAGE_SIZE)
    size = ap.parse_args().size
    photos = [p for p, _ in read_list("train.txt")]
    vec = prior_from(photos, size=size)
    out = REPO / "resources" / "weights" / SHOP_PRIOR.format(alpha=0.35, size=size)
    np.save(out, vec, allow_pickle=False)
    print(f"{out}: mean of {len(photos)} shop photos, {vec.shape[0]} features")
    return 0


if __name__ == "__main__":
    sys.exit(main())
