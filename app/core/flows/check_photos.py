"""Check photos: which photos training can use, and why not the others.

The Products screen's check and every training start here; the result is handed on
to :func:`.train.train` so the photos are not checked twice. A flat folder given as
counter frames or as photos of the empty counter is checked the same way.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..catalogue import FROM_SHOP, IMAGE_SUFFIXES, Catalogue, Product
from ..errors import DatasetError, TooFewProducts, TrainerError
from ..progress import ProgressHook
from ..training_cost import ShopShape

if TYPE_CHECKING:
    from ..dataset import Dataset, DatasetReport, SkippedPhoto

__all__ = [
    "IMAGE_SUFFIXES",
    "CheckOutcome",
    "FolderPhotos",
    "NotUsed",
    "PhotoCheck",
    "TrainingScope",
    "check_or_refusal",
    "check_photos",
    "not_used",
    "photos_in_folder",
    "scope_line",
    "training_scope",
]


@dataclass(frozen=True)
class PhotoCheck:
    """What the check found: the training set and the report of what is not used."""

    dataset: Dataset
    report: DatasetReport

    @property
    def skipped(self) -> list[SkippedPhoto]:
        """Every photo not trained on, with why (one record per photo)."""
        return self.report.skipped_photos()


@dataclass(frozen=True)
class NotUsed:
    """What a check found it cannot train on among the ticked photos, by ``str(path)``:
    each with its record (``kind``, ``reason``, ``plain``, ``same_as``)."""

    unreadable: dict[str, SkippedPhoto]
    duplicates: dict[str, SkippedPhoto]  # each used once: the copy is not
    conflicts: list[tuple[Path, Path]]  # the same photo filed under two products

    def get(self, path: Path | str) -> SkippedPhoto | None:
        key = str(path)
        return self.duplicates.get(key) or self.unreadable.get(key)

    def __contains__(self, path: object) -> bool:
        return str(path) in self.unreadable or str(path) in self.duplicates


NOTHING_FOUND = NotUsed({}, {}, [])


def not_used(report: DatasetReport | None) -> NotUsed:
    """The photos a check (``report``; None: none yet) found training cannot use."""
    if report is None:
        return NOTHING_FOUND
    from ..dataset import SkipKind

    skipped = report.skipped_photos()
    return NotUsed(
        {str(s.path): s for s in skipped if s.kind is SkipKind.UNREADABLE},
        {str(s.path): s for s in skipped if s.kind is SkipKind.DUPLICATE},
        list(report.conflicts),
    )


@dataclass(frozen=True)
class TrainingScope:
    """What a training of a catalogue would use, as far as the last check knows."""

    products: list[Product]  # included, with at least one usable photo
    photos: int  # their usable photos
    usable: dict[str, int]  # usable photos per included product (0: none)
    shape: ShopShape  # for the time estimate: the shop server's photos as catalogue shots


def training_scope(catalogue: Catalogue, report: DatasetReport | None = None) -> TrainingScope:
    """The included products and photos a training would use: every ticked photo, less
    those the last check (``report``) found it cannot use."""
    skip = not_used(report)
    active = catalogue.active()
    used = {p.id: [im for im in p.active_images() if im.path not in skip] for p in active}
    usable = {pid: len(ims) for pid, ims in used.items()}
    products = [p for p in active if usable[p.id]]
    shape = ShopShape.of(
        [usable[p.id] for p in products],
        [sum(im.origin == FROM_SHOP for im in used[p.id]) for p in products],
    )
    return TrainingScope(products, sum(usable[p.id] for p in products), usable, shape)


def scope_line(scope: TrainingScope, products: int, *, refused: bool = False) -> str:
    """What a training would use, in a line (the Products screen's foot); ``refused``:
    the check found fewer than two products with usable photos, so none will be
    trained (it said "2 of 2 products will be trained" beside the refusal)."""
    n = len(scope.products)
    if refused and n < 2:
        return f"{n} of {products} products have photos training can use · it needs two"
    return f"{n} of {products} products will be trained · {scope.photos} photos"


def check_photos(
    catalogue: Catalogue,
    *,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
) -> PhotoCheck:
    """Checks every ticked photo of ``catalogue`` (an opened source's ``catalogue``);
    :class:`~app.core.errors.DatasetError` when fewer than two products remain."""
    from ..pipeline import check_photos as build

    dataset = build(catalogue, on_progress=on_progress, cancel=cancel)
    return PhotoCheck(dataset, dataset.report)


@dataclass(frozen=True)
class CheckOutcome:
    """A check as the Products screen shows it: passed, or refused with what it found."""

    check: PhotoCheck | None  # None: refused (fewer than two products with usable photos)
    problem: str  # the refusal in the owner's words; "" when the check passed
    report: DatasetReport | None  # the photos it cannot use, and why: either way


def check_or_refusal(
    catalogue: Catalogue,
    *,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
) -> CheckOutcome:
    """:func:`check_photos`, with a refusal as an outcome that keeps what the check found
    of the photos: a shop whose photos are mostly placeholders showed only the refusal,
    and its list no photo marked as not used."""
    from ..dataset import DatasetReport

    try:
        check = check_photos(catalogue, on_progress=on_progress, cancel=cancel)
    except DatasetError as exc:
        found = exc.report if isinstance(exc, TooFewProducts) else None
        return CheckOutcome(None, str(exc), found if isinstance(found, DatasetReport) else None)
    return CheckOutcome(check, "", check.report)


@dataclass(frozen=True)
class FolderPhotos:
    """The photos of a flat folder, and each file there that is not one, with why."""

    photos: list[Path]
    skipped: list[tuple[Path, str]]


def photos_in_folder(folder: Path, what: str) -> FolderPhotos:
    """A flat folder of photos (counter frames, the empty counter), checked before any
    work: a missing folder or one without a photo is one line naming ``what``."""
    from ..counter_frames import frames_in_folder

    if not folder.is_dir():
        raise TrainerError(f"{what}: {folder} is not a folder")
    found = frames_in_folder(folder)
    if not found.frames:  # say why, or "no photos" beside a folder full of them puzzles
        why = "; ".join(f"{p.name} — {reason}" for p, reason in found.skipped[:3])
        more = f"; {len(found.skipped) - 3} more" if len(found.skipped) > 3 else ""
        raise TrainerError(f"{what}: no photos in {folder}" + (f" ({why}{more})" if why else ""))
    return FolderPhotos(list(found.frames), list(found.skipped))
