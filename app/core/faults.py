"""Operating-system and TensorFlow failures as one line an owner can act on.

A full disk, a read-only folder or a name too long surfaces as ``OSError`` from our
code, as an ``OSError`` subclass from h5py, or as ``tf.errors.ResourceExhaustedError``
from TensorFlow's file writers. The CLI (``app.cli.main``) and the GUI's task runner
both turn them into :func:`describe`'s line instead of a traceback. Matching is by
type and ``errno`` only, never by message text.
"""

from __future__ import annotations

import errno
import sys

_OS_REASONS = {
    errno.ENOSPC: "there is not enough free disk space",
    errno.EDQUOT: "your disk quota is used up",
    errno.EROFS: "the disk is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "the operation is not permitted",
    errno.ENAMETOOLONG: "a file or folder name is too long",
    errno.ENOENT: "it does not exist",
    errno.ENOTDIR: "part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder, not a file",
    errno.EEXIST: "it already exists",
    errno.EXDEV: "it is on another disk",
    errno.EBUSY: "it is in use (a mount point?)",
    errno.EIO: "the disk reported an input/output error",
    errno.EMFILE: "too many files are open",
    errno.ELOOP: "a link in the path leads back to itself",
}


def os_reason(exc: OSError) -> str:
    """Why, without where: "the disk is read-only (Read-only file system)" — our words
    chosen by errno, then the system's own (searchable) words."""
    ours = _OS_REASONS.get(exc.errno or -1)
    system = exc.strerror or _first_line(str(exc))
    if ours and system and system.lower() != ours.lower():
        return f"{ours} ({system})"
    return ours or system or type(exc).__name__


def describe_os_error(exc: OSError) -> str:
    """Where and why: "/x/y: the disk is read-only"."""
    if exc.filename is None:
        return _capitalise(os_reason(exc))
    return f"{exc.filename}: {os_reason(exc)}"


def tf_op_error_type() -> type[BaseException] | None:
    """``tf.errors.OpError`` when TensorFlow is already loaded (never imports it)."""
    tf = sys.modules.get("tensorflow")
    errors = getattr(tf, "errors", None)
    return getattr(errors, "OpError", None)


def describe(exc: BaseException) -> str | None:
    """One line for an OS, memory or TensorFlow failure; ``None`` for anything else (a bug)."""
    if isinstance(exc, OSError):
        return describe_os_error(exc)
    if isinstance(exc, MemoryError):
        return "Not enough memory: close other programs or train on fewer photos."
    op_error = tf_op_error_type()
    if op_error is not None and isinstance(exc, op_error):
        tf = sys.modules["tensorflow"]
        detail = _first_line(getattr(exc, "message", "") or str(exc))
        if isinstance(exc, tf.errors.ResourceExhaustedError):
            return f"Out of disk space or memory ({detail})"
        return f"TensorFlow failed ({type(exc).__name__}: {detail})"
    return None


def _first_line(text: str) -> str:
    return next((ln.strip() for ln in str(text).splitlines() if ln.strip()), "")


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]
