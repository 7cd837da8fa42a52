"""Benchmark: catalogue-only training with unlabelled counter frames (issue 23).

Both shared domains, each with and without frames, 5 and 20 frames, and 20 frames
that show only 4 products; every row beside nearest-class-mean (NCM) on the same
features, uncentred and centred on the same frames.

* Fruit & vegetables: the 50 iconic photos are the catalogue, in two halves of 25
  products (the shipped shop prior is built from this set's training photos, so each
  half gets a prior from the *other* half's photos instead); frames are drawn from the
  half's own training photos (unlabelled); scored on the half's test photos.
* Packaged goods (Freiburg): no studio photos exist, so each category's first training
  photo is its "catalogue photo"; frames come from the other training photos; the
  shipped prior (fruit) stays, as it would in a packaged-goods shop; scored on the
  test list.

Frames draws are averaged over ``--draws`` seeds. Ours is the app's trainer
(``app.core.trainer.train`` with ``counter_frames``), as ``train --counter-frames`` runs it.

    python bench/counter_frames.py                   # the README table (~10 min)
    python bench/counter_frames.py --eval val        # fruit: choose on validation photos
    python bench/counter_frames.py --mixed           # the mixed-shop table (~4 min)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.core import trainer as trainer_module  # noqa: E402
from app.core.catalogue import Catalogue, ImageRef, Product  # noqa: E402
from app.core.dataset import build_dataset  # noqa: E402
from app.core.features import FeatureStore, extract  # noqa: E402
from app.core.head import normalise_features, prototypes  # noqa: E402
from app.core.images import file_digest  # noqa: E402
from app.core.input_size import DEFAULT_IMAGE_SIZE  # noqa: E402
from app.core.model import TrainOptions  # noqa: E402
from app.core.trainer import train  # noqa: E402
from bench.benchmark import SHARED, WEIGHTS, class_table, prior_from, read_list  # noqa: E402

FREIBURG = SHARED / "datasets" / "freiburg-groceries-packaged"
FRAME_SETS = ("none", "5 frames", "20 frames", "20 frames of 4 products")


def freiburg_list(name: str) -> list[tuple[Path, str]]:
    out = []
    for line in (FREIBURG / name).read_text().splitlines():
        if line.strip():
            rel, cat = (x.strip() for x in line.split(","))
            out.append((FREIBURG / rel, cat))
    return out


def features(paths: list[Path], store: FeatureStore) -> np.ndarray:
    items = [(p, file_digest(p), 1) for p in paths]
    feats, failed = extract(items, weights=WEIGHTS, alpha=0.35, store=store)
    assert not failed, failed
    return np.stack([feats[d][0] for _, d, _ in items])


def draw_frames(pool: list[tuple[Path, str]], kind: str, seed: int) -> list[Path]:
    rng = np.random.default_rng(seed)
    if kind == "none":
        return []
    if kind == "20 frames of 4 products":
        cats = sorted({c for _, c in pool})
        few = set(rng.choice(cats, 4, replace=False))
        pool = [(p, c) for p, c in pool if c in few]
    n = 5 if kind == "5 frames" else 20
    return [pool[i][0] for i in sorted(rng.choice(len(pool), n, replace=False))]


def domains(eval_name: str) -> list[dict]:
    """Each: name, catalogue {class: photo}, frame pool, eval photos, prior."""
    out = []
    names, iconic = class_table()
    train_list = read_list("train.txt")
    eval_list = read_list(f"{eval_name}.txt")
    classes = sorted(iconic, key=int)
    order = np.random.default_rng(0).permutation(len(classes))
    halves = [sorted((classes[i] for i in order[h::2]), key=int) for h in (0, 1)]
    for h, half in enumerate(halves):
        mine, other = set(half), set(halves[1 - h])
        out.append(
            {
                "domain": "fruit & vegetables",
                "part": f"half {h}",
                "catalogue": {c: iconic[c] for c in half},
                "names": names,
                "pool": [(p, c) for p, c in train_list if c in mine],
                "eval": [(p, c) for p, c in eval_list if c in mine],
                "prior": prior_from([p for p, c in train_list if c in other]),
            }
        )
    ftrain = freiburg_list("train.txt")
    first: dict[str, Path] = {}
    for p, c in ftrain:
        first.setdefault(c, p)
    out.append(
        {
            "domain": "packaged goods",
            "part": "all",
            "catalogue": first,
            "names": {c: c for c in first},
            "pool": [(p, c) for p, c in ftrain if p != first[c]],
            "eval": freiburg_list("test.txt"),
            "prior": trainer_module.shop_prior(0.35, DEFAULT_IMAGE_SIZE),
        }
    )
    return out


def ncm_scores(xc, classes, xt, yt, centre) -> float:
    protos = prototypes(xc, np.arange(len(classes)), len(classes))
    z = normalise_features(xt) - (0 if centre is None else centre)
    return float((np.array(classes)[(z @ protos.T).argmax(1)] == np.array(yt)).mean())


def run(args: argparse.Namespace) -> list[dict]:
    shipped = trainer_module.shop_prior
    work = Path(tempfile.mkdtemp(prefix="cf-bench-"))
    store = FeatureStore(work / "features")
    rows = []
    for d in domains(args.eval):
        classes = list(d["catalogue"])
        cat = Catalogue([Product(c, d["names"][c], [ImageRef(d["catalogue"][c])]) for c in classes])
        ds = build_dataset(cat)
        xc = features([d["catalogue"][c] for c in classes], store)
        xt = features([p for p, _ in d["eval"]], store)
        yt = [c for _, c in d["eval"]]
        trainer_module.shop_prior = lambda a, s, prior=d["prior"]: prior
        for kind in FRAME_SETS:
            for draw in range(1 if kind == "none" else args.draws):
                frames = draw_frames(d["pool"], kind, draw)
                t0 = time.perf_counter()
                model = train(
                    ds, TrainOptions(base_weights=WEIGHTS), store=store, counter_frames=frames
                )
                secs = time.perf_counter() - t0
                labels = np.array(model.result.labels)
                probs = np.asarray(model.head.predict(xt, batch_size=512, verbose=0))
                ours = float((labels[probs.argmax(1)] == np.array(yt)).mean())
                zf = normalise_features(features(frames, store)) if frames else None
                row = {
                    "domain": d["domain"],
                    "part": d["part"],
                    "frames": kind,
                    "draw": draw,
                    "ours": ours,
                    "ncm": ncm_scores(xc, classes, xt, yt, None),
                    "ncm_centred": ncm_scores(
                        xc, classes, xt, yt, None if zf is None else zf.mean(0)
                    ),
                    "centred_on": model.result.centred_on,
                    "train_s": secs,
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    trainer_module.shop_prior = shipped
    return rows


def table(rows: list[dict]) -> str:
    out = [
        "| domain | frames | NCM | NCM centred on the frames | ours |",
        "|---|---|---:|---:|---:|",
    ]
    for domain in dict.fromkeys(r["domain"] for r in rows):
        for kind in FRAME_SETS:
            sel = [r for r in rows if r["domain"] == domain and r["frames"] == kind]
            if not sel:
                continue
            m = {
                k: 100 * float(np.mean([r[k] for r in sel])) for k in ("ncm", "ncm_centred", "ours")
            }
            centred = "—" if kind == "none" else f"{m['ncm_centred']:.1f}"
            out.append(f"| {domain} | {kind} | {m['ncm']:.1f} | {centred} | **{m['ours']:.1f}** |")
    return "\n".join(out)


def mixed(args: argparse.Namespace) -> str:
    """Fruit & vegetables, a mixed shop: all 50 products have their catalogue photo, a
    random 25 also 3 counter photos; scored on the test list, per half. Ours against
    ours without the catalogue round, the plain reference and nearest-class-mean.
    (Packaged goods have no studio photos, so there no product is catalogue-only.)"""
    from bench.benchmark import PLAIN, catalog_of

    names, iconic = class_table()
    classes = sorted(iconic, key=int)
    by: dict[str, list[Path]] = {}
    for p, c in read_list("train.txt"):
        by.setdefault(c, []).append(p)
    ev = read_list(f"{args.eval}.txt")
    work = Path(tempfile.mkdtemp(prefix="mixed-bench-"))
    store = FeatureStore(work / "features")
    xt, yt = features([p for p, _ in ev], store), np.array([c for _, c in ev])
    real_round = trainer_module.catalogue_round
    res: dict[str, list[tuple[float, float]]] = {}
    for seed in range(args.mixed_seeds):
        rng = np.random.default_rng(seed)
        counter = set(np.array(classes)[rng.permutation(len(classes))[:25]])
        photos = {
            c: [iconic[c]]
            + ([by[c][i] for i in rng.choice(len(by[c]), 3, replace=False)] if c in counter else [])
            for c in classes
        }
        ds = build_dataset(catalog_of(photos, names))
        has = np.isin(yt, list(counter))
        for method, extra, with_round in (
            ("plain reference", PLAIN, True),
            ("ours without the catalogue round", {}, False),
            ("ours", {}, True),
        ):
            trainer_module.catalogue_round = real_round if with_round else (lambda *a, **k: None)
            model = train(ds, TrainOptions(base_weights=WEIGHTS, seed=seed, **extra), store=store)
            labels = np.array(model.result.labels)
            pred = labels[np.asarray(model.head.predict(xt, batch_size=512, verbose=0)).argmax(1)]
            hit = pred == yt
            res.setdefault(method, []).append((float(hit[has].mean()), float(hit[~has].mean())))
            print(method, seed, res[method][-1], model.result.validation[-200:], flush=True)
        trainer_module.catalogue_round = real_round
        items = [(p, c) for c in classes for p in photos[c]]
        xc = features([p for p, _ in items], store)
        yc = np.array([classes.index(c) for _, c in items])
        protos = prototypes(xc, yc, len(classes))
        pred = np.array(classes)[(normalise_features(xt) @ protos.T).argmax(1)]
        hit = pred == yt
        res.setdefault("nearest-class-mean", []).append(
            (float(hit[has].mean()), float(hit[~has].mean()))
        )
    out = [
        "| mixed shop (fruit & veg, 25 + 25) | counter products | catalogue-only products |",
        "|---|---:|---:|",
    ]
    for method in (
        "nearest-class-mean",
        "plain reference",
        "ours without the catalogue round",
        "ours",
    ):
        a = np.mean(res[method], axis=0) * 100
        out.append(f"| {method} | {a[0]:.1f} | {a[1]:.1f} |")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval", choices=("val", "test"), default="test", help="fruit photos scored")
    ap.add_argument("--draws", type=int, default=3, help="frame draws averaged per row")
    ap.add_argument("--json", type=Path, help="also write every run here")
    ap.add_argument("--mixed", action="store_true", help="the mixed-shop table only")
    ap.add_argument("--mixed-seeds", type=int, default=2)
    args = ap.parse_args()
    if args.mixed:
        print(mixed(args))
        return 0
    rows = run(args)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
