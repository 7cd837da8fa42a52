"""Benchmark: the figures a training shows the owner against photos it never saw.

For shops built from both shared domains (``bench/domains.py``'s photos and mixed shop),
one training each per seed; what the trainer claims — the held-back figure and its
range, each product's expected share (``productStandings``), the accept threshold's
precision and coverage — beside the same model on the eval list's photos of its
products. For shops without held-back photos (one photo a product) the unmeasured
threshold is scored at candidate values too: where ``UNMEASURED_THRESHOLD`` comes from.

    python bench/claims.py                       # test lists, 3 seeds, ~5 minutes
    python bench/claims.py --list val            # fruit's val list (where to choose)
    python bench/claims.py --shops fruit-K1 packaged-K1 --seeds 0 1 2
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
from app.core.wording import wilson  # noqa: E402
from bench.benchmark import WEIGHTS, read_list  # noqa: E402
from bench.domains import load_domain, mixed_shop, sample, view0  # noqa: E402

SHOPS = ("fruit-K1", "fruit-K3", "fruit-mixed", "packaged-K1", "packaged-K3", "packaged-mixed")
CANDIDATES = (0.95, 0.97, 0.98, 0.99, 0.995)  # unmeasured thresholds scored


def shop_photos(d: dict, shop: str, seed: int) -> tuple[dict[str, list[Path]], set[str]]:
    """K counter photos a product, or the mixed shop, as ``bench/domains.py`` draws them."""
    if shop.endswith("mixed"):
        return mixed_shop(d, seed)
    k, rng = int(shop.rsplit("K", 1)[1]), np.random.default_rng(seed)
    return {c: sample(d["pool"][c], k, rng) for c in d["classes"]}, set(d["classes"])


def run(shop: str, d: dict, seed: int, store: FeatureStore, evaluate: list) -> dict:
    photos, counter = shop_photos(d, shop, seed)
    classes = list(photos)
    ds = build_dataset(
        Catalogue([Product(c, c, [ImageRef(p) for p in photos[c]]) for c in classes])
    )
    model = train(ds, TrainOptions(base_weights=WEIGHTS, seed=seed), store=store)
    r = model.result
    pairs = [(p, c) for p, c in evaluate if c in photos]
    xt, yt = view0([p for p, _ in pairs], store), np.array([c for _, c in pairs])
    probs = np.asarray(model.head.predict(xt, batch_size=512, verbose=0))
    right, top = np.array(r.labels)[probs.argmax(1)] == yt, probs.max(1)
    out: dict = {"shop": shop, "seed": seed, "top1": float(right.mean())}
    with_counter = np.isin(yt, list(counter))
    out["top1_counter"] = float(right[with_counter].mean())
    if r.val_accuracy is not None and r.held_back:
        out["claimed"] = r.val_accuracy
        out["claimed_range"] = wilson(round(r.val_accuracy * r.held_back), r.held_back)
    errors = []
    for s in r.standings:
        mine = yt == s.product
        if s.expected is not None and s.measured and mine.any():
            errors.append(s.expected - float(right[mine].mean()))
    if errors:
        out["product_error"] = float(np.mean(errors))
        out["product_abs_error"] = float(np.mean(np.abs(errors)))
    a = r.accept
    accepted = top >= a.threshold
    out |= {
        "threshold": a.threshold,
        "measured": a.measured,
        "claimed_precision": a.precision,
        "claimed_coverage": a.coverage,
        "precision": float(right[accepted].mean()) if accepted.any() else None,
        "coverage": float(accepted.mean()),
    }
    if not a.measured:
        out["candidates"] = {
            t: (
                float(right[top >= t].mean()) if (top >= t).any() else None,
                float((top >= t).mean()),
            )
            for t in CANDIDATES
        }
    print(out, flush=True)
    return out


def pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--list", choices=("test", "val"), default="test")
    ap.add_argument("--shops", nargs="+", choices=SHOPS, default=list(SHOPS))
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="claims-"))
    store = FeatureStore(work / "features")
    domains: dict[str, dict] = {}
    rows = []
    for shop in args.shops:
        name = "fruit & vegetables" if shop.startswith("fruit") else "packaged goods"
        if args.list == "val" and name != "fruit & vegetables":
            continue  # the packaged goods have no val list
        d = domains.setdefault(name, load_domain(name, work))
        evaluate = read_list("val.txt") if args.list == "val" else d["test"]
        rows += [run(shop, d, seed, store, evaluate) for seed in args.seeds]
    print(
        "\n| shop | seed | held-back figure (range) | real top-1 (products with counter "
        "photos) | product expected − real (mean, mean abs) | threshold | claimed precision "
        "/ coverage | real precision / coverage |"
    )
    print("|---|---:|---|---|---|---:|---|---|")
    for r in rows:
        claimed = (
            f"{pct(r['claimed'])} ({pct(r['claimed_range'][0])}–{pct(r['claimed_range'][1])})"
            if "claimed" in r
            else "not measured"
        )
        product = (
            f"{100 * r['product_error']:+.1f}, {100 * r['product_abs_error']:.1f}"
            if "product_error" in r
            else "—"
        )
        measured = "" if r["measured"] else " (unmeasured)"
        cells = [
            r["shop"],
            str(r["seed"]),
            claimed,
            f"{pct(r['top1'])} ({pct(r['top1_counter'])})",
            product,
            f"{r['threshold']:.2f}{measured}",
            f"{pct(r['claimed_precision'])} / {pct(r['claimed_coverage'])}",
            f"{pct(r['precision'])} / {pct(r['coverage'])}",
        ]
        print("| " + " | ".join(cells) + " |")
    unmeasured = [r for r in rows if "candidates" in r]
    if unmeasured:
        print("\nUnmeasured shops, the till's adds at candidate thresholds (precision / coverage):")
        print("| shop | seed | " + " | ".join(f"{t:g}" for t in CANDIDATES) + " |")
        print("|---|---:|" + "---|" * len(CANDIDATES))
        for r in unmeasured:
            cells = [f"{pct(p)} / {pct(c)}" for p, c in r["candidates"].values()]
            print(f"| {r['shop']} | {r['seed']} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
