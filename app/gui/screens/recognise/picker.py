""" "Which product is it?": the answer's picture, a search box and the shop's products,
the model's top three first (the cashier's "No, it is…" on the Test screen)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
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

from ...camera.view import FrameView
from .choices import DELETED, NOTE_TIPS, Choice

ID_ROLE = Qt.ItemDataRole.UserRole + 1


class ProductPicker(QDialog):
    """ "Which product is it?": the picture, a search box, the list; top three first."""

    teach_requested = Signal(str)  # "Teach it with the camera…" for the chosen product

    def __init__(
        self, frame: np.ndarray | None, choices: list[Choice], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Which product is it?")
        self.choices = choices
        self.chosen: str | None = None
        self.picture = FrameView(self, "")
        self.picture.setMinimumSize(160, 120)
        self.picture.setMaximumWidth(220)
        self.picture.set_frame(frame)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search products by name or ID")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)
        self.list = QListWidget()
        self.list.setUniformItemSizes(True)
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
                item.setForeground(Qt.GlobalColor.gray)
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
        self.resize(520, 340)
        self._update_buttons()
        self.search.setFocus()

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
        words = text.casefold().split()
        first_shown = None
        for i, c in enumerate(self.choices):
            hay = f"{c.name} {c.product_id}".casefold()
            hide = not all(w in hay for w in words)
            self.list.item(i).setHidden(hide)
            if not hide and first_shown is None:
                first_shown = i
        cur = self.list.currentItem()
        if first_shown is not None and (cur is None or cur.isHidden()):
            self.list.setCurrentRow(first_shown)
        self._update_buttons()

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
