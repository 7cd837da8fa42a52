"""The shop's counter frames as thumbnails with their dates: Remove and Clear all."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Slot
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
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

from app.core.flows.counter import CounterFrameStore
from app.core.wording import month_abbr

from ..accessible import named
from ..confirm import ask_later
from ..fitting import resize_within_screen
from ..session import Session

PATH_ROLE = Qt.ItemDataRole.UserRole + 1


def when(taken: dt.datetime, seconds: bool = False, now: dt.datetime | None = None) -> str:
    """``3 Dec 14:05`` in local time (``14:05:09`` with ``seconds``: frames of one
    capture are a second apart); the year too when it is not this year's."""
    local = taken.astimezone()
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone()
    clock = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    year = "" if local.year == now.year else f" {local.year}"
    return f"{local.day} {month_abbr(local.month)}{year} {clock}"


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
        self.grid = named(QListWidget(), "Counter frames")
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
        resize_within_screen(self, 640, 460)

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

    @Slot()
    def ask_remove(self) -> QMessageBox | None:
        paths = self.selected_paths()
        if not paths:
            return None
        n = len(paths)
        return ask_later(
            self,
            "Counter frames",
            f"Delete {n} counter frame{'s' if n != 1 else ''}?",
            "Delete",
            lambda: self._remove(paths),
        )

    @Slot()
    def ask_clear(self) -> QMessageBox | None:
        """Deletes the frames counted in the question: frames the Test screen stored
        while it was open went too (a data-loss audit)."""
        paths = self.store.paths()
        if not paths:
            return None
        return ask_later(
            self,
            "Counter frames",
            f"Delete all {len(paths)} counter frames of this shop? Training then knows "
            "nothing of your counter until you take new ones.",
            "Delete all",
            lambda: self._remove(paths),
        )

    def _remove(self, paths: list[Path]) -> None:
        for p in paths:
            self.store.remove(p)
            self.session.thumbnails.forget(p)
        self._changed()

    def _changed(self) -> None:
        self.fill()
        self.session.counter_frames_edited()
