"""The product list of the Products screen: its table model, filter and file drops.

Rows are products; a thumbnail is requested only when a row is painted, and not while
the list scrolls (:class:`ScrollPause`: at 5,000 products every row flies past); the
notes say what the last photo check found (``NotUsed``: the records of the photos
training cannot use, by path), never re-reading its wording. The last column is the
local model's standing of the product (:mod:`app.core.flows.standings`), and the list
can show the products to photograph first, in that order (:class:`ProductFilter`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import QAbstractItemView

from app.core.flows.check_photos import IMAGE_SUFFIXES, NotUsed, not_used
from app.core.flows.open_source import Catalogue, Product
from app.core.flows.standings import ModelStandings, describe_standing, reliability_words
from app.core.names import name_key

from ...session import Session
from ...style import MUTED

SEARCH_ROLE = Qt.ItemDataRole.UserRole + 1
PID_ROLE = Qt.ItemDataRole.UserRole + 2
PATH_ROLE = Qt.ItemDataRole.UserRole + 3
IDENT_ROLE = Qt.ItemDataRole.UserRole + 4  # ImageRef.ident: what the store remembers
PHOTOS_COL, NOTES_COL, MODEL_COL = 1, 2, 3  # the name (and its tick) is column 0
# What the list shows (ProductFilter.show): every product in catalogue order, the ones
# more counter photos would help most first (the local model's ranking), or the ones
# the local model does not know.
ALL, PHOTOGRAPH_FIRST, NOT_IN_MODEL = "all", "first", "untrained"


def usable_count(product: Product, found: NotUsed) -> int:
    """The product's ticked photos a training will use."""
    return sum(1 for im in product.active_images() if im.path not in found)


def photo_notes(product: Product, found: NotUsed) -> list[str]:
    """The Notes column: left out, no or one usable photo, what the check found."""
    if not product.included:
        return ["left out"]
    notes = []
    n = usable_count(product, found)
    if n == 0:
        notes.append("no usable photo")
    elif n == 1:
        notes.append("only one photo")
    ticked = [str(im.path) for im in product.active_images()]
    if any(path in found.unreadable for path in ticked):
        notes.append("unusable photo")
    if any(path in found.duplicates for path in ticked):
        notes.append("duplicate photo")
    if found.conflicts:  # the banner counted them; the row says which product has one
        filed_twice = {str(p) for pair in found.conflicts for p in pair}
        if any(path in filed_twice for path in ticked):
            notes.append("photo in two products")
    return notes


