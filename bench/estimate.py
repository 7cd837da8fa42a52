"""How right the app's training-time figures are: before training, and live.

For shops of a few sizes (grocery photos, cold feature cache each time, TensorFlow
already loaded as in the app after start-up), one run of the pipeline the Train
button runs, timed, against

* the figure shown before training (``flows.train.estimate_seconds``, as the Train
  screen shows it: the default per-view rate, as on a computer that has not trained
  yet, and the feature model's loading counted only where this process has not loaded
  it yet, the first shop), and
* the live "about N s left" (``eta.TrainingEta`` fed the run's own progress), at its
  first reading and halfway: predicted end versus actual end.

Target (issue 11): within ±30 % of the measured time.

Besides counter-photo shops (``PxK``: P products, K photos each), shops with a shop
server's catalogue photo per product, as the app reads a Vendure shop (the photo marked
as the server's, the owner's counter photos as added): ``catalogue:P`` (that photo
alone), ``mixed:P`` (a random half also 3 counter photos: every owner's first month)
and ``both:P`` (all with 3 counter photos); fruit & vegetables, or packaged goods with
``packaged-`` in front (its packs-on-white catalogue photos, ``bench/domains.py``).

    python bench/estimate.py            # 6×5, 10×8, 20×10 products × photos
    python bench/estimate.py --sets 50x3,mixed:50,catalogue:50,both:50,packaged-mixed:25
    python bench/estimate.py --head     # the head's cost per view, pass and product
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.core.catalogue import Catalogue

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
GROCERY = REPO.parent / "shared" / "datasets" / "grocery-fruit-veg"
WEIGHTS = (
    REPO.parent
    / "shared"
    / "pretrained"
    / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"
)


def shop(root: Path, products: int, photos: int) -> Path:
    folders = sorted({p.parent for p in (GROCERY / "train").rglob("*.jpg")})[:products]
    for f in folders:
        d = root / f.name
        d.mkdir(parents=True)
        for p in sorted(f.glob("*.jpg"))[:photos]:
            (d / p.name).symlink_to(p)
    return root


def shop_with_catalogue(spec: str, work: Path) -> Catalogue:
    """``[packaged-]catalogue|mixed|both:P`` (see the module's docstring), seed 0."""
    import numpy as np
    from domains import load_domain, mixed_shop, sample

    from app.core.catalogue import ADDED, FROM_SHOP, Catalogue, ImageRef, Product

    kind, n = spec.split(":")
    domain = "packaged goods" if kind.startswith("packaged-") else "fruit & vegetables"
    d = load_domain(domain, work / "domain")
    d = dict(d, classes=d["classes"][: int(n)])
    rng = np.random.default_rng(0)
    kind = kind.removeprefix("packaged-")
    if kind == "mixed":
        counter = {c: ps[1:] for c, ps in mixed_shop(d, 0)[0].items()}
    elif kind == "both":
        counter = {c: sample(d["pool"][c], 3, rng) for c in d["classes"]}
    elif kind == "catalogue":
        counter = {c: [] for c in d["classes"]}
    else:
        raise SystemExit(f"Error: unknown shop {spec!r}")
    return Catalogue(
        [
            Product(
                c,
                c,
                [ImageRef(d["catalogue"][c], FROM_SHOP)] + [ImageRef(p, ADDED) for p in counter[c]],
            )
            for c in d["classes"]
        ]
    )


def one(spec: str) -> dict[str, float]:
    from app.core import training_cost as cost
    from app.core.catalogue import catalogue_from_folder
    from app.core.eta import TrainingEta
    from app.core.flows.check_photos import training_scope
    from app.core.flows.train import estimate_seconds
    from app.core.model import TrainOptions
    from app.core.pipeline import train_and_export
    from app.core.progress import Progress

    work = Path(tempfile.mkdtemp(prefix="bench-eta-"))
    os.environ["DUKAHUB_TRAINER_HOME"] = str(work / "home")  # cold feature cache
    try:
        if ":" in spec:
            catalog = shop_with_catalogue(spec, work)
        else:
            products, photos = (int(x) for x in spec.split("x"))
            catalog = catalogue_from_folder(shop(work / "shop", products, photos))
        options = TrainOptions(base_weights=WEIGHTS)
        shape = training_scope(catalog).shape  # as the Train screen reads it
        before = estimate_seconds(shape, options, None)  # as the app shows it
        views = cost.planned_views(shape, options)
        passes, fits = cost.head_passes(shape, options), cost.validation_fits(shape, options)

        def after(v: int, spv: float | None) -> float:  # as flows.train.training_eta
            return cost.seconds_after_features(v, spv, shape.products, passes, fits)

        eta = TrainingEta(views, after)
        live: list[tuple[float, float]] = []  # (when, predicted end)
        marks: dict[str, float] = {}  # when each phase was last reported
        t0 = time.monotonic()

        def hook(p: Progress) -> None:
            now = time.monotonic() - t0
            marks.setdefault(f"first-{p.phase}", now)
            marks[p.phase] = now
            left = eta.update(p, now)
            if left is not None:
                live.append((now, now + left))

        train_and_export(catalog, options, work / "model", on_progress=hook)
        actual = time.monotonic() - t0
    finally:
        shutil.rmtree(work, ignore_errors=True)
    first = live[0] if live else (float("nan"), float("nan"))
    half = next((x for x in live if x[0] >= actual / 2), first)
    return {
        "actual": actual,
        "before": before,
        "first_at": first[0],
        "first_end": first[1],
        "half_end": half[1],
        "measured_spv": eta.seconds_per_view or float("nan"),
        "views": views,
        "features_start": marks.get("first-features", float("nan")),
        "features_end": marks.get("features", float("nan")),
    }


def head_cost(products: tuple[int, ...] = (30, 300, 1000, 3000), views: int = 6000) -> float:
    """Seconds per view, pass and product of the head's fit (random 1280-d features, 3
    passes each): the slope ``trainer.HEAD_S_PER_VIEW_PASS_PRODUCT`` records."""
    import numpy as np

    from app.core.head import fit_parts
    from app.core.model import TrainOptions

    rng = np.random.default_rng(0)
    per_view_pass = []
    for n in products:
        x = rng.normal(size=(views, 1280)).astype(np.float32)
        t = time.perf_counter()
        fit_parts(x, np.arange(views) % n, n, TrainOptions(epochs=3))
        per_view_pass.append((time.perf_counter() - t) / (views * 3))
        print(f"{n:5d} products: {per_view_pass[-1] * 1e6:6.1f} µs per view and pass", flush=True)
    slope = float(np.polyfit(products, per_view_pass, 1)[0])
    print(f"slope: {slope * 1e6:.3f} µs per view, pass and product")
    return slope


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sets", default="6x5,10x8,20x10", help="products x photos, comma-separated")
    ap.add_argument("--head", action="store_true", help="only the head's cost per product")
    args = ap.parse_args(argv)
    from app.core.tf_runtime import tf_modules

    if args.head:
        tf_modules()
        head_cost()
        return 0

    tf_modules()  # the app loads TensorFlow in the background after start-up

    def err(x: float, actual: float) -> str:
        return f"{100 * (x - actual) / actual:+.0f} %"

    print("| shop | measured | shown before | live, first reading | live, halfway |")
    print("|---|---:|---:|---:|---:|")
    for spec in args.sets.split(","):
        r = one(spec)
        a = r["actual"]
        name = spec if ":" in spec else spec.replace("x", "×")
        print(
            f"| {name} | {a:.1f} s | {r['before']:.1f} s ({err(r['before'], a)}) "
            f"| ends at {r['first_end']:.1f} s, read at {r['first_at']:.1f} s "
            f"({err(r['first_end'], a)}) | {r['half_end']:.1f} s ({err(r['half_end'], a)}) |",
            flush=True,
        )
        print(
            f"    {r['views']} views; features {r['features_start']:.1f}–{r['features_end']:.1f} s "
            f"({1000 * r['measured_spv']:.1f} ms/view measured); after them "
            f"{a - r['features_end']:.1f} s",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
