"""Every product of the channel with its photos: check, include/exclude, add photos.

A thin view over :class:`Session` and :class:`ChannelStore`: the catalogue comes
from the shop client (or a folder) in a background task, thumbnails load lazily
for visible rows only, and the owner's edits are written to the channel store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from threading import Event
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.catalog import IMAGE_SUFFIXES, Catalog, Product
from app.core.progress import ProgressHook
from app.core.wording import plain_error

from .counter_panel import CounterFramesPanel
from .empty_counter import EmptyCounterPanel
from .photo_viewer import PhotoDialog, photo_description
from .session import Session
from .tasks import TaskError
from .widgets import Banner, ElidedLabel, ProgressPanel, format_duration, keep_splitter

if TYPE_CHECKING:  # QtMultimedia loads only when the camera dialog opens
    from .frames import FrameSource

log = logging.getLogger(__name__)

SEARCH_ROLE = Qt.ItemDataRole.UserRole + 1
PID_ROLE = Qt.ItemDataRole.UserRole + 2
PATH_ROLE = Qt.ItemDataRole.UserRole + 3
IDENT_ROLE = Qt.ItemDataRole.UserRole + 4  # ImageRef.ident: what the store remembers


def bad_photos(report: Any = None) -> dict[str, str]:
    """Path -> why training skips it, from the last photo check."""
    bad: dict[str, str] = {}
    if report is not None:
        for _pid, path, reason in report.unreadable:
            bad[str(path)] = f"unreadable: {reason}"
        for kept, dropped in report.duplicates:
            bad[str(dropped)] = f"duplicate of {Path(kept).name}"
    return bad


def usable_count(product: Product, bad: dict[str, str]) -> int:
    return sum(1 for im in product.active_images() if str(im.path) not in bad)


def usable_counts(catalog: Catalog, report: Any = None) -> dict[str, int]:
    """Photos per included product that training will use (after the photo check)."""
    bad = bad_photos(report)
    return {p.id: usable_count(p, bad) for p in catalog.active()}


def training_scope(catalog: Catalog, report: Any = None) -> tuple[list[Product], int]:
    """The products training will use (included, with a usable photo) and their photos."""
    usable = usable_counts(catalog, report)
    active = [p for p in catalog.active() if usable.get(p.id)]
    return active, sum(usable[p.id] for p in active)


def estimate_training_seconds(session: Any, n_images: int, n_products: int) -> float | None:
    """Only once TensorFlow is warm: ``session.train_options()`` imports the engine."""
    if not session.engine_loaded or n_products < 2:
        return None
    from app.core.training_cost import estimate_seconds  # no NumPy: cheap

    try:
        measured = session.settings.seconds_per_view or None  # from the last training here
        return float(estimate_seconds(n_images, n_products, session.train_options(), measured))
    except Exception:  # noqa: BLE001 - an estimate is optional
        log.exception("estimate failed")
        return None


def photo_notes(product: Product, bad: dict[str, str]) -> list[str]:
    if not product.included:
        return ["left out"]
    notes = []
    n = usable_count(product, bad)
    if n == 0:
        notes.append("no usable photo")
    elif n == 1:
        notes.append("only one photo")
    reasons = [bad[str(im.path)] for im in product.active_images() if str(im.path) in bad]
    if any(r.startswith("unreadable") for r in reasons):
        notes.append("unreadable file")
    if any(r.startswith("duplicate") for r in reasons):
        notes.append("duplicate photo")
    return notes


class ProductModel(QAbstractTableModel):
    """Rows = products; the thumbnail is requested only when a row is painted."""

    COLUMNS = ("Product", "Photos", "Notes")
    include_toggled = Signal(str, bool)

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.products: list[Product] = []
        self.bad: dict[str, str] = {}  # path -> reason training skips it
        self._row_of_path: dict[str, int] = {}
        session.thumbnails.ready.connect(self._thumb_ready)

    def set_catalog(self, catalog: Catalog | None, bad: dict[str, str]) -> None:
        self.beginResetModel()
        self.products = list(catalog.products) if catalog else []
        self.bad = bad
        self._row_of_path = {}
        for row, p in enumerate(self.products):
            if p.images:
                self._row_of_path[str(p.images[0].path)] = row
        self.endResetModel()

    def set_bad(self, bad: dict[str, str]) -> None:
        """New photo-check results without a reset, so scrolling and selection stay."""
        self.bad = bad
        if self.products:
            self.dataChanged.emit(self.index(0, 1), self.index(len(self.products) - 1, 2))

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008,N802
        return 0 if parent.isValid() else len(self.products)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008,N802
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def unusable(self, p: Product) -> bool:
        """Ticked, but nothing to learn from: shown unticked and greyed, with the reason."""
        return p.included and usable_count(p, self.bad) == 0

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
                return QIcon(thumbs.get_or_placeholder(p.images[0].path))
            if role == Qt.ItemDataRole.ToolTipRole:
                tip = f"{p.display_name}\nProduct ID (label): {p.id}"
                if self.unusable(p):
                    tip += "\nNot trained: no usable photo. Add photos to include it."
                return tip
        if col == 1 and role == Qt.ItemDataRole.DisplayRole:
            used, total = usable_count(p, self.bad), len(p.images)
            return str(used) if used == total else f"{used} of {total}"
        if col == 1 and role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignCenter)
        if col == 2:
            notes = photo_notes(p, self.bad)
            if role == Qt.ItemDataRole.DisplayRole:
                return ", ".join(notes)
            if role == Qt.ItemDataRole.ForegroundRole and notes:
                return QColor("#9a5b00") if p.included else QColor("#777")
            if role == Qt.ItemDataRole.ToolTipRole and notes:
                return ", ".join(notes)
        if role == Qt.ItemDataRole.ForegroundRole and (not p.included or self.unusable(p)):
            return QColor("#888")
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
        for i, p in enumerate(self.products):
            if p.id == pid:
                return i
        return -1

    def _thumb_ready(self, key: str) -> None:
        row = self._row_of_path.get(key)
        if row is not None:
            ix = self.index(row, 0)
            self.dataChanged.emit(ix, ix, [Qt.ItemDataRole.DecorationRole])


class _FileDrops(QObject):
    """Accepts image files dropped on a view; reports (files, position)."""

    dropped = Signal(list, object)

    def __init__(self, view: QAbstractItemView) -> None:
        super().__init__(view)
        self.view = view
        view.setAcceptDrops(True)
        view.viewport().setAcceptDrops(True)
        view.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        view.viewport().installEventFilter(self)

    @staticmethod
    def _files(event: Any) -> list[Path]:
        md = event.mimeData()
        if not md.hasUrls():
            return []
        return [
            Path(u.toLocalFile())
            for u in md.urls()
            if u.isLocalFile() and Path(u.toLocalFile()).suffix.lower() in IMAGE_SUFFIXES
        ]

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        t = event.type()
        if t in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            if self._files(event):
                event.acceptProposedAction()
                return True
        elif t == QEvent.Type.Drop:
            files = self._files(event)
            if files:
                event.acceptProposedAction()
                self.dropped.emit(files, event.position().toPoint())
                return True
        return False


class ProductsScreen(QWidget):
    """Product list on the left, the selected product's photos on the right."""

    #: Makes the picture source of each "Webcam…", "Show me your counter…" and
    #: "Photograph the empty counter…" dialog; ``None`` opens the counter camera. Tests
    #: and the screenshot script set a video-file or array stand-in here (there is no
    #: camera on CI machines), so the buttons' own slots take no argument.
    camera_stand_in: Callable[[], FrameSource] | None = None

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._shown_catalog: Catalog | None = None
        self._problem = ""

        self.heading = QLabel("Products")
        self.heading.setObjectName("title")
        self.source_name = ElidedLabel()  # the shop or folder: long paths shrink with "…"
        self.source_name.setObjectName("hint")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search (Ctrl+F)")
        self.search.setToolTip("Search products by name or ID (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(150)
        self.search.setMaximumWidth(320)
        self.reload_button = QPushButton("Reload")
        self.reload_button.setToolTip("Download the catalogue again (F5)")
        self.reload_button.clicked.connect(self.load)
        top = QHBoxLayout()
        top.addWidget(self.heading)
        top.addWidget(self.source_name, 1)
        top.addWidget(self.search, 1)
        top.addWidget(self.reload_button)

        self.progress = ProgressPanel()
        self.banner = Banner()
        self.warnings = Banner()
        self.details_button = QToolButton()
        self.details_button.setText("Show details")
        self.details_button.setCheckable(True)
        self.details_button.toggled.connect(self._show_details)
        self.details_button.hide()
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.hide()
        warn_row = QHBoxLayout()
        warn_row.addWidget(self.warnings, 1)
        warn_row.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignTop)

        # products
        self.model = ProductModel(session, self)
        self.model.include_toggled.connect(self.set_product_included)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterRole(SEARCH_ROLE)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(0)
        self.search.textChanged.connect(self.proxy.setFilterFixedString)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setIconSize(QSize(40, 40))
        self.table.verticalHeader().setDefaultSectionSize(46)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        # Notes (the warnings) keep a fixed, always visible width; long notes elide and
        # show whole in the tooltip. The name column takes what is left.
        hh.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        hh.resizeSection(2, 115)
        self.table.setWordWrap(False)  # one line per name, elided ("Golden Delic…")
        self.table.setMinimumWidth(280)  # name shrinks (elided); Photos and Notes stay whole
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._show_product())
        self._table_drops = _FileDrops(self.table)
        self._table_drops.dropped.connect(self._dropped_on_table)

        # photos of the selected product
        self.product_title = QLabel()
        self.product_title.setObjectName("subtitle")
        self.product_title.setWordWrap(True)
        self.images = QListWidget()
        self.images.setViewMode(QListView.ViewMode.IconMode)
        self.images.setIconSize(QSize(session.thumbnails.size, session.thumbnails.size))
        self.images.setGridSize(QSize(session.thumbnails.size + 28, session.thumbnails.size + 44))
        self.images.setResizeMode(QListView.ResizeMode.Adjust)
        self.images.setMovement(QListView.Movement.Static)
        self.images.setWordWrap(True)
        self.images.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.images.itemChanged.connect(self._image_item_changed)
        self.images.itemDoubleClicked.connect(self.show_photo)  # the photo, large
        self.photo_dialog: QDialog | None = None
        self._image_drops = _FileDrops(self.images)
        self._image_drops.dropped.connect(lambda files, _pos: self.add_files(files))
        session.thumbnails.ready.connect(self._image_thumb_ready)

        self.add_button = QPushButton("Add photos…")
        self.add_button.setToolTip("Add photos from files (or drop image files here)")
        self.add_button.clicked.connect(self.choose_files)
        self.webcam_button = QPushButton("Webcam…")
        self.webcam_button.setToolTip(
            "Take photos with the webcam: photos taken where the point-of-sale camera sits "
            "teach the model best"
        )
        self.webcam_button.clicked.connect(self.capture_from_webcam)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Delete the selected photos you added")
        self.remove_button.clicked.connect(self.remove_selected_added)
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

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.product_title)
        rl.addWidget(self.images, 1)
        rl.addWidget(hint)
        rl.addLayout(btns)

        self.splitter = QSplitter()
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([620, 460])
        self.splitter.setChildrenCollapsible(False)
        keep_splitter(self.splitter, session.settings, "products")

        self.summary = QLabel()
        self.summary.setObjectName("summary")
        # the shop's counter frames ("Show me your counter…"), for the shop's look
        self.counter = CounterFramesPanel(session, stand_in=lambda: self.camera_stand_in)
        self.counter.message.connect(self.banner.show_message)
        # the shop's photos of its empty counter, trained as "not a product"
        self.empty_counter = EmptyCounterPanel(session, stand_in=lambda: self.camera_stand_in)
        self.empty_counter.message.connect(self.banner.show_message)

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.progress)
        lay.addWidget(self.banner)
        self.changes_slot = QVBoxLayout()  # the window puts the "catalogue changed" banner here
        self.changes_slot.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(self.changes_slot)
        lay.addLayout(warn_row)
        lay.addWidget(self.details)
        lay.addWidget(self.splitter, 1)
        lay.addWidget(self.counter)
        lay.addWidget(self.empty_counter)
        lay.addWidget(self.summary)

        QShortcut(QKeySequence.StandardKey.Find, self, activated=self.search.setFocus)  # F5: menu

        session.source_changed.connect(self._source_changed)
        session.catalog_changed.connect(self.refresh)
        session.report_changed.connect(lambda: self.refresh(recheck=False))
        session.engine_ready.connect(self._update_summary)
        self._source_changed()

    # -- loading ----------------------------------------------------------------------
    def _source_changed(self) -> None:
        src = self.session.source
        self.source_name.setText("" if src is None else f"— {src.label}")
        self.reload_button.setEnabled(src is not None)
        if src is not None and self.session.base_catalog is None:
            self.load()
        self.refresh()

    def load(self) -> None:
        src, session = self.session.source, self.session
        if src is None:
            return
        self.banner.clear_message()

        if src.kind == "shop":
            client = session.client

            def work(on_progress: ProgressHook, cancel: Event) -> Any:
                from app.core.shop import fetch_catalog

                fetched = fetch_catalog(client, on_progress=on_progress, cancel=cancel)
                return fetched.catalog, fetched.stats.failed

            title = f"Downloading the catalogue of {src.channel_code}…"
        else:
            folder = Path(src.folder)

            def work(on_progress: ProgressHook, cancel: Event) -> Any:
                from app.core.catalog import catalog_from_folder

                return catalog_from_folder(folder), []

            title = f"Reading {folder}…"
        task = session.runner.start("catalog", work)
        self.progress.track(task, title)
        task.succeeded.connect(lambda res: self._loaded(src, *res))
        task.failed.connect(self._load_failed)
        task.cancelled.connect(
            lambda: self.banner.show_message("Loading the catalogue was cancelled.", "info")
        )

    def _loaded(self, src: Any, catalog: Catalog, failed: list[Any]) -> None:
        """``failed``: the photos the download left out, each naming its product."""
        if src is not self.session.source:
            return  # the user switched channel meanwhile
        self.session.set_base_catalog(catalog)
        if self.table.currentIndex().row() < 0 and self.proxy.rowCount():
            self.table.selectRow(0)
        if failed:
            shown = "; ".join(str(f) for f in failed[:5]) + (" …" if len(failed) > 5 else "")
            self.banner.show_message(
                f"{len(failed)} photo(s) could not be downloaded and are left out: {shown}",
                "warn",
            )

    def _load_failed(self, err: TaskError) -> None:
        self.banner.show_failure(err, "Could not load the products:")

    def check(self) -> None:
        """Check every photo (unreadable, duplicates) in the background."""
        catalog = self.session.catalog()
        if catalog is None:
            return

        def work(on_progress: ProgressHook, cancel: Event) -> Any:
            from app.core.errors import DatasetError
            from app.core.pipeline import check_photos

            try:
                return check_photos(catalog, on_progress=on_progress, cancel=cancel), ""
            except DatasetError as exc:
                return None, str(exc)

        task = self.session.runner.start("check", work)
        task.succeeded.connect(lambda res, c=catalog: self._checked(c, *res))

    def _checked(self, catalog: Catalog, dataset: Any, problem: str) -> None:
        if catalog is not self.session.catalog():
            return  # edited meanwhile: a newer check is on its way
        self._problem = problem
        self.session.set_checked(catalog, dataset, dataset.report if dataset else None)

    # -- view -------------------------------------------------------------------------
    def refresh(self, recheck: bool = True) -> None:
        catalog = self.session.catalog()
        current = self.current_pid()
        bad = bad_photos(self.session.report)
        if catalog is not None and catalog is self._shown_catalog:
            self.model.set_bad(bad)  # same catalogue: only the check's notes
            self._show_product()
        else:
            self._shown_catalog = catalog
            self.model.set_catalog(catalog, bad)
            if current:
                self.select_product(current)
            elif catalog is not None and catalog.products and self.table.currentIndex().row() < 0:
                self.table.selectRow(0)
            self._show_product()
        self._update_warnings(catalog)
        self._update_summary()
        if recheck and catalog is not None and catalog.products:
            self._problem = ""
            self.check()

    def _update_warnings(self, catalog: Catalog | None) -> None:
        if catalog is None:
            self.warnings.clear_message()
            self.details_button.hide()
            self.details.hide()
            return
        bad = bad_photos(self.session.report)
        active = catalog.active()
        none = [p for p in active if usable_count(p, bad) == 0]
        single = [p for p in active if usable_count(p, bad) == 1]
        names = self.session.names()
        parts, lines = [], []

        def count(n: int, one: str, many: str) -> str:
            return f"{n} {one if n == 1 else many}"

        def listed(ps: list[Product]) -> str:
            return ", ".join(p.display_name for p in ps[:10]) + (" …" if len(ps) > 10 else "")

        if none:
            parts.append(
                count(len(none), "product has", "products have")
                + " no usable photo and will not be trained (greyed out)"
            )
            lines.append(f"Not trained, add photos: {listed(none)}")
        if single:
            parts.append(count(len(single), "product has", "products have") + " only one photo")
            lines.append(f"Only one photo (counter photos help most): {listed(single)}")
        report = self.session.report
        if report is not None:
            if report.unreadable:
                parts.append(count(len(report.unreadable), "photo", "photos") + " can't be opened")
                for pid, path, reason in report.unreadable:
                    lines.append(
                        f"Can't open {path.name} ({names.get(pid, pid)}): {plain_error(reason)}"
                    )
            if report.duplicates:
                parts.append(count(len(report.duplicates), "photo is", "photos are") + " twice")
                for kept, dropped in report.duplicates:
                    lines.append(f"{dropped.name} is the same photo as {kept.name}: used once")
            if report.conflicts:
                parts.append(
                    count(len(report.conflicts), "photo is", "photos are")
                    + " filed under two products"
                )
                for a, b in report.conflicts:
                    lines.append(f"The same photo is filed under two products: {a} and {b}")
        problem = self._problem
        if problem:
            self.warnings.show_message(problem, "error")
        elif parts:
            text = "; ".join(parts) + "."
            text = text[0].upper() + text[1:]
            if single and not none:
                text += " One photo still trains; photos taken at the counter make it much better."
            self.warnings.show_message(text, "warn")
        else:
            self.warnings.clear_message()
        self.details.setText("\n".join(f"• {line}" for line in lines))
        # isHidden, not isVisible: the latter is False while another screen is shown
        shown = bool(lines) and not self.warnings.isHidden()
        self.details_button.setVisible(shown)
        self.details.setVisible(shown and self.details_button.isChecked())
        if report is not None:  # the decoder's own words, for whoever needs them
            tech = report.summary_lines(names)
            self.details.setToolTip("\n".join(tech))

    def _show_details(self, on: bool) -> None:
        self.details_button.setText("Hide details" if on else "Show details")
        self.details.setVisible(on and bool(self.details.text()))

    def _update_summary(self) -> None:
        catalog = self.session.catalog()
        if catalog is None:
            self.summary.setText(
                "Log in to a shop or choose a folder to see its products."
                if self.session.source is None
                else ""
            )
            return
        active, n_images = training_scope(catalog, self.session.report)
        text = (
            f"{len(active)} of {len(catalog.products)} products will be trained · {n_images} photos"
        )
        est = estimate_training_seconds(self.session, n_images, len(active))
        if est is not None:
            text += f" · training takes about {format_duration(est)}"
        self.summary.setText(text)

    def current_pid(self) -> str | None:
        ix = self.table.currentIndex()
        return ix.data(PID_ROLE) if ix.isValid() else None

    def current_product(self) -> Product | None:
        pid = self.current_pid()
        if pid is None:
            return None
        row = self.model.row_of(pid)
        return self.model.products[row] if row >= 0 else None

    def select_product(self, pid: str) -> None:
        row = self.model.row_of(pid)
        if row >= 0:
            ix = self.proxy.mapFromSource(self.model.index(row, 0))
            if ix.isValid():
                self.table.setCurrentIndex(ix)

    def show_product(self, pid: str, name: str = "") -> bool:
        """Select ``pid``, scroll it into view and show its photos (a product named on
        another screen); a search that hides it is cleared. False when the catalogue on
        screen has no such product, which the banner then says."""
        if self.model.row_of(pid) < 0:
            self.banner.show_message(
                f"{name or pid} is not in the products on screen "
                "(removed from the shop or folder since that training?).",
                "warn",
            )
            return False
        ix = self.proxy.mapFromSource(self.model.index(self.model.row_of(pid), 0))
        if not ix.isValid():
            self.search.clear()  # the search hid it
            ix = self.proxy.mapFromSource(self.model.index(self.model.row_of(pid), 0))
        self.table.setCurrentIndex(ix)
        self.table.scrollTo(ix, QAbstractItemView.ScrollHint.PositionAtCenter)
        self.table.setFocus()
        return True

    def _show_product(self) -> None:
        p = self.current_product()
        self.images.blockSignals(True)
        self.images.clear()
        has = p is not None
        for w in (self.add_button, self.webcam_button):
            w.setEnabled(has)
        if p is None:
            self.product_title.setText("")
            self.images.blockSignals(False)
            return
        bad = self.model.bad
        used, total = usable_count(p, bad), len(p.images)
        self.product_title.setText(
            f"<b>{p.display_name}</b> &nbsp; <span style='color:#666'>ID {p.id} · "
            f"{used} of {total} photo{'s' if total != 1 else ''} used</span>"
        )
        for im in p.images:
            label = {"added": "added", "catalog": "catalogue"}.get(im.origin, im.path.name)
            why = bad.get(str(im.path))
            if why and im.included:
                label += "\n" + why.split(":")[0].split(" of ")[0]
            item = QListWidgetItem(label)
            item.setData(PATH_ROLE, str(im.path))
            item.setData(IDENT_ROLE, im.ident)
            item.setData(Qt.ItemDataRole.UserRole, im.origin)
            item.setIcon(QIcon(self.session.thumbnails.loading))
            # the caption says only "added"/"catalogue": the name and date are here
            tip = photo_description(im.path, im.origin, im.key) + f"\n{im.path}"
            if why:
                tip += f"\nSkipped in training: {why}"
            tip += "\nDouble-click to see it large"
            item.setToolTip(tip)
            if why and im.included:
                item.setForeground(QColor("#9a5b00"))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if im.included else Qt.CheckState.Unchecked)
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

    def show_photo(self, item: QListWidgetItem) -> QDialog:
        """Double-click on a photo: the photo large, with its file name and date."""
        if self.photo_dialog is not None:  # one at a time
            self.photo_dialog.close()
            self.photo_dialog.deleteLater()
        origin = item.data(Qt.ItemDataRole.UserRole) or ""
        key = item.data(IDENT_ROLE) or ""
        self.photo_dialog = PhotoDialog(item.data(PATH_ROLE), origin, key, self)
        self.photo_dialog.show()
        return self.photo_dialog

    def _image_thumb_ready(self, key: str) -> None:
        for i in range(self.images.count()):
            item = self.images.item(i)
            if item.data(PATH_ROLE) == key:
                item.setIcon(QIcon(self.session.thumbnails.get_or_placeholder(key)))

    def _selection_changed(self) -> None:
        items = self.images.selectedItems()
        self.remove_button.setEnabled(
            bool(items) and all(i.data(Qt.ItemDataRole.UserRole) == "added" for i in items)
        )

    # -- edits ------------------------------------------------------------------------
    def set_product_included(self, pid: str, included: bool) -> None:
        if self.session.store is not None:
            self.session.store.set_product_included(pid, included)
            self.session.edited()

    def _image_item_changed(self, item: QListWidgetItem) -> None:
        if self.session.store is None:
            return
        included = item.checkState() == Qt.CheckState.Checked
        self.session.store.set_image_included(item.data(IDENT_ROLE), included)
        self.session.edited()

    def choose_files(self) -> None:
        p = self.current_product()
        if p is None:
            return
        exts = " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES))
        files, _ = QFileDialog.getOpenFileNames(
            self, f"Photos of {p.display_name}", str(Path.home()), f"Images ({exts})"
        )
        if files:
            self.add_files([Path(f) for f in files])

    def add_files(self, files: list[Path], pid: str | None = None) -> list[Path]:
        pid = pid or self.current_pid()
        if pid is None or self.session.store is None:
            return []
        stored = self.session.store.add_files(pid, files)
        skipped = len(files) - len(stored)
        if stored:
            self.session.edited()
            self.select_product(pid)
        name = self.session.names().get(pid, pid)
        msg = f"Added {len(stored)} photo(s) to {name}."
        if skipped:
            msg += f" {skipped} file(s) were not images and were ignored."
        self.banner.show_message(msg, "ok" if stored else "warn")
        return stored

    def add_frame(self, rgb: Any, pid: str | None = None) -> Path | None:
        """Store one webcam frame as a photo of the product."""
        pid = pid or self.current_pid()
        if pid is None or self.session.store is None:
            return None
        path = self.session.store.add_rgb(pid, rgb)
        self.session.edited()
        self.select_product(pid)
        return path

    def _dropped_on_table(self, files: list[Path], pos: Any) -> None:
        ix = self.table.indexAt(pos)
        pid = ix.data(PID_ROLE) if ix.isValid() else self.current_pid()
        if pid is not None:
            self.add_files(files, pid)

    def remove_selected_added(self) -> None:
        items = [
            i for i in self.images.selectedItems() if i.data(Qt.ItemDataRole.UserRole) == "added"
        ]
        if not items or self.session.store is None:
            return
        answer = QMessageBox.question(
            self, "Remove photos", f"Delete {len(items)} photo(s) you added to this product?"
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        for i in items:
            self.session.store.remove_added(Path(i.data(PATH_ROLE)))
        self.session.edited()

    def capture_from_webcam(self) -> Any:
        """Open the camera dialog; the photo is stored when the owner takes it.

        The slot of the "Webcam…" button, so it takes no argument: a parameter here
        would receive the button's ``checked`` flag. :attr:`camera_stand_in` replaces
        the camera.
        """
        p = self.current_product()
        if p is None:
            return None
        from .frames import CapturePhotoDialog  # QtMultimedia loads only when needed

        settings = self.session.settings
        make = self.camera_stand_in
        source = make() if make is not None else None
        dlg = CapturePhotoDialog(self, camera_id=settings.camera_id or None, source=source)
        dlg.setWindowTitle(f"Photo of {p.display_name} from the counter camera")

        def taken(pid: str = p.id) -> None:
            if dlg.photo is not None:
                self.add_frame(dlg.photo, pid)
                name = self.session.names().get(pid, pid)
                self.banner.show_message(f"Added a camera photo to {name}.", "ok")
            if source is None and dlg.camera_id:
                settings.camera_id = dlg.camera_id
                settings.save()

        dlg.accepted.connect(taken)
        dlg.finished.connect(dlg.deleteLater)
        dlg.open()
        return dlg