class ProductModel(QAbstractTableModel):
    """Rows = products; the thumbnail is requested only when a row is painted."""

    COLUMNS = ("Product", "Photos", "Notes", "Reliability")
    include_toggled = Signal(str, bool)

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.products: list[Product] = []
        self.not_used: NotUsed = not_used(None)  # what the last check found unusable
        self.standings: ModelStandings | None = None  # of the local model (None: none)
        self.ranked_first = False  # rows in "photograph these first" order
        self.fetch_thumbnails = True  # False while the list scrolls: cached ones only
        self._catalogue: Catalogue | None = None
        self._row_of_path: dict[str, int] = {}
        self._row_of_id: dict[str, int] = {}
        self.search_text: list[str] = []  # per row, lower case: what the search looks in
        session.thumbnails.ready.connect(self._thumb_ready)

    def set_catalogue(self, catalogue: Catalogue | None, found: NotUsed) -> None:
        self.beginResetModel()
        self._catalogue = catalogue
        self.not_used = found
        self._order()
        self.endResetModel()

    def set_standings(self, standings: ModelStandings | None, ranked_first: bool) -> None:
        """The local model's standings, and whether the rows follow its ranking."""
        if ranked_first != self.ranked_first:
            self.beginResetModel()
            self.standings, self.ranked_first = standings, ranked_first
            self._order()
            self.endResetModel()
            return
        self.standings = standings
        if ranked_first:  # a new ranking: new order
            self.set_catalogue(self._catalogue, self.not_used)
        elif self.products:
            last = self.index(len(self.products) - 1, MODEL_COL)
            self.dataChanged.emit(self.index(0, MODEL_COL), last)

    def _order(self) -> None:
        """Rows from the catalogue, ranked first when asked; the lookups that go with it."""
        products = list(self._catalogue.products) if self._catalogue else []
        if self.ranked_first and self.standings is not None:
            ms, end = self.standings, len(products)
            products.sort(key=lambda p: end if ms.rank(p.id) is None else ms.rank(p.id))
        self.products = products
        self._row_of_path, self._row_of_id = {}, {}
        for row, p in enumerate(products):
            self._row_of_id[p.id] = row
            if p.images:
                self._row_of_path[str(p.images[0].path)] = row
        self.search_text = [name_key(f"{p.display_name} {p.id}") for p in products]

    def standing_text(self, p: Product) -> str:
        """The Reliability cell: "~45 %", "67 %", "?", "not trained" ("" without a model)."""
        ms = self.standings
        if ms is None:
            return ""
        if not ms.knows(p.id):
            return "not trained"
        s = ms.of(p.id)
        return reliability_words(s, short=True) if s is not None else ""

    def standing_tip(self, p: Product) -> str:
        ms = self.standings
        if ms is None:
            return ""
        if not ms.knows(p.id):
            return f"{p.display_name} is not in the current model: train to include it."
        s, rank = ms.of(p.id), ms.rank(p.id)
        if s is None:
            return f"{p.display_name} is in the current model."
        tip = f"The current model: {describe_standing(s, p.display_name)}."
        if s.gain > 0 and rank is not None:
            tip += (
                f"\nNumber {rank + 1} of the {len(ms.photograph_first)} products to photograph "
                "first: photos taken at the counter help it most."
            )
        return tip

    def set_not_used(self, found: NotUsed) -> None:
        """New photo-check results without a reset, so scrolling and selection stay."""
        self.not_used = found
        if self.products:
            self.dataChanged.emit(self.index(0, 1), self.index(len(self.products) - 1, 2))

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008,N802
        return 0 if parent.isValid() else len(self.products)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008,N802
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:  # noqa: N802
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        if role == Qt.ItemDataRole.ToolTipRole and section == MODEL_COL:
            return (
                "How often the current model should recognise it at the counter: its own "
                "held-back photos weighed with the shop's rate, or ~ from the shop's other "
                "products alone"
            )
        return None

    def unusable(self, p: Product) -> bool:
        """Ticked, but nothing to learn from: shown unticked and greyed, with the reason."""
        return p.included and usable_count(p, self.not_used) == 0

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        f = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDropEnabled
        if index.column() == 0 and not self.unusable(self.products[index.row()]):
            f |= Qt.ItemFlag.ItemIsUserCheckable  # a product without photos cannot be ticked
        return f

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid():
            return None
        p = self.products[index.row()]
        col = index.column()
        if role == PID_ROLE:
            return p.id
        if role == SEARCH_ROLE:
            return f"{p.display_name} {p.id}"
        if col == 0:
            if role == Qt.ItemDataRole.DisplayRole:
                return p.display_name
            if role == Qt.ItemDataRole.CheckStateRole:
                on = p.included and not self.unusable(p)
                return Qt.CheckState.Checked if on else Qt.CheckState.Unchecked
            if role == Qt.ItemDataRole.DecorationRole:
                # a QIcon, so the view scales the thumbnail to its icon size
                thumbs = self.session.thumbnails
                if not p.images:
                    return QIcon(thumbs.loading)
                path = p.images[0].path
                pm = thumbs.get(path) if self.fetch_thumbnails else thumbs.peek(path)
                return QIcon(thumbs.loading if pm is None else pm)
            if role == Qt.ItemDataRole.ToolTipRole:
                tip = f"{p.display_name}\nProduct ID (label): {p.id}"
                if self.unusable(p):
                    tip += "\nNot trained: no usable photo. Add photos to include it."
                return tip
        if col == PHOTOS_COL and role == Qt.ItemDataRole.DisplayRole:
            used, total = usable_count(p, self.not_used), len(p.images)
            return str(used) if used == total else f"{used} of {total}"
        if col == PHOTOS_COL and role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        if col == NOTES_COL:
            notes = photo_notes(p, self.not_used)
            if role == Qt.ItemDataRole.DisplayRole:
                return ", ".join(notes)
            if role == Qt.ItemDataRole.ForegroundRole and notes:
                return QColor("#9a5b00") if p.included else QColor(MUTED)
            if role == Qt.ItemDataRole.ToolTipRole and notes:
                return ", ".join(notes)
        if col == MODEL_COL:
            if role == Qt.ItemDataRole.DisplayRole:
                return self.standing_text(p)
            if role == Qt.ItemDataRole.ToolTipRole:
                return self.standing_tip(p) or None
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.ForegroundRole and (not p.included or self.unusable(p)):
            return QColor(MUTED)
        return None

    def setData(  # noqa: N802
        self, index: QModelIndex | QPersistentModelIndex, value: Any, role: int = 0
    ) -> bool:
        if index.column() == 0 and role == Qt.ItemDataRole.CheckStateRole:
            checked = Qt.CheckState(value) == Qt.CheckState.Checked
            self.include_toggled.emit(self.products[index.row()].id, checked)
            return True
        return False

    def row_of(self, pid: str) -> int:
        return self._row_of_id.get(pid, -1)

    def _thumb_ready(self, key: str) -> None:
        row = self._row_of_path.get(key)
        if row is not None:
            ix = self.index(row, 0)
            self.dataChanged.emit(ix, ix, [Qt.ItemDataRole.DecorationRole])


