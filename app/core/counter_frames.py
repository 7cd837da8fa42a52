"""Counter frames: unlabelled photos of the shop's counter, kept per shop.

A few frames of the counter camera — any products on it, no labels — show where
this shop's light, camera and background put every product's features. The
trainer centres its prototype head on them (``app.core.shop_look.centre_of``), which
is what lets catalogue-only products be recognised at this counter on day one.

Frames come from the app ("Show me your counter", or a Test-screen webcam
session), from ``train --counter-frames DIR`` (a flat folder), and ``sync`` uses
the shop's stored ones. Plain Python (no Qt, no NumPy at import).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .catalogue import IMAGE_SUFFIXES, SYSTEM_FILES, UNSUPPORTED_IMAGE_SUFFIXES

if TYPE_CHECKING:
    import numpy as np

FOLDER = "counter-frames"
# How many frames the app asks for ("about 20 over 20 seconds") and the most it keeps
# per shop: the oldest go first, so a refreshed look replaces an old one (and the
# owner is told how many went: they went without a word before, a data-loss audit).
SUGGESTED = 20
MAX_KEPT = 200


@dataclass(frozen=True)
class CounterFrame:
    path: Path
    taken: dt.datetime  # UTC (the file's modification time)


@dataclass
class FramesFound:
    """Frames read from a folder, and every file there not used, with why."""

    frames: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def _taken(path: Path) -> dt.datetime:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.timezone.utc)


def frames_in_folder(folder: Path) -> FramesFound:
    """The photos of a flat folder (counter frames, the empty counter), in name order.
    Sub-folders and files that are not photos are listed as skipped (with a reason),
    never fatal; hidden and system files (``.DS_Store``, ``Thumbs.db``) are passed over,
    as in product folders. Every file is checked by its header, a ``.jpg`` too: an
    empty or cut-off photo of the empty counter was dropped without a word later."""
    from .photo_check import photo_problem

    found = FramesFound()
    for p in sorted(Path(folder).iterdir()):
        if p.name.startswith(".") or p.name.lower() in SYSTEM_FILES:
            continue
        suffix = p.suffix.lower()
        if p.is_dir():
            found.skipped.append((p, "a folder (photos are read from this folder only)"))
        elif suffix in UNSUPPORTED_IMAGE_SUFFIXES:
            found.skipped.append((p, f"not a supported format ({suffix[1:].upper()})"))
        else:  # by content: a .jfif or a JPEG without an extension is a frame
            why = photo_problem(p, to_learn_from=True)
            if why is None:
                found.frames.append(p)
            else:
                found.skipped.append((p, why))
    return found


def newest(frames: list[Path]) -> dt.datetime | None:
    stamps = []
    for p in frames:
        try:
            stamps.append(_taken(Path(p)))
        except OSError:
            continue
    return max(stamps, default=None)


class CounterFrameStore:
    """One shop's counter frames: ``<channel folder>/counter-frames/*.jpg``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root) / FOLDER

    def frames(self) -> list[CounterFrame]:
        """Oldest first."""
        if not self.root.is_dir():
            return []
        out = []
        for p in self.root.iterdir():
            if p.name.startswith(".") or p.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                if p.is_file():
                    out.append(CounterFrame(p, _taken(p)))
            except OSError:
                continue
        return sorted(out, key=lambda f: (f.taken, f.path.name))

    def paths(self) -> list[Path]:
        return [f.path for f in self.frames()]

    def newest(self) -> dt.datetime | None:
        frames = self.frames()
        return frames[-1].taken if frames else None

    def add_rgb(self, rgb: np.ndarray, prefix: str = "counter", *, trim: bool = True) -> Path:
        """Store one frame (HxWx3 uint8 RGB) as a JPEG. ``trim=False``: a batch's caller
        calls :meth:`trim` once at its end, and says how many went."""
        import numpy as np
        from PIL import Image

        dst = self._new_path(prefix, ".jpg")
        tmp = dst.with_name(f".{dst.name}.tmp")
        Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), "RGB").save(
            tmp, format="JPEG", quality=92
        )
        os.replace(tmp, dst)
        self._arrived([dst])
        if trim:
            self.trim()
        return dst

    def add_files(self, files: list[Path]) -> list[Path]:
        """Copy photos in (others are ignored); returns the stored copies."""
        stored = []
        for src in map(Path, files):
            if not src.is_file() or src.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            dst = self._new_path(src.stem, src.suffix.lower())
            tmp = dst.with_name(f".{dst.name}.tmp")
            shutil.copyfile(src, tmp)
            os.replace(tmp, dst)
            stored.append(dst)
        self._arrived(stored)
        self.trim()
        return stored

    def remove(self, path: Path) -> None:
        path = Path(path)
        if path.parent == self.root:
            path.unlink(missing_ok=True)

    def clear(self) -> int:
        """Delete every frame; returns how many there were."""
        frames = self.frames()
        for f in frames:
            f.path.unlink(missing_ok=True)
        return len(frames)

    def _new_path(self, stem: str, suffix: str) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)[:60] or "frame"
        stamp = time.strftime("%Y%m%d-%H%M%S")
        candidate = self.root / f"{safe}-{stamp}{suffix}"
        n = 2
        while candidate.exists():
            candidate = self.root / f"{safe}-{stamp}-{n}{suffix}"
            n += 1
        return candidate

    def _arrived(self, stored: list[Path]) -> None:
        """New frames are ordered after the kept ones, whatever the clock says. Frames
        are ordered, and the oldest trimmed, by their files' times: with the clock set
        back (a day ahead put right), new frames had times before the 200 kept ones and
        the trim deleted every one of them at once. Such a frame's time is set just
        after the newest kept frame's."""
        new = set(stored)
        kept = [f.taken for f in self.frames() if f.path not in new]
        floor = max((round(t.timestamp() * 1e9) for t in kept), default=0)
        for p in stored:
            t = p.stat().st_mtime_ns
            if t <= floor:
                t = floor + 1_000_000  # a millisecond after: as the frames were stored
                os.utime(p, ns=(t, t))
            floor = t

    def trim(self) -> int:
        """Delete the oldest frames beyond :data:`MAX_KEPT`; returns how many went."""
        frames = self.frames()
        gone = frames[: max(0, len(frames) - MAX_KEPT)]
        for f in gone:
            f.path.unlink(missing_ok=True)
        return len(gone)


def trimmed_words(removed: int) -> str:
    """The owner's words for frames :meth:`CounterFrameStore.trim` deleted ("" for none)."""
    if not removed:
        return ""
    oldest = "the oldest frame was" if removed == 1 else f"the {removed} oldest frames were"
    return f"{oldest} removed: a shop keeps its newest {MAX_KEPT}"
