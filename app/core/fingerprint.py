"""What a model was trained on, and what changed in the catalogue since.

An export records, per product id, the identity of every photo it was given
(``catalogFingerprint`` in ``metadata.json``): shop photos by asset id and change
stamp (known from the product list alone, no download), photos the owner added and
folder photos by content hash. Comparing that record with the catalogue as it is now
tells the owner "3 new products, 1 removed, 5 changed photos" and lets ``sync`` skip
a training when nothing changed, without loading TensorFlow or downloading photos.

The record lists the *input* (every photo the owner left ticked), not only the
photos that decoded: a broken photo would otherwise look "changed" on every run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .catalogue import Catalogue, ImageRef

METADATA_KEY = "catalogFingerprint"
FORMAT = 1

Fingerprint = dict[str, list[str]]  # product id -> sorted photo identities


def photo_identity(ref: ImageRef, digests: Mapping[Path, str] | None = None) -> str:
    """``asset:<id>:<updatedAt>`` for shop photos, ``file:<content hash>`` otherwise."""
    if ref.key:
        return ref.key
    digest = (digests or {}).get(ref.path)
    if digest is None:
        from .images import file_digest  # numpy: not at the window's start-up

        try:
            digest = file_digest(ref.path)
        except OSError:
            return f"missing:{ref.path.name}"
    return f"file:{digest}"


def of_catalogue(catalogue: Catalogue, digests: Mapping[Path, str] | None = None) -> Fingerprint:
    """The photos the trainer is given: included products with at least one ticked photo.

    ``digests`` (path -> content hash, from the dataset check) saves hashing twice.
    """
    out: Fingerprint = {}
    for product in catalogue.active():
        ids = sorted(photo_identity(im, digests) for im in product.active_images())
        if ids:
            out[product.id] = ids
    return out


def to_metadata(fp: Fingerprint) -> dict[str, Any]:
    return {"format": FORMAT, "products": fp}


def from_metadata(metadata: Mapping[str, Any] | None) -> Fingerprint | None:
    """The record in a model's metadata; None for models without one (older, or TM's)."""
    raw = (metadata or {}).get(METADATA_KEY)
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        return None
    products = raw.get("products")
    if not isinstance(products, dict):
        return None
    return {
        str(pid): sorted(str(x) for x in ids)
        for pid, ids in products.items()
        if isinstance(ids, list)
    }


@dataclass(frozen=True)
class Changes:
    """The catalogue now versus what a model was trained on."""

    new_products: list[str] = field(default_factory=list)
    removed_products: list[str] = field(default_factory=list)
    changed_products: list[str] = field(default_factory=list)
    changed_photos: int = 0
    unknown: bool = False  # the model does not record what it was trained on

    @property
    def up_to_date(self) -> bool:
        return not (
            self.unknown or self.new_products or self.removed_products or self.changed_photos
        )

    def summary(self) -> str:
        """``3 new products, 1 removed, 5 changed photos`` (or ``no changes``)."""
        if self.unknown:
            return "the model does not record which photos it was trained on"
        parts = []
        if self.new_products:
            n = len(self.new_products)
            parts.append(f"{n} new product{'s' if n != 1 else ''}")
        if self.removed_products:
            parts.append(f"{len(self.removed_products)} removed")
        if self.changed_photos:
            n = self.changed_photos
            parts.append(f"{n} changed photo{'s' if n != 1 else ''}")
        return ", ".join(parts) or "no changes"


def compare(current: Fingerprint, trained: Fingerprint | None) -> Changes:
    if trained is None:
        return Changes(unknown=True)
    new = sorted(set(current) - set(trained))
    removed = sorted(set(trained) - set(current))
    changed, photos = [], 0
    for pid in sorted(set(current) & set(trained)):
        now, then = set(current[pid]), set(trained[pid])
        if now != then:
            changed.append(pid)
            # a replaced photo is one change, not an addition plus a removal
            photos += max(len(now - then), len(then - now))
    return Changes(new, removed, changed, photos)
