"""Camera stand-ins for tests, benchmarks and the screenshot script (not shipped).

This machine has no camera: ``write_video`` encodes frames with Qt's own recorder
and ``VideoFileSource`` plays them back; ``ArraySource`` emits given arrays;
``capture_still`` grabs one frame from any source. Kept out of ``app/gui/camera/``
so the app carries only what it runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEventLoop, QObject, QSize, Qt, QTimer, QUrl, Slot
from PySide6.QtGui import QImage
from PySide6.QtMultimedia import (
    QMediaCaptureSession,
    QMediaFormat,
    QMediaRecorder,
    QVideoFrame,
    QVideoFrameInput,
)

from app.gui.camera.images import readonly, rgb_to_qimage
from app.gui.camera.sources import FrameSource, FrameSourceError


class ArraySource(FrameSource):
    """Emits given arrays at ``fps`` from a QTimer; for tests and demos."""

    def __init__(
        self,
        frames: Sequence[np.ndarray],
        fps: float = 10.0,
        loop: bool = True,
        name: str = "Frames",
        parent: QObject | None = None,
    ) -> None:
        super().__init__(name, None, parent)
        if not frames:
            raise ValueError("ArraySource needs at least one frame")
        self._frames = [readonly(np.ascontiguousarray(f, dtype=np.uint8)) for f in frames]
        self.loop = loop
        self._index = 0
        self._timer = QTimer(self, interval=max(1, round(1000 / fps)))
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        if not self._running:
            self._running = True
            self._timer.start()

    def stop(self) -> None:
        self._running = False
        self._timer.stop()

    @Slot()
    def _tick(self) -> None:
        if self._index >= len(self._frames):
            if not self.loop:
                self.stop()
                self.ended.emit()
                return
            self._index = 0
        frame = self._frames[self._index]
        self._index += 1
        self._deliver(frame)


def capture_still(source: FrameSource, timeout_s: float = 5.0) -> np.ndarray:
    """One current frame of ``source`` as a writable copy.

    A running source answers at once with its latest frame; otherwise the source is
    started just long enough to deliver one (a local event loop keeps the UI alive
    meanwhile). Raises :class:`FrameSourceError` with a readable message.
    """
    if source.running and source.latest is not None:
        return source.latest.copy()
    loop = QEventLoop()
    got: list[np.ndarray] = []
    failed: list[str] = []

    def on_frame(rgb: np.ndarray) -> None:
        got.append(rgb)
        loop.quit()

    def on_error(msg: str) -> None:
        failed.append(msg)
        loop.quit()

    was_running = source.running
    source.frame.connect(on_frame)
    source.error.connect(on_error)
    timer = QTimer(singleShot=True, interval=round(timeout_s * 1000))
    timer.timeout.connect(loop.quit)
    try:
        source.start()
        timer.start()
        if not got and not failed:
            loop.exec()
    finally:
        timer.stop()
        source.frame.disconnect(on_frame)
        source.error.disconnect(on_error)
        if not was_running:
            source.stop()
    if got:
        return got[0].copy()
    if failed:
        raise FrameSourceError(failed[0])
    raise FrameSourceError(f"No picture from {source.name} within {timeout_s:g} s.")


# --------------------------------------------------------------------------- writing


def write_video(
    frames: Sequence[np.ndarray],
    path: Path | str,
    fps: float = 10.0,
    size: tuple[int, int] = (320, 240),
    codec: str = "mpeg4",
    timeout_s: float = 60.0,
) -> Path:
    """Encode RGB frames into a video file with Qt's own recorder (no ffmpeg CLI).

    This is how tests, benchmarks and the screenshot script make a camera stand-in.
    Frames are fed from a timer as the encoder asks for them: pushing in a tight
    loop silently drops frames. ``codec`` is ``"mpeg4"`` (.mp4) or ``"mjpeg"`` (.avi);
    this FFmpeg build has no H.264 encoder.
    """
    out = Path(path).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    images = [
        rgb_to_qimage(f)
        .scaled(
            w, h, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        .convertToFormat(QImage.Format.Format_RGBX8888)
        for f in frames
    ]
    if not images:
        raise ValueError("write_video needs at least one frame")
    file_format, video_codec = {
        "mpeg4": (QMediaFormat.FileFormat.MPEG4, QMediaFormat.VideoCodec.MPEG4),
        "mjpeg": (QMediaFormat.FileFormat.AVI, QMediaFormat.VideoCodec.MotionJPEG),
    }[codec]
    media_format = QMediaFormat(file_format)
    media_format.setVideoCodec(video_codec)

    session = QMediaCaptureSession()
    # No QVideoFrameFormat here: with one, sendVideoFrame() refuses every QImage frame.
    frame_input = QVideoFrameInput()
    session.setVideoFrameInput(frame_input)
    recorder = QMediaRecorder()
    session.setRecorder(recorder)
    recorder.setMediaFormat(media_format)
    recorder.setVideoResolution(QSize(w, h))
    recorder.setVideoFrameRate(fps)
    recorder.setQuality(QMediaRecorder.Quality.VeryHighQuality)
    recorder.setOutputLocation(QUrl.fromLocalFile(str(out)))

    loop = QEventLoop()
    errors: list[str] = []
    sent = 0
    frame_us = round(1_000_000 / fps)
    pump = QTimer(interval=5)

    def push() -> None:
        nonlocal sent
        if sent >= len(images):
            pump.stop()
            recorder.stop()
            return
        vf = QVideoFrame(images[sent])
        vf.setStartTime(sent * frame_us)
        vf.setEndTime((sent + 1) * frame_us)
        vf.setStreamFrameRate(fps)
        if frame_input.sendVideoFrame(vf):
            sent += 1

    def on_state(state: QMediaRecorder.RecorderState) -> None:
        if state == QMediaRecorder.RecorderState.StoppedState:
            loop.quit()

    def on_error(_err: QMediaRecorder.Error, text: str) -> None:
        errors.append(text)
        loop.quit()

    recorder.recorderStateChanged.connect(on_state)
    recorder.errorOccurred.connect(on_error)
    pump.timeout.connect(push)
    deadline = QTimer(singleShot=True, interval=round(timeout_s * 1000))
    deadline.timeout.connect(loop.quit)
    recorder.record()
    pump.start()
    deadline.start()
    loop.exec()
    pump.stop()
    deadline.stop()
    if recorder.recorderState() != QMediaRecorder.RecorderState.StoppedState:
        recorder.stop()
    if errors:
        raise FrameSourceError(f"Could not write {out.name}: {errors[0]}")
    if sent < len(images) or not out.is_file() or out.stat().st_size == 0:
        raise FrameSourceError(f"Could not write {out.name}: only {sent}/{len(images)} frames.")
    return out
