"""The export target: checked before any work, and our temp folders beside it.

Training takes minutes; finding only afterwards that ``--out`` is a file, a read-only
or full disk, or a name too long wastes them. :func:`check_out_dir` runs first (the
pipeline calls it for the CLI and the GUI alike) and actually creates and removes a
temp folder and file exactly where the export will, so what it accepts the export
can do, bar a disk that fills up in between.

Temp folders are named ``.<name>.tmp-<pid>-<random>`` beside the target. The converter's
Keras ``.h5`` file is written inside ours too, so an interrupted export leaves at most
that one folder, and :func:`sweep_stale` removes such folders once their process is
gone (at the next run's check and export).
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import logging
import os
import re
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import ExportError
from .faults import os_reason
from .modelfiles import FILES, TRAINER_NAME
from .paths import resolved, same_or_inside
from .progress import INTERRUPT_SIGNALS
from .wording import some_names

log = logging.getLogger(__name__)

TMP_TAG = ".tmp-"
STEM_BYTES = 64  # of the target's name kept in a temp folder's name: never too long
# Windows has no pathconf: its whole-path limit unless long paths are switched on (the
# guard assumed 4,096, and a long path failed later as "cannot find the path")
WINDOWS_PATH_MAX = 260
STALE_AFTER_S = 10 * 60  # an export takes seconds; a folder this old is not in use
LEGACY_STALE_AFTER_S = 60 * 60  # ".<name>.tmp-<random>" of earlier versions (no PID)
LONGEST_FILE = "group1-shard1of1.bin"  # the longest name written inside a temp folder

# Float32 weights of MobileNetV2 without its top, per width (counted from the Keras
# model; the head adds 1,281 floats per product).
BASE_PARAMS = {0.35: 410_208, 0.5: 706_224, 0.75: 1_382_064, 1.0: 2_257_984}
JSON_BYTES = 300_000  # model.json + metadata.json, generously
H5_OVERHEAD = 400_000  # the converter's temporary Keras file beyond its weights


def expected_export_bytes(alpha: float, n_products: int, quantize: str = "none") -> int:
    """Peak disk use of one export: the converter's float32 ``.h5`` plus the three files.

    About twice the model's size; measured 1.78 MB files (3 products, alpha 0.35).
    """
    params = BASE_PARAMS.get(alpha, max(BASE_PARAMS.values())) + 1_281 * max(1, n_products)
    float32 = 4 * params
    share = {"none": 1.0, "float16": 0.5, "uint8": 0.3}.get(quantize, 1.0)
    return int(float32 + H5_OVERHEAD + float32 * share + JSON_BYTES)


def folder_mode(out_dir: Path) -> int:
    """The mode a folder written in a temp folder gets: the old folder's, else the umask
    default (``mkdtemp`` makes 0700, which a web server running as another user cannot
    read)."""
    try:
        return out_dir.stat().st_mode & 0o7777
    except OSError:
        pass
    mask = os.umask(0o022)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return 0o777 & ~mask


def temp_prefix(out_dir: Path) -> str:
    """``.<name>.tmp-<pid>-``: ours by name, its owner by PID, short whatever the name."""
    return f".{_stem(out_dir.name)}{TMP_TAG}{os.getpid()}-"


def make_temp_dir(out_dir: Path) -> Path:
    """A fresh temp folder beside ``out_dir`` (same disk, so the final swap is a rename).
    A failure names ``out_dir``, not the temp folder the owner never chose."""
    try:
        return Path(tempfile.mkdtemp(prefix=temp_prefix(out_dir), dir=out_dir.parent))
    except OSError as exc:
        raise ExportError(f"Could not write the model to {out_dir}: {os_reason(exc)}") from None


def _stem(name: str) -> str:
    raw = name.encode("utf-8", "surrogateescape")[:STEM_BYTES]
    return raw.decode("utf-8", "ignore") or "model"


def _pid_alive(pid: int) -> bool | None:
    """True/False on POSIX; None where signal 0 is not a harmless probe (Windows)."""
    if os.name == "nt":
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    except OSError:
        return None
    return True


def sweep_stale(
    out_dir: Path, *, now: float | None = None, rescue: Callable[[Path], bool] | None = None
) -> list[Path]:
    """Remove our temp folders beside ``out_dir`` left by a killed run; returns them.

    A folder goes only when all hold: its name is ours for this target, it is older
    than :data:`STALE_AFTER_S`, and the process named in it no longer exists (where
    that cannot be asked, or for earlier versions' names without a PID, only after
    :data:`LEGACY_STALE_AFTER_S`). Another run's live temp folder is never touched.
    ``rescue(folder)`` may take a stale folder instead (True): a run killed right after
    its swap left the model it replaced there, on its way to the local history.
    """
    stem = re.escape(_stem(out_dir.name))
    ours = re.compile(rf"^\.{stem}{re.escape(TMP_TAG)}(?:(\d+)-)?[A-Za-z0-9_]+$")
    # earlier versions used the full name, which _stem() may have cut
    legacy = re.compile(rf"^\.{re.escape(out_dir.name)}{re.escape(TMP_TAG)}[A-Za-z0-9_]+$")
    return _sweep(out_dir.parent, [ours, legacy], now, rescue)


def _sweep(
    parent: Path,
    patterns: list[re.Pattern[str]],
    now: float | None,
    rescue: Callable[[Path], bool] | None = None,
) -> list[Path]:
    """Remove folders in ``parent`` named by a pattern (group 1: the owner's PID, if any)
    that are stale by :func:`sweep_stale`'s rule."""
    now = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    for entry in entries:
        m = next((m for pat in patterns if (m := pat.match(entry.name))), None)
        if m is None:
            continue
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        pid = int(m.group(1)) if m.re.groups and m.group(1) else None
        alive = _pid_alive(pid) if pid is not None else None
        if alive is True or age < STALE_AFTER_S:
            continue
        if alive is None and age < LEGACY_STALE_AFTER_S:
            continue
        if rescue is not None and rescue(Path(entry.path)):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        if not os.path.lexists(entry.path):
            log.info("removed a stale temp folder %s (age %.0f s)", entry.path, age)
            removed.append(Path(entry.path))
    return removed


def use_private_tempdir(root: Path) -> Path:
    """Send this process's temporary files into ``root/<pid>-<random>``, removed at exit.

    Libraries write temp files of their own (TensorFlow's autograph modules, removed
    only by an exit handler); with ``tempfile.tempdir`` pointing here, a killed run
    leaves them in a folder of ours, which the next process sweeps (same rule as
    :func:`sweep_stale`). For a single-purpose process (the CLI): set once, at start.
    """
    root.mkdir(parents=True, exist_ok=True)
    _sweep(root, [re.compile(r"^(\d+)-[A-Za-z0-9_]+$")], None)
    private = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=root))
    tempfile.tempdir = str(private)
    atexit.register(shutil.rmtree, private, True)
    return private


