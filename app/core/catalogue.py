"""What the shop sells and which photos show each product.

A :class:`Catalogue` is a plain list of products with local image files. Both the
folder walk below and the shop-server client (``app.core.shop``) produce one; the
dataset loader (``app.core.dataset``) decodes it. Keeping these apart lets the
same training code run from a folder, a Vendure channel or the GUI's edits.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from .names import readable_name


def _pillow_reads(fmt: str) -> bool:
    try:
        from PIL import features

        return bool(features.check(fmt))
    except (ImportError, ValueError):  # pragma: no cover - older Pillow
        return False


# The one list of photo file suffixes: True = we decode it; False = a photo we
# recognise but cannot read (a phone's HEIC, a camera's raw file). Those are kept in
# the catalogue so the photo check lists them as "not a supported format" instead of
# the folder walk ignoring them.
IMAGE_FORMATS: dict[str, bool] = {
    **dict.fromkeys((".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"), True),
    **dict.fromkeys((".jfif", ".jpe", ".pjpeg", ".pjp"), True),  # JPEG (Chrome on Windows)
    ".avif": _pillow_reads("avif"),
    **dict.fromkeys((".heic", ".heif", ".jxl", ".dng", ".cr2", ".cr3", ".nef", ".arw"), False),
    **dict.fromkeys((".orf", ".rw2", ".raf", ".raw", ".svg"), False),
}
IMAGE_SUFFIXES = {s for s, readable in IMAGE_FORMATS.items() if readable}
UNSUPPORTED_IMAGE_SUFFIXES = {s for s, readable in IMAGE_FORMATS.items() if not readable}
# Files the operating system writes into photo folders (hidden on Windows, not by name).
SYSTEM_FILES = {"thumbs.db", "ehthumbs.db", "desktop.ini"}


def listed_in_folder(f: Path, top: Path) -> bool:
    """Whether the folder walk hands ``f`` (under ``top``) to the photo check: every file
    and link, whatever its name, except hidden and system files. The photo check decides
    by content and names a reason for each one it cannot use (a ``.jfif`` or a JPEG
    without an extension is used; a link to nothing or a text file is listed)."""
    rel = f.relative_to(top).parts
    if any(part.startswith(".") for part in rel) or f.name.lower() in SYSTEM_FILES:
        return False
    # a link to nothing is listed (the check says so); pipes and devices are not opened
    return f.is_file() or (f.is_symlink() and not f.exists())


# Where a photo came from (ImageRef.origin). The values predate the one spelling and
# the app's screens key on them, so they stay as they are.
FROM_FOLDER = "folder"  # a product folder on this computer
FROM_SHOP = "catalog"  # the shop server's catalogue
ADDED = "added"  # added by the owner (files, webcam, the Test screen)


def shop_photo_key(asset_id: str, file_path: str, file_size: int | None) -> str:
    """A shop photo's identity: ``asset:<id>:file-<digest of its file's path and size>``.

    Up to 0.2.0 it was ``asset:<id>:<updatedAt>``, which an edit of the asset's name,
    focal point or tags changes though the photo does not: a focal point set in the
    shop's admin made ``sync`` retrain and publish the same photos, and re-ticked a photo
    the owner had unticked. Keys of that form still match by asset (:func:`same_photo`)."""
    digest = hashlib.blake2b(f"{file_path}|{file_size or ''}".encode(), digest_size=8)
    return f"asset:{asset_id}:file-{digest.hexdigest()}"


def asset_of(key: str) -> str | None:
    """The asset id of a shop photo's key (of either form); None for any other photo."""
    parts = key.split(":", 2)
    return parts[1] if len(parts) == 3 and parts[0] == "asset" else None


def older_shop_key_asset(key: str) -> str | None:
    """The asset id of a shop photo's key of 0.2.0 and before (``asset:<id>:<updatedAt>``);
    None for any other key."""
    asset = asset_of(key)
    return asset if asset is not None and not key.split(":", 2)[2].startswith("file-") else None


def same_photo(key: str, older_assets: set[str]) -> str:
    """``key`` as compared with a record that holds keys of 0.2.0 and before, whose assets
    are ``older_assets``: such a key and any key of the same asset read ``asset:<id>``."""
    asset = asset_of(key)
    return f"asset:{asset}" if asset is not None and asset in older_assets else key


@dataclass(frozen=True)
class ImageRef:
    path: Path
    origin: str = FROM_FOLDER  # FROM_FOLDER | FROM_SHOP | ADDED
    included: bool = True
    # Identity of the photo without reading it, for the catalogue fingerprint and the
    # owner's ticks: shop photos "asset:<id>:file-<digest>" (shop_photo_key), owner-added
    # and folder photos "" (hashed instead).
    key: str = ""
    # the name the owner knows the photo by where its file name is not it: a shop
    # photo's file name on the server (the cached copy is named by a hash)
    label: str = ""
    stamp: str = ""  # a shop photo's last change on the server (ISO 8601): its date shown

    @property
    def ident(self) -> str:
        """What the owner's include/exclude choice is remembered by: stable across
        re-downloads for shop photos (the asset), the file path otherwise."""
        return self.key or str(self.path)


@dataclass
class Product:
    id: str  # label written to metadata.json: the Vendure product ID
    name: str = ""
    images: list[ImageRef] = field(default_factory=list)
    included: bool = True

    @property
    def display_name(self) -> str:
        return readable_name(self.name, self.id)

    def active_images(self) -> list[ImageRef]:
        return [im for im in self.images if im.included]


