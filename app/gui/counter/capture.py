""" "Show me your counter" and "Photograph the empty counter": timed captures.

The owner presses Start; the dialog takes the camera's newest picture once per
``interval_s`` (one a second by default), refuses blank ones (a covered lens, a black
or one-colour picture) with the reason on screen, and stores the kept pictures only
at the end, in a background task. Cancel stores nothing.

Imports QtMultimedia and NumPy (through :mod:`app.gui.camera`): the panels import this
module only when the owner opens a dialog.
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
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.core.flows.counter import SUGGESTED, add_empty_counter_photo

from ..camera.dialogs import CaptureDialog
from ..camera.images import is_blank
from ..fitting import resize_within_screen

if TYPE_CHECKING:
    from app.core.flows.counter import CounterFrameStore
    from app.core.flows.open_source import ChannelStore

    from ..camera.sources import FrameSource
    from ..tasks import TaskError, TaskRunner

log = logging.getLogger(__name__)

# No new picture from the camera for this long during a capture: it stopped.
STALE_S = 5.0
# "Photograph the empty counter…": this many pictures, one a second.
EMPTY_COUNT = 5

BLANK_REASON = (
    "The camera shows one flat colour (lens covered, too dark, or a blank picture): "
    "those pictures are not kept. Uncover the camera or switch on the light."
)


class CounterCaptureDialog(CaptureDialog):
    """Live view, Start, then ``count`` pictures one per ``interval_s``; stored at the end.

    ``stored`` holds the stored pictures' paths once the dialog is accepted; ``refused``
    counts the blank pictures left out.
    """

    no_camera_text = (
        "Connect the counter camera and open this window again. A video of the counter "
        "also works: choose it on the Test screen and use “Add frames to counter frames”."
    )
    title = "Show me your counter"
    enter_starts = True
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
        self.count = max(1, int(count))
        super().__init__(runner, parent, interval_s, self.count, "#8a1c1c")
        self.setWindowTitle(self.title)
        self.store = store
        self.taken: list[np.ndarray] = []
        self.taken_at: list[float] = []  # when each was taken (time.time())
        self.refused = 0
        self.stored: list[Path] = []
        self.removed = 0  # the oldest frames the store deleted to keep its newest
        self._stale_ticks = 0

        self.intro = QLabel(self.intro_text(round(self.count * self.interval_s)))
        self.intro.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addWidget(self.intro)
        lay.addLayout(self.camera_row())
        lay.addWidget(self.view, 1)
        lay.addWidget(self.status)
        lay.addWidget(self.bar)
        lay.addWidget(self.message)
        lay.addWidget(self.buttons)
        self.open_camera(camera_id, source)
        resize_within_screen(self, 620, 560)

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
        return lambda rgb: store.add_rgb(rgb, prefix="counter", trim=False)

    def tidier(self) -> Callable[[], int]:
        """After the batch: how many of the oldest kept pictures went to make room."""
        return self.store.trim

    # -- the capture ----------------------------------------------------------------
    def ready_text(self) -> str:
        return (
            f"Ready: press Start, then {self.doing} "
            f"({self.count} pictures, about {round(self.count * self.interval_s)} s)."
        )

    def source_failed(self, msg: str) -> None:
        super().source_failed(msg)
        if msg:
            self.status.setText("The camera stopped." if self.taken else "No pictures.")

    def begin(self) -> None:
        self.taken.clear()
        self.taken_at.clear()
        self.refused = 0
        self._stale_ticks = 0
        self.bar.setValue(0)
        self._show_progress()

    def take(self, rgb: np.ndarray | None) -> None:
        if rgb is None:  # no new picture since the last tick
            self._stale_ticks += 1
            if self._stale_ticks * self.interval_s >= STALE_S:
                self.message.setText("The camera stopped sending pictures.")
                self._finish()
            return
        self._stale_ticks = 0
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
        self.stop_capture()
        if not self.taken:
            self.status.setText("Nothing stored.")
            if self.refused:
                self.message.setText("Every picture was blank. " + BLANK_REASON)
            self.start_button.setText("Start again")
            self.start_button.setEnabled(True)
            return
        frames, stamps = list(self.taken), list(self.taken_at)
        save, tidy = self.saver(), self.tidier()
        self.status.setText(f"Saving {len(frames)} pictures…")
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(False)  # a second at most; then the dialog closes

        def work(_on_progress: Any, _cancel: Event) -> tuple[list[Path], int]:
            paths = []
            for rgb, at in zip(frames, stamps, strict=True):
                path = save(rgb)
                os.utime(path, (at, at))  # a picture's date is when it was taken, not saved
                paths.append(path)
            return paths, tidy()

        self.run_after(self.task_name, work, self._saved, self._save_failed)

    def _saved(self, result: tuple[list[Path], int]) -> None:
        self.stored, self.removed = list(result[0]), result[1]
        self.accept()

    def _save_failed(self, err: TaskError | None) -> None:
        self.cancel_button.setEnabled(True)
        self.start_button.setEnabled(True)
        self.status.setText("Could not store the pictures.")
        self.message.setText(err.message if err is not None else "Cancelled.")

    def done(self, result: int) -> None:
        if self.busy and result != self.DialogCode.Accepted:
            return  # the pictures are being written: the dialog closes when they are
        super().done(result)


class EmptyCounterDialog(CounterCaptureDialog):
    """A few pictures of the counter with nothing of the shop on it, kept as the shop's
    "not a product" photos (:mod:`app.core.flows.counter`)."""

    title = "Photograph the empty counter"
    doing = "keep the shop's products off the counter"
    task_name = "not-products"
    no_camera_text = "Connect the counter camera and open this window again."

    def __init__(
        self,
        shop: ChannelStore,
        runner: TaskRunner,
        parent: QWidget | None = None,
        camera_id: str | None = None,
        source: FrameSource | None = None,
        count: int = EMPTY_COUNT,
        interval_s: float = 1.0,
    ) -> None:
        self.shop = shop  # saver() keeps them with the shop, not as counter frames
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
        shop = self.shop
        return lambda rgb: add_empty_counter_photo(shop, rgb)

    def tidier(self) -> Callable[[], int]:
        return lambda: 0  # the empty counter's photos are all kept
