"""Where live pictures come from: a webcam or a video file, behind one signal.

Every source emits the same thing, ``frame(np.ndarray)`` with an ``H×W×3`` uint8 RGB
array, so the Test screen and the capture dialogs never care whether a real counter
camera is attached. There is no camera on CI machines; a video file played through
:class:`VideoFileSource` stands in for it, which keeps the tested path the same as
the real one: ``QVideoSink`` → ``QVideoFrame.toImage()`` → numpy.

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
    QCameraPermission,
    QCoreApplication,
    QObject,
    QPermission,
    Qt,
    QTimer,
    QUrl,
    Signal,
    Slot,
)
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

from app.core.errors import TrainerError

from .images import qimage_to_rgb, readonly

log = logging.getLogger(__name__)

CAMERA_DENIED = (
    "This computer does not let the trainer use the camera. Allow it in the system's "
    "privacy settings (macOS: System Settings → Privacy & Security → Camera), then open "
    "this window again."
)
# A camera that delivers nothing this long after start is reported (busy, unplugged...).
NO_FRAME_TIMEOUT_MS = 6000
# Preferred camera resolution: the model sees 256×256, the preview needs little more.
PREFERRED_WIDTH = 640


class FrameSourceError(TrainerError):
    """A camera or video cannot deliver pictures; the message says what to do."""


# What the file dialogs of "Video file…" offer (the Test screen, "Teach a product…").
VIDEO_FILTER = "Videos (*.mp4 *.m4v *.mov *.avi *.mkv *.webm *.mpg *.mpeg *.wmv);;All files (*)"


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
    model only sees 256×256.
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
        rgb = readonly(rgb)
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
        self.camera_id = bytes(dev.id().data()).decode(errors="replace") if dev else ""
        self._camera: QCamera | None = None
        self._session = QMediaCaptureSession(self)
        self._session.setVideoSink(self._sink)
        self._watchdog = QTimer(self, singleShot=True, interval=NO_FRAME_TIMEOUT_MS)
        self._watchdog.timeout.connect(self._no_frames)
        self.frame.connect(self._watchdog.stop)

    def start(self) -> None:
        if self._running:
            return
        # macOS asks the owner first (Qt 6.5+): without asking, the camera stayed black
        # (a portability audit); elsewhere the answer is "granted" at once
        app, permission = QCoreApplication.instance(), QCameraPermission()
        status = app.checkPermission(permission) if app is not None else None
        if status == Qt.PermissionStatus.Denied:  # queued: listeners connected after start()
            QTimer.singleShot(0, self, lambda: self._fail(CAMERA_DENIED))
            return
        if status == Qt.PermissionStatus.Undetermined and app is not None:
            app.requestPermission(permission, self, self._answered)
            return
        if self.device is None or self.device.isNull():
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

    def _answered(self, permission: QPermission) -> None:
        app = QCoreApplication.instance()
        if app is not None and app.checkPermission(permission) == Qt.PermissionStatus.Granted:
            self.start()
        else:
            self._fail(CAMERA_DENIED)

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
