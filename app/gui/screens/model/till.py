"""How the served model does at the till (issue 18), on the Model screen.

From the cashiers' choices the plugin counts per served version: "The served model was
right on 412 of 480 sales this week, 86 %." (:func:`app.core.flows.till_stats.
till_accuracy`), then the other versions seen this week, one line each. A shop whose
plugin has no photos from the till, or a login that may not read them, shows nothing.
"""

from __future__ import annotations

import logging
from html import escape
from threading import Event
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QLabel, QWidget

from app.core.errors import FeedbackUnsupported, PermissionDenied
from app.core.progress import ProgressHook

from ...session import Session
from ...tasks import Task, TaskError

if TYPE_CHECKING:
    from app.core.flows.login import ShopClient
    from app.core.flows.till_stats import TillAccuracy

log = logging.getLogger(__name__)
DAYS = 7
OTHER_VERSIONS = 3  # lines for versions other than the served one


class TillAccuracyLabel(QLabel):
    """ "At the till: the served model was right on …", per served version."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.accuracy: TillAccuracy | None = None
        self.setWordWrap(True)
        self.setToolTip(
            "From the cashiers' choices at the till: how often the model's first answer "
            "was the product sold"
        )
        self.hide()

    def load(self) -> Task | None:
        client = self.session.client
        if client is None:
            self.clear_shown()
            return None
        from app.core.flows.till_stats import till_accuracy  # a shop's: loaded now

        def work(on_progress: ProgressHook, cancel: Event) -> TillAccuracy:
            return till_accuracy(client, days=DAYS)

        task = self.session.runner.start("till-accuracy", work)
        task.succeeded.connect(lambda acc, c=client: self._loaded(c, acc))
        task.failed.connect(self._failed)
        return task

    def clear_shown(self) -> None:
        self.accuracy = None
        self.setText("")
        self.hide()

    def _loaded(self, client: ShopClient, accuracy: TillAccuracy) -> None:
        if client is not self.session.client:
            return
        self.accuracy = accuracy
        served = [v for v in accuracy.versions if v.served]
        others = [v for v in accuracy.versions if not v.served]
        if not accuracy.versions:
            self.clear_shown()  # the tills send nothing (yet): nothing to say
            return
        lines = ["<b>At the till:</b>" + (f" {escape(accuracy.headline)}" if served else "")]
        lines += [escape(v.text) for v in others[:OTHER_VERSIONS]]
        if len(others) > OTHER_VERSIONS:
            lines.append(f"… and {len(others) - OTHER_VERSIONS} earlier versions.")
        self.setText("<br>".join(lines))
        self.show()

    def _failed(self, err: TaskError) -> None:
        if isinstance(err.exception, (FeedbackUnsupported, PermissionDenied)):
            log.info("no accuracy from the till here: %s", err.message)  # nothing to act on
        else:
            log.warning("could not read the accuracy at the till: %s", err.message)
        self.clear_shown()
