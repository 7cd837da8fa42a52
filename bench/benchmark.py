"""Few-shot benchmark on real shop photos (Grocery Store Dataset, fruit & veg, 50 products).

Compares our trainer with the plain reference measured in the same run: frozen
MobileNetV2 0.35 + a linear softmax on the same photos, no augmentation. Each
setup trains on K photos per product (or the one catalogue photo) and is scored
on the full test list (``--eval val``: on the validation list, where settings are
chosen), next to nearest-class-mean on the same features. Test photos are scored
through the same base model and head as the exported files (export equality is
covered by the test suite).

    python bench/benchmark.py                 # accuracy table + CLI timings
    python bench/benchmark.py --memory        # also peak memory on 5,000 photos
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.core.catalogue import Catalogue, ImageRef, Product  # noqa: E402
from app.core.dataset import build_dataset  # noqa: E402
from app.core.export import export_model  # noqa: E402
from app.core.features import FeatureStore, extract  # noqa: E402
from app.core.head import normalise_features, prototypes  # noqa: E402
from app.core.images import file_digest  # noqa: E402
from app.core.input_size import DEFAULT_IMAGE_SIZE  # noqa: E402
from app.core.model import TrainOptions  # noqa: E402
from app.core.trainer import train  # noqa: E402

SHARED = REPO.parent / "shared"
DATASET = SHARED / "datasets" / "grocery-fruit-veg"
WEIGHTS = (
    SHARED / "pretrained" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"
)


def read_list(name: str) -> list[tuple[Path, str]]:
    out = []
    for line in (DATASET / name).read_text().splitlines():
        if line.strip():
            rel, fine, _ = (x.strip() for x in line.split(","))
            out.append((DATASET / rel, fine))
    return out


def class_table() -> tuple[dict[str, str], dict[str, Path]]:
    names, iconic = {}, {}
    with open(DATASET / "classes.csv", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    for r in rows:
        names[r[1]] = r[0]
        iconic[r[1]] = DATASET / r[4].lstrip("/")
    return names, iconic


def sample_k(train_list: list[tuple[Path, str]], k: int, seed: int) -> dict[str, list[Path]]:
    rng = np.random.default_rng(seed)
    by: dict[str, list[Path]] = {}
    for p, c in train_list:
        by.setdefault(c, []).append(p)
    return {
        c: [ps[i] for i in sorted(rng.choice(len(ps), min(k, len(ps)), replace=False))]
        for c, ps in sorted(by.items(), key=lambda t: int(t[0]))
    }


def catalog_of(photos: dict[str, list[Path]], names: dict[str, str]) -> Catalogue:
    return Catalogue([Product(c, names[c], [ImageRef(p) for p in ps]) for c, ps in photos.items()])


def test_features(test_list, store: FeatureStore) -> tuple[np.ndarray, list[str]]:
    items = [(p, file_digest(p), 1) for p, _ in test_list]
    feats, failed = extract(items, weights=WEIGHTS, alpha=0.35, store=store)
    assert not failed, failed
    return np.stack([feats[d][0] for _, d, _ in items]), [c for _, c in test_list]


def score(model, xte: np.ndarray, yte: list[str]) -> tuple[float, float]:
    probs = np.asarray(model.head.predict(xte, batch_size=512, verbose=0))
    labels = np.array(model.result.labels)
    top = labels[np.argsort(-probs, axis=1)[:, :3]]
    truth = np.array(yte)[:, None]
    return float((top[:, :1] == truth).any(1).mean()), float((top == truth).any(1).mean())


PLAIN = {"head": "linear", "augment": False, "validate": False}


def ncm_run(photos: dict[str, list[Path]], store: FeatureStore, xte, yte) -> dict:
    """Nearest-class-mean on the same frozen features: each product's mean (normalised)
    photo feature, cosine similarity; no augmentation, no fitting."""
    t0 = time.perf_counter()
    classes = list(photos)
    items = [(p, file_digest(p), 1) for c in classes for p in photos[c]]
    feats, failed = extract(items, weights=WEIGHTS, alpha=0.35, store=store)
    assert not failed, failed
    x = np.stack([feats[d][0] for _, d, _ in items])
    y = np.array([i for i, c in enumerate(classes) for _ in photos[c]])
    protos = prototypes(x, y, len(classes))
    secs = time.perf_counter() - t0
    sims = normalise_features(xte) @ protos.T
    top = np.array(classes)[np.argsort(-sims, axis=1)[:, :3]]
    truth = np.array(yte)[:, None]
    top1, top3 = float((top[:, :1] == truth).any(1).mean()), float((top == truth).any(1).mean())
    return {"top1": top1, "top3": top3, "train_s": secs}


METHODS = ("nearest-class-mean", "plain reference", "dukahub")


CATALOGUE_50 = "catalogue only, 50 products, no shop prior"


def prior_from(
    photos: list[Path], store: FeatureStore | None = None, size: int = DEFAULT_IMAGE_SIZE
) -> np.ndarray:
    """Mean normalised feature of ``photos`` as the POS sees them (view 0)."""
    items = [(p, file_digest(p), 1) for p in photos]
    feats, failed = extract(items, weights=WEIGHTS, alpha=0.35, size=size, store=store)
    assert not failed, failed
    x = np.stack([feats[d][0] for _, d, _ in items])
    return normalise_features(x).mean(axis=0).astype(np.float32)


CATALOGUE_25 = "catalogue only, 2×25 products, prior from the other 25"


def catalogue_setups(
    iconic: dict[str, Path], train_list: list[tuple[Path, str]], work: Path
) -> list[tuple[str, dict[str, list[Path]], np.ndarray | None, str]]:
    """Catalogue-only runs that never see the scored products' shop photos.

    The shipped shop prior is built from these very products' training photos, so
    here it is replaced: off for all 50 products, or built from the *other* half's
    training photos for each half (the way it meets an unseen shop's products).
    Each entry: (setup, photos, prior, fold tag).
    """
    classes = sorted(iconic, key=int)
    order = np.random.default_rng(0).permutation(len(classes))
    halves = [sorted((classes[i] for i in order[h::2]), key=int) for h in (0, 1)]
    out = [(CATALOGUE_50, {c: [iconic[c]] for c in classes}, None, "all")]
    for h, half in enumerate(halves):
        other = set(halves[1 - h])
        prior = prior_from([p for p, c in train_list if c in other], FeatureStore(work / "prior"))
        out.append((CATALOGUE_25, {c: [iconic[c]] for c in half}, prior, f"half {h}"))
    return out


def accuracy_table(args, work: Path) -> list[dict]:
    """Mean over K-photo samples (seeds); catalogue and all-photos use the first seed.

    ``--eval val`` scores on the validation list instead of the test list: settings
    are chosen there, the test list only reports.
    """
    from app.core import trainer as trainer_module

    shipped_prior = trainer_module.shop_prior
    names, iconic = class_table()
    train_list, eval_list = read_list("train.txt"), read_list(f"{args.eval}.txt")
    xall, yall = test_features(eval_list, FeatureStore(work / f"{args.eval}-cache"))
    runs = []
    for seed in args.seeds:
        setups = [(f"K={k}", sample_k(train_list, k, seed), "shipped", "") for k in args.k]
        if seed == args.seeds[0]:
            if not args.no_catalogue:
                setups += catalogue_setups(iconic, train_list, work)
            if args.all:
                setups.append(("all photos", sample_k(train_list, 10**6, seed), "shipped", ""))
        for name, photos, prior, fold in setups:
            keep = np.isin(np.array(yall), list(photos))
            xte, yte = xall[keep], [y for y, k in zip(yall, keep, strict=True) if k]
            if isinstance(prior, str):
                trainer_module.shop_prior = shipped_prior
            else:
                trainer_module.shop_prior = lambda alpha, size, prior=prior: prior
            ds = build_dataset(catalog_of(photos, names))
            size = 0
            for method, extra in (("plain reference", PLAIN), ("dukahub", {})):
                tag = f"{name}-{fold}-{method}-{seed}".replace(" ", "_").replace("×", "x")
                store = FeatureStore(work / f"cache-{tag}")
                opts = TrainOptions(base_weights=WEIGHTS, seed=seed, **extra)
                t0 = time.perf_counter()
                model = train(ds, opts, store=store)
                secs = time.perf_counter() - t0
                top1, top3 = score(model, xte, yte)
                out = export_model(model, work / f"export-{len(runs)}")
                size = sum(f.stat().st_size for f in out.iterdir())
                runs.append(
                    {
                        "setup": name,
                        "method": method,
                        "seed": seed,
                        "photos": len(ds.samples),
                        "top1": top1,
                        "top3": top3,
                        "train_s": secs,
                        "model_bytes": size,
                        "trained_on": model.result.trained_on,
                        "head_mix": model.result.head_mix,
                        "mix_scores": {str(k): v for k, v in model.result.mix_scores.items()},
                    }
                )
                print(
                    f"seed {seed} {name} {fold} {method:18s} top1 {top1:.3f} top3 {top3:.3f} "
                    f"{secs:6.1f}s  {model.result.trained_on} mix {model.result.head_mix:g} "
                    f"{model.result.mix_scores}",
                    flush=True,
                )
            tag = f"{name}-{fold}-ncm-{seed}".replace(" ", "_").replace("×", "x")
            store = FeatureStore(work / f"cache-{tag}")
            ncm = ncm_run(photos, store, xte, yte)
            runs.append(
                {
                    "setup": name,
                    "method": "nearest-class-mean",
                    "seed": seed,
                    "photos": len(ds.samples),
                    "model_bytes": size,  # the same LayerNorm + Dense head
                    **ncm,
                }
            )
            print(
                f"seed {seed} {name} {fold} {'nearest-class-mean':18s} top1 {ncm['top1']:.3f} "
                f"top3 {ncm['top3']:.3f} {ncm['train_s']:6.1f}s",
                flush=True,
            )
    trainer_module.shop_prior = shipped_prior
    rows = []
    for name in dict.fromkeys(r["setup"] for r in runs):
        for method in METHODS:
            sel = [r for r in runs if r["setup"] == name and r["method"] == method]
            means = {
                k: float(np.mean([r[k] for r in sel]))
                for k in ("top1", "top3", "train_s", "model_bytes")
            }
            rows.append(
                {
                    "setup": name,
                    "method": method,
                    "seeds": len(sel),
                    "photos": sel[0]["photos"],
                    **means,
                    "top1_each": [r["top1"] for r in sel],
                }
            )
    return rows


def cli_timing(args, work: Path, setup: str = "K=3") -> dict:
    """End to end by the CLI, process start to files written, cold feature cache:
    K=3 shop photos per product, ``setup="catalogue only"`` (the 50 iconic photos) or
    ``"mixed shop"`` (every iconic photo, every other product also 3 shop photos)."""
    names, iconic = class_table()
    if setup == "catalogue only":
        photos = {c: [p] for c, p in iconic.items()}
    elif setup == "mixed shop":  # every catalogue photo, half the products 3 counter photos
        counter = sample_k(read_list("train.txt"), 3, args.seeds[0])
        half = sorted(iconic, key=int)[::2]
        photos = {c: [p] + (counter[c] if c in half else []) for c, p in iconic.items()}
    else:
        photos = sample_k(read_list("train.txt"), 3, args.seeds[0])
    folder = work / f"folder-{setup}".replace(" ", "_").replace("=", "")
    for c, ps in photos.items():
        d = folder / c
        d.mkdir(parents=True, exist_ok=True)
        for p in ps:
            (d / p.name).symlink_to(p)
    times: dict[str, list[float]] = {"plain": [], "dukahub": []}
    cpu: dict[str, list[float]] = {"plain": [], "dukahub": []}  # robust to a shared machine
    for rep in range(args.repeats):
        for method in ("plain", "dukahub"):
            home = work / f"cli-home-{folder.name}-{method}-{rep}"
            cmd = [
                sys.executable,
                "-m",
                "app",
                "train",
                str(folder),
                "--out",
                str(work / f"cli-out-{folder.name}-{method}-{rep}"),
                "--base-weights",
                str(WEIGHTS),
            ]
            if method == "plain":
                cmd.append("--plain")
            t0 = time.perf_counter()
            c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run(
                cmd,
                check=True,
                capture_output=True,
                cwd=REPO,
                env={**os.environ, "DUKAHUB_TRAINER_HOME": str(home)},
            )
            times[method].append(time.perf_counter() - t0)
            c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[method].append(c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime)
            print(
                f"CLI {setup} {method}: {times[method][-1]:.1f}s wall, {cpu[method][-1]:.1f}s CPU",
                flush=True,
            )
    plain, ours = statistics.median(times["plain"]), statistics.median(times["dukahub"])
    return {
        "setup": setup,
        "plain_s": plain,
        "dukahub_s": ours,
        "ratio": ours / plain,
        "runs": times,
        "cpu_runs": cpu,
        "cpu_ratio": statistics.median(cpu["dukahub"]) / statistics.median(cpu["plain"]),
    }


def retrain_timing(args, work: Path) -> dict:
    """Add one product to a trained 49-product K=3 shop: seconds of training work."""
    names, _ = class_table()
    photos = sample_k(read_list("train.txt"), 3, args.seeds[0])
    keys = list(photos)
    store = FeatureStore(work / "retrain-cache")
    opts = TrainOptions(base_weights=WEIGHTS, seed=args.seeds[0])
    train(build_dataset(catalog_of({k: photos[k] for k in keys[:-1]}, names)), opts, store=store)
    t0 = time.perf_counter()
    train(build_dataset(catalog_of(photos, names)), opts, store=store)
    return {"retrain_s": time.perf_counter() - t0}


# Runs the CLI in-process and reports its own peak RSS (children of the bench don't mix in).
PEAK_WRAPPER = """
import resource, runpy, sys
sys.argv = ["app"] + sys.argv[1:]
code = 0
try:
    runpy.run_module("app", run_name="__main__")
except SystemExit as e:
    code = e.code
print("PEAK_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
sys.exit(code)
"""


def memory_run(args, work: Path) -> dict:
    """Peak RSS of a CLI training on 5,000 distinct photos (all dataset photos + mirrored)."""
    from PIL import Image, ImageOps

    all_lists = read_list("train.txt") + read_list("val.txt") + read_list("test.txt")
    folder = work / "mem-folder"
    n = 0
    for p, c in all_lists:  # train/val/test reuse file names: prefix the index
        d = folder / c
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{n:05d}-{p.name}").symlink_to(p)
        n += 1
    i = 0
    while n < 5000:
        p, c = all_lists[i]
        with Image.open(p) as im:
            ImageOps.mirror(im.convert("RGB")).save(folder / c / f"m{n:05d}-{p.name}", quality=90)
        n, i = n + 1, i + 1
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            PEAK_WRAPPER,
            "train",
            str(folder),
            "--out",
            str(work / "mem-out"),
            "--base-weights",
            str(WEIGHTS),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "DUKAHUB_TRAINER_HOME": str(work / "mem-home")},
    )
    secs = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-2000:])
    peak_kb = int(proc.stderr.rsplit("PEAK_KB", 1)[1].split()[0])
    return {"photos": n, "peak_mb": peak_kb / 1024, "seconds": secs}


def markdown(rows: list[dict], extra: dict) -> str:
    lines = [
        "| setup | method | photos | seeds | top-1 | top-3 | train (s) | model (MB) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['setup']} | {r['method']} | {r['photos']} | {r['seeds']} | {r['top1']:.1%} | "
            f"{r['top3']:.1%} | {r['train_s']:.1f} | {r['model_bytes'] / 1e6:.2f} |"
        )
    out = "\n".join(lines)
    for key in ("cli", "cli_catalogue", "cli_mixed"):
        if key in extra:
            c = extra[key]
            out += (
                f"\n\n{c['setup']}, 50 products, CLI end to end (process start to files "
                f"written, cold cache, median of {len(c['runs']['plain'])}): plain reference "
                f"{c['plain_s']:.1f} s, dukahub {c['dukahub_s']:.1f} s, ratio {c['ratio']:.2f}× "
                f"(CPU time ratio {c['cpu_ratio']:.2f}×)."
            )
    if "retrain" in extra:
        secs = extra["retrain"]["retrain_s"]
        out += f"\nRetrain after adding one product (warm cache): {secs:.1f} s."
    if "memory" in extra:
        m = extra["memory"]
        out += (
            f"\nPeak memory training {m['photos']} photos: {m['peak_mb']:.0f} MB "
            f"({m['seconds']:.0f} s)."
        )
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--k", type=int, nargs="*", default=[1, 3, 10])
    ap.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0, 1, 2],
        help="K-photo samples to average (catalogue and all photos use the first)",
    )
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--all", action="store_true", help="also train on every training photo")
    ap.add_argument(
        "--eval",
        choices=("test", "val"),
        default="test",
        help="score on the test list (report) or the val list (choose settings)",
    )
    ap.add_argument("--no-catalogue", action="store_true", help="skip the catalogue-only setup")
    ap.add_argument("--memory", action="store_true", help="also peak memory on 5,000 photos")
    ap.add_argument("--skip-cli", action="store_true")
    ap.add_argument("--cli-only", action="store_true", help="only the CLI and retrain timings")
    args = ap.parse_args()
    for need in (DATASET, WEIGHTS):
        if not need.exists():
            raise SystemExit(f"missing {need} (see ../shared/README.md)")
    work = Path(tempfile.mkdtemp(prefix="dukahub-bench-"))
    os.environ["DUKAHUB_TRAINER_HOME"] = str(work / "home")
    try:
        rows = [] if args.cli_only else accuracy_table(args, work)
        extra: dict = {}
        if not args.skip_cli:
            extra["cli"] = cli_timing(args, work)
            extra["cli_catalogue"] = cli_timing(args, work, "catalogue only")
            extra["cli_mixed"] = cli_timing(args, work, "mixed shop")
            extra["retrain"] = retrain_timing(args, work)
        if args.memory:
            extra["memory"] = memory_run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = markdown(rows, extra)
    print("\n" + text)
    results = REPO / "bench" / "results"
    results.mkdir(exist_ok=True)
    stem = "benchmark" if args.eval == "test" else f"benchmark-{args.eval}"
    stem = "benchmark-cli" if args.cli_only else stem
    (results / f"{stem}.json").write_text(json.dumps({"rows": rows, **extra}, indent=2))
    (results / f"{stem}.md").write_text(text + "\n")
    print(
        f"\n(max RSS of this process: "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
