"""Where the Test screen's pictures come from: the camera row and the "no camera" page.

The row lists the cameras (the one chosen last first when it is there), looks for them
again on request, and offers photo or video files instead; without a camera the page
says what to do meanwhile. Which source is used is the screen's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.flows.check_photos import IMAGE_SUFFIXES

from ...accessible import named
from ...camera.sources import VIDEO_FILTER, list_cameras
from ...camera.view import FrameView
from ...fitting import WrappingRow
from ...widgets import ElidedLabel

IMAGE_FILTER = f"Images ({' '.join(f'*{s}' for s in sorted(IMAGE_SUFFIXES))});;All files (*)"


class CameraBar(QWidget):
    """ "Camera: [▾] [Find cameras] … [Image files…] [Video file…]"."""

    camera_chosen = Signal(str)  # a camera id the owner picked
    refresh_requested = Signal()  # "Find cameras": list them again and use one
    message = Signal(str, str)  # what "Find cameras" found (text, Banner kind)
    images_chosen = Signal(list)  # [Path]: photo files to test on
    video_chosen = Signal(str)  # a video file to test on

    def __init__(self, settings: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings  # remembers the camera (None: nothing remembered)
        self.images_folder = ""  # where "Image files…" opens (the sample shop's test photos)
        self.combo = named(QComboBox(), "Camera")
        self.combo.setMinimumWidth(140)
        self.combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.combo.setMinimumContentsLength(12)
        self.combo.setToolTip("Which camera to test with")
        self.combo.activated.connect(self._chosen)
        self.refresh_button = QPushButton("Find cameras")
        self.refresh_button.setToolTip("Look again for connected cameras")
        self.refresh_button.clicked.connect(self._find)
        self.images_button = QPushButton("&Image files…")
        self.images_button.setToolTip("Test on photo files instead of the camera")
        self.images_button.clicked.connect(self.choose_images)
        self.video_button = QPushButton("&Video file…")
        self.video_button.setToolTip("Test on a video file instead of the camera")
        self.video_button.clicked.connect(self.choose_video)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Camera:"))
        row.addWidget(self.combo)
        row.addWidget(self.refresh_button)
        row.addStretch(1)
        row.addWidget(self.images_button)
        row.addWidget(self.video_button)

    def refill(self) -> list[tuple[str, str]]:
        """List the cameras again (keeping the one chosen); returns them."""
        cams = list_cameras()
        current = self.combo.currentData()
        self.combo.blockSignals(True)
        self.combo.clear()
        for cam_id, desc in cams:
            self.combo.addItem(desc, cam_id)
        if not cams:
            self.combo.addItem("No camera found", "")
        wanted = current or (self.settings.camera_id if self.settings is not None else "")
        idx = self.combo.findData(wanted) if wanted else -1
        self.combo.setCurrentIndex(max(0, idx))
        self.combo.blockSignals(False)
        self.combo.setEnabled(bool(cams))
        return cams

    @property
    def current(self) -> str:
        return str(self.combo.currentData() or "")

    @Slot()
    def _find(self) -> None:
        """The button says what it found, so a click never seems to do nothing."""
        self.refresh_requested.emit()  # the screen lists them again and uses one
        n = len(list_cameras())
        if n:
            self.message.emit(f"Found {n} camera{'s' if n > 1 else ''}.", "ok")
        else:
            self.message.emit(
                "Still no camera. Check that it is plugged in and that no other program "
                "(a video call, the till software) is using it.",
                "warn",
            )

    @Slot()
    def choose_video(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Test on a video file", "", VIDEO_FILTER)
        if path:
            self.video_chosen.emit(path)

    @Slot()
    def choose_images(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, "Test on image files", self.images_folder, IMAGE_FILTER
        )
        if files:
            self.images_chosen.emit([Path(f) for f in files])

    @Slot(int)
    def _chosen(self, _index: int) -> None:
        cam_id = self.current
        if cam_id:
            if self.settings is not None:
                self.settings.camera_id = cam_id
                self.settings.save()
            self.camera_chosen.emit(cam_id)


class PicturePane(QWidget):
    """The picture (or the "no camera" page), and under it where it comes from beside
    the buttons ``under`` (the screen's)."""

    def __init__(self, bar: CameraBar, *under: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = named(FrameView(self, "Starting…"), "Camera picture")
        self.no_camera_images = QPushButton("Image files…")
        self.no_camera_images.clicked.connect(bar.choose_images)
        self.no_camera_video = QPushButton("Video file…")
        self.no_camera_video.clicked.connect(bar.choose_video)
        self.no_camera = no_camera_page(self.no_camera_images, self.no_camera_video)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.view)
        self.stack.addWidget(self.no_camera)
        self.source_label = ElidedLabel()  # a long file path must not widen the window
        self.source_label.setStyleSheet("color: #5f6368;")
        row = QHBoxLayout()
        row.addWidget(self.source_label, 1)
        row.addWidget(WrappingRow(*under))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.stack, 1)
        lay.addLayout(row)

    def show_picture(self, live: bool) -> None:
        """The picture, or (``live`` False) the "no camera" page."""
        self.stack.setCurrentWidget(self.view if live else self.no_camera)


def no_camera_page(images: QPushButton, video: QPushButton) -> QFrame:
    """What the picture's place says without a camera, with the two ways around it."""
    page = QFrame()
    page.setObjectName("noCamera")
    page.setStyleSheet("#noCamera { background: #f4f5f7; border-radius: 6px; }")
    big = QLabel("No camera found")
    bf = big.font()
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
    buttons = QHBoxLayout()
    buttons.addStretch(1)
    buttons.addWidget(images)
    buttons.addWidget(video)
    buttons.addStretch(1)
    lay = QVBoxLayout(page)
    lay.addStretch(1)
    lay.addWidget(big)
    lay.addWidget(text, 0, Qt.AlignmentFlag.AlignHCenter)
    lay.addSpacing(12)
    lay.addLayout(buttons)
    lay.addStretch(1)
    return page
