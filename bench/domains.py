"""Accuracy on both product domains, every setup: nearest-class-mean, plain, ours.

README's accuracy table (issue 15: whatever ships is chosen on one domain and reported
on the other). Every model is scored on its domain's test list, on the products it was
trained on:

* **fruit & vegetables** (Grocery Store Dataset, 50 products; its catalogue photos are
  real studio shots, the "iconic" images);
* **packaged goods** (Freiburg Groceries, 25 categories, other shops, another phone). It
  has no studio photos, so its "catalogue photo" is made: the central crop of a real shop
  photo (each category's first training photo) on a white backdrop, a rectangular pack
  on white as a shop's website shows it. A proxy, not a photographer's shot.

Setups: K = 1, 3, 10 counter photos per product; every product's catalogue photo plus 3
counter photos; the catalogue photo only; a mixed shop (every product has its catalogue
photo, half of them also 3 counter photos), scored separately on the two halves.
Fruit catalogue-only runs use the two halves of 25 products with a shop prior built
from the *other* half's training photos (the shipped prior is built from this dataset);
packaged goods keep the shipped (fruit) prior: a prior from one domain scored on the
other.

*Nearest-class-mean*: each product's mean normalised photo feature (as the POS sees the
photo), cosine similarity, no augmentation. *Plain*: frozen MobileNetV2 0.35 + one
softmax layer on the same photos, no augmentation. *Ours*: the app's trainer.

    python bench/domains.py                  # the README table (~10 min)
    python bench/domains.py --seeds 0 --quick  # one seed, K=3 and the catalogue rows
    python bench/domains.py --srgb           # photos with a colour profile in sRGB (not shipped)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.core import trainer as trainer_module  # noqa: E402
from app.core.catalogue import Catalogue, ImageRef, Product  # noqa: E402
from app.core.dataset import build_dataset  # noqa: E402
from app.core.features import FeatureStore, extract  # noqa: E402
from app.core.head import normalise_features, prototypes  # noqa: E402
from app.core.images import file_digest, load_rgb  # noqa: E402
from app.core.input_size import DEFAULT_IMAGE_SIZE  # noqa: E402
from app.core.model import TrainOptions  # noqa: E402
from app.core.trainer import train  # noqa: E402
from bench.benchmark import PLAIN, WEIGHTS, class_table, prior_from, read_list  # noqa: E402
from bench.counter_frames import freiburg_list  # noqa: E402

DOMAINS = ("fruit & vegetables", "packaged goods")
METHODS = ("nearest-class-mean", "plain", "ours")
MIXED_COUNTER, MIXED_CATALOGUE = (
    "mixed shop: products with counter photos",
    ("mixed shop: catalogue-only products"),
)


def pack_on_white(photo: Path, out: Path, share: float = 0.62) -> Path:
    """A packaged-goods "catalogue photo": the central crop of a real shop photo on a
    white backdrop (see the module's docstring)."""
    rgb = load_rgb(photo)
    h, w = rgb.shape[:2]
    ch, cw = int(h * share), int(w * share)
    crop = rgb[(h - ch) // 2 : (h + ch) // 2, (w - cw) // 2 : (w + cw) // 2]
    canvas = np.full((int(h * 1.3), int(w * 1.3), 3), 255, np.uint8)
    y0, x0 = (canvas.shape[0] - ch) // 2, (canvas.shape[1] - cw) // 2
    canvas[y0 : y0 + ch, x0 : x0 + cw] = crop
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(canvas).save(out, quality=95)
    return out


def load_domain(name: str, work: Path) -> dict:
    """classes, catalogue photo per class, counter-photo pool per class, test list."""
    if name == "fruit & vegetables":
        _, iconic = class_table()
        classes = sorted(iconic, key=int)
        pool: dict[str, list[Path]] = {}
        for p, c in read_list("train.txt"):
            pool.setdefault(c, []).append(p)
        return {
            "classes": classes,
            "catalogue": iconic,
            "pool": pool,
            "test": read_list("test.txt"),
        }
    first: dict[str, Path] = {}
    pool = {}
    for p, c in freiburg_list("train.txt"):
        if c not in first:
            first[c] = p  # made into its catalogue photo; never a counter photo
        else:
            pool.setdefault(c, []).append(p)
    classes = sorted(first)
    catalogue = {c: pack_on_white(first[c], work / "packs" / f"{c}.jpg") for c in classes}
    return {
        "classes": classes,
        "catalogue": catalogue,
        "pool": pool,
        "test": freiburg_list("test.txt"),
    }


def sample(pool: list[Path], k: int, rng: np.random.Generator) -> list[Path]:
    return [pool[i] for i in sorted(rng.choice(len(pool), min(k, len(pool)), replace=False))]


def mixed_shop(d: dict, seed: int) -> tuple[dict[str, list[Path]], set[str]]:
    """Every product its catalogue photo, a random half also 3 counter photos: (photos,
    the products with counter photos). The one draw every mixed-shop benchmark uses."""
    classes, cat, pool = d["classes"], d["catalogue"], d["pool"]
    rng = np.random.default_rng(seed + 100)
    counter = set(np.array(classes)[rng.permutation(len(classes))[: len(classes) // 2]])
    photos = {c: [cat[c]] + (sample(pool[c], 3, rng) if c in counter else []) for c in classes}
    return photos, counter


def setups(d: dict, seeds: list[int], quick: bool) -> list[tuple[str, int, dict, set, object]]:
    """(setup, seed, {class: photos}, classes with counter photos, prior or "shipped")."""
    classes, cat, pool = d["classes"], d["catalogue"], d["pool"]
    out: list[tuple[str, int, dict, set, object]] = []
    ks = (3,) if quick else (1, 3, 10)
    for seed in seeds:
        rng = np.random.default_rng(seed)
        for k in ks:
            out.append(
                (
                    f"K={k} counter photos",
                    seed,
                    {c: sample(pool[c], k, rng) for c in classes},
                    set(classes),
                    "shipped",
                )
            )
        rng = np.random.default_rng(seed)
        out.append(
            (
                "catalogue photo + 3 counter photos",
                seed,
                {c: [cat[c]] + sample(pool[c], 3, rng) for c in classes},
                set(classes),
                "shipped",
            )
        )
        photos, counter = mixed_shop(d, seed)
        out.append(("mixed shop", seed, photos, counter, "shipped"))
    return out


def catalogue_setups(
    name: str, d: dict, store: FeatureStore
) -> list[tuple[str, int, dict, set, object]]:
    classes, cat = d["classes"], d["catalogue"]
    if name == "packaged goods":
        return [("catalogue photo only", 0, {c: [cat[c]] for c in classes}, set(), "shipped")]
    order = np.random.default_rng(0).permutation(len(classes))
    halves = [sorted((classes[i] for i in order[h::2]), key=int) for h in (0, 1)]
    out = []
    for h, half in enumerate(halves):
        other = set(halves[1 - h])
        prior = prior_from([p for c in other for p in d["pool"][c]], store)
        out.append(("catalogue photo only", h, {c: [cat[c]] for c in half}, set(), prior))
    return out


def view0(paths: list[Path], store: FeatureStore, size: int = DEFAULT_IMAGE_SIZE) -> np.ndarray:
    """Each photo's features as the POS sees it (view 0), at input ``size``."""
    items = [(p, file_digest(p), 1) for p in paths]
    feats, failed = extract(items, weights=WEIGHTS, alpha=0.35, size=size, store=store)
    assert not failed, failed
    return np.stack([feats[d][0] for _, d, _ in items])


def hits(labels: list[str], logits: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return np.array(labels)[logits.argmax(1)] == truth


def run(args: argparse.Namespace) -> list[dict]:
    shipped = trainer_module.shop_prior
    work = Path(tempfile.mkdtemp(prefix="domains-bench-"))
    store = FeatureStore(work / "features")
    rows = []
    for name in DOMAINS:
        d = load_domain(name, work)
        xt_all = view0([p for p, _ in d["test"]], store)
        yt_all = np.array([c for _, c in d["test"]])
        todo = catalogue_setups(name, d, store) + setups(d, args.seeds, args.quick)
        for setup, seed, photos, counter, prior in todo:
            classes = list(photos)
            keep = np.isin(yt_all, classes)
            xt, yt = xt_all[keep], yt_all[keep]
            with_counter = np.isin(yt, list(counter))
            trainer_module.shop_prior = (
                shipped if isinstance(prior, str) else (lambda a, s, p=prior: p)
            )
            cat = Catalogue([Product(c, c, [ImageRef(p) for p in photos[c]]) for c in classes])
            ds = build_dataset(cat)
            scored: dict[str, np.ndarray] = {}
            xs = view0([p for c in classes for p in photos[c]], store)
            ys = np.array([i for i, c in enumerate(classes) for _ in photos[c]])
            protos = prototypes(xs, ys, len(classes))
            scored["nearest-class-mean"] = hits(classes, normalise_features(xt) @ protos.T, yt)
            for method, extra in (("plain", PLAIN), ("ours", {})):
                t0 = time.perf_counter()
                model = train(
                    ds, TrainOptions(base_weights=WEIGHTS, seed=seed, **extra), store=store
                )
                secs = time.perf_counter() - t0
                probs = np.asarray(model.head.predict(xt, batch_size=512, verbose=0))
                scored[method] = hits(list(model.result.labels), probs, yt)
                top1 = scored[method].mean()
                print(f"{name} | {setup} | {seed} | {method} {top1:.3f} ({secs:.0f} s)", flush=True)
            for method, hit in scored.items():
                if setup == "mixed shop":
                    parts = ((MIXED_COUNTER, with_counter), (MIXED_CATALOGUE, ~with_counter))
                else:
                    parts = ((setup, np.ones(len(hit), bool)),)
                for label, mask in parts:
                    rows.append(
                        {
                            "domain": name,
                            "setup": label,
                            "seed": seed,
                            "method": method,
                            "top1": float(hit[mask].mean()),
                            "photos": int(mask.sum()),
                        }
                    )
    trainer_module.shop_prior = shipped
    return rows


def table(rows: list[dict]) -> str:
    """Mean top-1 per setup, method and domain; the best method of each cell in bold."""
    mean: dict[tuple[str, str, str], float] = {}
    for key in {(r["setup"], r["method"], r["domain"]) for r in rows}:
        mean[key] = float(
            np.mean([r["top1"] for r in rows if (r["setup"], r["method"], r["domain"]) == key])
        )
    head = "| setup | method | " + " | ".join(DOMAINS) + " |"
    out = [head, "|---|---|" + "---:|" * len(DOMAINS)]
    for setup in dict.fromkeys(r["setup"] for r in rows):
        for method in METHODS:
            cells = []
            for dom in DOMAINS:
                if (setup, method, dom) not in mean:
                    cells.append("—")
                    continue
                v = mean[setup, method, dom]
                best = max(mean.get((setup, m, dom), 0.0) for m in METHODS)
                cells.append(f"**{100 * v:.1f}**" if v >= best - 1e-9 else f"{100 * v:.1f}")
            out.append(f"| {setup} | {method} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--quick", action="store_true", help="K=3 only among the K rows")
    ap.add_argument("--json", type=Path, help="also write every run here")
    ap.add_argument(
        "--srgb", action="store_true", help="photos with a colour profile in sRGB (not shipped)"
    )
    args = ap.parse_args()
    if args.srgb:
        from bench.srgb import enable

        enable()
    rows = run(args)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
