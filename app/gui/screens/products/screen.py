"""Every product of the channel with its photos: check, include/exclude, add photos.

A thin view over :class:`Session` and the opened source
(:func:`app.core.flows.open_source.open_source`, in a background task): thumbnails
load lazily for visible rows only, the photo check runs after every edit
(:func:`app.core.flows.check_photos.check_photos`), and the owner's edits are written
to the source's store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from threading import Event
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core.flows.check_photos import IMAGE_SUFFIXES, not_used, scope_line, training_scope
from app.core.flows.open_source import Catalogue, Product
from app.core.progress import ProgressHook
from app.core.wording import renamed_channel

from ...accessible import named
from ...confirm import ask_later
from ...counter.panels import CounterFramesPanel, EmptyCounterPanel
from ...session import Session
from ...tasks import Task, TaskError
from ...widgets import Banner, ElidedLabel, ProgressPanel, format_duration, keep_splitter
from .photos import ProductPhotos
from .product_list import product_table
from .standings import ModelStandingsView
from .table import PID_ROLE, FileDrops, ProductFilter, ProductModel, ScrollPause
from .till import TillPhotosBar
from .warnings import CheckWarnings

if TYPE_CHECKING:  # QtMultimedia loads only when the camera dialog opens
    from app.core.flows.check_photos import CheckOutcome
    from app.core.flows.open_source import OpenedSource, Source

    from ...camera.sources import FrameSource

log = logging.getLogger(__name__)


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
        self._shown_catalogue: Catalogue | None = None
        self._problem = ""
        self._loading: Task | None = None

        self.heading = QLabel("Products")
        self.heading.setObjectName("title")
        # the shop or folder by its short name ("— Shop", not "— f…hop" from the whole
        # path at 800x600); the full one in its tooltip and the status bar
        self.source_name = ElidedLabel(mode=Qt.TextElideMode.ElideRight)
        self.source_name.setObjectName("hint")
        self.search = named(QLineEdit(), "Search products")
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
        self.confirm_box: QMessageBox | None = None  # the question open now (ask_later)
        self.check_warnings = CheckWarnings(self)
        self.warnings = self.check_warnings.warnings
        self.details_button = self.check_warnings.details_button
        self.details = self.check_warnings.details
        warn_row = QHBoxLayout()
        warn_row.addWidget(self.warnings, 1)
        warn_row.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignTop)

        # products
        self.model = ProductModel(session, self)
        self.model.include_toggled.connect(self.set_product_included)
        self.proxy = ProductFilter(self.model, self)
        self.search.textChanged.connect(self.proxy.set_search)
        self.table = named(product_table(self.proxy), "Products")
        self._scroll_pause = ScrollPause(self.table, self.model)  # thumbnails once it stops
        # the local model's standings: a column, a line, "photograph these first"
        self.standings = ModelStandingsView(session, self.model, self.proxy, self)
        self.standings.changed.connect(self._keep_chosen)
        top.insertWidget(3, self.standings.show, 1)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._show_product())
        self._table_drops = FileDrops(self.table)
        self._table_drops.dropped.connect(self._dropped_on_table)

        # photos of the selected product
        self.photos = ProductPhotos(session)
        self.photos.photo_ticked.connect(self._photo_ticked)
        self.photos.files_dropped.connect(self.add_files)
        self.photos.add_button.clicked.connect(self.choose_files)
        self.photos.webcam_button.clicked.connect(self.capture_from_webcam)
        self.photos.remove_button.clicked.connect(self.remove_selected_added)
        self.images = self.photos.images
        self.product_title = self.photos.product_title
        self.add_button = self.photos.add_button
        self.webcam_button = self.photos.webcam_button
        self.remove_button = self.photos.remove_button

        self.splitter = QSplitter()
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.photos)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([620, 460])
        self.splitter.setChildrenCollapsible(False)
        keep_splitter(self.splitter, session.settings, "products")

        self.summary = QLabel()
        self.summary.setObjectName("summary")
        # the shop's counter frames ("Show me your counter…"), for the shop's look
        self.counter = CounterFramesPanel(session, self, stand_in=lambda: self.camera_stand_in)
        self.counter.message.connect(self.banner.show_message)
        # the shop's photos of its empty counter, trained as "not a product"
        self.empty_counter = EmptyCounterPanel(session, self, stand_in=lambda: self.camera_stand_in)
        self.empty_counter.message.connect(self.banner.show_message)
        for panel in (self.counter, self.empty_counter):
            panel.fold_why = True  # narrow, the rows and photos above need the height

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.progress)
        lay.addWidget(self.banner)
        self.changes_slot = QVBoxLayout()  # the window puts the "catalogue changed" banner here
        self.changes_slot.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(self.changes_slot)
        self.till = TillPhotosBar(session)  # photos from the till to review (a shop's)
        self.till.photos_taken_in.connect(session.edited)
        lay.addWidget(self.till)
        lay.addLayout(warn_row)
        lay.addWidget(self.details)
        lay.addWidget(self.splitter, 1)
        lay.addWidget(self.counter)
        lay.addWidget(self.empty_counter)
        lay.addWidget(self.summary)

        QShortcut(QKeySequence.StandardKey.Find, self, activated=self.search.setFocus)  # F5: menu

        session.source_changed.connect(self._source_changed)
        session.catalogue_changed.connect(self.refresh)
        session.report_changed.connect(lambda: self.refresh(recheck=False))
        session.engine_ready.connect(self._update_summary)
        self._source_changed()

    # -- loading ----------------------------------------------------------------------
    def _source_changed(self) -> None:
        src = self.session.source
        self.source_name.setText("" if src is None else f"— {src.short_name}")
        self.source_name.setToolTip("" if src is None else src.label)
        self.reload_button.setEnabled(src is not None)
        if src is not None and self.session.opened is None:
            self.load()
        self.refresh()

    def load(self) -> None:
        """Read the source's catalogue again (a shop: its product list and new photos)."""
        from app.core.flows.open_source import open_source

        src, session = self.session.source, self.session
        if src is None:
            return
        self.banner.clear_message()
        client, store = session.client, session.store

        def work(on_progress: ProgressHook, cancel: Event) -> OpenedSource:
            return open_source(
                src, client=client, store=store, on_progress=on_progress, cancel=cancel
            )

        title = f"Downloading the catalogue of {src.channel_code}…" if src.server else None
        task = session.runner.start("catalogue", work)
        self._loading = task  # a load replaced by a newer one (F5, a switch) says nothing
        self.progress.track(task, title or f"Reading {src.folder}…")
        task.succeeded.connect(lambda opened: self._loaded(src, opened))
        task.failed.connect(lambda err, t=task: t is self._loading and self._load_failed(err))
        task.cancelled.connect(
            lambda t=task: (
                t is self._loading
                and self.banner.show_message("Loading the catalogue was cancelled.", "info")
            )
        )

    def _loaded(self, src: Source, opened: OpenedSource) -> None:
        if src is not self.session.source:
            return  # the user switched channel meanwhile
        self.session.set_opened(opened)
        self.till.load()
        if self.table.currentIndex().row() < 0 and self.proxy.rowCount():
            self.table.selectRow(0)
        failed = opened.failed  # the photos the download left out, each naming its product
        shown = "; ".join(str(f) for f in failed[:5]) + (" …" if len(failed) > 5 else "")
        lines = [f"{len(failed)} photo(s) could not be downloaded and are left out: {shown}"]
        # a rename is said once: the next opening finds everything in its new place
        lines = lines[: bool(failed)] + [renamed_channel(src.renamed_from, src.channel_code)]
        if any(lines):
            self.banner.show_message("\n".join(x for x in lines if x), "warn" if failed else "info")

    def _load_failed(self, err: TaskError) -> None:
        self.banner.show_failure(err, "Could not load the products:")

    def check(self) -> None:
        """Check every photo (unreadable, duplicates) in the background."""
        from app.core.flows.check_photos import check_or_refusal

        catalogue = self.session.catalogue()
        if catalogue is None:
            return

        def work(on_progress: ProgressHook, cancel: Event) -> CheckOutcome:
            return check_or_refusal(catalogue, on_progress=on_progress, cancel=cancel)

        task = self.session.runner.start("check", work)
        task.succeeded.connect(lambda found, c=catalogue: self._checked(c, found))

    def _checked(self, catalogue: Catalogue, found: CheckOutcome) -> None:
        if catalogue is not self.session.catalogue():
            return  # edited meanwhile: a newer check is on its way
        self._problem = found.problem
        self.session.set_checked(catalogue, found.check, found.report)

    # -- view -------------------------------------------------------------------------
    def refresh(self, recheck: bool = True) -> None:
        catalogue = self.session.catalogue()
        current = self.current_pid()
        found = not_used(self.session.report)
        if catalogue is not None and catalogue is self._shown_catalogue:
            self.model.set_not_used(found)  # same catalogue: only the check's notes
            self._show_product()
        else:
            self._shown_catalogue = catalogue
            self.model.set_catalogue(catalogue, found)
            if current:
                self.select_product(current)
            elif catalogue and catalogue.products and self.table.currentIndex().row() < 0:
                self.table.selectRow(0)
            self._show_product()
        report = self.session.report
        self.check_warnings.show(catalogue, found, report, self.session.names(), self._problem)
        self._update_summary()
        if recheck and catalogue is not None and catalogue.products:
            self._problem = ""
            self.check()

    def _update_summary(self) -> None:
        catalogue = self.session.catalogue()
        if catalogue is None:
            self.summary.setText(
                "Log in to a shop or choose a folder to see its products."
                if self.session.source is None
                else ""
            )
            return
        scope = training_scope(catalogue, self.session.report)
        refused = self.session.check is None and bool(self._problem)  # the banner says why
        text = scope_line(scope, len(catalogue.products), refused=refused)
        est = self.session.estimate_training_seconds(scope)
        if est is not None and not refused:
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
            self.search.clear()  # the search (or what the list shows) hid it
            self.standings.show.setCurrentIndex(0)
            ix = self.proxy.mapFromSource(self.model.index(self.model.row_of(pid), 0))
        self.table.setCurrentIndex(ix)
        self.table.scrollTo(ix, QAbstractItemView.ScrollHint.PositionAtCenter)
        self.table.setFocus()
        return True

    def _keep_chosen(self) -> None:
        """The list shows other rows: the product shown stays chosen, else the first."""
        shown = self.photos.shown_id
        if shown is not None and self.model.row_of(shown) >= 0:
            self.select_product(shown)
        if self.table.currentIndex().row() < 0 and self.proxy.rowCount():
            self.table.selectRow(0)
        self._show_product()

    def _show_product(self) -> None:
        p = self.current_product()
        self.photos.show_product(p, self.model.not_used, self.standings.detail(p))

    @property
    def photo_dialog(self) -> QDialog | None:
        return self.photos.photo_dialog

    # -- edits ------------------------------------------------------------------------
    def set_product_included(self, pid: str, included: bool) -> None:
        if self.session.store is not None:
            self.session.store.set_product_included(pid, included)
            self.session.edited()

    def _photo_ticked(self, ident: str, included: bool) -> None:
        if self.session.store is not None:
            self.session.store.set_image_included(ident, included)
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

    def remove_selected_added(self) -> QMessageBox | None:
        """Asks first, No the default (Enter kept them): the files are deleted for good."""
        chosen, store = self.photos.selected_added(), self.session.store
        if not chosen or store is None:
            return None
        n = f"{len(chosen)} photo{'s' if len(chosen) != 1 else ''}"
        return ask_later(
            self,
            "Remove photos",
            f"Delete {n} you added to this product from this computer? This cannot be undone.",
            "Delete",
            lambda: self._remove_added(store, chosen),
        )

    def _remove_added(self, store: Any, chosen: list[Path]) -> None:
        for path in chosen:
            store.remove_added(path)
        self.session.edited()

    def capture_from_webcam(self) -> Any:
        """Open the camera dialog; the photo is stored when the owner takes it. The
        "Webcam…" button's slot: a parameter would receive its ``checked`` flag."""
        p = self.current_product()
        if p is None:
            return None
        from ...camera.dialogs import CapturePhotoDialog, open_camera_dialog

        def taken(dlg: CapturePhotoDialog, pid: str = p.id) -> None:
            if dlg.photo is not None:
                self.add_frame(dlg.photo, pid)
                name = self.session.names().get(pid, pid)
                self.banner.show_message(f"Added a camera photo to {name}.", "ok")

        dlg = open_camera_dialog(
            lambda source, camera_id: CapturePhotoDialog(self, camera_id=camera_id, source=source),
            stand_in=self.camera_stand_in,
            settings=self.session.settings,
            accepted=taken,
        )
        dlg.setWindowTitle(f"Photo of {p.display_name} from the counter camera")
        return dlg
