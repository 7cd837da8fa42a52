"""Testing on photo files: each recognised in the background, listed with its answer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from threading import Event
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QListWidget

from app.core.progress import ProgressHook

from ...tasks import Task, TaskError, TaskRunner
from ...widgets import ProgressPanel
from .matches import ImageResult, fill_results

if TYPE_CHECKING:
    from app.core.flows.recognise import LoadedModel


class ImageFiles(QObject):
    """The files on test (:attr:`items`, in order) and the list that shows them."""

    checked = Signal(object)  # list[ImageResult]: every file has its answer or error
    failed = Signal(str)  # why the files could not be checked

    def __init__(
        self,
        runner: TaskRunner,
        results: QListWidget,
        progress: ProgressPanel,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner, self.results, self.progress = runner, results, progress
        self.items: list[ImageResult] = []
        self._task: Task | None = None

    def waiting(self, paths: list[Path]) -> None:
        """These files are on test now; their answers come with :meth:`check`."""
        self.items = [ImageResult(p, None, []) for p in paths]

    def check(self, model: LoadedModel) -> Task:
        """Recognise every file on test with ``model``, in the background."""
        from app.core.flows.recognise import recognise_files

        paths = [r.path for r in self.items]

        def work(on_progress: ProgressHook, cancel: Event) -> list[ImageResult]:
            done = recognise_files(
                model, paths, keep_images=True, on_progress=on_progress, cancel=cancel
            )
            return [ImageResult.of(r) for r in done]

        task = self.runner.start("test-images", work)
        self._task = task
        self.progress.track(task, "Checking images")
        task.succeeded.connect(lambda r, t=task: self._done(t, r))
        task.failed.connect(lambda e, t=task: self._failed(t, e))
        return task

    def _done(self, task: Task, results: list[ImageResult]) -> None:
        if task is self._task:
            self._task = None
            self.items = results
            self.checked.emit(results)

    def _failed(self, task: Task, error: TaskError) -> None:
        if task is self._task:
            self._task = None
            self.failed.emit(error.message)

    def unchecked(self) -> list[Path]:
        """The files on test again without answers, their paths: the model that gave the
        answers is closed (an answer still coming is not shown either)."""
        self._task = None
        self.waiting([r.path for r in self.items])
        return [r.path for r in self.items]

    def forget(self) -> None:
        """Another source: an answer still coming is not shown."""
        self._task = None

    def fill(self, threshold: float, name: Callable[[str], str]) -> None:
        fill_results(self.results, self.items, threshold, name)
