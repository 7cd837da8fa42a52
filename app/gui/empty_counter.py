"""The shop's photos of its empty counter, on the Products screen.

"Empty counter: 5 photos [Photograph the empty counter…] [Clear]": a few pictures of
the counter with nothing of the shop on it, trained as "not a product"
(:mod:`app.core.not_products`), so the till asks instead of guessing when the counter
is empty. Plain widgets: :mod:`app.core.not_products` (NumPy, Pillow) loads once a shop
is open and the camera dialog (QtMultimedia) on first use, not at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMessageBox, QPushButton, QWidget

from .session import Session

if TYPE_CHECKING:
    from PySide6.QtWidgets import QDialog

    from .frames import FrameSource

WHY = "these teach the till to ask instead of guessing when nothing of the shop is on the counter."


def count_text(n: int) -> str:
    """ "<b>Empty counter: 5 photos</b> — these teach the till …"."""
    photos = "no photos yet" if n == 0 else f"{n} photo{'s' if n != 1 else ''}"
    return f"<b>Empty counter: {photos}</b> — {WHY}"


class EmptyCounterPanel(QFrame):
    """One line with the count and the two buttons; hidden while no shop is open.

    ``stand_in`` gives the camera stand-in of the moment (tests, the screenshot script),
    as for :class:`app.gui.counter_panel.CounterFramesPanel`.
    """

    message = Signal(str, str)  # text, Banner kind: for the screen's banner

    def __init__(
        self,
        session: Session,
        parent: QWidget | None = None,
        stand_in: Callable[[], Callable[[], FrameSource] | None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.stand_in = stand_in
        self.capture_interval_s = 1.0  # tests shorten it
        self.count = 0
        self.confirm_box: QMessageBox | None = None
        self.setObjectName("emptyCounter")
        self.setStyleSheet(
            "#emptyCounter { background: #f3f6f9; border: 1px solid #d8dee4; border-radius: 6px; }"
        )
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.capture_button = QPushButton("Photograph the empty counter…")
        self.capture_button.setToolTip(
            "A few pictures of the counter camera with none of the shop's products in view"
        )
        self.capture_button.clicked.connect(self.open_capture)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Delete this shop's photos of its empty counter")
        self.clear_button.clicked.connect(self.ask_clear)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        lay.addWidget(self.text, 1)
        lay.addWidget(self.clear_button)
        lay.addWidget(self.capture_button)
        session.source_changed.connect(self.refresh)
        session.not_products_changed.connect(self.refresh)
        self.refresh()

    def root(self) -> Path | None:
        store = self.session.store
        return store.root if store is not None else None

    @Slot()
    def refresh(self) -> None:
        root = self.root()
        if root is None:
            self.count = 0
            self.hide()
            return
        from app.core import not_products

        self.count = len(not_products.shop_photos(root))
        self.text.setText(count_text(self.count))
        self.text.setToolTip(str(root / not_products.FOLDER) if self.count else "")
        self.clear_button.setVisible(self.count > 0)
        self.show()

    @Slot()
    def open_capture(self) -> QDialog | None:
        root = self.root()
        if root is None:
            return None
        from .counter_dialog import EmptyCounterDialog  # QtMultimedia loads only here
        from .counter_panel import open_capture_dialog

        return open_capture_dialog(
            self,
            lambda **kw: EmptyCounterDialog(root, **kw),
            ("photo of the empty counter", "photos of the empty counter"),
            self.session.not_products_edited,
        )

    @Slot()
    def ask_clear(self) -> QMessageBox | None:
        """A non-blocking question (tests click its buttons); deletes on Yes."""
        root = self.root()
        if root is None or not self.count:
            return None
        n = self.count
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Empty counter",
            f"Delete the {n} photo{'s' if n != 1 else ''} of the empty counter? Until you take "
            "new ones, the till learns what is not a product only from the app's own "
            "pictures of counters.",
            parent=self.window(),
        )
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        box.button(QMessageBox.StandardButton.Yes).setText("Delete")
        box.setDefaultButton(QMessageBox.StandardButton.No)

        def answered(result: int) -> None:
            self.confirm_box = None
            if result == QMessageBox.StandardButton.Yes:
                from app.core import not_products

                gone = not_products.clear(root)
                self.message.emit(
                    f"Deleted {gone} photo{'s' if gone != 1 else ''} of the empty counter.", "ok"
                )
                self.session.not_products_edited()

        box.finished.connect(answered)
        box.finished.connect(box.deleteLater)
        self.confirm_box = box
        box.open()
        return box
