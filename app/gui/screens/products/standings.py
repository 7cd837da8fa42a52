"""What the local model says of each product, on the Products screen (issue 15).

The standings (trained from what, how reliable, "photograph these first") are read
from the local model's metadata.json in the background whenever the model changes
(:func:`app.core.flows.standings.model_standings`); the list can then show every
product, the ones to photograph first in the model's order, or the ones it lacks.
"""

from __future__ import annotations

from pathlib import Path
from threading import Event

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QComboBox

from app.core.flows.open_source import Product
from app.core.flows.standings import (
    ModelStandings,
    model_standings,
    reliability_words,
    trained_from_words,
)
from app.core.progress import ProgressHook

from ...accessible import named
from ...session import Session
from .table import ALL, NOT_IN_MODEL, PHOTOGRAPH_FIRST, ProductFilter, ProductModel

CHOICES = (
    (ALL, "All products"),
    (PHOTOGRAPH_FIRST, "Photograph these first"),
    (NOT_IN_MODEL, "Not in the model"),
)


class ModelStandingsView(QObject):
    """The "Show:" choice, and the local model's standings in the product list."""

    changed = Signal()  # new standings arrived, or another choice: the detail follows

    def __init__(
        self, session: Session, model: ProductModel, proxy: ProductFilter, parent: QObject
    ) -> None:
        super().__init__(parent)
        self.session, self.model, self.proxy = session, model, proxy
        self.standings: ModelStandings | None = None
        self.show = named(QComboBox(), "Show products")
        for key, text in CHOICES:
            self.show.addItem(text, key)
        # as wide as its longest choice where there is room, narrower where not: in large
        # text the row of title, search, this and Reload made the window 820 px wide
        self.show.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.show.setMinimumContentsLength(10)
        self.show.setToolTip(
            "Photograph these first: the products more photos taken at the counter would "
            "help most, as the current model ranks them — never the alphabet"
        )
        self.show.currentIndexChanged.connect(self._chosen)
        session.model_changed.connect(self.load)
        session.source_changed.connect(self.load)
        self.load()

    def load(self) -> None:
        folder = self.session.model_dir

        def work(on_progress: ProgressHook, cancel: Event) -> ModelStandings | None:
            return model_standings(folder)

        task = self.session.runner.start("standings", work)
        task.succeeded.connect(lambda ms, f=folder: self._loaded(f, ms))

    def _loaded(self, folder: Path | None, standings: ModelStandings | None) -> None:
        if folder != self.session.model_dir:
            return  # another model meanwhile: its own read follows
        self.standings = standings
        self.show.setEnabled(standings is not None)
        if standings is None:
            self.show.setCurrentIndex(0)
        self._apply()

    def _chosen(self) -> None:
        self._apply()

    def _apply(self) -> None:
        key = self.show.currentData() or ALL
        self.model.set_standings(self.standings, key == PHOTOGRAPH_FIRST)
        self.proxy.set_show(key)
        self.changed.emit()

    def detail(self, p: Product | None) -> str:
        """The product's line under its name: what the local model says of it."""
        ms = self.standings
        if p is None or ms is None:
            return ""
        if not ms.knows(p.id):
            return "Not in the current model: train again to include it."
        s = ms.of(p.id)
        if s is None:
            return "In the current model."
        line = f"Model: {trained_from_words(s)}, {reliability_words(s)}"
        rank = ms.rank(p.id)
        if s.gain > 0 and rank is not None:
            line += f" · {ordinal(rank + 1)} of {len(ms.photograph_first)} to photograph"
        return line


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th … 11th, 12th, 13th, 21st."""
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{({1: 'st', 2: 'nd', 3: 'rd'}).get(n % 10, 'th')}"
