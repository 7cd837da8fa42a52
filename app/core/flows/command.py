"""What every run sets up before its work: a command-line run, so scheduled runs leave a
record and a killed one leaves nothing in the system's temp folder; the app, its log."""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import MutableMapping
from typing import TextIO

__all__ = ["outside_environment", "start_app", "start_command", "sweep_killed_writes"]


def start_app() -> None:
    """The app's log file (*Help → Open log folder*), before its window opens; the
    environment of the programs it starts (:func:`outside_environment`); library temp
    files in a private folder of the app's cache, as for a command: a killed app left
    TensorFlow's files in the system's temp folder, which nothing removed (an audit)."""
    from .. import paths
    from ..logs import setup_logging
    from ..outdir import use_private_tempdir

    _check_home()
    setup_logging()
    outside_environment()
    use_private_tempdir(paths.cache_dir() / "tmp")
    # beside the window, not before it: the owner's folders may hold thousands of photos
    threading.Thread(target=sweep_killed_writes, name="sweep", daemon=True).start()


def sweep_killed_writes() -> int:
    """What a killed run left half-written among the owner's files and settings
    (``.<name>.<random>.tmp``: an added photo's copy, ``selection.json``, a counter
    frame, ``settings.json``), over an hour old; how many. Hidden by their names, they
    piled up for ever: only the image cache was swept (an audit of the app killed
    mid-work). Never fails: an app folder that cannot be used is said by what needs it
    (the "cannot start" dialog), not by a traceback from this sweep beside it."""
    from .. import paths

    try:  # the caches (inside the data folder on Windows) sweep their own, and are big
        skip = (paths.cache_dir(), paths.log_dir())
        return sum(paths.sweep_stale_writes(f, skip=skip) for f in paths.owner_folders())
    except (OSError, ValueError) as exc:
        logging.getLogger(__name__).info("no sweep of half-written files: %s", exc)
        return 0


def outside_environment(env: MutableMapping[str, str] | None = None) -> None:
    """Programs the desktop bundle starts (the file manager of *Open log folder*, a
    browser) get the library path the owner had: PyInstaller's loader points
    ``LD_LIBRARY_PATH`` at the bundle's own libraries (keeping the owner's in
    ``LD_LIBRARY_PATH_ORIG``), and those children loaded them instead of their own.
    The app itself is untouched: the system's loader read the path when it started."""
    env = os.environ if env is None else env
    if not getattr(sys, "frozen", False) or "LD_LIBRARY_PATH" not in env:
        return
    owners = env.get("LD_LIBRARY_PATH_ORIG")
    if owners:
        env["LD_LIBRARY_PATH"] = owners
    else:
        del env["LD_LIBRARY_PATH"]


def _check_home() -> None:
    """The app's folders must be valid text (UTF-8): a home under a name that is not
    (``/home/caf\xe9`` from an old system) trained halfway, then TensorFlow failed
    with a traceback ("Unable to cast Python instance of type str")."""
    from .. import paths
    from ..errors import TrainerError

    home = paths.data_dir().parent
    try:
        str(home).encode("utf-8")
    except UnicodeEncodeError:
        shown = str(home).encode("utf-8", "replace").decode("utf-8")
        raise TrainerError(
            f"The app's folder {shown} has a name that is not valid text (UTF-8): set "
            f"{paths.HOME_ENV} to a folder with a plain name."
        ) from None


def start_command(notes_to: TextIO) -> None:
    """The app's log file (``sync`` from cron leaves a record), core's notes for the
    owner (a damaged app file set aside…) as ``note:`` lines on ``notes_to``, and every
    library temp file in a private folder of the app's cache, swept by the next run."""
    from .. import paths
    from ..logs import setup_logging
    from ..outdir import use_private_tempdir
    from ..readers import notices

    _check_home()
    setup_logging()
    if not any(getattr(h, "_dukahub_notes", False) for h in notices.handlers):
        handler = logging.StreamHandler(notes_to)
        handler.setFormatter(logging.Formatter("note: %(message)s"))
        handler._dukahub_notes = True  # type: ignore[attr-defined]
        notices.addHandler(handler)
    use_private_tempdir(paths.cache_dir() / "tmp")
    sweep_killed_writes()
