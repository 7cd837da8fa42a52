"""The last few local models, kept beside the model folder, to compare and go back.

Retraining replaces the local model (``models/<shop>/<channel>``, or a CLI ``--out``).
The export's atomic exchange (:func:`app.core.outdir.swap_into_place`) leaves the
previous model in a folder beside it; instead of deleting that folder, the export
renames it into ``.<name>.history/<when>-<random>`` beside the model folder (a rename
on the same disk: no copy, nothing half-written). Not inside the model folder: an
export refuses a folder holding anything but the three files. The last :data:`KEEP`
stay, the one that left the model folder longest ago is dropped first.

:func:`use_again` puts an earlier model back through the same exchange, after the
one validator (:func:`app.core.modelfiles.validate_model_dir`); the model it replaces
goes into the history in its place, so nothing is lost.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ExportError, ModelFilesError, TrainerError
from .faults import os_reason
from .locks import LockBusy, exclusive_lock
from .model_format import WEIGHTS_SHA256
from .modelfiles import TRAINER_NAME, validate_model_dir
from .outdir import STEM_BYTES, check_target, replace_waiting, swap_into_place
from .paths import resolved
from .progress import Phase, ProgressHook, Reporter, check_cancel
from .readers import notices
from .timestamps import stamp_after

log = logging.getLogger(__name__)

KEEP = 5  # earlier local models kept per model folder
SUFFIX = ".history"
LOCK_SUFFIX = ".lock"
LOCK_WAIT_S = 60.0  # a teach holds the lock for seconds, a training's swap for less
ENTRY_RE = re.compile(r"^\d{8}T\d{12}Z-[0-9a-f]{6}$")  # 20261203T090606767123Z-4e8ba5


class HistoryError(TrainerError):
    """An earlier local model cannot be put back; the local model stays as it was."""


@dataclass(frozen=True)
class Earlier:
    """One earlier model: its folder (open it like any model folder) and metadata.json."""

    name: str  # the entry's folder name: when it left the model folder (sorts by it)
    path: Path
    metadata: dict[str, Any]


@dataclass(frozen=True)
class Skipped:
    """A folder in the history that is not a usable model, and why."""

    name: str
    path: Path
    reason: str


@dataclass(frozen=True)
class History:
    models: list[Earlier]  # the model that left the model folder last first
    skipped: list[Skipped]


def history_dir(model_dir: Path) -> Path:
    """``.<name>.history`` beside ``model_dir``."""
    return beside(model_dir, SUFFIX)


def beside(model_dir: Path, suffix: str) -> Path:
    """``.<name><suffix>`` beside ``model_dir``: what belongs to a model folder but is not
    one of its three files (a long name is cut and hashed, so the name stays within the
    disk's limit and apart from a sibling's)."""
    model_dir = Path(os.path.abspath(model_dir))  # "." has no name; links stay as given
    name = model_dir.name
    raw = name.encode("utf-8", "surrogateescape")
    if len(raw) > STEM_BYTES:
        digest = hashlib.blake2b(raw, digest_size=4).hexdigest()
        name = raw[:STEM_BYTES].decode("utf-8", "ignore") + "-" + digest
    return model_dir.with_name(f".{name}{suffix}")


def is_kept_copy(model_dir: Path) -> bool:
    """Whether ``model_dir`` is an earlier model kept in a history: read only, since
    :func:`use_again` puts it back whole (a teach there changed the archived copy)."""
    p = Path(model_dir)
    return (
        bool(ENTRY_RE.fullmatch(p.name))
        and p.parent.name.startswith(".")
        and (p.parent.name.endswith(SUFFIX))
    )


@contextmanager
def model_lock(model_dir: Path, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """Hold the model folder's lock (``.<name>.lock`` beside it) while its files are
    replaced: a training's export, a teach (from reading the files to the swap, so two
    teaches, or a teach and a training, never undo one another) and :func:`use_again`.
    Raises :class:`~app.core.errors.ExportError` when another holds it the whole wait."""
    held = ExitStack()
    try:
        held.enter_context(exclusive_lock(beside(Path(model_dir), LOCK_SUFFIX), wait_s=wait_s))
    except LockBusy as exc:
        raise ExportError(
            f"Another training, teach or “use again” is still writing the model in "
            f"{model_dir} after {exc.waited_s:.0f} s; nothing was changed. Try again."
        ) from None
    except OSError as exc:  # a read-only disk: said of the model, not of its lock file
        raise ExportError(f"Could not write the model to {model_dir}: {os_reason(exc)}") from None
    with held:
        yield


def _entry_name(hist: Path) -> str:
    """Now to the microsecond, after every entry of ``hist`` whatever the clock says:
    entries are ordered and pruned by name (:func:`~app.core.timestamps.stamp_after`)."""
    return stamp_after(_entries(hist), 6) + "-" + secrets.token_hex(3)


def _entries(hist: Path) -> list[str]:
    """Our entry names in the history, newest first ([] without a history)."""
    try:
        names = [e.name for e in os.scandir(hist)]
    except OSError:
        return []
    return sorted((n for n in names if ENTRY_RE.fullmatch(n)), reverse=True)


def rescuer(model_dir: Path) -> Callable[[Path], bool]:
    """For the sweep of killed runs' temp folders beside ``model_dir``
    (:func:`app.core.outdir.sweep_stale`): a whole model of ours that is neither the one
    in place nor one the history keeps goes into the history instead of away. A run
    killed between its swap and :func:`keep_previous` left the model it replaced there,
    and the next training's sweep deleted it (an audit of the app killed mid-work). A
    killed export's own finished model, never swapped in, is kept the same way."""

    def weights_of(folder: Path) -> str | None:
        try:
            meta = validate_model_dir(folder)
        except (ModelFilesError, OSError):
            return None
        trainer = meta.get("trainer")
        ours = isinstance(trainer, dict) and trainer.get("name") == TRAINER_NAME
        return str(meta.get(WEIGHTS_SHA256)) if ours and meta.get(WEIGHTS_SHA256) else None

    def rescue(folder: Path) -> bool:
        weights = weights_of(folder)
        if weights is None:
            return False
        hist = history_dir(model_dir)
        known = {weights_of(model_dir), *(weights_of(hist / n) for n in _entries(hist))}
        if weights in known:
            return False  # a copy of a model kept already: it can go
        kept = keep_previous(folder, model_dir)
        if kept is not None:
            log.info("kept the model a killed run left in %s as an earlier model", folder)
        return kept is not None

    return rescue


