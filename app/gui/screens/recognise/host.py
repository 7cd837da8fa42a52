"""The Test screen's place in the window, filled on first use: QtMultimedia, NumPy and
the camera stay out of the window's start-up (:mod:`.screen` loads them)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.core import paths

from ...tasks import TaskRunner

if TYPE_CHECKING:
    from app.core.flows.open_source import Catalogue, ChannelStore

log = logging.getLogger(__name__)


class RecogniseScreenHost(QWidget):
    """Creates the webcam Test screen on first use, so QtMultimedia stays out of start-up."""

    counter_frames_added = Signal(int)  # the Test screen stored live frames
    photos_taught = Signal(object)  # a correction stored photos (Taught)

    def __init__(self, runner: TaskRunner, settings: paths.Settings, parent=None) -> None:
        super().__init__(parent)
        self.runner, self.settings = runner, settings
        self.screen: QWidget | None = None
        self._model_dir: Path | None = None
        self._names: dict[str, str] = {}
        self._images_folder = ""
        self._store: ChannelStore | None = None  # of the open shop or folder, or None
        self._catalogue: Callable[[], Catalogue | None] = lambda: None
        self._lay = QVBoxLayout(self)
        self._lay.setContentsMargins(0, 0, 0, 0)

    def ensure(self) -> QWidget:
        if self.screen is None:
            try:
                from .screen import RecogniseScreen
            except ImportError as exc:  # e.g. QtMultimedia missing its system libraries
                log.error("Test screen unavailable: %s", exc)
                label = QLabel(f"Testing with the webcam is unavailable here: {exc}")
                label.setAlignment(Qt.AlignmentFlag.AlignCenter)
                label.setWordWrap(True)
                self.screen = label
            else:
                self.screen = RecogniseScreen(self.runner, self, settings=self.settings)
                self.screen.set_product_names(self._names)
                self.screen.images_folder = self._images_folder
                self.screen.set_store(self._store)
                self.screen.set_catalogue_source(self._catalogue)
                self.screen.counter_frames_added.connect(self.counter_frames_added)
                self.screen.photos_taught.connect(self.photos_taught)
                if self._model_dir is not None:
                    self.screen.set_model_dir(self._model_dir)
            self._lay.addWidget(self.screen)
        return self.screen

    def showEvent(self, event) -> None:  # noqa: N802
        self.ensure()
        super().showEvent(event)

    def set_model_dir(self, path: Path | None) -> None:
        self._model_dir = path
        if self.screen is not None and hasattr(self.screen, "set_model_dir"):
            self.screen.set_model_dir(path)

    def set_product_names(self, names: dict[str, str]) -> None:
        self._names = dict(names)
        if self.screen is not None and hasattr(self.screen, "set_product_names"):
            self.screen.set_product_names(self._names)

    def set_images_folder(self, folder: str) -> None:
        self._images_folder = folder
        if self.screen is not None and hasattr(self.screen, "images_folder"):
            self.screen.images_folder = folder

    def set_catalogue_source(self, catalogue: Callable[[], Catalogue | None]) -> None:
        """Where the open shop's catalogue (its products' photos) comes from: asked only
        when the "No, it is…" list opens."""
        self._catalogue = catalogue
        if self.screen is not None and hasattr(self.screen, "set_catalogue_source"):
            self.screen.set_catalogue_source(catalogue)

    def set_store(self, store: ChannelStore | None) -> None:
        """The open source's store: corrections become its added photos, live frames its
        counter frames."""
        self._store = store
        if self.screen is not None and hasattr(self.screen, "set_store"):
            self.screen.set_store(store)

    def shutdown(self) -> None:
        if self.screen is not None and hasattr(self.screen, "shutdown"):
            self.screen.shutdown()
