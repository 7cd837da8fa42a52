"""Small widgets every screen uses: inline banners, a task progress panel, error dialogs."""

from __future__ import annotations

import logging
import time
from typing import Any

from PySide6.QtCore import QByteArray, QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLayoutItem,
    QListView,
    QListWidget,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
    QWidgetItem,
)

from app.core.progress import Phase, Progress

from .accessible import announce, named
from .tasks import Task, TaskError

log = logging.getLogger(__name__)

PHASES = {  # each step of a task in the owner's words, above the bar
    Phase.DOWNLOADING: "Downloading photos",
    Phase.PREPARING: "Getting ready",
    Phase.FEATURES: "Studying your photos",
    Phase.TRAINING: "Learning",
    Phase.VALIDATING: "Testing on held-back photos",
    Phase.EXPORTING: "Saving the model",
    Phase.UPLOADING: "Sending",
    Phase.VERIFYING: "Checking",
    Phase.LOADING: "Loading",
    Phase.RESTORING: "Putting the earlier model back",
}

_BANNER_STYLES = {
    "info": ("#e8f1fb", "#1d4f86"),
    "ok": ("#e6f4ea", "#1e5b2e"),
    "warn": ("#fff4dc", "#7a5200"),
    "error": ("#fde8e8", "#8a1c1c"),
}


def wrap_within(label: QLabel) -> None:
    """Wrap ``label``'s text in the width its layout has, never asking for more: a
    wrapping label's narrowest width is its longest word, and a message naming a product
    of one long word (``Organic_Fairtrade_…``, 122 characters) made the window 1,018 px
    wide at 800×600. Such a word is cut at the edge instead (whole in the list)."""
    label.setWordWrap(True)
    policy = label.sizePolicy()  # keeps the height-for-width a wrapping label needs
    policy.setHorizontalPolicy(QSizePolicy.Policy.Ignored)
    label.setSizePolicy(policy)


