""" "Show me your counter": about 20 frames of the counter camera over about 20 seconds.

The owner presses Start and moves a few products around; the dialog takes the
camera's newest picture once per ``interval_s`` (one a second by default), refuses
blank ones (a covered lens, a black or one-colour picture) with the reason on
screen, and stores the kept frames in the shop's counter frames only at the end,
in a background task. Cancel stores nothing.

Imports QtMultimedia and NumPy (through :mod:`app.gui.frames`): the Products and
Train screens import this module only when the owner opens the dialog.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from threading import Event
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QTimer, Slot
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QLabel,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from app.core.counter_frames import SUGGESTED

from .frames import CameraDialog, FrameSource
from .tasks import TaskError

if TYPE_CHECKING:
    from app.core.counter_frames import CounterFrameStore

    from .tasks import Task, TaskRunner

log = logging.getLogger(__name__)

# A frame whose grey levels vary less than this (standard deviation, 0..255) is one
# flat colour: a covered lens, a camera showing black, a blank wall.
BLANK_STD = 4.0
# No new picture from the camera for this long during a capture: it stopped.
STALE_S = 5.0
# "Photograph the empty counter…": this many pictures, one a second.
EMPTY_COUNT = 5


def grey_std(rgb: np.ndarray) -> float:
    """Spread of the grey levels of a frame, on a subsample (cheap at any size)."""
    step = max(1, max(rgb.shape[:2]) // 160)
    small = np.asarray(rgb[::step, ::step, :3], dtype=np.float32)
    grey = small @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return float(grey.std())


def is_blank(rgb: np.ndarray) -> bool:
    """Almost one flat colour: nothing of the counter to learn from."""
    return grey_std(rgb) < BLANK_STD


BLANK_REASON = (
    "The camera shows one flat colour (lens covered, too dark, or a blank picture): "
    "those pictures are not kept. Uncover the camera or switch on the light."
)


class CounterCaptureDialog(CameraDialog):
    """Live view, Start, then ``count`` frames one per ``interval_s``; stored at the end.

    ``stored`` holds the stored frames' paths once the dialog is accepted; ``refused``
    counts the blank pictures left out.
    """

    no_camera_text = (
        "Connect the counter camera and open this window again. A video of the counter "
        "also works: choose it on the Test screen and use “Add frames to counter frames”."
    )
    title = "Show me your counter"
    doing = "move a few products around on the counter"  # what the owner does meanwhile
    task_name = "counter-frames"  # the task runner's resource of the saving

    def __init__(
        self,
        store: CounterFrameStore | None,
        runner: TaskRunner,
        parent: QWidget | None = None,
        camera_id: str | None = None,
        source: FrameSource | None = None,
        count: int = SUGGESTED,
        interval_s: float = 1.0,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.title)
        self.store = store
        self.runner = runner
        self.count = max(1, int(count))
        self.interval_s = float(interval_s)
        self.taken: list[np.ndarray] = []
        self.taken_at: list[float] = []  # when each was taken (time.time())
        self.refused = 0
        self.stored: list[Path] = []
        self.capturing = False
        self._stale_ticks = 0
        self._last: np.ndarray | None = None
        self._save_task: Task | None = None

        self.intro = QLabel(self.intro_text(round(self.count * self.interval_s)))
        self.intro.setWordWrap(True)
        self.status = QLabel("Waiting for the camera…")
        self.status.setObjectName("subtitle")
        self.bar = QProgressBar()
        self.bar.setRange(0, self.count)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(10)
        self.message.setStyleSheet("color: #8a1c1c;")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.start_button = self.buttons.addButton("Start", QDialogButtonBox.ButtonRole.ActionRole)
        self.start_button.setEnabled(False)
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.cancel_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.rejected.connect(self.reject)
        self._timer = QTimer(self, interval=max(1, round(1000 * self.interval_s)))
        self._timer.timeout.connect(self._tick)

        lay = QVBoxLayout(self)
        lay.addWidget(self.intro)
        lay.addLayout(self.camera_row())
        lay.addWidget(self.view, 1)
        lay.addWidget(self.status)
        lay.addWidget(self.bar)
        lay.addWidget(self.message)
        lay.addWidget(self.buttons)
        self.open_camera(camera_id, source)
        self.resize(620, 560)

    def intro_text(self, seconds: int) -> str:
        return (
            f"Point the counter camera at the counter as it is when you sell. Press "
            f"<b>Start</b>, then move a few products around on the counter for about "
            f"{seconds} seconds: the camera takes {self.count} pictures. Any products "
            "will do; no names needed."
        )

    def saver(self) -> Callable[[np.ndarray], Path]:
        """How the background task stores one kept picture (plain Python, no Qt)."""
        store = self.store
        return lambda rgb: store.add_rgb(rgb, prefix="counter")

    # -- camera -------------------------------------------------------------------
    def frame_arrived(self, rgb: np.ndarray) -> None:
        if not self.capturing and self._save_task is None and not self.start_button.isEnabled():
            self.start_button.setEnabled(True)
            self.start_button.setFocus()
            self.status.setText(
                f"Ready: press Start, then {self.doing} "
                f"({self.count} pictures, about {round(self.count * self.interval_s)} s)."
            )

    def source_failed(self, msg: str) -> None:
        self._timer.stop()
        self.capturing = False
        self.start_button.setEnabled(False)
        if msg:
            self.status.setText("The camera stopped." if self.taken else "No pictures.")
        self.message.setText(msg)

    # -- capture ------------------------------------------------------------------
    @Slot()
    def start(self) -> None:
        """Begin (or begin again): earlier pictures of this dialog are dropped."""
        if self._source is None or self._save_task is not None:
            return
        self.taken.clear()
        self.taken_at.clear()
        self.refused = 0
        self._stale_ticks = 0
        self._last = None
        self.capturing = True
        self.message.clear()
        self.start_button.setEnabled(False)
        self.bar.setValue(0)
        self._show_progress()
        self._timer.start()
        self._tick()  # the first picture at once

    @Slot()
    def _tick(self) -> None:
        if not self.capturing or self._source is None:
            return
        rgb = self._source.latest
        if rgb is None or rgb is self._last:  # no new picture since the last tick
            self._stale_ticks += 1
            if self._stale_ticks * self.interval_s >= STALE_S:
                self.message.setText("The camera stopped sending pictures.")
                self._finish()
            return
        self._stale_ticks = 0
        self._last = rgb
        if is_blank(rgb):
            self.refused += 1
            self.message.setText(BLANK_REASON)
        else:
            self.taken.append(np.array(rgb, copy=True))
            self.taken_at.append(time.time())
            if self.refused:
                s = "s" if self.refused != 1 else ""
                self.message.setText(f"{self.refused} blank picture{s} left out.")
            else:
                self.message.clear()
        self.bar.setValue(len(self.taken))
        self._show_progress()
        # As many blank pictures as wanted ones: stop asking, keep what there is.
        if len(self.taken) >= self.count or self.refused >= self.count:
            self._finish()

    def _show_progress(self) -> None:
        self.status.setText(f"{len(self.taken)} of {self.count} — {self.doing}")

    def _finish(self) -> None:
        self._timer.stop()
        self.capturing = False
        if not self.taken:
            self.status.setText("Nothing stored.")
            if self.refused:
                self.message.setText("Every picture was blank. " + BLANK_REASON)
            self.start_button.setText("Start again")
            self.start_button.setEnabled(True)
            return
        frames, stamps, save = list(self.taken), list(self.taken_at), self.saver()
        self.status.setText(f"Saving {len(frames)} pictures…")
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(False)  # a second at most; then the dialog closes

        def work(_on_progress: Any, _cancel: Event) -> list[Path]:
            paths = []
            for rgb, at in zip(frames, stamps, strict=True):
                path = save(rgb)
                os.utime(path, (at, at))  # a frame's date is when it was taken, not saved
                paths.append(path)
            return paths

        task = self.runner.start(self.task_name, work)
        self._save_task = task
        task.succeeded.connect(self._saved)
        task.failed.connect(self._save_failed)

    @Slot(object)
    def _saved(self, paths: list[Path]) -> None:
        self._save_task = None
        self.stored = list(paths)
        self.accept()

    @Slot(object)
    def _save_failed(self, err: TaskError) -> None:
        self._save_task = None
        self.cancel_button.setEnabled(True)
        self.start_button.setEnabled(True)
        self.status.setText("Could not store the pictures.")
        self.message.setText(err.message)

    def done(self, result: int) -> None:
        if self._save_task is not None and result != self.DialogCode.Accepted:
            return  # the frames are being written: the dialog closes when they are
        self._timer.stop()
        self.capturing = False
        super().done(result)


class EmptyCounterDialog(CounterCaptureDialog):
    """A few pictures of the counter with nothing of the shop on it, stored as the shop's
    "not a product" photos (``<channel folder>/not-products``, :mod:`app.core.not_products`)."""

    title = "Photograph the empty counter"
    doing = "keep the shop's products off the counter"
    task_name = "not-products"
    no_camera_text = "Connect the counter camera and open this window again."

    def __init__(
        self,
        root: Path,
        runner: TaskRunner,
        parent: QWidget | None = None,
        camera_id: str | None = None,
        source: FrameSource | None = None,
        count: int = EMPTY_COUNT,
        interval_s: float = 1.0,
    ) -> None:
        self.root = Path(root)  # no CounterFrameStore: saver() writes into the root
        super().__init__(None, runner, parent, camera_id, source, count, interval_s)

    def intro_text(self, seconds: int) -> str:
        return (
            "Clear the counter: none of the shop's products on it, just the counter as the "
            "camera sees it between customers (a bag or an empty hand is fine). Press "
            f"<b>Start</b>: the camera takes {self.count} pictures over about {seconds} "
            "seconds. They teach the till to ask instead of guessing when nothing of the "
            "shop is on the counter."
        )

    def saver(self) -> Callable[[np.ndarray], Path]:
        from app.core import not_products

        root = self.root
        return lambda rgb: not_products.add_rgb(root, rgb, prefix="empty")
