"""Ctrl-C and ``kill`` on the command line.

By default they raise ``KeyboardInterrupt`` where the main thread happens to be, and
every command unwinds its temp folders on the way out. A command that takes a cancel
event (``train``) asks for :func:`cooperative` instead: the first signal sets the event
and the work stops at its next check, as the app's Cancel button does. Raised at an
arbitrary point, the interrupt could land inside TensorFlow's import or a native
thread's callback: in 30 tries while the engine loaded it was swallowed (the training
went on and replaced the model), aborted the process ("terminate called after throwing
an instance of ''") or crashed it. A second signal still interrupts at once. ``sync`` is
cooperative only while it trains (:func:`cooperative_in`): elsewhere it waits on the
server, where an interrupt at once is safe and a cooperative one would wait for the
request's deadline.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..core.progress import INTERRUPT_SIGNALS, Phase, Progress, ProgressHook

_event: threading.Event | None = None
_asked = False  # a signal set the event (see :func:`asked`)
# what a command says when Ctrl-C or kill stopped it before anything was written
INTERRUPTED = "Interrupted; nothing was changed."
# ... and when it came after the new model took the folder's name
TOO_LATE = "note: Ctrl-C came after the model was written; it is kept."
# ... and once a publish had begun: the shop (or folder) may already serve the new model
MAY_BE_PUBLISHED = (
    "Interrupted after publishing began: the new model may be served now (`status` says "
    "what is); nothing else was changed."
)
_publishing = False  # a report of this command came from a publish (see :func:`note`)


@contextmanager
def installed() -> Iterator[None]:
    """Ctrl-C, ``kill`` (SIGTERM) and a hang-up go through :func:`_handle` for one
    command; the handlers before it come back after (a command run in-process, as the
    tests do)."""
    global _event, _asked, _publishing
    _publishing = False
    before = {sig: signal.getsignal(sig) for sig in INTERRUPT_SIGNALS}
    for sig in before:
        signal.signal(sig, _handle)
    try:
        yield
    finally:
        _event, _asked = None, False  # _publishing stays: the command's end reads it
        for sig, handler in before.items():
            signal.signal(sig, handler)


def cooperative() -> threading.Event:
    """The event the first Ctrl-C or ``kill`` sets from now on, instead of interrupting."""
    global _event
    _event = threading.Event()
    return _event


# the phases of a training: TensorFlow's import, its native threads, the export
TRAINING_PHASES = frozenset(
    {Phase.PREPARING, Phase.FEATURES, Phase.VALIDATING, Phase.TRAINING, Phase.EXPORTING}
)


def cooperative_in(
    cancel: threading.Event, on_progress: ProgressHook, phases: frozenset[Phase] = TRAINING_PHASES
) -> ProgressHook:
    """A progress hook: while the reports come from ``phases``, the first Ctrl-C or
    ``kill`` sets ``cancel`` (see :func:`asked`) instead of interrupting; in any other
    phase it interrupts at once."""

    def seen(p: Progress) -> None:
        global _event
        _event = cancel if p.phase in phases else None
        on_progress(p)

    return seen


def note(p: Progress) -> None:
    """Every progress report of the command passes here: once one comes from a publish,
    an interrupt no longer says "nothing was changed" (a sync killed while it verified
    the model it had just served said so)."""
    global _publishing
    _publishing = _publishing or p.phase in (Phase.UPLOADING, Phase.VERIFYING)


def interrupted_line() -> str:
    """What the command says when Ctrl-C or ``kill`` stopped it."""
    return MAY_BE_PUBLISHED if _publishing else INTERRUPTED


def asked() -> bool:
    """Whether Ctrl-C or ``kill`` set the cooperative event: the command's end is then
    "interrupted", whatever the cancelled work raised."""
    return _asked


def _handle(signum: int, frame: Any) -> None:
    global _asked
    event = _event
    if event is not None and not event.is_set():
        _asked = True
        event.set()
        print("\nStopping at the next safe point (Ctrl-C again: at once)…", file=sys.stderr)
        return
    raise KeyboardInterrupt