class ProductFilter(QSortFilterProxyModel):
    """The search (name or ID, any case) and what the list shows (:data:`ALL`,
    :data:`PHOTOGRAPH_FIRST`, :data:`NOT_IN_MODEL`), read from the model's own lists:
    5,000 rows filter in a few milliseconds, without a call to ``data()`` each."""

    refiltered = Signal()  # after every change of the search or of what is shown

    def __init__(self, model: ProductModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSourceModel(model)
        self.products = model
        self.needle = ""
        self.show = ALL

    def set_search(self, text: str) -> None:
        self._refilter(lambda: setattr(self, "needle", name_key(text.strip())))

    def set_show(self, show: str) -> None:
        self._refilter(lambda: setattr(self, "show", show))

    def _refilter(self, change: Callable[[], None]) -> None:
        if not hasattr(self, "beginFilterChange"):  # Qt before 6.9
            change()
            self.invalidateFilter()
        else:
            self.beginFilterChange()
            change()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        self.refiltered.emit()

    def filterAcceptsRow(self, row: int, parent: QModelIndex | QPersistentModelIndex) -> bool:  # noqa: N802
        m = self.products
        if self.needle and self.needle not in m.search_text[row]:
            return False
        if self.show == ALL or m.standings is None:
            return self.show == ALL
        pid = m.products[row].id
        if self.show == NOT_IN_MODEL:
            return not m.standings.knows(pid)
        s = m.standings.of(pid)
        return s is not None and s.gain > 0


class ScrollPause(QObject):
    """While the list scrolls, rows show cached thumbnails only; once it has stood still
    for ``settle_ms``, the rows in view ask for theirs. Scrolling 5,000 products top to
    bottom then decodes the rows seen at the end, not every row that flew past."""

    def __init__(self, view: QAbstractItemView, model: ProductModel, settle_ms: int = 150) -> None:
        super().__init__(view)
        self.view, self.model = view, model
        self._settle = QTimer(self, singleShot=True, interval=settle_ms)
        self._settle.timeout.connect(self._settled)
        view.verticalScrollBar().valueChanged.connect(self._scrolled)

    def _scrolled(self) -> None:
        self.model.fetch_thumbnails = False
        self._settle.start()

    def _settled(self) -> None:
        self.model.fetch_thumbnails = True
        self.view.viewport().update()  # the rows in view paint again, asking this time


class FileDrops(QObject):
    """Accepts image files dropped on a view; reports (files, position)."""

    dropped = Signal(list, object)

    def __init__(self, view: QAbstractItemView) -> None:
        super().__init__(view)
        self.view = view
        view.setAcceptDrops(True)
        view.viewport().setAcceptDrops(True)
        view.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        view.viewport().installEventFilter(self)
        self._hovering = False  # the drag over the view holds something to add

    @staticmethod
    def _files(event: Any) -> list[Path]:
        md = event.mimeData()
        if not md.hasUrls():
            return []
        out: list[Path] = []
        for u in md.urls():
            path = Path(u.toLocalFile()) if u.isLocalFile() else None
            if path is not None and path.is_dir():  # a folder of photos: the photos in it
                out += sorted(
                    f
                    for f in path.iterdir()
                    if f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith(".")
                )
            elif path is not None and path.suffix.lower() in IMAGE_SUFFIXES:
                out.append(path)
        return out

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        t = event.type()
        if t == QEvent.Type.DragEnter:  # listed once per drag, not on every mouse move
            self._hovering = bool(self._files(event))  # (a folder's photos are read)
        if t in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            if self._hovering:
                event.acceptProposedAction()
                return True
        elif t == QEvent.Type.Drop:
            files = self._files(event)
            if files:
                event.acceptProposedAction()
                self.dropped.emit(files, event.position().toPoint())
                return True
        return False