@dataclass
class Catalogue:
    products: list[Product] = field(default_factory=list)
    channel_id: str = ""
    source: str = ""  # folder path or server URL, for messages
    # photos beside the product folders, in none of them: reported, never trained
    loose: list[Path] = field(default_factory=list)
    # folders (or links) beside the product folders that cannot be products: (the
    # folder's name as text, why)
    unusable_folders: list[tuple[str, str]] = field(default_factory=list)
    # a shop's photos listed but not downloaded (HTTP 404, not an image, too large):
    # (product id, why), one per product that shows the photo
    not_downloaded: list[tuple[str, str]] = field(default_factory=list)
    # a shop's products disabled there, never trained (Vendure refuses to sell them, so
    # the till could not add one it named): (product id, name)
    disabled: list[tuple[str, str]] = field(default_factory=list)
    # a folder's products whose photos all sit in two or more sub-folders (perhaps a
    # folder of product folders, opened one level too high): (product id, sub-folders)
    nested: list[tuple[str, list[str]]] = field(default_factory=list)
    # photos the owner added of products no longer in the catalogue (deleted, renamed,
    # a new id): (product id, how many, their folder); kept, not trained, reported
    orphaned: list[tuple[str, int, Path]] = field(default_factory=list)

    def active(self) -> list[Product]:
        return [p for p in self.products if p.included]

    def names(self) -> dict[str, str]:
        return {pid: readable_name(name, pid) for pid, name in self.disabled} | {
            p.id: p.display_name for p in self.products
        }

    def with_extra_images(self, extra: dict[str, list[Path]]) -> Catalogue:
        """A copy with owner-added photos appended to their products."""
        out = []
        for p in self.products:
            add = [ImageRef(x, ADDED) for x in extra.get(p.id, [])]
            out.append(replace(p, images=list(p.images) + add))
        return replace(self, products=out)


def catalogue_from_folder(root: Path | str) -> Catalogue:
    """One sub-folder per product (folder name = product ID), images inside.

    Hidden and system files are ignored; images may sit in nested folders, linked ones
    included. Every other file is kept, whatever its suffix, for the photo check to use
    or report; a folder that cannot be a product is reported (``unusable_folders``).
    """
    from .errors import DatasetError

    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"Image folder not found: {root}")
    products, unusable, nested = [], [], []
    top = os.path.realpath(root)
    for sub in sorted(root.iterdir()):
        raw = os.fsencode(sub.name)  # the name's bytes, whatever the locale decoded
        shown = raw.decode("utf-8", "replace")
        if sub.name.startswith("."):
            if _holds_photos(sub):  # else .git, a thumbnail cache: no slip
                unusable.append((shown, "hidden (its name starts with a dot): rename it"))
        elif sub.is_symlink() and not sub.exists():  # to nothing, or to itself
            unusable.append((shown, "a link to a folder that does not exist"))
        elif not sub.is_dir():
            continue  # a file: a loose photo below, or a README
        elif sub.is_symlink() and Path(top).is_relative_to(os.path.realpath(sub)):
            # every file above would be one product's photos
            unusable.append((shown, "a link to this photo folder or a folder above it"))
        elif shown != _utf8(raw):
            unusable.append((shown, "its name is not valid text (UTF-8): rename the folder"))
        else:  # by its UTF-8 name: a Latin-1 locale decoded "Äpfel" as "Ã\x84pfel"
            images = [ImageRef(f) for f in _files_under(sub) if listed_in_folder(f, sub)]
            products.append(Product(id=shown, name=shown, images=images))
            inner = _photo_subfolders(sub, [im.path for im in images])
            if len(inner) >= 2:
                nested.append((shown, inner))
    if not products:
        why = "; ".join(f"{name}: {why}" for name, why in unusable[:5])
        raise DatasetError(
            f"No product folders in {root}: put each product's photos in a sub-folder "
            "named after the product." + (f" Not used: {why}." if why else "")
        )
    # photos only: a README or LICENSE beside the folders (the sample shop's) is no slip
    loose = [
        f
        for f in sorted(root.iterdir())
        if listed_in_folder(f, root) and f.suffix.lower() in IMAGE_FORMATS
    ]
    return Catalogue(
        products=products,
        source=str(root),
        loose=loose,
        unusable_folders=unusable,
        nested=nested,
    )


def _utf8(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _holds_photos(folder: Path) -> bool:
    try:
        return folder.is_dir() and any(
            f.suffix.lower() in IMAGE_FORMATS for f in folder.iterdir() if f.is_file()
        )
    except OSError:
        return False


def _photo_subfolders(product: Path, files: list[Path]) -> list[str]:
    """The sub-folders holding a product's photos when none sits in the product's own
    folder: ``My photos/Shop/{Banana,Kiwi}`` opened one level too high reads as one
    product "Shop" of mixed photos, trained without a word."""
    parts = [f.relative_to(product).parts for f in files if f.suffix.lower() in IMAGE_FORMATS]
    if any(len(p) == 1 for p in parts):
        return []
    return sorted({p[0] for p in parts})


def _files_under(top: Path) -> list[Path]:
    """Every file and link under ``top``, into linked folders too (``rglob`` does not
    follow them: their photos went unused and unreported); each real folder once, so a
    link to a folder above it cannot loop."""
    out: list[Path] = []
    seen: set[str] = set()
    for folder, subs, names in os.walk(top, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            subs[:] = []
            continue
        seen.add(real)
        subs[:] = [d for d in subs if not d.startswith(".")]
        out += [Path(folder) / n for n in names]
    return sorted(out)
