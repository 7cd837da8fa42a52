"""Teach a model photos of one product at once, in place (no full training).

What a correction at the till does (:func:`app.core.teach.teach`): the photos'
features go through the model's frozen base, only the product layer is updated, and
the three files pass the same validation and atomic swap as a training. A photo that
cannot be read, or is dark, blank or blurred, is refused with its reason.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BaseWeightsError, ImageError, TrainerError
from ..progress import ProgressHook

if TYPE_CHECKING:
    from ..teach import TeachResult

__all__ = ["PhotosRefused", "TeachOutcome", "TeachRequest", "teach_photos"]

NOTHING_USED = "No photo could be used."


class PhotosRefused(TrainerError):
    """No photo could be used; ``refused`` names each with why (nothing was changed)."""

    def __init__(self, refused: list[tuple[Path, str]]) -> None:
        super().__init__(NOTHING_USED)
        self.refused = refused


@dataclass(frozen=True)
class TeachRequest:
    model_dir: Path
    product: str  # the product the photos show (a label of the model)
    photos: list[Path]
    base_weights: Path | None = None  # the base model's weights (default: as training)


@dataclass(frozen=True)
class TeachOutcome:
    result: TeachResult
    product_name: str  # the product's name in the model ("" where it records none)
    before: str | None  # the first used photo's top-1 before the update, by name
    after: str | None  # ... and after
    refused: list[tuple[Path, str]] = field(default_factory=list)  # photos not used, why

    @property
    def label(self) -> str:
        """ "42 (Oat milk)", or the id alone where the model names it so."""
        product = self.result.product_id
        name = self.product_name or product
        return product if name == product else f"{product} ({name})"


def teach_photos(
    request: TeachRequest,
    *,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
) -> TeachOutcome:
    """Teaches the photos that can be used; :class:`PhotosRefused` when none can. The
    model folder is checked before any photo is read or TensorFlow loaded."""
    from ..images import load_rgb
    from ..modelfiles import validate_model_dir
    from ..teach import RefusedPhoto, teach

    meta = validate_model_dir(request.model_dir)
    missing = [p for p in request.photos if not p.is_file()]
    if missing:
        raise ImageError(f"Photo not found: {', '.join(map(str, missing))}")
    weights = request.base_weights
    if weights is not None and not weights.is_file():
        raise BaseWeightsError(f"Base weights file not found: {weights}")
    images, used, refused = [], [], []
    for path in request.photos:
        try:
            images.append(load_rgb(path))
            used.append(path)
        except ImageError as exc:
            refused.append((path, str(exc).split(": ", 1)[-1]))
    if not images:
        raise PhotosRefused(refused)
    names = dict(zip(meta["labels"], meta.get("labelNames") or meta["labels"], strict=False))
    try:
        result = teach(
            request.model_dir,
            request.product,
            images,
            weights=weights,
            on_progress=on_progress,
            cancel=cancel,
        )
    except RefusedPhoto as exc:
        raise PhotosRefused(refused + [(used[i], why) for i, why in exc.reasons]) from None
    refused += [(used[i], why) for i, why in result.refused]
    return TeachOutcome(
        result,
        names.get(request.product, request.product),
        names.get(result.before or "", result.before),
        names.get(result.after or "", result.after),
        refused,
    )
