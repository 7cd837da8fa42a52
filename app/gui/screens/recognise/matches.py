"""The Test screen's answers: the decision, the top-3 lines with bars, the image files.

Each image file's line puts the figure first ("92 % Banana", "(not sure)" below the
model's threshold), so a narrow list elides the end of a name, never the figure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFontMetrics, QIcon, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QScrollArea,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from app.core.wording import percent_beside

from ...accessible import named
from ...camera.images import rgb_to_qimage
from ...decision_widget import DecisionLine
from ...widgets import ElidedLabel, ProgressPanel, wrap_within
from .live import TOP_K, LiveRecognition

if TYPE_CHECKING:
    from app.core.flows.recognise import Decision, Recognition

THUMB = 64


@dataclass(frozen=True)
class ImageResult:
    """One image file: the picture, the model's top answers, or why it could not be read."""

    path: Path
    rgb: np.ndarray | None
    top: list[tuple[str, float]]  # (label, probability), most likely first
    error: str = ""
    decision: Decision | None = None  # what the till does with it

    @classmethod
    def of(cls, r: Recognition) -> ImageResult:
        top = [(m.label, m.probability) for m in r.matches]
        return cls(r.path, r.image, top, r.error, r.decision)


class MatchRow(QWidget):
    """One of the top-3 lines: product name, confidence bar, percentage."""

    def __init__(self, rank: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rank = rank
        self.name = ElidedLabel("—")  # a long name shrinks with "…", never the percentage
        font = self.name.font()
        if rank == 0:
            font.setPointSizeF(font.pointSizeF() * 1.35)
            font.setBold(True)
        self.name.setFont(font)
        self.bar = named(QProgressBar(), f"How sure, match {rank + 1}")
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(14 if rank == 0 else 10)
        color = "#2e7d32" if rank == 0 else "#7a8ba0"
        self.bar.setStyleSheet(
            "QProgressBar { border: none; background: #e6e8eb; border-radius: 4px; }"
            f"QProgressBar::chunk {{ background: {color}; border-radius: 4px; }}"
        )
        self.percent = QLabel("")
        self.percent.setFont(font)
        self.percent.setFixedWidth(QFontMetrics(font).horizontalAdvance("100 %") + 8)
        self.percent.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 2, 0, 2)
        grid.setVerticalSpacing(2)
        grid.addWidget(self.name, 0, 0)
        grid.addWidget(self.percent, 0, 1)
        grid.addWidget(self.bar, 1, 0, 1, 2)

    def show_match(self, name: str, probability: float, threshold: float = 1.01) -> None:
        """``threshold``: the till's; a match just under it never reads as reaching it
        (97 % beside "Not sure" and "adds by itself at 97 % or more")."""
        self.name.setText(name)
        self.bar.setValue(round(1000 * probability))
        self.percent.setText(percent_beside(probability, threshold))

    def clear(self) -> None:
        self.name.setText("—")
        self.bar.setValue(0)
        self.percent.setText("")


