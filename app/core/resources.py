"""The one place that finds the files the app ships beside its code (``resources/``).

The same relative name (``"icons/dukahub-trainer.png"``) must work however the app
was installed, so callers never guess paths:

- PyInstaller bundle: ``resources/`` is collected into the bundle's data folder
  (``sys._MEIPASS``);
- source checkout and editable install: ``resources/`` beside the ``app`` package;
- regular (wheel) install: pyproject's ``data-files`` installs it to
  ``<prefix>/share/dukahub-trainer/resources`` (the venv, or the user base for
  ``pip install --user``), because ``resources/`` is not inside a Python package.

Plain Python on purpose: the CLI and the trainer use it without Qt.
"""

from __future__ import annotations

import site
import sys
import sysconfig
from pathlib import Path

from .errors import TrainerError

ICON = "icons/dukahub-trainer.png"
ICON_ICO = "icons/dukahub-trainer.ico"
DESKTOP_ENTRY = "linux/com.dukahub.Trainer.desktop"
BASE_WEIGHTS_DIR = "weights"

_SHARE = Path("share") / "dukahub-trainer" / "resources"
# <repo>/resources for a checkout or an editable install (app/core/resources.py → repo).
_CHECKOUT = Path(__file__).resolve().parents[2] / "resources"


class ResourceMissing(TrainerError):
    """A file the app ships is not where the installation put it (a broken install)."""


def roots() -> list[Path]:
    """Folders that may hold ``resources/``, most specific first (existing ones only)."""
    candidates: list[Path] = []
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        candidates.append(Path(bundle) / "resources")
    candidates.append(_CHECKOUT)
    for prefix in (sysconfig.get_path("data"), sys.prefix, _user_base()):
        if prefix:
            candidates.append(Path(prefix) / _SHARE)
    seen: list[Path] = []
    for c in candidates:
        if c not in seen and c.is_dir():
            seen.append(c)
    return seen


def _user_base() -> str | None:
    try:
        return site.getuserbase()
    except (AttributeError, OSError):  # embedded interpreters may lack it
        return None


def find(name: str) -> Path | None:
    """The shipped file ``name`` (relative to ``resources/``), or None if absent."""
    for root in roots():
        p = root / name
        if p.is_file():
            return p
    return None


def path(name: str) -> Path:
    """The shipped file ``name``; a broken install raises an error naming that file."""
    found = find(name)
    if found is None:
        looked = ", ".join(str(r) for r in roots()) or "no resources folder found"
        raise ResourceMissing(
            f"This installation is incomplete: the file resources/{name} is missing "
            f"(looked in: {looked}). Reinstall Dukahub Model Trainer."
        )
    return found
