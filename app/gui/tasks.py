"""The one place where the GUI runs work off the UI thread.

Widgets never create threads. They call :meth:`TaskRunner.start` with a plain
function ``fn(on_progress, cancel)`` from ``app.core`` and connect to the returned
:class:`Task`'s signals. Every signal of a ``Task`` is emitted *from the main
thread* (the worker talks to the task through queued connections), so any slot,
lambda included, may touch widgets.

Rules copied from Orange's ConcurrentMixin / Anki's QueryOp:
* one task per resource: starting "train" again cancels the running "train";
* cancelled is an outcome (``cancelled`` signal), not an error;
* progress is throttled in the worker so a chatty core cannot flood the UI.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, QTimer, Signal, Slot

from app.core.errors import Cancelled, TrainerError
from app.core.faults import describe
from app.core.progress import Progress

log = logging.getLogger(__name__)

TaskFn = Callable[[Callable[[Progress], None], threading.Event], Any]

PROGRESS_INTERVAL_S = 0.08  # at most ~12 progress updates a second reach the UI

# Cancelling one of these for a newer one is worth a line in the log: the owner's own
# long work. Every other resource (a photo check after each tick, a status read…) is
# superseded as a matter of course: logged at debug level, and counted in one line when
# the app closes (issue 19: "cancelling previous check task" 154 times in 15 minutes).
NOTEWORTHY_CANCELS = frozenset({"train", "publish", "catalogue"})


class TaskError:
    """What the UI needs to show a failure: a user message, and details for bugs."""

    def __init__(self, exc: BaseException, details: str) -> None:
        self.exception = exc
        self.details = details

    @property
    def is_user_error(self) -> bool:
        """A :class:`TrainerError`, or an OS/TensorFlow failure (a full disk, a read-only
        folder) is shown inline as one readable line; anything else is a bug."""
        return isinstance(self.exception, TrainerError) or describe(self.exception) is not None

    @property
    def message(self) -> str:
        if isinstance(self.exception, TrainerError):
            return str(self.exception) or type(self.exception).__name__
        reason = describe(self.exception)
        if reason is not None:
            return reason
        return f"Something went wrong ({type(self.exception).__name__}: {self.exception})."

    def __str__(self) -> str:
        return self.message


class _Worker(QThread):
    """Runs ``fn`` and reports through its own signals (emitted in the worker thread)."""

    progress = Signal(object)
    done = Signal(str, object)  # outcome ("ok" | "cancelled" | "error"), payload

    def __init__(self, name: str, fn: TaskFn, cancel: threading.Event, parent: QObject) -> None:
        super().__init__(parent)  # owned by its Task: never destroyed while unowned
        self.setObjectName(f"task:{name}")
        self._fn = fn
        self._cancel = cancel
        self._last_emit = 0.0
        self._last_phase = ""
        self._last_metrics: dict[str, float] = {}

    def _on_progress(self, p: Progress) -> None:
        """Throttle: phase changes, new epoch metrics and the end always pass."""
        now = time.monotonic()
        if (
            p.phase != self._last_phase
            or (p.metrics and p.metrics != self._last_metrics)
            or p.fraction >= 1.0
            or now - self._last_emit >= PROGRESS_INTERVAL_S
        ):
            self._last_emit = now
            self._last_phase = p.phase
            if p.metrics:
                self._last_metrics = dict(p.metrics)
            self.progress.emit(p)

    def run(self) -> None:
        try:
            result = self._fn(self._on_progress, self._cancel)
        except Cancelled:
            self.done.emit("cancelled", None)
        except BaseException as exc:  # noqa: BLE001 - every failure goes to the UI
            if self._cancel.is_set() and not isinstance(exc, TrainerError):
                # Work interrupted by a cancel may fail in odd ways; it is still a cancel.
                log.info("task %s raised after cancel: %r", self.objectName(), exc)
                self.done.emit("cancelled", None)
                return
            details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            if isinstance(exc, TrainerError):
                log.info("task %s failed: %s", self.objectName(), exc)
            else:
                log.error("task %s crashed:\n%s", self.objectName(), details)
            self.done.emit("error", TaskError(exc, details))
        else:
            # Work that honours cancel raises Cancelled; a normal return finished its job
            # (e.g. an export that completed just as Cancel was pressed) and is reported.
            self.done.emit("ok", result)


class Task(QObject):
    """Handle on one background job; all its signals arrive in the main thread."""

    progress = Signal(object)  # Progress
    succeeded = Signal(object)  # the function's return value
    failed = Signal(object)  # TaskError
    cancelled = Signal()
    finished = Signal()  # after any of the three outcomes

    def __init__(self, name: str, fn: TaskFn, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.cancel_event = threading.Event()
        self.outcome: str | None = None
        self.result: Any = None
        self.error: TaskError | None = None
        self.started_at = time.monotonic()
        self._worker = _Worker(name, fn, self.cancel_event, self)
        # Queued: the worker emits in its thread, these slots run in ours.
        self._worker.progress.connect(self._relay_progress, Qt.ConnectionType.QueuedConnection)
        self._worker.done.connect(self._relay_done, Qt.ConnectionType.QueuedConnection)

    def start(self) -> None:
        self._worker.start()

    def refuse(self) -> None:
        """Never run: cancelled at once (queued, as a real outcome arrives), no thread."""
        self.cancel_event.set()
        QTimer.singleShot(0, self, lambda: self._relay_done("cancelled", None))

    def cancel(self) -> None:
        """Ask the work to stop; the ``cancelled`` signal says when it has."""
        self.cancel_event.set()

    @property
    def running(self) -> bool:
        return self.outcome is None

    def wait(self, timeout_s: float) -> bool:
        """Block until the worker thread ends (only at shutdown)."""
        return self._worker.wait(int(timeout_s * 1000))

    @Slot(object)
    def _relay_progress(self, p: Progress) -> None:
        if self.outcome is None and not self.cancel_event.is_set():
            self.progress.emit(p)

    @Slot(str, object)
    def _relay_done(self, outcome: str, payload: Any) -> None:
        self._worker.wait()  # run() has returned; this is instant
        self.outcome = outcome
        if outcome == "ok":
            self.result = payload
            self.succeeded.emit(payload)
        elif outcome == "cancelled":
            self.cancelled.emit()
        else:
            self.error = payload
            self.failed.emit(payload)
        self.finished.emit()


class TaskRunner(QObject):
    """Starts tasks, one per resource, and stops them all at shutdown."""

    task_started = Signal(object)
    task_finished = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._by_resource: dict[str, Task] = {}
        self._all: set[Task] = set()
        self.superseded: dict[str, int] = {}  # resource -> tasks a newer one replaced
        self.closed = False  # after shutdown() no task starts a thread

    def start(self, resource: str, fn: TaskFn) -> Task:
        """Run ``fn(on_progress, cancel)`` in a worker; cancels the resource's old task."""
        old = self._by_resource.get(resource)
        if old is not None and old.running:
            self.superseded[resource] = self.superseded.get(resource, 0) + 1
            age = time.monotonic() - old.started_at
            if resource in NOTEWORTHY_CANCELS:
                log.info("cancelling the running %s task (%.1f s old) for a new one", resource, age)
            else:
                log.debug("superseding the running %s task (%.1f s old)", resource, age)
            old.cancel()
        task = Task(resource, fn, self)
        self._by_resource[resource] = task
        self._all.add(task)
        task.finished.connect(self._on_finished_signal)
        if self.closed:
            # a timer or a late signal after shutdown: a thread started now would outlive
            # the window that owns it (Qt aborts the process when it is destroyed)
            log.info("not starting task %s: the app is closing", resource)
            task.refuse()
            return task
        log.debug("starting task %s", resource)
        task.start()
        self.task_started.emit(task)
        return task

    def current(self, resource: str) -> Task | None:
        t = self._by_resource.get(resource)
        return t if t is not None and t.running else None

    def cancel(self, resource: str) -> None:
        t = self.current(resource)
        if t is not None:
            t.cancel()

    def running(self) -> list[Task]:
        return [t for t in self._all if t.running]

    @Slot()
    def _on_finished_signal(self) -> None:
        task = self.sender()
        if isinstance(task, Task):
            self._on_finished(task)

    def _on_finished(self, task: Task) -> None:
        self._all.discard(task)
        if self._by_resource.get(task.name) is task:
            del self._by_resource[task.name]
        self.task_finished.emit(task)
        task.deleteLater()

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Cancel everything and wait for the threads; never ``terminate()``. No task
        started after this runs a thread (:meth:`Task.refuse`)."""
        self.closed = True
        if self.superseded:
            counts = ", ".join(f"{r} {n}" for r, n in sorted(self.superseded.items()))
            log.info("tasks replaced by a newer one of their kind this session: %s", counts)
            self.superseded = {}
        tasks = list(self._all)
        for t in tasks:
            t.cancel()
        deadline = time.monotonic() + timeout_s
        for t in tasks:
            left = max(0.0, deadline - time.monotonic())
            if not t.wait(left):
                log.warning("task %s did not stop within %.1f s", t.name, timeout_s)
        # Deliver the queued outcomes now, so no Task dies with an event still pending.
        for t in tasks:
            QCoreApplication.sendPostedEvents(t)
