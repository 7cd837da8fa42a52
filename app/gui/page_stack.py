"""Pages shown one at a time, the container as tall as the page shown.

A QStackedWidget is as tall as its tallest page (its layout asks every page's height
for width too), so a short page floats in the empty space of the tallest one: the Log
in card's "Your photos" line sat in the login form's height.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget


class PageStack(QWidget):
    """QStackedWidget's calls that the Log in card uses; a hidden page takes no room."""

    currentChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pages: list[QWidget] = []
        self._current = -1
        self._lay = QVBoxLayout(self)
        self._lay.setContentsMargins(0, 0, 0, 0)

    def addWidget(self, page: QWidget) -> int:
        self._pages.append(page)
        self._lay.addWidget(page)
        page.setVisible(len(self._pages) == 1)  # the first page is the one shown
        self._current = max(self._current, 0)
        return len(self._pages) - 1

    def setCurrentIndex(self, index: int) -> None:
        if index == self._current or not 0 <= index < len(self._pages):
            return
        self._pages[self._current].hide()
        self._pages[index].show()
        self._current = index
        self.currentChanged.emit(index)

    def currentIndex(self) -> int:
        return self._current

    def currentWidget(self) -> QWidget | None:
        return self._pages[self._current] if self._pages else None
