"""Earlier models on this computer: each training keeps the model it replaces.

The last few are kept beside the model folder (:mod:`app.core.local_history`); the
owner looks at them, opens one like any model folder, or swaps one back in as the
local model (atomically; the one it replaces is kept in turn).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..progress import ProgressHook

if TYPE_CHECKING:
    from ..local_history import History

__all__ = [
    "EarlierModels",
    "earlier_models",
    "history_dir",
    "is_earlier_model",
    "kept",
    "use_again",
]


@dataclass(frozen=True)
class EarlierModels:
    """The local model's metadata (None: no usable model there) and its earlier ones."""

    model_dir: Path
    metadata: dict[str, Any] | None
    history: History


def kept() -> int:
    """How many earlier models each model folder keeps."""
    from ..local_history import KEEP

    return KEEP


def is_earlier_model(model_dir: Path) -> bool:
    """Whether ``model_dir`` is one of the earlier models kept beside a model folder
    (opened to look at it: read only, and not "the model on this computer")."""
    from ..local_history import is_kept_copy

    return is_kept_copy(model_dir)


def history_dir(model_dir: Path) -> Path:
    """Where ``model_dir``'s earlier models are kept (a folder beside it)."""
    from ..local_history import history_dir as where

    return where(model_dir)


def earlier_models(model_dir: Path) -> EarlierModels:
    """The model in ``model_dir`` and its earlier ones, each read and checked whole (a
    few MB apiece: run it off the UI thread). A folder that is not a usable model is
    listed as skipped with why, never raised."""
    from ..errors import ModelFilesError
    from ..local_history import list_history
    from ..modelfiles import validate_model_dir

    try:
        meta = validate_model_dir(model_dir) if model_dir.is_dir() else None
    except ModelFilesError:
        meta = None  # the Model screen says what is wrong when it is opened
    return EarlierModels(model_dir, meta, list_history(model_dir))


def use_again(
    model_dir: Path,
    name: str,
    *,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """The earlier model ``name`` becomes the local model again (``model_dir``); the
    one it replaces is kept. :class:`~app.core.local_history.HistoryError` says why not."""
    from ..local_history import use_again as swap_back

    return swap_back(model_dir, name, on_progress=on_progress, cancel=cancel)
