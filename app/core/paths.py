"""The one place that knows where the app keeps its files and settings.

Everything lives under platformdirs' per-user folders unless
``DUKAHUB_TRAINER_HOME`` points elsewhere (tests set it to a temp folder so they
never touch the user's real data).
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, BinaryIO

import platformdirs

from .model_format import DEFAULT_QUANTIZE

APP_NAME = "DukahubTrainer"
APP_AUTHOR = "Dukahub"
HOME_ENV = "DUKAHUB_TRAINER_HOME"
BASE_WEIGHTS_ENV = "DUKAHUB_TRAINER_BASE_WEIGHTS"
SETTINGS_VERSION = 1


def _root(kind: str) -> Path:
    override = os.environ.get(HOME_ENV)
    if override:  # "~/trainer" made a folder named "~" wherever the command ran
        return Path(override).expanduser() / kind
    dirs = platformdirs.PlatformDirs(APP_NAME, APP_AUTHOR)
    return Path(
        {
            "data": dirs.user_data_dir,
            "cache": dirs.user_cache_dir,
            "config": dirs.user_config_dir,
            "logs": dirs.user_log_dir,
        }[kind]
    )


def data_dir() -> Path:
    return _ensure(_root("data"))


def in_data_dir(folder: Path) -> bool:
    """Whether ``folder`` is inside the app's own data folder (the sample shop's copy,
    channels/, models/): a folder dialog should not start there."""
    try:
        folder.resolve().relative_to(data_dir().resolve())
    except (ValueError, OSError):
        return False
    return True


def cache_dir() -> Path:
    return _ensure(_root("cache"))


def config_dir() -> Path:
    return _ensure(_root("config"))


def log_dir() -> Path:
    return _ensure(_root("logs"))


def feature_cache_dir() -> Path:
    return _ensure(cache_dir() / "features")


def image_cache_dir() -> Path:
    return _ensure(cache_dir() / "images")


def models_dir() -> Path:
    return _ensure(data_dir() / "models")


def safe_name(text: str) -> str:
    """``text`` as a file name on every system: letters, digits, ``-_.`` kept, any other
    character ``_`` (callers bound its length and name the empty case)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


NAME_LIMIT = 255  # bytes in one file or folder name on every system this app runs on
# The readable part of a name the app makes. Windows keeps a whole path under 260
# characters unless long paths are switched on: a folder shop's photo, under a channel
# folder, a product folder and its own name, each 80 letters readable, reached 262 to
# 349 and "Add photos" failed with "cannot find the path" (a portability audit). No
# Windows install had names by the 80 letters (the Windows bundle never shipped yet).
WINDOWS_READABLE_CHARS = 32
READABLE_CHARS = WINDOWS_READABLE_CHARS if os.name == "nt" else 80


def bounded_name(text: str, room: int, *, tail: bool = False, chars: int | None = None) -> str:
    """:func:`safe_name` of ``text`` cut to ``chars`` characters (the last ones when
    ``tail``; :data:`READABLE_CHARS` by default), then to ``room`` bytes of UTF-8: a
    name's limit is bytes, and 80 letters of 4 bytes each (a "fancy font" pasted from
    social media) are 320. Names that fit are the same as the 80 characters alone, so
    folders named before stay found."""
    chars = READABLE_CHARS if chars is None else chars
    name = safe_name(text)
    name = name[-chars:] if tail else name[:chars]
    raw = name.encode("utf-8")
    if len(raw) <= room:
        return name
    cut = raw[len(raw) - room :] if tail else raw[:room]
    return cut.decode("utf-8", "ignore")


def name_bytes(text: str) -> bytes:
    """``text`` as bytes for a digest: a name that is no valid UTF-8 (a folder from an
    old Latin-1 USB stick) as the bytes the file system gave, any other lone surrogate
    (from a server's JSON) kept apart too, so no name raises."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def digest_name(readable: str, key: str, *, size: int = 4, tail: bool = False) -> str:
    """``<readable>-<hex digest of key>``, one name within :data:`NAME_LIMIT` bytes: the
    readable part (:func:`bounded_name`, its last letters when ``tail``) for a person,
    the digest of the exact ``key`` so that two keys whose readable parts agree (``a b``
    and ``a_b``, two emoji) never share a folder."""
    digest = hashlib.blake2b(name_bytes(key), digest_size=size).hexdigest()
    room = NAME_LIMIT - len(digest) - 1
    return f"{bounded_name(readable, room, tail=tail) or '_'}-{digest}"


def resolved(path: Path | str) -> Path:
    """``path`` with ``~`` expanded, absolute and its links followed; a link that leads
    back to itself is an OSError (ELOOP) that names the path, like any other fault of
    the file system (Python 3.11 raises RuntimeError there, which read as a bug)."""
    p = Path(path).expanduser()
    try:
        return p.resolve()
    except RuntimeError:
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path)) from None


def same_or_inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies inside it (both resolved). By name, then by
    identity on disk (device and inode) of ``path`` and each parent of it that exists:
    macOS's case-insensitive disks (``~/Shop`` and ``~/shop``) and a second name for a
    folder (a bind mount) spell one folder two ways, which names alone miss."""
    if path.is_relative_to(folder):
        return True
    try:
        target = os.stat(folder)
    except OSError:  # not there: nothing can be inside it by another name
        return False
    for p in (path, *path.parents):
        try:
            st = os.stat(p)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino):
            return True
    return False


