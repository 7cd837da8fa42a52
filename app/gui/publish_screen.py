"""Publish: one click, a confirmation that says what replaces what, progress, proof.

The shop client uploads the three files, the server swaps them in atomically and
the client downloads them back to compare bytes, so success here means the POS
will load exactly these files; any failure leaves the previous model served.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from threading import Event
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.model_format import FILES as MODEL_FILES
from app.core.progress import ProgressHook
from app.core.wording import FACT_HEADERS, describe_model, model_facts, trained_at

from .confirm import ask
from .session import Session
from .tasks import Task, TaskError
from .widgets import Banner, ElidedLabel, ProgressPanel, reveal_folder, scroll_page

log = logging.getLogger(__name__)


PUBLISH_TEXT = "Publish to the shop"
FOLDER_PUBLISH_TEXT = "Publish to the folder"
PUBLISHED_TEXT = "Published — train again to publish a new model"
CHANNEL_HINT = (
    "Channel id: which shop channel’s tills read this model (1 for a shop’s default "
    "channel; a folder or the sample shop has no channels, so keep 1 unless your shop "
    "has several)."
)
VERSION_HEADERS = [*FACT_HEADERS, "Published", ""]


def version_meta(version: dict | None) -> dict:
    """A stored version's metadata.json (the server and the folder both list it), with
    the version's own trainedAt where the metadata lacks one."""
    if not version:
        return {}
    meta = version.get("metadata")
    if isinstance(meta, str):  # a JSON scalar sent as text
        try:
            meta = json.loads(meta)
        except ValueError:
            meta = None
    meta = dict(meta) if isinstance(meta, dict) else {}
    if version.get("trainedAt") and not meta.get("trainedAt"):
        meta["trainedAt"] = version["trainedAt"]
    return meta


def describe_version(version: dict | None) -> str:
    return describe_model(version_meta(version)) if version else "nothing"


def version_cells(version: dict) -> list[str]:
    """One row of a versions table: what an owner chooses by (the name is a tooltip)."""
    created = trained_at({"trainedAt": version.get("createdAt")})
    return [
        *model_facts(version_meta(version)),
        created.astimezone().strftime("%d %b %Y, %H:%M") if created else "",
        "serving now" if version.get("current") else "",
    ]


def fill_versions(table: QTableWidget, versions: list[dict], max_rows: int) -> None:
    table.setRowCount(len(versions))
    for r, v in enumerate(versions):
        tip = f"Version {v.get('version', '')}"
        for c, text in enumerate(version_cells(v)):
            item = QTableWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, v)
            item.setToolTip(tip)
            table.setItem(r, c, item)
    table.setVisible(bool(versions))
    # as tall as its rows, so a short list does not leave a big blank box
    header = table.horizontalHeader().sizeHint().height()
    rows = table.verticalHeader().defaultSectionSize() * min(max_rows, len(versions))
    table.setFixedHeight(header + rows + 2 * table.frameWidth() + 2)


def versions_table() -> QTableWidget:
    table = QTableWidget(0, len(VERSION_HEADERS))
    table.setHorizontalHeaderLabels(VERSION_HEADERS)
    table.horizontalHeaderItem(3).setToolTip(
        "How many of the photos held back from its training it recognised"
    )
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(24)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    hh = table.horizontalHeader()
    for c in range(len(VERSION_HEADERS) - 1):
        hh.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
    hh.setSectionResizeMode(len(VERSION_HEADERS) - 1, QHeaderView.ResizeMode.Stretch)
    return table


_hash_cache: dict[tuple, dict[str, str]] = {}


