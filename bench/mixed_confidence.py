"""Benchmark: the accept threshold in a mixed shop (issue 16 in every owner's first month).

Every product has its catalogue photo, a random half also 3 counter photos (the mixed
shop of ``bench/domains.py``, same seeds). One training per domain and seed; its accept
threshold computed twice on the very same head: from the leave-one-photo-out rounds
alone (before), and with the pretending products' held-back counter photos added
(``validation.calibrate``'s ``more``: now). Scored at each threshold on the test photos
of every product: coverage (share added by the till by itself), precision (of those,
right), and the same split by products with counter photos and catalogue-only ones,
beside what the trainer claims (``acceptPrecision`` / ``acceptCoverage``).

    python bench/mixed_confidence.py                 # both domains, seeds 0 1 2, ~5 min
    python bench/mixed_confidence.py --list val      # fruit's val list (where to choose)
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

from app.core import trainer as trainer_module  # noqa: E402
from app.core import validation  # noqa: E402
from app.core.catalogue import Catalogue, ImageRef, Product  # noqa: E402
from app.core.dataset import build_dataset  # noqa: E402
from app.core.features import FeatureStore  # noqa: E402
from app.core.model import TrainOptions  # noqa: E402
from bench.benchmark import WEIGHTS, read_list  # noqa: E402
from bench.domains import DOMAINS, load_domain, mixed_shop, view0  # noqa: E402

WEIGH_UNKNOWN: float | None = None  # --weigh-unknown: a variant scored beside


def run(name: str, d: dict, seed: int, store: FeatureStore, test: list) -> list[dict]:
    photos, counter = mixed_shop(d, seed)
    classes = list(photos)
    seen: dict[str, object] = {}
    real = trainer_module.calibrate

    def both(v, o, more=None):  # noqa: ANN001, ANN202 - the trainer's call, recorded
        seen["before"] = real(v, o)[1]
        if WEIGH_UNKNOWN is not None:  # a variant tried: unknown stand-ins weigh more
            kept = validation.UNKNOWN_WEIGHT
            validation.UNKNOWN_WEIGHT = WEIGH_UNKNOWN
            try:
                seen["variant"] = real(v, o, more)[1]
            finally:
                validation.UNKNOWN_WEIGHT = kept
        t, seen["now"] = real(v, o, more)
        return t, seen["now"]

    trainer_module.calibrate = both
    try:
        ds = build_dataset(
            Catalogue([Product(c, c, [ImageRef(p) for p in photos[c]]) for c in classes])
        )
        model = trainer_module.train(ds, TrainOptions(base_weights=WEIGHTS, seed=seed), store=store)
    finally:
        trainer_module.calibrate = real
    test = [(p, c) for p, c in test if c in photos]
    xt, yt = view0([p for p, _ in test], store), np.array([c for _, c in test])
    probs = np.asarray(model.head.predict(xt, batch_size=512, verbose=0))
    labels = np.array(model.result.labels)
    right, top = labels[probs.argmax(1)] == yt, probs.max(1)
    has_counter = np.isin(yt, list(counter))
    rows = []
    for when in [w for w in ("before", "now", "variant") if w in seen]:
        a = seen[when]
        accepted = top >= a.threshold
        row = {
            "domain": name,
            "seed": seed,
            "when": when,
            "top1": float(right.mean()),
            "threshold": a.threshold,
            "claimed_precision": a.precision,
            "claimed_coverage": a.coverage,
            "coverage": float(accepted.mean()),
            "precision": float(right[accepted].mean()) if accepted.any() else float("nan"),
        }
        for part, mask in (("counter", has_counter), ("catalogue", ~has_counter)):
            acc = accepted & mask
            row[f"{part}_coverage"] = float(acc.sum() / mask.sum())
            row[f"{part}_precision"] = float(right[acc].mean()) if acc.any() else float("nan")
        rows.append(row)
        print(row, flush=True)
    return rows


LABELS = {
    "before": "held-back rounds",
    "now": "+ pretending products",
    "variant": "+ pretending products, unknown weight --weigh-unknown",
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--list", choices=("test", "val"), default="test")
    ap.add_argument("--weigh-unknown", type=float, help="a variant: unknown stand-ins' weight")
    args = ap.parse_args()
    global WEIGH_UNKNOWN
    WEIGH_UNKNOWN = args.weigh_unknown
    work = Path(tempfile.mkdtemp(prefix="mixed-confidence-"))
    store = FeatureStore(work / "features")
    rows = []
    for name in DOMAINS:
        if args.list == "val" and name != "fruit & vegetables":
            continue  # the packaged goods' lists have no val list
        d = load_domain(name, work)
        test = read_list("val.txt") if args.list == "val" else d["test"]
        for seed in args.seeds:
            rows += run(name, d, seed, store, test)
    print(
        "| domain | threshold from | top-1 | threshold | claimed precision / coverage | "
        "precision / coverage | products with counter photos | catalogue-only products |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")

    def pct(x: float | None) -> str:
        return "—" if x is None or np.isnan(x) else f"{100 * x:.1f}"

    for name in dict.fromkeys(r["domain"] for r in rows):
        for when in dict.fromkeys(r["when"] for r in rows):
            sel = [r for r in rows if r["domain"] == name and r["when"] == when]

            def m(k: str, sel: list[dict] = sel) -> float:
                vals = [r[k] for r in sel if r[k] is not None and not np.isnan(r[k])]
                return float(np.mean(vals)) if vals else float("nan")

            print(
                f"| {name} | {LABELS[when]}"
                f" | {pct(m('top1'))} | {m('threshold'):.2f} | {pct(m('claimed_precision'))} / "
                f"{pct(m('claimed_coverage'))} | {pct(m('precision'))} / {pct(m('coverage'))} | "
                f"{pct(m('counter_precision'))} / {pct(m('counter_coverage'))} | "
                f"{pct(m('catalogue_precision'))} / {pct(m('catalogue_coverage'))} |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
