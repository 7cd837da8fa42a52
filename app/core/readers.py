"""The one way the app reads a file or a JSON text it did not just write itself.

* :func:`open_regular` / :func:`read_regular` — regular files only. A named pipe, a
  device or a socket is refused at once: the file is opened without blocking and
  checked with ``fstat`` *before* any read (checking the name first and opening it
  after could be raced), so ``predict MODEL f.jpg`` never waits on a pipe. Photos,
  model files and app files all come through here.
* :func:`parse_json` / :func:`read_json` — every JSON we read (model files, app files,
  server answers) with a size and a nesting-depth limit, so ``[`` × 100000 is one
  :class:`BadJson` (a ``ValueError``), never a ``RecursionError``.
* :func:`load_app_file` — an app file (settings, the owner's ticks, saved sessions…)
  through its shape check. A damaged one is renamed aside
  (``selection.json.damaged-<stamp>``), logged and noted once; the caller goes on
  with its default. Nothing the owner made is emptied or overwritten.

Errors are by type: :class:`NotRegularFile` and :class:`FileTooLarge` are ``OSError``
(``app.core.faults`` words them), :class:`BadJson` is a ``ValueError``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import stat
import time
from collections.abc import Callable
from itertools import accumulate
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

log = logging.getLogger(__name__)
# Notes for the owner ("a file was set aside"): the CLI prints this logger on stderr;
# every record also reaches the log file through the root logger.
notices = logging.getLogger("app.notices")

T = TypeVar("T")

# how long an app file or folder held by another program (Windows: a virus scanner, a
# backup, the search indexer) is waited for, in steps, before its fault is taken as real
SHARING_WAITS_S = (0.05, 0.2, 0.5, 1.0)
MAX_JSON_BYTES = 32 * 1024 * 1024  # a model.json or a big shop's metadata is far smaller
MAX_APP_FILE_BYTES = 16 * 1024 * 1024
MAX_JSON_DEPTH = 100  # our deepest (a model topology) is about 20
DAMAGED_TAG = ".damaged-"

_KINDS = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)


class _FileRefused(OSError):
    """An ``OSError`` without an errno: ``str()`` is "<path>: <why>"."""

    def __str__(self) -> str:
        return f"{self.filename}: {self.strerror}" if self.filename else str(self.strerror)


class NotRegularFile(_FileRefused):
    """The path is a pipe, a device, a socket or a folder: it is never read."""


class FileTooLarge(_FileRefused):
    """The file is larger than the reader allows for it."""


class BadJson(ValueError):
    """Not JSON, or JSON past the size or depth limit."""


def file_kind(mode: int) -> str:
    """What a path that is not a regular file is, in words ("a named pipe", "a folder")."""
    return next((words for test, words in _KINDS if test(mode)), "not a regular file")


def open_regular(path: Path | str) -> BinaryIO:
    """``open(path, "rb")`` for a regular file; anything else raises
    :class:`NotRegularFile` without waiting (a pipe is opened non-blocking, then
    refused). ``FileNotFoundError`` and other ``OSError`` pass through."""
    path = os.fspath(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(None, f"not a regular file ({file_kind(st.st_mode)})", path)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def check_regular(path: Path | str) -> None:
    """Raises like :func:`open_regular` unless ``path`` is a regular file (nothing read)."""
    open_regular(path).close()


def read_regular(path: Path | str, limit: int | None = None) -> bytes:
    """The whole regular file; :class:`FileTooLarge` past ``limit`` bytes."""
    with open_regular(path) as fh:
        if limit is None:
            return fh.read()
        size = os.fstat(fh.fileno()).st_size
        if size > limit:
            raise _too_large(path, limit)
        data = fh.read(limit + 1)
    if len(data) > limit:  # grew while we read it
        raise _too_large(path, limit)
    return data


def _too_large(path: Path | str, limit: int) -> FileTooLarge:
    return FileTooLarge(None, f"larger than {_size(limit)}, so it was not read", os.fspath(path))


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB" if n >= 1024 * 1024 else f"{n:,d} bytes"


# -- JSON -------------------------------------------------------------------------------
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in ``text`` (brackets inside strings ignored)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def parse_json(
    data: bytes | str,
    *,
    max_bytes: int = MAX_JSON_BYTES,
    max_depth: int = MAX_JSON_DEPTH,
    strict: bool = False,
) -> Any:
    """``json.loads`` within limits: :class:`BadJson` for text that is not JSON, is
    longer than ``max_bytes`` or nests deeper than ``max_depth``. Bytes are UTF-8 (a
    byte-order mark, as Windows editors write one, is allowed). ``strict``: NaN and
    Infinity, which Python reads and a browser's ``JSON.parse`` does not, are refused
    (the model files a till loads)."""
    if len(data) > max_bytes:
        raise BadJson(f"larger than {_size(max_bytes)}")
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            text = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise BadJson(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    else:
        text = data
    depth = json_depth(text)
    if depth > max_depth:
        raise BadJson(f"nested deeper than {max_depth} levels")
    try:
        return json.loads(text, parse_constant=_not_json if strict else None)
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise BadJson(f"nested deeper than {max_depth} levels") from None
    except ValueError as exc:
        raise BadJson(str(exc)) from None


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON: a browser cannot read it")


def read_json(path: Path | str, *, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """A JSON file, regular files only, within :func:`parse_json`'s limits."""
    return parse_json(read_regular(path, max_bytes), max_bytes=max_bytes)


