"""Small widgets every screen uses: inline banners, a task progress panel, error dialogs."""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.core.progress import Progress

from .tasks import Task, TaskError

log = logging.getLogger(__name__)

PHASES = {
    "downloading": "Downloading images",
    "preparing": "Reading images",
    "features": "Extracting features",
    "training": "Training",
    "validating": "Checking accuracy",
    "exporting": "Writing model files",
    "uploading": "Uploading",
    "verifying": "Verifying",
    "loading": "Loading",
}

_BANNER_STYLES = {
    "info": ("#e8f1fb", "#1d4f86"),
    "ok": ("#e6f4ea", "#1e5b2e"),
    "warn": ("#fff4dc", "#7a5200"),
    "error": ("#fde8e8", "#8a1c1c"),
}


class Banner(QLabel):
    """An inline message (info / ok / warn / error); hidden when empty."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.setOpenExternalLinks(True)
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

    def show_failure(self, error: TaskError, prefix: str = "", suffix: str = "") -> None:
        """A task failure inline; a bug also gets the details dialog (never inline)."""
        self.show_message(" ".join(x for x in (prefix, error.message, suffix) if x), "error")
        if not error.is_user_error:
            show_error(self.window(), "Unexpected error", error)

    def clear_message(self) -> None:
        self.kind = ""
        self.setText("")
        self.hide()


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
        self.bar = QProgressBar()
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
        self._t0 = 0.0
        self._delay = QTimer(self, singleShot=True, interval=show_delay_ms)
        self._delay.timeout.connect(self._reveal)
        self.hide()

    def track(self, task: Task, title: str, cancellable: bool = True) -> None:
        self._task = task
        self._t0 = time.monotonic()
        self.phase.setText(title)
        self.eta.setText("")
        self.bar.setRange(0, 0)  # busy until the first progress report
        self.cancel_button.setVisible(cancellable)
        self.cancel_button.setEnabled(True)
        task.progress.connect(lambda p, t=task: self._on_progress(t, p))
        task.finished.connect(lambda t=task: self._on_finished(t))
        self._delay.start()

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
        self.bar.setRange(0, 1000)
        self.bar.setValue(round(1000 * p.fraction))
        name = PHASES.get(p.phase, p.phase.capitalize())
        self.phase.setText(f"{name}: {p.message}" if p.message else f"{name}…")
        eta = p.eta_s
        elapsed = time.monotonic() - self._t0
        if eta is None and p.fraction > 0.05 and elapsed > 2:
            eta = elapsed * (1 - p.fraction) / p.fraction
        self.eta.setText(f"about {format_duration(eta)} left" if eta is not None else "")

    def _on_finished(self, task: Task) -> None:
        if task is self._task:
            self._delay.stop()
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
