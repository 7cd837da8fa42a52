"""Small first-photo thumbnails for the "No, it is…" list, decoded on the task runner.

The list can hold a supermarket's 5,000 products, so nothing is decoded up front: the
picker asks for the rows it shows (the model's top three first), each wish replacing
the last, and one task at a time decodes a few of them. A product's thumbnail is the
first of its photos (a few are given) that can be read. Decoded images stay cached for
the next picker (a cashier corrects again within seconds).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from threading import Event
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QGuiApplication, QImage, QPixmap

from app.core.errors import Cancelled

from ...tasks import Task, TaskRunner

SIZE = 40  # px: a list row's height with its name beside it
BATCH = 8  # photos one task decodes; the first batch holds the top three
RESOURCE = "picker-thumbnails"

Photos = tuple[Path, ...]  # one product's photos, the first readable one is shown


class ProductThumbnails(QObject):
    """Pixmaps of products' first photos, decoded only when a picker row shows them."""

    ready = Signal(list)  # the Photos decoded by the last task (unreadable ones too)

    def __init__(
        self,
        runner: TaskRunner,
        size: int = SIZE,
        capacity: int = 600,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.size = size
        self.capacity = capacity
        self.decoded: list[Photos] = []  # every product's photos decoded, in order (tests)
        self._cache: OrderedDict[Photos, QPixmap | None] = OrderedDict()  # None: unreadable
        self._wanted: list[Photos] = []
        self._task: Task | None = None
        screen = QGuiApplication.primaryScreen()
        self._dpr = max(1.0, screen.devicePixelRatio()) if screen else 1.0

    def get(self, photos: Photos) -> QPixmap | None:
        """The thumbnail when decoded (None: not yet, or no photo can be read)."""
        return self._cache.get(photos)

    def known(self, photos: Photos) -> bool:
        return photos in self._cache

    def want(self, products: Sequence[Photos]) -> None:
        """Decode these products' thumbnails, in this order; replaces the previous wish
        (rows scrolled away are not decoded any more)."""
        self._wanted = list(dict.fromkeys(p for p in products if p not in self._cache))
        self._next()

    @property
    def busy(self) -> bool:
        return self._task is not None

    def _next(self) -> None:
        if self._task is not None or not self._wanted:
            return
        batch, self._wanted = self._wanted[:BATCH], self._wanted[BATCH:]
        pixels = round(self.size * self._dpr)

        def work(_on_progress: Any, cancel: Event) -> list[tuple[Photos, QImage]]:
            from ...thumbnails import decode_thumbnail

            out = []
            for photos in batch:
                image = QImage()
                for path in photos:  # the first one that can be read
                    if cancel.is_set():
                        raise Cancelled("Cancelled.")
                    image = decode_thumbnail(path, pixels)  # a QImage: any thread may
                    if not image.isNull():
                        break
                out.append((photos, image))
            return out

        task = self.runner.start(RESOURCE, work)
        self._task = task
        task.succeeded.connect(self._decoded)
        task.finished.connect(lambda t=task: self._finished(t))

    def _decoded(self, images: list[tuple[Photos, QImage]]) -> None:
        for photos, image in images:
            pixmap = None
            if not image.isNull():
                pixmap = QPixmap.fromImage(image)  # QPixmap: the UI thread only
                pixmap.setDevicePixelRatio(self._dpr)
            self._cache[photos] = pixmap
            self.decoded.append(photos)
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        self.ready.emit([p for p, _ in images])

    def _finished(self, task: Task) -> None:
        if task is self._task:
            self._task = None
            self._next()