def keep_previous(old: Path, model_dir: Path) -> Path | None:
    """Move ``old`` (the folder a swap took out of ``model_dir``) into the history and
    drop the oldest beyond :data:`KEEP`; returns where it went.

    Called once the new model is in place, so it never fails the export: a history that
    cannot be written is logged and ``old`` is removed, as before there was a history.
    """
    hist = history_dir(model_dir)
    try:
        empty = not any(old.iterdir())
    except OSError:
        empty = True
    if empty:  # an empty folder the export filled: nothing to keep
        shutil.rmtree(old, ignore_errors=True)
        return None
    dest = hist / _entry_name(hist)
    try:
        hist.mkdir(exist_ok=True)
        replace_waiting(old, dest)
    except OSError as exc:
        if old.parent == hist:  # use_again: it is in the history already, by an older name
            log.warning("could not rename %s in the history: %s", old, os_reason(exc))
            return old
        # said where the owner looks, not only in the log: the previous model is gone
        notices.warning(
            "The previous model could not be kept in %s (%s), so it was removed.",
            hist,
            os_reason(exc),
        )
        shutil.rmtree(old, ignore_errors=True)
        return None
    prune(model_dir)
    return dest


def prune(model_dir: Path, keep: int = KEEP) -> list[Path]:
    """Remove all but the ``keep`` newest entries; folders not named by us stay."""
    hist = history_dir(model_dir)
    removed = []
    for name in _entries(hist)[keep:]:
        shutil.rmtree(hist / name, ignore_errors=True)
        removed.append(hist / name)
    return removed


def list_history(model_dir: Path) -> History:
    """The earlier models of ``model_dir``, each checked by the one validator; a folder
    that is half there, damaged or not ours is skipped with the reason, never raised."""
    hist = history_dir(model_dir)
    try:
        names = sorted((e.name for e in os.scandir(hist)), reverse=True)
    except FileNotFoundError:
        return History([], [])
    except OSError as exc:
        return History([], [Skipped(hist.name, hist, f"cannot be read ({os_reason(exc)})")])
    models: list[Earlier] = []
    skipped: list[Skipped] = []
    for name in names:
        path = hist / name
        if not ENTRY_RE.fullmatch(name):
            skipped.append(Skipped(name, path, "not an earlier model kept by this app"))
            continue
        try:
            meta = validate_model_dir(path)
        except ModelFilesError as exc:
            skipped.append(Skipped(name, path, str(exc)))
            continue
        trainer = meta.get("trainer")
        if not (isinstance(trainer, dict) and trainer.get("name") == TRAINER_NAME):
            skipped.append(Skipped(name, path, "not a model trained by this app"))
            continue
        models.append(Earlier(name, path, meta))
    for s in skipped:
        log.info("history of %s: skipped %s: %s", model_dir, s.name, s.reason)
    return History(models, skipped)


def use_again(
    model_dir: Path,
    name: str,
    *,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Make the earlier model ``name`` the local model again; returns ``model_dir``.

    The earlier model is validated first and swapped in atomically; the model it
    replaces goes into the history (so it can be used again in turn). Raises
    :class:`HistoryError` with the reason, leaving both as they were.
    """
    rep = Reporter(on_progress, cancel)
    model_dir = resolved(model_dir)
    entry = history_dir(model_dir) / name
    if not ENTRY_RE.fullmatch(name) or not entry.is_dir():
        raise HistoryError(f"There is no earlier model {name!r} beside {model_dir}.")
    rep(Phase.RESTORING, 0.1, "Checking the earlier model")
    try:
        validate_model_dir(entry)
        check_target(model_dir)  # the model there now is ours: it is kept, not lost
    except ModelFilesError as exc:
        raise HistoryError(f"The earlier model cannot be used again: {exc}") from None
    except ExportError as exc:  # the model folder holds someone else's files
        raise HistoryError(str(exc)) from None
    check_cancel(cancel)
    try:
        with model_lock(model_dir):
            swap_into_place(entry, model_dir, lambda old: keep_previous(old, model_dir))
    except ExportError as exc:
        raise HistoryError(str(exc)) from None
    except OSError as exc:
        raise HistoryError(
            f"Could not put the earlier model back in {model_dir}: {os_reason(exc)}"
        ) from None
    rep(Phase.RESTORING, 1.0, f"The earlier model is the local model again, in {model_dir}")
    return model_dir
