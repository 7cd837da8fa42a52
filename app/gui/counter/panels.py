"""The one-line panels of the shop's counter, on the Products and Train screens.

"23 counter frames, newest 3 Dec 14:05 [View…] [Take more…]" and "Empty counter: 5
photos [Clear] [Photograph the empty counter…]": what the shop has, and the buttons
that open a capture dialog (:mod:`.capture`, loaded on first use) or change what is
kept. Plain widgets over :mod:`app.core.flows.counter`: no NumPy or QtMultimedia at
import, so the window still starts without them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMessageBox, QPushButton, QWidget

from app.core.flows.counter import (
    SUGGESTED,
    CounterFrameStore,
    clear_empty_counter,
    empty_counter_folder,
    empty_counter_photos,
    trimmed_words,
)

from ..confirm import ask_later
from ..session import Session
from .frames_dialog import CounterFramesDialog, when

if TYPE_CHECKING:
    from PySide6.QtWidgets import QDialog

    from ..camera.sources import FrameSource

    StandIn = Callable[[], Callable[[], FrameSource] | None]

NO_FRAMES = (
    f"<b>No counter frames yet</b> — {SUGGESTED} seconds of your counter camera, with any "
    "products on it, teaches the model your shop's light and background: products with "
    "only a catalogue photo are recognised far more often."
)
WHY_EMPTY = (
    "these teach the till to ask instead of guessing when nothing of the shop is on the counter."
)


def describe(store: CounterFrameStore) -> tuple[int, str]:
    """How many frames the shop has and the sentence that says so (empty when none)."""
    frames = store.frames()
    if not frames:
        return 0, ""
    n = len(frames)
    return n, f"<b>{n} counter frame{'s' if n != 1 else ''}</b>, newest {when(frames[-1].taken)}"


def count_text(n: int) -> str:
    """ "<b>Empty counter: 5 photos</b> — these teach the till …"."""
    photos = "no photos yet" if n == 0 else f"{n} photo{'s' if n != 1 else ''}"
    return f"<b>Empty counter: {photos}</b> — {WHY_EMPTY}"


class CapturePanel(QFrame):
    """One line about the shop's counter and its buttons; hidden while no shop is open.

    ``stand_in`` gives the camera stand-in of the moment (tests, the screenshot
    script): a factory of :class:`FrameSource`, or ``None`` for the counter camera.
    """

    message = Signal(str, str)  # text, Banner kind: for the screen's banner

    def __init__(
        self, session: Session, name: str, stand_in: StandIn | None, parent: QWidget | None
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.stand_in = stand_in
        self.capture_interval_s = 1.0  # tests shorten it
        self.count = 0
        self.confirm_box: QMessageBox | None = None
        self.setObjectName(name)
        self.setStyleSheet(
            f"#{name} {{ background: #f3f6f9; border: 1px solid #d8dee4; border-radius: 6px; }}"
        )
        self.full_text, self._tip = "", ""  # what show_text was given
        self.fold_why = False  # narrow, the why goes to the tooltip (Products: show_text)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)

    def show_text(self, text: str, tip: str = "") -> None:
        """``text`` ("<b>What</b> — why"); with ``fold_why``, the why goes to the tooltip
        where it would wrap over more than two lines (Products at 800×600: it took four
        and squeezed the list and photos above; Train has the room to keep it)."""
        self.full_text, self._tip = text, tip
        self._fit_text()

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._fit_text()

    def _fit_text(self) -> None:
        head, _dash, why = self.full_text.partition(" — ")
        width = self.text.width()
        doc = QTextDocument()
        doc.setDefaultFont(self.text.font())
        doc.setDocumentMargin(0)
        doc.setHtml(self.full_text)
        doc.setTextWidth(width)
        lines = doc.size().height() / self.text.fontMetrics().lineSpacing()
        short = self.fold_why and bool(why) and width > 0 and lines > 2.5
        tip = "\n".join(x for x in (doc.toPlainText() if short else "", self._tip) if x)
        shown = head if short else self.full_text
        if self.text.text() != shown:
            self.text.setText(shown)
        self.text.setToolTip(tip)

    def lay_out(self, *buttons: QPushButton) -> None:
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        lay.addWidget(self.text, 1)
        for b in buttons:
            lay.addWidget(b)

    def open_dialog(
        self, make: Callable[..., Any], what: tuple[str, str], edited: Callable[[], None]
    ) -> QDialog:
        """Open a capture dialog (``make(**kw)``); on success one banner line ("Stored
        20 counter frames …") and ``edited()``."""
        from ..camera.dialogs import open_camera_dialog  # QtMultimedia loads only here

        def stored(dlg: Any) -> None:
            n, refused = len(dlg.stored), dlg.refused
            text = f"Stored {n} {what[0] if n == 1 else what[1]}"
            if refused:
                text += f" ({refused} blank picture{'s' if refused != 1 else ''} left out)"
            if dlg.removed:
                text += f"; {trimmed_words(dlg.removed)}"
            self.message.emit(text + ". The next training uses them.", "ok")
            edited()

        return open_camera_dialog(
            lambda source, camera_id: make(
                runner=self.session.runner,
                parent=self.window(),
                camera_id=camera_id,
                source=source,
                interval_s=self.capture_interval_s,
            ),
            stand_in=self.stand_in() if self.stand_in is not None else None,
            settings=self.session.settings,
            accepted=stored,
        )


class CounterFramesPanel(CapturePanel):
    """ "23 counter frames, newest 3 Dec 14:05 [View…] [Take more…]", or the no-frames
    hint. ``only_when_empty``: the Train screen shows it only while there are none."""

    def __init__(
        self,
        session: Session,
        parent: QWidget | None = None,
        only_when_empty: bool = False,
        stand_in: StandIn | None = None,
    ) -> None:
        super().__init__(session, "counterFrames", stand_in, parent)
        self.only_when_empty = only_when_empty
        self.capture_button = QPushButton("Show me your counter…")
        self.capture_button.clicked.connect(self.open_capture)
        self.view_button = QPushButton("View…")
        self.view_button.setToolTip("See, remove or clear the stored counter frames")
        self.view_button.clicked.connect(self.open_viewer)
        self.lay_out(self.view_button, self.capture_button)
        session.source_changed.connect(self.refresh)
        session.counter_frames_changed.connect(self.refresh)
        self.refresh()

    def store(self) -> CounterFrameStore | None:
        s = self.session.store
        return s.counter_frames if s is not None else None

    @Slot()
    def refresh(self) -> None:
        store = self.store()
        if store is None:
            self.count = 0
            self.hide()
            return
        self.count, text = describe(store)
        has = self.count > 0
        self.show_text(text or NO_FRAMES, str(store.root) if has else "")
        self.view_button.setVisible(has)
        # more, not new: a capture adds to the kept frames (a look over the day); after
        # the camera moved, View… clears the old ones
        self.capture_button.setText("Take more…" if has else "Show me your counter…")
        self.capture_button.setToolTip(
            f"About {SUGGESTED} more pictures of the counter camera, added to the ones kept; "
            "after moving the camera or changing the light, clear the old ones in View…"
            if has
            else f"About {SUGGESTED} pictures of the counter camera over {SUGGESTED} seconds"
        )
        self.setVisible(not (has and self.only_when_empty))

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        store = self.store()
        if store is not None and describe(store)[0] != self.count:
            self.refresh()  # frames may have come from elsewhere (Test screen)

    @Slot()
    def open_capture(self) -> QDialog | None:
        """The "Show me your counter…" dialog; frames are stored when it finishes."""
        store = self.store()
        if store is None:
            return None
        from .capture import CounterCaptureDialog  # QtMultimedia loads only here

        return self.open_dialog(
            lambda **kw: CounterCaptureDialog(store, **kw),
            ("counter frame", "counter frames"),
            self.session.counter_frames_edited,
        )

    @Slot()
    def open_viewer(self) -> QDialog | None:
        store = self.store()
        if store is None:
            return None
        dlg = CounterFramesDialog(self.session, store, self.window())
        dlg.finished.connect(dlg.deleteLater)
        dlg.open()
        return dlg


class EmptyCounterPanel(CapturePanel):
    """ "Empty counter: 5 photos [Clear] [Photograph the empty counter…]"."""

    def __init__(
        self,
        session: Session,
        parent: QWidget | None = None,
        stand_in: StandIn | None = None,
    ) -> None:
        super().__init__(session, "emptyCounter", stand_in, parent)
        self.capture_button = QPushButton("Photograph the empty counter…")
        self.capture_button.setToolTip(
            "A few pictures of the counter camera with none of the shop's products in view"
        )
        self.capture_button.clicked.connect(self.open_capture)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Delete this shop's photos of its empty counter")
        self.clear_button.clicked.connect(self.ask_clear)
        self.lay_out(self.clear_button, self.capture_button)
        session.source_changed.connect(self.refresh)
        session.not_products_changed.connect(self.refresh)
        self.refresh()

    @Slot()
    def refresh(self) -> None:
        store = self.session.store
        if store is None:
            self.count = 0
            self.hide()
            return
        self.count = len(empty_counter_photos(store))
        self.show_text(
            count_text(self.count), str(empty_counter_folder(store)) if self.count else ""
        )
        self.clear_button.setVisible(self.count > 0)
        self.show()

    @Slot()
    def open_capture(self) -> QDialog | None:
        store = self.session.store
        if store is None:
            return None
        from .capture import EmptyCounterDialog  # QtMultimedia loads only here

        return self.open_dialog(
            lambda **kw: EmptyCounterDialog(store, **kw),
            ("photo of the empty counter", "photos of the empty counter"),
            self.session.not_products_edited,
        )

    @Slot()
    def ask_clear(self) -> QMessageBox | None:
        store = self.session.store
        if store is None or not self.count:
            return None
        n = self.count

        def clear() -> None:
            gone = clear_empty_counter(store)
            self.message.emit(
                f"Deleted {gone} photo{'s' if gone != 1 else ''} of the empty counter.", "ok"
            )
            self.session.not_products_edited()

        return ask_later(
            self,
            "Empty counter",
            f"Delete the {n} photo{'s' if n != 1 else ''} of the empty counter? Until you take "
            "new ones, the till learns what is not a product only from the app's own "
            "pictures of counters.",
            "Delete",
            clear,
            parent=self.window(),
        )
