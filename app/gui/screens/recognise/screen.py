"""Test screen: point the counter camera at a product and see what the model says.

Recognition runs on the exported files themselves (:mod:`app.core.flows.recognise`),
the same bytes the POS loads, and ends with the till's decision. Live pictures go
through :class:`~.live.LiveRecognition` (the newest picture wins, on the shared task
runner); without a camera (or on CI) the same path is fed from a video file, and a
batch of image files can be checked instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtMultimedia import QMediaDevices
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.core.wording import unreadable_files

from ...camera.sources import (
    CameraSource,
    FrameSource,
    VideoFileSource,
    list_cameras,
)
from ...decision_widget import rule_text
from ...tasks import Task, TaskRunner
from ...widgets import Banner
from .camera_bar import CameraBar, PicturePane
from .correct import CorrectPanel
from .image_files import ImageFiles
from .live import LiveRecognition, Prediction
from .live_frames import LiveCounterFrames
from .matches import AnswersPanel, ImageResult
from .model_loader import ModelLoader, model_text

if TYPE_CHECKING:
    from app.core.flows.open_source import Catalogue, ChannelStore
    from app.core.flows.recognise import Decision, LoadedModel
    from app.core.flows.teach import Taught

log = logging.getLogger(__name__)

LIVE_MODES = ("camera", "video", "frames")


class RecogniseScreen(QWidget):
    """Live camera (or video / image files) → top-3 products with confidence."""

    predicted = Signal(object)  # Prediction, after the bars show it
    model_loaded = Signal(object)  # the LoadedModel
    model_failed = Signal(str)
    images_done = Signal(object)  # list[ImageResult]
    counter_frames_added = Signal(int)  # frames stored in the shop's counter frames
    photos_taught = Signal(object)  # Taught: added photos stored (and the model updated)

    def __init__(
        self, runner: TaskRunner, parent: QWidget | None = None, settings: Any = None
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.settings = settings  # app.core.paths.Settings: remembers the camera
        self.loader = ModelLoader(runner, self)
        self.loader.loaded.connect(self._on_model_loaded)
        self.loader.failed.connect(self._on_model_failed)
        self.names: dict[str, str] = {}
        self.mode = "none"  # "camera" | "video" | "images" | "frames" | "none"
        self.source: FrameSource | None = None
        self.last_prediction: Prediction | None = None
        self._queued_images: list[Path] | None = None
        self._said: tuple[str, str] = ("", "")  # kept over a re-check ("Taught Banana…")
        self.live = LiveRecognition(runner, self)
        self.live.predicted.connect(self._on_prediction)
        self.live.failed.connect(lambda message: self.banner.show_message(message, "error"))
        self.frames = LiveCounterFrames(runner, self)
        self.frames.added.connect(self.counter_frames_added)
        self.frames.message.connect(lambda text, kind: self.banner.show_message(text, kind))
        self.add_frames_button = self.frames.button
        self._build_ui()
        self._fps_timer = QTimer(self, interval=500)
        self._fps_timer.timeout.connect(self._update_rates)
        self._devices = QMediaDevices(self)
        self._devices.videoInputsChanged.connect(self.refresh_cameras)
        self.refresh_cameras()
        self._show_model_state()

    # ----------------------------------------------------------------- layout
    def _build_ui(self) -> None:
        title = QLabel("Test")
        title.setObjectName("title")  # the main window's style sheet sizes screen titles
        self.correct = CorrectPanel(self.runner, self)  # Right / No, it is… / Teach a product…
        self.correct.display = self.display_name
        self.correct.settings = self.settings
        base = self.settings.base_weights if self.settings is not None else ""
        self.correct.weights = Path(base) if base else None
        self.correct.taught.connect(self._on_taught)
        self.correct.camera_busy.connect(self._camera_lent)
        self.correct.message.connect(lambda text, kind: self.banner.show_message(text, kind))
        self.model_label = QLabel()
        self.model_label.setWordWrap(True)
        self.model_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner = Banner()

        self.bar = CameraBar(self.settings)
        self.bar.camera_chosen.connect(self.use_camera)
        self.bar.images_chosen.connect(self.open_images)
        self.bar.video_chosen.connect(self.open_video)
        self.bar.refresh_requested.connect(self.refresh_cameras)
        self.bar.message.connect(lambda text, kind: self.banner.show_message(text, kind))
        self.camera_combo, self.refresh_button = self.bar.combo, self.bar.refresh_button
        self.images_button, self.video_button = self.bar.images_button, self.bar.video_button
        p = self.picture = PicturePane(self.bar, self.add_frames_button, self.correct.teach_button)
        self.view, self.stack, self.source_label = p.view, p.stack, p.source_label
        self.no_camera, self.no_camera_images = p.no_camera, p.no_camera_images
        self.no_camera_video = p.no_camera_video

        self.answers = AnswersPanel(self.correct)
        a = self.answers
        self.rows, self.decision, self.results = a.rows, a.decision, a.results
        self.progress, self.fps_label, self.latency_label = a.progress, a.fps_label, a.latency_label
        self.results.currentRowChanged.connect(self._image_selected)
        self.files = ImageFiles(self.runner, self.results, self.progress, self)
        self.files.checked.connect(self._on_images_done)
        self.files.failed.connect(
            lambda why: self.banner.show_message(f"Checking the images failed: {why}", "error")
        )

        body = QHBoxLayout()
        body.addWidget(self.picture, 1)
        body.addWidget(self.answers)
        lay = QVBoxLayout(self)
        for widget in (title, self.model_label, self.banner, self.bar):
            lay.addWidget(widget)
        lay.addLayout(body, 1)

    # ----------------------------------------------------------------- model
    def set_product_names(self, names: dict[str, str]) -> None:
        """Labels are product IDs; show the shop's names instead where known."""
        self.names = dict(names)
        self.correct.names = self.names
        if self.last_prediction is not None:
            self._show(self.last_prediction.top, self.last_prediction.decision)
        self._fill_results()
        self._show_model_state()

    def display_name(self, label: str) -> str:
        """The shop's name now, else the name saved in the model, else the product ID."""
        if self.names.get(label):
            return self.names[label]
        return self.model.names.get(label, label) if self.model is not None else label

    @property
    def threshold(self) -> float:
        """The loaded model's acceptThreshold: the POS adds by itself at or above it."""
        return self.model.accept_threshold if self.model is not None else 1.01

    @property
    def model(self) -> LoadedModel | None:
        return self.loader.model

    @property
    def model_dir(self) -> Path | None:
        return self.loader.model_dir

    def set_model_dir(self, path: Path | str | None) -> None:
        """Load the exported files in the background; pictures are recognised once ready
        (the same folder again: only when its files changed)."""
        again = path is not None and Path(path) == self.model_dir  # e.g. a teach wrote it
        if not self.loader.open(Path(path) if path is not None else None):
            return
        self._restart_live()
        if not again:  # else the answer on screen stays open to corrections (they wait)
            self.correct.set_model(None, [])
            self._clear_top()
        if path is not None:
            self.correct.model_loading()
            self.banner.clear_message()
            self.decision.set_rule("")  # the rule of the model being loaded comes with it
            self.model_label.setText(f"Loading the model from {path}…")
        elif self.image_results:  # the closed model's answers (another shop's names)
            self._queued_images = self.files.unchecked()  # checked again by the next model
            self._fill_results()
        self._show_model_state()

    def _on_model_loaded(self, model: LoadedModel) -> None:
        self.correct.set_model(self.model_dir, list(model.labels))
        self._restart_live()
        self._show_model_state()
        self.model_loaded.emit(model)
        if self._queued_images is not None:
            paths, self._queued_images = self._queued_images, None
            self.open_images(paths)
        elif self.mode == "images" and self.image_results:
            self._said = (self.banner.text(), self.banner.kind)  # until the re-check is done
            self.open_images([r.path for r in self.image_results])
            if self._said[0]:
                self.banner.show_message(*self._said)

    def _on_model_failed(self, message: str) -> None:
        self.correct.set_model(None, [])  # waiting corrections store their photos
        self.banner.show_message(f"Cannot load the model: {message}", "error")
        self._show_model_state()
        self.model_failed.emit(message)

    def _show_model_state(self) -> None:
        model = self.model
        self.decision.set_rule(*(rule_text(model.metadata, self.threshold) if model else ("",)))
        if self.loader.loading:
            return
        self.model_label.setText(model_text(model, self.names, self.display_name))
        if model is not None:
            self.model_label.setToolTip(str(self.model_dir))

    # ----------------------------------------------------------------- sources
    def refresh_cameras(self) -> None:
        """Refill the selector; fall back to the "no camera" state when none is left."""
        cams = self.bar.refill()
        if self.mode in ("camera", "none"):
            if cams:
                if self.mode == "none" or self.camera_id not in {c for c, _ in cams}:
                    self.use_camera(self.bar.current)
            else:
                self._use_source(None, "none")

    @property
    def camera_id(self) -> str:
        return self.source.camera_id if isinstance(self.source, CameraSource) else ""

    def use_camera(self, camera_id: str | None = None) -> None:
        self._use_source(CameraSource(camera_id, parent=self), "camera")

    def open_video(self, path: Path | str, loop: bool = True) -> VideoFileSource:
        """Play a video file as if it were the camera."""
        src = VideoFileSource(path, loop=loop, parent=self)
        self._use_source(src, "video")
        return src

    def use_source(self, source: FrameSource) -> None:
        """Any frame source (tests feed arrays; embedders may bring their own)."""
        source.setParent(self)
        self._use_source(source, "frames")

    def _use_source(self, source: FrameSource | None, mode: str) -> None:
        old = self.source
        if old is not None:
            old.stop()
            old.frame.disconnect(self._on_frame)
            old.error.disconnect(self._on_source_error)
            old.deleteLater()
        self.source = source
        self.mode = mode
        self._restart_live()
        self.frames.restart(mode in LIVE_MODES)
        self._clear_top()
        self.banner.clear_message()
        self.view.set_frame(None)
        self.view.placeholder = "Starting…"
        self.answers.set_results_visible(mode == "images")
        if mode == "none":
            self.picture.show_picture(live=False)
            self.source_label.setText("")
            self._fps_timer.stop()
            self._update_rates()
            return
        self.picture.show_picture(live=True)
        if source is None:
            return
        self.source_label.setText(
            {"camera": "Camera", "video": "Video file"}.get(mode, "Source") + f": {source.name}"
        )
        source.frame.connect(self._on_frame)
        source.error.connect(self._on_source_error)
        if self.isVisible():
            source.start()
            self._fps_timer.start()

    def _restart_live(self) -> None:
        """A new model or source: pictures in flight are not answered."""
        self.live.reset(self.model, self.source.name if self.source is not None else "")

    @property
    def images_folder(self) -> str:
        """Where "Image files…" opens (the sample shop's test photos)."""
        return self.bar.images_folder

    @images_folder.setter
    def images_folder(self, folder: str) -> None:
        self.bar.images_folder = folder

    @Slot(str)
    def _on_source_error(self, message: str) -> None:
        if self.mode == "camera" and not list_cameras():
            self._use_source(None, "none")
            return
        self.view.placeholder = message
        self.view.update()
        self.banner.show_message(message, "error")

    # ----------------------------------------------------------------- live recognition
    @Slot(object)
    def _on_frame(self, rgb: np.ndarray) -> None:
        self.view.set_frame(rgb)
        self.frames.seen(rgb, time.monotonic())
        self.live.give(rgb)

    def _on_prediction(self, p: Prediction) -> None:
        self.last_prediction = p
        self._show(p.top, p.decision)
        near = self.frames.recent.neighbours(p.frame, time.monotonic())
        self.correct.set_current(p.frame, p.top, near)
        self.predicted.emit(p)

    def _show(self, top: Sequence[tuple[str, float]], decision: Decision | None) -> None:
        self.answers.show(top, decision, self.display_name)

    def _clear_top(self) -> None:
        self.answers.clear()
        self.correct.clear_current()

    @property
    def camera_fps(self) -> float:
        return self.live.camera_fps

    @property
    def recognition_fps(self) -> float:
        return self.live.recognition_fps

    @Slot()
    def _update_rates(self) -> None:
        live = self.live if self.mode in LIVE_MODES else None
        self.answers.show_rates(live, self.model is not None)

    # ----------------------------------------------------------------- the shop's photos
    def set_catalogue_source(self, catalogue: Callable[[], Catalogue | None]) -> None:
        """Where the open shop's catalogue comes from (read when a picker opens)."""
        self.correct.catalogue = catalogue

    def set_store(self, store: ChannelStore | None) -> None:
        """The open shop's (or folder's) own photos and counter frames; None: none open."""
        self.correct.set_store(store)
        self.frames.set_store(store.counter_frames if store is not None else None)

    @property
    def recent_count(self) -> int:
        """Different live pictures "Add frames to counter frames" would store now."""
        return self.frames.recent.count

    def add_recent_frames(self) -> Task | None:
        """Store the recent pictures in the shop's counter frames, in the background."""
        return self.frames.add()

    def _on_taught(self, taught: Taught) -> None:
        """Photos were stored (and the model updated): use the updated files at once."""
        if taught.result is not None and taught.result.model_dir == self.model_dir:
            self.set_model_dir(self.model_dir)  # its files changed: reloaded
        self.photos_taught.emit(taught)

    def _camera_lent(self, busy: bool) -> None:
        """The teach dialog opens the same camera: this screen lets go of it meanwhile."""
        if self.source is None:
            return
        if busy:
            self.source.stop()
        elif self.isVisible():
            self.source.start()

    # ----------------------------------------------------------------- image files
    @property
    def image_results(self) -> list[ImageResult]:
        return self.files.items

    def open_images(self, paths: Sequence[Path | str]) -> None:
        """Recognise image files (no camera needed); pick one to see its top 3."""
        paths = [Path(p) for p in paths]
        self._use_source(None, "images")
        self.view.placeholder = "Choose an image on the right"
        self.source_label.setText(f"{len(paths)} image files")
        self.files.waiting(paths)
        self._fill_results()
        if self.model is None:
            self._queued_images = paths
            if not self.loader.loading:
                self.banner.show_message(
                    "Load a model first (Model screen); the images will be checked then.", "warn"
                )
            return
        self.files.check(self.model)

    def _on_images_done(self, results: list[ImageResult]) -> None:
        if self.mode != "images":
            return
        self._fill_results()
        if results:
            row = self.results.currentRow()  # kept through a re-check (the model was taught)
            if 0 <= row < len(results):  # kept through the refill: no signal comes
                self._image_selected(row)
            else:
                self.results.setCurrentRow(0)
        said, self._said, bad = self._said[0], ("", ""), sum(1 for r in results if r.error)
        if bad and not said:  # said before the teach: its confirmation stays on top
            self.banner.show_message(unreadable_files(bad, len(results)), "warn")
        self.images_done.emit(results)

    def _fill_results(self) -> None:
        self.files.fill(self.threshold, self.display_name)

    @Slot(int)
    def _image_selected(self, row: int) -> None:
        if not 0 <= row < len(self.image_results):
            return
        r = self.image_results[row]
        self.view.set_frame(r.rgb)
        self.view.placeholder = r.error or "…"
        self.source_label.setText(str(r.path))
        if r.top and r.rgb is not None:
            self._show(r.top, r.decision)
            self.correct.set_current(r.rgb, r.top)
            self.last_prediction = Prediction(r.rgb, r.top, 0.0, r.path.name, r.decision)
            self.predicted.emit(self.last_prediction)
        else:
            self._clear_top()

    # ----------------------------------------------------------------- lifecycle
    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        if self.source is not None and not self.source.running:
            self.source.start()
            self._fps_timer.start()

    def hideEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        """The camera is off whenever the screen is not visible."""
        super().hideEvent(event)
        if self.source is not None:
            self.source.stop()
        self._fps_timer.stop()

    def shutdown(self) -> None:
        """Stop the source and live recognition (the main window calls this on quit,
        before the runner): a model loading meanwhile is dropped, starting nothing."""
        if self.source is not None:
            self.source.stop()
        self._fps_timer.stop()
        self.live.stop()
        self.loader.open(None)
        self.correct.shutdown()
