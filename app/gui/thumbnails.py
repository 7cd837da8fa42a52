"""Lazy thumbnails: views ask, one background thread decodes, the view repaints.

Views call :meth:`Thumbnails.get` from ``data()`` (so only visible rows ask);
it returns a cached pixmap or ``None`` and queues the file; while a long list scrolls,
:meth:`Thumbnails.peek` shows what is cached and queues nothing, so rows that only
flew past are never decoded. Newest requests are
served first, so scrolling quickly does not wait for rows already gone. Decoding
uses ``QImageReader`` with a scaled size, so a 40-megapixel photo never becomes a
full-size bitmap. ``QImage`` (not ``QPixmap``) is safe to build off the UI thread.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QIODevice,
    QObject,
    QSize,
    Qt,
    QThread,
    Signal,
    Slot,
)
from PySide6.QtGui import QColor, QGuiApplication, QImage, QImageReader, QPainter, QPixmap

log = logging.getLogger(__name__)


class _Decoder(QThread):
    decoded = Signal(str, QImage)

    def __init__(self, size: int) -> None:
        super().__init__()
        self.setObjectName("thumbnails")
        self._size = size
        self._cond = threading.Condition()
        self._stack: list[str] = []
        self._stop = False

    def request(self, key: str) -> None:
        with self._cond:
            if key in self._stack:
                self._stack.remove(key)
            self._stack.append(key)
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()

    def run(self) -> None:
        while True:
            with self._cond:
                while not self._stack and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                key = self._stack.pop()
            self.decoded.emit(key, decode_thumbnail(Path(key), self._size))


def decode_thumbnail(path: Path, size: int) -> QImage:
    """A square-cropped, EXIF-rotated thumbnail, or a null image if unreadable."""
    return _decode(QImageReader(str(path)), size)


def decode_thumbnail_data(data: bytes, size: int) -> QImage:
    """The same from a photo's bytes (a frame from the till, never written to disk);
    safe off the UI thread, like :func:`decode_thumbnail`."""
    buffer = QBuffer()
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    try:
        return _decode(QImageReader(buffer), size)
    finally:
        buffer.close()


def _decode(reader: QImageReader, size: int) -> QImage:
    reader.setAutoTransform(True)
    src = reader.size()
    if src.isValid() and src.width() > 0 and src.height() > 0:
        # Decode at a reduced size (JPEG decodes scaled); keep aspect, cover the square.
        scale = max(size / src.width(), size / src.height())
        if scale < 1:
            reader.setScaledSize(
                QSize(max(1, round(src.width() * scale)), max(1, round(src.height() * scale)))
            )
    img = reader.read()
    if img.isNull():
        return QImage()
    img = img.scaled(
        size,
        size,
        Qt.AspectRatioMode.KeepAspectRatioByExpanding,
        Qt.TransformationMode.SmoothTransformation,
    )
    x, y = (img.width() - size) // 2, (img.height() - size) // 2
    return img.copy(x, y, size, size).convertToFormat(QImage.Format.Format_RGB32)


def placeholder(size: int, text: str = "", color: str = "#e4e4e4") -> QPixmap:
    pm = QPixmap(size, size)
    pm.fill(QColor(color))
    if text:
        p = QPainter(pm)
        p.setPen(QColor("#555"))  # 5.5:1 on the red of "unreadable" (#666: 4.2)
        p.drawText(pm.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)
        p.end()
    return pm


class Thumbnails(QObject):
    """A bounded pixmap cache fed by one decoder thread; ``ready(path)`` on arrival."""

    ready = Signal(str)

    def __init__(self, size: int = 96, capacity: int = 2000, parent: QObject | None = None):
        super().__init__(parent)
        self.size = size
        self._cache: OrderedDict[str, QPixmap] = OrderedDict()
        self._pending: set[str] = set()
        self.requested = 0  # files queued for decoding so far (each once until decoded)
        self.unreadable = placeholder(size, "unreadable", "#f4d6d6")
        self.loading = placeholder(size)
        # Decode at device pixels, so thumbnails stay sharp on 150 %/200 % displays.
        screen = QGuiApplication.primaryScreen()
        self._dpr = max(1.0, screen.devicePixelRatio()) if screen else 1.0
        # ``capacity`` thumbnails at 100 %; fewer where each has more device pixels, so
        # the cache keeps to about 70 MB (2,000 at 200 % would have held about 290 MB)
        self.capacity = max(1, round(capacity / self._dpr**2))
        self._decoder = _Decoder(round(size * self._dpr))
        self._decoder.decoded.connect(self._on_decoded, Qt.ConnectionType.QueuedConnection)
        self._decoder.start(QThread.Priority.LowPriority)

    def get(self, path: Path | str) -> QPixmap | None:
        """The thumbnail if cached; otherwise ``None`` and a decode is queued."""
        key = str(path)
        pm = self._cache.get(key)
        if pm is not None:
            self._cache.move_to_end(key)
            return pm
        if key not in self._pending:
            self._pending.add(key)
            self.requested += 1
        self._decoder.request(key)
        return None

    def peek(self, path: Path | str) -> QPixmap | None:
        """The thumbnail if cached, else None; queues nothing (a list scrolling past)."""
        return self._cache.get(str(path))

    def get_or_placeholder(self, path: Path | str) -> QPixmap:
        pm = self.get(path)
        return self.loading if pm is None else pm

    def busy(self) -> bool:
        """Decodes are still queued or running."""
        return bool(self._pending)

    def is_unreadable(self, path: Path | str) -> bool:
        return self._cache.get(str(path)) is self.unreadable

    @Slot(str, QImage)
    def _on_decoded(self, key: str, img: QImage) -> None:
        self._pending.discard(key)
        if img.isNull():
            self._cache[key] = self.unreadable
        else:
            pm = QPixmap.fromImage(img)
            pm.setDevicePixelRatio(self._dpr)
            self._cache[key] = pm
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        self.ready.emit(key)

    def forget(self, path: Path | str) -> None:
        self._cache.pop(str(path), None)

    def shutdown(self) -> None:
        self._decoder.stop()
        self._decoder.wait(3000)
