"""A cashier's correction or a taught product: store the frames, update the model.

The Test screen's "Right" / "No, it is…" and "Teach a product…" all end here, so the
rules are one: frames that cannot be a product photo (dark, blank, blurred; near
duplicates of a burst) are refused with their reason and never stored; a product
deleted from the shop since is refused by name; the kept frames update the local
model in place (:func:`app.core.teach.teach`, the same atomic export) and become added
photos of the product (:meth:`ChannelStore.add_rgb`, origin-marked), so every later
training and ``sync`` uses them. A product the model does not know yet (added to the
shop since its training) or a model the app cannot teach still gets its photos: the
next full training learns them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import AlreadyNamed, Cancelled, ModelFilesError, TrainerError
from .progress import ProgressHook, check_cancel, span

if TYPE_CHECKING:
    import numpy as np

    from .store import ChannelStore
    from .teach import TeachResult


class DeletedProduct(TrainerError):
    """The product is no longer in the shop's catalogue: nothing is stored or taught."""


@dataclass(frozen=True)
class Taught:
    """What one correction did: the stored photos, the refused frames, the update."""

    product_id: str
    stored: list[Path]
    refused: list[tuple[int, str]]  # (index among the frames given, why)
    result: TeachResult | None  # None: the model was not updated (``not_taught`` says why)
    not_taught: str
    seconds: float  # the whole correction: checks, update, storing


def store_and_teach(
    store: ChannelStore,
    model_dir: Path | None,
    product_id: str,
    frames: list[np.ndarray],
    *,
    origin: str,
    want: int | None = None,
    shop_products: Collection[str] | None = None,
    weights: Path | None = None,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
) -> Taught:
    """Teach ``product_id`` from ``frames`` and keep them as its added photos.

    ``want``: the frames are a burst (live camera, video, a taught product): keep at
    most this many varied sharp ones (:func:`pick_frames`); otherwise each frame is
    judged alone. ``shop_products``: the shop's product ids now, to refuse one deleted
    since (None: not known). Raises :class:`DeletedProduct`, or
    :class:`~app.core.teach.RefusedPhoto` when every frame is refused; nothing is
    stored then. Cancelled before the model's files are replaced: nothing changes.
    """
    from .frame_checks import frame_problem, pick_frames
    from .teach import RefusedPhoto, UnknownProduct, teach

    t0 = time.monotonic()
    if shop_products is not None and product_id not in shop_products:
        raise DeletedProduct(
            f"“{product_id}” is no longer one of the shop's products (deleted since the "
            "model was trained?): nothing was stored or taught"
        )
    if want is not None:
        picked = pick_frames(frames, want)
        kept, refused = picked.kept, list(picked.refused)
    else:
        refused = [(i, why) for i, f in enumerate(frames) if (why := frame_problem(f)) is not None]
        bad = {i for i, _ in refused}
        kept = [f for i, f in enumerate(frames) if i not in bad]
    if not kept:
        raise RefusedPhoto(
            "Not stored: " + "; ".join(why for _, why in refused[:3]),
            refused,
        )
    check_cancel(cancel)
    # The photos first, then the model: killed in between, the photos stay and the next
    # training uses them. The other way round (an audit of the app killed mid-work), the
    # model said "taught at the counter" and the next training dropped the correction.
    had = set(store.added_dir(product_id).glob("*"))  # this product's folder, not the shop's
    stored = [store.add_rgb(product_id, f, origin=origin) for f in kept]
    result: TeachResult | None = None
    not_taught = ""
    if model_dir is None:
        not_taught = "no model is open"
    else:
        try:
            result = teach(
                model_dir,
                product_id,
                kept,
                weights=weights,
                on_progress=span(on_progress, 0.0, 0.9),
                cancel=cancel,
            )
        except (UnknownProduct, ModelFilesError, AlreadyNamed) as exc:
            not_taught = str(exc)
        except Cancelled:  # nothing changes: the photos this correction stored go again
            for p in stored:
                if p not in had:
                    store.remove_added(p)
            raise
    return Taught(product_id, stored, refused, result, not_taught, time.monotonic() - t0)
