"""Per-channel edits the owner makes in the Products screen, kept on disk.

Photos added from files or the webcam are copied under
``paths.channel_dir(server, channel)/added/<product id>/`` and include/exclude
choices go to ``selection.json`` beside them, so both survive restarts and a
re-download of the catalogue. Photos from the till the owner accepts are added photos
too (``till-<served version>-<feedback id>.jpg``); what was reviewed is
:mod:`app.core.till_review`'s (``till-review.json``). Each edit of the owner touches
``edited.stamp``, the time ``sync --debounce`` waits on. Plain Python (no Qt): the
Products screen is a thin view over this.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import paths
from .catalogue import IMAGE_SUFFIXES, Catalogue, ImageRef, asset_of, older_shop_key_asset
from .counter_frames import CounterFrameStore
from .readers import expect, is_str_list, load_app_file, open_regular
from .till_review import TillReview, till_photo_stem

if TYPE_CHECKING:  # numpy costs ~0.1 s at the window's start-up: only webcam photos need it
    import numpy as np


# Where a stored frame came from: the start of its file name
WEBCAM = "webcam"  # Products screen, "Add from webcam"
TEST_SCREEN = "test-screen"  # a corrected answer on the Test screen
TAUGHT = "taught-at-the-counter"  # "Teach a product": frames from the camera or a video
# (photos from the till: app.core.till_review.TILL, with the served version and the id)

EDITED = "edited.stamp"  # its modification time: the owner's last edit (0: none yet)


def _safe_name(text: str) -> str:
    return paths.safe_name(text) or "_"


OWNER = ".product-id"  # in each folder of added photos: the product it belongs to


def _added_name(product_id: str) -> str:
    """A folder of added photos' name: the readable id and a digest of the exact one."""
    return paths.digest_name(product_id, product_id)


def _owner(folder: Path) -> str:
    """The product id kept in a folder of added photos ("" when none can be read)."""
    try:
        with open_regular(folder / OWNER) as fh:
            # exact: "Apple " is another product than "Apple"
            return fh.read(4096).decode("utf-8", "surrogateescape").rstrip("\r\n")
    except OSError:
        return ""


def _selection_shape(raw: Any) -> tuple[set[str], set[str]]:
    """selection.json: ``{"excluded_products": [id…], "excluded_images": [ident…]}``."""
    expect(isinstance(raw, dict), "not a JSON object")
    for key in ("excluded_products", "excluded_images"):
        expect(is_str_list(raw.get(key, [])), f"“{key}” is not a list of names")
    return set(raw.get("excluded_products", [])), set(raw.get("excluded_images", []))


def _index_shape(raw: Any) -> dict[str, str]:
    """added/index.json: ``{folder name: product id}``."""
    expect(isinstance(raw, dict), "not a JSON object")
    expect(
        all(isinstance(v, str) and v for v in raw.values()),
        "a folder's product id is not text",
    )
    return dict(raw)


