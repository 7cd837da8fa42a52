"""The cashier's corrections, taught one at a time and in order, none lost.

A correction made while the one before it is still being taught (about a second) or
while the Test screen reloads the files it wrote waits here instead of being refused:
one ``teach`` task at a time on the shared runner, oldest first. The queue waits while
the model files are being loaded (a teach swaps them, which would break the read).

A correction the owner cancels is dropped (that was the point); one cancelled by
anything else goes back to the front. When the app closes, what still waits (and one
whose teach the closing cancels) is stored as the product's photos without teaching
(:meth:`TeachQueue.close`): the next training uses them.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from threading import Event
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from app.core.errors import TrainerError

from ...tasks import Task, TaskRunner

if TYPE_CHECKING:
    from app.core.flows.open_source import ChannelStore
    from app.core.flows.teach import Taught

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Correction:
    """What the cashier said about one picture (or what a teach dialog picked), with
    everything needed to teach it later: the shop and model of that moment."""

    product_id: str
    name: str  # the product's name on screen, for messages
    frames: list[np.ndarray]
    answer: bool  # a Test-screen answer ("Right", "No, it is…"); else a teach dialog's
    keep: int | None  # the frames are a burst: keep at most this many
    store: ChannelStore
    model_dir: Path | None
    shop_products: Collection[str] | None
    weights: Path | None

    def teach(self, on_progress: Any, cancel: Event | None) -> Taught:
        from app.core.flows.teach import teach_at_the_counter

        return teach_at_the_counter(
            self.store,
            self.model_dir,
            self.product_id,
            self.frames,
            answer=self.answer,
            keep=self.keep,
            shop_products=self.shop_products,
            weights=self.weights,
            on_progress=on_progress,
            cancel=cancel,
        )

    def store_only(self) -> Taught:
        """Keep the pictures as the product's photos, the model untouched (at quit)."""
        from app.core.flows.teach import teach_at_the_counter

        return teach_at_the_counter(
            self.store,
            None,
            self.product_id,
            self.frames,
            answer=self.answer,
            keep=self.keep,
            shop_products=self.shop_products,
        )


class TeachQueue(QObject):
    """Corrections waiting, and the one being taught."""

    started = Signal(object, object)  # Task, Correction
    taught = Signal(object, object)  # Correction, Taught
    failed = Signal(object, object)  # Correction, TaskError
    dropped = Signal(object)  # Correction the owner cancelled
    waiting_changed = Signal(int)  # corrections not started yet

    def __init__(self, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self._waiting: deque[Correction] = deque()
        self._running: tuple[Task, Correction] | None = None
        self._owner_cancelled = False
        self._paused = False
        self._closed = False
        self._soon = QTimer(self, singleShot=True, interval=0)
        self._soon.timeout.connect(self._next)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @property
    def running(self) -> Correction | None:
        return self._running[1] if self._running is not None else None

    @property
    def busy(self) -> bool:
        return self._running is not None or bool(self._waiting)

    def add(self, correction: Correction) -> None:
        if self._closed:
            return
        self._waiting.append(correction)
        self.waiting_changed.emit(len(self._waiting))
        self._soon.start()

    def pause(self) -> None:
        """The model's files are being read: a teach would swap them meanwhile."""
        self._paused = True

    def resume(self) -> None:
        self._paused = False
        self._soon.start()

    def cancel_running(self) -> None:
        """The owner's Cancel: the correction being taught is dropped, the rest go on."""
        if self._running is not None:
            self._owner_cancelled = True
            self._running[0].cancel()

    def _next(self) -> None:
        if self._closed or self._paused or self._running is not None or not self._waiting:
            return
        correction = self._waiting.popleft()
        self.waiting_changed.emit(len(self._waiting))
        task = self.runner.start("teach", correction.teach)
        self._running = (task, correction)
        self._owner_cancelled = False
        task.succeeded.connect(lambda r, t=task: self._end(t) and self._taught(correction, r))
        task.failed.connect(lambda e, t=task: self._end(t) and self.failed.emit(correction, e))
        task.cancelled.connect(lambda t=task: self._end(t) and self._cancelled(correction))
        self.started.emit(task, correction)

    def _end(self, task: Task) -> bool:
        """Whether ``task`` was the one running, and the app is not closing."""
        if self._running is None or self._running[0] is not task:
            return False
        self._running = None
        self._soon.start()  # the next one, once this outcome's slots have run
        return True

    def _taught(self, correction: Correction, taught: Taught) -> None:
        if self._closed:  # its photos are stored and the model updated: nothing to show
            log.info("taught %s while the app closed", correction.product_id)
        else:
            self.taught.emit(correction, taught)

    def _cancelled(self, correction: Correction) -> None:
        if self._owner_cancelled:
            self.dropped.emit(correction)
        elif self._closed:  # the app is closing: keep its pictures, untaught
            self._store_untaught(correction)
        else:  # cancelled by anything else: it has not been taught, keep it
            self._waiting.appendleft(correction)
            self.waiting_changed.emit(len(self._waiting))

    def _store_untaught(self, c: Correction) -> Taught | None:
        try:
            return c.store_only()
        except (TrainerError, OSError) as exc:
            log.warning("a waiting correction of %s was not stored: %s", c.product_id, exc)
            return None

    def close(self) -> list[Taught]:
        """At quit (before the runner stops): what still waits is stored as photos,
        untaught, and so is the one being taught if the runner cancels it."""
        self._closed = True
        self._soon.stop()
        kept = [t for c in self._waiting if (t := self._store_untaught(c)) is not None]
        self._waiting.clear()
        if kept:
            log.info("stored %d waiting corrections untaught at quit", len(kept))
        return kept
