"""Train: defaults up front, Advanced folded away, live progress and chart, results.

The whole run is one task (:func:`app.core.flows.train.train`: check photos →
features → training → export) on the "train" resource, so starting again cancels a
running one, and Cancel stops it before anything is written: the export is atomic and
happens last. The export records every photo the source lists, so a photo whose
download failed is not "a change" afterwards.
"""

from __future__ import annotations

import logging
from html import escape
from pathlib import Path
from threading import Event
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from app.core.errors import WeightsUnavailable
from app.core.flows.check_photos import training_scope
from app.core.progress import Phase, Progress, ProgressHook
from app.core.wording import count_words, format_when

from ...accessible import alert
from ...counter.panels import CounterFramesPanel
from ...session import Session
from ...tasks import Task, TaskError
from ...widgets import Banner, ProgressPanel, format_duration, scroll_page
from .chart import TrainingChart
from .options import MODEL_SIZES, AdvancedOptions, size_name
from .results import TrainingResults

if TYPE_CHECKING:
    from collections.abc import Callable

    from app.core.flows.open_source import Source
    from app.core.flows.train import TrainOutcome, TrainResult

    from ...camera.sources import FrameSource

log = logging.getLogger(__name__)


def _folding(text: str) -> QToolButton:
    """A "▸ text" button that folds a part of the screen away."""
    b = QToolButton()
    b.setText(text)
    b.setCheckable(True)
    b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    b.setArrowType(Qt.ArrowType.RightArrow)
    return b


