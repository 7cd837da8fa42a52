""" "Add frames to counter frames": the Test screen's last different live pictures, kept
as the open shop's counter frames (a video of the counter works as well as the camera).
"""

from __future__ import annotations

from threading import Event
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QPushButton

from app.core.flows.counter import trimmed_words

from ...tasks import Task, TaskError, TaskRunner
from .recent import RECENT_FRAMES, RecentPictures

if TYPE_CHECKING:
    from app.core.flows.counter import CounterFrameStore


class LiveCounterFrames(QObject):
    """The button, the pictures it would store, and storing them in the background."""

    added = Signal(int)  # frames stored
    message = Signal(str, str)  # what storing did (text, Banner kind)

    def __init__(self, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.store: CounterFrameStore | None = None  # None: no shop or folder open
        self.recent = RecentPictures()
        self.live = False  # the source is live (camera, video, frames), not image files
        self._task: Task | None = None
        self.button = QPushButton("Add frames to counter frames")
        self.button.clicked.connect(self.add)

    def set_store(self, store: CounterFrameStore | None) -> None:
        self.store = store
        self.update()

    def restart(self, live: bool) -> None:
        """Another source: what the last one showed is forgotten."""
        self.live = live
        self.recent.clear()
        self.update()

    def seen(self, rgb: np.ndarray, now: float) -> None:
        if self.recent.seen(rgb, now, self.live):
            self.update()

    def update(self) -> None:
        self.button.setVisible(self.live)
        self.button.setToolTip(
            f"Store the last {RECENT_FRAMES} different pictures of this camera or video as "
            "this shop's counter frames: training learns the shop's light and background "
            "from them"
            if self.store is not None
            else "Log in to your shop or choose its folder first: counter frames belong to a shop"
        )
        self.button.setEnabled(
            self.store is not None and bool(self.recent.count) and self._task is None
        )

    @Slot()
    def add(self) -> Task | None:
        """Store the recent pictures in the shop's counter frames, in the background."""
        store = self.store
        if store is None or not self.recent.count or self._task is not None:
            return None
        frames = self.recent.take()

        def work(_on_progress: Any, _cancel: Event) -> tuple[int, int, int]:
            stored = [store.add_rgb(f, prefix="live", trim=False) for f in frames]
            removed = store.trim()
            return len(stored), len(store.frames()), removed

        task = self.runner.start("counter-frames-live", work)
        self._task = task
        task.succeeded.connect(lambda res, t=task: self._done(t, *res))
        task.failed.connect(lambda err, t=task: self._failed(t, err))
        self.update()
        return task

    def _done(self, task: Task, added: int, total: int, removed: int) -> None:
        if task is self._task:
            self._task = None
            self.update()
            gone = f"; {trimmed_words(removed)}" if removed else ""
            self.message.emit(
                f"Added {added} frame{'s' if added != 1 else ''} to this shop's counter frames "
                f"({total} in all{gone}). The next training uses them.",
                "ok",
            )
            self.added.emit(added)

    def _failed(self, task: Task, err: TaskError) -> None:
        if task is self._task:
            self._task = None
            self.update()
            self.message.emit(f"Could not store the frames: {err.message}", "error")
