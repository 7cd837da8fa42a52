"""The one log file of the app and the CLI (``Help → Open log folder`` shows it).

Scheduled ``sync`` runs have no window to show what happened: the same rotating file
records each run (what changed, which device trained, what was published).
"""

from __future__ import annotations

import datetime as dt
import logging
import logging.handlers
from pathlib import Path

from . import paths

LOG_FILE = "trainer.log"


def setup_logging() -> None:
    """One rotating log file under paths.log_dir(); idempotent.

    A handler of ours that writes elsewhere (the app's home moved with
    ``DUKAHUB_TRAINER_HOME`` since) is replaced, so the log follows the home.
    """
    route_warnings_to_log()  # first: even when the log file cannot be opened
    root = logging.getLogger()
    target = paths.log_dir() / LOG_FILE
    for h in [h for h in root.handlers if getattr(h, "_dukahub", False)]:
        if Path(h.baseFilename) == target.absolute():  # type: ignore[attr-defined]
            return
        root.removeHandler(h)
        h.close()
    handler = _QuietFileHandler(target, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    handler._dukahub = True  # type: ignore[attr-defined]
    handler.setFormatter(
        _LocalTimeWithOffset("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    root.setLevel(logging.INFO)


class _LocalTimeWithOffset(logging.Formatter):
    """Each record's time in this computer's zone with its offset from UTC
    (``2026-11-01 01:45:00.000-07:00``): without it, the hour the clocks go back read
    twice and backwards, and a Nairobi log's 19:03 beside a version named …T160346…Z
    could not be matched."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging API
        when = dt.datetime.fromtimestamp(record.created).astimezone()
        return when.isoformat(sep=" ", timespec="milliseconds")


class _QuietFileHandler(logging.handlers.RotatingFileHandler):
    """A record the log file cannot take (a full disk) is dropped: logging's default
    printed a traceback to stderr for each one, 18 of them (873 lines) over one good
    training. The first failure is said once, in one line."""

    _said = False
    _next_try = 0  # the size below which a rotation refused is not tried again

    def shouldRollover(self, record: logging.LogRecord) -> bool:  # noqa: N802 - logging API
        if self.stream is not None and self.stream.tell() < self._next_try:
            return False
        return bool(super().shouldRollover(record))

    def doRollover(self) -> None:  # noqa: N802 - logging API
        """On Windows an open file cannot be renamed, and the app beside a scheduled
        ``sync`` both hold the log: each record past 2 MB tried to rotate, failed and
        was dropped, so those runs left no trace (a portability audit). The log is
        written on, and rotating tried again once it has grown by a tenth."""
        try:
            super().doRollover()
        except OSError:
            if self.stream is None:  # closed before the rename that failed
                self.stream = self._open()
            self._next_try = self.stream.tell() + max(1, self.maxBytes // 10)

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging API
        if not _QuietFileHandler._said:
            _QuietFileHandler._said = True
            import sys

            exc = sys.exc_info()[1]
            why = getattr(exc, "strerror", None) or exc
            print(
                f"note: the log file {self.baseFilename} cannot be written ({why})", file=sys.stderr
            )


def route_warnings_to_log() -> None:
    """Library warnings (tf_keras's "HDF5 legacy", Pillow's DecompressionBombWarning…)
    go to the log file, not the owner's terminal: they see our notes only.

    Process-wide rather than ``warnings.catch_warnings`` around calls, which is not
    thread-safe (the GUI trains and decodes photos in worker threads). The NullHandler
    keeps logging's last-resort stderr printer away even without a log file.
    """
    logging.captureWarnings(True)
    pywarn = logging.getLogger("py.warnings")
    if not any(isinstance(h, logging.NullHandler) for h in pywarn.handlers):
        pywarn.addHandler(logging.NullHandler())
