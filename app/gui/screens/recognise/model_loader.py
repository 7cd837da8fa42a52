"""The model the Test screen runs: loaded in the background, and what it says it knows.

A training writes the same folder again, so the same path is loaded again when its
files changed, and only skipped when they are exactly the ones loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from pathlib import Path
from threading import Event
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from app.core.flows.train import FILES as MODEL_FILES
from app.core.progress import ProgressHook

from ...tasks import Task, TaskError, TaskRunner

if TYPE_CHECKING:
    from app.core.flows.recognise import LoadedModel


def files_signature(folder: Path) -> tuple | None:
    """Size and mtime of the three model files: changes when a training re-exports."""
    try:
        return tuple(
            (n, (folder / n).stat().st_mtime_ns, (folder / n).stat().st_size) for n in MODEL_FILES
        )
    except OSError:
        return None


class ModelLoader(QObject):
    """Holds the loaded model; :meth:`open` loads another (or the same one changed)."""

    loaded = Signal(object)  # LoadedModel
    failed = Signal(str)  # why it cannot be loaded

    def __init__(self, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.model: LoadedModel | None = None
        self.model_dir: Path | None = None
        self._signature: tuple | None = None
        self._task: Task | None = None

    @property
    def loading(self) -> bool:
        return self._task is not None

    def open(self, path: Path | None) -> bool:
        """Load ``path`` in the background (None: no model); False when it is exactly
        the model loaded (or being loaded) already."""
        if path is None:
            self.runner.cancel("test-model")
            self._task = None
            self.model, self.model_dir, self._signature = None, None, None
            return True
        signature = files_signature(path)
        if path == self.model_dir and signature == self._signature and (self.model or self._task):
            return False
        self.model_dir, self._signature, self.model = path, signature, None

        def work(on_progress: ProgressHook, cancel: Event) -> LoadedModel:
            from app.core.flows.recognise import load_model  # TensorFlow loads here

            return load_model(path, warm_up=True, on_progress=on_progress, cancel=cancel)

        task = self.runner.start("test-model", work)
        self._task = task
        task.succeeded.connect(lambda m, t=task: self._loaded(t, m))
        task.failed.connect(lambda e, t=task: self._failed(t, e))
        return True

    def _loaded(self, task: Task, model: LoadedModel) -> None:
        if task is self._task:
            self._task = None
            self.model = model
            self.loaded.emit(model)

    def _failed(self, task: Task, error: TaskError) -> None:
        if task is self._task:
            self._task = None
            self.model = None
            self.failed.emit(error.message)


def model_text(model: LoadedModel | None, names: dict[str, str], name: Callable[[str], str]) -> str:
    """What the loaded model knows, and which of the shop's products (``names``) it does
    not: shown to the camera, those get the name of the closest product it knows."""
    if model is None:
        return (
            "No model loaded yet. Train one, or open a model folder on the Model screen; "
            "the camera preview works meanwhile."
        )
    labels = list(model.labels)
    known = ", ".join(escape(name(x)) for x in labels[:8])
    known += f" and {len(labels) - 8} more" if len(labels) > 8 else ""
    called = model.metadata.get("modelName")
    text = (
        f"The model “{escape(str(called))}”" if called else "This model"
    ) + f" knows <b>{len(labels)} products</b> and only ever names one of them: {known}."
    missing = [pid for pid in names if pid not in set(labels)]
    if missing:
        shown = ", ".join(escape(names[p] or p) for p in missing[:6])
        shown += " …" if len(missing) > 6 else ""
        text += (
            f"<br><span style='color:#7a5200'>Not in this model: {shown} — shown to the "
            "camera, these get the name of the closest product it knows. Add photos "
            "and train again to include them.</span>"
        )
    return text