def _limit(path: Path, name: str, default: int) -> int:
    try:
        return int(os.pathconf(path, name))
    except (OSError, ValueError, AttributeError):
        return default


def _existing_ancestor(path: Path) -> Path:
    for p in (path, *path.parents):
        try:
            if p.exists():
                return p
        except OSError:  # e.g. a component too long to look up: not an existing folder
            continue
    return Path(path.anchor or ".")


def check_target(out_dir: Path) -> None:
    """Refuse to replace a folder that holds anything but a previous export of ours.

    A previous export is all three files and metadata.json written by this trainer;
    a folder with only a ``model.json`` of the user's own is not one. Nor the folder the
    command runs in (:func:`check_not_here`).
    """
    check_not_here(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ExportError(f"{out_dir} exists and is not a folder")
    if not out_dir.is_dir():
        return
    names = sorted(p.name for p in out_dir.iterdir())
    if not names:
        return
    extra = [n for n in names if n not in FILES]
    if extra:
        raise ExportError(
            f"{out_dir} already holds other files ({some_names(extra)}); "
            "choose an empty folder or a previous model folder"
        )
    if not is_our_export(out_dir):
        raise ExportError(
            f"{out_dir} holds {', '.join(names)} but not a previous export of this trainer; "
            "choose an empty folder or a previous model folder"
        )


def check_not_here(out_dir: Path) -> None:
    """Refuse to replace the folder the command runs in (or one above it): swapped out
    whole, it left the owner's terminal in a removed folder (``ls`` showed nothing, the
    next command failed), as it would a program serving from it."""
    try:
        here = Path.cwd()
    except OSError:  # the current folder was removed already
        return
    if same_or_inside(here, out_dir):
        raise ExportError(
            f"{out_dir} is the folder you are in: a new model replaces that folder whole, "
            "which would leave you (and any program serving from it) in a removed folder; "
            "run this from the folder above it (cd ..) or choose another folder"
        )


def is_our_export(folder: Path) -> bool:
    if not all((folder / name).is_file() for name in FILES):
        return False
    from .readers import read_json

    try:
        meta = read_json(folder / "metadata.json")
    except (OSError, ValueError):
        return False
    trainer = meta.get("trainer") if isinstance(meta, dict) else None
    return isinstance(trainer, dict) and trainer.get("name") == TRAINER_NAME


def check_out_dir(
    out_dir: Path, need_bytes: int, rescue: Callable[[Path], bool] | None = None
) -> Path:
    """Refuse, with one clear line, a target the export could not write; returns it resolved.

    Checked: :func:`check_target` (not a file, no one else's folder), not a mount
    point (the swap renames it), name and path length, the parent folder (created if
    missing) writable by a real temp folder and file, and ``need_bytes`` free there.
    Stale temp folders of ours are swept first, which may free space.
    """
    out_dir = Path(os.path.abspath(Path(out_dir).expanduser()))
    if out_dir.parent == out_dir:
        raise ExportError(f"{out_dir} is a disk's top folder; choose a folder inside it")
    base = _existing_ancestor(out_dir.parent)
    name_max = _limit(base, "PC_NAME_MAX", 255)
    path_max = _limit(base, "PC_PATH_MAX", WINDOWS_PATH_MAX if os.name == "nt" else 4096)
    for part in out_dir.parts[len(base.parts) :]:
        if len(os.fsencode(part)) > name_max:
            raise ExportError(
                f"The folder name {part[:40]}… is too long ({len(os.fsencode(part))} bytes; "
                f"this disk allows {name_max}); choose a shorter name"
            )
    longest = out_dir.parent / (temp_prefix(out_dir) + "x" * 8) / LONGEST_FILE
    if len(os.fsencode(str(longest))) >= path_max:
        raise ExportError(
            f"The path {str(out_dir)[:60]}… is too long for this disk ({path_max} bytes "
            "at most, with the model's file names); choose a shorter one"
        )
    try:
        out_dir = resolved(out_dir)
        check_target(out_dir)
        if out_dir.is_dir() and os.path.ismount(out_dir):
            raise ExportError(f"{out_dir} is a mount point; choose a folder inside it")
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        sweep_stale(out_dir, rescue=rescue)
        probe = make_temp_dir(out_dir)
        try:
            with open(probe / LONGEST_FILE, "wb") as fh:
                fh.write(b"\0")
                fh.flush()
                os.fsync(fh.fileno())
        finally:
            shutil.rmtree(probe, ignore_errors=True)
        free = shutil.disk_usage(out_dir.parent).free
    except OSError as exc:
        raise ExportError(f"Cannot write the model to {out_dir}: {os_reason(exc)}") from None
    if free < need_bytes:
        raise ExportError(
            f"Not enough free space for the model in {out_dir.parent}: "
            f"{free / 1e6:.1f} MB free, about {need_bytes / 1e6:.1f} MB needed; "
            "free some space or choose another folder"
        )
    return out_dir


def replace_waiting(src: Path, dst: Path) -> None:
    """``os.replace`` of a folder, tried again for about two seconds while it is refused:
    on Windows a virus scanner, the search indexer or OneDrive holding a file just
    written inside makes the rename fail for a moment (a portability audit), and an
    export or publish failed now and then (and the model before it was not kept)."""
    from .readers import shared_retried

    shared_retried(lambda: os.replace(src, dst))


_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with renameat2(RENAME_EXCHANGE) where Linux offers it."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    rc = fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    return rc == 0


def swap_into_place(new: Path, target: Path, keep: Callable[[Path], object] | None = None) -> None:
    """Give ``new`` the name ``target`` atomically (an exchange where Linux offers it).

    The folder that held ``target`` before is removed, or handed to ``keep`` (by the
    path it now has, beside ``target``) when the caller keeps it: an export keeps the
    previous model in the local history (:mod:`app.core.local_history`).
    """

    def done_with(old: Path) -> None:
        if keep is None:
            shutil.rmtree(old, ignore_errors=True)
        else:
            keep(old)

    with deferred_interrupts():
        _swap(new, target, done_with)


def _swap(new: Path, target: Path, done_with: Callable[[Path], None]) -> None:
    old = target.with_name(f".{target.name}.old")
    if old.is_dir() and not old.is_symlink():
        # a swap without the exchange (macOS, Windows, NFS) killed after its first rename
        # left the folder before there: kept as any replaced one (an export's history),
        # where it was deleted with no word by this swap
        done_with(old)
    if not target.exists():
        replace_waiting(new, target)
        return
    if _exchange(new, target):
        done_with(new)  # now holds the old folder
        return
    shutil.rmtree(old, ignore_errors=True)
    replace_waiting(target, old)
    try:
        replace_waiting(new, target)
    except OSError:
        replace_waiting(old, target)
        raise
    done_with(old)


@contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Ctrl-C or ``kill`` that arrives inside waits until the block is done, then acts as
    it would have. Between the exchange and the keeping of the old model, the old one
    sits in the temp folder: an interrupt raised there removed it with the temp folder,
    and the command said "nothing was changed". Only the main thread handles signals;
    elsewhere (the app's workers) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[tuple[int, Any]] = []
    before = {sig: signal.getsignal(sig) for sig in INTERRUPT_SIGNALS}
    for sig in before:
        signal.signal(sig, lambda signum, frame: caught.append((signum, frame)))
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
        for signum, frame in caught[:1]:  # one is enough to act on
            handler = before[signal.Signals(signum)]
            if callable(handler):
                handler(signum, frame)
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), signum)
