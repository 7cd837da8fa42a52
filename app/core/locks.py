"""One kind of lock for everything that must not run twice at once on one target.

``sync`` takes one per shop channel, publishing to a folder one per channel folder
(as the Vendure plugin serialises publishes and rollbacks per channel). The lock is an
OS file lock (``flock``; ``msvcrt.locking`` on Windows) on a small file, so the kernel
drops it when the holder dies: a crash or ``kill -9`` never leaves a target locked.
"""

from __future__ import annotations

import errno
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

POLL_S = 0.1
_BUSY = {errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES}


class LockBusy(Exception):
    """Another process held the lock for the whole wait."""

    def __init__(self, path: Path, waited_s: float) -> None:
        super().__init__(f"{path} is locked by another process (waited {waited_s:.0f} s)")
        self.path, self.waited_s = path, waited_s


@contextmanager
def exclusive_lock(
    path: Path,
    *,
    wait_s: float = 0.0,
    on_wait: Callable[[], None] | None = None,
    mode: int = 0o600,
) -> Iterator[Path]:
    """Hold ``path``'s lock for the block: at once, or within ``wait_s`` seconds, else
    :class:`LockBusy`. ``on_wait`` is called once when the lock is taken by another.
    ``mode``: of a new lock file (0o666 where other users publish to the same folder).

    A file system without locks (some network shares) is used unlocked, with a log line:
    refusing there would stop every publish to it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # never through a link: a .lock linked to another file had that file emptied
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), mode)
    try:
        t0 = time.monotonic()
        told = False
        while True:
            try:
                _lock_fd(fd)
                break
            except OSError as exc:
                if os.name != "nt" and exc.errno not in _BUSY:
                    log.warning("No lock on %s (%s): going on without one", path, exc)
                    break
                waited = time.monotonic() - t0
                if waited >= wait_s:
                    raise LockBusy(path, waited) from None
                if on_wait is not None and not told:
                    told = True
                    on_wait()
                time.sleep(min(POLL_S, max(0.0, wait_s - waited)))
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())  # who holds it, for a person looking
        except OSError:
            pass
        yield path
    finally:
        os.close(fd)  # closing releases the lock


def _lock_fd(fd: int) -> None:
    if os.name == "nt":  # pragma: no cover - Windows
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