def fill_results(
    results: QListWidget,
    images: Sequence[ImageResult],
    threshold: float,
    name: Callable[[str], str],
) -> None:
    """One line per image file with its thumbnail; the chosen row is kept."""
    row = results.currentRow()
    results.blockSignals(True)
    results.clear()
    for r in images:
        if r.error:
            text = f"{r.path.name}\n{r.error}"
        elif r.top:
            label, p = r.top[0]
            unsure = " (not sure)" if p < threshold else ""
            # the figure first: a narrow list elides the end of the line, not the figure
            text = f"{r.path.name}\n{percent_beside(p, threshold)} {name(label)}{unsure}"
        else:
            text = f"{r.path.name}\n…"
        item = QListWidgetItem(text)
        item.setToolTip(text.replace("\n", " — ") + f"\n{r.path}")
        item.setSizeHint(QSize(0, THUMB + 8))
        if r.rgb is not None:
            step = max(1, max(r.rgb.shape[:2]) // THUMB)
            thumb = rgb_to_qimage(r.rgb[::step, ::step])
            item.setIcon(QIcon(QPixmap.fromImage(thumb)))
        results.addItem(item)
    results.blockSignals(False)
    if 0 <= row < results.count():
        results.setCurrentRow(row)


class AnswersPanel(QFrame):
    """The right of the Test screen: the till's decision, the top three, "Is it right?",
    the live rates, and the image files (or, without them, what to do)."""

    def __init__(self, correct: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        # shares a narrow (800×600) window with the preview; room for a scroll bar
        self.setMinimumWidth(255 + self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent))
        self.setMaximumWidth(340)
        heading = QLabel("Best matches")
        hf = heading.font()
        hf.setBold(True)
        heading.setFont(hf)
        self.rows = [MatchRow(i) for i in range(TOP_K)]
        self.decision = DecisionLine()  # "Sure: Banana" / "Not sure — …", the till's rule
        self.fps_label = QLabel()
        self.latency_label = QLabel()
        for lab in (self.fps_label, self.latency_label):
            lab.setStyleSheet("color: #5f6368;")
            wrap_within(lab)  # cut at the panel's edge in large text
        self.guide = QLabel(
            "Hold one product where the till's camera sees it. A good model puts that "
            "product on top with a long green bar; if it hesitates, add photos of it "
            "taken at the counter on the Products screen and train again."
        )
        self.guide.setWordWrap(True)
        self.guide.setObjectName("hint")
        self.results_heading = QLabel("Image files")
        self.results_heading.setFont(hf)
        self.results = named(QListWidget(), "Image files")
        self.results.setIconSize(QSize(THUMB, THUMB))
        self.results.setUniformItemSizes(True)  # every row as tall as its thumbnail
        self.results.setWordWrap(False)
        self.results.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.progress = ProgressPanel(self)
        # the answers scroll where the window is too short for them (large text at
        # 800×600 squashed the verdict's lines into each other and cut the help)
        body = QWidget()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        lay = QVBoxLayout(body)
        lay.addWidget(self.decision)
        lay.addWidget(heading)
        for row in self.rows:
            lay.addWidget(row)
        lay.addWidget(correct)
        lay.addSpacing(8)
        lay.addWidget(self.fps_label)
        lay.addWidget(self.latency_label)
        lay.addSpacing(8)
        lay.addWidget(self.results_heading)
        lay.addWidget(self.results, 1)
        lay.addWidget(self.progress)
        lay.addStretch(1)  # only while the image list (stretch 1) is hidden, see below
        self._stretch = lay.count() - 1
        lay.addWidget(self.guide)
        self._lay = lay
        self.set_results_visible(False)

    def set_results_visible(self, visible: bool) -> None:
        self.results_heading.setVisible(visible)
        self.results.setVisible(visible)
        self.guide.setVisible(not visible)
        self._lay.setStretch(self._stretch, 0 if visible else 1)

    def show(
        self,
        top: Sequence[tuple[str, float]],
        decision: Decision | None,
        name: Callable[[str], str],
    ) -> None:
        """A picture's answers: the top three by ``name``, and what the till does."""
        from app.core.flows.recognise import till_says

        at = decision.threshold if decision is not None else 1.01
        for i, row in enumerate(self.rows):
            if i < len(top):
                row.show_match(name(top[i][0]), top[i][1], at)
            else:
                row.clear()
        names = {label: name(label) for label, _ in top}
        self.decision.show(decision, till_says(decision, names) if decision else "")

    def clear(self) -> None:
        for row in self.rows:
            row.clear()
        self.decision.clear()

    def show_rates(self, live: LiveRecognition | None, has_model: bool) -> None:
        """Frames per second and time per picture of a live source (None: not live)."""
        for lab in (self.fps_label, self.latency_label):
            lab.setVisible(live is not None)  # no empty lines above the image list
        if live is None:
            self.fps_label.setText("")
            self.latency_label.setText("")
            return
        self.fps_label.setText(
            f"Preview: {live.camera_fps:.1f} fps · Recognition: {live.recognition_fps:.1f} fps"
        )
        if live.latency:
            ms = 1000 * float(np.median(list(live.latency)))
            self.latency_label.setText(f"{ms:.0f} ms per picture on this computer")
        else:
            self.latency_label.setText("Waiting for pictures…" if has_model else "")
