"""One line of the Test screen's "No, it is…" list and the teach dialog's product list.

Plain Python (no Qt): which products to offer, in which order, with what note.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.names import sort_key

if TYPE_CHECKING:
    from app.core.flows.open_source import Catalogue

NOT_IN_MODEL = "not in the model yet"
DELETED = "no longer in the shop"
NOTE_TIPS = {
    NOT_IN_MODEL: "The photo is stored now; the next training (Train) learns this product",
    DELETED: "Deleted from the shop since the model was trained: nothing can be stored",
}


@dataclass(frozen=True)
class Choice:
    """One line of "No, it is…": the product, the model's score if in its top 3, a note."""

    product_id: str
    name: str
    probability: float | None
    note: str


def product_choices(
    top: Sequence[tuple[str, float]],
    names: dict[str, str],
    labels: Sequence[str],
    display: Callable[[str], str],
) -> list[Choice]:
    """The model's top answers first, then every product of the shop by name. ``names``:
    the shop's products now (empty when not known); ``labels``: the model's products."""
    known = set(labels)
    shop = set(names)

    def note(pid: str) -> str:
        if shop and pid not in shop:
            return DELETED
        return "" if pid in known else NOT_IN_MODEL

    first = [Choice(pid, display(pid), p, note(pid)) for pid, p in top]
    seen = {c.product_id for c in first}
    pool = names.keys() if names else labels
    rest = sorted(
        (Choice(pid, display(pid), None, note(pid)) for pid in pool if pid not in seen),
        key=lambda c: (sort_key(c.name), c.product_id),
    )
    return first + rest


def first_photos(catalogue: Catalogue | None, most: int = 3) -> dict[str, tuple[Path, ...]]:
    """Each product's first photos (ticked ones first; at most ``most``), for its
    thumbnail in the list: the first that can be read is shown (a shop's featured photo,
    a folder's first file, else the first photo the owner added)."""
    out: dict[str, tuple[Path, ...]] = {}
    for product in catalogue.products if catalogue is not None else ():
        ticked = product.active_images()
        rest = [im for im in product.images if not im.included]
        if photos := tuple(im.path for im in [*ticked, *rest][:most]):
            out[product.id] = photos
    return out
