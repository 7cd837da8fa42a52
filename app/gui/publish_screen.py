"""Publish: one click, a confirmation that says what replaces what, progress, proof.

The shop client uploads the three files, the server swaps them in atomically and
the client downloads them back to compare bytes, so success here means the POS
will load exactly these files; any failure leaves the previous model served.
"""

from __future__ import annotations

import logging
from threading import Event
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.progress import ProgressHook

from .model_screen import format_when, trained_at
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

        # what the server keeps: the served version and earlier ones to go back to
        self.server_box = QGroupBox("On the shop server")
        self.served = QLabel()
        self.served.setWordWrap(True)
        self.versions = QTableWidget(0, 4)
        self.versions.setHorizontalHeaderLabels(["Version", "Trained", "Published", ""])
        self.versions.verticalHeader().hide()
        self.versions.verticalHeader().setDefaultSectionSize(24)
        self.versions.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.versions.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.versions.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        hh = self.versions.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in (1, 2, 3):
            hh.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.versions.itemSelectionChanged.connect(self._version_selected)
        self.rollback_button = QPushButton("Serve this version again")
        self.rollback_button.setEnabled(False)
        self.rollback_button.clicked.connect(self.rollback_selected)
        self.status_button = QPushButton("Check again")
        self.status_button.clicked.connect(self.load_status)
        brow = QHBoxLayout()
        brow.addWidget(self.status_button)
        brow.addStretch(1)
        brow.addWidget(self.rollback_button)
        bl = QVBoxLayout(self.server_box)
        bl.addWidget(self.served)
        bl.addWidget(self.versions, 1)
        bl.addLayout(brow)
        self.status: dict | None = None

        lay = QVBoxLayout(self)
        lay.addWidget(title)
        lay.addWidget(self.what)
        lay.addLayout(row)
        lay.addWidget(self.progress)
        lay.addWidget(self.banner)
        lay.addWidget(self.url)
        lay.addWidget(self.server_box)
        lay.addStretch(1)  # keeps the top packed while the server box is hidden

        session.model_changed.connect(self.refresh)
        session.source_changed.connect(self.refresh)
        session.source_changed.connect(self.load_status)
        self.refresh()
        self.load_status()

    # -- the server's side ------------------------------------------------------------
    def load_status(self) -> None:
        s = self.session
        self.server_box.setVisible(s.logged_in)
        if not s.logged_in:
            self.status = None
            return
        client = s.client
        self.status_button.setEnabled(False)
        self.served.setText("Checking what the shop serves…")

        def work(on_progress: ProgressHook, cancel: Event) -> Any:
            from app.core.shop import model_status

            return model_status(client)

        task = s.runner.start("publish-status", work)
        task.succeeded.connect(lambda st, c=client: self._status_loaded(c, st))
        task.failed.connect(
            lambda err: self.served.setText(f"Could not read the server's models: {err.message}")
        )
        task.finished.connect(lambda: self.status_button.setEnabled(True))

    def _status_loaded(self, client: Any, status: dict) -> None:
        if client is not self.session.client:
            return
        self.status = status
        current = status.get("current")
        versions = list(status.get("versions") or [])
        code = self.session.source.channel_code if self.session.source else ""
        if current:
            self.served.setText(
                f"Channel <b>{code}</b> serves version <b>{current['version']}</b>, trained "
                f"{format_when(current)}. Versions kept on the server:"
            )
        else:
            self.served.setText(f"Channel <b>{code}</b> has no published model yet.")
        self.versions.setRowCount(len(versions))
        for r, v in enumerate(versions):
            published = trained_at({"trainedAt": v.get("createdAt")})
            cells = [
                v.get("version", ""),
                format_when(v),
                published.astimezone().strftime("%d %b %Y, %H:%M") if published else "",
                "serving now" if v.get("current") else "",
            ]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(str(text))
                item.setData(Qt.ItemDataRole.UserRole, v)
                self.versions.setItem(r, c, item)
        self.versions.setVisible(bool(versions))
        # as tall as its rows (up to ten), so a short list does not leave a big blank box
        header = self.versions.horizontalHeader().sizeHint().height()
        rows = self.versions.verticalHeader().defaultSectionSize() * min(10, len(versions))
        self.versions.setFixedHeight(header + rows + 2 * self.versions.frameWidth() + 2)
        self._version_selected()

    def _selected_version(self) -> dict | None:
        items = self.versions.selectedItems()
        return items[0].data(Qt.ItemDataRole.UserRole) if items else None

    def _version_selected(self) -> None:
        v = self._selected_version()
        busy = self.task is not None and self.task.running
        self.rollback_button.setEnabled(v is not None and not v.get("current") and not busy)

    def rollback_selected(self) -> Task | None:
        v = self._selected_version()
        s = self.session
        if v is None or not s.logged_in:
            return None
        version = v["version"]
        code = s.source.channel_code if s.source else ""
        if self.confirm:
            answer = QMessageBox.question(
                self,
                "Serve an earlier model?",
                f"Serve version {version} (trained {format_when(v)}) on channel “{code}” "
                "again, instead of the current model?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return None
        client = s.client

        def work(on_progress: ProgressHook, cancel: Event) -> Any:
            from app.core.shop import rollback

            return rollback(client, version)

        task = s.runner.start("publish", work)
        self.task = task
        self.progress.track(task, f"Switching to version {version}…", cancellable=False)
        task.succeeded.connect(
            lambda _r: self.banner.show_message(
                f"Channel {code} serves version {version} again.", "ok"
            )
        )
        task.failed.connect(
            lambda err: self.banner.show_message(
                f"Could not switch versions: {err.message} The current model stays served.",
                "error",
            )
        )
        task.finished.connect(self.load_status)
        task.finished.connect(self.refresh)
        return task

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

        def check(on_progress: ProgressHook, cancel: Event) -> Any:
            from app.core.shop import published_metadata

            return published_metadata(client)

        task = s.runner.start("publish", check)
        self.progress.track(task, "Checking what the shop serves now…", cancellable=False)
        # after `finished`, so the progress panel (connected first) is already hidden
        task.finished.connect(
            lambda t=task: t.outcome == "ok" and self._confirm(client, model_dir, src, t.result)
        )
        task.failed.connect(self._failed)
        self.task = task
        return task

    def _confirm(self, client: Any, model_dir: Any, src: Any, current: dict | None) -> None:
        if self.confirm:
            box = QMessageBox(self)
            box.setIcon(QMessageBox.Icon.Question)
            box.setWindowTitle("Publish the model?")
            if current is None:
                box.setText(
                    f"Publish {describe(self.local_meta)} to channel “{src.channel_code}”? "
                    "No model is published there yet."
                )
            else:
                box.setText(
                    f"Replace {describe(current)} on channel “{src.channel_code}” with "
                    f"{describe(self.local_meta)}?"
                )
            info = "The tills load the new model on their next start."
            if current is not None:
                info += " The old one is kept on the server and can be restored."
            box.setInformativeText(info)
            box.setStandardButtons(
                QMessageBox.StandardButton.Cancel | QMessageBox.StandardButton.Yes
            )
            box.button(QMessageBox.StandardButton.Yes).setText("Publish")
            box.setDefaultButton(QMessageBox.StandardButton.Yes)
            if box.exec() != QMessageBox.StandardButton.Yes:
                self.refresh()
                return

        def work(on_progress: ProgressHook, cancel: Event) -> Any:
            from app.core.shop import publish

            return publish(client, model_dir, on_progress=on_progress, cancel=cancel)

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
        self.url.setText(f"Model URL for the tills: <a href='{url}model.json'>{url}model.json</a>")
        self.published.emit(result)
        self.load_status()

    def _failed(self, err: TaskError) -> None:
        said = "still being served" in err.message or "still served" in err.message
        still = "" if said else "The previous model is still being served."
        self.banner.show_failure(err, "Publishing failed.", still)
        self.refresh()
