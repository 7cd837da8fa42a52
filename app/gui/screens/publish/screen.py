"""Publish: one click, a confirmation that says what replaces what, progress, proof.

To a shop: the three files are uploaded, the server swaps them in atomically and the
client downloads them back to compare bytes, so success here means the POS will load
exactly these files; any failure leaves the previous model served. Without a server:
the same to a folder the shop serves (the plugin's layout), or a copy of the files.
Both places are one :class:`~.panel.PublishPanel` each.
"""

from __future__ import annotations

import logging
from html import escape
from pathlib import Path
from threading import Event
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.flows.inspect import local_metadata
from app.core.progress import ProgressHook
from app.core.wording import describe_model

from ...accessible import named
from ...session import Session
from ...tasks import Task
from ...widgets import Banner, ElidedLabel, ProgressPanel, reveal_folder, scroll_page
from .panel import PublishPanel
from .places import FolderPlace, ShopPlace

if TYPE_CHECKING:
    from app.core.flows.publish import Published, TargetStatus

log = logging.getLogger(__name__)

PUBLISH_TEXT = "Publish to the shop"
FOLDER_PUBLISH_TEXT = "Publish to the folder"
PUBLISHED_TEXT = "Published — train again to publish a new model"
CHANNEL_HINT = (
    "Channel id: which shop channel’s tills read this model (1 for a shop’s default "
    "channel; a folder or the sample shop has no channels, so keep 1 unless your shop "
    "has several)."
)
CHANNEL_TIP = (
    "The shop channel's id (1 for the default channel): the folder inside yours "
    "that the tills of that channel read"
)


NO_PERMISSION = (
    "Your user may not publish models on this channel (it needs the UploadMlModel "
    "permission). Ask the shop administrator."
)


