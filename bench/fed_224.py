"""A till that feeds 224 pixels to a 256-pixel model: what it costs, measured.

The exported model takes a square of any side, so a POS that ignores ``imageSize`` and
feeds Teachable Machine's 224 still gets answers. This trains the app's model (K=3
counter photos per product, both domains, the seeds given) and scores its test list
with the photos prepared at ``imageSize`` (256) and at 224: top-1, and the share of
photos at or above the model's own ``acceptThreshold`` with how many of those are right.

    python bench/fed_224.py            # about 2 minutes
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.core.catalogue import Catalogue, ImageRef, Product  # noqa: E402
from app.core.dataset import build_dataset  # noqa: E402
from app.core.features import FeatureStore  # noqa: E402
from app.core.model import TrainOptions  # noqa: E402
from app.core.trainer import train  # noqa: E402
from bench.benchmark import WEIGHTS  # noqa: E402
from bench.domains import DOMAINS, load_domain, sample, view0  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fed-224-"))
    store = FeatureStore(work / "features")
    print("| domain | fed | top-1 | at or above acceptThreshold | of those right |")
    print("|---|---:|---:|---:|---:|")
    for name in DOMAINS:
        d = load_domain(name, work)
        paths = [p for p, _ in d["test"]]
        truth = np.array([c for _, c in d["test"]])
        got: dict[int, list[tuple[float, float, float]]] = {256: [], 224: []}
        for seed in args.seeds:
            rng = np.random.default_rng(seed)
            photos = {c: sample(d["pool"][c], 3, rng) for c in d["classes"]}
            cat = Catalogue([Product(c, c, [ImageRef(p) for p in ps]) for c, ps in photos.items()])
            model = train(
                build_dataset(cat), TrainOptions(base_weights=WEIGHTS, seed=seed), store=store
            )
            threshold = model.result.accept.threshold
            keep = np.isin(truth, list(photos))
            for size in got:
                x = view0(paths, store, size)[keep]
                probs = np.asarray(model.head.predict(x, batch_size=512, verbose=0))
                right = np.array(model.result.labels)[probs.argmax(1)] == truth[keep]
                sure = probs.max(1) >= threshold
                got[size].append(
                    (right.mean(), sure.mean(), right[sure].mean() if sure.any() else np.nan)
                )
        for size, rows in got.items():
            top1, cover, prec = (100 * np.nanmean([r[i] for r in rows]) for i in range(3))
            print(f"| {name} | {size} | {top1:.1f} | {cover:.1f} % | {prec:.1f} % |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