class TrainScreen(QWidget):
    model_ready = Signal(object)  # Path of the exported model
    #: A product named in the results was clicked (id, name): the window shows it on
    #: Products. A signal, so screens never import each other.
    product_requested = Signal(str, str)

    #: The picture source of "Show me your counter…" (None: the counter camera); see
    #: ``ProductsScreen.camera_stand_in``.
    camera_stand_in: Callable[[], FrameSource] | None = None

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.result_dir: Path | None = None  # the model this screen's results are of
        self.task: Task | None = None
        self._task_source: Source | None = None  # the shop ``task`` trains

        title = QLabel("Train")
        title.setObjectName("title")
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.start_button = QPushButton("Start training")
        self.start_button.setObjectName("primary")
        self.start_button.clicked.connect(self.start)
        head = QHBoxLayout()
        head.addWidget(self.intro, 1)
        head.addWidget(self.start_button, 0, Qt.AlignmentFlag.AlignTop)
        # Before training, while the shop has no counter frames: what they buy, and how.
        self.counter = CounterFramesPanel(
            session, self, only_when_empty=True, stand_in=lambda: self.camera_stand_in
        )

        # Advanced, folded away
        self.advanced_toggle = _folding("Advanced")
        self.advanced_toggle.toggled.connect(self._toggle_advanced)
        self.advanced = AdvancedOptions(session)
        self.advanced.hide()
        self.advanced.changed.connect(self._update_intro)
        a = self.advanced  # its fields, on the screen as before
        self.model_size, self.epochs, self.augment, self.seed = (
            a.model_size,
            a.epochs,
            a.augment,
            a.seed,
        )
        self.accept, self.quantize, self.weights = a.accept, a.quantize, a.weights
        self.browse_weights = a.browse_weights

        self.progress = ProgressPanel(show_delay_ms=0)
        self.banner = Banner()
        self.counter.message.connect(self.banner.show_message)
        # "How the training went", folded away: the results come first
        self.curve_toggle = _folding("How the training went")
        self.curve_toggle.toggled.connect(self._toggle_curve)
        self.curve_toggle.hide()  # appears with the first run or result
        self.curve_note = QLabel()
        self.curve_note.setObjectName("hint")
        self.curve_note.setWordWrap(True)
        self.chart = TrainingChart()
        self.chart.clear(session.settings.epochs)
        self.curve = QWidget()
        cl = QVBoxLayout(self.curve)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(self.curve_note)
        cl.addWidget(self.chart)
        self.curve.hide()
        self._curve_saved = True  # False: results read back from metadata.json (no curve)

        self.results = TrainingResults(session)
        self.results.product_requested.connect(self.product_requested)
        self.results.hide()
        r = self.results  # its parts, on the screen as before
        self.previous, self.accuracy, self.accept_line = r.previous, r.accuracy, r.accept_line
        self.shop_look, self.per_product, self.confusions = r.shop_look, r.per_product, r.confusions
        self.more_photos, self.inspect_button = r.more_photos, r.inspect_button
        self.publish_button = r.publish_button

        body = QWidget()
        lay = QVBoxLayout(body)
        lay.addWidget(title)
        lay.addLayout(head)
        lay.addWidget(self.counter)
        lay.addWidget(self.advanced_toggle, 0, Qt.AlignmentFlag.AlignLeft)
        lay.addWidget(self.advanced, 0, Qt.AlignmentFlag.AlignLeft)
        lay.addWidget(self.progress)
        lay.addWidget(self.banner)
        lay.addWidget(self.results, 3)
        lay.addWidget(self.curve_toggle, 0, Qt.AlignmentFlag.AlignLeft)
        lay.addWidget(self.curve, 2)
        lay.addStretch(0)
        scroll_page(self, body)

        session.catalogue_changed.connect(self._update_intro)
        session.report_changed.connect(self._update_intro)
        session.source_changed.connect(self._update_intro)
        session.engine_ready.connect(self._update_intro)
        session.model_changed.connect(self._show_saved_result)
        session.source_changed.connect(self._forget_other_results)
        self._update_intro()
        self.advanced.mark_sizes()
        self._show_saved_result()

    def _forget_other_results(self) -> None:
        """Another shop: the results on screen were the previous one's ("Model saved in
        …/fruit" and its Publish button stayed under "Using bulk"), also while that
        shop's training runs on (its Publish… made its model the new shop's)."""
        if self.results.shown is None and not self._training_elsewhere():
            return
        self._clear_results()
        self.banner.clear_message()
        self._show_saved_result()

    def _training_elsewhere(self) -> bool:
        """A training runs, of a shop other than the one open now."""
        running = self.task is not None and self.task.running
        return running and self._other_shop() is not None

    def _clear_results(self) -> None:
        self.results.shown = None
        self.result_dir = None
        self.results.hide()
        self.previous.hide()
        self._back_to_previous("")  # with no results: the chart cleared, the curve hidden

    def _show_saved_result(self) -> None:
        """No training in this run of the app: show the last model's results as saved in
        its metadata.json (the Model screen reads the same file)."""
        from app.core.flows.inspect import saved_training

        folder = self.session.model_dir
        running = self.task is not None and self.task.running
        if self.session.result is not None or folder is None:
            return
        if running and not self._training_elsewhere():
            return  # this shop's results stay until its training finishes
        saved = saved_training(folder)
        if saved is None:
            return
        self._curve_saved = False
        self.result_dir = folder
        self.show_result(saved.result, saved.counts)
        when = format_when({"trainedAt": saved.trained_at}) if saved.trained_at else ""
        self.banner.show_message(  # in the computer's time, as every other screen says it
            f"Results of this model's training{f' ({when})' if when else ''}, "
            f"saved with it in {folder}.",
            "info",
        )

    # -- options --------------------------------------------------------------------
    def _toggle_advanced(self, on: bool) -> None:
        self.advanced.setVisible(on)
        self.chart.set_advanced(on)
        self.advanced_toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self._update_curve()

    def _toggle_curve(self, on: bool) -> None:
        self.curve.setVisible(on)
        self.curve_toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self._update_curve()

    def _update_curve(self) -> None:
        """The chart when it plots something to read, else one line saying why not."""
        running = self.task is not None and self.task.running
        self.chart.setVisible(self.chart.has_curve())
        if self.chart.held_back_points():
            note = (
                "Green, dashed: right on held-back photos after each pass. It should rise and "
                "level off; a fall at the end means more passes made it worse."
            )
        elif self.chart.points() and self.chart.advanced:
            note = (
                "Red, solid: the loss on the training photos per pass; it should fall and level "
                "off. Blue, dotted: right on the training photos themselves, which says little "
                "about new photos: the result above comes from held-back photos."
            )
        elif self.chart.points():
            note = (
                "The result above was measured in separate rounds on photos held back from "
                "training, not after each pass, so there is no held-back curve to show. "
                "Advanced shows the loss per pass (an engineer's check that training settled)."
            )
        elif running:
            note = "The curve appears after the first training pass."
        elif not self._curve_saved:
            note = "The pass-by-pass curve is not saved with the model; train again to see it."
        else:
            note = "No training passes were needed: each product's average photo was enough."
        self.curve_note.setText(note)

    def _update_intro(self) -> None:
        cat = self.session.catalogue()
        running = self.task is not None and self.task.running
        if cat is None:
            src = self.session.source
            self.intro.setText(
                "Log in to your shop or choose a folder of product photos first."
                if src is None  # chosen, but its products could not be read: say so
                else f"No products could be read from {src.label}: Products says why."
            )
            self.start_button.setEnabled(False)
            return
        scope = training_scope(cat, self.session.report)
        n_products = len(scope.products)
        text = (
            f"Teach the camera <b>{count_words(n_products, 'product')}</b> from "
            f"<b>{count_words(scope.photos, 'photo')}</b>. "
            "Training runs on this computer; you can keep working meanwhile."
        )
        est = self.session.estimate_training_seconds(scope)
        if est is not None:
            text += f" It takes about {format_duration(est)}."
        self.intro.setText(text)
        self.start_button.setEnabled(n_products >= 2 and not running)
        if n_products < 2:
            self.intro.setText(text + " You need photos of at least two products.")

    # -- run ------------------------------------------------------------------------
    def start(self) -> Task | None:
        from app.core.flows.train import TrainRequest, train

        session = self.session
        current = session.current()
        if current is None:
            return None
        self.advanced.save()
        out_dir, quantize = session.default_model_dir(), session.settings.quantize
        check = session.checked(current.catalogue)  # the Products check, if still current

        def work(on_progress: ProgressHook, cancel: Event) -> TrainOutcome:
            options = session.train_options()  # imports the trainer: not on the UI thread
            request = TrainRequest(current, options, out_dir, quantize=quantize, check=check)
            return train(request, on_progress=on_progress, cancel=cancel)

        self.banner.clear_message()
        if self.results.shown is not None:  # stays until the new run finishes
            self.previous.setText(
                "<b>Previous training</b> — shown until the new one finishes. "
                "Its model stays in use meanwhile."
            )
            self.previous.show()
        self.chart.clear(session.settings.epochs)
        task = session.runner.start("train", work)
        self.task, self._task_source = task, session.source
        self.progress.track(task, "Starting…", time_left_reported=True)
        task.progress.connect(lambda p, t=task: self._on_progress(t, p))
        task.succeeded.connect(lambda res, t=task: self._done(t, res))
        task.failed.connect(lambda err, t=task: self._failed(t, err))
        task.cancelled.connect(lambda t=task: self._cancelled(t))
        task.finished.connect(self._update_intro)
        task.finished.connect(self.advanced.mark_sizes)  # a size downloaded its weights
        task.finished.connect(lambda: alert(self))  # the owner may be in another window
        self.start_button.setEnabled(False)
        self._curve_saved = True
        self.curve_toggle.show()
        self._update_curve()
        return task

    def cancel(self) -> None:
        if self.task is not None and self.task.running:
            self.task.cancel()

    def _on_progress(self, task: Task, p: Progress) -> None:
        if self._training_elsewhere():
            return  # the other shop's curve is not this one's
        if task is self.task and p.phase == Phase.TRAINING and p.metrics:
            first = not self.chart.points()
            self.chart.add(p.metrics)
            if first or self.chart.held_back_points() == 1:
                self._update_curve()

    def _cancelled(self, task: Task) -> None:
        if task is self.task and (other := self._other_shop()) is not None:
            msg = f"The training of {other.short_name} was cancelled; nothing was written."
            self.banner.show_message(msg, "info")
            return
        if task is self.task:
            self.banner.show_message(
                "Training cancelled. Nothing was written; the previous model is unchanged.",
                "info",
            )
            self._back_to_previous("cancelled")

    def _failed(self, task: Task, err: TaskError) -> None:
        if task is not self.task:
            return
        if (other := self._other_shop()) is not None:
            self.banner.show_failure(err, f"The training of {other.short_name} failed:")
            return
        exc = err.exception
        if isinstance(exc, WeightsUnavailable):
            self.banner.show_message(self._weights_advice(exc), "error")
            self.advanced_toggle.setChecked(True)  # the two ways out are in Advanced
            self.model_size.setFocus()
        else:
            self.banner.show_failure(err, "Training failed:")
        self._back_to_previous("failed")

    def _weights_advice(self, exc: WeightsUnavailable) -> str:
        """The app's words for a size whose weights could not be downloaded: its own two
        controls, not the command line's option."""
        log.info("weights for model size %g not available: %s", exc.alpha, exc.why)
        return (
            f"Training failed: the {size_name(exc.alpha)} model size needs a one-time download "
            "of its pretrained weights, and it could not be downloaded — is this computer "
            f"offline? Choose <b>{size_name(MODEL_SIZES[0][0])}</b> as Model size (it comes "
            "with the app), or connect to the internet and train again. If you have the file "
            f"{escape(str(exc.filename))}, pick it with <b>Choose…</b> next to Base model file."
        )

    def _other_shop(self) -> Source | None:
        """The shop whose training ended, when it is not the one open now: said as such,
        this shop's results untouched ("this is the model in use" was the other's)."""
        other = self._task_source
        return other if other is not None and other != self.session.source else None

    def _back_to_previous(self, why: str) -> None:
        """The run did not finish: its model is still the previous one, so are the results."""
        if self.results.shown is None:
            self.chart.clear(self.session.settings.epochs)
            self.curve_toggle.hide()
            self.curve.hide()
            self.curve_toggle.setChecked(False)
            return
        result, _counts = self.results.shown
        self.chart.replay(list(result.history), self.session.settings.epochs)
        self.previous.setText(
            f"<b>Previous training</b> — the new one was {why}; this is the model in use."
        )
        self.previous.show()
        self._update_curve()

    def _done(self, task: Task, outcome: TrainOutcome) -> None:
        if task is not self.task:
            return
        if (trained := self._other_shop()) is not None:
            # the owner switched shops meanwhile: this model is the other shop's (it
            # became this one's model, and Publish offered it to the wrong channel)
            self._clear_results()
            self._show_saved_result()
            self.banner.show_message(
                f"The training of {trained.short_name} finished: its model is saved in "
                f"{outcome.model_dir}. Open {trained.short_name} again to use or publish it.",
                "info",
            )
            return
        result = outcome.result
        self.previous.hide()
        measured = outcome.seconds_per_view
        if measured:  # this computer's speed, for the next estimate (at model size 0.35)
            s = self.session.settings
            # half the old figure: one run on a momentarily busy machine must not swing it
            s.seconds_per_view_256 = (
                measured
                if not s.seconds_per_view_256
                else (0.5 * s.seconds_per_view_256 + 0.5 * measured)
            )
            s.save()
        self.session.set_report(outcome.report)
        self.session.set_result(result)
        self.session.set_model_dir(outcome.model_dir)
        self.result_dir = outcome.model_dir
        self.show_result(result, outcome.counts)
        self.banner.show_message(
            f"Model saved in {outcome.model_dir} after {format_duration(result.duration_s)}.",
            "ok",
        )
        self.model_ready.emit(outcome.model_dir)

    def open_result(self) -> None:
        """Its Publish… and Open… act on this training's model: with an earlier model
        opened since to look at it, Publish… offered to publish that one."""
        if self.result_dir is not None and self.session.model_dir != self.result_dir:
            self.session.set_model_dir(self.result_dir)

    def show_result(self, result: TrainResult, counts: dict[str, int]) -> None:
        """A training's results (this run's, or read back from its model)."""
        self.results.show_result(result, counts)
        self.results.show()
        self.curve_toggle.show()
        self._update_curve()
