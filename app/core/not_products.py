""" "Not a product": photos that show none of the shop's products.

The POS camera looks at the counter all day: mostly an empty counter, a hand, a bag, a
product the shop does not sell. Trained toward a uniform target (outlier exposure),
such photos spread their probability over all products, so they fall below the accept
threshold and the till asks instead of adding something. Sources: scenes we draw here
(counters, shelves, crates, blurred aisles, empty hands; made by us, so no licence and
nothing shipped) and the shop's own photos of its empty counter (kept per shop beside
the counter frames). Plain NumPy/Pillow; features through the frozen base.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from . import studio
from .input_size import DEFAULT_IMAGE_SIZE

if TYPE_CHECKING:
    from .features import FeatureStore
    from .model import TrainOptions

DRAWN = 48  # drawn background scenes per training (features cached per base model)
DRAWN_VERSION = 1  # bump when the drawing changes: the cache key follows
FOLDER = "not-products"  # the shop's own photos of its empty counter, per shop


def drawn_backgrounds(
    n: int = DRAWN, size: int = DEFAULT_IMAGE_SIZE, seed: int = 0
) -> list[np.ndarray]:
    """``n`` counter-camera views with no product in them, as uint8 RGB."""
    rng = np.random.default_rng(seed + 1009)
    out = []
    for i in range(n):
        bg = studio.scene(rng, size)
        if i % 3 == 0:  # an empty hand over the counter
            layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
            x0, y0 = (int(v) for v in rng.integers(0, size // 2, 2))
            box = (x0, y0, x0 + size // 2, y0 + size // 2)
            studio._hand(layer, rng, box)
            bg = Image.alpha_composite(bg.convert("RGBA"), layer).convert("RGB")
        out.append(studio._finish(bg, rng))
    return out


def drawn_key(n: int, size: int, seed: int) -> str:
    """The feature cache's content key of the drawn set (a digest, like a photo's)."""
    raw = f"drawn-backgrounds:{DRAWN_VERSION}:{n}:{size}:{seed}"
    return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


def shop_photos(root: Path) -> list[Path]:
    """The shop's own "not a product" photos (``<channel folder>/not-products``)."""
    from .catalogue import IMAGE_SUFFIXES

    folder = Path(root) / FOLDER
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )


def add_rgb(root: Path, rgb: np.ndarray, prefix: str = "empty") -> Path:
    """Store one picture of the empty counter (HxWx3 uint8 RGB) as a JPEG in the shop's
    ``not-products`` folder; written beside it first, so a half-written file never counts."""
    import os
    import time

    folder = Path(root) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in prefix)[:60] or "empty"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    dst, n = folder / f"{safe}-{stamp}.jpg", 2
    while dst.exists():
        dst, n = folder / f"{safe}-{stamp}-{n}.jpg", n + 1
    tmp = dst.with_name(f".{dst.name}.tmp")
    Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), "RGB").save(
        tmp, format="JPEG", quality=92
    )
    os.replace(tmp, dst)
    return dst


def clear(root: Path) -> int:
    """Delete the shop's "not a product" photos (those :func:`shop_photos` lists); returns
    how many. Anything else in the folder is left alone."""
    photos = shop_photos(root)
    for p in photos:
        p.unlink(missing_ok=True)
    return len(photos)


@dataclass
class Negatives:
    train: np.ndarray  # trained toward the uniform target
    held: np.ndarray  # other drawn scenes, never trained: the accept threshold keeps them out
    used: int = 0  # the shop's own photos of its empty counter among ``train``
    skipped: list[tuple[str, str]] = field(default_factory=list)  # its others, with why


DRAWN_HELD = 24
HELD_SEED = 7919


def negative_features(
    weights: Path,
    o: TrainOptions,
    store: FeatureStore | None,
    photos: Sequence[Path],
    products: Mapping[str, str] | None = None,
) -> Negatives:
    """Features of photos with none of the shop's products: the drawn scenes (cached per
    base model) and the shop's own ``photos`` of its empty counter, each once (unusable
    ones are left out and listed with why: they are the owner's extras, not products),
    and a held-back drawn set. ``products`` (photo digest -> product name) are the
    training's photos: one of them given as the empty counter is left out, or it would
    be trained as its product and as no product at once."""
    from .features import FEATURE_WIDTH, FeatureStore, extract_for, image_features, model_key
    from .images import file_digest

    st = store or FeatureStore()
    key = model_key(weights, o.alpha, o.image_size)

    def drawn(n: int, seed: int) -> np.ndarray:
        digest = drawn_key(n, o.image_size, seed)
        arr = st.get(key, digest, n, o.seed, FEATURE_WIDTH)
        if arr is None:
            ims = drawn_backgrounds(n, o.image_size, seed)
            arr = image_features(weights, o.alpha, o.image_size)(np.stack(ims))
            st.put(key, digest, n, o.seed, arr)
        return arr.astype(np.float32)

    rows = [drawn(DRAWN, o.seed)]
    held = drawn(DRAWN_HELD, o.seed + HELD_SEED)
    items, seen, skipped, named = [], set(), [], products or {}
    for p in map(Path, photos):
        try:
            digest = file_digest(p)
        except OSError as exc:
            skipped.append((str(p), f"unreadable ({exc.strerror or exc})"))
            continue
        if digest in named:
            skipped.append((str(p), f"a photo of {named[digest]}, not of the empty counter"))
            continue
        if digest in seen:  # a copy would weigh twice
            skipped.append((str(p), "the same photo as another one (used once)"))
            continue
        seen.add(digest)
        items.append((p, digest, 1))
    used = 0
    if items:
        feats, failed = extract_for(items, weights, o, st)
        for p, d, _ in items:  # a cut-off photo passes the header check, not the decoder
            if d in feats:
                rows.append(feats[d])
                used += 1
            else:
                skipped.append((str(p), str(failed.get(d, "could not be read"))))
    return Negatives(np.concatenate(rows).astype(np.float32), held, used, skipped)
