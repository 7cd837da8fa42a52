"""What photo variations are worth where the view budget binds (issue 22).

A large catalogue gets fewer views per photo (``TrainOptions.view_cap``): at 1,000
products x 2 photos the budget decides between 12 and 3 views a photo, and the views are
most of the training's time there. The shared domains have 50 and 25 products, too few
for the budget to bind, so this forces the cap: K=2 counter photos per product (the
scale benchmark's shape), views per photo set by ``view_budget = photos x v``, 3 seeds,
top-1 on each domain's test list, nearest-class-mean and plain beside it.

In shops this small, fewer views also mean fewer steps of the head (30 passes over fewer
rows: 25 products x 2 photos x 3 views is one batch a pass), which a 1,000-product shop
does not lack (47 batches a pass at 3 views). ``--same-steps`` gives each capped run
the passes that make up its steps (30 x 12 / v, 12 being what K=2 gets uncapped), to
tell the two apart.

    python bench/view_budget.py                     # v = 12, 6, 4, 3, 1
    python bench/view_budget.py --views 6 3 --seeds 0
    python bench/view_budget.py --views 3 --same-steps
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.core.catalogue import Catalogue, ImageRef, Product  # noqa: E402
from app.core.dataset import build_dataset  # noqa: E402
from app.core.features import FeatureStore  # noqa: E402
from app.core.head import normalise_features, prototypes  # noqa: E402
from app.core.model import TrainOptions  # noqa: E402
from app.core.trainer import train  # noqa: E402
from bench.benchmark import PLAIN, WEIGHTS  # noqa: E402
from bench.domains import DOMAINS, hits, load_domain, sample, view0  # noqa: E402

K = 2


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--views", type=int, nargs="+", default=[12, 6, 4, 3, 1])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--same-steps", action="store_true", help="passes x uncapped views / views")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="view-budget-"))
    store = FeatureStore(work / "features")
    scores: dict[tuple[str, str], list[float]] = {}
    for name in DOMAINS:
        d = load_domain(name, work)
        xt = view0([p for p, _ in d["test"]], store)
        yt = np.array([c for _, c in d["test"]])
        for seed in args.seeds:
            rng = np.random.default_rng(seed)
            classes = d["classes"]
            photos = {c: sample(d["pool"][c], K, rng) for c in classes}
            ds = build_dataset(
                Catalogue([Product(c, c, [ImageRef(p) for p in photos[c]]) for c in classes])
            )
            n_photos = sum(len(v) for v in photos.values())
            xs = view0([p for c in classes for p in photos[c]], store)
            ys = np.array([i for i, c in enumerate(classes) for _ in photos[c]])
            ncm = hits(classes, normalise_features(xt) @ prototypes(xs, ys, len(classes)).T, yt)
            scores.setdefault((name, "nearest-class-mean"), []).append(float(ncm.mean()))
            default = TrainOptions()  # uncapped, a photo of K gets views_for(K) views
            runs = [("plain", PLAIN)] + [
                (
                    f"ours, {v} views a photo" + (", same steps" if args.same_steps else ""),
                    {"view_budget": n_photos * v}
                    | (
                        {"epochs": round(default.epochs * default.views_for(K) / v)}
                        if args.same_steps
                        else {}
                    ),
                )
                for v in args.views
            ]
            for method, extra in runs:
                t0 = time.perf_counter()
                o = TrainOptions(base_weights=WEIGHTS, seed=seed, **extra)
                model = train(ds, o, store=store)
                probs = np.asarray(model.head.predict(xt, batch_size=512, verbose=0))
                top1 = float(hits(list(model.result.labels), probs, yt).mean())
                scores.setdefault((name, method), []).append(top1)
                secs = time.perf_counter() - t0
                line = f"{name} | seed {seed} | {method} {100 * top1:.1f} ({secs:.0f} s)"
                print(line, flush=True)
    print(f"\n| method (K={K} photos a product) | " + " | ".join(DOMAINS) + " |")
    print("|---|" + "---:|" * len(DOMAINS))
    for method in dict.fromkeys(m for _, m in scores):
        cells = [f"{100 * np.mean(scores[d, method]):.1f}" for d in DOMAINS]
        print(f"| {method} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
