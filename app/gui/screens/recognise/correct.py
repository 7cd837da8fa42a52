"""Right / No, it is… under every Test-screen answer, and "Teach a product…".

The cashier's choice labels the frame: it (and on a live camera or video a few
neighbouring sharp frames) becomes an added photo of the chosen product and the
model on this computer is updated in place, in one background task
(:func:`app.core.flows.teach.teach_at_the_counter`). Corrections made while one is
being taught wait their turn (:mod:`.teach_queue`), so the buttons stay on. The Test
screen reloads the model when :attr:`CorrectPanel.taught` fires. Frames refused by the
core (dark, blank, blurred) say why here and are never stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from threading import Event
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ...tasks import Task, TaskError, TaskRunner
from ...widgets import ProgressPanel
from .choices import first_photos, product_choices
from .picker import ProductPicker
from .teach_queue import Correction, TeachQueue
from .thumbs import ProductThumbnails

if TYPE_CHECKING:
    from app.core.flows.open_source import Catalogue, ChannelStore
    from app.core.flows.teach import Taught

    from ...camera.sources import FrameSource

log = logging.getLogger(__name__)

NEIGHBOURS = 3  # a live correction also keeps up to this many sharp neighbouring frames


class CorrectPanel(QWidget):
    """ "Is it right? [Right] [No, it is…]", "Teach a product…", and what the last
    correction did. The Test screen feeds it each answer with :meth:`set_current`."""

    taught = Signal(object)  # Taught (app.core.flows.teach), after the files are written
    camera_busy = Signal(bool)  # True while the teach dialog uses the camera
    message = Signal(str, str)  # what a correction did (text, "ok" / "warn" / "error")

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.store: ChannelStore | None = None
        self.model_dir: Path | None = None
        self.labels: list[str] = []
        self.names: dict[str, str] = {}  # the shop's products now (empty: not known)
        self.weights: Path | None = None  # the base weights chosen in Advanced, if any
        self.display: Callable[[str], str] = lambda pid: self.names.get(pid) or pid
        self.settings: Any = None  # app.core.paths.Settings: the camera chosen last
        # the open shop's catalogue as training sees it (its products' first photos)
        self.catalogue: Callable[[], Catalogue | None] = lambda: None
        # tests and the screenshot script: a factory of the teach dialog's FrameSource
        self.camera_stand_in: Callable[[], FrameSource] | None = None
        self.teach_interval_s = 0.15  # the teach dialog's pause between pictures
        self.teach_capture_s = 4.0  # …and how long it takes them
        self._frame: np.ndarray | None = None
        self._top: list[tuple[str, float]] = []
        self._neighbours: list[np.ndarray] = []
        self.queue = TeachQueue(runner, self)
        self.queue.started.connect(self._started)
        self.queue.taught.connect(self._done)
        self.queue.failed.connect(self._failed)
        self.queue.dropped.connect(self._dropped)
        self.queue.waiting_changed.connect(self._show_waiting)
        self.thumbnails = ProductThumbnails(runner, parent=self)
        self.picker: ProductPicker | None = None
        self.teach_dialog: QDialog | None = None
        self.last_message = ""

        self.question = QLabel("Is it right?")
        self.right_button = QPushButton("Right")
        self.right_button.setToolTip(
            "Yes: keep this picture as a photo of the product and strengthen the model"
        )
        self.right_button.clicked.connect(self.confirm_right)
        self.wrong_button = QPushButton("No, it is…")
        self.wrong_button.setToolTip("Choose the right product: the model learns it at once")
        self.wrong_button.clicked.connect(self.choose_product)
        self.teach_button = QPushButton("Teach a product…")
        self.teach_button.setToolTip(
            "Hold a product in front of the camera (or choose a video): about 10 pictures "
            "teach it to the model"
        )
        self.teach_button.clicked.connect(lambda: self.open_teach_dialog())
        self.progress = ProgressPanel(self)
        self.progress.cancel_requested.connect(self.queue.cancel_running)
        self.waiting_label = QLabel()
        self.waiting_label.setObjectName("hint")
        self.waiting_label.setToolTip(
            "Corrections are taught one at a time, in the order you made them"
        )
        self.waiting_label.hide()
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.question)
        row.addStretch(1)
        row.addWidget(self.right_button)
        row.addWidget(self.wrong_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 4, 0, 4)
        lay.addLayout(row)
        lay.addWidget(self.progress)
        lay.addWidget(self.waiting_label)
        # the screen places teach_button (under the picture) and shows `message` in its
        # banner: the narrow panel has no room for a sentence at 800x600
        self._update_buttons()

    # -- what the screen tells us ----------------------------------------------------
    def set_store(self, store: ChannelStore | None) -> None:
        self.store = store
        self._update_buttons()

    def set_model(self, model_dir: Path | None, labels: Sequence[str]) -> None:
        """A model was loaded (None: none, or it could not be): waiting corrections go on."""
        self.model_dir = model_dir
        self.labels = list(labels)
        self._update_buttons()
        self.queue.resume()
        if model_dir is not None:  # the first correction then stays within its 2 s
            weights = self.weights

            def warm(_on_progress: Any, _cancel: Event) -> bool:
                from app.core.flows.teach import prepare_teaching

                return prepare_teaching(model_dir, weights)

            self.runner.start("teach-prepare", warm)

    def model_loading(self) -> None:
        """The Test screen reads the model's files again: corrections wait meanwhile."""
        self.queue.pause()

    def set_current(
        self,
        frame: np.ndarray | None,
        top: Sequence[tuple[str, float]],
        neighbours: Sequence[np.ndarray] = (),
    ) -> None:
        """The answer on screen now: its picture, the top 3, and (live) its neighbours."""
        self._frame = frame
        self._top = list(top)
        self._neighbours = list(neighbours)
        self._update_buttons()

    def clear_current(self) -> None:
        self.set_current(None, [])

    @property
    def busy(self) -> bool:
        """A correction is being taught or waits."""
        return self.queue.busy

    def _why_not(self) -> str:
        if self.store is None:
            return "Log in to your shop or choose its folder first: photos belong to a shop"
        if self.model_dir is None or not self.labels:
            return "Load a model first"
        return ""

    def _update_buttons(self) -> None:
        why = self._why_not()
        has = self._frame is not None and bool(self._top)
        for b in (self.right_button, self.wrong_button):
            b.setEnabled(not why and has)
        self.right_button.setToolTip(
            why or "Yes: keep this picture as a photo of the product and strengthen the model"
        )
        self.wrong_button.setToolTip(why or "Choose the right product: the model learns it at once")
        self.teach_button.setEnabled(not why)
        if why:
            self.teach_button.setToolTip(why)

    def _snapshot(self) -> list[np.ndarray] | None:
        if self._frame is None:
            return None
        return [self._frame, *self._neighbours]

    # -- the buttons -------------------------------------------------------------------
    @Slot()
    def confirm_right(self) -> Task | None:
        """ "Right": the top answer's product, from this picture (and its neighbours)."""
        frames = self._snapshot()
        if frames is None or not self._top:
            return None
        return self.teach_frames(self._top[0][0], frames, correction=True)

    @Slot()
    def choose_product(self) -> ProductPicker | None:
        """ "No, it is…": the searchable list; the choice is taught from this picture."""
        frames = self._snapshot()
        if frames is None:
            return None
        choices = product_choices(self._top, self.names, self.labels, self.display)
        photos = first_photos(self.catalogue())
        dlg = ProductPicker(frames[0], choices, self.window(), photos, self.thumbnails)
        if len(self._top) > 1:
            dlg.choose(self._top[1][0])  # the runner-up is the usual answer
        self.picker = dlg
        dlg.accepted.connect(
            lambda: dlg.chosen and self.teach_frames(dlg.chosen, frames, correction=True)
        )
        dlg.teach_requested.connect(self.open_teach_dialog)
        dlg.finished.connect(dlg.deleteLater)
        dlg.open()
        return dlg

    @Slot()
    def open_teach_dialog(self, product_id: str | None = None) -> QDialog | None:
        """ "Teach a product…": about 10 camera (or video) pictures, accepted or dropped."""
        if self._why_not():
            return None
        from ...camera.dialogs import open_camera_dialog
        from .teach_dialog import TeachDialog

        choices = product_choices([], self.names, self.labels, self.display)
        dlg = open_camera_dialog(
            lambda source, camera_id: TeachDialog(
                choices,
                self.runner,
                parent=self.window(),
                product_id=product_id,
                camera_id=camera_id,
                source=source,
                interval_s=self.teach_interval_s,
                capture_s=self.teach_capture_s,
            ),
            stand_in=self.camera_stand_in,
            settings=self.settings,
            accepted=lambda d: self.teach_frames(
                d.product_id, d.accepted_frames(), correction=False
            ),
            remember_camera=False,  # the Test screen's camera choice is its own
        )
        self.teach_dialog = dlg
        self.camera_busy.emit(True)
        dlg.finished.connect(lambda _r: self.camera_busy.emit(False))
        return dlg

    # -- the work --------------------------------------------------------------------
    def teach_frames(
        self, product_id: str, frames: list[np.ndarray], correction: bool
    ) -> Correction | None:
        """Store and teach in the background, after the corrections before it.
        ``correction``: a Test-screen answer (a burst when it has neighbours);
        otherwise frames already picked by the dialog."""
        if self.store is None or not frames:
            return None
        c = Correction(
            product_id,
            self.display(product_id),
            list(frames),
            answer=correction,
            keep=NEIGHBOURS + 1 if correction and len(frames) > 1 else None,
            store=self.store,
            model_dir=self.model_dir,
            shop_products=frozenset(self.names) or None,
            weights=self.weights,
        )
        self.queue.add(c)
        return c

    def _started(self, task: Task, c: Correction) -> None:
        self.progress.track(task, f"Teaching {c.name}")

    def _show_waiting(self, n: int) -> None:
        self.waiting_label.setText(f"{n} correction{'s' if n != 1 else ''} waiting")
        self.waiting_label.setVisible(n > 0)

    def _still_waiting(self) -> str:
        n = self.queue.waiting
        return f" {n} correction{'s' if n != 1 else ''} still waiting." if n else ""

    def _say(self, text: str, kind: str) -> None:
        self.last_message = text
        self.message.emit(text, kind)

    def _done(self, c: Correction, taught: Taught) -> None:
        name = self.display(taught.product_id)
        n = len(taught.stored)
        frames = f"{n} frame{'s' if n != 1 else ''}"
        from app.core.flows.teach import own_picture_problem

        own = own_picture_problem(taught) if c.answer else None
        note = f" (this picture was {own}; its neighbours were used)" if own else ""
        self.taught.emit(taught)  # first: the screen reloads the model (and clears its banner)
        if taught.result is not None:
            self._say(
                f"Taught {name} from {frames} in {taught.seconds:.1f} s{note} — the "
                "model on this computer is updated; Train for the full training."
                + self._still_waiting(),
                "ok",
            )
        else:
            self._say(
                f"Stored {frames} of {name}{note}; the model was not updated: "
                f"{taught.not_taught}. Train to include them." + self._still_waiting(),
                "warn",
            )

    def _failed(self, c: Correction, err: TaskError) -> None:
        if not err.is_user_error:
            log.error("teaching %s failed: %s", c.name, err.details)
        self._say(f"{c.name}: {err.message}{self._still_waiting()}", "error")

    def _dropped(self, c: Correction) -> None:
        self._say(
            f"Cancelled {c.name}: nothing was stored and the model is unchanged."
            + self._still_waiting(),
            "warn",
        )

    def shutdown(self) -> None:
        """At quit: corrections still waiting are kept as photos, untaught."""
        self.queue.close()
