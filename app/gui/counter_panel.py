"""The shop's counter frames on the Products and Train screens, and the "View…" dialog.

One line says how many counter frames the shop has (or what 20 seconds of the
counter camera buys when it has none), with buttons to take new ones ("Show me
your counter…", :mod:`app.gui.counter_dialog`) and to look at, remove or clear
the stored ones. Plain widgets over :class:`app.core.counter_frames.CounterFrameStore`:
no NumPy or QtMultimedia at import, so the window still starts without them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.counter_frames import SUGGESTED, CounterFrameStore

from .session import Session

if TYPE_CHECKING:
    from .frames import FrameSource

log = logging.getLogger(__name__)

PATH_ROLE = Qt.ItemDataRole.UserRole + 1

NO_FRAMES = (
    f"<b>No counter frames yet</b> — {SUGGESTED} seconds of your counter camera, with any "
    "products on it, teaches the model your shop's light and background: products with "
    "only a catalogue photo are recognised far more often."
)


def when(taken: dt.datetime, seconds: bool = False, now: dt.datetime | None = None) -> str:
    """``3 Dec 14:05`` in local time (``14:05:09`` with ``seconds``: frames of one
    capture are a second apart); the year too when it is not this year's."""
    local = taken.astimezone()
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone()
    clock = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    year = "" if local.year == now.year else f" {local.year}"
    return f"{local.day} {local:%b}{year} {clock}"


def describe(store: CounterFrameStore) -> tuple[int, str]:
    """How many frames the shop has and the sentence that says so (empty when none)."""
    frames = store.frames()
    if not frames:
        return 0, ""
    n = len(frames)
    return n, f"<b>{n} counter frame{'s' if n != 1 else ''}</b>, newest {when(frames[-1].taken)}"


