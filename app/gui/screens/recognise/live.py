"""Live recognition: the newest picture wins, on the app's one task runner.

Live frames arrive faster than a CPU can recognise them, so at most one picture is in
flight and one waits; a newer picture replaces the waiting one. The preview stays
smooth and an answer always describes a recent picture, never a backlog.

Each picture is one task on the shared :class:`~app.gui.tasks.TaskRunner` (resource
``live-recognition``), not a thread of the screen's own: the runner already hands
results back by queued signals, stops everything at shutdown and reports a crash the
one way. A task costs a short-lived thread — about 0.2 ms a picture (median; 1.5 ms at
the 90th percentile on a busy two-core machine) against 20–60 ms of recognition.
superqt's worker would reuse threads, but it is a second way of moving work off the UI
thread and one more dependency in the bundle, for a saving under 1 %.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from threading import Event
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from ...tasks import Task, TaskError, TaskRunner

if TYPE_CHECKING:
    from app.core.flows.recognise import Decision, LoadedModel

TOP_K = 3


@dataclass(frozen=True)
class Prediction:
    """One recognised picture: what was shown, what the model said, how long it took."""

    frame: np.ndarray
    top: list[tuple[str, float]]  # (label, probability), most likely first
    seconds: float
    source: str
    decision: Decision | None = None  # what the till does with it


def _rate(times: deque[float], now: float, window: float = 2.0) -> float:
    recent = [t for t in times if now - t <= window]
    if len(recent) < 2:
        return 0.0
    span = recent[-1] - recent[0]
    return (len(recent) - 1) / span if span > 0 else 0.0


class LiveRecognition(QObject):
    """Recognises the pictures it is given, the newest first, with the model it holds."""

    predicted = Signal(object)  # Prediction of a picture given since the last reset
    failed = Signal(str)  # why a picture could not be recognised

    def __init__(self, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.model: LoadedModel | None = None
        self.source = ""  # the name of the pictures' source, for each Prediction
        self._generation = 0  # a result of an older generation is dropped
        self._task: Task | None = None
        self._pending: np.ndarray | None = None
        self._frame_times: deque[float] = deque(maxlen=240)
        self._result_times: deque[float] = deque(maxlen=240)
        self.latency: deque[float] = deque(maxlen=30)

    def reset(self, model: LoadedModel | None, source: str = "") -> None:
        """Another model or source: pictures given before are not answered."""
        self.model, self.source = model, source
        self._generation += 1
        self._pending = None
        self._frame_times.clear()
        self._result_times.clear()
        self.latency.clear()

    def give(self, rgb: np.ndarray) -> None:
        """A new picture; it replaces an older one still waiting (stale ones are dropped)."""
        self._frame_times.append(time.monotonic())
        if self.model is not None:
            self._pending = rgb
            self._pump()

    def _pump(self) -> None:
        model = self.model
        if self._task is not None or self._pending is None or model is None:
            return
        rgb, self._pending = self._pending, None
        generation, source = self._generation, self.source

        def work(_on_progress: Any, _cancel: Event) -> Prediction:
            from app.core.flows.recognise import recognise

            t0 = time.perf_counter()
            matches, decision = recognise(model, rgb, TOP_K)
            top = [(m.label, m.probability) for m in matches]
            return Prediction(rgb, top, time.perf_counter() - t0, source, decision)

        task = self.runner.start("live-recognition", work)
        self._task = task
        task.succeeded.connect(lambda p, g=generation: self._done(g, p))
        task.failed.connect(lambda err, g=generation: self._failed(g, err))
        task.finished.connect(self._next)

    def _done(self, generation: int, prediction: Prediction) -> None:
        if generation == self._generation:
            self._result_times.append(time.monotonic())
            self.latency.append(prediction.seconds)
            self.predicted.emit(prediction)

    def _failed(self, generation: int, err: TaskError) -> None:
        if generation == self._generation:
            self.failed.emit(f"Recognition failed: {err.exception}")

    def _next(self) -> None:
        self._task = None
        self._pump()

    def stop(self) -> None:
        """Nothing more is recognised; a picture in flight is not answered."""
        self.reset(None)
        if self._task is not None:
            self._task.cancel()

    @property
    def camera_fps(self) -> float:
        return _rate(self._frame_times, time.monotonic())

    @property
    def recognition_fps(self) -> float:
        return _rate(self._result_times, time.monotonic())