# -- app files ----------------------------------------------------------------------------
class WrongShape(ValueError):
    """Valid JSON, but not what the file should hold; the text says what is wrong."""


def expect(condition: bool, what: str) -> None:
    """For shape checks: raise :class:`WrongShape` with ``what`` unless ``condition``."""
    if not condition:
        raise WrongShape(what)


def is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(x, str) for x in value)


def load_app_file(
    path: Path,
    *,
    what: str,
    check: Callable[[Any], T],
    default: Callable[[], T],
) -> T:
    """An app file's content through ``check`` (which returns the typed value or
    raises :class:`WrongShape`); ``default()`` when there is no such file.

    A file that cannot be read, is not JSON, or has the wrong shape is set aside —
    renamed to ``<name>.damaged-<stamp>`` beside it, so what the owner made is kept
    and the app's next save cannot overwrite it — with a log line and one notice
    naming ``what`` (e.g. "your product and photo choices"); then ``default()``.
    """
    try:
        raw = parse_json(
            shared_retried(lambda: read_regular(path, MAX_APP_FILE_BYTES)),
            max_bytes=MAX_APP_FILE_BYTES,
        )
        return check(raw)
    except FileNotFoundError:
        return default()
    except (OSError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        set_aside(path, what, why or type(exc).__name__)
        return default()


def shared_retried(call: Callable[[], T]) -> T:
    """``call()``, tried again for about two seconds (:data:`SHARING_WAITS_S`) while it
    raises PermissionError: on Windows a virus scanner, a backup or the search indexer
    holding a file for a moment refuses it. Taken at once as final, an app file was set
    aside as damaged and the next save wrote over the owner's choices, and a folder's
    rename failed an export (a portability audit)."""
    for wait in SHARING_WAITS_S:
        try:
            return call()
        except PermissionError:
            time.sleep(wait)
    return call()


def set_aside(path: Path, what: str, why: str) -> Path | None:
    """Renames a damaged file to ``<name>.damaged-<stamp>``; returns the new path (None
    when it could not be moved — then it is left where it is, and said so)."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}{DAMAGED_TAG}{stamp}")
    n = 2
    while aside.exists():
        aside = path.with_name(f"{path.name}{DAMAGED_TAG}{stamp}-{n}")
        n += 1
    try:
        os.replace(path, aside)
    except OSError as exc:
        notices.warning(  # "The file of the remembered logins (…) is": one file, however named
            "The file of %s (%s) is damaged (%s) and could not be set aside (%s); it is ignored.",
            what,
            path,
            why,
            exc.strerror or exc,
        )
        return None
    notices.warning(
        "The file of %s (%s) was damaged (%s); it was set aside as %s and is not used.",
        what,
        path,
        why,
        aside.name,
    )
    return aside
