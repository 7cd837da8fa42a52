"""A supermarket on a laptop (issue 22): whole CLI training at 1,000 and 5,000 products.

A synthetic packaged catalogue: each product is one distinct source photo (the packaged
goods set first, then fruit & vegetables), and its three "photos" are random crops,
turns and lighting of it — two to train on, one held out. For each size, in the same run:

* ours: ``dukahub-trainer train FOLDER`` in a fresh profile (cold feature cache), whole
  process; its peak memory from the OS (``ru_maxrss``), every progress report with its
  time (the longest silence per phase), and the estimate the app shows before training
  (``trainer.estimate_seconds``) against the time from the engine's loading (TensorFlow's
  import included) to the end;
* the plain reference: frozen MobileNetV2 0.35 at Teachable Machine's 224 pixels + one
  softmax layer, 20 passes, features in chunks, in its own process (start to trained);
* held-out top-1 of both, on two kinds of held-out photo. "crop": another crop of the
  same source photo, easy for both (about 94 % at 1,000 products), a check that nothing
  broke. "counter": a harder stand-in for a counter photo of the product — the source
  photo at 45-75 % of the frame, turned up to 20 degrees, off centre, on a heavily
  blurred patch of a photo no product uses, in other light, saved at JPEG quality 70.
  Both are synthetic: issue 22's "plain + 10 points" is the team's to measure on their
  own catalogue; "counter" says which way it leans.

With ``--mixed``, a shop as a Vendure shop's first month looks at that size: every
product has a catalogue photo (the source photo on a white backdrop, the studio look,
named ``catalogue.jpg``), and every other product also the two photos above; top-1 is
also given for the catalogue-only half and the half with photos, and the estimate reads
the catalogue photos as the app reads a shop server's.

    python bench/scale.py                      # 1,000 and 5,000 products
    python bench/scale.py --products 1000      # one size
    python bench/scale.py --products 1000 --mixed
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared"
SOURCES = (
    SHARED / "datasets" / "freiburg-groceries-packaged",
    SHARED / "datasets" / "grocery-fruit-veg",
)
WEIGHTS = (
    SHARED / "pretrained" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"
)
PHOTOS, HELD = 2, 1
TM_SIZE = 224  # the plain reference's input (Teachable Machine's; ours is 256)
# the two kinds of held-out photo and their folders (the first kind's keeps its old name,
# so catalogues generated before stay usable with --work)
HELD_KINDS = {"crop": "held", "counter": "counter"}
SIDE = 256

# Runs the CLI in-process: its own peak RSS, and each progress report with its time.
WRAPPER = """
import json, os, resource, runpy, sys, time
import app.cli as cli
log = open(os.environ["SCALE_PROGRESS_LOG"], "w", encoding="utf-8")
show = cli.StderrProgress.__call__
def report(self, p):
    log.write(json.dumps([time.monotonic(), p.phase, p.fraction, p.message]) + "\\n")
    log.flush()
    show(self, p)
cli.StderrProgress.__call__ = report
sys.argv = ["app"] + sys.argv[1:]
code = 0
try:
    runpy.run_module("app", run_name="__main__")
except SystemExit as e:
    code = e.code
