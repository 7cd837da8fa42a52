"""Inspect a model folder: metadata, labels with product names, files, what is published.

Works for our own exports and for a Teachable Machine export alike, because it
reads the three files through ``app.core.modelfiles`` — the same files the POS
loads — in a background task.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from threading import Event
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.progress import ProgressHook
from app.core.wording import ago, format_when, trained_at

from .confirm import ask
from .session import Session
from .tasks import Task, TaskError
from .widgets import Banner, ElidedLabel, ProgressPanel, keep_splitter, reveal_folder, scroll_page

log = logging.getLogger(__name__)


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"


def photo_counts(meta: dict) -> dict[str, int]:
    """Photos per product a model learned from (the fingerprint it records), or {}."""
    from app.core import fingerprint

    fp = fingerprint.from_metadata(meta) or {}
    return {pid: len(ids) for pid, ids in fp.items()}


def summary_html(meta: dict, names: dict[str, str]) -> str:
    """What the owner wants to know first: what it recognises, from how many photos,
    when, how sure, which products are weak (all from metadata.json, so it reads the
    same after a restart)."""
    from app.core.wording import FEW_PHOTOS, NONE_WEAK, headline, weak_products

    labels = [str(x) for x in meta.get("labels", [])]
    saved = meta.get("labelNames")
    saved = saved if isinstance(saved, list) and len(saved) == len(labels) else labels
    shown = [names.get(lab) or str(saved[i]) for i, lab in enumerate(labels)]
    name_of = dict(zip(labels, shown, strict=True))
    listed = ", ".join(shown[:12]) + (f" and {len(shown) - 12} more" if len(shown) > 12 else "")
    photos = meta.get("imageCount")
    when = ago(meta)
    lines = [
        f"<b>Recognises {len(labels)} products</b>: {listed}.",
        (f"Learned from <b>{photos} photos</b>" if photos else "Learned from your photos")
        + (f", trained <b>{when}</b> ({format_when(meta)})." if when else "."),
    ]
    if "validationAccuracy" in meta or "validation" in meta:
        lines.append(headline(meta.get("validationAccuracy"), meta.get("heldBackPhotos")).text)
    weak: list[str] = []
    per_product = meta.get("perProductAccuracy")
    accs = per_product if isinstance(per_product, dict) else {}
    counts = photo_counts(meta)
    for pid in weak_products(labels, accs, counts):
        acc, n = accs.get(pid), counts.get(pid)
        if n is not None and n < FEW_PHOTOS:
            weak.append(f"{name_of.get(pid, pid)} ({n} photo{'s' if n != 1 else ''})")
        else:
            weak.append(f"{name_of.get(pid, pid)} (recognised {100 * acc:.0f} %)")
    if weak:
        lines.append("<b>Weak</b> — add photos taken at the counter: " + ", ".join(weak[:10]))
    elif counts or isinstance(per_product, dict):
        lines.append(NONE_WEAK)
    return "<br>".join(lines)


def compare_published(local: dict, published: dict | None) -> tuple[str, str]:
    """(message, banner kind) saying whether the local model is newer than the served one."""
    if published is None:
        return "No model is published for this channel yet.", "info"
    same_labels = list(local.get("labels", [])) == list(published.get("labels", []))
    lt, pt = trained_at(local), trained_at(published)
    if lt is not None and lt == pt and same_labels:
        return "This model is the one currently published.", "ok"
    if lt is not None and pt is not None:
        if lt > pt:
            return "This model is newer than the published one.", "info"
        return "The published model is newer than this one.", "warn"
    return "This model differs from the published one.", "info"


def no_server_text(source: Any) -> str:
    """The "Publishing" box without a shop login: what fits the sample shop or a folder."""
    from app.core.sample_shop import is_sample_shop

    if source is not None and is_sample_shop(source.folder):
        first = "This is the sample shop: it has no shop server, so nothing is published yet."
    else:
        first = "Training from a local folder: there is no shop server to check."
    return (
        f"{first} Publishing to a shop needs a shop login (Log in screen); publishing to "
        "a folder your shop serves, or saving a copy of the three files, is available on "
        "the Publish screen."
    )


EARLIER_HEADERS = ["Trained", "Products", "Photos", "Held back", ""]  # FACT_HEADERS + status
NO_EARLIER = (
    "No earlier models yet. Each training keeps the model it replaces here (the last {keep}), "
    "so you can compare them and use one again."
)


class ModelScreen(QWidget):
    """The open model's facts, its files and labels, what the shop serves, and the
    earlier local models (kept by each training) to open or use again."""

    publish_requested = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.model: Any = None  # app.core.modelfiles.ExportedModel
        self.metadata: dict = {}
        self.published: dict | None = None
        self.load_failed = False  # the open folder is not a usable model
        self.confirm = True  # ask before "Use this one again" (tests answer the box)
        self.confirm_box: Any = None  # the question open now (app.gui.confirm.ask)
        self.local_dir: Path | None = None  # whose earlier models are listed
        self._opened: Path | None = None  # the local model without a source: the last opened
        self.earlier_rows: list[tuple[Path, dict, str | None]] = []  # folder, meta, entry

        title = QLabel("Model")
        title.setObjectName("title")
        self.location = ElidedLabel("No model yet: train one, or open a model folder.")
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

        self.meta_table = self._table(["Field", "Value"])
        self.files_table = self._table(["File", "Size"])
        self.files_table.setFixedHeight(24 * 5 + 6)  # header + three files + total
        self.labels_table = self._table(["#", "Label (product ID)", "Product"])
        self.labels_table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents
        )

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

        self.earlier_box = self._build_earlier_box()

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(QLabel("<b>Details</b>: every field of metadata.json"))
        ll.addWidget(self.meta_table, 1)
        ll.addWidget(QLabel("<b>Files</b>"))
        ll.addWidget(self.files_table)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(QLabel("<b>Labels</b> in output order"))
        rl.addWidget(self.labels_table, 1)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setMinimumHeight(260)
        self.split = split
        keep_splitter(split, session.settings, "model")

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
        lay.addWidget(split, 1)
        lay.addWidget(self.published_box)
        scroll_page(self, body)

        session.model_changed.connect(self.load)
        session.model_changed.connect(self.load_earlier)
        session.source_changed.connect(self._source_changed)
        session.source_changed.connect(self.load_earlier)
        session.catalog_changed.connect(self._fill_labels)
        self._source_changed()

    @staticmethod
    def _table(headers: list[str]) -> QTableWidget:
        t = QTableWidget(0, len(headers))
        t.setHorizontalHeaderLabels(headers)
        t.verticalHeader().hide()
        t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        t.setAlternatingRowColors(True)
        t.setWordWrap(False)
        t.verticalHeader().setDefaultSectionSize(24)
        hh = t.horizontalHeader()
        for i in range(len(headers) - 1):
            hh.setSectionResizeMode(i, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(len(headers) - 1, QHeaderView.ResizeMode.Stretch)
        return t

    def _build_earlier_box(self) -> QGroupBox:
        box = QGroupBox("Earlier models on this computer")
        lay = QVBoxLayout(box)
        self.earlier_hint = QLabel()
        self.earlier_hint.setObjectName("hint")
        self.earlier_hint.setWordWrap(True)
        t = QTableWidget(0, len(EARLIER_HEADERS))
        t.setHorizontalHeaderLabels(EARLIER_HEADERS)
        t.horizontalHeaderItem(3).setToolTip(
            "How many of the photos held back from its training it recognised"
        )
        t.verticalHeader().hide()
        t.verticalHeader().setDefaultSectionSize(24)
        t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        hh = t.horizontalHeader()
        for c in range(len(EARLIER_HEADERS) - 1):
            hh.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(len(EARLIER_HEADERS) - 1, QHeaderView.ResizeMode.Stretch)
        t.itemSelectionChanged.connect(self._update_earlier_buttons)
        t.itemDoubleClicked.connect(lambda _item: self.open_earlier_selected())
        self.earlier_table = t
        self.earlier_open_button = QPushButton("Open")
        self.earlier_open_button.setToolTip("View the selected model on this screen")
        self.earlier_open_button.clicked.connect(self.open_earlier_selected)
        self.use_again_button = QPushButton("Use this one again…")
        self.use_again_button.setToolTip(
            "Make the selected earlier model the local model again (asks first); the one "
            "it replaces is kept here"
        )
        self.use_again_button.clicked.connect(self.use_again_selected)
        row = QHBoxLayout()
        row.addWidget(self.earlier_open_button)
        row.addWidget(self.use_again_button)
        row.addStretch(1)
        lay.addWidget(self.earlier_hint)
        lay.addWidget(t)
        lay.addLayout(row)
        box.hide()
        return box

    def _local_model_dir(self) -> Path | None:
        """Where training exports for the source (else the folder opened last that is not
        one of its earlier models): the model whose history is listed."""
        from app.core.local_history import history_dir

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
        """List the local model and its earlier models in the background (each is read
        and checked whole, a few MB apiece)."""
        local = self._local_model_dir()
        self.local_dir = local
        if local is None:
            self.earlier_box.hide()
            return None

        def work(on_progress: ProgressHook, cancel: Event) -> Any:
            from app.core.errors import ModelFilesError
            from app.core.local_history import list_history
            from app.core.modelfiles import validate_model_dir

            try:
                meta = validate_model_dir(local) if local.is_dir() else None
            except ModelFilesError:
                meta = None  # the Model screen says what is wrong when it is opened
            return meta, list_history(local)

        task = self.session.runner.start("local-history", work)
        task.succeeded.connect(lambda r, d=local: self._earlier_loaded(d, *r))
        task.failed.connect(lambda err: self.earlier_hint.setText(f"Earlier models: {err.message}"))
        return task

    def _earlier_loaded(self, local: Path, meta: dict | None, history: Any) -> None:
        from app.core.local_history import KEEP
        from app.core.wording import model_facts

        if local != self.local_dir:
            return
        rows: list[tuple[Path, dict, str | None]] = []
        if meta is not None:
            rows.append((local, meta, None))
        rows += [(m.path, m.metadata, m.name) for m in history.models]
        self.earlier_rows = rows
        open_now = self.session.model_dir
        t = self.earlier_table
        t.setRowCount(len(rows))
        for r, (folder, m, name) in enumerate(rows):
            status = "local model" if name is None else ""
            if folder == open_now:
                status = f"{status}, open now" if status else "open now"
            cells = [*model_facts(m), status]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(str(folder))
                t.setItem(r, c, item)
        hint = [] if history.models else [NO_EARLIER.format(keep=KEEP)]
        if history.models:
            hint.append(
                f"Each training keeps the model it replaces (the last {KEEP}). Open one to "
                "look at it; use one again to make it the local model."
            )
        if any(name is not None and folder == open_now for folder, _m, name in rows):
            hint.insert(
                0,
                "<b>An earlier model is open</b>: the Test and Publish screens use it while "
                "it is open; “Use this one again…” makes it the local model.",
            )
        for s in history.skipped[:3]:
            hint.append(f"Skipped {s.name}: {s.reason}")
        self.earlier_hint.setText("<br>".join(hint))
        t.setVisible(len(rows) > 1)
        header = t.horizontalHeader().sizeHint().height()
        t.setFixedHeight(header + 24 * min(len(rows), KEEP + 1) + 2 * t.frameWidth() + 2)
        self.earlier_box.setVisible(bool(rows) or bool(history.skipped))
        self._update_earlier_buttons()

    def _selected_earlier(self) -> tuple[Path, dict, str | None] | None:
        rows = self.earlier_table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.earlier_rows):
            return None
        return self.earlier_rows[rows[0].row()]

    def _update_earlier_buttons(self) -> None:
        chosen = self._selected_earlier()
        self.earlier_open_button.setEnabled(
            chosen is not None and chosen[0] != self.session.model_dir
        )
        self.use_again_button.setEnabled(chosen is not None and chosen[2] is not None)

    def open_earlier_selected(self) -> None:
        chosen = self._selected_earlier()
        if chosen is not None and chosen[0] != self.session.model_dir:
            self.session.set_model_dir(chosen[0])

    def use_again_selected(self) -> Task | None:
        """Ask, then swap the chosen earlier model back in as the local model; the Model
        and Test screens follow it (model_changed)."""
        from app.core.wording import describe_model

        chosen, local = self._selected_earlier(), self.local_dir
        if chosen is None or chosen[2] is None or local is None:
            return None
        _folder, meta, name = chosen
        current = self.earlier_rows[0][1] if self.earlier_rows[0][2] is None else None
        if self.confirm:
            asked = ask(
                self,
                "Use an earlier model again?",
                f"Use {describe_model(meta)} again as the local model, instead of "
                f"{describe_model(current)}?",
                "The Model and Test screens and publishing use it from now on. The model "
                "it replaces is kept with the earlier models and can be used again.",
                "Use again",
            )
            if not asked:
                return None

        def work(on_progress: ProgressHook, cancel: Event) -> Any:
            from app.core.local_history import use_again

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

    def load(self) -> None:
        folder = self.session.model_dir
        self.model, self.metadata = None, {}
        self.load_failed = False
        self.banner.clear_message()
        self._fill()
        if folder is None:
            return
        self.location.setText(str(folder))

        def work(on_progress: ProgressHook, cancel: Event) -> Any:
            from app.core.modelfiles import ExportedModel

            return ExportedModel.load(folder, eager=False)  # validate; the Test screen runs it

        task = self.session.runner.start("model", work)
        self.progress.track(task, f"Reading {folder}…", cancellable=False)
        task.succeeded.connect(lambda m, f=folder: self._loaded(f, m))
        task.failed.connect(lambda err, f=folder: self._failed(f, err))

    def _loaded(self, folder: Path, model: Any) -> None:
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
        self._update_buttons()

    def load_published(self) -> None:
        client = self.session.client
        if client is None:
            return
        self.refresh_published_button.setEnabled(False)
        self.published_label.setText("Checking what the shop serves…")

        def work(on_progress: ProgressHook, cancel: Event) -> Any:
            from app.core.shop import published_metadata

            return published_metadata(client)

        task = self.session.runner.start("published", work)
        task.succeeded.connect(lambda meta, c=client: self._published_loaded(c, meta))
        task.failed.connect(
            lambda err: self.published_label.setText(
                f"Could not read the published model: {err.message}"
            )
        )
        task.finished.connect(lambda: self.refresh_published_button.setEnabled(True))

    def _published_loaded(self, client: Any, meta: dict | None) -> None:
        if client is not self.session.client:
            return
        self.published = meta
        src = self.session.source
        where = src.channel_code if src else ""
        if meta is None:
            self.published_label.setText(f"No model is published for channel {where} yet.")
        else:
            url = client.latest_url()
            self.published_label.setText(
                f"Channel <b>{where}</b> serves a model trained {format_when(meta)} with "
                f"{meta.get('productCount', len(meta.get('labels', [])))} products and "
                f"{meta.get('imageCount', '?')} photos.<br>"
                f"<a href='{url}metadata.json'>{url}</a>"
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
        meta = self.metadata
        folder = self.session.model_dir
        self._update_buttons()
        if folder is None:
            self.location.setText("No model yet: train one, or open a model folder.")
        if self.model is None:
            self.kind.setText("")
            self.summary.hide()
            for t in (self.meta_table, self.files_table, self.labels_table):
                t.setRowCount(0)
            return
        if self.model.is_teachable_machine:
            self.kind.setText(
                "A <b>Teachable Machine</b> export: the POS loads it the same way. "
                "Its labels are class names, not product IDs."
            )
        else:
            self.kind.setText(
                f"Trained by this app: input {self.model.image_size}×{self.model.image_size}, "
                f"{len(self.model.labels)} products."
            )
        self.summary.setText(summary_html(meta, self.session.names()))
        self.summary.show()
        rows = [(k, v) for k, v in meta.items() if k != "labels"]
        rows.append(("labels", f"{len(meta.get('labels', []))} labels (listed on the right)"))
        self.meta_table.setRowCount(len(rows))
        for r, (k, v) in enumerate(rows):
            self.meta_table.setItem(r, 0, QTableWidgetItem(k))
            text = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
            if k in ("trainedAt", "timeStamp"):
                text = f"{v}  ({format_when(meta)})"
            elif k == "trainingDuration" and isinstance(v, int | float):
                text = f"{v:.1f} s"
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            self.meta_table.setItem(r, 1, item)
        assert folder is not None
        from app.core.modelfiles import FILES  # numpy: not at the window's start-up

        files = [(n, folder / n) for n in FILES]
        self.files_table.setRowCount(len(files) + 1)
        total = 0
        for r, (n, p) in enumerate(files):
            size = p.stat().st_size if p.exists() else 0
            total += size
            self.files_table.setItem(r, 0, QTableWidgetItem(n))
            self.files_table.setItem(r, 1, QTableWidgetItem(human_size(size)))
        self.files_table.setItem(len(files), 0, QTableWidgetItem("Total"))
        self.files_table.setItem(len(files), 1, QTableWidgetItem(human_size(total)))
        self._fill_labels()

    def _fill_labels(self) -> None:
        if self.model is None:
            return
        self.summary.setText(summary_html(self.metadata, self.session.names()))
        names = self.session.names()  # the catalogue loaded now, if any
        labels = list(self.model.labels)
        saved = self.metadata.get("labelNames")  # names written at training time
        saved = saved if isinstance(saved, list) and len(saved) == len(labels) else []
        self.labels_table.setRowCount(len(labels))
        for r, label in enumerate(labels):
            current = names.get(str(label))
            name = current or (str(saved[r]) if saved else "")
            self.labels_table.setItem(r, 0, QTableWidgetItem(str(r)))
            self.labels_table.setItem(r, 1, QTableWidgetItem(str(label)))
            item = QTableWidgetItem(name or "—")
            if names and not current:
                item.setForeground(QColor("#b03a2e"))
                item.setToolTip("Not a product of the catalogue loaded now")
            self.labels_table.setItem(r, 2, item)

    def reveal(self) -> bool:
        """The model folder in the file manager, or its path said (and copied) instead."""
        if self.session.model_dir is None:
            return False
        return reveal_folder(self.session.model_dir, self.banner)
