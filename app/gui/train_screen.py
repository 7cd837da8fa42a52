"""Train: defaults up front, Advanced folded away, live progress and chart, results.

The whole run (check photos → features → training → export) is one task on the
"train" resource, so starting again cancels a running one, and Cancel stops it
before anything is written: the export is atomic and happens last.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from threading import Event
from typing import TYPE_CHECKING, Any

from PySide6.QtCharts import QChart, QChartView, QLineSeries, QValueAxis
from PySide6.QtCore import QMargins, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import WeightsUnavailable
from app.core.eta import TrainingEta
from app.core.model import EPOCHS_MAX, EPOCHS_MIN, SEED_MAX
from app.core.progress import Progress, ProgressHook
from app.core.wording import NONE_WEAK, headline, is_weak, weak_products

from .counter_panel import CounterFramesPanel
from .decision_widget import percent
from .session import Session
from .tasks import Task, TaskError
from .widgets import (
    Banner,
    FlowLayout,
    ProgressPanel,
    format_duration,
    keep_splitter,
    link_button,
    scroll_page,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from app.core.model import Acceptance, TrainResult
    from app.core.pipeline import TrainOutcome

    from .frames import FrameSource

log = logging.getLogger(__name__)

MODEL_SIZES = [
    (0.35, "Small — fast, about 2 MB (recommended)"),
    (0.5, "Medium — about 3.5 MB"),
    (0.75, "Large — about 6 MB"),
    (1.0, "Largest — about 9 MB, slowest on the till"),
]
QUANTIZE = [  # (key, what the owner reads, what an engineer reads in the tooltip)
    ("none", "Full size, most exact", "float32 weights"),
    ("float16", "Half the size, as good", "float16 weights: probabilities within ~0.005"),
    ("uint8", "Quarter size, less exact", "uint8 weights: probabilities move up to ~0.1"),
]


class TrainingChart(QChartView):
    """The training pass by pass, updated live: what can go wrong, not a flat 100 %.

    Held-back accuracy per pass shows when the trainer reports it (it says whether
    more passes help); the loss and the accuracy on the training photos themselves are
    an engineer's view, shown only with Advanced open.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        chart = QChart()
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        chart.setMargins(QMargins(4, 4, 4, 4))
        self.loss = QLineSeries(name="Loss (training photos)")
        self.acc = QLineSeries(name="Right on its training photos")
        self.val_acc = QLineSeries(name="Right on held-back photos")
        for series, color in (
            (self.loss, "#c0392b"),
            (self.acc, "#2e86c1"),
            (self.val_acc, "#27ae60"),
        ):
            pen = QPen(QColor(color))
            pen.setWidthF(2.0)
            series.setPen(pen)
            chart.addSeries(series)
        self.x = QValueAxis(titleText="Training pass", labelFormat="%d")
        self.y_loss = QValueAxis(titleText="Loss", labelFormat="%.2f")
        self.y_acc = QValueAxis(titleText="Right %", labelFormat="%d", min=0, max=100)
        chart.addAxis(self.x, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(self.y_loss, Qt.AlignmentFlag.AlignLeft)
        chart.addAxis(self.y_acc, Qt.AlignmentFlag.AlignRight)
        for s in (self.loss, self.acc, self.val_acc):
            s.attachAxis(self.x)
        self.loss.attachAxis(self.y_loss)
        self.acc.attachAxis(self.y_acc)
        self.val_acc.attachAxis(self.y_acc)
        super().__init__(chart, parent)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setMinimumHeight(220)
        self.advanced = False
        self.clear()

    def set_advanced(self, on: bool) -> None:
        """Loss and training-photo accuracy: for engineers, with Advanced open."""
        self.advanced = on
        self._update_series()

    def _update_series(self) -> None:
        held = self.val_acc.count() > 0
        for series, on in (
            (self.loss, self.advanced),
            (self.acc, self.advanced),
            (self.val_acc, held),
        ):
            series.setVisible(on)
            for marker in self.chart().legend().markers(series):
                marker.setVisible(on)
        self.y_loss.setVisible(self.advanced)
        self.y_acc.setVisible(held or self.advanced)

    def has_curve(self) -> bool:
        """Something the owner can read is plotted (else the chart stays hidden)."""
        return self.val_acc.count() > 0 or (self.advanced and self.loss.count() > 0)

    def clear(self, epochs: int = 10) -> None:
        for s in (self.loss, self.acc, self.val_acc):
            s.clear()
        self._max_loss = 0.1
        self.x.setRange(1, max(2, epochs))
        self.y_loss.setRange(0, 1)
        self._update_series()

    def add(self, metrics: dict[str, float]) -> None:
        epoch = metrics.get("epoch")
        if epoch is None:
            return
        if "loss" in metrics:
            self.loss.append(epoch, metrics["loss"])
            self._max_loss = max(self._max_loss, metrics["loss"])
            self.y_loss.setRange(0, self._max_loss * 1.05)
            self.y_loss.applyNiceNumbers()
        if "acc" in metrics:
            self.acc.append(epoch, 100 * metrics["acc"])
        if metrics.get("val_acc") is not None:
            first = self.val_acc.count() == 0
            self.val_acc.append(epoch, 100 * metrics["val_acc"])
            if first:
                self._update_series()
        if epoch > self.x.max():
            self.x.setMax(epoch)

    def points(self) -> int:
        return self.loss.count()

    def held_back_points(self) -> int:
        return self.val_acc.count()

    def replay(self, history: list[dict[str, float]], epochs: int) -> None:
        """Draw a finished run again (the previous training after a cancel)."""
        self.clear(epochs)
        for row in history:
            self.add(row)


class ProductLinks(QWidget):
    """Lines like "Add photos of: Avocado Kiwi": each name a link-styled button that
    asks for that product on Products (``clicked``); ``text()`` is what it says."""

    clicked = Signal(str, str)  # product id, its name

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._lay = QVBoxLayout(self)
        self._lay.setContentsMargins(0, 0, 0, 0)
        self._lay.setSpacing(2)
        self._text = ""
        self._buttons: list[QPushButton] = []

    def set_lines(self, lines: list[tuple[str, list[tuple[str, str]], str]], empty: str) -> None:
        """``(lead, [(id, name), …], after)`` per line; ``empty`` when there are none."""
        while self._lay.count():
            w = self._lay.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        self._buttons = []
        plain = []
        if not lines:
            label = QLabel(empty)
            label.setWordWrap(True)
            self._lay.addWidget(label)
            self._text = empty
            return
        for lead, products, after in lines:
            row = QWidget()
            flow = FlowLayout(row, spacing=6)
            flow.addWidget(QLabel(lead))
            for pid, name in products:
                b = link_button(name, f"See the photos of {name} on Products (ID {pid})")
                b.clicked.connect(lambda _=False, p=pid, n=name: self.clicked.emit(p, n))
                flow.addWidget(b)
                self._buttons.append(b)
            if after:
                hint = QLabel(after)
                hint.setObjectName("hint")
                flow.addWidget(hint)
            self._lay.addWidget(row)
            names = ", ".join(n for _, n in products)
            plain.append(" ".join(x for x in (re.sub("<[^>]+>", "", lead), names, after) if x))
        self._text = "\n".join(plain)

    def text(self) -> str:
        return self._text

    def buttons(self) -> list[QPushButton]:
        return list(self._buttons)


def pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.0f}%"