def channel_path(server: str, channel: str) -> Path:
    """Where :func:`channel_dir` keeps a channel's folder; nothing is made or moved."""
    key = f"{server}__{channel}"
    return data_dir() / "channels" / digest_name(key, key, size=6, tail=True)


def channel_dir(server: str, channel: str) -> Path:
    """Per-channel folder for photos the owner adds; survives restarts.

    Its name is the readable key plus a digest of the exact key: the readable part alone
    made the folder shops ``/shops/a b``, ``/shops/a_b`` and ``/shops/a/b`` one folder,
    so their added photos, ticks and counter frames mixed. A folder by the readable name
    alone (made before the digest) is moved to the new name by the first call."""
    folder = channel_path(server, channel)
    earlier = folder.parent / safe_name(f"{server}__{channel}")
    if not folder.exists():
        with suppress(OSError):  # another process moved it first; a name too long
            if earlier.is_dir():
                os.replace(earlier, folder)
    return _ensure(folder)


def _ensure(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temp file in the same folder then rename, so a crash leaves the old file."""
    with atomic_writer(path) as fh:
        fh.write(data)


@contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """A file to write ``path``'s new content into: a temp file beside it, flushed to disk
    and renamed over ``path`` when the block ends; removed (``path`` untouched) when the
    block raises. The one way the app replaces a file it writes (settings, photos it
    downloads or stores, its app files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _remove_older(
    folder: Path,
    cutoff: float,
    which: Callable[[str], bool],
    *,
    empty_folders: bool = False,
    skip: tuple[Path, ...] = (),
) -> int:
    """Remove the files in ``folder`` and its sub-folders whose names ``which`` picks and
    whose time is before ``cutoff`` (and then the folders left empty); how many. The
    folders in ``skip`` are not walked (without ``empty_folders`` only)."""
    removed = 0
    passed = {os.path.normcase(os.path.abspath(p)) for p in skip}
    for dirpath, dirs, names in os.walk(folder, topdown=not empty_folders):
        if passed and not empty_folders:
            dirs[:] = [d for d in dirs if os.path.normcase(os.path.join(dirpath, d)) not in passed]
        for name in names:
            p = Path(dirpath) / name
            with suppress(OSError):
                if which(name) and p.lstat().st_mtime < cutoff:
                    p.unlink()
                    removed += 1
        for d in dirs if empty_folders else ():
            with suppress(OSError):
                (Path(dirpath) / d).rmdir()  # only when empty
    return removed


def sweep_stale_writes(
    folder: Path, older_than_s: float = 3600.0, skip: tuple[Path, ...] = ()
) -> int:
    """Remove what :func:`atomic_writer` left in ``folder`` and its sub-folders (but the
    ``skip`` ones) when the process was killed mid-write (``.<name>.<random>.tmp``; a
    download's share each); only ones older than ``older_than_s``, so another process's
    write in progress is never touched. How many it removed."""
    import time

    return _remove_older(
        folder,
        time.time() - older_than_s,
        lambda name: name.startswith(".") and name.endswith(".tmp"),
        skip=skip,
    )


def owner_folders() -> list[Path]:
    """The app's settings and data folders, each once: on Windows and macOS they are one
    folder (platformdirs), and the sweep at every start walked it twice."""
    out: list[Path] = []
    for folder in (Path(os.path.abspath(f)) for f in (config_dir(), data_dir())):
        if not any(folder.is_relative_to(o) for o in out):  # not one of them, nor in one
            out = [o for o in out if not o.is_relative_to(folder)] + [folder]
    return out


CACHE_UNUSED_DAYS = 60  # a cached photo or feature file not used for this long goes
_SWEPT = ".swept"  # the stamp of a cache's last sweep: at most one a day


def touch_used(path: Path) -> None:
    """Mark a cache file as used now (its time is what :func:`sweep_unused` reads)."""
    with suppress(OSError):
        os.utime(path)


def sweep_unused(folder: Path, days: float = CACHE_UNUSED_DAYS, every_s: float = 86400.0) -> int:
    """Delete the files in a cache ``folder`` not used (:func:`touch_used`) or written for
    ``days``, at most once every ``every_s``; how many. The caches grew for ever: every
    photo a shop ever replaced, and the features of every base model size or input side
    the app ever used (an upgrade from 224 to 256 pixels left all of the 224 ones)."""
    import time

    stamp = folder / _SWEPT
    now = time.time()
    with suppress(OSError):  # a stamp after now (a clock since set back) holds nothing off
        if 0 <= now - stamp.stat().st_mtime < every_s:
            return 0
    cutoff = now - days * 86400.0
    removed = _remove_older(folder, cutoff, lambda name: name != _SWEPT, empty_folders=True)
    with suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        stamp.touch()
    return removed


def write_durably(path: Path, data: bytes) -> None:
    """Write a new file inside a temp folder that is renamed or swapped in whole later
    (an export, a stored version): on disk before the rename, so a crash after it never
    finds the folder with an empty file."""
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


@dataclass
class Settings:
    """Typed, versioned user settings; unknown keys from newer versions are ignored."""

    version: int = SETTINGS_VERSION
    recent_servers: list[str] = field(default_factory=list)
    last_username: str = ""
    last_channel: str = ""
    last_folder: str = ""
    last_screen: str = ""
    window_geometry: str = ""  # base64 of QWidget.saveGeometry()
    # The Train screen's options start at TrainOptions' defaults: the same values, pinned
    # by tests/core/test_facts.py (this module cannot import app.core.model, whose model
    # building imports the feature extractor, which needs this module).
    alpha: float = 0.35
    epochs: int = 30
    augment: bool = True
    quantize: str = DEFAULT_QUANTIZE
    seed: int = 0
    base_weights: str = ""  # Advanced → pretrained weights file; "" = shipped/downloaded
    camera_id: str = ""
    last_source: str = ""  # "shop" | "folder" | "": what reopens at start
    splitters: dict[str, str] = field(default_factory=dict)  # name -> base64 saveState()
    publish_folder: str = ""  # "Publish to a folder": the folder last used
    publish_channel_id: str = ""
    copy_folder: str = ""  # "Save a copy of the three files…": the folder last used
    # measured in the last training here, per view at alpha 0.35 and 256 px; 0 = unknown.
    # Renamed with the 256-px input: the old key held a 224-px rate, 24 % too low now
    # (a settings file's unknown keys are ignored, so the first training measures again)
    seconds_per_view_256: float = 0.0
    accept_target: float = 0.95  # Advanced → "Right when it adds by itself" (pinned too)

    @classmethod
    def path(cls) -> Path:
        return config_dir() / "settings.json"

    @classmethod
    def load(cls) -> Settings:
        from .readers import load_app_file

        return load_app_file(cls.path(), what="the app's settings", check=cls._shape, default=cls)

    @classmethod
    def _shape(cls, raw: Any) -> Settings:
        """Each known key must hold its field's kind (unknown keys: a newer version's)."""
        from .readers import WrongShape

        if not isinstance(raw, dict):
            raise WrongShape("not a JSON object")
        defaults = cls()
        values = {}
        for f in fields(cls):
            if f.name not in raw:
                continue
            value, like = raw[f.name], getattr(defaults, f.name)
            if isinstance(like, bool):
                ok = isinstance(value, bool)
            elif isinstance(like, (int, float)):
                ok = isinstance(value, (int, float)) and not isinstance(value, bool)
                ok = ok and (isinstance(like, float) or isinstance(value, int))
                # NaN, Infinity or a 400-digit number broke the Train screen's fields
                ok = ok and abs(value) < 2**31 and math.isfinite(value)
            elif isinstance(like, list):
                ok = isinstance(value, list) and all(isinstance(x, str) for x in value)
            elif isinstance(like, dict):
                ok = isinstance(value, dict) and all(
                    isinstance(k, str) and isinstance(v, str) for k, v in value.items()
                )
            else:
                ok = isinstance(value, type(like))
            if not ok:
                raise WrongShape(f"“{f.name}” holds {type(value).__name__}")
            values[f.name] = float(value) if isinstance(like, float) else value
        return cls(**values)

    def save(self) -> None:
        atomic_write_bytes(self.path(), json.dumps(asdict(self), indent=2).encode("utf-8"))

    def remember_server(self, url: str, limit: int = 8) -> None:
        self.recent_servers = [url] + [s for s in self.recent_servers if s != url][: limit - 1]


def drop_unreadable_lock(path: Path, settle_s: float = 10.0) -> None:
    """Remove a Qt lock file that names no process (empty or garbled by a crash or a full
    disk): the app took it as held by a copy that "did not answer", on every start. One
    younger than ``settle_s`` stays: another copy may be writing it right now."""
    import logging
    import time

    try:
        age = time.time() - path.stat().st_mtime
        with open(path, "rb") as fh:
            first = fh.read(64).split(b"\n", 1)[0].strip()
    except OSError:
        return
    if first.isdigit() or age < settle_s:
        return
    logging.getLogger(__name__).warning("%s names no process; removed", path)
    with suppress(OSError):
        path.unlink()
