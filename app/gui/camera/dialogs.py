"""Dialogs with a live counter-camera preview: the base, timed captures, "Take photo".

:class:`CameraDialog` shows the camera (or a stand-in source) with a camera selector;
:class:`CaptureDialog` adds what every timed capture shares — Start, a picture taken
on a timer, a status line, a bar, one background step afterwards ("Show me your
counter", "Photograph the empty counter", "Teach a product"); :class:`CapturePhotoDialog`
takes one photo. :func:`open_camera_dialog` opens any of them the same way: the camera
stand-in of the moment, the remembered camera, and the camera chosen remembered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from PySide6.QtCore import QTimer, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from ..accessible import named
from ..fitting import resize_within_screen
from ..widgets import wrap_within
from .sources import CameraSource, FrameSource, list_cameras
from .view import FrameView

if TYPE_CHECKING:
    from ..tasks import Task, TaskRunner

D = TypeVar("D", bound="CameraDialog")


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
        self.view = named(FrameView(self, "Starting camera…"), "Camera picture")
        self.cameras = named(QComboBox(), "Camera")
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


class CaptureDialog(CameraDialog):
    """Start, then a picture every ``interval_s`` until the subclass has enough, then one
    background step (:meth:`run_after`) — the timed capture every capture dialog shares.

    A subclass lays out :attr:`view`, :attr:`status`, :attr:`bar`, :attr:`message` and
    :attr:`buttons` (with :attr:`start_button`) as it likes, says when it is ready
    (:meth:`ready_text`), resets in :meth:`begin` and takes each tick's new picture in
    :meth:`take` (``None``: the camera sent nothing new since the last tick).
    """

    enter_starts = False  # whether Enter starts once a picture is on screen (else typing)

    def __init__(
        self,
        runner: TaskRunner,
        parent: QWidget | None,
        interval_s: float,
        bar_steps: int,
        message_color: str,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.interval_s = float(interval_s)
        self.capturing = False
        self._last: np.ndarray | None = None  # the picture taken at the last tick
        self._task: Task | None = None  # the background step after the capture
        self.status = QLabel("Waiting for the camera…")
        self.status.setObjectName("subtitle")
        wrap_within(self.status)  # a long line in large text made the dialog 1,169 px wide
        self.bar = named(QProgressBar(), "Pictures taken")
        self.bar.setRange(0, bar_steps)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(10)
        self.message.setStyleSheet(f"color: {message_color};")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.start_button = self.buttons.addButton("Start", QDialogButtonBox.ButtonRole.ActionRole)
        self.start_button.setEnabled(False)
        self.start_button.clicked.connect(self.start)
        self.cancel_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.rejected.connect(self.reject)
        self._timer = QTimer(self, interval=max(1, round(1000 * self.interval_s)))
        self._timer.timeout.connect(self._tick)

    # -- what a subclass says and does ----------------------------------------------
    def ready_text(self) -> str:
        """The status line once the camera delivers: what to do after Start."""
        raise NotImplementedError

    def idle(self) -> bool:
        """Ready for Start: not capturing, no background step, nothing to look at."""
        return not self.capturing and self._task is None

    def begin(self) -> None:
        """Start (or start again): drop what an earlier capture of this dialog took."""

    def take(self, rgb: np.ndarray | None) -> None:
        """One tick: ``rgb`` is the camera's newest picture, or None when nothing new
        came since the last tick; call :meth:`stop_capture` once there are enough."""
        raise NotImplementedError

    # -- the shared steps -----------------------------------------------------------
    @property
    def busy(self) -> bool:
        """The background step after the capture is running."""
        return self._task is not None

    def frame_arrived(self, rgb: np.ndarray) -> None:
        if self.idle() and not self.start_button.isEnabled():
            self.start_button.setEnabled(True)
            if self.enter_starts:  # made default only now: a disabled default button
                self.start_button.setDefault(True)  # passed it on to Cancel, and Enter
                self.start_button.setFocus()  # closed the dialog
            self.status.setText(self.ready_text())

    def source_failed(self, msg: str) -> None:
        self.stop_capture()
        self.start_button.setEnabled(False)
        self.message.setText(msg)

    @Slot()
    def start(self) -> None:
        """Take pictures until :meth:`take` has enough (again: earlier ones dropped)."""
        if self._source is None or self._task is not None:
            return
        self._last = None
        self.begin()
        self.capturing = True
        self.message.clear()
        self.start_button.setEnabled(False)
        self._timer.start()
        self._tick()  # the first picture at once

    @Slot()
    def _tick(self) -> None:
        if not self.capturing or self._source is None:
            return
        rgb = self._source.latest
        fresh = rgb is not None and rgb is not self._last
        if fresh:
            self._last = rgb
        self.take(rgb if fresh else None)

    def stop_capture(self) -> None:
        self._timer.stop()
        self.capturing = False

    def run_after(
        self,
        name: str,
        work: Callable[[Any, Any], Any],
        succeeded: Callable[[Any], None],
        failed: Callable[[Any], None],
    ) -> Task:
        """The background step after the capture (on the task runner's ``name``): one
        of ``succeeded(result)`` or ``failed(TaskError | None)`` (None: cancelled)
        follows, each only while it is still this dialog's step."""
        task = self.runner.start(name, work)
        self._task = task

        def finished(outcome: Callable[[], None]) -> None:
            if task is self._task:
                self._task = None
                outcome()

        task.succeeded.connect(lambda r: finished(lambda: succeeded(r)))
        task.failed.connect(lambda e: finished(lambda: failed(e)))
        task.cancelled.connect(lambda: finished(lambda: failed(None)))
        return task

    def done(self, result: int) -> None:
        self.stop_capture()
        super().done(result)


class CapturePhotoDialog(CameraDialog):
    """Live preview of a counter camera with "Take photo"; ``photo`` holds the result.

    Photos taken where the POS camera sits fix catalogue-vs-counter differences, so
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
        resize_within_screen(self, 560, 480)

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


def open_camera_dialog(
    make: Callable[[FrameSource | None, str | None], D],
    *,
    stand_in: Callable[[], FrameSource] | None,
    settings: Any,
    accepted: Callable[[D], None],
    remember_camera: bool = True,
) -> D:
    """Open a camera dialog the one way: ``make(source, camera_id)`` builds it with the
    camera stand-in of the moment (tests, the screenshot script; None: the counter
    camera) and the camera chosen last (``settings.camera_id``; ``settings`` None: no
    memory); ``accepted(dialog)`` runs when the owner accepts it, and the camera chosen
    then is remembered."""
    source = stand_in() if stand_in is not None else None
    dlg = make(source, (settings.camera_id if settings is not None else "") or None)
    if source is not None:
        source.setParent(dlg)

    def on_accepted() -> None:
        accepted(dlg)
        if remember_camera and settings is not None and source is None and dlg.camera_id:
            settings.camera_id = dlg.camera_id
            settings.save()

    dlg.accepted.connect(on_accepted)
    dlg.finished.connect(dlg.deleteLater)
    dlg.open()
    return dlg
