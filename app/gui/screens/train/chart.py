"""The training pass by pass, drawn live ("How the training went", folded away)."""

from __future__ import annotations

from PySide6.QtCharts import QChart, QChartView, QLineSeries, QValueAxis
from PySide6.QtCore import QMargins, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget


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
        # told apart by line as well as colour (red and green look alike to many); the
        # green is dark enough for 3:1 on white (#27ae60 was 2.9)
        for series, color, line in (
            (self.loss, "#c0392b", Qt.PenStyle.SolidLine),
            (self.acc, "#2e86c1", Qt.PenStyle.DotLine),
            (self.val_acc, "#1e8449", Qt.PenStyle.DashLine),
        ):
            pen = QPen(QColor(color))
            pen.setStyle(line)
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
