""" "Earlier models on this computer": the models each training kept, to open or use again.

Listed by date, products, photos and held-back result (:mod:`app.gui.versions_table`),
read in the background (:func:`app.core.flows.earlier_models.earlier_models`: each is
checked whole). *Open* shows one on the Model screen; *Use this one again…* is the
screen's to ask and do (:attr:`EarlierModelsBox.use_again_requested`).
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from threading import Event
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.progress import ProgressHook
from app.core.wording import format_when, model_facts

from ...accessible import named
from ...session import Session
from ...tasks import Task
from ...versions_table import fit_rows, versions_table

if TYPE_CHECKING:
    from app.core.flows.earlier_models import EarlierModels

NO_EARLIER = (
    "No earlier models yet. Each training keeps the model it replaces here (the last {keep}), "
    "so you can compare them and use one again."
)

Row = tuple[Path, dict[str, Any], "str | None"]  # folder, metadata, entry (None: the local)


class EarlierModelsBox(QGroupBox):
    """The local model and its earlier ones; hidden while there is nothing to list."""

    use_again_requested = Signal(object)  # the chosen Row: the screen asks, then swaps

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__("Earlier models on this computer", parent)
        self.session = session
        self.local_dir: Path | None = None  # whose earlier models are listed
        self.rows: list[Row] = []
        self.hint = QLabel()
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        self.table = named(versions_table(""), "Earlier models")
        self.table.itemSelectionChanged.connect(self.update_buttons)
        self.table.itemDoubleClicked.connect(lambda _item: self.open_selected())
        self.open_button = QPushButton("Open")
        self.open_button.setToolTip("View the selected model on this screen")
        self.open_button.clicked.connect(self.open_selected)
        self.use_again_button = QPushButton("Use this one again…")
        self.use_again_button.setToolTip(
            "Make the selected earlier model the local model again (asks first); the one "
            "it replaces is kept here"
        )
        self.use_again_button.clicked.connect(self._use_again_clicked)
        row = QHBoxLayout()
        row.addWidget(self.open_button)
        row.addWidget(self.use_again_button)
        row.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addWidget(self.hint)
        lay.addWidget(self.table)
        lay.addLayout(row)
        self.hide()

    def load(self, local: Path | None) -> Task | None:
        """List ``local`` and its earlier models in the background (each is read and
        checked whole, a few MB apiece); None: nothing to list."""
        from app.core.flows.earlier_models import earlier_models

        self.local_dir = local
        if local is None:
            self.hide()
            return None

        def work(on_progress: ProgressHook, cancel: Event) -> EarlierModels:
            return earlier_models(local)

        task = self.session.runner.start("local-history", work)
        task.succeeded.connect(self._loaded)
        task.failed.connect(lambda err: self.hint.setText(f"Earlier models: {err.message}"))
        return task

    def _loaded(self, found: EarlierModels) -> None:
        from app.core.flows.earlier_models import kept

        if found.model_dir != self.local_dir:
            return
        history = found.history
        # the chosen model by what it is, not by its row: after "Use this one again…"
        # the rows move, and the same row would offer another model to use again
        chosen = self.selected()
        was = (chosen[0], chosen[1].get("trainedAt")) if chosen is not None else None
        rows: list[Row] = []
        if found.metadata is not None:
            rows.append((found.model_dir, found.metadata, None))
        rows += [(m.path, m.metadata, m.name) for m in history.models]
        self.rows = rows
        open_now = self.session.model_dir
        t = self.table
        t.setRowCount(len(rows))
        minutes = [format_when(m) for _f, m, _n in rows]
        for r, (folder, m, name) in enumerate(rows):
            status = "local model" if name is None else ""
            if folder == open_now:
                status = f"{status}, open now" if status else "open now"
            same_minute = minutes.count(minutes[r]) > 1  # tell them apart by the second
            for c, text in enumerate([*model_facts(m, same_minute), status]):
                item = QTableWidgetItem(text)
                item.setToolTip(str(folder))
                t.setItem(r, c, item)
        keep = kept()
        hint = [] if history.models else [NO_EARLIER.format(keep=keep)]
        if history.models:
            hint.append(
                f"Each training keeps the model it replaces (the last {keep}). Open one to "
                "look at it; use one again to make it the local model."
            )
        if any(name is not None and folder == open_now for folder, _m, name in rows):
            hint.insert(
                0,
                "<b>An earlier model is open</b>: the Test and Publish screens use it while "
                "it is open; “Use this one again…” makes it the local model.",
            )
        for s in history.skipped[:3]:
            hint.append(escape(f"Skipped {s.name}: {s.reason}"))
        self.hint.setText("<br>".join(hint))
        t.setVisible(len(rows) > 1)
        fit_rows(t, len(rows), keep + 1)
        t.clearSelection()
        for r, (folder, m, _name) in enumerate(rows):
            if (folder, m.get("trainedAt")) == was:
                t.selectRow(r)
        self.setVisible(bool(rows) or bool(history.skipped))
        self.update_buttons()

    def selected(self) -> Row | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.rows):
            return None
        return self.rows[rows[0].row()]

    def local_metadata(self) -> dict[str, Any] | None:
        """The local model's metadata as listed (None: no usable local model)."""
        return self.rows[0][1] if self.rows and self.rows[0][2] is None else None

    def update_buttons(self) -> None:
        chosen = self.selected()
        self.open_button.setEnabled(chosen is not None and chosen[0] != self.session.model_dir)
        self.use_again_button.setEnabled(chosen is not None and chosen[2] is not None)

    def open_selected(self) -> None:
        chosen = self.selected()
        if chosen is not None and chosen[0] != self.session.model_dir:
            self.session.set_model_dir(chosen[0])

    def _use_again_clicked(self) -> None:
        chosen = self.selected()
        if chosen is not None and chosen[2] is not None and self.local_dir is not None:
            self.use_again_requested.emit(chosen)
