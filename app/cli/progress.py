"""The one progress printer of every command: stderr, results stay on stdout."""

from __future__ import annotations

import os
import shutil
import sys
import time
from typing import TextIO

from ..core.progress import Phase, Progress
from . import interrupt


def no_escape_codes(env: dict[str, str] | None = None, system: str = os.name) -> bool:
    """A terminal that may not know escape codes gets the line overwritten with spaces
    instead of "erase line": TERM=dumb (an editor's shell, a serial console), and
    Windows, whose console shows them as "←[2K" unless a program switches them on (a
    portability audit); a carriage return works in every one."""
    env = os.environ if env is None else env
    return env.get("TERM") == "dumb" or system == "nt"


class StderrProgress:
    """One updating line on a terminal; a line per phase step when piped (CI logs).

    Shows the time left when the task knows it (a training, from the speed measured
    as it runs: :func:`app.core.flows.train.train`).
    """

    def __init__(self, stream: TextIO | None = None, prefix: str = "") -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.prefix = prefix  # e.g. "kiosk: " when one run works on several channels
        self.tty = self.stream.isatty()
        self.dumb = no_escape_codes()
        self._shown = 0  # letters of the line on screen now
        self._last_phase: Phase | None = None
        self._last_bucket = -1
        self._last_t = 0.0

    def __call__(self, p: Progress) -> None:
        interrupt.note(p)
        pct = int(p.fraction * 100)
        left = p.eta_s if p.fraction < 1 else None  # done is done, whatever the plan said
        eta = f" · about {left:.0f}s left" if left is not None and left > 1 else ""
        line = f"{self.prefix}[{pct:3d}%] {p.phase.value}: {p.message}{eta}"
        if self.tty:
            now = time.monotonic()
            if now - self._last_t < 0.1 and p.fraction < 1:
                return
            self._last_t = now
            self._show(line)
            return
        bucket = pct // 10
        if p.phase != self._last_phase or bucket != self._last_bucket:
            self._last_phase, self._last_bucket = p.phase, bucket
            print(line, file=self.stream, flush=True)

    def _show(self, line: str) -> None:
        """``line`` over the one before, cut to the terminal's width: a line wider than
        the terminal wraps, and only its last row was erased (a 20-column terminal kept
        8 stale pieces of progress on screen)."""
        text = line[: max(10, shutil.get_terminal_size((121, 24)).columns - 1)]
        if self.dumb:
            self.stream.write("\r" + text.ljust(self._shown))
        else:
            self.stream.write("\r\x1b[2K" + text)
        self._shown = len(text)
        self.stream.flush()

    def done(self) -> None:
        if self.tty:
            self.stream.write("\r" + " " * self._shown + "\r" if self.dumb else "\r\x1b[2K")
            self._shown = 0
            self.stream.flush()
