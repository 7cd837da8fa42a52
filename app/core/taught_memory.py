"""What the counter taught a model since its full training, so each new correction can
rehearse the earlier ones.

Teaching a photo moves the head; taught alone, a later correction can undo an earlier
one. So every taught photo's feature (as the POS sees it) is kept beside the model
folder (``.<name>.taught.npz``, never one of the three served files) and the next
update keeps them right too (:func:`app.core.teach.update_head`). The memory belongs to
the model's ``trainedAt``: a full training, which trains on the stored photos anyway,
or an earlier model used again makes it stale, and it is started afresh. Replay of a
day at the till (``bench/replay.py``), corrections per product to come within 3 points
of the 10-photo model: fruit & vegetables 4.6 -> 2.4, packaged goods 8.2 -> 5.0.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path
from zipfile import BadZipFile

import numpy as np

from .local_history import beside
from .paths import atomic_write_bytes
from .readers import open_regular

log = logging.getLogger(__name__)

SUFFIX = ".taught.npz"
MAX_PHOTOS = 500  # the newest taught photos rehearsed (1,280 half floats each: 1.3 MB)


@dataclass(frozen=True)
class TaughtMemory:
    trained_at: str  # the model's trainedAt this memory belongs to
    z: np.ndarray  # (photos, dim) normalised features, float16
    products: list[str]  # the product of each row

    def rows_for(self, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(features float32, label index) of the rows whose product is still a label."""
        index = {p: i for i, p in enumerate(labels)}
        keep = [i for i, p in enumerate(self.products) if p in index]
        z = self.z[keep].astype(np.float32)
        return z, np.array([index[self.products[i]] for i in keep], dtype=np.int64)

    def plus(self, z: np.ndarray, product: str) -> TaughtMemory:
        """This memory with ``z`` (photos of ``product``) added, the oldest beyond
        MAX_PHOTOS dropped."""
        rows = np.concatenate([self.z, np.asarray(z, dtype=np.float16)])[-MAX_PHOTOS:]
        products = (self.products + [product] * len(z))[-MAX_PHOTOS:]
        return TaughtMemory(self.trained_at, rows, products)


def memory_path(model_dir: Path) -> Path:
    return beside(Path(model_dir), SUFFIX)


def load(model_dir: Path, trained_at: str, dim: int) -> TaughtMemory:
    """The memory of ``model_dir`` for the model trained at ``trained_at``; empty when
    there is none, it belongs to another training, or it cannot be read (it only costs
    the rehearsal)."""
    empty = TaughtMemory(trained_at, np.zeros((0, dim), np.float16), [])
    path = memory_path(model_dir)
    try:  # any damage (cut short, a flipped byte, an .npy, a pipe) only costs the rehearsal
        with open_regular(path) as fh, np.load(fh, allow_pickle=False) as f:
            owner = str(f["trained_at"])
            z, products = f["z"], [str(p) for p in f["products"]]
    except FileNotFoundError:
        return empty
    except (OSError, ValueError, KeyError, EOFError, TypeError, AttributeError, BadZipFile) as exc:
        log.warning("taught memory %s not read: %s", path, exc)
        return empty
    if owner != trained_at or z.ndim != 2 or z.shape[1] != dim or len(products) != len(z):
        return empty
    if z.dtype.kind != "f" or not np.isfinite(z).all():  # NaN failed the export's check
        log.warning("taught memory %s not read: its features are damaged", path)
        return empty
    return TaughtMemory(trained_at, z.astype(np.float16), products)


def save(model_dir: Path, memory: TaughtMemory) -> None:
    """Write the memory atomically; a failure is logged, never fatal (the model itself
    was updated)."""
    buf = io.BytesIO()
    np.savez(
        buf,
        trained_at=np.array(memory.trained_at),
        z=memory.z,
        products=np.array(memory.products, dtype=str),
    )
    try:
        atomic_write_bytes(memory_path(model_dir), buf.getvalue())
    except OSError as exc:
        log.warning("taught memory %s not written: %s", memory_path(model_dir), exc)
