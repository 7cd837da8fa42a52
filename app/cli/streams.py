"""The command's standard streams, as scripts, timers and pipes leave them.

A CLI audit found: with stderr closed (``2>&-``) ``train`` ended 1 saying nothing
anywhere (the progress printer met ``sys.stderr`` None); with stdin closed a password
prompt ended in a traceback; a reader of stderr that went away (``2>&1 | head -1``, a
restarted journal) killed a training through its progress line; and a full disk under
stdout (``> /dev/full``) was reported as "not enough free disk space" after the model
had been written, as if the training had failed.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from ..core.errors import TrainerError

log = logging.getLogger(__name__)


class OutputFailed(TrainerError):
    """Standard output could not be written (a full disk under ``> file``): not the
    command's work, which is done and kept up to then."""


def reopen_closed() -> None:
    """A standard stream the caller closed (``<&-``, ``>&-``, ``2>&-``) becomes the null
    device, as if redirected there: the command runs as it would, and a file it opens
    later cannot take the number and receive its output."""
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        null = os.open(os.devnull, os.O_RDONLY if mode == "r" else os.O_WRONLY)
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
        # the process's stream from now on: no context to close it in
        stream = open(fd, mode, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
        setattr(sys, name, stream)


class _Stream:
    """A text stream with its write failures turned into what they mean here."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def __getattr__(self, name: str) -> Any:  # encoding, isatty, fileno, buffer, …
        return getattr(self._stream, name)


class Diagnostics(_Stream):
    """stderr: progress and notes are for a person; once its reader is gone (or its disk
    full) they are dropped, and the work goes on. The first failure is logged."""

    failed = False

    def write(self, text: str) -> int:
        if not self.failed:
            try:
                return self._stream.write(text)
            except (OSError, ValueError) as exc:  # ValueError: the stream was closed
                self._failed(exc)
        return len(text)

    def flush(self) -> None:
        if not self.failed:
            try:
                self._stream.flush()
            except (OSError, ValueError) as exc:
                self._failed(exc)

    def _failed(self, exc: BaseException) -> None:
        self.failed = True
        log.info("standard error cannot be written (%s): progress and notes go no further", exc)


class Results(_Stream):
    """stdout: a broken pipe stays one (the reader left: exit 141, as before); any other
    write failure is :class:`OutputFailed`, not a failure of the work."""

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputFailed(_words(exc)) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputFailed(_words(exc)) from None


def _words(exc: OSError) -> str:
    return (
        f"Could not write the command's output to standard output ({exc.strerror or exc}); "
        "what the command did up to then is done and kept."
    )


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """stdout and stderr as :class:`Results` and :class:`Diagnostics` for one command
    (which flushes stdout itself, so a failure there is its last word, not Python's)."""
    out, err = sys.stdout, sys.stderr
    if out is None or err is None:  # run in-process with a stream missing: leave as is
        yield
        return
    sys.stdout, sys.stderr = Results(out), Diagnostics(err)  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err
        if isinstance(err, io.TextIOBase):
            with contextlib.suppress(OSError, ValueError):
                err.flush()
