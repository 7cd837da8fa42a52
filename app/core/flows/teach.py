"""Teach a model photos of one product at once, in place (no full training).

What a correction at the till does (:func:`app.core.teach.teach`): the photos'
features go through the model's frozen base, only the product layer is updated, and
the three files pass the same validation and atomic swap as a training. A photo that
cannot be read, or is dark, blank or blurred, is refused with its reason.

The app's Test screen teaches from pictures rather than files: a cashier's answer
("Right", "No, it is…") or a product held up to the camera (:func:`teach_at_the_counter`,
which also keeps the pictures as the product's added photos).
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BaseWeightsError, ImageError, TrainerError
from ..names import name_key
from ..progress import ProgressHook

if TYPE_CHECKING:
    import numpy as np

    from ..correction import Taught
    from ..frame_checks import PickedFrames
    from ..store import ChannelStore
    from ..teach import TeachResult

__all__ = [
    "PhotosRefused",
    "TeachOutcome",
    "TeachRequest",
    "own_picture_problem",
    "pick_frames",
    "prepare_teaching",
    "teach_at_the_counter",
    "teach_photos",
]

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


def product_named(names: dict[str, str], given: str) -> str:
    """The product id ``given`` stands for: an id of the model, or the id or name the
    model lists for exactly one product as a person reads it (``--product Banana`` where
    the labels are the shop's ids was "not one of this model's products", and ``Café``
    typed on Linux was not the ``Café`` a Mac's folder named); else ``given`` as it is."""
    if given in names:
        return given
    key = name_key(given)
    hits = [pid for pid in names if name_key(pid) == key]
    hits = hits or [pid for pid, name in names.items() if name_key(str(name)) == key]
    return hits[0] if len(hits) == 1 else given


def teach_photos(
    request: TeachRequest,
    *,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
) -> TeachOutcome:
    """Teaches the photos that can be used; :class:`PhotosRefused` when none can. The
    model folder is checked before any photo is read or TensorFlow loaded."""
    from ..images import file_digest
    from ..modelfiles import validate_model_dir
    from ..outdir import check_not_here
    from ..paths import resolved
    from ..photo_check import read_photo
    from ..teach import RefusedPhoto, teach

    meta = validate_model_dir(request.model_dir)
    check_not_here(resolved(request.model_dir))  # the model is swapped in whole
    folders = [p for p in request.photos if p.is_dir()]
    if folders:
        raise ImageError(
            f"{folders[0]} is a folder: give the photos in it ({folders[0] / '*.jpg'}, say)"
        )
    missing = [p for p in request.photos if not p.is_file()]
    if missing:
        raise ImageError(f"Photo not found: {', '.join(map(str, missing))}")
    weights = request.base_weights
    if weights is not None and not weights.is_file():
        raise BaseWeightsError(f"Base weights file not found: {weights}")
    images, used, refused = [], [], []
    seen: dict[str, Path] = {}
    for path in request.photos:
        try:  # the same photo twice (or two copies) counts once
            digest = file_digest(path)
        except OSError:  # unreadable: read_photo below says why
            digest = f"unreadable:{path}"
        if digest in seen:
            refused.append((path, f"the same photo as {seen[digest].name} (used once)"))
            continue
        seen[digest] = path
        try:
            images.append(read_photo(path))
            used.append(path)
        except ImageError as exc:
            refused.append((path, str(exc).split(": ", 1)[-1]))
    if not images:
        raise PhotosRefused(refused)
    names = dict(zip(meta["labels"], meta.get("labelNames") or meta["labels"], strict=False))
    try:
        result = teach(
            request.model_dir,
            product_named(names, request.product),
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
        names.get(result.product_id, result.product_id),
        names.get(result.before or "", result.before),
        names.get(result.after or "", result.after),
        refused,
    )


def prepare_teaching(model_dir: Path, weights: Path | None = None) -> bool:
    """Build the base model a teach of this model needs, before the first correction
    (about 2 s in a fresh process: the whole budget of one). Never downloads; False
    when the model is not the app's or its base weights are not on this computer."""
    from ..teach import prepare

    return prepare(model_dir, weights)


def pick_frames(frames: list[np.ndarray], want: int) -> PickedFrames:
    """From a burst of camera or video pictures: the varied sharp ones worth teaching
    (at most ``want``), and every other one with why (blurred, dark, a near copy…)."""
    from ..frame_checks import pick_frames as pick

    return pick(frames, want)


def teach_at_the_counter(
    store: ChannelStore,
    model_dir: Path | None,
    product_id: str,
    frames: list[np.ndarray],
    *,
    answer: bool,
    keep: int | None = None,
    shop_products: Collection[str] | None = None,
    weights: Path | None = None,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
) -> Taught:
    """Teach ``product_id`` from pictures and keep them as its added photos.

    ``answer``: a cashier's answer on the Test screen (else pictures a teach dialog
    picked); ``keep``: the pictures are a burst, of which at most this many varied
    sharp ones are kept. ``shop_products``: the shop's products now (one deleted since
    is refused). See :func:`app.core.correction.store_and_teach` for what is raised."""
    from ..correction import store_and_teach
    from ..store import TAUGHT, TEST_SCREEN

    return store_and_teach(
        store,
        model_dir,
        product_id,
        frames,
        origin=TEST_SCREEN if answer else TAUGHT,
        want=keep,
        shop_products=shop_products,
        weights=weights,
        on_progress=on_progress,
        cancel=cancel,
    )


def own_picture_problem(taught: Taught) -> str | None:
    """Why the answered picture itself (the first one) was not kept, when that was
    about the picture (dark, blurred…) rather than its neighbours being enough or
    alike; None when it was kept."""
    from ..frame_checks import DUPLICATE, ENOUGH

    own = dict(taught.refused).get(0)
    return None if own in (None, DUPLICATE, ENOUGH) else own
