"""What each product was trained from and how reliable it is expected to be (issue 15).

A training ranks every product (:mod:`app.core.photo_advice`): catalogue photo only or
how many counter photos, the share of its counter photos it should be recognised on,
and "photograph these first" — the largest expected gain of three more counter photos
first, never the alphabet. The ranking is saved in metadata.json (``productStandings``),
so the screens read it from a fresh result or from the local model alike
(:func:`standings_of`, :func:`model_standings`), and word it the same way everywhere
(:func:`trained_from_words`, :func:`reliability_words`, :func:`describe_standing`).
Plain Python, no NumPy: the app's screens import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..photo_advice import ProductStanding
from ..photo_advice import describe as describe_standing

if TYPE_CHECKING:
    from ..model import TrainResult

__all__ = [
    "ModelStandings",
    "ProductStanding",
    "describe_standing",
    "model_standings",
    "reliability_words",
    "short_why",
    "standings_of",
    "trained_from_words",
]


@dataclass(frozen=True)
class ModelStandings:
    """One model's products and their standings, "photograph these first" order."""

    labels: frozenset[str]  # every product the model recognises
    ranked: tuple[ProductStanding, ...] = ()  # empty: a model saved without standings
    names: Mapping[str, str] = field(default_factory=dict)  # as the model saved them
    _by_id: dict[str, tuple[int, ProductStanding]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self._by_id.update({s.product: (i, s) for i, s in enumerate(self.ranked)})

    def of(self, product_id: str) -> ProductStanding | None:
        found = self._by_id.get(product_id)
        return found[1] if found else None

    def rank(self, product_id: str) -> int | None:
        """0 for the product to photograph first; None when the model has no standing."""
        found = self._by_id.get(product_id)
        return found[0] if found else None

    def knows(self, product_id: str) -> bool:
        return product_id in self.labels

    @property
    def photograph_first(self) -> list[str]:
        """The products more counter photos would help, most first (metadata's
        ``photographFirst``)."""
        return [s.product for s in self.ranked if s.gain > 0]


def standings_of(result: TrainResult) -> ModelStandings:
    """A training's result (fresh, or read back with ``saved_training``)."""
    return ModelStandings(frozenset(result.labels), tuple(result.standings), dict(result.names))


def model_standings(model_dir: Path | None) -> ModelStandings | None:
    """The standings of the model in ``model_dir`` as its metadata.json saved them; a
    model without them (older, or a Teachable Machine export) gives its labels only.
    None when there is no model there to read."""
    from ..model import result_from_metadata
    from .inspect import local_metadata

    meta = local_metadata(model_dir)
    if meta is None or not isinstance(meta.get("labels"), list):
        return None
    result = result_from_metadata(meta)
    if result is not None:
        return standings_of(result)
    return ModelStandings(frozenset(str(x) for x in meta["labels"]))


def trained_from_words(s: ProductStanding) -> str:
    """ "catalogue photo only" or "3 counter photos"."""
    if s.trained_from == "catalogue":
        return "catalogue photo only"
    return f"{s.counter_photos} counter photo{'s' if s.counter_photos != 1 else ''}"


def reliability_words(s: ProductStanding, short: bool = False) -> str:
    """ "expected 76 %" (its own held-back photos weighed with the shop's rate: next to
    "Recognised 67 %" of those photos, "measured" would read as a contradiction),
    "expected ~45 %" (the shop's estimate alone) or "unknown"; ``short``: "76 %",
    "~45 %", "?"."""
    if s.expected is None:
        return "?" if short else "unknown"
    pct = f"{100 * s.expected:.0f} %"
    if s.measured:
        return pct if short else f"expected {pct}"
    return f"~{pct}" if short else f"expected ~{pct}"


def short_why(s: ProductStanding) -> str:
    """Why to photograph it, in a few words: "catalogue photo only", "1 counter photo,
    expected ~40 %"."""
    source = trained_from_words(s)
    if s.trained_from == "catalogue" or s.expected is None:
        return source
    return f"{source}, {reliability_words(s)}"
