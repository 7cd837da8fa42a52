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

from ..catalogue import Catalogue
from ..errors import TrainerError
from ..progress import ProgressHook

if TYPE_CHECKING:
    from ..dataset import Dataset, DatasetReport, SkippedPhoto

__all__ = ["FolderPhotos", "PhotoCheck", "check_photos", "photos_in_folder"]


@dataclass(frozen=True)
class PhotoCheck:
    """What the check found: the training set and the report of what is not used."""

    dataset: Dataset
    report: DatasetReport

    @property
    def skipped(self) -> list[SkippedPhoto]:
        """Every photo not trained on, with why (one record per photo)."""
        return self.report.skipped_photos()


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
    if not found.frames:
        raise TrainerError(f"{what}: no photos in {folder}")
    return FolderPhotos(list(found.frames), list(found.skipped))
