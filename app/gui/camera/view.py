"""The live picture: the latest frame scaled to fit, letterboxed on a dark background."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from .images import rgb_to_qimage


class FrameView(QWidget):
    """Paints the latest frame scaled to fit, letterboxed on a dark background.

    Painting a QImage directly is cheaper than a QLabel pixmap and never changes
    the layout when the frame size changes.
    """

    def __init__(self, parent: QWidget | None = None, placeholder: str = "") -> None:
        super().__init__(parent)
        self._image = QImage()
        self._placeholder = ""
        self.placeholder = placeholder
        self.setMinimumSize(240, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    @property
    def placeholder(self) -> str:
        """The words painted without a picture ("No camera found"); a screen reader is
        told them too, as they are painted, not a label's text."""
        return self._placeholder

    @placeholder.setter
    def placeholder(self, text: str) -> None:
        self._placeholder = text
        self.setAccessibleDescription(text)
        self.update()

    def set_frame(self, rgb: np.ndarray | None) -> None:
        self.set_image(rgb_to_qimage(rgb) if rgb is not None else QImage())

    def set_image(self, image: QImage) -> None:
        self._image = image
        self.update()

    def image(self) -> QImage:
        return self._image

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(480, 360)

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#1f2329"))
        if self._image.isNull():
            if self.placeholder:
                p.setPen(QColor("#c8ccd2"))
                box = self.rect().adjusted(12, 12, -12, -12)  # wrapped: on one line a long
                flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap  # reason lost
                p.drawText(box, int(flags), self.placeholder)  # both ends at 800×600
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        img = self._image.size()
        scaled = img.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        x = (self.width() - scaled.width()) / 2
        y = (self.height() - scaled.height()) / 2
        p.drawImage(QRectF(x, y, scaled.width(), scaled.height()), self._image)
