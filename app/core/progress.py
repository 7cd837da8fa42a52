"""Plain progress and cancel hooks that long core work accepts (no Qt here).

``on_progress(Progress)`` is called from the worker thread; the GUI's task runner
forwards it to the UI thread by a queued signal.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum

from .errors import Cancelled


def interrupt_signals(module: object = signal) -> tuple[int, ...]:
    """The signals that stop a command: Ctrl-C, ``kill``, a closed terminal or dropped
    ssh session (SIGHUP, not on Windows) and Windows' Ctrl-Break (SIGBREAK). SIGHUP's
    default ended a training at once (exit 129, no word, not even in the log) and left a
    half-written export behind, as ``kill -9`` does; Ctrl-Break did the same on Windows
    (a portability audit). ``module``: ``signal``, or a stand-in for another system's."""
    names = ("SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK")
    return tuple(getattr(module, name) for name in names if hasattr(module, name))


INTERRUPT_SIGNALS = interrupt_signals()


class Phase(str, Enum):
    """Which step of a task a report is from: the app names it for the owner
    (``app.gui.widgets.PHASES``), the CLI prints the value, the time left reads it.

    A ``str`` so that a phase still equals its old spelling (``Phase.TRAINING ==
    "training"``) and prints as it (``f"{p.phase}"``); a report with a phase missing
    here is refused at once (:class:`Progress`), not shown with a made-up name.
    """

    DOWNLOADING = "downloading"  # a shop's catalogue and photos, the base weights
    PREPARING = "preparing"  # checking photos, loading the engine, reading test photos
    FEATURES = "features"  # studying the photos' variations (most of a training)
    VALIDATING = "validating"  # held-back rounds
    TRAINING = "training"  # fitting the product layer, pass by pass
    EXPORTING = "exporting"  # writing and checking the three files
    UPLOADING = "uploading"  # publishing: sending to the shop, copying to a folder
    VERIFYING = "verifying"  # reading back what is served
    LOADING = "loading"  # a model for the Test screen
    RESTORING = "restoring"  # an earlier local model used again

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Progress:
    phase: Phase  # a plain string of a Phase's value is turned into that Phase
    fraction: float  # 0..1 over the whole task
    message: str = ""
    eta_s: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)  # e.g. epoch, loss, acc, val_acc

    def __post_init__(self) -> None:
        if not isinstance(self.phase, Phase):
            object.__setattr__(self, "phase", Phase(self.phase))


ProgressHook = Callable[[Progress], None]


def span(
    on_progress: ProgressHook | None, a: float, b: float, *, keep_eta: bool = False
) -> ProgressHook | None:
    """One step's 0..1 mapped onto [a, b] of the whole run. A step's own time left is
    dropped (it would be wrong for the run) unless ``keep_eta``: the step's figure
    already counts what follows it, or what follows takes seconds (a training's time
    left, before a publish)."""
    if on_progress is None:
        return None
    hook = on_progress

    def mapped(p: Progress) -> None:
        eta = p.eta_s if keep_eta else None
        hook(replace(p, fraction=a + (b - a) * p.fraction, eta_s=eta))

    return mapped


def check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("Cancelled.")


class Reporter:
    """Maps sub-steps onto one 0..1 bar (Orange's wrap_callback) and computes an ETA."""

    def __init__(
        self,
        on_progress: ProgressHook | None,
        cancel: threading.Event | None = None,
        start: float = 0.0,
        end: float = 1.0,
    ) -> None:
        self._cb = on_progress
        self.cancel = cancel
        self.start, self.end = start, end
        self._t0 = time.monotonic()

    def sub(self, start: float, end: float) -> Reporter:
        span = self.end - self.start
        r = Reporter(self._cb, self.cancel, self.start + span * start, self.start + span * end)
        r._t0 = self._t0
        return r

    def __call__(self, phase: Phase, fraction: float, message: str = "", **metrics: float) -> None:
        check_cancel(self.cancel)
        self.report(phase, fraction, message, **metrics)

    def report(self, phase: Phase, fraction: float, message: str = "", **metrics: float) -> None:
        """Report without checking the cancel event: for what is already done and kept
        (after a model's swap, a Cancel raised here said "nothing was changed")."""
        if self._cb is None:
            return
        f = min(1.0, max(0.0, fraction))
        overall = self.start + (self.end - self.start) * f
        elapsed = time.monotonic() - self._t0
        eta = elapsed * (1 - overall) / overall if overall > 0.02 else None
        self._cb(Progress(phase, overall, message, eta, dict(metrics)))
