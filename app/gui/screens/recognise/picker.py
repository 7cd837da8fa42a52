""" "Which product is it?": the answer's picture, a search box and the shop's products,
the model's top three first (the cashier's "No, it is…" on the Test screen), each with
a thumbnail of its first photo, decoded only for the rows on screen (:mod:`.thumbs`)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from PySide6.QtCore import QPoint, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.names import name_key

from ...accessible import named
from ...camera.view import FrameView
from ...fitting import resize_within_screen
from ...style import MUTED
from .choices import DELETED, NOTE_TIPS, Choice
from .thumbs import Photos, ProductThumbnails

ID_ROLE = Qt.ItemDataRole.UserRole + 1


def _blank(size: int, color: str) -> QIcon:
    pm = QPixmap(size, size)
    pm.fill(QColor(color))
    return QIcon(pm)


class ProductPicker(QDialog):
    """ "Which product is it?": the picture, a search box, the list; top three first."""

    teach_requested = Signal(str)  # "Teach it with the camera…" for the chosen product

    def __init__(
        self,
        frame: np.ndarray | None,
        choices: list[Choice],
        parent: QWidget | None = None,
        photos: Mapping[str, Photos] | None = None,
        thumbnails: ProductThumbnails | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Which product is it?")
        self.choices = choices
        # what the search box matches, made once, not at every key
        self._search = [name_key(f"{c.name} {c.product_id}") for c in choices]
        self.chosen: str | None = None
        # each row's first photos (rows of products without one have none)
        self.photos = [(photos or {}).get(c.product_id) for c in choices]
        self.thumbnails = thumbnails
        self.picture = named(FrameView(self, ""), "The picture to name")
        self.picture.setMinimumSize(160, 120)
        self.picture.setMaximumWidth(220)
        self.picture.set_frame(frame)
        self.search = named(QLineEdit(), "Search products")
        self.search.setPlaceholderText("Search products by name or ID")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)
        self.list = named(QListWidget(), "Products")
        self.list.setUniformItemSizes(True)
        size = thumbnails.size if thumbnails is not None else 0
        if size:
            self.list.setIconSize(QSize(size, size))
            self._loading = _blank(size, "#e4e4e4")  # until its photo is decoded
            self._none = _blank(size, "#00000000")  # no photo (or unreadable): same row height
            thumbnails.ready.connect(self._thumbnails_ready)
            self.list.verticalScrollBar().valueChanged.connect(lambda _v: self._ask_soon())
        self._asking = QTimer(self, singleShot=True, interval=20)  # one wish per burst
        self._asking.timeout.connect(self._ask_thumbnails)
        self.list.itemDoubleClicked.connect(lambda _it: self._accept())
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        for c in choices:
            text = c.name
            if c.probability is not None:
                text = f"{100 * c.probability:.0f} %  {c.name}"
            if c.note:
                text += f"  ({c.note})"
            item = QListWidgetItem(text)
            item.setData(ID_ROLE, c.product_id)
            tip = f"{c.name} — product ID {c.product_id}"
            item.setToolTip(f"{tip}\n{NOTE_TIPS[c.note]}" if c.note else tip)
            if c.note == DELETED:
                item.setForeground(QColor(MUTED))
            if size:
                item.setIcon(self._icon(self.photos[self.list.count()]))
            self.list.addItem(item)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = buttons.addButton(
            "Teach this product", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.camera_button = buttons.addButton(
            "With the camera…", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.camera_button.setToolTip(
            "Teach the chosen product from about 10 camera pictures instead of this one"
        )
        self.camera_button.clicked.connect(self._teach_with_camera)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        right = QVBoxLayout()
        right.addWidget(self.search)
        right.addWidget(self.list, 1)
        body = QHBoxLayout()
        body.addWidget(self.picture, 0, Qt.AlignmentFlag.AlignTop)
        body.addLayout(right, 1)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Choose the product in the picture; the search box finds it."))
        lay.addLayout(body, 1)
        lay.addWidget(buttons)
        resize_within_screen(self, 560, 420)  # about seven rows with their thumbnails
        self._update_buttons()
        self.search.setFocus()

    # -- thumbnails ------------------------------------------------------------------
    def _icon(self, photo: Photos | None) -> QIcon:
        if photo is None or self.thumbnails is None:
            return self._none
        if not self.thumbnails.known(photo):
            return self._loading
        pixmap = self.thumbnails.get(photo)
        return QIcon(pixmap) if pixmap is not None else self._none

    def shown_rows(self) -> list[int]:
        """The rows on screen now (not hidden by the search), top to bottom."""
        view = self.list.viewport().rect()
        first = self.list.indexAt(QPoint(1, 1)).row()
        rows = []
        for i in range(max(0, first), self.list.count()):
            item = self.list.item(i)
            if item.isHidden():
                continue
            rect = self.list.visualItemRect(item)
            if rect.top() > view.bottom():
                break
            if rect.intersects(view):
                rows.append(i)
        return rows

    def _ask_soon(self) -> None:
        if self.thumbnails is not None:
            self._asking.start()

    @Slot()
    def _ask_thumbnails(self) -> None:
        """The shown rows' photos, the model's top three first."""
        shown = self.shown_rows()
        top = [i for i in shown if self.choices[i].probability is not None]
        rows = top + [i for i in shown if i not in top]
        wanted = [p for i in rows if (p := self.photos[i]) is not None]
        if self.thumbnails is not None:
            self.thumbnails.want(wanted)

    @Slot(list)
    def _thumbnails_ready(self, products: list[Photos]) -> None:
        done = set(products)
        for i, photo in enumerate(self.photos):
            if photo in done:
                self.list.item(i).setIcon(self._icon(photo))

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self._ask_soon()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._ask_soon()

    def done(self, result: int) -> None:
        """Closed: the rows it showed are not wanted any more."""
        if self.thumbnails is not None:
            self.thumbnails.want([])
        super().done(result)

    def current_id(self) -> str | None:
        item = self.list.currentItem()
        return None if item is None or item.isHidden() else str(item.data(ID_ROLE))

    def choose(self, product_id: str) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(ID_ROLE) == product_id:
                self.list.setCurrentRow(i)
                return

    @Slot(str)
    def _filter(self, text: str) -> None:
        words = name_key(text).split()
        first_shown = None
        for i, hay in enumerate(self._search):
            hide = not all(w in hay for w in words)
            self.list.item(i).setHidden(hide)
            if not hide and first_shown is None:
                first_shown = i
        cur = self.list.currentItem()
        if first_shown is not None and (cur is None or cur.isHidden()):
            self.list.setCurrentRow(first_shown)
        self._update_buttons()
        self._ask_soon()

    def _update_buttons(self) -> None:
        ok = self.current_id() is not None
        self.ok_button.setEnabled(ok)
        self.camera_button.setEnabled(ok)

    @Slot()
    def _accept(self) -> None:
        pid = self.current_id()
        if pid is not None:
            self.chosen = pid
            self.accept()

    @Slot()
    def _teach_with_camera(self) -> None:
        pid = self.current_id()
        if pid is not None:
            self.reject()  # this picture is not stored; the camera's are
            self.teach_requested.emit(pid)
