"""How much the till's resize moves the model's answers: the trainer's versus a browser's.

The trainer decodes a photo at a reduced size, shrinks it to at most 448 px, then crops
the centre square and resizes it (Pillow's antialiased bilinear). A POS draws a whole
camera frame onto a canvas of ``imageSize`` in one step. Fruit & vegetables: each
test photo as a 1280×720 camera frame (scaled to 720 px high on grey, JPEG 92); a
softmax layer trained on 10 such frames per product (the trainer's way); each test
frame then prepared three ways: the trainer's, Pillow in one step from the full frame,
and TensorFlow's bilinear without antialiasing (what ``tf.image.resizeBilinear`` and a
canvas at its default smoothing come close to).

    python bench/till_resize.py   # about 2 minutes
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.core import features  # noqa: E402
from app.core.fast_features import FAST_SUFFIX, lite_features  # noqa: E402
from app.core.head import normalise_features  # noqa: E402
from app.core.images import centre_square, load_rgb, resize_square  # noqa: E402
from app.core.input_size import DEFAULT_IMAGE_SIZE  # noqa: E402
from app.core.tf_runtime import tf_modules  # noqa: E402
from bench.benchmark import read_list  # noqa: E402


def camera_frame(photo: Path, work: Path) -> Path:
    """The photo as a 1280×720 frame: scaled to 720 px high, centred on grey."""
    out = work / f"{photo.parent.name}_{photo.name}"
    if not out.exists():
        im = Image.open(photo).convert("RGB")
        im = im.resize((max(1, round(im.width * 720 / im.height)), 720), Image.Resampling.BICUBIC)
        canvas = Image.new("RGB", (1280, 720), (128, 128, 128))
        canvas.paste(im, ((1280 - im.width) // 2, 0))
        canvas.save(out, "JPEG", quality=92)
    return out


SIDE = DEFAULT_IMAGE_SIZE  # the input the till feeds the model (metadata.json imageSize)


def bilinear_no_antialias(path: Path, side: int = SIDE) -> np.ndarray:
    """The centre square of the whole frame resized in one step, bilinear without
    antialiasing: what ``tf.image.resizeBilinear`` and a canvas at its default smoothing
    come close to."""
    tf, _ = tf_modules()
    square = centre_square(np.asarray(Image.open(path).convert("RGB"))).astype(np.float32)
    out = tf.image.resize(square[None], (side, side), method="bilinear", antialias=False)[0]
    return np.asarray(out).round().clip(0, 255).astype(np.uint8)


def till_features(paths: list[Path], work: Path) -> np.ndarray:
    """Raw features of each photo as the till sees it: a 1280×720 camera frame, resized
    in one step without antialiasing (the shipped Lite file, as the trainer's features)."""
    run, _ = lite_features(features.shipped_weights(0.35, 224).with_suffix(FAST_SUFFIX), 2)
    out = []
    for s in range(0, len(paths), 64):
        ims = [bilinear_no_antialias(camera_frame(p, work)) for p in paths[s : s + 64]]
        out.append(run(np.stack(ims)))
    return np.concatenate(out)


def main() -> int:
    tf, keras = tf_modules()
    run, _ = lite_features(features.shipped_weights(0.35, 224).with_suffix(FAST_SUFFIX), 2)

    def trainer(path: Path) -> np.ndarray:
        return resize_square(load_rgb(path), SIDE)

    def pillow_one_step(path: Path) -> np.ndarray:
        square = centre_square(np.asarray(Image.open(path).convert("RGB")))
        return np.asarray(Image.fromarray(square).resize((SIDE, SIDE), Image.Resampling.BILINEAR))

    work = Path(tempfile.mkdtemp(prefix="till-resize-"))

    def feats(items: list[tuple[Path, str]], prepare) -> np.ndarray:  # noqa: ANN001
        out = []
        for s in range(0, len(items), 64):
            ims = [prepare(camera_frame(p, work)) for p, _ in items[s : s + 64]]
            out.append(run(np.stack(ims)))
        return normalise_features(np.concatenate(out))

    train, test = read_list("train.txt"), read_list("test.txt")
    classes = sorted({c for _, c in train}, key=int)
    rng = np.random.default_rng(0)
    chosen = [
        i
        for c in classes
        for i in rng.choice([j for j, (_, cc) in enumerate(train) if cc == c], 10, replace=False)
    ]
    tr = [train[i] for i in chosen]
    keras.utils.set_random_seed(0)
    head = keras.Sequential([keras.layers.Dense(len(classes), activation="softmax")])
    head.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    ytr = np.array([classes.index(c) for _, c in tr])
    head.fit(feats(tr, trainer), ytr, epochs=100, batch_size=16, verbose=0)
    yt = np.array([classes.index(c) for _, c in test])
    base = None
    print("| prepared as | top-1 | top-1 not the trainer's | largest probability change |")
    print("|---|---:|---:|---:|")
    for name, prepare in (
        ("the trainer's", trainer),
        ("Pillow, one step from the frame", pillow_one_step),
        ("bilinear without antialiasing", bilinear_no_antialias),
    ):
        p = head.predict(feats(test, prepare), verbose=0)
        base = p if base is None else base
        changed = np.mean(p.argmax(1) != base.argmax(1))
        print(
            f"| {name} | {100 * np.mean(p.argmax(1) == yt):.1f} | {100 * changed:.1f} % "
            f"| {np.abs(p - base).max():.2f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
