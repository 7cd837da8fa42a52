"""Test screen: point the counter camera at a product and see what the model says.

Recognition runs on the exported files themselves (``ExportedModel``), the same
bytes the POS loads, in a dedicated worker thread. Live frames arrive faster than
a CPU can classify them, so the screen keeps at most one frame in flight and one
waiting; a newer frame replaces the waiting one. The preview therefore stays
smooth and predictions always describe a recent picture, never a backlog.

Without a camera (or on CI) the same path is fed from a video file, and a batch
of image files can be checked instead; model loading and the image batch go
through the shared :class:`TaskRunner`.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from threading import Event
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QSize, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtGui import QFont, QFontMetrics, QIcon, QPixmap
from PySide6.QtMultimedia import QMediaDevices
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.catalogue import IMAGE_SUFFIXES
from app.core.model_format import FILES as MODEL_FILES
from app.core.progress import Progress, check_cancel

from .correct_panel import CorrectPanel
from .counter_dialog import is_blank
from .decision_widget import DecisionLine, percent_beside, rule_text
from .frames import (
    CameraSource,
    FrameSource,
    FrameView,
    VideoFileSource,
    list_cameras,
    rgb_to_qimage,
)
from .tasks import Task, TaskError, TaskRunner
from .widgets import Banner, ElidedLabel, ProgressPanel

if TYPE_CHECKING:
    from app.core.correction import Taught
    from app.core.counter_frames import CounterFrameStore
    from app.core.modelfiles import ExportedModel
    from app.core.store import ChannelStore

log = logging.getLogger(__name__)

TOP_K = 3
VIDEO_FILTER = "Videos (*.mp4 *.m4v *.mov *.avi *.mkv *.webm *.mpg *.mpeg *.wmv);;All files (*)"
IMAGE_FILTER = f"Images ({' '.join(f'*{s}' for s in sorted(IMAGE_SUFFIXES))});;All files (*)"
THUMB = 64
# "Add frames to counter frames" stores the last this many different pictures, taken
# at most one per RECENT_EVERY_S seconds of live video.
RECENT_FRAMES = 10
RECENT_EVERY_S = 0.5
# Mean grey difference (0..255, on a 32-pixel-wide thumbnail) under which a picture is
# the same as one already kept: a still counter is kept once, not ten times.
SAME_PICTURE = 2.0
LIVE_MODES = ("camera", "video", "frames")
# A live correction's neighbouring frames: from the last NEIGHBOUR_S seconds, at most
# one per NEIGHBOUR_EVERY_S (the core keeps the sharp, varied ones).
NEIGHBOUR_S = 1.2
NEIGHBOUR_EVERY_S = 0.1


@dataclass(frozen=True)
class Prediction:
    """One recognised picture: what was shown, what the model said, how long it took."""

    frame: np.ndarray
    top: list[tuple[str, float]]
    seconds: float
    source: str


@dataclass(frozen=True)
class ImageResult:
    path: Path
    rgb: np.ndarray | None
    top: list[tuple[str, float]]
    error: str = ""


class _LiveWorker(QObject):
    """Lives in its own thread; classifies one frame per request."""

    done = Signal(int, object, object, float)  # generation, frame, top-k, seconds
    failed = Signal(int, str)

    @Slot(int, object, object)
    def infer(self, generation: int, model: Any, rgb: np.ndarray) -> None:
        t0 = time.perf_counter()
        try:
            top = [(str(label), float(p)) for label, p in model.top_k(rgb, TOP_K)]
        except Exception as exc:  # noqa: BLE001 - reported on screen, logged in full
            log.exception("live recognition failed")
            self.failed.emit(generation, f"Recognition failed: {exc}")
            return
        self.done.emit(generation, rgb, top, time.perf_counter() - t0)


def _load_model(path: Path):  # noqa: ANN202 - returns app.core.modelfiles.ExportedModel
    """Task body: load the three files and warm up, so the first frame is not slow."""

    def run(on_progress, cancel: Event) -> Any:  # noqa: ANN001
        on_progress(Progress("loading", 0.0, f"model from {path}"))
        from app.core.modelfiles import ExportedModel  # TensorFlow loads here, not at start-up

        check_cancel(cancel)
        model = ExportedModel.load(path)
        size = model.image_size
        check_cancel(cancel)
        model.predict([np.zeros((size, size, 3), np.uint8)])
        on_progress(Progress("loading", 1.0, "model ready"))
        return model

    return run


def _classify_files(model: Any, paths: Sequence[Path]):  # noqa: ANN202
    """Task body: decode and classify each file; unreadable files become results too."""

    def run(on_progress, cancel: Event) -> list[ImageResult]:  # noqa: ANN001
        from app.core.errors import ImageError
        from app.core.images import load_rgb

        out: list[ImageResult] = []
        for i, path in enumerate(paths):
            check_cancel(cancel)
            on_progress(Progress("preparing", i / len(paths), f"{i + 1}/{len(paths)} {path.name}"))
            try:
                rgb = load_rgb(path)
            except ImageError as exc:
                out.append(ImageResult(path, None, [], str(exc)))
                continue
            top = [(str(label), float(p)) for label, p in model.top_k(rgb, TOP_K)]
            out.append(ImageResult(path, rgb, top))
        on_progress(Progress("preparing", 1.0, f"{len(paths)} images"))
        return out

    return run


def _files_signature(folder: Path) -> tuple | None:
    """Size and mtime of the three model files: changes when a training re-exports."""
    try:
        return tuple(
            (n, (folder / n).stat().st_mtime_ns, (folder / n).stat().st_size) for n in MODEL_FILES
        )
    except OSError:
        return None


def _stop_thread(thread: QThread) -> None:
    try:
        running = thread.isRunning()
    except RuntimeError:  # already deleted at interpreter exit
        return
    if running:
        thread.quit()
        thread.wait()


class MatchRow(QWidget):
    """One of the top-3 lines: product name, confidence bar, percentage."""

    def __init__(self, rank: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rank = rank
        self.name = ElidedLabel("—")  # a long name shrinks with "…", never the percentage
        font = self.name.font()
        if rank == 0:
            font.setPointSizeF(font.pointSizeF() * 1.35)
            font.setBold(True)
        self.name.setFont(font)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(14 if rank == 0 else 10)
        color = "#2e7d32" if rank == 0 else "#7a8ba0"
        self.bar.setStyleSheet(
            "QProgressBar { border: none; background: #e6e8eb; border-radius: 4px; }"
            f"QProgressBar::chunk {{ background: {color}; border-radius: 4px; }}"
        )
        self.percent = QLabel("")
        self.percent.setFont(font)
        self.percent.setFixedWidth(QFontMetrics(font).horizontalAdvance("100 %") + 8)
        self.percent.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 2, 0, 2)
        grid.setVerticalSpacing(2)
        grid.addWidget(self.name, 0, 0)
        grid.addWidget(self.percent, 0, 1)
        grid.addWidget(self.bar, 1, 0, 1, 2)

    def show_match(self, name: str, probability: float) -> None:
        self.name.setText(name)
        self.bar.setValue(round(1000 * probability))
        self.percent.setText(f"{100 * probability:.0f} %")

    def clear(self) -> None:
        self.name.setText("—")
        self.bar.setValue(0)
        self.percent.setText("")


class RecogniseScreen(QWidget):
    """Live camera (or video / image files) → top-3 products with confidence."""

    predicted = Signal(object)  # Prediction, after the bars show it
    model_loaded = Signal(object)  # the ExportedModel
    model_failed = Signal(str)
    images_done = Signal(object)  # list[ImageResult]
    counter_frames_added = Signal(int)  # frames stored in the shop's counter frames
    photos_taught = Signal(object)  # app.core.correction.Taught: added photos stored

    _infer = Signal(int, object, object)  # to the worker: generation, model, frame

    def __init__(
        self,
        runner: TaskRunner,
        parent: QWidget | None = None,
        settings: Any = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.settings = settings  # app.core.paths.Settings: remembers the camera
        self.model: ExportedModel | None = None
        self.model_dir: Path | None = None
        self._model_signature: tuple | None = None
        self.names: dict[str, str] = {}
        self.images_folder = ""  # where "Image files…" opens (the sample shop's test photos)
        self.mode = "none"  # "camera" | "video" | "images" | "frames" | "none"
        self.source: FrameSource | None = None
        self.last_prediction: Prediction | None = None
        self.image_results: list[ImageResult] = []
        self._model_task: Task | None = None
        self._images_task: Task | None = None
        self._queued_images: list[Path] | None = None
        self._generation = 0
        self._busy = False
        self._pending: np.ndarray | None = None
        self._frame_times: deque[float] = deque(maxlen=240)
        self._result_times: deque[float] = deque(maxlen=240)
        self._latency: deque[float] = deque(maxlen=30)
        # the shop's counter frames (None: no shop or folder open) and recent pictures
        self.counter_store: CounterFrameStore | None = None
        # (small grey signature, frame) of the last different pictures
        self._recent: deque[tuple[np.ndarray, np.ndarray]] = deque(maxlen=RECENT_FRAMES)
        self._recent_at = 0.0
        self._add_task: Task | None = None
        # (time, frame) of the last live pictures: a correction's neighbours
        self._burst: deque[tuple[float, np.ndarray]] = deque(maxlen=16)

        self._build_ui()

        self._thread = QThread()
        self._thread.setObjectName("test-recognition")
        self._worker = _LiveWorker()
        self._worker.moveToThread(self._thread)
        self._infer.connect(self._worker.infer)
        self._worker.done.connect(self._on_result)
        self._worker.failed.connect(self._on_infer_failed)
        self._thread.finished.connect(self._worker.deleteLater)
        self._thread.start()
        # The screen may be deleted by its parent without shutdown(): never leave a
        # running QThread behind (Qt aborts when one is destroyed).
        thread = self._thread
        self.destroyed.connect(lambda *_: _stop_thread(thread))
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

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
        self.correct.camera_id = lambda: self.settings.camera_id if self.settings else ""
        base = getattr(self.settings, "base_weights", "") if self.settings else ""
        self.correct.weights = Path(base) if base else None
        self.correct.taught.connect(self._on_taught)
        self.correct.camera_busy.connect(self._camera_lent)
        self.correct.message.connect(lambda text, kind: self.banner.show_message(text, kind))
        self.model_label = QLabel()
        self.model_label.setWordWrap(True)
        self.model_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner = Banner()

        self.camera_combo = QComboBox()
        self.camera_combo.setMinimumWidth(140)
        self.camera_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.camera_combo.setMinimumContentsLength(12)
        self.camera_combo.setToolTip("Which camera to test with")
        self.camera_combo.activated.connect(self._camera_chosen)
        self.refresh_button = QPushButton("Find cameras")
        self.refresh_button.setToolTip("Look again for connected cameras")
        self.refresh_button.clicked.connect(self._find_cameras)
        self.images_button = QPushButton("&Image files…")
        self.images_button.setToolTip("Test on photo files instead of the camera")
        self.images_button.clicked.connect(self.choose_images)
        self.video_button = QPushButton("&Video file…")
        self.video_button.setToolTip("Test on a video file instead of the camera")
        self.video_button.clicked.connect(self.choose_video)
        source_row = QHBoxLayout()
        source_row.addWidget(QLabel("Camera:"))
        source_row.addWidget(self.camera_combo)
        source_row.addWidget(self.refresh_button)
        source_row.addStretch(1)
        source_row.addWidget(self.images_button)
        source_row.addWidget(self.video_button)

        self.view = FrameView(self, "Starting…")
        self.no_camera = self._build_no_camera_page()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.no_camera)
        self.source_label = ElidedLabel()  # a long file path must not widen the window
        self.source_label.setStyleSheet("color: #5f6368;")
        self.add_frames_button = QPushButton("Add frames to counter frames")
        self.add_frames_button.clicked.connect(self.add_recent_frames)
        under = QHBoxLayout()
        under.addWidget(self.source_label, 1)
        under.addWidget(self.add_frames_button)
        under.addWidget(self.correct.teach_button)
        left = QVBoxLayout()
        left.addWidget(self.stack, 1)
        left.addLayout(under)

        heading = QLabel("Best matches")
        hf = heading.font()
        hf.setBold(True)
        heading.setFont(hf)
        self.rows = [MatchRow(i) for i in range(TOP_K)]
        self.decision = DecisionLine()  # "Sure: Banana" / "Not sure — …", the till's rule
        self.fps_label = QLabel()
        self.latency_label = QLabel()
        for lab in (self.fps_label, self.latency_label):
            lab.setStyleSheet("color: #5f6368;")
        self.guide = QLabel(
            "Hold one product where the till's camera sees it. A good model puts that "
            "product on top with a long green bar; if it hesitates, add photos of it "
            "taken at the counter on the Products screen and train again."
        )
        self.guide.setWordWrap(True)
        self.guide.setObjectName("hint")
        self.results_heading = QLabel("Image files")
        self.results_heading.setFont(hf)
        self.results = QListWidget()
        self.results.setIconSize(QSize(THUMB, THUMB))
        self.results.setUniformItemSizes(True)  # every row as tall as its thumbnail
        self.results.setWordWrap(False)
        self.results.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.results.currentRowChanged.connect(self._image_selected)
        self.progress = ProgressPanel(self)
        panel = QFrame()
        panel.setFrameShape(QFrame.Shape.StyledPanel)
        panel.setMinimumWidth(270)  # shares a narrow (800×600) window with the preview
        panel.setMaximumWidth(340)
        right = QVBoxLayout(panel)
        right.addWidget(self.decision)
        right.addWidget(heading)
        for row in self.rows:
            right.addWidget(row)
        right.addWidget(self.correct)
        right.addSpacing(8)
        right.addWidget(self.fps_label)
        right.addWidget(self.latency_label)
        right.addSpacing(8)
        right.addWidget(self.results_heading)
        right.addWidget(self.results, 1)
        right.addWidget(self.progress)
        right.addStretch(1)  # only while the image list (stretch 1) is hidden, see below
        self._panel_stretch = right.count() - 1
        right.addWidget(self.guide)
        self._panel = right
        self._set_results_visible(False)

        body = QHBoxLayout()
        body.addLayout(left, 1)
        body.addWidget(panel)
        lay = QVBoxLayout(self)
        lay.addWidget(title)
        lay.addWidget(self.model_label)
        lay.addWidget(self.banner)
        lay.addLayout(source_row)
        lay.addLayout(body, 1)

    def _build_no_camera_page(self) -> QWidget:
        page = QFrame()
        page.setObjectName("noCamera")
        page.setStyleSheet("#noCamera { background: #f4f5f7; border-radius: 6px; }")
        big = QLabel("No camera found")
        bf = QFont(big.font())
        bf.setPointSizeF(bf.pointSizeF() * 1.6)
        bf.setBold(True)
        big.setFont(bf)
        big.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # Explicit line break, no word wrap: wrapped labels under an alignment get clipped.
        text = QLabel(
            "Connect the counter camera;\nit appears here by itself.\n"
            "Meanwhile, check the model on\nphotos or a video taken at the counter."
        )
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.no_camera_images = QPushButton("Image files…")
        self.no_camera_images.clicked.connect(self.choose_images)
        self.no_camera_video = QPushButton("Video file…")
        self.no_camera_video.clicked.connect(self.choose_video)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.no_camera_images)
        buttons.addWidget(self.no_camera_video)
        buttons.addStretch(1)
        lay = QVBoxLayout(page)
        lay.addStretch(1)
        lay.addWidget(big)
        lay.addWidget(text, 0, Qt.AlignmentFlag.AlignHCenter)
        lay.addSpacing(12)
        lay.addLayout(buttons)
        lay.addStretch(1)
        return page

    def _set_results_visible(self, visible: bool) -> None:
        self.results_heading.setVisible(visible)
        self.results.setVisible(visible)
        self.guide.setVisible(not visible)
        self._panel.setStretch(self._panel_stretch, 0 if visible else 1)

    # ----------------------------------------------------------------- model
    def set_product_names(self, names: dict[str, str]) -> None:
        """Labels are product IDs; show the shop's names instead where known."""
        self.names = dict(names)
        self.correct.names = self.names
        if self.last_prediction is not None:
            self._show_top(self.last_prediction.top)
        self._fill_results()
        self._show_model_state()

    def display_name(self, label: str) -> str:
        """The shop's name now, else the name saved in the model, else the product ID."""
        if self.names.get(label):
            return self.names[label]
        meta = self.model.metadata if self.model is not None else {}
        labels, saved = meta.get("labels") or [], meta.get("labelNames") or []
        if label in labels and len(saved) == len(labels):
            return str(saved[labels.index(label)])
        return label

    @property
    def threshold(self) -> float:
        """The loaded model's acceptThreshold: the POS adds by itself at or above it."""
        return self.model.accept_threshold if self.model is not None else 1.01

    def set_model_dir(self, path: Path | str | None) -> None:
        """Load the exported files in the background; frames are classified once ready.

        Training writes to the same folder again, so the same path is reloaded when
        its files changed, and only skipped when they are exactly the ones loaded.
        """
        if path is None:
            self.runner.cancel("test-model")
            self._model_task = None
            self.model, self.model_dir, self._model_signature = None, None, None
            self.correct.set_model(None, [])
            self._generation += 1
            self._clear_top()
            self._show_model_state()
            return
        path = Path(path)
        signature = _files_signature(path)
        unchanged = path == self.model_dir and signature == self._model_signature
        if unchanged and (self.model is not None or self._model_task is not None):
            return
        self.model_dir = path
        self._model_signature = signature
        self.model = None
        self.correct.set_model(None, [])
        self._generation += 1
        self._clear_top()
        self.banner.clear_message()
        self.decision.set_rule("")  # the rule of the model being loaded comes with it
        self.model_label.setText(f"Loading the model from {path}…")
        task = self.runner.start("test-model", _load_model(path))
        self._model_task = task
        task.succeeded.connect(lambda m, t=task: self._on_model_loaded(t, m))
        task.failed.connect(lambda e, t=task: self._on_model_failed(t, e))

    def _on_model_loaded(self, task: Task, model: Any) -> None:
        if task is not self._model_task:
            return
        self._model_task = None
        self.model = model
        self.correct.set_model(self.model_dir, list(model.labels))
        self._generation += 1
        self._show_model_state()
        self.model_loaded.emit(model)
        if self._queued_images is not None:
            paths, self._queued_images = self._queued_images, None
            self.open_images(paths)
        elif self.mode == "images" and self.image_results:
            said = (self.banner.text(), self.banner.kind)  # e.g. "Taught Banana…": kept
            self.open_images([r.path for r in self.image_results])
            if said[0]:
                self.banner.show_message(*said)

    def _on_model_failed(self, task: Task, error: TaskError) -> None:
        if task is not self._model_task:
            return
        self._model_task = None
        self.model = None
        self.banner.show_message(f"Cannot load the model: {error.message}", "error")
        self._show_model_state()
        self.model_failed.emit(error.message)

    def _show_model_state(self) -> None:
        model = self.model
        self.decision.set_rule(*(rule_text(model.metadata, self.threshold) if model else ("",)))
        if self._model_task is not None:
            return
        if self.model is None:
            self.model_label.setText(
                "No model loaded yet. Train one, or open a model folder on the Model screen; "
                "the camera preview works meanwhile."
            )
            return
        labels = list(self.model.labels)
        known = ", ".join(self.display_name(x) for x in labels[:8])
        known += f" and {len(labels) - 8} more" if len(labels) > 8 else ""
        name = self.model.metadata.get("modelName")
        text = (
            f"The model “{name}”" if name else "This model"
        ) + f" knows <b>{len(labels)} products</b> and only ever names one of them: {known}."
        missing = [pid for pid in self.names if pid not in set(labels)]
        if missing:
            shown = ", ".join(self.names[p] or p for p in missing[:6])
            shown += " …" if len(missing) > 6 else ""
            text += (
                f"<br><span style='color:#7a5200'>Not in this model: {shown} — shown to the "
                "camera, these get the name of the closest product it knows. Add photos "
                "and train again to include them.</span>"
            )
        self.model_label.setText(text)
        self.model_label.setToolTip(str(self.model_dir))

    # ----------------------------------------------------------------- sources
    def refresh_cameras(self) -> None:
        """Refill the selector; fall back to the "no camera" state when none is left."""
        cams = list_cameras()
        current = self.camera_combo.currentData()
        self.camera_combo.blockSignals(True)
        self.camera_combo.clear()
        for cam_id, desc in cams:
            self.camera_combo.addItem(desc, cam_id)
        if not cams:
            self.camera_combo.addItem("No camera found", "")
        wanted = current or (self.settings.camera_id if self.settings is not None else "")
        idx = self.camera_combo.findData(wanted) if wanted else -1
        self.camera_combo.setCurrentIndex(max(0, idx))
        self.camera_combo.blockSignals(False)
        self.camera_combo.setEnabled(bool(cams))
        if self.mode in ("camera", "none"):
            if cams:
                if self.mode == "none" or self.camera_id not in {c for c, _ in cams}:
                    self.use_camera(self.camera_combo.currentData())
            else:
                self._use_source(None, "none")

    @Slot()
    def _find_cameras(self) -> None:
        """The button says what it found, so a click never seems to do nothing."""
        self.refresh_cameras()
        n = len(list_cameras())
        if n:
            self.banner.show_message(f"Found {n} camera{'s' if n > 1 else ''}.", "ok")
        else:
            self.banner.show_message(
                "Still no camera. Check that it is plugged in and that no other program "
                "(a video call, the till software) is using it.",
                "warn",
            )

    @property
    def camera_id(self) -> str:
        src = self.source
        if isinstance(src, CameraSource) and src.device is not None:
            return bytes(src.device.id().data()).decode(errors="replace")
        return ""

    @Slot(int)
    def _camera_chosen(self, _index: int) -> None:
        cam_id = self.camera_combo.currentData()
        if cam_id:
            self.use_camera(cam_id)
            if self.settings is not None:
                self.settings.camera_id = cam_id
                self.settings.save()

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
        self._generation += 1
        self._pending = None
        self._frame_times.clear()
        self._result_times.clear()
        self._latency.clear()
        self._recent.clear()
        self._burst.clear()
        self._update_add_frames()
        self._clear_top()
        self.banner.clear_message()
        self.view.set_frame(None)
        self.view.placeholder = "Starting…"
        self._set_results_visible(mode == "images")
        if mode == "none":
            self.stack.setCurrentWidget(self.no_camera)
            self.source_label.setText("")
            self._fps_timer.stop()
            self._update_rates()
            return
        self.stack.setCurrentWidget(self.view)
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

    def choose_video(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Test on a video file", "", VIDEO_FILTER)
        if path:
            self.open_video(path)

    def choose_images(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, "Test on image files", self.images_folder, IMAGE_FILTER
        )
        if files:
            self.open_images([Path(f) for f in files])

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
        self._frame_times.append(time.monotonic())
        self.view.set_frame(rgb)
        self._remember(rgb)
        now = time.monotonic()
        if not self._burst or now - self._burst[-1][0] >= NEIGHBOUR_EVERY_S:
            self._burst.append((now, rgb))  # read-only frames: no copy
        if self.model is not None:
            self._pending = rgb  # replaces an older waiting frame: stale frames are dropped
            self._pump()

    # ----------------------------------------------------------------- corrections
    def set_store(self, store: ChannelStore | None) -> None:
        """The open shop's (or folder's) own photos and counter frames; None: none open."""
        self.correct.set_store(store)
        self.set_counter_store(store.counter_frames if store is not None else None)

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

    # ----------------------------------------------------------------- counter frames
    def set_counter_store(self, store: CounterFrameStore | None) -> None:
        """The open shop's counter frames; ``None`` while no shop or folder is open."""
        self.counter_store = store
        self._update_add_frames()

    @property
    def recent_count(self) -> int:
        """Different live pictures "Add frames to counter frames" would store now."""
        return len(self._recent)

    def _remember(self, rgb: np.ndarray) -> None:
        now = time.monotonic()
        if self.mode not in LIVE_MODES or now - self._recent_at < RECENT_EVERY_S:
            return
        self._recent_at = now
        if is_blank(rgb):
            return
        step = max(1, rgb.shape[1] // 32)
        sig = np.asarray(rgb[::step, ::step], dtype=np.float32).mean(axis=2)
        for seen, _ in self._recent:  # a still counter, or a looping video: kept once
            if seen.shape == sig.shape and np.abs(sig - seen).mean() < SAME_PICTURE:
                return
        self._recent.append((sig, rgb))  # read-only, never changed by the source: no copy
        self._update_add_frames()

    def _update_add_frames(self) -> None:
        self.add_frames_button.setVisible(self.mode in LIVE_MODES)
        self.add_frames_button.setToolTip(
            f"Store the last {RECENT_FRAMES} different pictures of this camera or video as "
            "this shop's counter frames: training learns the shop's light and background "
            "from them"
            if self.counter_store is not None
            else "Log in to your shop or choose its folder first: counter frames belong to a shop"
        )
        self.add_frames_button.setEnabled(
            self.counter_store is not None and bool(self._recent) and self._add_task is None
        )

    @Slot()
    def add_recent_frames(self) -> Task | None:
        """Store the recent pictures in the shop's counter frames, in the background."""
        store = self.counter_store
        if store is None or not self._recent or self._add_task is not None:
            return None
        frames = [rgb for _, rgb in self._recent]
        self._recent.clear()

        def work(_on_progress: Any, _cancel: Event) -> tuple[int, int]:
            stored = [store.add_rgb(f, prefix="live") for f in frames]
            return len(stored), len(store.frames())

        task = self.runner.start("counter-frames-live", work)
        self._add_task = task
        task.succeeded.connect(lambda res, t=task: self._frames_added(t, *res))
        task.failed.connect(lambda err, t=task: self._frames_failed(t, err))
        self._update_add_frames()
        return task

    def _frames_added(self, task: Task, added: int, total: int) -> None:
        if task is not self._add_task:
            return
        self._add_task = None
        self._update_add_frames()
        self.banner.show_message(
            f"Added {added} frame{'s' if added != 1 else ''} to this shop's counter frames "
            f"({total} in all). The next training uses them.",
            "ok",
        )
        self.counter_frames_added.emit(added)

    def _frames_failed(self, task: Task, err: TaskError) -> None:
        if task is self._add_task:
            self._add_task = None
            self._update_add_frames()
            self.banner.show_message(f"Could not store the frames: {err.message}", "error")

    def _pump(self) -> None:
        if self._busy or self._pending is None or self.model is None:
            return
        rgb, self._pending = self._pending, None
        self._busy = True
        self._infer.emit(self._generation, self.model, rgb)

    @Slot(int, object, object, float)
    def _on_result(self, generation: int, rgb: np.ndarray, top: list, seconds: float) -> None:
        self._busy = False
        if generation == self._generation:
            self._result_times.append(time.monotonic())
            self._latency.append(seconds)
            source = self.source.name if self.source is not None else ""
            self.last_prediction = Prediction(rgb, top, seconds, source)
            self._show_top(top)
            now = time.monotonic()
            near = [f for t, f in self._burst if now - t <= NEIGHBOUR_S and f is not rgb]
            self.correct.set_current(rgb, top, near)
            self.predicted.emit(self.last_prediction)
        self._pump()

    @Slot(int, str)
    def _on_infer_failed(self, generation: int, message: str) -> None:
        self._busy = False
        if generation == self._generation:
            self.banner.show_message(message, "error")
        self._pump()

    def _show_top(self, top: Sequence[tuple[str, float]]) -> None:
        for i, row in enumerate(self.rows):
            if i < len(top):
                row.show_match(self.display_name(top[i][0]), top[i][1])
            else:
                row.clear()
        self.decision.show_top(top, self.threshold, self.display_name)

    def _clear_top(self) -> None:
        for row in self.rows:
            row.clear()
        self.decision.clear()
        self.correct.clear_current()

    @staticmethod
    def _rate(times: deque[float], now: float, window: float = 2.0) -> float:
        recent = [t for t in times if now - t <= window]
        if len(recent) < 2:
            return 0.0
        span = recent[-1] - recent[0]
        return (len(recent) - 1) / span if span > 0 else 0.0

    @property
    def camera_fps(self) -> float:
        return self._rate(self._frame_times, time.monotonic())

    @property
    def recognition_fps(self) -> float:
        return self._rate(self._result_times, time.monotonic())

    @Slot()
    def _update_rates(self) -> None:
        live = self.mode in LIVE_MODES
        for lab in (self.fps_label, self.latency_label):
            lab.setVisible(live)  # no empty lines above the image list
        if not live:
            self.fps_label.setText("")
            self.latency_label.setText("")
            return
        self.fps_label.setText(
            f"Preview: {self.camera_fps:.1f} fps · Recognition: {self.recognition_fps:.1f} fps"
        )
        if self._latency:
            ms = 1000 * float(np.median(list(self._latency)))
            self.latency_label.setText(f"{ms:.0f} ms per picture on this computer")
        elif self.model is None:
            self.latency_label.setText("")
        else:
            self.latency_label.setText("Waiting for pictures…")

    # ----------------------------------------------------------------- image files
    def open_images(self, paths: Sequence[Path | str]) -> None:
        """Classify image files (no camera needed); pick one to see its top 3."""
        paths = [Path(p) for p in paths]
        self._use_source(None, "images")
        self.view.placeholder = "Choose an image on the right"
        self.source_label.setText(f"{len(paths)} image files")
        self.image_results = [ImageResult(p, None, []) for p in paths]
        self._fill_results()
        if self.model is None:
            self._queued_images = paths
            if self._model_task is None:
                self.banner.show_message(
                    "Load a model first (Model screen); the images will be checked then.", "warn"
                )
            return
        task = self.runner.start("test-images", _classify_files(self.model, paths))
        self._images_task = task
        self.progress.track(task, "Checking images")
        task.succeeded.connect(lambda r, t=task: self._on_images_done(t, r))
        task.failed.connect(lambda e, t=task: self._on_images_failed(t, e))

    def _on_images_done(self, task: Task, results: list[ImageResult]) -> None:
        if task is not self._images_task or self.mode != "images":
            return
        self._images_task = None
        self.image_results = results
        self._fill_results()
        if results:
            row = self.results.currentRow()  # kept through a re-check (the model was taught)
            if 0 <= row < len(results):  # kept through the refill: no signal comes
                self._image_selected(row)
            else:
                self.results.setCurrentRow(0)
        bad = sum(1 for r in results if r.error)
        if bad:
            self.banner.show_message(f"{bad} of {len(results)} files could not be read.", "warn")
        self.images_done.emit(results)

    def _on_images_failed(self, task: Task, error: TaskError) -> None:
        if task is self._images_task:
            self._images_task = None
            self.banner.show_message(f"Checking the images failed: {error.message}", "error")

    def _fill_results(self) -> None:
        row = self.results.currentRow()
        self.results.blockSignals(True)
        self.results.clear()
        for r in self.image_results:
            if r.error:
                text = f"{r.path.name}\n{r.error}"
            elif r.top:
                label, p = r.top[0]
                unsure = " (not sure)" if p < self.threshold else ""
                # the figure first: a narrow list elides the end of the line, not the figure
                shown = percent_beside(p, self.threshold)
                text = f"{r.path.name}\n{shown} {self.display_name(label)}{unsure}"
            else:
                text = f"{r.path.name}\n…"
            item = QListWidgetItem(text)
            item.setToolTip(text.replace("\n", " — ") + f"\n{r.path}")
            item.setSizeHint(QSize(0, THUMB + 8))
            if r.rgb is not None:
                step = max(1, max(r.rgb.shape[:2]) // THUMB)
                thumb = rgb_to_qimage(r.rgb[::step, ::step])
                item.setIcon(QIcon(QPixmap.fromImage(thumb)))
            self.results.addItem(item)
        self.results.blockSignals(False)
        if 0 <= row < self.results.count():
            self.results.setCurrentRow(row)

    @Slot(int)
    def _image_selected(self, row: int) -> None:
        if not 0 <= row < len(self.image_results):
            return
        r = self.image_results[row]
        self.view.set_frame(r.rgb)
        self.view.placeholder = r.error or "…"
        self.source_label.setText(str(r.path))
        if r.top:
            self._show_top(r.top)
            self.correct.set_current(r.rgb, r.top)
            self.last_prediction = Prediction(r.rgb, r.top, 0.0, r.path.name)
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
        """Stop the source and the recognition thread (the main window calls this on quit)."""
        if self.source is not None:
            self.source.stop()
        self._fps_timer.stop()
        _stop_thread(self._thread)
