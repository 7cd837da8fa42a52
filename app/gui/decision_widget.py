"""What the till would do with a picture: "Sure: Oat milk 1 l" or "Not sure — A? B? C?".

The Test screen shows it above the top-3 bars, with the model's own rule under it
("The till adds by itself at 86 % or more"): the POS adds the top product without
asking when its probability reaches the model's ``acceptThreshold`` and shows the top
three to the cashier below it (:mod:`app.core.flows.recognise`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.core.wording import percent, percent_beside

if TYPE_CHECKING:
    from app.core.flows.recognise import Decision

SURE_STYLE = "color: #1b5e20; background: #e3f2e5; border-radius: 4px; padding: 4px 6px;"
UNSURE_STYLE = "color: #7a4a00; background: #fdf1dc; border-radius: 4px; padding: 4px 6px;"


def has_own_threshold(metadata: dict[str, Any], threshold: float) -> bool:
    """``acceptThreshold`` in metadata.json is the one in use (not the cautious default)."""
    value = metadata.get("acceptThreshold")
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return number and float(value) == threshold


def rule_text(metadata: dict[str, Any], threshold: float) -> tuple[str, str]:
    """The small line under the decision, and its tooltip, for a loaded model."""
    cautious = f"The till adds by itself at {percent(threshold)} or more (a cautious value)."
    if not has_own_threshold(metadata, threshold):
        return cautious, (
            "This model has no threshold of its own (a Teachable Machine export, or an "
            "older one). Models trained by this app measure theirs on held-back photos."
        )
    if metadata.get("acceptMeasured") is False:
        return cautious, (
            "Too few held-back photos to measure when the till can be sure. More photos "
            "per product let training measure it."
        )
    if threshold > 1.0:
        return "The till never adds by itself: it always asks the cashier.", ""
    tip = ""
    precision, coverage = metadata.get("acceptPrecision"), metadata.get("acceptCoverage")
    if isinstance(precision, (int, float)) and isinstance(coverage, (int, float)):
        tip = (
            f"Measured on the held-back photos of its training: {percent(coverage)} of them "
            f"reached it, {percent(precision)} of those right."
        )
    return f"The till adds by itself at {percent(threshold)} or more; below, it asks.", tip


class DecisionLine(QWidget):
    """The decision (hidden until there is a picture) and the model's rule."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.line = QLabel()
        self.line.setTextFormat(Qt.TextFormat.PlainText)  # product names, as named
        self.line.setWordWrap(True)  # three long product names stay readable
        font = self.line.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        self.line.setFont(font)
        self.line.hide()
        self.rule = QLabel()
        self.rule.setWordWrap(True)
        small = self.rule.font()
        small.setPointSizeF(small.pointSizeF() * 0.9)
        self.rule.setFont(small)
        self.rule.setStyleSheet("color: #5f6368;")
        self.rule.hide()
        self.sure: bool | None = None  # the decision on screen (None: none)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.line)
        lay.addWidget(self.rule)

    def text(self) -> str:
        return self.line.text() if self.sure is not None else ""

    def set_rule(self, text: str, tip: str = "") -> None:
        self.rule.setText(text)
        self.rule.setToolTip(tip)
        self.rule.setVisible(bool(text))

    def show(self, decision: Decision | None, said: str) -> None:
        """The till's decision on a picture (:func:`app.core.flows.recognise.recognise`)
        in its words ``said`` (:func:`~app.core.flows.recognise.till_says`)."""
        if decision is None or not decision.top:
            self.clear()
            return
        self.sure = decision.sure
        self.line.setText(said)
        self.line.setStyleSheet(SURE_STYLE if decision.sure else UNSURE_STYLE)
        top, threshold = decision.top[0][1], decision.threshold
        self.line.setToolTip(
            f"Top product at {percent_beside(top, threshold)}; the till adds by itself at "
            f"{percent(threshold)} or more, and asks the cashier below."
        )
        self.line.show()

    def clear(self) -> None:
        self.sure = None
        self.line.clear()
        self.line.hide()
