"""The photos of the product chosen on the Products screen, each ticked or not.

Captions say where a photo came from ("catalogue", "added", "from the till": a frame
the till sent that the owner accepted) and, when the last check found it cannot be
trained on, why ("can't use", "duplicate"); the tooltip has its
name, date and the reason in full. Under the product's name, what the local model says
of it (trained from what, how reliable). Ticking, adding and removing are the screen's:
this panel says what the owner did through its signals.
"""

from __future__ import annotations

from datetime import datetime, timezone
from html import escape
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.flows.check_photos import NotUsed
from app.core.flows.open_source import Product
from app.core.wording import breakable, local_time

from ...accessible import named
from ...photo_viewer import PhotoDialog, photo_description
from ...session import Session
from ...widgets import photo_grid
from .table import IDENT_ROLE, PATH_ROLE, FileDrops, usable_count

CAPTIONS = {"added": "added", "catalog": "catalogue"}  # by ImageRef.origin
TICKED_ROLE = Qt.ItemDataRole.UserRole + 5  # the tick as the store has it
STAMP_ROLE = Qt.ItemDataRole.UserRole + 6  # a shop photo's ImageRef.stamp: its date


def till_caption(path: Path) -> tuple[str, str] | None:
    """(caption, tooltip) of a photo the till sent and the owner accepted; None for any
    other photo. The feedback id starts with when the till sent it (UTC). Only a shop's
    photos can be (the task loads the shop client's modules: not at start-up)."""
    from app.core.flows.till_photos import till_photo_id

    fid = till_photo_id(path)
    if fid is None:
        return None
    try:
        sent = datetime.strptime(fid[:15], "%Y%m%dT%H%M%S").replace(tzinfo=timezone.utc)
        when = local_time(sent)
    except ValueError:
        when = "date unknown"
    return "from the till", f"{path.name} · sent by the till {when}, accepted by you\n{path}"


def skip_reason(found: NotUsed, path: Path) -> str:
    """Why training skips a photo, as its tooltip says it ("" when it does not)."""
    key = str(path)
    if key in found.duplicates:
        kept = found.duplicates[key].same_as
        return f"duplicate of {kept.name}" if kept is not None else "duplicate"
    if key in found.unreadable:  # damaged, or one flat colour: in the owner's words
        return found.unreadable[key].plain
    return ""


