"""Where live pictures come from: a webcam, a video file, or a list of arrays.

Every source emits the same thing, ``frame(np.ndarray)`` with an ``H×W×3`` uint8
RGB array, so the Test screen and the "take a photo" dialog never care whether a
real counter camera is attached. There is no camera on CI machines; a video file
played through :class:`VideoFileSource` stands in for it (``write_video`` makes
one with Qt itself), which keeps the tested path the same as the real one:
``QVideoSink`` → ``QVideoFrame.toImage()`` → numpy.

Frames are converted in the GUI thread (~2 ms at 640×480). Sources cap their rate
(``max_fps``) so a 60 fps camera cannot eat the UI thread, and emitted arrays are
read-only because one array is shared by every listener.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import (
    QObject,
    QRectF,
    QSize,
    Qt,
    QTimer,
    QUrl,
    Signal,
    Slot,
)
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent
from PySide6.QtMultimedia import (
    QCamera,
    QCameraDevice,
    QCameraFormat,
    QMediaCaptureSession,
    QMediaDevices,
    QMediaPlayer,
    QVideoFrame,
    QVideoSink,
)
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import TrainerError

log = logging.getLogger(__name__)

# A camera that delivers nothing this long after start is reported (busy, unplugged...).
NO_FRAME_TIMEOUT_MS = 6000
# Preferred camera resolution: the model sees 224×224, the preview needs little more.
PREFERRED_WIDTH = 640


class FrameSourceError(TrainerError):
    """A camera or video cannot deliver pictures; the message says what to do."""


# --------------------------------------------------------------------------- images


def qimage_to_rgb(image: QImage) -> np.ndarray:
    """Copy a QImage of any format into a fresh ``H×W×3`` uint8 RGB array."""
    if image.isNull():
        raise ValueError("empty image")
    if image.format() != QImage.Format.Format_RGB888:
        image = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, bpl = image.height(), image.width(), image.bytesPerLine()
    buf = np.frombuffer(image.constBits(), dtype=np.uint8, count=bpl * h)
    # Rows are padded to 4 bytes; drop the padding while copying.
    return buf.reshape(h, bpl)[:, : w * 3].reshape(h, w, 3).copy()


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """An independent QImage (deep copy) of an ``H×W×3`` uint8 RGB array."""
    arr = np.ascontiguousarray(rgb, dtype=np.uint8)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected H×W×3 RGB, got shape {arr.shape}")
    h, w = arr.shape[:2]
    return QImage(arr.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def _readonly(rgb: np.ndarray) -> np.ndarray:
    view = rgb.view()
    view.flags.writeable = False
    return view


# --------------------------------------------------------------------------- sources


def list_cameras() -> list[tuple[str, str]]:
    """``(id, description)`` of every video input, the system default first."""
    devices = QMediaDevices.videoInputs()
    default = QMediaDevices.defaultVideoInput()
    devices = sorted(devices, key=lambda d: d != default)
    return [(bytes(d.id().data()).decode(errors="replace"), d.description()) for d in devices]


def _find_camera(camera_id: str | None) -> QCameraDevice | None:
    devices = QMediaDevices.videoInputs()
    if not devices:
        return None
    if camera_id:
        for d in devices:
            if bytes(d.id().data()).decode(errors="replace") == camera_id:
                return d
    default = QMediaDevices.defaultVideoInput()
    return default if not default.isNull() else devices[0]


def pick_camera_format(formats: Sequence[QCameraFormat]) -> QCameraFormat | None:
    """The smallest format at least ``PREFERRED_WIDTH`` wide running ≥ 15 fps.

    Full-HD frames cost ~10 ms each to convert on the UI thread for no gain: the
    model only sees 224×224.
    """
    usable = [f for f in formats if f.maxFrameRate() >= 15 and not f.resolution().isEmpty()]
    if not usable:
        return None
    wide = [f for f in usable if f.resolution().width() >= PREFERRED_WIDTH]
    if wide:
        return min(wide, key=lambda f: (f.resolution().width(), -f.maxFrameRate()))
    return max(usable, key=lambda f: (f.resolution().width(), f.maxFrameRate()))


class FrameSource(QObject):
    """Base of every picture source: ``start()``, ``stop()``, ``frame`` and ``error``."""

    frame = Signal(object)  # np.ndarray H×W×3 uint8 RGB, read-only
    error = Signal(str)  # a message for the shop owner
    ended = Signal()  # a finite source delivered its last frame

    def __init__(self, name: str, max_fps: float | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.name = name
        self.max_fps = max_fps
        self.latest: np.ndarray | None = None
        self.frames_delivered = 0
        self._running = False
        self._last_emit = 0.0

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def _wants_frame(self) -> bool:
        """Rate cap checked *before* converting, so skipped frames cost nothing."""
        if not self.max_fps:
            return True
        return time.monotonic() - self._last_emit >= 0.95 / self.max_fps

    def _deliver(self, rgb: np.ndarray) -> None:
        self._last_emit = time.monotonic()
        rgb = _readonly(rgb)
        self.latest = rgb
        self.frames_delivered += 1
        self.frame.emit(rgb)

    def _fail(self, message: str) -> None:
        log.warning("%s: %s", self.name, message)
        self.error.emit(message)


class _SinkSource(FrameSource):
    """Shared QVideoSink → numpy path of the camera and video-file sources."""

    def __init__(self, name: str, max_fps: float | None, parent: QObject | None) -> None:
        super().__init__(name, max_fps, parent)
        self._sink = QVideoSink(self)
        self._sink.videoFrameChanged.connect(self._on_video_frame)

    @Slot(QVideoFrame)
    def _on_video_frame(self, vf: QVideoFrame) -> None:
        if not self._running or not vf.isValid() or not self._wants_frame():
            return
        image = vf.toImage()
        if image.isNull():
            return
        self._deliver(qimage_to_rgb(image))


class CameraSource(_SinkSource):
    """A webcam through ``QCamera`` + ``QMediaCaptureSession`` + ``QVideoSink``.

    ``device`` is a ``QCameraDevice``, a camera id from :func:`list_cameras`, or
    ``None`` for the system default. A missing camera is an ``error``, not an
    exception, so the Test screen can show its "no camera" state.
    """

    def __init__(
        self,
        device: QCameraDevice | str | None = None,
        max_fps: float | None = 30.0,
        parent: QObject | None = None,
    ) -> None:
        dev = device if isinstance(device, QCameraDevice) else _find_camera(device)
        super().__init__(dev.description() if dev else "No camera", max_fps, parent)
        self.device = dev
        self._camera: QCamera | None = None
        self._session = QMediaCaptureSession(self)
        self._session.setVideoSink(self._sink)
        self._watchdog = QTimer(self, singleShot=True, interval=NO_FRAME_TIMEOUT_MS)
        self._watchdog.timeout.connect(self._no_frames)
        self.frame.connect(self._watchdog.stop)

    def start(self) -> None:
        if self._running:
            return
        if self.device is None or self.device.isNull():
            # Queued so that listeners connected right after start() still hear it.
            QTimer.singleShot(0, self, lambda: self._fail("No camera found."))
            return
        if self._camera is None:
            self._camera = QCamera(self.device, self)
            fmt = pick_camera_format(self.device.videoFormats())
            if fmt is not None:
                self._camera.setCameraFormat(fmt)
            self._camera.errorOccurred.connect(self._on_camera_error)
            self._session.setCamera(self._camera)
        self._running = True
        self._camera.start()
        self._watchdog.start()

    def stop(self) -> None:
        self._running = False
        self._watchdog.stop()
        if self._camera is not None:
            self._camera.stop()

    @Slot(QCamera.Error, str)
    def _on_camera_error(self, _err: QCamera.Error, text: str) -> None:
        self.stop()
        self._fail(f"The camera “{self.name}” stopped: {text or 'unknown error'}.")

    @Slot()
    def _no_frames(self) -> None:
        if self._running and self.frames_delivered == 0:
            self._fail(f"The camera “{self.name}” sends no pictures. Is another program using it?")


class VideoFileSource(_SinkSource):
    """A video file played through ``QMediaPlayer``; loops by default like a live feed."""

    def __init__(
        self,
        path: Path | str,
        loop: bool = True,
        max_fps: float | None = 30.0,
        parent: QObject | None = None,
    ) -> None:
        self.path = Path(path).absolute()
        super().__init__(self.path.name, max_fps, parent)
        self.loop = loop
        self._player = QMediaPlayer(self)
        self._player.setVideoSink(self._sink)
        self._player.setLoops(QMediaPlayer.Loops.Infinite if loop else 1)
        self._player.errorOccurred.connect(self._on_player_error)
        self._player.mediaStatusChanged.connect(self._on_status)
        self._source_set = False

    def start(self) -> None:
        if self._running:
            return
        if not self.path.is_file():
            QTimer.singleShot(0, self, lambda: self._fail(f"Video file not found: {self.path}"))
            return
        if not self._source_set:
            self._player.setSource(QUrl.fromLocalFile(str(self.path)))
            self._source_set = True
        self._running = True
        self._player.play()

    def stop(self) -> None:
        """Pauses, so that starting again continues where it stopped."""
        self._running = False
        self._player.pause()

    @Slot(QMediaPlayer.Error, str)
    def _on_player_error(self, err: QMediaPlayer.Error, text: str) -> None:
        if err == QMediaPlayer.Error.NoError:
            return
        self._running = False
        self._fail(f"Cannot play {self.path.name}: {text or err.name}.")

    @Slot(QMediaPlayer.MediaStatus)
    def _on_status(self, status: QMediaPlayer.MediaStatus) -> None:
        if status == QMediaPlayer.MediaStatus.EndOfMedia:
            self._running = False
            self.ended.emit()
        elif status == QMediaPlayer.MediaStatus.InvalidMedia:
            self._running = False
            self._fail(f"{self.path.name} is not a video this computer can play.")


# --------------------------------------------------------------------------- widgets


class FrameView(QWidget):
    """Paints the latest frame scaled to fit, letterboxed on a dark background.

    Painting a QImage directly is cheaper than a QLabel pixmap and never changes
    the layout when the frame size changes.
    """

    def __init__(self, parent: QWidget | None = None, placeholder: str = "") -> None:
        super().__init__(parent)
        self._image = QImage()
        self.placeholder = placeholder
        self.setMinimumSize(240, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def set_frame(self, rgb: np.ndarray | None) -> None:
        self.set_image(rgb_to_qimage(rgb) if rgb is not None else QImage())

    def set_image(self, image: QImage) -> None:
        self._image = image
        self.update()

    def image(self) -> QImage:
        return self._image

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(480, 360)

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#1f2329"))
        if self._image.isNull():
            if self.placeholder:
                p.setPen(QColor("#c8ccd2"))
                p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        img = self._image.size()
        scaled = img.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        x = (self.width() - scaled.width()) / 2
        y = (self.height() - scaled.height()) / 2
        p.drawImage(QRectF(x, y, scaled.width(), scaled.height()), self._image)


class CameraDialog(QDialog):
    """Base of the dialogs with a live counter-camera preview and a camera selector.

    A subclass builds its own layout from :attr:`view`, :attr:`cameras` (in
    :meth:`camera_row`) and :attr:`message`, then calls :meth:`open_camera`; it hears
    frames in :meth:`frame_arrived` and failures in :meth:`source_failed`. ``source``
    replaces the camera (a video file or arrays in tests and the screenshot script).
    """

    no_camera_text = "Connect the counter camera and open this window again."

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._owned = True
        self._source: FrameSource | None = None
        self.view = FrameView(self, "Starting camera…")
        self.cameras = QComboBox()
        self.message = QLabel()
        self.message.setWordWrap(True)

    def camera_row(self) -> QHBoxLayout:
        top = QHBoxLayout()
        top.addWidget(QLabel("Camera:"))
        top.addWidget(self.cameras, 1)
        return top

    def open_camera(self, camera_id: str | None, source: FrameSource | None) -> None:
        self._owned = source is None
        if source is not None:
            self.cameras.addItem(source.name, "")
            self.cameras.setEnabled(False)
            self._use(source)
            return
        for cam_id, desc in list_cameras():
            self.cameras.addItem(desc, cam_id)
        if self.cameras.count() == 0:
            self.cameras.addItem("No camera found", "")
            self.cameras.setEnabled(False)
            self.view.placeholder = "No camera found"
            self.message.setText(self.no_camera_text)
        else:
            idx = max(0, self.cameras.findData(camera_id)) if camera_id else 0
            self.cameras.setCurrentIndex(idx)
            self._use(CameraSource(self.cameras.currentData(), parent=self))
            self.cameras.currentIndexChanged.connect(self._camera_changed)

    @property
    def camera_id(self) -> str:
        return str(self.cameras.currentData() or "")

    @property
    def source(self) -> FrameSource | None:
        return self._source

    def _use(self, source: FrameSource) -> None:
        if self._source is not None:
            self._source.stop()
            if self._owned:
                self._source.deleteLater()
        self._source = source
        source.frame.connect(self._on_frame)
        source.error.connect(self._on_error)
        source.start()

    @Slot(int)
    def _camera_changed(self, _index: int) -> None:
        self.source_failed("")
        self._use(CameraSource(self.cameras.currentData(), parent=self))

    @Slot(object)
    def _on_frame(self, rgb: np.ndarray) -> None:
        self.view.set_frame(rgb)
        self.frame_arrived(rgb)

    @Slot(str)
    def _on_error(self, msg: str) -> None:
        self.source_failed(msg)

    def frame_arrived(self, rgb: np.ndarray) -> None:
        """A new frame is on screen."""

    def source_failed(self, msg: str) -> None:
        """The source stopped (``msg`` says why), or another camera was chosen (``""``)."""
        self.message.setText(msg)

    def done(self, result: int) -> None:
        if self._source is not None:
            self._source.stop()
        super().done(result)


class CapturePhotoDialog(CameraDialog):
    """Live preview of a counter camera with "Take photo"; ``photo`` holds the result.

    Photos taken where the POS camera sits fix catalog-vs-counter differences, so
    the Products screen offers this next to "Add files".
    """

    no_camera_text = (
        "Connect the counter camera and open this window again, or add photos from files instead."
    )

    def __init__(
        self,
        parent: QWidget | None = None,
        camera_id: str | None = None,
        source: FrameSource | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Take a photo with the counter camera")
        self.photo: np.ndarray | None = None
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.take_button = buttons.addButton("Take photo", QDialogButtonBox.ButtonRole.AcceptRole)
        self.take_button.setEnabled(False)
        self.take_button.setDefault(True)
        buttons.accepted.connect(self._take)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(self.camera_row())
        lay.addWidget(self.view, 1)
        lay.addWidget(self.message)
        lay.addWidget(buttons)
        self.open_camera(camera_id, source)
        self.resize(560, 480)

    def frame_arrived(self, rgb: np.ndarray) -> None:
        if not self.take_button.isEnabled():
            self.take_button.setEnabled(True)
            self.take_button.setFocus()  # Enter or Space takes the photo
            self.message.clear()

    def source_failed(self, msg: str) -> None:
        self.take_button.setEnabled(False)
        self.message.setText(msg)

    @Slot()
    def _take(self) -> None:
        if self._source is not None and self._source.latest is not None:
            self.photo = self._source.latest.copy()
            self.accept()

    @classmethod
    def take_photo(
        cls, parent: QWidget | None = None, camera_id: str | None = None
    ) -> np.ndarray | None:
        """Modal convenience for the Products screen; ``None`` if cancelled."""
        dlg = cls(parent, camera_id)
        try:
            return dlg.photo if dlg.exec() == QDialog.DialogCode.Accepted else None
        finally:
            dlg.deleteLater()
