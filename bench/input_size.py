"""A larger input for the same base weights, measured and not built: the command that repeats it.

MobileNetV2 is convolutional up to its global pooling, so the shipped 224-pixel ImageNet
weights also run on a 256- or 288-pixel photo: a product then covers more of the
network's cells. This asks what that gives the app's trainer on both domains, and
what it costs (the base model's time per photo, which the POS pays at every frame and
the trainer at every view).

Every setup of ``bench/domains.py`` with counter photos (K = 1, 3, 10, the catalogue
photo + 3 counter photos, the mixed shop's two halves) and the catalogue-only rows
(fruit: two halves of 25 with a prior from the other half's photos; packaged goods: the
fruit prior), each at every input size with everything else the same: the shop prior
and the scored photos' features are made at that size too (the shipped prior exists at
224 only, so at 224 it is rebuilt the same way, from the fruit training list). Beside
ours, nearest-class-mean on the same features. Test lists, 2 seeds.

    python bench/input_size.py                   # 224 and 288 (about 5 minutes)
    python bench/input_size.py --sizes 224 256 288   # README's table (about 7 minutes)
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

from app.core import model as model_module  # noqa: E402
from app.core import trainer as trainer_module  # noqa: E402
from app.core.catalogue import Catalogue, ImageRef, Product  # noqa: E402
from app.core.dataset import build_dataset  # noqa: E402
from app.core.fast_features import FAST_SUFFIX, lite_features  # noqa: E402
from app.core.features import FeatureStore, shipped_weights  # noqa: E402
from app.core.head import normalise_features, prototypes  # noqa: E402
from app.core.model import TrainOptions  # noqa: E402
from app.core.trainer import train  # noqa: E402
from bench.benchmark import WEIGHTS, prior_from  # noqa: E402
from bench.domains import DOMAINS, catalogue_setups, load_domain, setups, view0  # noqa: E402


def base_time(sizes: list[int], batches: int = 20) -> dict[int, float]:
    """Milliseconds per photo of the shipped TensorFlow Lite base, one thread, batches
    of 32 (its input resized to each size: the same file serves them all)."""
    run, _ = lite_features(shipped_weights(0.35, 224).with_suffix(FAST_SUFFIX), 1)
    rng = np.random.default_rng(0)
    out = {}
    for size in sizes:
        x = rng.integers(0, 256, (32, size, size, 3), dtype=np.uint8)
        run(x)  # resize and warm up
        t0 = time.perf_counter()
        for _ in range(batches):
            run(x)
        out[size] = 1000 * (time.perf_counter() - t0) / (32 * batches)
    return out


def run(sizes: list[int], seeds: list[int]) -> dict[tuple[str, str, int, str], list[float]]:
    """{(domain, setup, size, method): [top-1 of each run]}."""
    shipped = trainer_module.shop_prior
    model_module.IMAGE_SIZES = tuple(sorted(set(model_module.IMAGE_SIZES) | set(sizes)))
    work = Path(tempfile.mkdtemp(prefix="input-size-"))
    store = FeatureStore(work / "features")
    fruit = load_domain(DOMAINS[0], work)
    got: dict[tuple[str, str, int, str], list[float]] = {}
    try:
        for name in DOMAINS:
            d = fruit if name == DOMAINS[0] else load_domain(name, work)
            yt_all = np.array([c for _, c in d["test"]])
            todo = catalogue_setups(name, d, store) + setups(d, seeds, False)
            for size in sizes:
                xt_all = view0([p for p, _ in d["test"]], store, size)
                fruit_prior = prior_from(
                    [p for c in fruit["classes"] for p in fruit["pool"][c]], store, size
                )
                for setup, seed, photos, counter, prior in todo:
                    if not isinstance(prior, str):  # a fruit half: the other half's photos
                        other = set(fruit["classes"]) - set(photos)
                        prior = prior_from(
                            [p for c in sorted(other) for p in fruit["pool"][c]], store, size
                        )
                    else:
                        prior = fruit_prior
                    trainer_module.shop_prior = lambda a, s, p=prior: p
                    classes = list(photos)
                    keep = np.isin(yt_all, classes)
                    xt, yt = xt_all[keep], yt_all[keep]
                    cat = Catalogue(
                        [Product(c, c, [ImageRef(p) for p in photos[c]]) for c in classes]
                    )
                    t0 = time.perf_counter()
                    opts = TrainOptions(base_weights=WEIGHTS, seed=seed, image_size=size)
                    model = train(build_dataset(cat), opts, store=store)
                    probs = np.asarray(model.head.predict(xt, batch_size=512, verbose=0))
                    hit = {"ours": np.array(model.result.labels)[probs.argmax(1)] == yt}
                    xs = view0([p for c in classes for p in photos[c]], store, size)
                    ys = np.array([i for i, c in enumerate(classes) for _ in photos[c]])
                    protos = prototypes(xs, ys, len(classes))
                    near = (normalise_features(xt) @ protos.T).argmax(1)
                    hit["nearest-class-mean"] = np.array(classes)[near] == yt
                    with_counter = np.isin(yt, list(counter))
                    parts = (
                        [
                            ("mixed shop: counter products", with_counter),
                            ("mixed shop: catalogue-only products", ~with_counter),
                        ]
                        if setup == "mixed shop"
                        else [(setup, np.ones(len(yt), bool))]
                    )
                    for method, h in hit.items():
                        for label, mask in parts:
                            got.setdefault((name, label, size, method), []).append(
                                float(h[mask].mean())
                            )
                    print(
                        f"{name} | {setup} | {size} px | seed {seed}: ours "
                        f"{100 * hit['ours'].mean():.1f}, nearest-class-mean "
                        f"{100 * hit['nearest-class-mean'].mean():.1f} "
                        f"({time.perf_counter() - t0:.0f} s)",
                        flush=True,
                    )
    finally:
        trainer_module.shop_prior = shipped
    return got


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[224, 288])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    args = ap.parse_args()
    ms = base_time(args.sizes)
    got = run(args.sizes, args.seeds)
    heads = " | ".join(f"{s} px" for s in args.sizes)
    print(f"\n| domain | setup | method | {heads} |")
    print("|---|---|---|" + "---:|" * len(args.sizes))
    for name in DOMAINS:
        for setup in dict.fromkeys(k[1] for k in got if k[0] == name):
            for method in ("nearest-class-mean", "ours"):
                cells = [f"{100 * np.mean(got[name, setup, s, method]):.1f}" for s in args.sizes]
                print(f"| {name} | {setup} | {method} | {' | '.join(cells)} |")
    times = " | ".join(f"{ms[s]:.1f}" for s in args.sizes)
    print(f"| base model, ms per photo (Lite, 1 thread) | | | {times} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
