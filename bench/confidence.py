"""Benchmark: confidence the till can act on (issue 16), both shared domains.

K=3 counter photos per product. For each domain and seed, trained twice on all but 5
products (with and without "not a product"), scored on the test list:

* the products it knows: top-1 and top-3, and at the model's own ``acceptThreshold``
  the share of photos accepted (coverage) and how many of those are right (precision);
* the 5 products it never saw, and Vendure's 54 sample product photos (electronics,
  shoes, furniture, plants: "not a product of this shop"): the share accepted.

``--till``: the test photos again as the till prepares them (each a 1280×720 camera
frame, its centre square resized in one step without antialiasing,
``bench/till_resize.py``), scored at the same threshold: whether the threshold chosen
on the trainer's inputs still holds on the till's.

    python bench/confidence.py            # ~6 minutes
    python bench/confidence.py --till     # ~8 minutes
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from app.core.catalogue import Catalogue, ImageRef, Product  # noqa: E402
from app.core.dataset import build_dataset  # noqa: E402
from app.core.features import FeatureStore  # noqa: E402
from app.core.model import TrainOptions  # noqa: E402
from app.core.trainer import train  # noqa: E402
from bench.benchmark import WEIGHTS, read_list  # noqa: E402
from bench.counter_frames import features, freiburg_list  # noqa: E402
from bench.till_resize import till_features  # noqa: E402


def run(domain: str, train_list, test_list, other: np.ndarray, k: int, seed: int, oe: bool,
        store: FeatureStore, till: dict[Path, np.ndarray] | None = None) -> dict:  # fmt: skip
    by: dict[str, list[Path]] = {}
    for p, c in train_list:
        by.setdefault(c, []).append(p)
    classes = sorted(by)
    rng = np.random.default_rng(seed)
    left_out = set(rng.choice(classes, 5, replace=False))
    photos = {
        c: [by[c][i] for i in sorted(rng.choice(len(by[c]), k, replace=False))]
        for c in classes
        if c not in left_out
    }
    ds = build_dataset(
        Catalogue([Product(c, c, [ImageRef(p) for p in ps]) for c, ps in photos.items()])
    )
    model = train(ds, TrainOptions(base_weights=WEIGHTS, seed=seed, not_products=oe), store=store)
    labels = np.array(model.result.labels)
    threshold = model.result.accept.threshold
    xt = features([p for p, _ in test_list], store)
    yt = np.array([c for _, c in test_list])
    known = ~np.isin(yt, list(left_out))

    def probs(x: np.ndarray) -> np.ndarray:
        return np.asarray(model.head.predict(x, batch_size=512, verbose=0))

    pk = probs(xt[known])
    right = labels[pk.argmax(1)] == yt[known]
    top3 = (labels[np.argsort(-pk, axis=1)[:, :3]] == yt[known][:, None]).any(1)
    accepted = pk.max(1) >= threshold
    scores = {}
    if till is not None:
        xk = np.stack([till[p] for p, _ in test_list])
        pt = probs(xk[known])
        till_right = labels[pt.argmax(1)] == yt[known]
        till_accepted = pt.max(1) >= threshold
        scores = {
            "till_top1": float(till_right.mean()),
            "till_coverage": float(till_accepted.mean()),
            "till_precision": float(till_right[till_accepted].mean())
            if till_accepted.any()
            else float("nan"),
            "till_left_out_accepted": float((probs(xk[~known]).max(1) >= threshold).mean()),
        }
    return scores | {
        "domain": domain,
        "seed": seed,
        "not_products": oe,
        "top1": float(right.mean()),
        "top3": float(top3.mean()),
        "threshold": threshold,
        "coverage": float(accepted.mean()),
        "precision": float(right[accepted].mean()) if accepted.any() else float("nan"),
        "left_out_accepted": float((probs(xt[~known]).max(1) >= threshold).mean()),
        "other_accepted": float((probs(other).max(1) >= threshold).mean()),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--till", action="store_true", help="also score the till's inputs")
    args = ap.parse_args()
    from sample_photos import vendure_sample_photos

    store = FeatureStore(Path(tempfile.mkdtemp(prefix="confidence-")))
    other = features(sorted(vendure_sample_photos().glob("*.jpg")), store)
    domains = [
        ("fruit & vegetables", read_list("train.txt"), read_list("test.txt")),
        ("packaged goods", freiburg_list("train.txt"), freiburg_list("test.txt")),
    ]
    rows = []
    for name, tr, te in domains:
        till = None
        if args.till:
            work = Path(tempfile.mkdtemp(prefix="confidence-till-"))
            paths = [p for p, _ in te]
            till = dict(zip(paths, till_features(paths, work), strict=True))
        for seed in args.seeds:
            for oe in (False, True):
                rows.append(run(name, tr, te, other, 3, seed, oe, store, till))
                print(rows[-1], flush=True)
    print(
        "| domain | not a product | top-1 | top-3 | threshold | coverage | precision "
        "| left-out products accepted | other photos accepted |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, _, _ in domains:
        for oe in (False, True):
            sel = [r for r in rows if r["domain"] == name and r["not_products"] == oe]
            m = {k: float(np.nanmean([r[k] for r in sel])) for k in sel[0] if k not in
                 ("domain", "seed", "not_products")}  # fmt: skip
            print(
                f"| {name} | {'yes' if oe else 'no'} | {100 * m['top1']:.1f} | "
                f"{100 * m['top3']:.1f} | {m['threshold']:.2f} | {100 * m['coverage']:.1f} | "
                f"{100 * m['precision']:.1f} | {100 * m['left_out_accepted']:.1f} | "
                f"{100 * m['other_accepted']:.1f} |"
            )
    if args.till:
        print("\nThe same models on the till's inputs, at the same threshold:\n")
        print("| domain | not a product | top-1 | coverage | precision | left-out accepted |")
        print("|---|---|---:|---:|---:|---:|")
        for name, _, _ in domains:
            for oe in (False, True):
                sel = [r for r in rows if r["domain"] == name and r["not_products"] == oe]
                m = {k: float(np.nanmean([r[k] for r in sel])) for k in sel[0] if "till" in k}
                print(
                    f"| {name} | {'yes' if oe else 'no'} | {100 * m['till_top1']:.1f} | "
                    f"{100 * m['till_coverage']:.1f} | {100 * m['till_precision']:.1f} | "
                    f"{100 * m['till_left_out_accepted']:.1f} |"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
