"""What a training found, first on the Train screen: the verdict, per product, mix-ups.

"Recognised 23 of 25 held-back photos (92 %)", when the till adds by itself, which
products need photos, accuracy per product and the pairs most often confused (with
thumbnails). Each product's name asks for it on Products (:attr:`TrainingResults.
product_requested`: the window shows it, screens never import each other).
"""

from __future__ import annotations

import re
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QResizeEvent
from PySide6.QtWidgets import (
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

from app.core.flows.standings import (
    ProductStanding,
    describe_standing,
    reliability_words,
    short_why,
    standings_of,
    trained_from_words,
)
from app.core.flows.train import UNMEASURED_THRESHOLD
from app.core.wording import (
    NONE_WEAK,
    headline,
    is_weak,
    mixed_shop_words,
    never_sure,
    percent,
    weak_products,
)

from ...accessible import named
from ...session import Session
from ...widgets import FlowLayout, format_duration, keep_splitter, link_button

if TYPE_CHECKING:
    from app.core.flows.train import Acceptance, TrainResult

PID_ROLE = Qt.ItemDataRole.UserRole + 1  # a table cell's product id (UserRole: thumbnail)
Line = tuple[str, list[tuple[str, str, str]], str]  # (lead, [(id, name, why)], after)
COLUMNS = ["Product", "Photos", "Recognised", "Trained from", "Reliability"]
FROM_COL, RELIABILITY_COL = 3, 4  # what each product was trained from (issue 15)
NARROW = 1000  # results narrower than this: the two tables one above the other


class ProductLinks(QWidget):
    """Lines like "Add photos of: Avocado Kiwi": each name a link-styled button that
    asks for that product on Products (``clicked``), with a short why after it when
    there is one; ``text()`` is what it says."""

    clicked = Signal(str, str)  # product id, its name

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._lay = QVBoxLayout(self)
        self._lay.setContentsMargins(0, 0, 0, 0)
        self._lay.setSpacing(2)
        self._text = ""
        self._buttons: list[QPushButton] = []

    def set_lines(self, lines: list[Line], empty: str) -> None:
        """``(lead, [(id, name, why), …], after)`` per line (``why`` may be "");
        ``empty`` when there are none."""
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
            for pid, name, why in products:
                b = link_button(name, f"See the photos of {name} on Products (ID {pid})")
                b.clicked.connect(lambda _=False, p=pid, n=name: self.clicked.emit(p, n))
                flow.addWidget(b)
                self._buttons.append(b)
                if why:
                    reason = QLabel(f"({why})")
                    reason.setTextFormat(Qt.TextFormat.PlainText)
                    reason.setObjectName("hint")
                    flow.addWidget(reason)
            if after:
                hint = QLabel(after)
                hint.setObjectName("hint")
                flow.addWidget(hint)
            self._lay.addWidget(row)
            names = ", ".join(f"{n} ({why})" if why else n for _, n, why in products)
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
        at = percent(a.threshold if a is not None else UNMEASURED_THRESHOLD)
        return (
            f"The till asks the cashier unless it is at least {at} sure (too few held-back "
            "photos to measure when it can be sure)."
        )
    if not a.coverage or a.precision is None:
        return never_sure(percent(a.target))
    return (
        f"The till adds a product by itself at {percent(a.threshold)} or more: "
        f"{percent(a.coverage)} of held-back photos, {percent(a.precision)} of them right."
    )


class TrainingResults(QWidget):
    """The results of the training shown (hidden until there is one)."""

    product_requested = Signal(str, str)  # a product's name was clicked (id, name)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.previous = QLabel()  # "Previous training" while a new one runs or was cancelled
        self.previous.setObjectName("hint")
        self.previous.setWordWrap(True)
        self.previous.hide()
        self.shown: tuple[TrainResult, dict[str, int]] | None = None  # (result, counts)
        self.accuracy = QLabel()
        self.accuracy.setObjectName("bignumber")
        self.accuracy.setWordWrap(True)
        self.accept_line = QLabel()  # "The till adds a product by itself at 86 % or more: …"
        self.accept_line.setWordWrap(True)
        self.shop_look = QLabel()  # "Shop's look: from 20 counter frames"
        self.shop_look.setObjectName("hint")
        self.shop_look.hide()
        self.per_product = named(QTableWidget(0, len(COLUMNS)), "Per product")
        self.per_product.setHorizontalHeaderLabels(COLUMNS)
        self._setup_table(self.per_product)
        for col in (FROM_COL, RELIABILITY_COL):
            self.per_product.horizontalHeader().setSectionResizeMode(
                col, QHeaderView.ResizeMode.ResizeToContents
            )
        self.per_product.horizontalHeaderItem(FROM_COL).setToolTip(
            "Its catalogue photo only, or how many photos taken at the counter"
        )
        self.per_product.horizontalHeaderItem(RELIABILITY_COL).setToolTip(
            "How often it should be recognised at the counter: its own held-back photos "
            "(Recognised) weighed with the shop's rate, since two or three photos say "
            "little; ~ from the shop's other products alone"
        )
        self.confusions = named(QTableWidget(0, 3), "Most often confused")
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

        rl = QVBoxLayout(self)
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
        ll.addWidget(
            QLabel("<b>Per product</b> (held-back photos recognised, what it was trained from)")
        )
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
        session.thumbnails.ready.connect(self._confusion_thumb_ready)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        """Narrow (800×600): the per-product table above the mix-ups, each full width."""
        narrow = event.size().width() < NARROW
        self.pair.setOrientation(Qt.Orientation.Vertical if narrow else Qt.Orientation.Horizontal)
        super().resizeEvent(event)

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

    def _cell_clicked(self, table: QTableWidget, row: int, col: int) -> None:
        item = table.item(row, col)
        pid = item.data(PID_ROLE) if item is not None else None
        if pid:
            self.product_requested.emit(str(pid), item.text())

    def show_result(self, result: TrainResult, counts: dict[str, int]) -> None:
        """One training's results (``counts``: photos per product)."""
        names = {**self.session.names(), **result.names}
        thumbs = self.session.thumbnails
        catalogue = self.session.catalogue()
        first_image = {
            p.id: p.active_images()[0].path
            for p in (catalogue.products if catalogue else [])
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

        self.shown = (result, counts)
        head = headline(result.val_accuracy, result.held_back)
        mixed = mixed_shop_words([(s.trained_from, s.expected) for s in result.standings])
        mixed = f"<br>{escape(mixed)}" if mixed and result.val_accuracy is not None else ""
        self.accuracy.setText(
            f"{head.text}{mixed}<br><span style='color:#555'>{result.product_count} products · "
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
        ticked = catalogue.active() if catalogue is not None else []
        untrained = [p.id for p in ticked if p.id not in trained]
        standings = standings_of(result)
        rows = sorted(
            result.labels,
            key=lambda pid: (
                # "photograph these first" when the training ranked them, else weakest first
                standings.rank(pid) if standings.rank(pid) is not None else len(result.labels),
                2 if result.per_product.get(pid) is None else 0,
                result.per_product.get(pid) or 0,
                name(pid),
            ),
        )
        self.per_product.setRowCount(len(rows) + len(untrained))
        for col in (FROM_COL, RELIABILITY_COL):
            self.per_product.setColumnHidden(col, not standings.ranked)
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
            if is_weak(acc):  # in words too, not only in red
                a.setText(f"{a.text()} · weak")
                a.setForeground(QColor("#b03a2e"))
            self.per_product.setItem(r, 2, a)
            self._standing_cells(r, standings.of(pid), name(pid))

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

        # the one verdict decides which (weak_products); the training's ranking, the order
        weak = weak_products(result.labels, result.per_product, counts)
        needs = sorted(
            (p for p in weak if p not in untrained),
            key=lambda p: len(weak) if standings.rank(p) is None else standings.rank(p),
        )

        def why(pid: str) -> str:
            standing = standings.of(pid)
            return short_why(standing) if standing is not None else ""

        lines: list[Line] = []
        if untrained:
            lines.append(
                (
                    "<b>Needs photos</b> — not in the model, so the camera cannot recognise them:",
                    [(p, name(p), "") for p in untrained[:20]],
                    "…" if len(untrained) > 20 else "",
                )
            )
        if needs:
            lines.append(
                (
                    "<b>Add photos of:</b>",
                    [(p, name(p), why(p)) for p in needs[:20]],
                    ("… " if len(needs) > 20 else "")
                    + "— a few photos taken at the counter help most.",
                )
            )
        self.more_photos.set_lines(lines, NONE_WEAK)

    def _standing_cells(self, row: int, standing: ProductStanding | None, name: str) -> None:
        """What the product was trained from and how reliable it is expected to be."""
        if standing is None:
            for col in (FROM_COL, RELIABILITY_COL):
                self.per_product.setItem(row, col, QTableWidgetItem(""))
            return
        said = describe_standing(standing, name)
        source = QTableWidgetItem(trained_from_words(standing))
        reliability = QTableWidgetItem(reliability_words(standing))
        reliability.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if standing.trained_from == "catalogue":
            source.setForeground(QColor("#9a5b00"))
        if is_weak(standing.expected):
            reliability.setText(f"{reliability.text()} · weak")
            reliability.setForeground(QColor("#b03a2e"))
        for col, item in ((FROM_COL, source), (RELIABILITY_COL, reliability)):
            item.setToolTip(said)
            self.per_product.setItem(row, col, item)

    def _confusion_thumb_ready(self, key: str) -> None:
        for r in range(self.confusions.rowCount()):
            for c in (0, 1):
                item = self.confusions.item(r, c)
                if item is not None and item.data(Qt.ItemDataRole.UserRole) == key:
                    item.setIcon(QIcon(self.session.thumbnails.get_or_placeholder(key)))