def accept_text(a: Acceptance | None) -> str:
    """When the till adds a product without asking, as training measured it."""
    if a is None or not a.measured:
        at = percent(a.threshold) if a is not None else "97 %"
        return (
            f"The till asks the cashier unless it is at least {at} sure (too few held-back "
            "photos to measure when it can be sure)."
        )
    if not a.coverage or a.precision is None:
        return (
            "The till always asks the cashier: on the held-back photos no level of "
            f"confidence was right {percent(a.target)} of the time."
        )
    return (
        f"The till adds a product by itself at {percent(a.threshold)} or more: "
        f"{percent(a.coverage)} of held-back photos, {percent(a.precision)} of them right."
    )


DOWNLOAD_MARK = " · needs a one-time download"
PID_ROLE = Qt.ItemDataRole.UserRole + 1  # a table cell's product id (UserRole: thumbnail)


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
        self.task: Task | None = None
        self.eta: TrainingEta | None = None
        s = session.settings

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
            session, only_when_empty=True, stand_in=lambda: self.camera_stand_in
        )

        # Advanced, folded away
        self.advanced_toggle = QToolButton()
        self.advanced_toggle.setText("Advanced")
        self.advanced_toggle.setCheckable(True)
        self.advanced_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_toggle.toggled.connect(self._toggle_advanced)
        self.advanced = QGroupBox()
        # a form, not a banner: fields at their own width, the box no wider than they are
        self.advanced.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)
        form = QFormLayout(self.advanced)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.model_size = QComboBox()
        # as wide as "Large — about 6 MB · needs a one-time download"; the list opens wider
        self.model_size.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.model_size.setMinimumContentsLength(36)
        for alpha, text in MODEL_SIZES:
            self.model_size.addItem(text, alpha)
        self.model_size.setCurrentIndex(
            max(0, next((i for i, (a, _) in enumerate(MODEL_SIZES) if a == s.alpha), 0))
        )
        self.model_size.setToolTip(
            "MobileNetV2 width (alpha). Sizes marked 'needs a one-time download' get their "
            "pretrained weights from the internet at the first training; all larger sizes "
            "run slower on the till."
        )
        # the ranges TrainOptions.check() and the CLI accept: only valid values on offer
        self.epochs = QSpinBox(minimum=EPOCHS_MIN, maximum=EPOCHS_MAX, value=s.epochs)
        self.epochs.setToolTip("Epochs: passes over the photos. More is slower, rarely better.")
        self.augment = QCheckBox("Vary the photos (crops, rotation, lighting, blur)")
        self.augment.setChecked(s.augment)
        self.augment.setToolTip("Augmentation: about 24 varied views per product")
        self.seed = QSpinBox(minimum=0, maximum=SEED_MAX, value=session.seed)
        self.seed.setToolTip(
            "Random seed: the same number and the same photos give the same model."
        )
        self.accept = QSpinBox(minimum=50, maximum=99, value=round(100 * s.accept_target))
        self.accept.setSuffix(" %")
        self.accept.setToolTip(
            "How often the till must be right when it adds a product without asking the "
            "cashier (measured on held-back photos). Higher: fewer mistakes, more questions."
        )
        self.quantize = QComboBox()
        for i, (key, text, tip) in enumerate(QUANTIZE):
            self.quantize.addItem(text, key)
            self.quantize.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)
        self.quantize.setCurrentIndex(max(0, self.quantize.findData(s.quantize)))
        self.quantize.setToolTip("Weight quantisation of weights.bin")
        self.weights = QLineEdit(str(session.base_weights() or ""))
        self.weights.setPlaceholderText("Shipped (Small) or downloaded once")
        self.weights.setToolTip(
            "Pretrained MobileNetV2 ImageNet weights (.h5) for the chosen model size, "
            "instead of a download; kept for the next start"
        )
        self.weights.setMinimumWidth(260)
        self.browse_weights = QPushButton("Choose…")
        self.browse_weights.clicked.connect(self._choose_weights)
        wrow = QHBoxLayout()
        wrow.addWidget(self.weights, 1)
        wrow.addWidget(self.browse_weights)

        def with_hint(field: QWidget, hint: str) -> QHBoxLayout:
            row = QHBoxLayout()
            row.addWidget(field)
            label = QLabel(hint)
            label.setObjectName("hint")
            row.addWidget(label)
            row.addStretch(1)
            return row

        form.addRow("Model size", self.model_size)
        form.addRow(
            "Passes over the photos", with_hint(self.epochs, "more is slower, rarely better")
        )
        form.addRow("Photos", self.augment)
        form.addRow(
            "Repeat a run exactly", with_hint(self.seed, "same number + same photos = same model")
        )
        form.addRow("Sure enough to add by itself", self.accept)
        form.addRow("File size", self.quantize)
        form.addRow("Base model file", wrow)
        self.advanced.hide()
        for w in (self.model_size, self.quantize):
            w.currentIndexChanged.connect(self._save_options)
        for w in (self.epochs, self.seed, self.accept):
            w.valueChanged.connect(self._save_options)
        self.augment.toggled.connect(self._save_options)
        self.weights.editingFinished.connect(self._save_options)

        self.progress = ProgressPanel(show_delay_ms=0)
        self.banner = Banner()
        self.counter.message.connect(self.banner.show_message)
        # "How the training went", folded away: the results come first
        self.curve_toggle = QToolButton()
        self.curve_toggle.setText("How the training went")
        self.curve_toggle.setCheckable(True)
        self.curve_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.curve_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.curve_toggle.toggled.connect(self._toggle_curve)
        self.curve_toggle.hide()  # appears with the first run or result
        self.curve_note = QLabel()
        self.curve_note.setObjectName("hint")
        self.curve_note.setWordWrap(True)
        self.chart = TrainingChart()
        self.chart.clear(s.epochs)
        self.curve = QWidget()
        cl = QVBoxLayout(self.curve)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(self.curve_note)
        cl.addWidget(self.chart)
        self.curve.hide()
        self._curve_saved = True  # False: results read back from metadata.json (no curve)

        # results
        self.previous = QLabel()  # "Previous training" while a new one runs or was cancelled
        self.previous.setObjectName("hint")
        self.previous.setWordWrap(True)
        self.previous.hide()
        self._shown: tuple[Any, dict[str, int]] | None = None  # (result, counts) on screen
        self.accuracy = QLabel()
        self.accuracy.setObjectName("bignumber")
        self.accuracy.setWordWrap(True)
        self.accept_line = QLabel()  # "The till adds a product by itself at 86 % or more: …"
        self.accept_line.setWordWrap(True)
        self.shop_look = QLabel()  # "Shop's look: from 20 counter frames"
        self.shop_look.setObjectName("hint")
        self.shop_look.hide()
        self.per_product = QTableWidget(0, 3)
        self.per_product.setHorizontalHeaderLabels(["Product", "Photos", "Recognised"])
        self._setup_table(self.per_product)
        self.confusions = QTableWidget(0, 3)
        self.confusions.setHorizontalHeaderLabels(["Product", "Mistaken for", "Times"])
        self._setup_table(self.confusions)
        self.per_product.horizontalHeader().setSectionResizeMode(
            1, QHeaderView.ResizeMode.ResizeToContents
        )
        self.confusions.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.confusions.setIconSize(QSize(48, 48))
        self.confusions.verticalHeader().setDefaultSectionSize(54)
        for table in (self.per_product, self.confusions):  # a product's name opens Products
            table.cellClicked.connect(lambda r, c, t=table: self._cell_clicked(t, r, c))
        self.more_photos = ProductLinks()  # "Add photos of: <links>"
        self.more_photos.clicked.connect(self.product_requested)
        self.result_buttons = QHBoxLayout()
        self.inspect_button = QPushButton("Inspect the model")
        self.publish_button = QPushButton("Publish…")
        self.result_buttons.addStretch(1)
        self.result_buttons.addWidget(self.inspect_button)
        self.result_buttons.addWidget(self.publish_button)

        results = QWidget()
        rl = QVBoxLayout(results)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.previous)
        rl.addWidget(self.accuracy)
        rl.addWidget(self.accept_line)
        rl.addWidget(self.shop_look)
        rl.addWidget(self.more_photos)
        pair = QSplitter()
        self.pair = pair
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(QLabel("<b>Per product</b> (held-back photos recognised)"))
        ll.addWidget(self.per_product)
        right = QWidget()
        rr = QVBoxLayout(right)
        rr.setContentsMargins(0, 0, 0, 0)
        rr.addWidget(QLabel("<b>Most often confused</b>"))
        rr.addWidget(self.confusions)
        pair.addWidget(left)
        pair.addWidget(right)
        keep_splitter(pair, session.settings, "train.results")
        rl.addWidget(pair, 1)
        rl.addLayout(self.result_buttons)
        self.results = results
        results.hide()

        body = QWidget()
        lay = QVBoxLayout(body)
        lay.addWidget(title)
        lay.addLayout(head)
        lay.addWidget(self.counter)
        lay.addWidget(self.advanced_toggle, 0, Qt.AlignmentFlag.AlignLeft)
        lay.addWidget(self.advanced, 0, Qt.AlignmentFlag.AlignLeft)
        lay.addWidget(self.progress)
        lay.addWidget(self.banner)
        lay.addWidget(results, 3)
        lay.addWidget(self.curve_toggle, 0, Qt.AlignmentFlag.AlignLeft)
        lay.addWidget(self.curve, 2)
        lay.addStretch(0)
        scroll_page(self, body)

        session.thumbnails.ready.connect(self._confusion_thumb_ready)
        session.catalog_changed.connect(self._update_intro)
        session.report_changed.connect(self._update_intro)
        session.source_changed.connect(self._update_intro)
        session.engine_ready.connect(self._update_intro)
        session.model_changed.connect(self._show_saved_result)
        self._update_intro()
        self._mark_sizes()
        self._show_saved_result()

    def _show_saved_result(self) -> None:
        """No training in this run of the app: show the last model's results as saved in
        its metadata.json (the Model screen reads the same file)."""
        folder = self.session.model_dir
        running = self.task is not None and self.task.running
        if self.session.result is not None or running or folder is None:
            return
        import json

        from app.core.model import result_from_metadata

        try:
            meta = json.loads((Path(folder) / "metadata.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        result = result_from_metadata(meta) if isinstance(meta, dict) else None
        if result is None:
            return
        from app.core import fingerprint

        counts = {p: len(ids) for p, ids in (fingerprint.from_metadata(meta) or {}).items()}
        self._curve_saved = False
        self.show_result(result, counts)
        when = str(meta.get("trainedAt") or "").replace("T", " ").rstrip("Z")
        self.banner.show_message(
            f"Results of the last training{f' ({when} UTC)' if when else ''}, "
            f"saved with the model in {folder}.",
            "info",
        )

    @staticmethod
    def _setup_table(t: QTableWidget) -> None:
        t.verticalHeader().hide()
        t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        t.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        t.setAlternatingRowColors(True)
        t.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        t.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        t.verticalHeader().setDefaultSectionSize(26)
        t.setMinimumHeight(160)

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
                "Green: right on held-back photos after each pass. It should rise and level "
                "off; a fall at the end means more passes made it worse."
            )
        elif self.chart.points() and self.chart.advanced:
            note = (
                "Red: the loss on the training photos per pass; it should fall and level off. "
                "Blue: right on the training photos themselves, which says little about new "
                "photos: the result above comes from held-back photos."
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

    def _mark_sizes(self) -> None:
        """Say which model sizes would download their weights first (none on this
        computer): offline, those are the ones that fail."""
        from app.core.features import weights_filename, weights_need_download

        explicit = self.session.base_weights()
        for i, (alpha, text) in enumerate(MODEL_SIZES):
            need = weights_need_download(alpha, explicit)
            self.model_size.setItemText(i, text + (DOWNLOAD_MARK if need else ""))
            tip = (
                f"Its pretrained weights ({weights_filename(alpha)}) are not on this "
                "computer: the first training downloads them once, which needs the internet."
                if need
                else ""
            )
            self.model_size.setItemData(i, tip or None, Qt.ItemDataRole.ToolTipRole)
        view = self.model_size.view()
        view.setMinimumWidth(view.sizeHintForColumn(0) + 24)  # whole names in the list

    def _cell_clicked(self, table: QTableWidget, row: int, col: int) -> None:
        item = table.item(row, col)
        pid = item.data(PID_ROLE) if item is not None else None
        if pid:
            self.product_requested.emit(str(pid), item.text())

    def _choose_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Pretrained MobileNetV2 weights", self.weights.text(), "Keras weights (*.h5)"
        )
        if path:
            self.weights.setText(path)
            self._save_options()

    def _save_options(self) -> None:
        s = self.session.settings
        s.alpha = float(self.model_size.currentData())
        s.epochs = self.epochs.value()
        s.augment = self.augment.isChecked()
        s.quantize = str(self.quantize.currentData())
        s.accept_target = self.accept.value() / 100
        self.session.seed = s.seed = self.seed.value()
        text = self.weights.text().strip()
        self.session.base_weights_override = Path(text) if text else None
        s.base_weights = text
        s.save()
        self._update_intro()
        self._mark_sizes()

    def _update_intro(self) -> None:
        cat = self.session.catalog()
        running = self.task is not None and self.task.running
        if cat is None:
            self.intro.setText("Log in to your shop or choose a folder of product photos first.")
            self.start_button.setEnabled(False)
            return
        from .products_screen import estimate_training_seconds, training_scope

        active, n_img = training_scope(cat, self.session.report)
        text = (
            f"Teach the camera <b>{len(active)} products</b> from <b>{n_img} photos</b>. "
            "Training runs on this computer; you can keep working meanwhile."
        )
        est = estimate_training_seconds(self.session, n_img, len(active))
        if est is not None:
            text += f" It takes about {format_duration(est)}."
        self.intro.setText(text)
        self.start_button.setEnabled(len(active) >= 2 and not running)
        if len(active) < 2:
            self.intro.setText(text + " You need photos of at least two products.")

    # -- run ------------------------------------------------------------------------
    def start(self) -> Task | None:
        catalog = self.session.catalog()
        if catalog is None:
            return None
        self._save_options()
        session = self.session
        out_dir = session.default_model_dir()
        quantize = session.settings.quantize
        dataset = session.checked_dataset(catalog)  # the Products check, if still current
        frames = session.store.counter_frames.paths() if session.store is not None else []
        empty = session.store.not_product_photos() if session.store is not None else []

        def work(on_progress: ProgressHook, cancel: Event) -> Any:
            from app.core.pipeline import train_and_export

            return train_and_export(
                catalog,
                session.train_options(),
                out_dir,
                quantize=quantize,
                dataset=dataset,
                counter_frames=frames,
                not_product_photos=empty,
                on_progress=on_progress,
                cancel=cancel,
            )

        self.banner.clear_message()
        if self._shown is not None:  # stays until the new run finishes; a cancel keeps it
            self.previous.setText(
                "<b>Previous training</b> — shown until the new one finishes. "
                "Its model stays in use meanwhile."
            )
            self.previous.show()
        self.chart.clear(session.settings.epochs)
        task = session.runner.start("train", work)
        self.task = task
        self.eta = self._make_eta(catalog)
        self.progress.track(task, "Starting…", eta=self.eta)
        task.progress.connect(lambda p, t=task: self._on_progress(t, p))
        task.succeeded.connect(lambda res, t=task: self._done(t, res))
        task.failed.connect(lambda err, t=task: self._failed(t, err))
        task.cancelled.connect(lambda t=task: self._cancelled(t))
        task.finished.connect(self._update_intro)
        task.finished.connect(self._mark_sizes)  # a size downloaded its weights
        self.start_button.setEnabled(False)
        self._curve_saved = True
        self.curve_toggle.show()
        self._update_curve()
        return task

    def _make_eta(self, catalog: Any) -> TrainingEta:
        from app.core.model import TrainOptions

        from .products_screen import training_scope

        active, n_img = training_scope(catalog, self.session.report)
        import app.core.training_cost as trainer  # no NumPy: cheap

        s = self.session.settings
        o = TrainOptions(alpha=s.alpha, epochs=s.epochs, augment=s.augment)
        views = trainer.planned_views(n_img, len(active), o)
        passes = trainer.head_passes(n_img, len(active), o)

        def after_features(v: int, spv: float | None) -> float:
            per_view = spv / trainer.base_width_cost(s.alpha) if spv else None
            return trainer.seconds_after_features(v, per_view, len(active), passes)

        return TrainingEta(views, after_features)

    def cancel(self) -> None:
        if self.task is not None and self.task.running:
            self.task.cancel()

    def _on_progress(self, task: Task, p: Progress) -> None:
        if task is self.task and p.phase == "training" and p.metrics:
            first = not self.chart.points()
            self.chart.add(p.metrics)
            if first or self.chart.held_back_points() == 1:
                self._update_curve()

    def _cancelled(self, task: Task) -> None:
        if task is self.task:
            self.banner.show_message(
                "Training cancelled. Nothing was written; the previous model is unchanged.",
                "info",
            )
            self._back_to_previous("cancelled")

    def _failed(self, task: Task, err: TaskError) -> None:
        if task is not self.task:
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
        size = next((t.split(" — ")[0] for a, t in MODEL_SIZES if a == exc.alpha), f"{exc.alpha:g}")
        small = MODEL_SIZES[0][1].split(" — ")[0]
        log.info("weights for model size %g not available: %s", exc.alpha, exc.why)
        return (
            f"Training failed: the {size} model size needs a one-time download of its "
            "pretrained weights, and it could not be downloaded — is this computer offline? "
            f"Choose <b>{small}</b> as Model size (it comes with the app), or connect to the "
            f"internet and train again. If you have the file {exc.filename}, pick it with "
            "<b>Choose…</b> next to Base model file."
        )

    def _back_to_previous(self, why: str) -> None:
        """The run did not finish: its model is still the previous one, so are the results."""
        if self._shown is None:
            self.chart.clear(self.session.settings.epochs)
            self.curve_toggle.hide()
            self.curve.hide()
            self.curve_toggle.setChecked(False)
            return
        result, _counts = self._shown
        self.chart.replay(list(result.history), self.session.settings.epochs)
        self.previous.setText(
            f"<b>Previous training</b> — the new one was {why}; this is the model in use."
        )
        self.previous.show()
        self._update_curve()

    def _done(self, task: Task, outcome: TrainOutcome) -> None:
        if task is not self.task:
            return
        result = outcome.result
        self.previous.hide()
        spv = self.eta.seconds_per_view if self.eta is not None else None
        if spv:  # this computer's speed, for the next estimate (at model size 0.35)
            import app.core.training_cost as trainer  # no NumPy: cheap

            s = self.session.settings
            measured = spv / trainer.base_width_cost(s.alpha)
            # half the old figure: one run on a momentarily busy machine must not swing it
            s.seconds_per_view = (
                measured if not s.seconds_per_view else (0.5 * s.seconds_per_view + 0.5 * measured)
            )
            s.save()
        self.session.set_report(outcome.report)
        self.session.set_result(result)
        self.session.set_model_dir(outcome.model_dir)
        self.show_result(result, outcome.counts)
        self.banner.show_message(
            f"Model saved in {outcome.model_dir} after {format_duration(result.duration_s)}.",
            "ok",
        )
        self.model_ready.emit(outcome.model_dir)

    def show_result(self, result: TrainResult, counts: dict[str, int]) -> None:
        names = {**self.session.names(), **result.names}
        thumbs = self.session.thumbnails
        catalog = self.session.catalog()
        first_image = {
            p.id: p.active_images()[0].path
            for p in (catalog.products if catalog else [])
            if p.active_images()
        }

        def name(pid: str) -> str:
            return names.get(pid, pid)

        def link(item: QTableWidgetItem, pid: str) -> QTableWidgetItem:
            """A product's name that opens it on Products (``_cell_clicked``)."""
            item.setData(PID_ROLE, pid)
            item.setForeground(QColor("#1d5fa8"))
            font = QFont(item.font())
            font.setUnderline(True)
            item.setFont(font)
            item.setToolTip(f"{item.toolTip()}\nClick to see its photos on Products".strip())
            return item

        self._shown = (result, counts)
        head = headline(result.val_accuracy, result.held_back)
        self.accuracy.setText(
            f"{head.text}<br><span style='color:#555'>{result.product_count} products · "
            f"{result.image_count} photos · {format_duration(result.duration_s)}</span>"
        )
        self.accuracy.setToolTip(f"How it was checked: {result.validation}")
        self.accept_line.setText(accept_text(result.accept))
        n_frames = result.counter_frames
        look = f"Shop's look: from {n_frames} counter frame{'s' if n_frames != 1 else ''}"
        skipped = len(result.frames_skipped)
        if n_frames and skipped:
            look += f" ({skipped} not used)"
        self.shop_look.setText(look if n_frames else "")
        tip = [result.centred_on] if result.centred_on else []
        tip += [f"Not used: {Path(f).name} — {why}" for f, why in result.frames_skipped[:10]]
        self.shop_look.setToolTip("\n".join(tip))
        self.shop_look.setVisible(bool(n_frames))
        # Products the owner left ticked that the model cannot know: no usable photo.
        trained = set(result.labels)
        untrained = [
            p.id for p in (catalog.active() if catalog is not None else []) if p.id not in trained
        ]
        rows = sorted(
            result.labels,
            key=lambda pid: (
                2 if result.per_product.get(pid) is None else 0,
                result.per_product.get(pid) or 0,
                name(pid),
            ),
        )
        self.per_product.setRowCount(len(rows) + len(untrained))
        for r, pid in enumerate(untrained):
            item = QTableWidgetItem(name(pid))
            item.setToolTip(f"Product ID {pid} — not in the model: it had no usable photo")
            self.per_product.setItem(r, 0, link(item, pid))
            self.per_product.setItem(r, 1, QTableWidgetItem("0"))
            a = QTableWidgetItem("needs photos")
            a.setForeground(QColor("#b03a2e"))
            self.per_product.setItem(r, 2, a)
        for r, pid in enumerate(rows, start=len(untrained)):
            acc = result.per_product.get(pid)
            item = QTableWidgetItem(name(pid))
            item.setToolTip(f"Product ID {pid}")
            self.per_product.setItem(r, 0, link(item, pid))
            self.per_product.setItem(r, 1, QTableWidgetItem(str(counts.get(pid, ""))))
            a = QTableWidgetItem(pct(acc) if acc is not None else "not measured")
            a.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if is_weak(acc):
                a.setForeground(QColor("#b03a2e"))
            self.per_product.setItem(r, 2, a)

        pairs = sorted(result.confusions, key=lambda c: -c[2])[:10]
        self.confusions.clearSpans()
        self.confusions.setRowCount(len(pairs))
        for r, (a_id, b_id, count) in enumerate(pairs):
            for col, pid in ((0, a_id), (1, b_id)):
                item = QTableWidgetItem(name(pid))
                if pid in first_image:
                    item.setIcon(QIcon(thumbs.get_or_placeholder(first_image[pid])))
                    item.setData(Qt.ItemDataRole.UserRole, str(first_image[pid]))
                self.confusions.setItem(r, col, link(item, pid))
            self.confusions.setItem(r, 2, QTableWidgetItem(str(count)))
        if not pairs:
            self.confusions.setRowCount(1)
            self.confusions.setItem(0, 0, QTableWidgetItem("No mix-ups on held-back photos"))
            self.confusions.setSpan(0, 0, 1, 3)

        needs = [
            p
            for p in weak_products(result.labels, result.per_product, counts)
            if p not in untrained
        ]
        lines: list[tuple[str, list[tuple[str, str]], str]] = []
        if untrained:
            lines.append(
                (
                    "<b>Needs photos</b> — not in the model, so the camera cannot recognise them:",
                    [(p, name(p)) for p in untrained[:20]],
                    "…" if len(untrained) > 20 else "",
                )
            )
        if needs:
            lines.append(
                (
                    "<b>Add photos of:</b>",
                    [(p, name(p)) for p in needs[:20]],
                    ("… " if len(needs) > 20 else "")
                    + "— a few photos taken at the counter help most.",
                )
            )
        self.more_photos.set_lines(lines, NONE_WEAK)
        self.results.show()
        self.curve_toggle.show()
        self._update_curve()

    def _confusion_thumb_ready(self, key: str) -> None:
        for r in range(self.confusions.rowCount()):
            for c in (0, 1):
                item = self.confusions.item(r, c)
                if item is not None and item.data(Qt.ItemDataRole.UserRole) == key:
                    item.setIcon(QIcon(self.session.thumbnails.get_or_placeholder(key)))