class ChannelStore:
    """Added photos and include/exclude choices of one channel (or local folder)."""

    def __init__(self, server: str, channel: str) -> None:
        self.root = paths.channel_dir(server, channel)
        self._selection_path = self.root / "selection.json"
        self.excluded_products: set[str] = set()
        self.excluded_images: set[str] = set()
        self._load()

    # -- selection -----------------------------------------------------------------
    def _load(self) -> None:
        products, images = load_app_file(
            self._selection_path,
            what="your choices of products and photos to leave out",
            check=_selection_shape,
            default=lambda: (set(), set()),
        )
        self.excluded_products, self.excluded_images = products, images
        moved = self._moved_choices()
        if moved:  # the same choices, where the photos are now: not an edit of the owner's
            self.excluded_images = (images - set(moved)) | set(moved.values())
            self._write_selection()

    def _moved_choices(self) -> dict[str, str]:
        """Unticked added photos kept by a path in a channel folder that has moved since
        (an upgrade from before 0.2.0 renamed it; so does a change of the channel's code)
        -> their path now. Kept by the old path, they were ticked and trained again."""
        root = str(self.root) + os.sep
        out = {}
        for key in self.excluded_images:
            parts = Path(key).parts
            if key.startswith(root) or len(parts) < 4 or parts[-3] != "added":
                continue
            now = self.root.joinpath(*parts[-3:])
            if now.is_file() and not Path(key).exists():
                out[key] = str(now)
        return out

    def _write_selection(self) -> None:
        data = {
            "excluded_products": sorted(self.excluded_products),
            "excluded_images": sorted(self.excluded_images),
        }
        paths.atomic_write_bytes(self._selection_path, json.dumps(data, indent=1).encode())

    def _save(self) -> None:
        self._write_selection()
        self._edited()

    def set_product_included(self, product_id: str, included: bool) -> None:
        (self.excluded_products.discard if included else self.excluded_products.add)(product_id)
        self._save()

    def set_image_included(self, ident: str, included: bool) -> None:
        """``ident`` is :attr:`ImageRef.ident` (a path for files, the asset for shop photos);
        a choice kept by the photo's key of 0.2.0 and before is replaced by this one."""
        key = str(ident)
        asset = asset_of(key)
        if asset is not None:
            self.excluded_images -= {
                k for k in self.excluded_images if older_shop_key_asset(k) == asset
            }
        (self.excluded_images.discard if included else self.excluded_images.add)(key)
        self._save()

    def _older_excluded(self) -> set[str]:
        """The assets of unticked shop photos kept by their key of 0.2.0 and before
        (``asset:<id>:<updatedAt>``): they stay unticked under the photo's key now."""
        return {a for k in self.excluded_images if (a := older_shop_key_asset(k)) is not None}

    # -- when the owner last edited (sync's --debounce) ------------------------------
    def _edited(self, at: float | None = None) -> None:
        stamp = self.root / EDITED
        stamp.touch()
        if at is not None:
            os.utime(stamp, (at, at))

    def last_edited(self) -> float | None:
        """When the owner last ticked or unticked something, or added or removed a
        photo (seconds since the epoch; None: never). Photos from the till taken in by
        ``sync --till-photos accept`` are no edit of the owner's: a busy till would
        otherwise keep a debounced sync waiting for ever."""
        with contextlib.suppress(OSError):
            t = (self.root / EDITED).stat().st_mtime
            return t if t > 0 else None
        return self._edited_before_the_stamp()

    def _edited_before_the_stamp(self) -> float | None:
        """A store written before ``edited.stamp``: its files' own times."""
        stamps = []
        added = self.root / "added"
        for p in [self._selection_path, added]:
            with contextlib.suppress(OSError):
                stamps.append(p.stat().st_mtime)
        if added.is_dir():
            for sub in added.iterdir():
                with contextlib.suppress(OSError):
                    stamps.append(sub.stat().st_mtime)
        return max(stamps, default=None)

    # -- counter frames (unlabelled photos of the counter) -------------------------
    def not_product_photos(self) -> list[Path]:
        """The shop's photos of its empty counter (``not-products/``): trained as "not a
        product" (:mod:`app.core.not_products`)."""
        from .not_products import shop_photos

        return shop_photos(self.root)

    @property
    def counter_frames(self) -> CounterFrameStore:
        """This shop's counter frames, for the trainer's sense of the shop's look."""
        return CounterFrameStore(self.root)

    # -- added photos --------------------------------------------------------------
    def added_dir(self, product_id: str) -> Path:
        """``added/<readable id>-<digest of the exact id>``. By the readable id alone,
        ``Rice 5kg`` and ``Rice_5kg`` (or any two emoji) shared one folder, and every
        photo in it went to whichever product added one last. A folder by that older
        name is still this product's when it says so (its ``.product-id``)."""
        base = self.root / "added"
        older = base / _safe_name(product_id)
        if older.is_dir() and (_owner(older) or self._index().get(older.name)) == product_id:
            return older
        return base / _added_name(product_id)

    def added_images(self) -> dict[str, list[Path]]:
        """Product id -> photos the owner added, oldest first."""
        base = self.root / "added"
        out: dict[str, list[Path]] = {}
        if not base.is_dir():
            return out
        index = self._index()
        for sub in sorted(p for p in base.iterdir() if p.is_dir()):
            pid = index.get(sub.name) or _owner(sub) or sub.name
            files = sorted(
                f
                for f in sub.iterdir()
                if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith(".")
            )
            if files:
                out.setdefault(pid, []).extend(files)
        return out

    def _index(self) -> dict[str, str]:
        """Folder name -> product id, for ids that are not filename-safe."""
        return load_app_file(
            self.root / "added" / "index.json",
            what="the list of which product each folder of added photos belongs to",
            check=_index_shape,
            default=dict,
        )

    def _remember(self, product_id: str) -> Path:
        d = self.added_dir(product_id)
        d.mkdir(parents=True, exist_ok=True)
        if _owner(d) != product_id:  # in the folder too: index.json can be lost
            paths.atomic_write_bytes(d / OWNER, paths.name_bytes(product_id))
        index = self._index()
        if index.get(d.name) != product_id:
            index[d.name] = product_id
            paths.atomic_write_bytes(
                self.root / "added" / "index.json", json.dumps(index, indent=1).encode()
            )
        return d

    def add_files(self, product_id: str, files: list[Path]) -> list[Path]:
        """Copy photos in; anything else is ignored (by its content too: a text file
        named ``.jpg`` was stored and said "Added"). Returns the stored copies."""
        from .photo_check import photo_problem  # NumPy: not at the window's start-up

        d = self._remember(product_id)
        stored = []
        for src in files:
            src = Path(src)
            if src.suffix.lower() not in IMAGE_SUFFIXES or photo_problem(src) is not None:
                continue
            dst = self._unique(d, src.stem, src.suffix.lower())
            with open(src, "rb") as fh, paths.atomic_writer(dst) as out:
                shutil.copyfileobj(fh, out)
            stored.append(dst)
        if stored:
            self._edited()
        return stored

    def add_rgb(self, product_id: str, rgb: np.ndarray, origin: str = WEBCAM) -> Path:
        """Store a frame (HxWx3 uint8 RGB) as a JPEG named after where it came from and
        when (``origin``: :data:`WEBCAM`, :data:`TEST_SCREEN`, :data:`TAUGHT`), which
        the photo's tooltip shows; it is then an added photo like any other."""
        import io

        import numpy as np
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), "RGB").save(
            buf, format="JPEG", quality=92
        )
        data = buf.getvalue()
        d = self._remember(product_id)
        for kept in d.glob(f"{_safe_name(origin)}-*.jpg"):  # the same picture answered twice
            with contextlib.suppress(OSError):
                if kept.stat().st_size == len(data) and kept.read_bytes() == data:
                    return kept
        dst = self._unique(d, f"{_safe_name(origin)}-{time.strftime('%Y%m%d-%H%M%S')}", ".jpg")
        with paths.atomic_writer(dst) as out:
            out.write(data)
        self._edited()
        return dst

    # -- photos from the till -------------------------------------------------------
    @property
    def till(self) -> TillReview:
        """Which frames from the till were reviewed (cursor, accepted, dropped)."""
        return TillReview(self.root)

    def add_till_photo(
        self, product_id: str, jpeg: bytes, model_version: str, feedback_id: str, *, by_owner: bool
    ) -> Path:
        """Store an accepted frame from the till, its bytes as the till sent them, as an
        added photo of ``product_id`` named after where it came from
        (``till-<served version>-<feedback id>.jpg``). Storing it again (a run cut short
        before its review was recorded) keeps the one file. ``by_owner``: the owner
        accepted it (an edit, for ``--debounce``); else ``sync --till-photos accept``."""
        if not by_owner and not (self.root / EDITED).exists():
            self._edited(self._edited_before_the_stamp() or 0.0)  # keep the owner's time
        dst = self._remember(product_id) / f"{till_photo_stem(model_version, feedback_id)}.jpg"
        if not dst.is_file():
            with paths.atomic_writer(dst) as out:
                out.write(jpeg)
        if by_owner:
            self._edited()
        return dst

    def remove_added(self, image: Path, *, by_owner: bool = True) -> None:
        """``by_owner``: an edit of the owner's (for ``--debounce``); False for a photo
        from the till that another run dropped while ``sync`` took it in."""
        image = Path(image)
        if self.root in image.parents:
            image.unlink(missing_ok=True)
            if str(image) in self.excluded_images:  # else nothing to save over others' edits
                self.excluded_images.discard(str(image))
                self._save()
            elif by_owner:
                self._edited()

    @staticmethod
    def _unique(folder: Path, stem: str, suffix: str) -> Path:
        # room for "-<n>" and the suffix (a name's limit is bytes, not letters)
        stem = paths.bounded_name(stem, paths.NAME_LIMIT - 16 - len(suffix.encode())) or "_"
        candidate = folder / f"{stem}{suffix}"
        n = 2
        while candidate.exists():
            candidate = folder / f"{stem}-{n}{suffix}"
            n += 1
        return candidate

    def _image_excluded(self, im: ImageRef, older: set[str]) -> bool:
        # str(path): choices saved before shop photos had an asset identity; ``older``:
        # the assets of choices kept by the key of 0.2.0 and before (_older_excluded)
        return (
            im.ident in self.excluded_images
            or str(im.path) in self.excluded_images
            or asset_of(im.ident) in older
        )

    # -- the catalogue the trainer sees ---------------------------------------------
    def apply(self, catalogue: Catalogue) -> Catalogue:
        """The catalogue with added photos and the owner's include/exclude choices.

        A folder of added photos that names no product (its folder name, when index.json
        was damaged and set aside before the folder kept its product's id) goes to the one
        product whose id gives that folder name: its photos were left out for good."""
        added = self.added_images()
        ids = {p.id for p in catalogue.products}
        strays = [k for k in added if k not in ids]
        by_folder: dict[str, list[str]] = {}
        for p in catalogue.products if strays else ():  # rare: not for every product always
            by_folder.setdefault(_safe_name(p.id), []).append(p.id)
            by_folder.setdefault(_added_name(p.id), []).append(p.id)
        for pid in strays:
            owners = by_folder.get(pid, [])
            if len(owners) == 1:
                added[owners[0]] = added.get(owners[0], []) + added.pop(pid)
        off = {pid for pid, _name in catalogue.disabled}  # said as disabled already
        orphaned = [
            (pid, len(added[pid]), added[pid][0].parent)
            for pid in strays
            if pid in added and pid not in off
        ]
        merged = replace(catalogue.with_extra_images(added), orphaned=orphaned)
        products, older = [], self._older_excluded()
        for p in merged.products:
            images = [replace(im, included=not self._image_excluded(im, older)) for im in p.images]
            products.append(replace(p, images=images, included=p.id not in self.excluded_products))
        return replace(merged, products=products)