class PublishScreen(QWidget):
    login_requested = Signal()
    published = Signal(object)  # Published: a shop serves the local model now
    rolled_back = Signal()  # a shop serves an earlier version now

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.local_meta: dict | None = None
        self.confirm = True  # tests switch the dialog off
        self.confirm_box: QMessageBox | None = None  # the question asked last

        title = QLabel("Publish")
        title.setObjectName("title")
        self.what = QLabel()
        self.what.setWordWrap(True)
        self.what.setTextFormat(Qt.TextFormat.RichText)
        self.publish_button = QPushButton(PUBLISH_TEXT)
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
        self.status_button = QPushButton("Check again")
        self.status_button.clicked.connect(self.load_status)
        self.shop = PublishPanel(session, self, self.banner, self.progress, self.status_button)
        self.shop.changed.connect(self.refresh)
        self.shop.published.connect(self._published)
        self.shop.rolled_back.connect(self.rolled_back)
        self.served, self.versions = self.shop.served, self.shop.versions
        self.rollback_button = self.shop.rollback_button
        self.server_box = QGroupBox("On the shop server")
        QVBoxLayout(self.server_box).addWidget(self.shop)
        self.folder_box = self._build_folder_box()

        body = QWidget()
        lay = QVBoxLayout(body)
        lay.addWidget(title)
        self.changes_slot = QVBoxLayout()  # the window puts the "catalogue changed" banner here
        self.changes_slot.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(self.changes_slot)
        lay.addWidget(self.what)
        lay.addLayout(row)
        lay.addWidget(self.progress)
        lay.addWidget(self.banner)
        lay.addWidget(self.url)
        lay.addWidget(self.server_box)
        lay.addWidget(self.folder_box)
        lay.addStretch(1)  # keeps the top packed while the server box is hidden
        scroll_page(self, body)

        session.model_changed.connect(self.refresh)
        session.source_changed.connect(self.refresh)
        session.source_changed.connect(self.load_status)
        self.refresh()
        self.load_status()
        self.load_folder_status()

    @property
    def status(self) -> TargetStatus | None:
        """What the shop serves and keeps, as read last (None: not read, or no login)."""
        return self.shop.status

    @property
    def folder_status(self) -> TargetStatus | None:
        return self.folder.status

    # -- without a server: a folder, or a copy ------------------------------------------
    def _build_folder_box(self) -> QGroupBox:
        box = QGroupBox("Without the shop server")
        settings = self.session.settings
        intro = QLabel(
            "Publish to a folder your shop serves (its assets folder, or one you copy to the "
            "server): the tills load <i>folder/channel id/latest/model.json</i>. Earlier "
            "versions are kept there, so you can go back."
        )
        intro.setWordWrap(True)
        self.folder_label = named(
            ElidedLabel(settings.publish_folder or "No folder chosen yet"), "Publish folder"
        )
        self.folder_choose = QPushButton("Choose folder…")
        self.folder_choose.clicked.connect(self.choose_publish_folder)
        self.channel_id = named(QLineEdit(settings.publish_channel_id), "Channel id", CHANNEL_TIP)
        self.channel_id.editingFinished.connect(lambda: self.load_folder_status())
        self.channel_id.setPlaceholderText("1")
        self.channel_id.setMaximumWidth(70)
        self.channel_id.setToolTip(CHANNEL_TIP)
        self.folder_publish_button = QPushButton(FOLDER_PUBLISH_TEXT)
        self.folder_publish_button.clicked.connect(lambda: self.publish_to_folder())
        r1 = QHBoxLayout()
        r1.addWidget(QLabel("Folder:"))
        r1.addWidget(self.folder_label, 1)
        r1.addWidget(self.folder_choose)
        r2 = QHBoxLayout()
        r2.addWidget(QLabel("Channel id:"))
        r2.addWidget(self.channel_id)
        r2.addStretch(1)
        r2.addWidget(self.folder_publish_button)
        # One line on what the number is: a folder or the sample shop has no channels.
        self.channel_hint = QLabel(CHANNEL_HINT)
        self.channel_hint.setObjectName("hint")
        self.channel_hint.setWordWrap(True)
        self.folder_reveal_button = QPushButton("Show in file manager")
        self.folder_reveal_button.clicked.connect(self._reveal_folder)
        self.folder = PublishPanel(
            self.session, self, self.banner, self.progress, self.folder_reveal_button
        )
        self.folder.changed.connect(self.refresh)  # the line above the buttons too
        self.folder_served, self.folder_versions = self.folder.served, self.folder.versions
        self.folder_rollback_button = self.folder.rollback_button
        self.copy_button = QPushButton("Save a copy of the three files…")
        self.copy_button.setToolTip(
            "model.json, weights.bin and metadata.json, e.g. on a USB stick for the till"
        )
        self.copy_button.clicked.connect(self.choose_copy_folder)
        r4 = QHBoxLayout()
        r4.addWidget(self.copy_button)
        r4.addStretch(1)
        bl = QVBoxLayout(box)
        bl.addWidget(intro)
        bl.addLayout(r1)
        bl.addLayout(r2)
        bl.addWidget(self.channel_hint)
        bl.addWidget(self.folder)
        bl.addLayout(r4)
        return box

    def _folder_channel(self) -> str:
        text = self.channel_id.text().strip()
        if text:
            return text
        own = str((self.local_meta or {}).get("channelId") or "").strip()
        return own or "1"

    def _folder_place(self) -> FolderPlace | None:
        folder = self.session.settings.publish_folder
        return FolderPlace(Path(folder), self._folder_channel()) if folder else None

    def choose_publish_folder(self) -> None:
        start = self.session.settings.publish_folder or str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Folder your shop serves", start)
        if folder:
            self.set_publish_folder(Path(folder))

    def set_publish_folder(self, folder: Path) -> None:
        s = self.session.settings
        s.publish_folder = str(folder)
        s.save()
        self.folder_label.setText(str(folder))
        self.load_folder_status()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        """Shown again: the local files and the folder are read anew (a CLI ``train``,
        ``publish`` or ``rollback`` meanwhile left both described as before)."""
        super().showEvent(event)
        if not (self.folder.busy or self.shop.busy):
            self.refresh()
            if self.session.settings.publish_folder:
                self.load_folder_status()

    def load_folder_status(self) -> Task | None:
        place = self._folder_place()
        self.folder_reveal_button.setEnabled(place is not None)
        self.folder.set_place(place)
        return self.folder.load_status()

    def publish_to_folder(self) -> Task | None:
        s = self.session
        if not s.settings.publish_folder:
            self.choose_publish_folder()
        place = self._folder_place()
        if place is None or s.model_dir is None:
            return None
        s.settings.publish_channel_id = place.channel
        s.settings.save()
        self.folder.set_place(place)
        return self.folder.publish(s.model_dir, self.local_meta)

    def rollback_folder_selected(self) -> Task | None:
        return self.folder.rollback_selected()

    def _update_folder_button(self) -> None:
        """“Published — train again…” while the folder serves exactly the local files."""
        s = self.session
        has_model = s.model_dir is not None and self.local_meta is not None
        busy = self.shop.busy or self.folder.busy
        place = self._folder_place()
        done = has_model and place == self.folder.place and self.folder.serves(s.model_dir)
        self.folder_publish_button.setText(PUBLISHED_TEXT if done else FOLDER_PUBLISH_TEXT)
        self.folder_publish_button.setToolTip(
            "This folder already serves exactly these three files for this channel. Train "
            "again (or open another model) to publish a new one."
            if done
            else ""
        )
        self.folder_publish_button.setEnabled(has_model and not busy and not done)
        self.copy_button.setEnabled(has_model and not busy)

    def _reveal_folder(self) -> None:
        folder = self.session.settings.publish_folder
        if folder:
            reveal_folder(folder, self.banner)

    def choose_copy_folder(self) -> None:
        s = self.session.settings
        start = s.copy_folder or str(Path.home())
        folder = QFileDialog.getExistingDirectory(
            self, "Folder for the three model files (empty, or an earlier copy)", start
        )
        if folder:
            self.save_copy(Path(folder))

    def save_copy(self, dest: Path) -> Task | None:
        from app.core.flows.publish import save_copy

        s = self.session
        model_dir = s.model_dir
        if model_dir is None:
            return None
        s.settings.copy_folder = str(dest)
        s.settings.save()

        def work(on_progress: ProgressHook, cancel: Event) -> Path:
            return save_copy(model_dir, dest)

        task = s.runner.start("copy", work)
        task.succeeded.connect(
            lambda out: self.banner.show_message(
                f"Saved model.json, weights.bin and metadata.json in {out}.", "ok"
            )
        )
        task.failed.connect(lambda err: self.banner.show_failure(err, "Could not save a copy:"))
        return task

    # -- the shop's side --------------------------------------------------------------
    def load_status(self) -> None:
        s = self.session
        self.server_box.setVisible(s.logged_in)
        if not s.logged_in or s.client is None or s.source is None:
            self.shop.set_place(None)
            return
        self.shop.set_place(ShopPlace(s.client, s.source.channel_code))
        self.status_button.setEnabled(False)
        self.served.setText("Checking what the shop serves…")
        task = self.shop.load_status()
        if task is not None:
            task.finished.connect(lambda: self.status_button.setEnabled(True))

    def rollback_selected(self) -> Task | None:
        return self.shop.rollback_selected() if self.session.logged_in else None

    def refresh(self) -> None:
        """Read the local metadata (small JSON, cheap) and describe the swap."""
        s = self.session
        self.local_meta = local_metadata(s.model_dir)
        busy = self.shop.busy or self.folder.busy
        can = getattr(s.client.channel, "can_publish", True) if s.client else False
        if self.banner.text() == NO_PERMISSION and (can or not s.logged_in):
            self.banner.clear_message()  # said of the channel before a switch
        self.login_button.setVisible(not s.logged_in)
        # without a login the folder is where this model can go: its button is the green
        # one, and the shop's (which could only be greyed out) is not shown at all
        self.publish_button.setVisible(s.logged_in)
        primary = "" if s.logged_in else "primary"
        if self.folder_publish_button.objectName() != primary:
            self.folder_publish_button.setObjectName(primary)
            self.folder_publish_button.style().unpolish(self.folder_publish_button)
            self.folder_publish_button.style().polish(self.folder_publish_button)
        has_model = s.model_dir is not None and self.local_meta is not None
        self.publish_button.setText(PUBLISH_TEXT)
        self.publish_button.setToolTip("")
        self._show_channel()
        self._update_folder_button()
        if not has_model:
            self.what.setText("Train a model or open a model folder first.")
            self.publish_button.setEnabled(False)
            return
        local = describe_model(self.local_meta)
        if not s.logged_in or s.source is None:
            self.what.setText(  # after a publish to the folder, not "Ready to publish…"
                f"The folder below serves {local}: exactly the files on this computer. "
                "Sending it to a shop needs a login."
                if self.folder.serves(s.model_dir)
                else f"Ready to publish {local}. Sending it to the shop needs a login; "
                "without a server, publish it to a folder or save a copy below."
            )
            self.publish_button.setEnabled(False)
            return
        src = s.source
        own = str(self.local_meta.get("channelId") or "").strip()
        if own and src.channel_id and own != src.channel_id:  # the plugin refuses it anyway
            self.what.setText(
                f"This model was trained for the channel with id {escape(own)}, not for "
                f"<b>{escape(src.channel_code)}</b> (id {escape(src.channel_id)}): train "
                f"{escape(src.channel_code)}'s products to publish here."
            )
            self.publish_button.setEnabled(False)
            return
        if self.shop.serves(s.model_dir):
            self.what.setText(
                f"Channel <b>{escape(src.channel_code)}</b> on {escape(src.server)} serves "
                f"{escape(local)}: exactly the files on this computer."
            )
            self.publish_button.setText(PUBLISHED_TEXT)
            self.publish_button.setToolTip(
                "The shop already serves exactly these three files. Train again (or open "
                "another model) to publish a new one."
            )
            self.publish_button.setEnabled(False)
            return
        self.what.setText(
            f"Publish {escape(local)} to channel <b>{escape(src.channel_code)}</b> on "
            f"{escape(src.server)}. Every till of this channel loads it on its next start."
        )
        self.publish_button.setEnabled(not busy and bool(can))
        if not can:
            self.banner.show_message(NO_PERMISSION, "warn")

    def _show_channel(self) -> None:
        """A model trained for a channel is published under that channel only."""
        own = str((self.local_meta or {}).get("channelId") or "").strip()
        if own:
            if self.channel_id.text().strip() != own:
                self.channel_id.setText(own)
                self.load_folder_status()
            self.channel_id.setReadOnly(True)
            self.channel_id.setToolTip(f"This model was trained for channel {own}.")
            self.channel_hint.setText(
                f"Channel id: this model was trained for the shop channel with id {own}, so "
                f"it goes to the folder’s “{own}” sub-folder, which that channel’s tills read."
            )
        else:
            self.channel_id.setReadOnly(False)
            self.channel_id.setToolTip(CHANNEL_TIP)
            self.channel_hint.setText(CHANNEL_HINT)

    def publish(self) -> Task | None:
        s = self.session
        if not s.logged_in or s.model_dir is None:
            return None
        self.url.clear()
        self.publish_button.setEnabled(False)
        return self.shop.publish(s.model_dir, self.local_meta)

    def _published(self, result: Published) -> None:
        url = escape(result.location)
        self.url.setText(f"Model URL for the tills: <a href='{url}model.json'>{url}model.json</a>")
        self.published.emit(result)