class Banner(QLabel):
    """An inline message (info / ok / warn / error); hidden when empty; wraps within its
    screen's width (:func:`wrap_within`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        wrap_within(self)
        # plain text: a message carries the server's words and product names, which Qt
        # would otherwise render as HTML (a clickable link, an image) when they look like it
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.kind = ""
        self.hide()

    def show_message(self, text: str, kind: str = "info") -> None:
        bg, fg = _BANNER_STYLES[kind]
        self.kind = kind
        self.setStyleSheet(
            f"QLabel {{ background: {bg}; color: {fg}; border-radius: 4px; padding: 8px; }}"
        )
        self.setText(text)
        self.setVisible(bool(text))
        announce(self, text, urgent=kind == "error")  # a screen reader says it, not only shows

    def show_failure(self, error: TaskError, prefix: str = "", suffix: str = "") -> None:
        """A task failure inline; a bug also gets the details dialog (never inline)."""
        self.show_message(" ".join(x for x in (prefix, error.message, suffix) if x), "error")
        if not error.is_user_error:
            show_error(self.window(), "Unexpected error", error)

    def clear_message(self) -> None:
        self.kind = ""
        self.setText("")
        self.hide()


class ElidedLabel(QLabel):
    """One line that shrinks with "…" instead of pushing the layout wider; the full text
    is in the tooltip. For names and paths on narrow (800×600) screens."""

    def __init__(
        self,
        text: str = "",
        parent: QWidget | None = None,
        mode: Qt.TextElideMode = Qt.TextElideMode.ElideMiddle,  # a path's both ends matter
    ) -> None:
        super().__init__(parent)
        self._full = ""
        self._mode = mode
        self.setTextFormat(Qt.TextFormat.PlainText)  # names and paths, cut at any letter
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt API
        self._full = text
        self.setToolTip(text if text and text != "—" else "")
        super().setText(text)
        self.update()

    def full_text(self) -> str:
        return self._full

    def is_elided(self) -> bool:
        return self.fontMetrics().horizontalAdvance(self._full) > self.contentsRect().width()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(24, super().minimumSizeHint().height())

    def paintEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        painter = QPainter(self)
        rect = self.contentsRect()
        shown = self.fontMetrics().elidedText(self._full, self._mode, rect.width())
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(rect, int(self.alignment() | Qt.AlignmentFlag.AlignVCenter), shown)


class FlowLayout(QLayout):
    """Widgets left to right, wrapping onto the next line like words: a list of product
    links stays as wide as the page at 800x600 instead of widening it."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 4) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self.setContentsMargins(0, 0, 0, 0)
        self.setSpacing(spacing)

    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802 - Qt API
        self._items.append(item)

    def addWidget(self, w: QWidget) -> None:  # noqa: N802 - Qt API
        self.addChildWidget(w)
        self.addItem(QWidgetItem(w))

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt API
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt API
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802 - Qt API
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt API
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt API
        return self._place(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802 - Qt API
        super().setGeometry(rect)
        self._place(rect, move=True)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return self.minimumSize()

    def minimumSize(self) -> QSize:  # noqa: N802 - Qt API
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    def _place(self, rect: QRect, move: bool) -> int:
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        x, y, line = area.x(), area.y(), 0
        gap = self.spacing()
        for item in self._items:
            if item.widget() is not None and item.widget().isHidden():
                continue
            hint = item.sizeHint()
            if x > area.x() and x + hint.width() > area.right() + 1:
                x, y, line = area.x(), y + line + gap, 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x += hint.width() + gap
            line = max(line, hint.height())
        return y + line - rect.y() + m.bottom()


def link_button(text: str, tip: str = "") -> QPushButton:
    """A flat button that reads as a link (blue, underlined, hand cursor): for a name
    that opens something, clickable by keyboard and by tests like any button."""
    b = QPushButton(text)
    b.setFlat(True)
    b.setCursor(Qt.CursorShape.PointingHandCursor)
    b.setToolTip(tip)
    b.setStyleSheet(
        "QPushButton { color: #1d5fa8; text-decoration: underline; border: none; "
        "padding: 1px 2px; text-align: left; }"
        "QPushButton:hover { color: #0d3d75; }"
    )
    return b


def photo_grid(icon: int, cell: QSize) -> QListWidget:
    """A grid of photo thumbnails (``icon`` px) in ``cell``-sized cells that reflows with
    the width, never dragged about, several selectable (Products' photos, the till's)."""
    grid = QListWidget()
    grid.setViewMode(QListView.ViewMode.IconMode)
    grid.setIconSize(QSize(icon, icon))
    grid.setGridSize(cell)
    grid.setResizeMode(QListView.ResizeMode.Adjust)
    grid.setMovement(QListView.Movement.Static)
    grid.setWordWrap(True)
    grid.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    return grid


def scroll_page(page: QWidget, body: QWidget) -> None:
    """Make ``body`` the scrolling content of ``page``: at 800×600 a screen scrolls
    instead of squeezing its tables and labels."""
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.setWidget(body)
    outer = QVBoxLayout(page)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(scroll)


def keep_splitter(splitter: QSplitter, settings: Any, name: str) -> None:
    """Restore a splitter's sizes from the settings and keep them there when moved."""
    saved = settings.splitters.get(name)
    if saved:
        splitter.restoreState(QByteArray.fromBase64(saved.encode("ascii")))

    def moved(*_args: object) -> None:
        settings.splitters[name] = bytes(splitter.saveState().toBase64()).decode("ascii")

    splitter.splitterMoved.connect(moved)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m} min {s:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


class ProgressPanel(QFrame):
    """Phase, bar, ETA and Cancel for one task; appears only after a short delay.

    Quick tasks never flash a bar (Anki waits ~600 ms before showing progress).
    """

    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None, show_delay_ms: int = 300) -> None:
        super().__init__(parent)
        self.phase = QLabel()
        self.phase.setObjectName("phase")
        self.bar = named(QProgressBar(), "Progress")
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.eta = QLabel()
        self.eta.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        self.eta.setMinimumWidth(130)
        self.eta.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self._cancel)
        top = QHBoxLayout()
        top.addWidget(self.phase, 1)
        top.addWidget(self.eta)
        row = QHBoxLayout()
        row.addWidget(self.bar, 1)
        row.addWidget(self.cancel_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addLayout(row)
        self._task: Task | None = None
        self._reported = False  # the task reports its time left
        self._left: tuple[float, float] | None = None
        self._first: tuple[float, float] | None = None
        self._t0 = 0.0
        self._delay = QTimer(self, singleShot=True, interval=show_delay_ms)
        self._delay.timeout.connect(self._reveal)
        self._tick = QTimer(self, interval=1000)  # counts the time left down between reports
        self._tick.timeout.connect(self._count_down)
        self.hide()

    def track(
        self, task: Task, title: str, cancellable: bool = True, time_left_reported: bool = False
    ) -> None:
        """``time_left_reported``: the task's reports carry the time left once it knows
        it (a training: :func:`app.core.flows.train.train`), counted down between them;
        else a guess from the rate so far."""
        self._task = task
        self._reported = time_left_reported
        self._left: tuple[float, float] | None = None  # (when reported, seconds left)
        self._first: tuple[float, float] | None = None
        self._t0 = time.monotonic()
        self.phase.setText(title)
        self.eta.setText("")
        self.bar.setRange(0, 0)  # busy until the first progress report
        self.cancel_button.setVisible(cancellable)
        self.cancel_button.setEnabled(True)
        task.progress.connect(lambda p, t=task: self._on_progress(t, p))
        task.finished.connect(lambda t=task: self._on_finished(t))
        self._delay.start()
        if time_left_reported:
            self._tick.start()

    def _reveal(self) -> None:
        if self._task is not None and self._task.running:
            self.show()

    def _cancel(self) -> None:
        if self._task is not None:
            self.cancel_button.setEnabled(False)
            self.phase.setText("Cancelling…")
            self._task.cancel()
            self.cancel_requested.emit()

    def _on_progress(self, task: Task, p: Progress) -> None:
        if task is not self._task or task.cancel_event.is_set():
            return
        name = PHASES.get(p.phase, p.phase.value.capitalize())
        if p.message.startswith("Loading"):  # a step that cannot tell how far it is
            self.bar.setRange(0, 0)
            self.phase.setText(f"{p.message}…")
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(round(1000 * p.fraction))
            self.phase.setText(f"{name}: {p.message}" if p.message else f"{name}…")
        now = time.monotonic()
        if self._reported:
            self._left = None if p.eta_s is None else (now, p.eta_s)
            left = p.eta_s
        else:  # from the rate since the first report, once there is enough of it
            if self._first is None:
                self._first = (now, p.fraction)
            t1, f1 = self._first
            done = p.fraction - f1
            left = (now - t1) / done * (1 - p.fraction) if done > 0.05 and now - t1 > 1 else None
        self.eta.setText(self._left_text(left))

    def _count_down(self) -> None:
        if self._task is None or self._left is None or self._task.cancel_event.is_set():
            return
        t, left = self._left
        self.eta.setText(self._left_text(max(0.0, left - (time.monotonic() - t))))

    @staticmethod
    def _left_text(seconds: float | None) -> str:
        from app.core.flows.train import describe_left

        return describe_left(seconds, format_duration)

    def _on_finished(self, task: Task) -> None:
        if task is self._task:
            self._delay.stop()
            self._tick.stop()
            self._task = None
            self.hide()

    @property
    def busy(self) -> bool:
        return self._task is not None


def show_error(parent: QWidget | None, title: str, error: TaskError | BaseException) -> None:
    """A readable dialog; the traceback (for bugs only) hides under "Show Details"."""
    if not isinstance(error, TaskError):
        import traceback

        error = TaskError(
            error, "".join(traceback.format_exception(type(error), error, error.__traceback__))
        )
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning if error.is_user_error else QMessageBox.Icon.Critical)
    box.setWindowTitle(title)
    box.setTextFormat(Qt.TextFormat.PlainText)  # the server's or a file's own words
    box.setText(error.message)
    if not error.is_user_error:
        from app.core import paths

        box.setInformativeText(
            "This is a bug in the trainer. The details below were also written to the "
            f"log in {paths.log_dir()}."
        )
        box.setDetailedText(error.details)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.open()


def reveal_folder(path: Any, banner: Banner) -> bool:
    """Open ``path`` in the file manager; where none opens (a bare desktop, a kiosk),
    say where it is instead, selectable and already on the clipboard."""
    from pathlib import Path

    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QDesktopServices
    from PySide6.QtWidgets import QApplication

    folder = str(Path(path))
    if QDesktopServices.openUrl(QUrl.fromLocalFile(folder)):
        return True
    QApplication.clipboard().setText(folder)
    banner.show_message(
        f"No file manager opened on this computer. The folder is:\n{folder}\n"
        "(copied: paste it where you need it)",
        "info",
    )
    return False
