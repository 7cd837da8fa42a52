"""Frame sources: the numpy conversion, a Qt-written video played back, no-camera errors.

The video is written at test time with Qt's own recorder from real grocery photos,
then decoded through QMediaPlayer → QVideoSink exactly as a webcam would be.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from camera_standins import ArraySource, capture_still, write_video
from PySide6.QtGui import QImage

from app.core.images import load_rgb
from app.gui.camera.dialogs import CapturePhotoDialog
from app.gui.camera.images import qimage_to_rgb, rgb_to_qimage
from app.gui.camera.sources import CameraSource, FrameSourceError, VideoFileSource, list_cameras

SIZE = (320, 240)
PER_IMAGE = 5  # frames per photo in the test video


def _resized(rgb: np.ndarray) -> np.ndarray:
    img = rgb_to_qimage(rgb).scaled(*SIZE)  # same IgnoreAspectRatio scaling as write_video
    return qimage_to_rgb(img).astype(np.int16)


@pytest.fixture(scope="module")
def photos(grocery: Path) -> list[np.ndarray]:
    """Three visibly different real products."""
    picks = ["Fruit/Banana", "Vegetables/Tomato", "Fruit/Kiwi"]
    out = []
    for sub in picks:
        first = sorted((grocery / "test" / sub).rglob("*.jpg"))[0]
        out.append(load_rgb(first))
    return out


@pytest.fixture(scope="module")
def video(qapp, photos, tmp_path_factory) -> Path:
    frames = [p for p in photos for _ in range(PER_IMAGE)]
    return write_video(frames, tmp_path_factory.mktemp("video") / "counter.mp4", fps=10, size=SIZE)


def test_qimage_roundtrip_handles_row_padding_and_formats():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, size=(17, 33, 3), dtype=np.uint8)  # 99-byte rows are padded
    img = rgb_to_qimage(rgb)
    assert img.bytesPerLine() > 33 * 3
    assert np.array_equal(qimage_to_rgb(img), rgb)
    argb = img.convertToFormat(QImage.Format.Format_RGB32)
    back = qimage_to_rgb(argb)
    assert back.dtype == np.uint8 and back.shape == (17, 33, 3)
    assert np.array_equal(back, rgb)
    with pytest.raises(ValueError):
        rgb_to_qimage(np.zeros((4, 4), np.uint8))


def test_array_source_emits_in_order_read_only_then_ends(qtbot):
    frames = [np.full((8, 8, 3), i, np.uint8) for i in range(4)]
    src = ArraySource(frames, fps=100, loop=False)
    got: list[np.ndarray] = []
    src.frame.connect(got.append)
    with qtbot.waitSignal(src.ended, timeout=3000):
        src.start()
    assert [int(f[0, 0, 0]) for f in got] == [0, 1, 2, 3]
    assert not got[0].flags.writeable
    assert src.latest is got[-1] and not src.running


def test_video_file_source_decodes_the_recorded_photos(qtbot, video, photos):
    src = VideoFileSource(video, loop=False)
    got: list[np.ndarray] = []
    src.frame.connect(got.append)
    errors: list[str] = []
    src.error.connect(errors.append)
    with qtbot.waitSignal(src.ended, timeout=20000):
        src.start()
    assert not errors
    assert len(got) == len(photos) * PER_IMAGE
    assert all(f.shape == (SIZE[1], SIZE[0], 3) and f.dtype == np.uint8 for f in got)
    # Each segment shows its own photo (lossy codec: small error) and not the others.
    for i in range(len(photos)):
        frame = got[i * PER_IMAGE + PER_IMAGE // 2].astype(np.int16)
        errs = [np.abs(frame - _resized(p)).mean() for p in photos]
        assert errs[i] < 12, errs
        assert errs[i] == min(errs) and sorted(errs)[1] > 2 * errs[i], errs


def test_video_file_source_loops_like_a_live_feed(qtbot, video, photos):
    src = VideoFileSource(video, loop=True)
    n = len(photos) * PER_IMAGE
    count = [0]
    src.frame.connect(lambda _f: count.__setitem__(0, count[0] + 1))
    src.start()
    qtbot.waitUntil(lambda: count[0] > n + 3, timeout=20000)
    src.stop()
    assert not src.running


def test_missing_and_broken_video_files_report_errors(qtbot, tmp_path):
    missing = VideoFileSource(tmp_path / "nope.mp4")
    with qtbot.waitSignal(missing.error, timeout=3000) as sig:
        missing.start()
    assert "not found" in sig.args[0]
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"this is not a video" * 100)
    src = VideoFileSource(broken)
    with qtbot.waitSignal(src.error, timeout=10000) as sig:
        src.start()
    assert "broken.mp4" in sig.args[0]


def test_no_camera_is_an_error_signal_not_a_crash(qtbot):
    if list_cameras():
        pytest.skip("a camera is attached to this machine")
    src = CameraSource()
    assert src.device is None
    with qtbot.waitSignal(src.error, timeout=3000) as sig:
        src.start()
    assert sig.args[0] == "No camera found."
    with pytest.raises(FrameSourceError, match="No camera"):
        capture_still(CameraSource())


@pytest.mark.parametrize("answer", ["denied", "asked-then-denied", "asked-then-granted"])
def test_a_camera_the_system_does_not_allow_is_said_so(qtbot, monkeypatch, answer: str):
    """macOS asks the owner before an app may use the camera (Qt 6.5+); without asking,
    the camera stayed black (a portability audit). Asked and granted, it goes on to the
    camera (here: none); refused, the owner reads where to allow it."""
    from PySide6.QtCore import QCoreApplication, Qt

    from app.gui.camera.sources import CAMERA_DENIED

    state = {"status": Qt.PermissionStatus.Undetermined, "asked": 0}
    if answer == "denied":
        state["status"] = Qt.PermissionStatus.Denied

    def request(self, permission, context, functor) -> None:  # noqa: ANN001
        state["asked"] += 1
        state["status"] = (
            Qt.PermissionStatus.Granted
            if answer.endswith("granted")
            else Qt.PermissionStatus.Denied
        )
        functor(permission)

    monkeypatch.setattr(QCoreApplication, "checkPermission", lambda self, p: state["status"])
    monkeypatch.setattr(QCoreApplication, "requestPermission", request)
    src = CameraSource()
    with qtbot.waitSignal(src.error, timeout=3000) as sig:
        src.start()
    granted = answer.endswith("granted")
    assert sig.args[0] == ("No camera found." if granted else CAMERA_DENIED)
    assert state["asked"] == (0 if answer == "denied" else 1)


def test_capture_still_from_video_and_running_source(qtbot, video):
    src = VideoFileSource(video)
    still = capture_still(src, timeout_s=15)
    assert still.shape == (SIZE[1], SIZE[0], 3) and still.flags.writeable
    assert not src.running  # started only for the photo
    frames = [np.full((6, 6, 3), 7, np.uint8), np.full((6, 6, 3), 9, np.uint8)]
    arr = ArraySource(frames, fps=50)
    arr.start()
    qtbot.waitUntil(lambda: arr.latest is not None, timeout=2000)
    still = capture_still(arr)
    assert arr.running and int(still[0, 0, 0]) in (7, 9)
    still[0, 0, 0] = 0  # a copy: the shared frame is untouched
    assert int(arr.latest[0, 0, 0]) in (7, 9)
    arr.stop()


def test_capture_dialog_takes_the_current_frame(qtbot):
    frames = [np.full((24, 32, 3), (200, 10, 10), np.uint8)]
    src = ArraySource(frames, fps=30)
    dlg = CapturePhotoDialog(source=src)
    qtbot.addWidget(dlg)
    dlg.show()
    assert not dlg.take_button.isEnabled()
    qtbot.waitUntil(dlg.take_button.isEnabled, timeout=3000)
    with qtbot.waitSignal(dlg.accepted, timeout=2000):
        dlg.take_button.click()
    assert dlg.photo is not None and dlg.photo.shape == (24, 32, 3)
    assert tuple(dlg.photo[0, 0]) == (200, 10, 10)
    assert not src.running


def test_capture_dialog_without_camera_explains(qtbot):
    if list_cameras():
        pytest.skip("a camera is attached to this machine")
    dlg = CapturePhotoDialog()
    qtbot.addWidget(dlg)
    assert not dlg.take_button.isEnabled()
    assert not dlg.cameras.isEnabled()
    assert "files" in dlg.message.text()
