""" "3 new products, 1 removed, 5 changed photos since the model your shop serves".

One watcher per window compares the catalogue as the trainer would see it now (every
photo the source lists, with the owner's edits) with what the served model and the
model on this computer were trained on (:func:`app.core.flows.changes.
news_since_models`). It runs in the background (hashing folder photos and asking the
shop take time), debounced, and every screen's banner shows its answer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from threading import Event
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from app.core.flows.earlier_models import is_earlier_model
from app.core.progress import ProgressHook

from .session import Session
from .tasks import Task

if TYPE_CHECKING:
    from app.core.flows.login import ShopClient
    from app.core.flows.open_source import Source

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CatalogueNews:
    text: str  # "" when there is nothing to train for


class ChangesWatcher(QObject):
    """Recomputes the news when the catalogue, the model or the source changes."""

    changed = Signal()

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.news = CatalogueNews("")
        # The served metadata, per client: edits recheck often, the shop is asked once
        # per login and again after a publish (check(refresh_served=True)).
        self._served: tuple[ShopClient | None, Mapping | None] | None = None
        self._timer = QTimer(self, singleShot=True, interval=400)
        self._timer.timeout.connect(self.check)
        # another channel on the same client: its served model is not this one's
        session.source_changed.connect(self._forget_served)
        for sig in (
            session.catalogue_changed,
            session.report_changed,
            session.model_changed,
            session.source_changed,
            session.counter_frames_changed,  # the shop's look is trained on too
            session.not_products_changed,
        ):
            sig.connect(self._timer.start)

    def _forget_served(self) -> None:
        self._served = None

    def stop(self) -> None:
        """The app is closing: no check waits on the timer any more."""
        self._timer.stop()

    def check(self, refresh_served: bool = False) -> Task | None:
        s = self.session
        current = s.current()
        if current is None or s.source is None:
            self._set("")
            return None
        check = s.checked(current.catalogue)
        digests = {x.path: x.digest for x in check.dataset.samples} if check is not None else {}
        # the model open, but not an earlier one opened to look at it: that made the
        # shop's news "1 new product" where the model on this computer had it
        model_dir = s.model_dir
        if model_dir is not None and is_earlier_model(model_dir):
            model_dir = s.source.model_dir()
        client = s.client if s.logged_in else None
        source, store = s.source, s.store
        known = self._served if self._served is not None and not refresh_served else None
        known = known if known is not None and known[0] is client else None

        def work(on_progress: ProgressHook, cancel: Event) -> tuple[str, Mapping | None]:
            from app.core.flows.changes import news_since_models
            from app.core.flows.publish import ShopTarget

            served = known[1] if known is not None else None
            if client is not None and known is None:
                served = ShopTarget(client).served_metadata()
            # trained_on: every photo the source lists, so a failed download is no change
            text = news_since_models(
                current.trained_on,
                digests,
                model_dir=model_dir,
                served_metadata=served,
                store=store,
            )
            return text, served

        task = s.runner.start("changes", work)
        task.succeeded.connect(lambda res, src=source, c=client: self._done(src, c, *res))
        task.failed.connect(lambda err: log.info("catalogue changes unknown: %s", err.message))
        return task

    def _done(
        self, source: Source, client: ShopClient | None, text: str, served: Mapping | None
    ) -> None:
        if source is not self.session.source:
            return  # a check of the channel before a switch: neither its news nor its model
        if client is not None:
            self._served = (client, served)
        self._set(text)

    def _set(self, text: str) -> None:
        self.news = CatalogueNews(text)
        self.changed.emit()


class ChangesBanner(QFrame):
    """The watcher's sentence with a *Train now* button; hidden when there is no news."""

    train_requested = Signal()

    def __init__(self, watcher: ChangesWatcher, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.watcher = watcher
        self.setObjectName("changes")
        self.setStyleSheet(
            "QFrame#changes { background: #e8f1fb; border-radius: 4px; }"
            "QFrame#changes QLabel { color: #1d4f86; }"
        )
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.train_button = QPushButton("Train now")
        self.train_button.clicked.connect(self.train_requested.emit)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.train_button, 0, Qt.AlignmentFlag.AlignVCenter)
        watcher.changed.connect(self._update)
        self._update()

    def _update(self) -> None:
        text = self.watcher.news.text
        self.label.setText(text)
        self.setVisible(bool(text))