print("PEAK_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
sys.exit(code)
"""


def source_photos() -> list[Path]:
    out: list[Path] = []
    for root in SOURCES:
        out += sorted(p for p in root.rglob("*.jpg") if "iconic" not in str(p))
    return out


def variant(im: object, rng: np.random.Generator) -> object:
    """One "photo" of a product: a crop of 70-95 % of it, a small turn, other light."""
    from PIL import ImageEnhance

    w, h = im.size
    f = rng.uniform(0.70, 0.95)
    cw, ch = int(w * f), int(h * f)
    x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    out = im.crop((x0, y0, x0 + cw, y0 + ch)).rotate(rng.uniform(-12, 12), expand=False)
    out = ImageEnhance.Brightness(out).enhance(rng.uniform(0.75, 1.25))
    out = ImageEnhance.Color(out).enhance(rng.uniform(0.8, 1.2))
    return out.resize((SIDE, SIDE))


def counter_variant(im: object, bg: object, rng: np.random.Generator) -> object:
    """A stand-in counter photo: the product smaller, turned, off centre, on a blurred
    background, in other light (see the module's docstring)."""
    from PIL import ImageEnhance, ImageFilter

    w, h = bg.size
    side = min(w, h)
    x0, y0 = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
    out = bg.crop((x0, y0, x0 + side, y0 + side)).resize((SIDE, SIDE))
    out = out.filter(ImageFilter.GaussianBlur(8))
    f = rng.uniform(0.45, 0.75)
    fg = im.resize((int(SIDE * f), int(SIDE * f))).convert("RGBA")
    fg = fg.rotate(rng.uniform(-20, 20), expand=True)
    px = int(rng.integers(0, max(1, SIDE - fg.size[0]) + 1))
    py = int(rng.integers(0, max(1, SIDE - fg.size[1]) + 1))
    out.paste(fg, (px, py), fg)
    out = ImageEnhance.Brightness(out).enhance(rng.uniform(0.7, 1.3))
    return ImageEnhance.Color(out).enhance(rng.uniform(0.7, 1.3))


def make_counter_held(products: int, root: Path, seed: int = 0) -> list[tuple[Path, str]]:
    """``root/counter/<id>-0.jpg``: one stand-in counter photo per product (same source
    photos as :func:`make_catalogue`; backgrounds from the photos no product uses)."""
    from PIL import Image

    pool = source_photos()
    order = np.random.default_rng(seed).permutation(len(pool))  # make_catalogue's order
    spare = [pool[int(k)] for k in order[products:]] or [pool[int(k)] for k in order]
    out_dir, done = root / "counter", root / "counter-done.json"
    held = [(out_dir / f"p{i:05d}-0.jpg", f"p{i:05d}") for i in range(products)]
    if done.exists():
        return held
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed + 1)
    for i, (dest, _) in enumerate(held):
        bg_path = spare[int(rng.integers(0, len(spare)))]
        with Image.open(pool[int(order[i])]) as im, Image.open(bg_path) as bg:
            counter_variant(im.convert("RGB"), bg.convert("RGB"), rng).save(dest, quality=70)
    done.write_text("{}")
    return held


def on_white(im: object) -> object:
    """A catalogue shot of the product: the source photo at 70 % of a white square."""
    from PIL import Image

    canvas = Image.new("RGB", (SIDE, SIDE), (255, 255, 255))
    inner = int(SIDE * 0.7)
    canvas.paste(im.resize((inner, inner)), ((SIDE - inner) // 2, (SIDE - inner) // 2))
    return canvas


def with_photos(products: int) -> set[str]:
    """A mixed shop's products with photos besides their catalogue photo: every other."""
    return {f"p{i:05d}" for i in range(0, products, 2)}


def make_catalogue(
    products: int, root: Path, seed: int = 0, mixed: bool = False
) -> tuple[Path, list[tuple[Path, str]]]:
    """``root/shop/<id>/`` with PHOTOS photos each, and the held-out (photo, id) list;
    ``mixed``: ``root/shop-mixed/`` (see the module's docstring), the same held-out."""
    from PIL import Image

    pool = source_photos()
    if products > len(pool):
        raise SystemExit(f"only {len(pool)} source photos for {products} products")
    shop, held_dir = root / ("shop-mixed" if mixed else "shop"), root / "held"
    held: list[tuple[Path, str]] = []
    done = root / ("done-mixed.json" if mixed else "done.json")
    counter_group = with_photos(products) if mixed else None
    rng = np.random.default_rng(seed)
    for i in range(products):
        pid = f"p{i:05d}"
        held += [(held_dir / f"{pid}-{k}.jpg", pid) for k in range(HELD)]
    if done.exists():
        return shop, held
    order = rng.permutation(len(pool))
    held_dir.mkdir(parents=True, exist_ok=True)
    for i in range(products):
        pid = f"p{i:05d}"
        d = shop / pid
        d.mkdir(parents=True, exist_ok=True)
        with Image.open(pool[int(order[i])]) as im:
            im = im.convert("RGB")
            for k in range(PHOTOS + HELD):
                dest = d / f"photo-{k}.jpg" if k < PHOTOS else held_dir / f"{pid}-{k - PHOTOS}.jpg"
                photo = variant(im, rng)  # drawn either way: the same held-out photos
                if counter_group is None or k >= PHOTOS or pid in counter_group:
                    photo.save(dest, quality=88)
            if counter_group is not None:
                on_white(im).save(d / "catalogue.jpg", quality=92)
    done.write_text("{}")
    return shop, held


def run_ours(shop: Path, work: Path) -> dict:
    shutil.rmtree(work, ignore_errors=True)  # a fresh profile: no feature cache kept
    work.mkdir(parents=True)
    log = work / "progress.jsonl"
    out = work / "model"
    cmd = [sys.executable, "-c", WRAPPER, "train", str(shop), "--out", str(out)]
    cmd += ["--base-weights", str(WEIGHTS)]
    env = {
        **os.environ,
        "DUKAHUB_TRAINER_HOME": str(work / "home"),
        "SCALE_PROGRESS_LOG": str(log),
    }
    t0, m0 = time.perf_counter(), time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    peak_kb = int(proc.stderr.rsplit("PEAK_KB", 1)[1].split()[0])
    events = [json.loads(line) for line in log.read_text().splitlines()]
    loaded = max((e[0] for e in events if e[1] == "preparing"), default=m0)
    gaps: dict[str, float] = {}
    for (t1, _ph, *_), (t2, ph2, *_) in zip(events, events[1:], strict=False):
        gaps[ph2] = max(gaps.get(ph2, 0.0), t2 - t1)
    return {
        "wall_s": wall,
        "peak_mb": peak_kb / 1024,
        # from "Loading the recognition engine" (the last preparing report) to the files
        # written: TensorFlow's import (~3 s) included, which the app's estimate leaves out
        "training_s": wall - (loaded - m0),
        "longest_silence_s": gaps,
        "out": str(out),
    }


PLAIN_EPOCHS = 20


def plain_worker(shop: Path, work: Path) -> int:
    """The plain reference, in its own process: prints TRAINED and its peak, then scores."""
    import resource

    from app.core.features import FeatureStore, extract
    from app.core.images import file_digest
    from app.core.tf_runtime import tf_modules

    _, keras = tf_modules()
    ids = sorted(p.name for p in shop.iterdir())
    index = {p: i for i, p in enumerate(ids)}
    items = [(f, file_digest(f), 1) for pid in ids for f in sorted((shop / pid).glob("*.jpg"))]
    y = np.array([index[f.parent.name] for f, _, _ in items])
    store = FeatureStore(work / "plain-features")
    rows = []
    for s in range(0, len(items), 2000):  # features in chunks
        feats, _ = extract(
            items[s : s + 2000], weights=WEIGHTS, alpha=0.35, size=TM_SIZE, store=store
        )
        rows.append(np.stack([feats[d][0] for _, d, _ in items[s : s + 2000]]))
    x = np.concatenate(rows)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((x.shape[1],)), keras.layers.Dense(len(ids), "softmax")])
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=PLAIN_EPOCHS, batch_size=32, shuffle=True, verbose=0)
    print("TRAINED", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flush=True)
    for kind, folder in HELD_KINDS.items():
        held = [(p, p.name.split("-")[0]) for p in sorted((work.parent / folder).glob("*.jpg"))]
        hitems = [(p, file_digest(p), 1) for p, _ in held]
        feats, _ = extract(hitems, weights=WEIGHTS, alpha=0.35, size=TM_SIZE, store=store)
        xh = np.stack([feats[d][0] for _, d, _ in hitems])
        pred = model.predict(xh, batch_size=256, verbose=0).argmax(1)
        hit = np.array([ids[int(k)] == pid for k, (_, pid) in zip(pred, held, strict=True)])
        print("TOP1", kind, float(np.mean(hit)), flush=True)
        if shop.name == "shop-mixed":  # each half of a mixed shop
            group = np.array([pid in with_photos(len(ids)) for _, pid in held])
            print("TOP1", f"{kind}-with-photos", float(np.mean(hit[group])), flush=True)
            print("TOP1", f"{kind}-catalogue-only", float(np.mean(hit[~group])), flush=True)
    return 0