class CounterFramesPanel(QFrame):
    """ "23 counter frames, newest 3 Dec 14:05 [View…] [Take new…]", or the no-frames hint.

    ``only_when_empty``: the Train screen shows the panel only while there are none.
    ``stand_in`` gives the camera stand-in of the moment (tests, the screenshot
    script): a factory of :class:`FrameSource`, or ``None`` for the counter camera.
    """

    message = Signal(str, str)  # text, Banner kind: for the screen's banner

    def __init__(
        self,
        session: Session,
        parent: QWidget | None = None,
        only_when_empty: bool = False,
        stand_in: Callable[[], Callable[[], FrameSource] | None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.only_when_empty = only_when_empty
        self.stand_in = stand_in
        self.capture_interval_s = 1.0  # tests shorten it
        self.count = 0
        self.setObjectName("counterFrames")
        self.setStyleSheet(
            "#counterFrames { background: #f3f6f9; border: 1px solid #d8dee4; border-radius: 6px; }"
        )
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.capture_button = QPushButton("Show me your counter…")
        self.capture_button.setToolTip(
            f"About {SUGGESTED} pictures of the counter camera over {SUGGESTED} seconds"
        )
        self.capture_button.clicked.connect(self.open_capture)
        self.view_button = QPushButton("View…")
        self.view_button.setToolTip("See, remove or clear the stored counter frames")
        self.view_button.clicked.connect(self.open_viewer)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        lay.addWidget(self.text, 1)
        lay.addWidget(self.view_button)
        lay.addWidget(self.capture_button)
        session.source_changed.connect(self.refresh)
        session.counter_frames_changed.connect(self.refresh)
        self.refresh()

    def store(self) -> CounterFrameStore | None:
        s = self.session.store
        return s.counter_frames if s is not None else None

    @Slot()
    def refresh(self) -> None:
        store = self.store()
        if store is None:
            self.count = 0
            self.hide()
            return
        self.count, text = describe(store)
        has = self.count > 0
        self.text.setText(text or NO_FRAMES)
        self.text.setToolTip(str(store.root) if has else "")
        self.view_button.setVisible(has)
        self.capture_button.setText("Take new…" if has else "Show me your counter…")
        self.setVisible(not (has and self.only_when_empty))

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if self.store() is not None:  # frames may have come from elsewhere (Test screen)
            n, _ = describe(self.store())
            if n != self.count:
                self.refresh()

    # -- capture --------------------------------------------------------------------
    @Slot()
    def open_capture(self) -> QDialog | None:
        """The "Show me your counter…" dialog; frames are stored when it finishes."""
        store = self.store()
        if store is None:
            return None
        from .counter_dialog import CounterCaptureDialog  # QtMultimedia loads only here

        return open_capture_dialog(
            self,
            lambda **kw: CounterCaptureDialog(store, **kw),
            ("counter frame", "counter frames"),
            self.session.counter_frames_edited,
        )

    @Slot()
    def open_viewer(self) -> QDialog | None:
        store = self.store()
        if store is None:
            return None
        dlg = CounterFramesDialog(self.session, store, self.window())
        dlg.finished.connect(dlg.deleteLater)
        dlg.open()
        return dlg


def open_capture_dialog(
    panel: Any,
    make_dialog: Callable[..., Any],
    what: tuple[str, str],
    edited: Callable[[], None],
) -> QDialog:
    """Open a capture dialog (counter frames, the empty counter) from ``panel`` (with its
    ``session``, ``stand_in``, ``capture_interval_s`` and ``message`` signal): the camera
    stand-in of the moment, the remembered camera, and on success one banner line
    ("Stored 20 counter frames …"), the camera chosen remembered, ``edited()`` called."""
    make = panel.stand_in() if panel.stand_in is not None else None
    source = make() if make is not None else None
    settings = panel.session.settings
    dlg = make_dialog(
        runner=panel.session.runner,
        parent=panel.window(),
        camera_id=settings.camera_id or None,
        source=source,
        interval_s=panel.capture_interval_s,
    )
    if source is not None:
        source.setParent(dlg)

    def finished() -> None:
        n, refused = len(dlg.stored), dlg.refused
        text = f"Stored {n} {what[0] if n == 1 else what[1]}"
        if refused:
            text += f" ({refused} blank picture{'s' if refused != 1 else ''} left out)"
        panel.message.emit(text + ". The next training uses them.", "ok")
        if source is None and dlg.camera_id:
            settings.camera_id = dlg.camera_id
            settings.save()
        edited()

    dlg.accepted.connect(finished)
    dlg.finished.connect(dlg.deleteLater)
    dlg.open()
    return dlg


class CounterFramesDialog(QDialog):
    """Every stored counter frame as a thumbnail with its date; Remove and Clear all."""

    def __init__(
        self, session: Session, store: CounterFrameStore, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Counter frames")
        self.session = session
        self.store = store
        self.confirm_box: QMessageBox | None = None
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        thumbs = session.thumbnails
        self.grid = QListWidget()
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setIconSize(QSize(thumbs.size, thumbs.size))
        self.grid.setGridSize(QSize(thumbs.size + 28, thumbs.size + 44))
        self.grid.setWordWrap(True)  # "3 Dec 2024 14:05:09" on two lines
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.grid.itemSelectionChanged.connect(self._selection_changed)
        thumbs.ready.connect(self._thumb_ready)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Delete the selected frames")
        self.remove_button.clicked.connect(self.ask_remove)
        self.clear_button = QPushButton("Clear all")
        self.clear_button.setToolTip("Delete every counter frame of this shop")
        self.clear_button.clicked.connect(self.ask_clear)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.remove_button)
        row.addWidget(self.clear_button)
        row.addStretch(1)
        row.addWidget(close)
        lay = QVBoxLayout(self)
        lay.addWidget(self.heading)
        lay.addWidget(self.grid, 1)
        lay.addLayout(row)
        self.fill()
        self.resize(640, 460)

    def fill(self) -> None:
        frames = list(reversed(self.store.frames()))  # newest first
        thumbs = self.session.thumbnails
        self.grid.clear()
        for f in frames:
            item = QListWidgetItem(when(f.taken, seconds=True))
            item.setData(PATH_ROLE, str(f.path))
            item.setToolTip(f"{f.path.name}\ntaken {when(f.taken, seconds=True)}")
            item.setIcon(QIcon(thumbs.get_or_placeholder(f.path)))
            self.grid.addItem(item)
        n = len(frames)
        self.heading.setText(
            f"{n} counter frame{'s' if n != 1 else ''} of this shop, newest first. "
            "Training uses them to learn the shop's light and background."
            if n
            else "No counter frames stored."
        )
        self.clear_button.setEnabled(bool(n))
        self._selection_changed()

    def selected_paths(self) -> list[Path]:
        return [Path(i.data(PATH_ROLE)) for i in self.grid.selectedItems()]

    @Slot()
    def _selection_changed(self) -> None:
        self.remove_button.setEnabled(bool(self.grid.selectedItems()))

    @Slot(str)
    def _thumb_ready(self, key: str) -> None:
        for i in range(self.grid.count()):
            item = self.grid.item(i)
            if item.data(PATH_ROLE) == key:
                item.setIcon(QIcon(self.session.thumbnails.get_or_placeholder(key)))

    def _confirm(self, text: str, yes: str, then: Callable[[], None]) -> QMessageBox:
        """A non-blocking question (tests click its buttons); ``then`` runs on Yes."""
        box = QMessageBox(QMessageBox.Icon.Question, "Counter frames", text, parent=self)
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        box.button(QMessageBox.StandardButton.Yes).setText(yes)
        box.setDefaultButton(QMessageBox.StandardButton.No)

        def answered(result: int) -> None:
            self.confirm_box = None
            if result == QMessageBox.StandardButton.Yes:
                then()

        box.finished.connect(answered)
        box.finished.connect(box.deleteLater)
        self.confirm_box = box
        box.open()
        return box

    @Slot()
    def ask_remove(self) -> QMessageBox | None:
        paths = self.selected_paths()
        if not paths:
            return None
        n = len(paths)
        return self._confirm(
            f"Delete {n} counter frame{'s' if n != 1 else ''}?",
            "Delete",
            lambda: self._remove(paths),
        )

    @Slot()
    def ask_clear(self) -> QMessageBox | None:
        n = len(self.store.frames())
        if not n:
            return None
        return self._confirm(
            f"Delete all {n} counter frames of this shop? Training then knows nothing of "
            "your counter until you take new ones.",
            "Delete all",
            self._clear,
        )

    def _remove(self, paths: list[Path]) -> None:
        for p in paths:
            self.store.remove(p)
            self.session.thumbnails.forget(p)
        self._changed()

    def _clear(self) -> None:
        for f in self.store.frames():
            self.session.thumbnails.forget(f.path)
        self.store.clear()
        self._changed()

    def _changed(self) -> None:
        self.fill()
        self.session.counter_frames_edited()
