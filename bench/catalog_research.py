"""Research: catalogue-only training (one studio photo per product) vs nearest-class-mean.

Chooses view recipes and head settings on *validation* photos only: for
catalogue-only training every train+val photo is unseen, so all 1,972 of them
validate; the test list is never read here.

    DUKAHUB_TRAINER_HOME=/tmp/acc-home python bench/catalog_research.py recipe...
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.core import studio  # noqa: E402
from app.core.features import FeatureStore, base_model, extract  # noqa: E402
from app.core.head import fit_head, normalise_features, prototypes  # noqa: E402
from app.core.images import file_digest, load_rgb, normalise, resize_square  # noqa: E402
from app.core.model import TrainOptions  # noqa: E402
from app.core.views import augment, close_up, mosaic, view_of  # noqa: E402
from bench.benchmark import WEIGHTS, class_table, read_list  # noqa: E402

CACHE = Path("/tmp/acc-research")


def old_view(rgb, digest, v, seed, size):
    return view_of(rgb, digest, v, seed, size)


def _rng(digest: str, v: int, seed: int, tag: str) -> np.random.Generator:
    key = int(hashlib.blake2b(f"{digest}:{v}:{seed}:{tag}".encode(), digest_size=8).hexdigest(), 16)
    return np.random.default_rng(key)


_MASKS: dict = {}


def make_recipe(share: float, pile: float = 0.0):
    """share of composite views; the rest are the current views of the raw photo."""

    def fn(rgb, digest, v, seed, size):
        if v == 0:
            return resize_square(rgb, size)
        rng = _rng(digest, v, seed, "mix")
        if digest not in _MASKS:
            _MASKS[digest] = studio.cutout_mask(rgb)
        mask = _MASKS[digest]
        if mask is not None and rng.random() < share:
            return studio.in_shop(rgb, mask, rng, size, pile)
        r = rng.random()
        if r < 0.4:
            return augment(rgb, rng, size)
        if r < 0.82:
            return mosaic(rgb, rng, size)
        return close_up(rgb, rng, size)

    return fn


RECIPES = {
    "old": old_view,
    "c100": make_recipe(1.0),
    "c75": make_recipe(0.75),
    "c50": make_recipe(0.5),
    "c50p30": make_recipe(0.5, 0.3),
    "c75p50": make_recipe(0.75, 0.5),
    "c100p50": make_recipe(1.0, 0.5),
}


def recipe_features(name: str, photos: list[Path], views: int, seed: int = 0) -> np.ndarray:
    """(n_photos, views, dim) for a recipe, cached on disk."""
    CACHE.mkdir(parents=True, exist_ok=True)
    f = CACHE / f"{name}-v{views}-s{seed}-n{len(photos)}.npy"
    if f.exists():
        return np.load(f)
    model = base_model(WEIGHTS, 0.35, 224)
    fn = RECIPES[name]
    out = []
    t0 = time.perf_counter()
    gen = 0.0
    for p in photos:
        rgb = load_rgb(p)
        d = file_digest(p)
        g = time.perf_counter()
        ims = [fn(rgb, d, v, seed, 224) for v in range(views)]
        gen += time.perf_counter() - g
        x = np.stack([normalise(a) for a in ims])
        out.append(np.asarray(model.predict_on_batch(x)))
    arr = np.stack(out).astype(np.float32)
    np.save(f, arr)
    print(
        f"  {name}: {len(photos) * views} views in {time.perf_counter() - t0:.0f}s "
        f"(generation {gen / (len(photos) * views) * 1000:.1f} ms/view)",
        flush=True,
    )
    return arr


def val_features() -> tuple[np.ndarray, np.ndarray]:
    lst = read_list("train.txt") + read_list("val.txt")
    items = [(p, file_digest(p), 1) for p, _ in lst]
    feats, failed = extract(
        items, weights=WEIGHTS, alpha=0.35, size=224, store=FeatureStore(CACHE / "val")
    )
    assert not failed
    return np.stack([feats[d][0] for _, d, _ in items]), np.array([c for _, c in lst])


def ncm(x: np.ndarray, y: np.ndarray, n: int) -> np.ndarray:
    return prototypes(x, y, n)


def acc_of(w, xv, yv, b=None) -> tuple[float, float]:
    s = normalise_features(xv) @ w.T + (0 if b is None else b)
    top = np.argsort(-s, axis=1)[:, :3]
    return float((top[:, 0] == yv).mean()), float((top == yv[:, None]).any(1).mean())


def head_weights(x, y, n, **kw) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fine-tuned kernel (incl. its prototype init), bias, prototypes."""
    o = TrainOptions(base_weights=WEIGHTS, proto_blend=0.0, **kw)
    head = fit_head(x, y, n, o)
    k, b = head.get_layer("products").get_weights()
    return k.T, b, prototypes(x, y, n)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("recipes", nargs="+")
    ap.add_argument("--views", type=int, default=24)
    ap.add_argument("--epochs", type=int, nargs="+", default=[5, 15, 30])
    args = ap.parse_args()
    names, iconic = class_table()
    classes = sorted(iconic, key=int)
    cidx = {c: i for i, c in enumerate(classes)}
    photos = [iconic[c] for c in classes]
    xv, yv_raw = val_features()
    yv = np.array([cidx[c] for c in yv_raw])
    n = len(classes)
    for name in args.recipes:
        f = recipe_features(name, photos, args.views)
        x = f.reshape(-1, f.shape[-1])
        y = np.repeat(np.arange(n), f.shape[1])
        raw = ncm(f[:, 0], np.arange(n), n)
        print(f"[{name}] NCM raw photo      top1/top3 {acc_of(raw, xv, yv)}")
        pv = ncm(x, y, n)
        print(f"[{name}] NCM all views      top1/top3 {acc_of(pv, xv, yv)}")
        aug = ncm(f[:, 1:].reshape(-1, f.shape[-1]), np.repeat(np.arange(n), f.shape[1] - 1), n)
        print(f"[{name}] NCM aug views only top1/top3 {acc_of(aug, xv, yv)}")
        for ep in args.epochs:
            k, b, p = head_weights(x, y, n, epochs=ep)
            s = 0.3
            for blend in (0.0, 0.5, 1.0, 2.0, 4.0):
                w = k + blend * s * p
                t1, t3 = acc_of(w, xv, yv, b)
                print(f"[{name}] ft ep{ep:2d} +{blend:.1f}·proto  top1 {t1:.3f} top3 {t3:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())


def app_catalogue(configs: list[tuple[float, float]], seeds: list[int]) -> None:
    """Catalogue-only through the app's own trainer (views from ``view_of``), scored on
    every train+val photo; ``(studio share, pile share)`` per config."""
    from app.core import views
    from app.core.catalogue import Catalogue, ImageRef, Product
    from app.core.dataset import build_dataset
    from app.core.trainer import train

    names, iconic = class_table()
    xv, yv_raw = val_features()
    ds = build_dataset(Catalogue([Product(c, names[c], [ImageRef(p)]) for c, p in iconic.items()]))
    for share, pile in configs:
        views.STUDIO_SHARE, views.STUDIO_PILE = share, pile
        views._CUTS.clear()
        for seed in seeds:
            store = FeatureStore(CACHE / f"app-{share}-{pile}-{seed}")
            t0 = time.perf_counter()
            model = train(ds, TrainOptions(base_weights=WEIGHTS, seed=seed), store=store)
            secs = time.perf_counter() - t0
            labels = np.array(model.result.labels)
            pred = labels[np.asarray(model.head.predict(xv, batch_size=512, verbose=0)).argmax(1)]
            print(
                f"app share {share} pile {pile} seed {seed}: top1 {np.mean(pred == yv_raw):.3f} "
                f"({model.result.trained_on}, mix {model.result.head_mix}, {secs:.1f}s)",
                flush=True,
            )


def app_catalogue_halves(
    configs: list[tuple[float, float]], seeds: list[int], n_views: int = 24
) -> None:
    """As the benchmark's 2×25 catalogue setup, scored on train+val photos of each half
    (the prior comes from the other half's training photos; the test list is unread)."""
    from app.core import trainer as trainer_module
    from app.core import views
    from app.core.catalogue import Catalogue, ImageRef, Product
    from app.core.dataset import build_dataset
    from app.core.trainer import train
    from bench.benchmark import catalogue_setups

    names, iconic = class_table()
    xv, yv_raw = val_features()
    halves = [s for s in catalogue_setups(iconic, read_list("train.txt"), CACHE) if s[3] != "all"]
    for share, pile in configs:
        views.STUDIO_SHARE, views.STUDIO_PILE = share, pile
        views._CUTS.clear()
        for seed in seeds:
            accs, ncms = [], []
            for _, photos, prior, _fold in halves:
                trainer_module.shop_prior = lambda a, s, prior=prior: prior
                ds = build_dataset(
                    Catalogue([Product(c, names[c], [ImageRef(p[0])]) for c, p in photos.items()])
                )
                store = FeatureStore(CACHE / f"app-{share}-{pile}-{seed}-v{n_views}")
                opts = TrainOptions(
                    base_weights=WEIGHTS, seed=seed, views_target=n_views, max_views=n_views
                )
                model = train(ds, opts, store=store)
                keep = np.isin(yv_raw, list(photos))
                labels = np.array(model.result.labels)
                probs = np.asarray(model.head.predict(xv[keep], batch_size=512, verbose=0))
                accs.append(float(np.mean(labels[probs.argmax(1)] == yv_raw[keep])))
                raw = np.stack([features_of_raw(p[0]) for p in photos.values()])
                protos = prototypes(raw, np.arange(len(photos)), len(photos))
                sims = normalise_features(xv[keep]) @ protos.T
                ncms.append(float(np.mean(np.array(list(photos))[sims.argmax(1)] == yv_raw[keep])))
            print(
                f"halves share {share} pile {pile} views {views} seed {seed}: "
                f"ours {np.mean(accs):.3f} "
                f"{np.round(accs, 3)}  NCM {np.mean(ncms):.3f}",
                flush=True,
            )


def features_of_raw(p: Path) -> np.ndarray:
    feats, _ = extract(
        [(p, file_digest(p), 1)],
        weights=WEIGHTS,
        alpha=0.35,
        size=224,
        store=FeatureStore(CACHE / "raw"),
    )
    return next(iter(feats.values()))[0]