def run_plain(shop: Path, work: Path) -> dict:
    shutil.rmtree(work, ignore_errors=True)  # its feature store: computed afresh
    cmd = [sys.executable, str(Path(__file__)), "--plain-worker", str(shop), str(work)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert proc.stdout is not None
    trained_s = peak_kb = None
    top1: dict[str, float] = {}
    for line in proc.stdout:
        if line.startswith("TRAINED"):
            trained_s, peak_kb = time.perf_counter() - t0, int(line.split()[1])
        elif line.startswith("TOP1"):
            _, kind, value = line.split()
            top1[kind] = float(value)
    if proc.wait() != 0 or trained_s is None or peak_kb is None:
        raise SystemExit("the plain reference failed")
    return {"wall_s": trained_s, "peak_mb": peak_kb / 1024, "top1": top1}


def top1_of(model_dir: Path, held: list[tuple[Path, str]]) -> float:
    from app.core.images import load_rgb
    from app.core.modelfiles import ExportedModel

    model = ExportedModel.load(model_dir)
    right = 0
    for s in range(0, len(held), 64):
        chunk = held[s : s + 64]
        probs = model.predict([load_rgb(p) for p, _ in chunk])
        right += sum(
            model.labels[int(k)] == pid for k, (_, pid) in zip(probs.argmax(1), chunk, strict=True)
        )
    return right / len(held)


def one_size(products: int, root: Path, mixed: bool = False) -> dict:
    from app.core import training_cost as trainer
    from app.core.model import TrainOptions

    base = root / f"{products}"
    shop, held = make_catalogue(products, base, mixed=mixed)
    counter = make_counter_held(products, base)
    if mixed:  # as the app reads a shop server's catalogue photos
        group = with_photos(products)
        counts = [1 + PHOTOS * (f"p{i:05d}" in group) for i in range(products)]
        shape = trainer.ShopShape.of(counts, [1] * products)
    else:
        shape = trainer.ShopShape.even(products * PHOTOS, products)
    n_images = shape.images
    estimate = trainer.estimate_seconds(shape, TrainOptions())
    tag = "-mixed" if mixed else ""
    plain = run_plain(shop, base / f"plain{tag}")
    ours = run_ours(shop, base / f"ours{tag}")
    out = Path(ours.pop("out"))
    ours["top1"] = {"crop": top1_of(out, held), "counter": top1_of(out, counter)}
    if mixed:
        for half, keep in (("with-photos", True), ("catalogue-only", False)):
            part = [h for h in counter if (h[1] in group) == keep]
            ours["top1"][f"counter-{half}"] = top1_of(out, part)
    row = {
        "products": products,
        "mixed": mixed,
        "photos": n_images,
        "ours": ours,
        "plain": plain,
        "ratio": ours["wall_s"] / plain["wall_s"],
        "estimate_s": estimate,
        "estimate_error": estimate / ours["training_s"] - 1 if ours["training_s"] else None,
    }
    print(json.dumps(row, indent=1), flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--products", type=int, nargs="*", default=[1000, 5000])
    ap.add_argument("--work", type=Path, help="keep the generated catalogues here")
    ap.add_argument("--mixed", action="store_true", help="a catalogue photo each, half more")
    ap.add_argument("--json", type=Path, help="write the rows here")
    ap.add_argument("--plain-worker", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.plain_worker:
        return plain_worker(*args.plain_worker)
    root = args.work or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    rows = [one_size(n, root, args.mixed) for n in args.products]
    print(
        "| products | photos | ours | plain | ratio | our peak | plain peak "
        "| top-1 ours / plain: crop | counter | estimate |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        o, p = r["ours"], r["plain"]
        print(
            f"| {r['products']:,} | {r['photos']:,} | {o['wall_s']:.0f} s | {p['wall_s']:.0f} s "
            f"| {r['ratio']:.2f}x | {o['peak_mb'] / 1024:.2f} GB | {p['peak_mb'] / 1024:.2f} GB "
            f"| {100 * o['top1']['crop']:.1f} / {100 * p['top1']['crop']:.1f} "
            f"| {100 * o['top1']['counter']:.1f} / {100 * p['top1']['counter']:.1f} "
            f"| {r['estimate_s']:.0f} s ({100 * r['estimate_error']:+.0f} %) |"
        )
        if r["mixed"]:
            for half in ("with-photos", "catalogue-only"):
                k = f"counter-{half}"
                print(f"  counter, {half}: {100 * o['top1'][k]:.1f} / {100 * p['top1'][k]:.1f}")
        silence = {k: round(v, 1) for k, v in o["longest_silence_s"].items()}
        print(f"  longest silence per phase (s): {json.dumps(silence)}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
