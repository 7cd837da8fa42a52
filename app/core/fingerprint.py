"""What a model was trained on, and what changed in the catalogue since.

An export records, per product id, the identity of every photo it was given
(``catalogFingerprint`` in ``metadata.json``): shop photos by asset and file (known
from the product list alone, no download), photos the owner added and
folder photos by content hash. Comparing that record with the catalogue as it is now
tells the owner "3 new products, 1 removed, 5 changed photos" and lets ``sync`` skip
a training when nothing changed, without loading TensorFlow or downloading photos.

The record lists the *input* (every photo the owner left ticked), not only the
photos that decoded: a broken photo would otherwise look "changed" on every run. Beside
the products it keeps the shop's look the training was given (``look``: its counter
frames and photos of its empty counter, by content): frames taken in the app change the
model as much as a photo does, and ``sync`` never retrained for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .catalogue import Catalogue, ImageRef, older_shop_key_asset, same_photo
from .input_size import DEFAULT_IMAGE_SIZE, older_input

METADATA_KEY = "catalogFingerprint"
FORMAT = 1

Fingerprint = dict[str, list[str]]  # product id -> sorted photo identities
Look = dict[str, list[str]]  # LOOK_PARTS key -> sorted file identities
# what a shop's look is made of, and how a change of each is said
LOOK_PARTS = {"counterFrames": "counter frames", "notProducts": "photos of the empty counter"}


def photo_identity(ref: ImageRef, digests: Mapping[Path, str] | None = None) -> str:
    """``asset:<id>:file-<digest>`` for shop photos (:func:`~app.core.catalogue.shop_photo_key`),
    ``file:<content hash>`` otherwise."""
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


def of_look(counter_frames: Sequence[Path], not_products: Sequence[Path]) -> Look:
    """The shop's look a training is given, by content (a file gone since is left out)."""
    from .images import file_digest

    def ids(files: Sequence[Path]) -> list[str]:
        out = set()
        for f in files:
            try:
                out.add(f"file:{file_digest(Path(f))}")
            except OSError:
                continue
        return sorted(out)

    return {"counterFrames": ids(counter_frames), "notProducts": ids(not_products)}


def to_metadata(fp: Fingerprint, look: Look | None = None) -> dict[str, Any]:
    return {"format": FORMAT, "products": fp, **({"look": look} if look is not None else {})}


def look_from_metadata(metadata: Mapping[str, Any] | None) -> Look | None:
    """The shop's look a model was given; None for models that do not record it."""
    raw = (metadata or {}).get(METADATA_KEY)
    look = raw.get("look") if isinstance(raw, dict) else None
    if not isinstance(look, dict):
        return None
    return {k: sorted(str(x) for x in v) for k, v in look.items() if isinstance(v, list)}


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
    look: tuple[str, ...] = ()  # the parts of the shop's look that changed (LOOK_PARTS)
    # the input side of a model this trainer made before it trained at another (224
    # before 0.2.0): a training now makes a better model of the same photos
    older_input: int | None = None

    @property
    def up_to_date(self) -> bool:
        return not (
            self.unknown
            or self.new_products
            or self.removed_products
            or self.changed_photos
            or self.look
            or self.older_input
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
        parts += [f"new {LOOK_PARTS[k]}" for k in self.look]
        if self.older_input:
            parts.append(
                f"a more accurate way to train (photos at {DEFAULT_IMAGE_SIZE} px, this model's at "
                f"{self.older_input} px)"
            )
        return ", ".join(parts) or "no changes"


def compare(
    current: Fingerprint,
    trained: Fingerprint | None,
    look: Look | None = None,
    trained_look: Look | None = None,
) -> Changes:
    """The catalogue (and, when both are known, the shop's look) now versus a model's
    record; a model that does not record its look is not retrained for it."""
    if trained is None:
        return Changes(unknown=True)
    looks = [] if look is None or trained_look is None else list(LOOK_PARTS)
    looked = tuple(k for k in looks if set(look.get(k, [])) != set(trained_look.get(k, [])))
    new = sorted(set(current) - set(trained))
    removed = sorted(set(trained) - set(current))
    changed, photos = [], 0
    for pid in sorted(set(current) & set(trained)):
        now, then = set(current[pid]), set(trained[pid])
        older = {a for k in then if (a := older_shop_key_asset(k)) is not None}
        if older:  # recorded by 0.2.0 or before: its shop photos compare by asset
            now, then = {same_photo(k, older) for k in now}, {same_photo(k, older) for k in then}
        if now != then:
            changed.append(pid)
            # a replaced photo is one change, not an addition plus a removal
            photos += max(len(now - then), len(then - now))
    return Changes(new, removed, changed, photos, look=looked)


def compare_with(current: Fingerprint, look: Look | None, metadata: Mapping[str, Any]) -> Changes:
    """:func:`compare` with a model's ``metadata.json``: its products, its look, and
    whether this trainer made it at an older input size. A model taught at the counter
    since its training is not retrained for the size alone: ``teach`` keeps no photos,
    so that would drop the corrections (the next change of the catalogue retrains it)."""
    changes = compare(current, from_metadata(metadata), look, look_from_metadata(metadata))
    if changes.unknown or metadata.get("taught"):
        return changes
    return replace(changes, older_input=older_input(metadata))