class ProductPhotos(QWidget):
    """Title, the photos as ticked thumbnails, and Add photos… / Webcam… / Remove."""

    photo_ticked = Signal(str, bool)  # ImageRef.ident, included
    files_dropped = Signal(list)  # [Path] dropped on the photos

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.photo_dialog: QDialog | None = None
        self.shown_id: str | None = None  # the product whose photos are shown
        self.product_title = QLabel()
        self.product_title.setObjectName("subtitle")
        self.product_title.setWordWrap(True)
        size = session.thumbnails.size
        self.images = named(photo_grid(size, QSize(size + 28, size + 44)), "Photos of the product")
        self.images.itemChanged.connect(self._item_changed)
        self.images.itemDoubleClicked.connect(self.show_photo)  # the photo, large
        self._drops = FileDrops(self.images)
        self._drops.dropped.connect(lambda files, _pos: self.files_dropped.emit(files))
        session.thumbnails.ready.connect(self._thumb_ready)

        self.add_button = QPushButton("Add photos…")
        self.add_button.setToolTip("Add photos from files (or drop image files here)")
        self.webcam_button = QPushButton("Webcam…")
        self.webcam_button.setToolTip(
            "Take photos with the webcam: photos taken where the point-of-sale camera sits "
            "teach the model best"
        )
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Delete the selected photos you added")
        self.remove_button.setEnabled(False)
        self.images.itemSelectionChanged.connect(self._selection_changed)
        btns = QHBoxLayout()
        btns.addWidget(self.add_button)
        btns.addWidget(self.webcam_button)
        btns.addStretch(1)
        btns.addWidget(self.remove_button)
        hint = QLabel(
            "Untick a photo to leave it out of training. Drop image files here to add them."
        )
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.product_title)
        lay.addWidget(self.images, 1)
        lay.addWidget(hint)
        lay.addLayout(btns)

    def show_product(self, p: Product | None, found: NotUsed, model_line: str = "") -> None:
        """``p``'s photos (None: none chosen), with what the last check found and what
        the local model says of it (``model_line``)."""
        self.shown_id = p.id if p is not None else None
        self.images.blockSignals(True)
        self.images.clear()
        for w in (self.add_button, self.webcam_button):
            w.setEnabled(p is not None)
        if p is None:
            self.product_title.setText("")
            self.images.blockSignals(False)
            return
        used, total = usable_count(p, found), len(p.images)
        line = escape(model_line).replace(" %", "&nbsp;%")  # "96 %" never split over two lines
        self.product_title.setText(  # a name of one long word still wraps (breakable)
            f"<b>{escape(breakable(p.display_name))}</b> &nbsp; <span style='color:#666'>"
            f"ID {escape(breakable(p.id))} · "
            f"{used} of {total} photo{'s' if total != 1 else ''} used</span>"
            + (f"<br><span style='color:#444; font-size:small'>{line}</span>" if line else "")
        )
        for im in p.images:
            # the caption says only where from: the name and date are in the tooltip
            tip = photo_description(im.path, im.origin, im.stamp) + f"\n{im.path}"
            shop = self.session.source is not None and bool(self.session.source.server)
            from_till = till_caption(im.path) if shop and im.origin == "added" else None
            label, tip = from_till or (CAPTIONS.get(im.origin, im.path.name), tip)
            why = skip_reason(found, im.path)
            record = found.get(im.path)
            if record is not None and im.included:  # a blank picture is no "unreadable"
                label += "\n" + ("duplicate" if str(im.path) in found.duplicates else "can't use")
            item = QListWidgetItem(label)
            item.setData(PATH_ROLE, str(im.path))
            item.setData(IDENT_ROLE, im.ident)
            item.setData(STAMP_ROLE, im.stamp)
            item.setData(Qt.ItemDataRole.UserRole, im.origin)
            item.setIcon(QIcon(self.session.thumbnails.loading))
            if why:
                tip += f"\nSkipped in training: {why}"
            tip += "\nDouble-click to see it large"
            item.setToolTip(tip)
            if why and im.included:
                item.setForeground(QColor("#9a5b00"))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if im.included else Qt.CheckState.Unchecked)
            item.setData(TICKED_ROLE, im.included)
            self.images.addItem(item)
        # The decoder serves the newest request first: ask for the last photo first so
        # the ones at the top of the list appear first.
        thumbs = self.session.thumbnails
        for row in reversed(range(self.images.count())):
            pm = thumbs.get(self.images.item(row).data(PATH_ROLE))
            if pm is not None:
                self.images.item(row).setIcon(QIcon(pm))
        self.images.blockSignals(False)
        self._selection_changed()

    def selected_added(self) -> list[Path]:
        """The selected photos the owner added (only those can be removed)."""
        return [
            Path(i.data(PATH_ROLE))
            for i in self.images.selectedItems()
            if i.data(Qt.ItemDataRole.UserRole) == "added"
        ]

    def show_photo(self, item: QListWidgetItem) -> QDialog:
        """Double-click on a photo: the photo large, with its file name and date."""
        if self.photo_dialog is not None:  # one at a time
            self.photo_dialog.close()
            self.photo_dialog.deleteLater()
        origin = item.data(Qt.ItemDataRole.UserRole) or ""
        stamp = item.data(STAMP_ROLE) or ""
        self.photo_dialog = PhotoDialog(item.data(PATH_ROLE), origin, stamp, self)
        self.photo_dialog.show()
        return self.photo_dialog

    def _item_changed(self, item: QListWidgetItem) -> None:
        """A tick, only: ``itemChanged`` also fires for a new icon or caption, and an edit
        that changed nothing would rebuild the catalogue and check every photo again."""
        included = item.checkState() == Qt.CheckState.Checked
        if included != item.data(TICKED_ROLE):
            item.setData(TICKED_ROLE, included)
            self.photo_ticked.emit(item.data(IDENT_ROLE), included)

    def _thumb_ready(self, key: str) -> None:
        for i in range(self.images.count()):
            item = self.images.item(i)
            if item.data(PATH_ROLE) == key:
                item.setIcon(QIcon(self.session.thumbnails.get_or_placeholder(key)))

    def _selection_changed(self) -> None:
        items = self.images.selectedItems()
        self.remove_button.setEnabled(
            bool(items) and all(i.data(Qt.ItemDataRole.UserRole) == "added" for i in items)
        )
