"""Widgets that fit a small screen and large text: an 800×600 window, a desktop's text
size of 125 %, a dialog on a 1920×1080 screen at 200 %."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QGridLayout, QWidget


class WrappingRow(QWidget):
    """Buttons side by side where they fit, one under another where not: in large text
    two long buttons under the Test screen's picture made the window 876 px wide."""

    def __init__(self, *items: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._items = list(items)
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._one_row: bool | None = None
        self._place(True)

    def _one_row_width(self) -> int:
        shown = [w for w in self._items if not w.isHidden()]
        gaps = self._grid.horizontalSpacing() * max(0, len(shown) - 1)
        return sum(w.sizeHint().width() for w in shown) + gaps

    def _place(self, one_row: bool) -> None:
        if one_row == self._one_row:
            return
        self._one_row = one_row
        for w in self._items:
            self._grid.removeWidget(w)
        for i, w in enumerate(self._items):
            self._grid.addWidget(w, 0 if one_row else i, i if one_row else 0)
        self.updateGeometry()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(self._one_row_width(), super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        widest = max((w.minimumSizeHint().width() for w in self._items), default=0)
        return QSize(widest, super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._place(event.size().width() >= self._one_row_width())


def resize_within_screen(window: QWidget, width: int, height: int) -> None:
    """Give a dialog its usual size, or the screen's where that is smaller: at 200 %
    on a 1920×1080 screen (960×540 to Qt) a 580-pixel dialog put its Start and Cancel
    buttons below the screen's edge."""
    parent = window.parentWidget()
    screen = (parent.screen() if parent is not None else None) or window.screen()
    if screen is not None:
        room = screen.availableGeometry()
        width = min(width, room.width() - 20)
        height = min(height, room.height() - 60)  # a title bar, a task bar
    window.resize(max(width, 200), max(height, 150))
