"""A report every few seconds through a step that cannot say how far it is.

The TF.js conversion of a 5,000-product model, or loading TensorFlow to test a model
before publishing, is one blocking call: without a word the owner sees a bar that
does not move. :class:`Heartbeat` reports from a timer thread while the step runs,
honestly (what it is doing and for how long, never a made-up fraction), and stops
the moment the step returns or fails.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType

from .errors import Cancelled

log = logging.getLogger(__name__)

EVERY_S = 5.0  # issue 22: every phase reports at least every 10 s


class Heartbeat:
    """``with Heartbeat(report):`` calls ``report(seconds so far)`` every ``every_s``
    seconds from its own thread until the block ends. A report that raises
    :class:`Cancelled` (the task's cancel) ends the beats; the block ends as it would."""

    def __init__(self, report: Callable[[float], None], every_s: float | None = None) -> None:
        self._report = report
        self.every_s = EVERY_S if every_s is None else every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.beats = 0

    def __enter__(self) -> Heartbeat:
        t0 = time.monotonic()

        def beat() -> None:
            while not self._stop.wait(self.every_s):
                try:
                    self._report(time.monotonic() - t0)
                except Cancelled:
                    return
                except Exception:  # noqa: BLE001 - a report must never break the step
                    log.exception("a progress report failed")
                    return
                self.beats += 1

        self._thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()  # a report in progress finishes first: none comes later
