"""Publish: one click, a confirmation that says what replaces what, progress, proof.

The shop client uploads the three files, the server swaps them in atomically and
the client downloads them back to compare bytes, so success here means the POS
will load exactly these files; any failure leaves the previous model served.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .model_screen import format_when
from .session import Session
from .tasks import Task, TaskError
from .widgets import Banner, ProgressPanel

log = logging.getLogger(__name__)


def describe(meta: dict | None) -> str:
    if not meta:
        return "nothing"
    n = meta.get("productCount", len(meta.get("labels", [])))
    return f"the model trained {format_when(meta)} ({n} products)"


class PublishScreen(QWidget):
    login_requested = Signal()
    published = Signal(object)  # PublishResult

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.task: Task | None = None
        self.local_meta: dict | None = None
        self.confirm = True  # tests switch the dialog off

        title = QLabel("Publish")
        title.setObjectName("title")
        self.what = QLabel()
        self.what.setWordWrap(True)
        self.what.setTextFormat(Qt.TextFormat.RichText)
        self.publish_button = QPushButton("Publish to the shop")
        self.publish_button.setObjectName("primary")
        self.publish_button.clicked.connect(self.publish)
        self.login_button = QPushButton("Log in to a shop…")
        self.login_button.clicked.connect(self.login_requested.emit)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.login_button)
        row.addWidget(self.publish_button)
        self.progress = ProgressPanel(show_delay_ms=0)
        self.banner = Banner()
        self.url = QLabel()
        self.url.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.url.setOpenExternalLinks(True)
        self.url.setWordWrap(True)

        lay = QVBoxLayout(self)
        lay.addWidget(title)
        lay.addWidget(self.what)
        lay.addLayout(row)
        lay.addWidget(self.progress)
        lay.addWidget(self.banner)
        lay.addWidget(self.url)
        lay.addStretch(1)

        session.model_changed.connect(self.refresh)
        session.source_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        """Read the local metadata (small JSON, cheap) and describe the swap."""
        import json

        s = self.session
        self.local_meta = None
        if s.model_dir is not None:
            try:
                self.local_meta = json.loads((s.model_dir / "metadata.json").read_text("utf-8"))
            except (OSError, ValueError):
                self.local_meta = None
        busy = self.task is not None and self.task.running
        self.login_button.setVisible(not s.logged_in)
        if s.model_dir is None or self.local_meta is None:
            self.what.setText("Train a model or open a model folder first.")
            self.publish_button.setEnabled(False)
            return
        if not s.logged_in:
            self.what.setText(
                f"Ready to publish {describe(self.local_meta)} from {s.model_dir}.<br>"
                "Publishing needs a login to the shop's server."
            )
            self.publish_button.setEnabled(False)
            return
        src = s.source
        assert src is not None
        self.what.setText(
            f"Publish {describe(self.local_meta)} to channel <b>{src.channel_code}</b> on "
            f"{src.server}. Every till of this channel loads it on its next start."
        )
        can = getattr(s.client.channel, "can_publish", True) if s.client else False
        self.publish_button.setEnabled(not busy and bool(can))
        if not can:
            self.banner.show_message(
                "Your user may not publish models on this channel (it needs the "
                "UploadMlModel permission). Ask the shop administrator.",
                "warn",
            )

    def publish(self) -> Task | None:
        s = self.session
        if not s.logged_in or s.model_dir is None:
            return None
        client, model_dir, src = s.client, s.model_dir, s.source
        assert src is not None
        self.banner.clear_message()
        self.url.clear()
        self.publish_button.setEnabled(False)

        def check(on_progress, cancel):
            return client.published_metadata()

        task = s.runner.start("publish", check)
        self.progress.track(task, "Checking what the shop serves now…", cancellable=False)
        task.succeeded.connect(lambda current: self._confirm(client, model_dir, src, current))
        task.failed.connect(self._failed)
        self.task = task
        return task

    def _confirm(self, client: Any, model_dir: Any, src: Any, current: dict | None) -> None:
        if self.confirm:
            box = QMessageBox(self)
            box.setIcon(QMessageBox.Icon.Question)
            box.setWindowTitle("Publish the model?")
            box.setText(
                f"Replace {describe(current)} on channel “{src.channel_code}” with "
                f"{describe(self.local_meta)}?"
            )
            box.setInformativeText(
                "The tills load the new model on their next start. The old one is kept "
                "on the server and can be restored."
            )
            box.setStandardButtons(
                QMessageBox.StandardButton.Cancel | QMessageBox.StandardButton.Yes
            )
            box.button(QMessageBox.StandardButton.Yes).setText("Publish")
            box.setDefaultButton(QMessageBox.StandardButton.Yes)
            if box.exec() != QMessageBox.StandardButton.Yes:
                self.refresh()
                return

        def work(on_progress, cancel):
            return client.publish(model_dir, on_progress=on_progress, cancel=cancel)

        task = self.session.runner.start("publish", work)
        self.task = task
        self.progress.track(task, "Uploading…")
        task.succeeded.connect(lambda res, t=task: self._done(t, res))
        task.failed.connect(self._failed)
        task.cancelled.connect(
            lambda: self.banner.show_message(
                "Publishing cancelled. The previous model is still being served.", "info"
            )
        )
        task.finished.connect(self.refresh)

    def _done(self, task: Task, result: Any) -> None:
        self.banner.show_message(
            f"Published and verified: the shop now serves version {result.version}, "
            "byte for byte the files on this computer.",
            "ok",
        )
        url = result.url
        self.url.setText(
            f"Model URL for the tills: <a href='{url}model.json'>{url}model.json</a>"
        )
        self.published.emit(result)

    def _failed(self, err: TaskError) -> None:
        msg = err.message
        if "still being served" not in msg and "still served" not in msg:
            msg += " The previous model is still being served."
        self.banner.show_message(f"Publishing failed. {msg}", "error")
        self.refresh()
