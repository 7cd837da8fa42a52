""" "Teach a product…": about 10 varied pictures of one product, accepted or dropped.

The owner picks the product, holds it in front of the counter camera (or chooses a
video of it: :class:`~app.gui.camera.sources.VideoFileSource`) and presses Start; for a
few seconds the dialog takes the newest picture several times a second while asking to
turn the product (the timed capture of :class:`~app.gui.camera.dialogs.CaptureDialog`).
The core keeps the varied sharp ones (:func:`app.core.flows.teach.pick_frames`: blurred,
dark, blank and near-duplicate pictures are left out with their reason);
the owner unticks any that show something else, and the Test screen's
:class:`~.correct.CorrectPanel` stores and teaches the rest.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from threading import Event
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QSize, Qt, Slot
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QCompleter,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ...accessible import named
from ...camera.dialogs import CaptureDialog
from ...camera.images import rgb_to_qimage
from ...camera.sources import VIDEO_FILTER, FrameSource, VideoFileSource
from ...fitting import resize_within_screen

if TYPE_CHECKING:
    from app.core.flows.teach import PickedFrames

    from ...tasks import TaskError, TaskRunner
    from .choices import Choice

WANT = 10  # pictures kept of one product
MAX_BURST = 40  # pictures looked at, at most (memory: a 1080p frame is 6 MB)
THUMB = 104
# What the owner is asked to do, in turn, while the pictures are taken.
PROMPTS = (
    "Hold it still, its front to the camera",
    "Turn it slowly to one side",
    "Now slowly to the other side",
    "Tilt it a little towards the camera",
    "Turn it round: show the back",
)


class TeachDialog(CaptureDialog):
    """Product, live view, Start; then the kept pictures to accept or drop.

    ``accepted_frames()`` and ``product_id`` are what the owner accepted.
    """

    no_camera_text = (
        "No camera found. Choose a video of the product instead (“Video file…”), or "
        "connect the counter camera and open this window again."
    )

    def __init__(
        self,
        choices: list[Choice],
        runner: TaskRunner,
        parent: QWidget | None = None,
        product_id: str | None = None,
        camera_id: str | None = None,
        source: FrameSource | None = None,
        interval_s: float = 0.15,
        capture_s: float = 4.0,
        want: int = WANT,
    ) -> None:
        super().__init__(runner, parent, interval_s, 1000, "#7a5200")
        self.setWindowTitle("Teach a product")
        self.capture_s = float(capture_s)
        self.want = int(want)
        self.burst: list[np.ndarray] = []
        self.picked: PickedFrames | None = None
        self._t0 = 0.0

        self.intro = QLabel(
            f"Choose the product, hold it in front of the camera and press <b>Start</b>. "
            f"For about {self.capture_s:.0f} seconds the camera takes pictures while you "
            f"turn the product slowly; about {self.want} different sharp ones are kept."
        )
        self.intro.setWordWrap(True)
        self.product = named(QComboBox(), "Product")
        self.product.setEditable(True)
        self.product.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.product.lineEdit().setPlaceholderText("Type to search the shop's products")
        for c in choices:
            text = c.name if not c.note else f"{c.name} ({c.note})"
            self.product.addItem(text, c.product_id)
        completer = QCompleter(self.product.model(), self.product)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.product.setCompleter(completer)
        self.product.setCurrentIndex(-1)
        if product_id is not None:
            self.select_product(product_id)
        self.product.currentIndexChanged.connect(lambda _i: self._update_buttons())
        self.product.editTextChanged.connect(lambda _t: self._update_buttons())
        product_row = QHBoxLayout()
        product_row.addWidget(QLabel("Product:"))
        product_row.addWidget(self.product, 1)

        self.video_button = QPushButton("Video file…")
        self.video_button.setToolTip("Teach from a video of the product instead of the camera")
        self.video_button.clicked.connect(self.choose_video)
        camera_row = self.camera_row()
        camera_row.addWidget(self.video_button)

        self.kept = named(QListWidget(), "Pictures taken")
        self.kept.setViewMode(QListView.ViewMode.IconMode)
        self.kept.setIconSize(QSize(THUMB, THUMB))
        self.kept.setResizeMode(QListView.ResizeMode.Adjust)
        self.kept.setMovement(QListView.Movement.Static)
        self.kept.setSpacing(4)
        self.kept.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.kept.itemChanged.connect(lambda _it: self._update_buttons())
        self.pages = QStackedWidget()
        self.pages.addWidget(self.view)
        self.pages.addWidget(self.kept)

        self.status.setWordWrap(True)
        self.teach_button = self.buttons.addButton("Teach", QDialogButtonBox.ButtonRole.AcceptRole)
        self.teach_button.clicked.connect(self._accept)

        lay = QVBoxLayout(self)
        lay.addWidget(self.intro)
        lay.addLayout(product_row)
        lay.addLayout(camera_row)
        lay.addWidget(self.pages, 1)
        lay.addWidget(self.status)
        lay.addWidget(self.bar)
        lay.addWidget(self.message)
        lay.addWidget(self.buttons)
        self.open_camera(camera_id, source)
        self._update_buttons()
        resize_within_screen(self, 640, 580)

    # -- product ------------------------------------------------------------------
    @property
    def product_id(self) -> str | None:
        """The product chosen (typed text must match a product's line exactly)."""
        i = self.product.findText(self.product.currentText(), Qt.MatchFlag.MatchExactly)
        return None if i < 0 else str(self.product.itemData(i))

    def select_product(self, product_id: str) -> None:
        i = self.product.findData(product_id)
        if i >= 0:
            self.product.setCurrentIndex(i)

    # -- sources ------------------------------------------------------------------
    @Slot()
    def choose_video(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Teach from a video file", "", VIDEO_FILTER)
        if path:
            self.use_video(path)

    def use_video(self, path: Path | str) -> None:
        """Play a video of the product as if it were the camera (looping)."""
        self.stop_capture()
        source = VideoFileSource(path, parent=self)
        self.cameras.blockSignals(True)  # choosing the video is not choosing a camera
        self.cameras.addItem(source.name, "")
        self.cameras.setCurrentIndex(self.cameras.count() - 1)
        self.cameras.blockSignals(False)
        self.cameras.setEnabled(False)
        self.message.clear()
        self.start_button.setEnabled(False)
        self.status.setText("Opening the video…")
        self._owned = True
        self._use(source)
        self._show_page(live=True)

    def ready_text(self) -> str:
        return "Ready: press Start, then turn the product slowly in front of the camera."

    def idle(self) -> bool:
        return super().idle() and self.picked is None

    def begin(self) -> None:
        """Take pictures for ``capture_s`` (again: the earlier ones are dropped)."""
        if self.picked is not None:  # "Take again": back to the live view first
            self.picked = None
            self.kept.clear()
            self._show_page(live=True)
        self.burst.clear()
        self._t0 = time.monotonic()
        self._update_buttons()

    def take(self, rgb: np.ndarray | None) -> None:
        elapsed = time.monotonic() - self._t0
        if rgb is not None and len(self.burst) < MAX_BURST:
            self.burst.append(rgb)  # read-only frames, never changed by the source: no copy
        step = min(len(PROMPTS) - 1, int(len(PROMPTS) * elapsed / max(self.capture_s, 1e-3)))
        self.status.setText(f"{PROMPTS[step]}… ({len(self.burst)} pictures)")
        self.bar.setValue(min(1000, round(1000 * elapsed / max(self.capture_s, 1e-3))))
        if elapsed >= self.capture_s or len(self.burst) >= MAX_BURST:
            self._pick()

    def _pick(self) -> None:
        from app.core.flows.teach import pick_frames

        self.stop_capture()
        burst, want = list(self.burst), self.want
        self.status.setText(f"Choosing the best of {len(burst)} pictures…")

        def work(_on_progress: Any, _cancel: Event) -> PickedFrames:
            return pick_frames(burst, want)

        self.run_after("teach-pick", work, self._picked, self._pick_failed)

    def _picked(self, picked: PickedFrames) -> None:
        self.bar.setValue(1000)
        reasons = Counter(why for _, why in picked.refused)
        left_out = "; ".join(f"{n} {why}" for why, n in reasons.most_common())
        total = len(picked.kept) + len(picked.refused)
        self.start_button.setText("Take again")
        self.start_button.setEnabled(True)
        if not picked.kept:
            self.status.setText(f"None of the {total} pictures can be used.")
            self.message.setText(f"Left out: {left_out}." if left_out else "")
            return
        self.picked = picked
        self.kept.blockSignals(True)
        for i, rgb in enumerate(picked.kept):
            step = max(1, max(rgb.shape[:2]) // (2 * THUMB))
            item = QListWidgetItem(QIcon(QPixmap.fromImage(rgb_to_qimage(rgb[::step, ::step]))), "")
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            item.setToolTip(f"Picture {i + 1}: untick it if it does not show the product")
            self.kept.addItem(item)
        self.kept.blockSignals(False)
        self._show_page(live=False)
        n = len(picked.kept)
        self.status.setText(
            f"Kept {n} of {total} pictures. Untick any that do not show the product, then "
            "press Teach."
        )
        self.message.setText(f"Left out: {left_out}." if left_out else "")
        self._update_buttons()

    def _pick_failed(self, err: TaskError | None) -> None:
        self.start_button.setEnabled(True)
        self.status.setText("The pictures could not be looked at.")
        self.message.setText(err.message if err is not None else "Cancelled.")

    def _show_page(self, live: bool) -> None:
        self.pages.setCurrentWidget(self.view if live else self.kept)

    # -- result -------------------------------------------------------------------
    def accepted_frames(self) -> list[np.ndarray]:
        if self.picked is None:
            return []
        return [
            f
            for i, f in enumerate(self.picked.kept)
            if self.kept.item(i).checkState() == Qt.CheckState.Checked
        ]

    def _update_buttons(self) -> None:
        n = len(self.accepted_frames())
        self.teach_button.setText(f"Teach {n} picture{'s' if n != 1 else ''}" if n else "Teach")
        self.teach_button.setEnabled(n > 0 and self.product_id is not None)
        if n and self.product_id is None:
            self.teach_button.setToolTip("Choose the product first")
        else:
            self.teach_button.setToolTip("")

    @Slot()
    def _accept(self) -> None:
        if self.accepted_frames() and self.product_id is not None:
            self.accept()

    def done(self, result: int) -> None:
        if self._task is not None:
            self._task.cancel()  # its answer is not wanted any more
            self._task = None
        super().done(result)
