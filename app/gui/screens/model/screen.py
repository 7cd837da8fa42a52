"""Inspect a model folder: metadata, labels with product names, files, what is published.

Works for our own exports and for a Teachable Machine export alike, because it
reads the three files through the task layer (:func:`app.core.flows.inspect.
inspect_model`, the same check the POS's files pass) in a background task.
"""

from __future__ import annotations

import logging
from html import escape
from pathlib import Path
from threading import Event
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.progress import ProgressHook
from app.core.wording import compare_published, describe_model, format_when, two_models

from ...confirm import ask
from ...session import Session
from ...tasks import Task, TaskError
from ...widgets import Banner, ElidedLabel, ProgressPanel, keep_splitter, reveal_folder, scroll_page
from .details import ModelDetails
from .earlier import EarlierModelsBox
from .summary import no_server_text, summary_html
from .till import TillAccuracyLabel

if TYPE_CHECKING:
    from app.core.flows.inspect import ModelReport
    from app.core.flows.login import ShopClient

log = logging.getLogger(__name__)


# short: the line beside the buttons was cut to "No model yet: trai…en a model folder."
# at 800×600; Train and "Open model folder…" say the rest
NO_MODEL = "No model yet."


class ModelScreen(QWidget):
    """The open model's facts, its files and labels, what the shop serves, and the
    earlier local models (kept by each training) to open or use again."""

    publish_requested = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.model: ModelReport | None = None  # the open model, validated
        self.metadata: dict = {}
        self.published: dict | None = None
        self.load_failed = False  # the open folder is not a usable model
        self._read_stamp: tuple[int, int] | None = None  # metadata.json as last read
        self.confirm = True  # ask before "Use this one again" (tests answer the box)
        self.confirm_box: Any = None  # the question open now (app.gui.confirm.ask)
        self._opened: Path | None = None  # the local model without a source: the last opened

        title = QLabel("Model")
        title.setObjectName("title")
        self.location = ElidedLabel(NO_MODEL)
        self.open_button = QPushButton("Open model folder…")
        self.open_button.setToolTip(
            "Open a folder with model.json, weights.bin and "
            "metadata.json — ours or a Teachable Machine export (Ctrl+O)"
        )
        self.open_button.clicked.connect(self.choose_folder)
        self.reveal_button = QPushButton("Show in file manager")
        self.reveal_button.clicked.connect(self.reveal)
        self.reveal_button.setEnabled(False)
        self.publish_button = QPushButton("Publish…")
        self.publish_button.clicked.connect(self.publish_requested.emit)
        self.publish_button.setEnabled(False)
        head = QHBoxLayout()
        head.addWidget(self.location, 1)
        head.addWidget(self.open_button)
        head.addWidget(self.reveal_button)
        head.addWidget(self.publish_button)
        # Why "Publish…" is off, or where it leads without a shop login: said, not guessed.
        self.publish_hint = QLabel()
        self.publish_hint.setObjectName("hint")
        self.publish_hint.setWordWrap(True)
        self.publish_hint.hide()

        self.progress = ProgressPanel()
        self.banner = Banner()
        self.kind = QLabel()
        self.kind.setWordWrap(True)
        self.summary = QLabel()  # the owner's view first; the engineer's tables below
        self.summary.setObjectName("card")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setStyleSheet("QLabel#card { padding: 10px; }")
        self.summary.hide()

        self.details = ModelDetails()
        self.meta_table = self.details.meta_table
        self.files_table = self.details.files_table
        self.labels_table = self.details.labels_table
        keep_splitter(self.details, session.settings, "model")

        self.published_box = QGroupBox("On the shop server")
        pl = QVBoxLayout(self.published_box)
        self.published_label = QLabel()
        self.published_label.setWordWrap(True)
        self.published_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.published_label.setOpenExternalLinks(True)
        self.compare = Banner()
        self.refresh_published_button = QPushButton("Check again")
        self.refresh_published_button.clicked.connect(self.load_published)
        prow = QHBoxLayout()
        prow.addWidget(self.published_label, 1)
        prow.addWidget(self.refresh_published_button, 0, Qt.AlignmentFlag.AlignTop)
        pl.addLayout(prow)
        pl.addWidget(self.compare)
        self.till_accuracy = TillAccuracyLabel(session)  # right at the till, per version
        pl.addWidget(self.till_accuracy)

        self.earlier_box = EarlierModelsBox(session)
        self.earlier_box.use_again_requested.connect(self.use_again)
        self.earlier_table = self.earlier_box.table
        self.earlier_hint = self.earlier_box.hint
        self.earlier_open_button = self.earlier_box.open_button
        self.use_again_button = self.earlier_box.use_again_button

        body = QWidget()
        lay = QVBoxLayout(body)
        lay.addWidget(title)
        lay.addLayout(head)
        lay.addWidget(self.publish_hint)
        lay.addWidget(self.progress)
        lay.addWidget(self.banner)
        lay.addWidget(self.summary)
        lay.addWidget(self.kind)
        lay.addWidget(self.earlier_box)
        lay.addWidget(self.details, 1)
        lay.addWidget(self.published_box)
        scroll_page(self, body)

        session.model_changed.connect(self.load)
        session.model_changed.connect(self.load_earlier)
        session.source_changed.connect(self._source_changed)
        session.source_changed.connect(self.load_earlier)
        session.catalogue_changed.connect(self._fill_labels)
        self._source_changed()

    def _local_model_dir(self) -> Path | None:
        """Where training exports for the source (else the folder opened last that is not
        one of its earlier models): the model whose history is listed."""
        from app.core.flows.earlier_models import history_dir

        s = self.session
        if s.source is not None:
            return s.source.model_dir()
        opened = s.model_dir
        if opened is not None and (
            self._opened is None or opened.parent != history_dir(self._opened)
        ):
            self._opened = opened
        return self._opened

    def load_earlier(self) -> Task | None:
        """The local model and its earlier ones, in the box (read in the background)."""
        return self.earlier_box.load(self._local_model_dir())

    def use_again(self, chosen: tuple[Path, dict, str | None]) -> Task | None:
        """Ask, then swap the chosen earlier model back in as the local model; the Model
        and Test screens follow it (model_changed)."""
        from app.core.flows.earlier_models import use_again

        _folder, meta, name = chosen
        local = self.earlier_box.local_dir
        if name is None or local is None:
            return None
        if self.confirm:
            earlier, now = two_models(meta, self.earlier_box.local_metadata())
            asked = ask(
                self,
                "Use an earlier model again?",
                f"Use {earlier} again as the local model, instead of {now}?",
                "The Model and Test screens and publishing use it from now on. The model "
                "it replaces is kept with the earlier models and can be used again.",
                "Use again",
            )
            if not asked:
                return None

        def work(on_progress: ProgressHook, cancel: Event) -> Path:
            return use_again(local, name, on_progress=on_progress, cancel=cancel)

        said = describe_model(meta)
        task = self.session.runner.start("use-again", work)
        self.progress.track(task, "Putting the earlier model back…", cancellable=False)
        task.succeeded.connect(lambda _folder: self._used_again(local, said))
        task.failed.connect(
            lambda err: self.banner.show_failure(err, "", "The local model stays as it was.")
        )
        task.failed.connect(self.load_earlier)
        return task

    def _used_again(self, local: Path, said: str) -> None:
        # this run's training is no longer the local model's: Train shows the saved results
        self.session.set_result(None)
        self.session.set_model_dir(local)  # reloads this screen, the list, Test and Publish
        self.banner.show_message(
            f"{said[0].upper()}{said[1:]} is the local model again. The one it replaced is "
            "kept with the earlier models.",
            "ok",
        )

    # -- loading --------------------------------------------------------------------
    def choose_folder(self) -> None:
        start = str(self.session.model_dir or self.session.default_model_dir().parent)
        folder = QFileDialog.getExistingDirectory(self, "Model folder", start)
        if folder:
            self.session.set_model_dir(Path(folder))

    def _stamp(self) -> tuple[int, int] | None:
        """When the open model's metadata.json last changed (every export writes it)."""
        folder = self.session.model_dir
        try:
            st = (folder / "metadata.json").stat() if folder is not None else None
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size) if st is not None else None

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        """Shown again after a CLI ``train``, ``sync`` or ``teach`` of the open model: read
        anew (it went on describing the model it had read, and offered it to use again)."""
        super().showEvent(event)
        if self.session.model_dir is not None and self._stamp() != self._read_stamp:
            self.load()
            self.load_earlier()

    def load(self) -> None:
        folder = self.session.model_dir
        self._read_stamp = self._stamp()
        self.model, self.metadata = None, {}
        self.load_failed = False
        self.banner.clear_message()
        self._fill()
        if folder is None:
            return
        self.location.setText(str(folder))

        def work(on_progress: ProgressHook, cancel: Event) -> ModelReport:
            from app.core.flows.inspect import inspect_model

            return inspect_model(folder)  # validated; the Test screen runs it

        task = self.session.runner.start("model", work)
        self.progress.track(task, f"Reading {folder}…", cancellable=False)
        task.succeeded.connect(lambda m, f=folder: self._loaded(f, m))
        task.failed.connect(lambda err, f=folder: self._failed(f, err))

    def _loaded(self, folder: Path, model: ModelReport) -> None:
        if folder != self.session.model_dir:
            return
        self.model = model
        self.metadata = dict(model.metadata)
        self._fill()
        self._update_compare()

    def _failed(self, folder: Path, err: TaskError) -> None:
        if folder != self.session.model_dir:
            return
        self.load_failed = True
        self.banner.show_failure(err, "This folder cannot be used as a model:")
        self._update_buttons()

    def _source_changed(self) -> None:
        if self.session.logged_in:
            self.published_box.setTitle("On the shop server")
            self.published_box.show()
            self.refresh_published_button.show()
            self.load_published()
        else:
            self.published = None
            src = self.session.source
            self.published_box.setVisible(src is not None)
            self.published_box.setTitle("Publishing")
            self.published_label.setText(no_server_text(src))
            self.refresh_published_button.hide()  # nothing to check without a server
            self.compare.clear_message()
            self.till_accuracy.clear_shown()
        self._update_buttons()

    def load_published(self) -> None:
        client = self.session.client
        if client is None:
            return
        self.refresh_published_button.setEnabled(False)
        self.published_label.setText("Checking what the shop serves…")
        self.till_accuracy.load()

        def work(on_progress: ProgressHook, cancel: Event) -> tuple[dict | None, str]:
            from app.core.flows.publish import ShopTarget

            target = ShopTarget(client)
            meta = target.served_metadata()
            return (dict(meta) if meta is not None else None), target.location

        task = self.session.runner.start("published", work)
        task.succeeded.connect(lambda res, c=client: self._published_loaded(c, *res))
        task.failed.connect(
            lambda err: self.published_label.setText(
                f"Could not read the published model: {err.message}"
            )
        )
        task.finished.connect(lambda: self.refresh_published_button.setEnabled(True))

    def _published_loaded(self, client: ShopClient, meta: dict | None, url: str) -> None:
        if client is not self.session.client:
            return
        self.published = meta
        src = self.session.source
        where = src.channel_code if src else ""
        if meta is None:
            self.published_label.setText(f"No model is published for channel {where} yet.")
        else:
            self.published_label.setText(
                f"Channel <b>{escape(where)}</b> serves a model trained {format_when(meta)} "
                f"with {escape(str(meta.get('productCount', len(meta.get('labels', [])))))} "
                f"products and {escape(str(meta.get('imageCount', '?')))} photos.<br>"
                f"<a href='{escape(url)}metadata.json'>{escape(url)}</a>"
            )
        self._update_compare()

    def _update_compare(self) -> None:
        if not self.session.logged_in or not self.metadata or self.published is None:
            self.compare.clear_message()  # "nothing published" is already said above
            return
        self.compare.show_message(*compare_published(self.metadata, self.published))

    # -- view -------------------------------------------------------------------------
    def _update_buttons(self) -> None:
        has = self.model is not None
        s = self.session
        self.reveal_button.setEnabled(s.model_dir is not None)
        # The Publish screen serves every mode: a shop with a login, else a folder or a copy.
        self.publish_button.setEnabled(has)
        if not has:
            if s.model_dir is None:
                reason = "Train a model or open a model folder first: nothing to publish yet."
            elif self.load_failed:
                reason = "This folder is not a model that can be published (see above)."
            else:
                reason = "Reading the model…"
            self.publish_button.setToolTip(reason)
            self.publish_hint.hide()
        elif s.logged_in and s.source is not None:
            self.publish_button.setToolTip(
                f"Publish this model to channel {s.source.channel_code} on the Publish screen"
            )
            self.publish_hint.hide()
        else:
            tip = (
                "Not logged in to a shop: on the Publish screen, publish this model to a "
                "folder your shop serves or save a copy of the three files. Publishing to a "
                "shop needs a shop login."
            )
            self.publish_button.setToolTip(tip)
            self.publish_hint.setText(tip)
            self.publish_hint.show()

    def _fill(self) -> None:
        folder = self.session.model_dir
        self._update_buttons()
        if folder is None:
            self.location.setText(NO_MODEL)
        if self.model is None:
            self.kind.setText("")
            self.summary.hide()
            self.details.clear()
            return
        if self.model.from_teachable_machine:
            self.kind.setText(
                "A <b>Teachable Machine</b> export: the POS loads it the same way. "
                "Its labels are class names, not product IDs."
            )
        else:
            self.kind.setText(
                f"Trained by this app: input {self.model.image_size}×{self.model.image_size}, "
                f"{len(self.model.labels)} products."
            )
        self.summary.show()
        self.details.show_model(self.model, self.session.names())
        self._fill_labels()

    def _fill_labels(self) -> None:
        """The summary and the labels with the names of the catalogue loaded now."""
        if self.model is None:
            return
        names = self.session.names()
        self.summary.setText(summary_html(self.metadata, names))
        self.details.show_labels(self.model, names)

    def reveal(self) -> bool:
        """The model folder in the file manager, or its path said (and copied) instead."""
        if self.session.model_dir is None:
            return False
        return reveal_folder(self.session.model_dir, self.banner)