def local_hashes(model_dir: Path | None) -> dict[str, str]:
    """sha256 of the three files ({} when one is missing), recomputed only when a file's
    size or time changes: a new training writes new files, so new hashes."""
    if model_dir is None:
        return {}
    try:
        key = (str(model_dir),) + tuple(
            (n, st.st_size, st.st_mtime_ns)
            for n in MODEL_FILES
            for st in [(Path(model_dir) / n).stat()]
        )
        if key not in _hash_cache:
            if len(_hash_cache) > 8:
                _hash_cache.clear()
            _hash_cache[key] = {
                n: hashlib.sha256((Path(model_dir) / n).read_bytes()).hexdigest()
                for n in MODEL_FILES
            }
    except OSError:
        return {}
    return _hash_cache[key]


def served_hashes(version: dict | None) -> dict[str, str]:
    files = (version or {}).get("files") or []
    return {
        f["name"]: f["sha256"]
        for f in files
        if isinstance(f, dict) and isinstance(f.get("name"), str) and f.get("sha256")
    }


def same_files(local: dict[str, str], served: dict[str, str]) -> bool:
    return bool(local) and all(served.get(n) == local[n] for n in MODEL_FILES)


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
        self.server_box = QGroupBox("On the shop server")
        self.served = QLabel()
        self.served.setWordWrap(True)
        self.versions = versions_table()
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
        self.folder_status: dict | None = None
        self.confirm_box: QMessageBox | None = None  # the question asked last
        # The files the shop / the folder serves now, by client and by (folder, channel):
        # the same files as the local model's mean there is nothing new to publish.
        self._served: tuple[Any, dict[str, str]] = (None, {})
        self._folder_served: tuple[tuple[str, str], dict[str, str]] = (("", ""), {})
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
        self.folder_label = ElidedLabel(settings.publish_folder or "No folder chosen yet")
        self.folder_choose = QPushButton("Choose folder…")
        self.folder_choose.clicked.connect(self.choose_publish_folder)
        self.channel_id = QLineEdit(settings.publish_channel_id)
        self.channel_id.editingFinished.connect(lambda: self.load_folder_status())
        self.channel_id.setPlaceholderText("1")
        self.channel_id.setMaximumWidth(70)
        self.channel_id.setToolTip(
            "The shop channel's id (1 for the default channel): the folder inside yours "
            "that the tills of that channel read"
        )
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
        self.folder_served = QLabel()
        self.folder_served.setWordWrap(True)
        self.folder_served.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.folder_versions = versions_table()
        self.folder_versions.itemSelectionChanged.connect(self._folder_version_selected)
        self.folder_versions.hide()
        self.folder_rollback_button = QPushButton("Serve this version again")
        self.folder_rollback_button.setEnabled(False)
        self.folder_rollback_button.clicked.connect(lambda: self.rollback_folder_selected())
        self.folder_reveal_button = QPushButton("Show in file manager")
        self.folder_reveal_button.clicked.connect(self._reveal_folder)
        self.copy_button = QPushButton("Save a copy of the three files…")
        self.copy_button.setToolTip(
            "model.json, weights.bin and metadata.json, e.g. on a USB stick for the till"
        )
        self.copy_button.clicked.connect(self.choose_copy_folder)
        r3 = QHBoxLayout()
        r3.addWidget(self.folder_reveal_button)
        r3.addStretch(1)
        r3.addWidget(self.folder_rollback_button)
        r4 = QHBoxLayout()
        r4.addWidget(self.copy_button)
        r4.addStretch(1)
        bl = QVBoxLayout(box)
        bl.addWidget(intro)
        bl.addLayout(r1)
        bl.addLayout(r2)
        bl.addWidget(self.channel_hint)
        bl.addWidget(self.folder_served)
        bl.addWidget(self.folder_versions)
        bl.addLayout(r3)
        bl.addLayout(r4)
        return box

    def _folder_channel(self) -> str:
        text = self.channel_id.text().strip()
        if text:
            return text
        own = str((self.local_meta or {}).get("channelId") or "").strip()
        return own or "1"

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

    def publish_to_folder(self) -> Task | None:
        s = self.session
        folder = s.settings.publish_folder
        if not folder:
            self.choose_publish_folder()
            folder = s.settings.publish_folder
        if not folder or s.model_dir is None:
            return None
        channel = self._folder_channel()
        if not self._confirm_folder_publish(folder, channel):
            return None
        s.settings.publish_channel_id = channel
        s.settings.save()
        model_dir = s.model_dir
        self.banner.clear_message()

        def work(on_progress: ProgressHook, cancel: Event) -> Any:
            from app.core.folder_publish import publish_to_folder

            return publish_to_folder(
                model_dir, folder, channel, on_progress=on_progress, cancel=cancel
            )

        task = s.runner.start("publish", work)
        self.task = task
        self.progress.track(task, "Publishing to the folder…")
        task.succeeded.connect(self._folder_published)
        task.succeeded.connect(
            lambda _r, key=(folder, channel), m=model_dir: self._set_folder_served(
                key, local_hashes(m)
            )
        )
        task.failed.connect(lambda err: self.banner.show_failure(err, "Publishing failed."))
        task.finished.connect(self.load_folder_status)
        task.finished.connect(self.refresh)
        return task

    def _confirm_folder_publish(self, folder: str, channel: str) -> bool:
        """The same question as the shop's publish: what replaces what, where."""
        if not self.confirm:
            return True
        from app.core.errors import TrainerError
        from app.core.folder_publish import folder_status

        try:
            current = folder_status(folder, channel).get("current")
        except (TrainerError, OSError):
            current = None  # publishing will say what is wrong with the folder
        local = describe_model(self.local_meta)
        if current is None:
            text = (
                f"Publish {local} to channel {channel} in the folder {folder}? "
                "Nothing is published there yet."
            )
            info = "The tills that read this folder load it on their next start."
        else:
            text = (
                f"Replace {describe_version(current)} on channel {channel} in the folder "
                f"{folder} with {local}?"
            )
            info = (
                "The tills that read this folder load the new model on their next start. "
                "The old one is kept in the folder and can be served again."
            )
        return self._ask("Publish the model?", text, info, "Publish")

    def _ask(self, title: str, text: str, info: str, yes: str) -> bool:
        """Cancel or ``yes``: every publish and every switch of versions asks this way."""
        return ask(self, title, text, info, yes)

    def _folder_published(self, result: Any) -> None:
        again = " It was already the served version: nothing was copied." if result.reused else ""
        self.banner.show_message(
            f"Published {describe_model(self.local_meta)} for channel {result.channel_id} (version "
            f"{result.version}). The tills load <b>{result.latest / 'model.json'}</b>.{again}",
            "ok",
        )

    def load_folder_status(self) -> Task | None:
        folder = self.session.settings.publish_folder
        self.folder_reveal_button.setEnabled(bool(folder))
        if not folder:
            self.folder_served.setText("")
            self.folder_versions.hide()
            return None
        channel = self._folder_channel()

        def work(on_progress: ProgressHook, cancel: Event) -> Any:
            from app.core.folder_publish import folder_status

            return folder_status(folder, channel)

        task = self.session.runner.start("folder-status", work)
        task.succeeded.connect(lambda st, f=folder, c=channel: self._folder_status_loaded(f, c, st))
        task.failed.connect(lambda err: self.folder_served.setText(err.message))
        return task

    def _folder_status_loaded(self, folder: str, channel: str, status: dict) -> None:
        self.folder_status = status
        current = status.get("current")
        versions = list(status.get("versions") or [])
        if current:
            self.folder_served.setText(
                f"Channel {channel} in this folder serves {describe_version(current)}, "
                f"version {current['version']}. Choose an earlier one to serve it again:"
                if len(versions) > 1
                else f"Channel {channel} in this folder serves {describe_version(current)}, "
                f"version {current['version']}."
            )
        else:
            self.folder_served.setText(f"Nothing published for channel {channel} here yet.")
        fill_versions(self.folder_versions, versions, max_rows=6)
        self._folder_version_selected()
        self._set_folder_served((folder, channel), served_hashes(current))

    def _set_folder_served(self, key: tuple[str, str], hashes: dict[str, str]) -> None:
        self._folder_served = (key, hashes)
        self._update_folder_button()

    def _update_folder_button(self) -> None:
        """“Published — train again…” while the folder serves exactly the local files."""
        s = self.session
        busy = self.task is not None and self.task.running
        has_model = s.model_dir is not None and self.local_meta is not None
        key, hashes = self._folder_served
        here = (s.settings.publish_folder, self._folder_channel())
        done = has_model and key == here and same_files(local_hashes(s.model_dir), hashes)
        self.folder_publish_button.setText(PUBLISHED_TEXT if done else FOLDER_PUBLISH_TEXT)
        self.folder_publish_button.setToolTip(
            "This folder already serves exactly these three files for this channel. Train "
            "again (or open another model) to publish a new one."
            if done
            else ""
        )
        self.folder_publish_button.setEnabled(has_model and not busy and not done)

    def _folder_version_selected(self) -> None:
        items = self.folder_versions.selectedItems()
        v = items[0].data(Qt.ItemDataRole.UserRole) if items else None
        self.folder_rollback_button.setEnabled(v is not None and not v.get("current"))

    def rollback_folder_selected(self) -> Task | None:
        items = self.folder_versions.selectedItems()
        folder = self.session.settings.publish_folder
        if not items or not folder:
            return None
        chosen = items[0].data(Qt.ItemDataRole.UserRole)
        version = chosen["version"]
        channel = self._folder_channel()
        if self.confirm:
            current = (self.folder_status or {}).get("current")
            asked = self._ask(
                "Serve an earlier model?",
                f"Serve {describe_version(chosen)} on channel {channel} in the folder {folder} "
                f"again, instead of {describe_version(current)}?",
                "The tills that read this folder load it on their next start. The model "
                "served now stays in the folder and can be served again.",
                "Serve again",
            )
            if not asked:
                return None

        def work(on_progress: ProgressHook, cancel: Event) -> Any:
            from app.core.folder_publish import rollback_folder

            return rollback_folder(folder, channel, version)

        task = self.session.runner.start("publish", work)
        self.progress.track(task, f"Switching to version {version}…", cancellable=False)
        task.succeeded.connect(
            lambda _v: self.banner.show_message(
                f"The folder serves version {version} again for channel {channel}.", "ok"
            )
        )
        task.failed.connect(
            lambda err: self.banner.show_failure(err, "", "The current model stays served.")
        )
        task.finished.connect(self.load_folder_status)
        task.finished.connect(self.refresh)
        return task

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
        s = self.session
        if s.model_dir is None:
            return None
        s.settings.copy_folder = str(dest)
        s.settings.save()
        model_dir = s.model_dir

        def work(on_progress: ProgressHook, cancel: Event) -> Any:
            from app.core.folder_publish import save_copy

            return save_copy(model_dir, dest)

        task = s.runner.start("copy", work)
        task.succeeded.connect(
            lambda out: self.banner.show_message(
                f"Saved model.json, weights.bin and metadata.json in <b>{out}</b>.", "ok"
            )
        )
        task.failed.connect(lambda err: self.banner.show_failure(err, "Could not save a copy:"))
        return task

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
                f"Channel <b>{code}</b> serves {describe_version(current)}, version "
                f"<b>{current['version']}</b>. Versions kept on the server (choose one to "
                "serve it again):"
            )
        else:
            self.served.setText(f"Channel <b>{code}</b> has no published model yet.")
        fill_versions(self.versions, versions, max_rows=10)
        self._version_selected()
        self._served = (client, served_hashes(current))
        self.refresh()

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
            current = (self.status or {}).get("current")
            asked = self._ask(
                "Serve an earlier model?",
                f"Serve {describe_version(v)} on channel “{code}” again, instead of "
                f"{describe_version(current)}?",
                "The tills load it on their next start. The model served now is kept on the "
                "server and can be served again.",
                "Serve again",
            )
            if not asked:
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
        has_model = s.model_dir is not None and self.local_meta is not None
        self.copy_button.setEnabled(has_model and not busy)
        self.publish_button.setText(PUBLISH_TEXT)
        self.publish_button.setToolTip("")
        own = str((self.local_meta or {}).get("channelId") or "").strip()
        if own:  # a model trained for a channel is published under that channel only
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
            self.channel_id.setToolTip(
                "The shop channel's id (1 for the default channel): the folder inside yours "
                "that the tills of that channel read"
            )
            self.channel_hint.setText(CHANNEL_HINT)
        self._update_folder_button()
        if not has_model:
            self.what.setText("Train a model or open a model folder first.")
            self.publish_button.setEnabled(False)
            return
        if not s.logged_in:
            self.what.setText(
                f"Ready to publish {describe_model(self.local_meta)}. Sending it to the shop "
                "needs a login; without a server, publish it to a folder or save a copy "
                "below."
            )
            self.publish_button.setEnabled(False)
            return
        src = s.source
        assert src is not None
        client, served = self._served
        if client is s.client and same_files(local_hashes(s.model_dir), served):
            self.what.setText(
                f"Channel <b>{src.channel_code}</b> on {src.server} serves "
                f"{describe_model(self.local_meta)}: exactly the files on this computer."
            )
            self.publish_button.setText(PUBLISHED_TEXT)
            self.publish_button.setToolTip(
                "The shop already serves exactly these three files. Train again (or open "
                "another model) to publish a new one."
            )
            self.publish_button.setEnabled(False)
            return
        self.what.setText(
            f"Publish {describe_model(self.local_meta)} to channel <b>{src.channel_code}</b> on "
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
            if current is None:
                text = (
                    f"Publish {describe_model(self.local_meta)} to channel “{src.channel_code}”? "
                    "No model is published there yet."
                )
            else:
                text = (
                    f"Replace {describe_model(current)} on channel “{src.channel_code}” with "
                    f"{describe_model(self.local_meta)}?"
                )
            info = "The tills load the new model on their next start."
            if current is not None:
                info += " The old one is kept on the server and can be restored."
            if not self._ask("Publish the model?", text, info, "Publish"):
                self.refresh()
                return

        def work(on_progress: ProgressHook, cancel: Event) -> Any:
            from app.core.shop import publish

            return publish(client, model_dir, on_progress=on_progress, cancel=cancel)

        task = self.session.runner.start("publish", work)
        self.task = task
        self.progress.track(task, "Uploading…")
        task.succeeded.connect(lambda res, t=task, c=client, m=model_dir: self._done(t, res, c, m))
        task.failed.connect(self._failed)
        task.cancelled.connect(
            lambda: self.banner.show_message(
                "Publishing cancelled. The previous model is still being served.", "info"
            )
        )
        task.finished.connect(self.refresh)

    def _done(self, task: Task, result: Any, client: Any = None, model_dir: Any = None) -> None:
        if client is not None:  # these files are served now (the status read confirms it)
            self._served = (client, local_hashes(model_dir))
        first = "Already published" if result.reused else "Published and verified"
        again = " Nothing was uploaded again." if result.reused else ""
        self.banner.show_message(
            f"{first}: the shop now serves version {result.version}, "
            f"byte for byte the files on this computer.{again}",
            "ok",
        )
        url = result.url
        self.url.setText(f"Model URL for the tills: <a href='{url}model.json'>{url}model.json</a>")
        self.published.emit(result)
        self.load_status()

    def _failed(self, err: TaskError) -> None:
        from app.core.errors import PublishError

        # a PublishError says itself what the server serves (the previous model, ours
        # after a lost answer, or another publish's); the others all fail before a swap
        said = isinstance(err.exception, PublishError)
        still = "" if said else "The previous model is still being served."
        self.banner.show_failure(err, "Publishing failed.", still)
        self.refresh()
