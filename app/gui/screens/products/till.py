"""Products' line about photos from the till (issue 18): "37 new photos from the till to
review." with *Review…*, which opens :class:`.till_review.TillReviewDialog`.

Read for a shop only, in the task runner, each time its catalogue is read (and after a
review). A shop whose plugin has no photos from the till, or a login that may not read
them, shows nothing: it is nothing the owner has to act on.
"""

from __future__ import annotations

import logging
from html import escape
from threading import Event
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from app.core.errors import FeedbackUnsupported, PermissionDenied
from app.core.progress import ProgressHook

from ...session import Session
from ...tasks import Task, TaskError

if TYPE_CHECKING:
    from app.core.flows.login import ShopClient
    from app.core.flows.till_photos import TillPending

    from .till_review import TillReviewDialog

log = logging.getLogger(__name__)


class TillPhotosBar(QFrame):
    """The count of photos from the till waiting, and the way to review them."""

    photos_taken_in = Signal()  # accepted frames are now added photos: the catalogue changed

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.pending: TillPending | None = None
        self.dialog: TillReviewDialog | None = None
        self.setObjectName("till")
        self.setStyleSheet(
            "QFrame#till { background: #eef6ee; border-radius: 4px; }"
            "QFrame#till QLabel { color: #24562a; }"
        )
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.review_button = QPushButton("Review…")
        self.review_button.setToolTip(
            "See the photos the till sent, per product, and accept or drop them"
        )
        self.review_button.clicked.connect(self.review)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.review_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.hide()
        session.source_changed.connect(self._source_changed)

    def _source_changed(self) -> None:
        self.pending = None
        self.hide()
        if self.dialog is not None:  # another shop's frames
            self.dialog.close()
            self.dialog.deleteLater()
            self.dialog = None

    def load(self) -> Task | None:
        """Ask the shop which frames wait for review (the list only: nothing downloaded)."""
        client, src = self.session.client, self.session.source
        if client is None or src is None or not src.server:
            self.hide()
            return None
        from app.core.flows.till_photos import pending_till_photos  # a shop's: loaded now

        def work(on_progress: ProgressHook, cancel: Event) -> TillPending:
            return pending_till_photos(client, cancel=cancel)

        task = self.session.runner.start("till-photos", work)
        task.succeeded.connect(lambda pending, c=client: self._loaded(c, pending))
        task.failed.connect(self._failed)
        return task

    def _loaded(self, client: ShopClient, pending: TillPending) -> None:
        if client is not self.session.client:
            return  # another login meanwhile
        self.pending = pending
        self.label.setText(
            f"<b>{escape(pending.text)}</b> Accepted ones become counter photos of the product "
            "the cashier chose."
        )
        self.review_button.show()
        self.setVisible(pending.count > 0)
        if self.dialog is not None:
            self.dialog.set_pending(pending)

    def _failed(self, err: TaskError) -> None:
        if isinstance(err.exception, (FeedbackUnsupported, PermissionDenied)):
            log.info("no photos from the till here: %s", err.message)  # nothing to act on
            self.hide()
            return
        self.label.setText(f"Could not read the photos from the till: {err.message}")
        self.review_button.hide()
        self.show()

    def review(self) -> TillReviewDialog | None:
        """The review window (one at a time), on the frames read last."""
        from .till_review import TillReviewDialog

        client = self.session.client
        if self.pending is None or client is None:
            return None
        if self.dialog is None:
            # the window's child, not this bar's: the bar's colours are its own
            self.dialog = TillReviewDialog(self.session, client, self.pending, self.window())
            self.dialog.reviewed.connect(self._reviewed)
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    def _reviewed(self, taken_in: bool) -> None:
        if taken_in:
            self.photos_taken_in.emit()
        self.load()
