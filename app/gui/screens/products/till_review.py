"""Review the photos the till sent (issue 18): a grid per product, accept or drop.

The left list holds the products with frames waiting (the ones the model got wrong
counted: they teach it most), then the frames of products deleted from the shop since,
which can only be dropped. The grid shows the chosen product's frames with what the
model said; only the frames in view are downloaded, in the task runner, and kept in
memory for accepting (a frame shows customers and staff: it is never written to disk
unless accepted). Accepted frames become counter photos of the cashier's product
(:func:`app.core.flows.till_photos.accept_till_photos`); dropped ones are never
offered again (:func:`~app.core.flows.till_photos.drop_till_photos`).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from threading import Event
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPixmap, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import Cancelled
from app.core.progress import ProgressHook
from app.core.wording import local_time

from ...accessible import named
from ...fitting import resize_within_screen
from ...session import Session
from ...style import MUTED
from ...tasks import Task, TaskError, TaskFn
from ...thumbnails import decode_thumbnail_data, placeholder
from ...widgets import Banner, ProgressPanel, photo_grid

if TYPE_CHECKING:
    from app.core.flows.login import ShopClient
    from app.core.flows.till_photos import FeedbackItem, TillAccepted, TillDropped, TillPending

GONE = ""  # the group of frames whose product was deleted from the shop
THUMB = 112
ID_ROLE = Qt.ItemDataRole.UserRole + 1
BATCH = 12  # frames downloaded per task: the ones in view first, then the next


class TillReviewDialog(QDialog):
    """The frames waiting, per product; accept all, all of a product, drop some or all."""

    reviewed = Signal(bool)  # a review was kept; True when photos were taken in

    def __init__(
        self, session: Session, client: ShopClient, pending: TillPending, parent: QWidget
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Photos from the till")
        resize_within_screen(self, 780, 540)
        self.session, self.client = session, client
        self.frames: dict[str, list[FeedbackItem]] = {}  # group -> frames waiting
        self.pending = pending
        self.images: dict[str, bytes] = {}  # downloaded frames, by id: accepting reuses them
        self.icons: dict[str, QPixmap] = {}
        self.gone_from_server: set[str] = set()
        self._loading = placeholder(THUMB, "loading…")
        self._busy = False

        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.groups = named(QListWidget(), "Products the till sent photos of")
        self.groups.setMinimumWidth(170)
        self.groups.currentRowChanged.connect(lambda _r: self._show_group())
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.grid = named(photo_grid(THUMB, QSize(THUMB + 36, THUMB + 48)), "Photos from the till")
        self.grid.itemSelectionChanged.connect(self._update_buttons)
        self._in_view = QTimer(self, singleShot=True, interval=120)  # after scrolling stops
        self._in_view.timeout.connect(self._fetch_in_view)
        self.grid.verticalScrollBar().valueChanged.connect(lambda _v: self._in_view.start())

        self.accept_group_button = QPushButton("Accept all of this product")
        self.accept_group_button.clicked.connect(lambda: self.accept(self._group_frames()))
        self.drop_selected_button = QPushButton("Drop selected")
        self.drop_selected_button.clicked.connect(lambda: self.drop(self.selected()))
        self.drop_group_button = QPushButton("Drop all of this product")
        self.drop_group_button.clicked.connect(lambda: self.drop(self._group_frames()))
        row = QHBoxLayout()
        row.addWidget(self.accept_group_button)
        row.addStretch(1)
        row.addWidget(self.drop_selected_button)
        row.addWidget(self.drop_group_button)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.title)
        rl.addWidget(self.grid, 1)
        rl.addLayout(row)
        split = QSplitter()
        split.addWidget(self.groups)
        split.addWidget(right)
        split.setStretchFactor(1, 3)
        split.setChildrenCollapsible(False)

        self.progress = ProgressPanel(show_delay_ms=0)
        self.banner = Banner()
        self.accept_all_button = QPushButton("Accept all")
        self.accept_all_button.setObjectName("primary")
        self.accept_all_button.setToolTip(
            "Take every frame of a product still in the shop in as a counter photo"
        )
        self.accept_all_button.clicked.connect(lambda: self.accept(self.all_usable()))
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        box.rejected.connect(self.close)
        bottom = QHBoxLayout()
        bottom.addWidget(self.accept_all_button)
        bottom.addStretch(1)
        bottom.addWidget(box)
        lay = QVBoxLayout(self)
        lay.addWidget(self.intro)
        lay.addWidget(self.progress)
        lay.addWidget(self.banner)
        lay.addWidget(split, 1)
        lay.addLayout(bottom)
        self.set_pending(pending)

    # -- what waits -----------------------------------------------------------------
    def set_pending(self, pending: TillPending) -> None:
        """The frames waiting now (the list read again after a review)."""
        keep = self.current_group()
        self.pending = pending
        self.frames = {g.product_id: list(g.photos) for g in pending.products}
        if pending.not_usable:
            self.frames[GONE] = [item for item, _why in pending.not_usable]
        self._fill_groups(keep)

    def _fill_groups(self, keep: str | None = None) -> None:
        names = self._names()
        self.groups.blockSignals(True)
        self.groups.clear()
        for key, frames in self.frames.items():
            if key == GONE:
                text = f"Deleted from the shop — {len(frames)}"
            else:
                wrong = sum(f.is_correction for f in frames)
                text = f"{names.get(key, key)} — {len(frames)}"
                text += f" ({wrong} wrong)" if wrong else ""
            item = QListWidgetItem(text)
            item.setData(ID_ROLE, key)
            if key == GONE:
                item.setForeground(QColor(MUTED))
                item.setToolTip("Frames of products deleted from the shop since: drop only")
            self.groups.addItem(item)
        self.groups.blockSignals(False)
        keys = list(self.frames)
        self.groups.setCurrentRow(keys.index(keep) if keep in keys else (0 if keys else -1))
        self._show_group()
        n = sum(len(f) for f in self.frames.values())
        self.intro.setText(
            "No new photos from the till to review."
            if n == 0
            else f"<b>{n} photo{'s' if n != 1 else ''} from the till</b> wait for your review. "
            "Accepted photos become counter photos of the product the cashier chose — the "
            "best teacher for the model; dropped ones are deleted and never offered again."
        )

    def _names(self) -> dict[str, str]:
        return {**self.pending.names, **self.session.names()}

    def current_group(self) -> str | None:
        item = self.groups.currentItem()
        return None if item is None else item.data(ID_ROLE)

    def _group_frames(self) -> list[FeedbackItem]:
        return list(self.frames.get(self.current_group() or GONE, ())) if self.frames else []

    def all_usable(self) -> list[FeedbackItem]:
        return [f for key, frames in self.frames.items() if key != GONE for f in frames]

    def selected(self) -> list[FeedbackItem]:
        chosen = {i.data(ID_ROLE) for i in self.grid.selectedItems()}
        return [f for f in self._group_frames() if f.id in chosen]

    # -- the grid -------------------------------------------------------------------
    def _show_group(self) -> None:
        key = self.current_group()
        names = self._names()
        self.grid.clear()
        if key is None:
            self.title.setText("")
        elif key == GONE:
            self.title.setText(
                "<b>Products deleted from the shop</b> since the till sent these: they can "
                "only be dropped."
            )
        else:
            self.title.setText(
                f"<b>{escape(names.get(key, key))}</b>, as the cashier chose it. “Wrong”: the "
                "model said something else — those teach it most."
            )
        for f in self.frames.get(key, []) if key is not None else []:
            said = self.pending.said(f, names)
            # "wrong" in words too: red alone is lost on a red-green colour-blind owner
            item = QListWidgetItem(f"said {said}" + (" — wrong" if f.is_correction else ""))
            item.setData(ID_ROLE, f.id)
            item.setIcon(QIcon(self.icons.get(f.id, self._loading)))
            if f.is_correction:
                item.setForeground(QColor("#b03a2e"))
            top3 = ", ".join(
                f"{names.get(p.product_id, p.product_id)} {100 * p.probability:.0f} %"
                for p in f.predictions
            )
            when = local_time(f.received_at)
            item.setToolTip(
                f"Sent by the till {when} · model version {f.model_version}\n"
                f"The model's top three: {top3 or 'none'}"
            )
            self.grid.addItem(item)
        self._update_buttons()
        self._in_view.start()

    def _fetch_in_view(self) -> None:
        """Download the frames in view that are not yet (a batch per task)."""
        if not self.isVisible():
            return  # shown again later: showEvent asks
        view = self.grid.viewport().rect()
        wanted = []
        by_id = {f.id: f for f in self._group_frames()}
        for i in range(self.grid.count()):
            item = self.grid.item(i)
            fid = item.data(ID_ROLE)
            if fid in self.icons or fid in self.gone_from_server:
                continue
            if view.intersects(self.grid.visualItemRect(item)) and fid in by_id:
                wanted.append(by_id[fid])
        if wanted:
            self.download(wanted[:BATCH])

    def download(self, frames: Sequence[FeedbackItem]) -> None:
        from app.core.flows.till_photos import (
            FeedbackImageDamaged,
            FeedbackImageGone,
            till_photo_image,
        )

        client, size = self.client, THUMB

        def work(on_progress: ProgressHook, cancel: Event) -> dict:
            out: dict[str, tuple[bytes, QImage] | str] = {}  # str: why there is none
            for f in frames:
                if cancel.is_set():
                    raise Cancelled("Downloading the photos from the till was cancelled.")
                try:
                    body = till_photo_image(client, f)
                except FeedbackImageGone:
                    out[f.id] = "no longer on the server"
                    continue
                except FeedbackImageDamaged:  # one such frame failed its whole batch
                    out[f.id] = "damaged on the server: drop it"
                    continue
                out[f.id] = (body, decode_thumbnail_data(body, size))
            return out

        task = self.session.runner.start("till-thumbnails", work)
        task.succeeded.connect(self._downloaded)
        task.failed.connect(
            lambda err: self.banner.show_failure(err, "Could not download the photos:")
        )

    def _downloaded(self, got: dict) -> None:
        for fid, found in got.items():
            if isinstance(found, str):
                self.gone_from_server.add(fid)  # never asked for again
                self.icons[fid] = placeholder(THUMB, found, "#f4d6d6")
                continue
            body, image = found
            self.images[fid] = body
            self.icons[fid] = QPixmap.fromImage(image) if not image.isNull() else self._loading
        for i in range(self.grid.count()):
            item = self.grid.item(i)
            pm = self.icons.get(item.data(ID_ROLE))
            if pm is not None:
                item.setIcon(QIcon(pm))
        self._in_view.start()  # the next frames in view, if any

    # -- accept and drop ------------------------------------------------------------
    def accept(self, frames: Sequence[FeedbackItem]) -> None:
        from app.core.flows.till_photos import accept_till_photos

        if not frames or self._busy:
            return
        client, images = self.client, dict(self.images)

        def work(on_progress: ProgressHook, cancel: Event) -> TillAccepted:
            return accept_till_photos(
                client, frames, images=images, on_progress=on_progress, cancel=cancel
            )

        task = self._run(work, f"Taking {len(frames)} photo(s) from the till in…")
        task.succeeded.connect(self._accepted)

    def drop(self, frames: Sequence[FeedbackItem]) -> None:
        from app.core.flows.till_photos import drop_till_photos

        if not frames or self._busy:
            return
        client = self.client

        def work(on_progress: ProgressHook, cancel: Event) -> TillDropped:
            return drop_till_photos(client, frames)

        task = self._run(work, f"Dropping {len(frames)} photo(s) from the till…")
        task.succeeded.connect(self._dropped)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self._in_view.start()

    def _run(self, work: TaskFn, title: str) -> Task:
        self._busy = True
        self._update_buttons()
        self.banner.clear_message()
        task = self.session.runner.start("till-review", work)
        self.progress.track(task, title)
        task.failed.connect(self._failed)
        task.cancelled.connect(lambda: self.reviewed.emit(True))  # what was kept: read again
        task.finished.connect(self._finished)
        return task

    def _finished(self) -> None:
        self._busy = False
        self._update_buttons()

    def _failed(self, err: TaskError) -> None:
        self.banner.show_failure(err, "The review could not be kept:")
        self.reviewed.emit(True)  # an accept cut short keeps what it took in: read again

    def _accepted(self, result: TillAccepted) -> None:
        done = {f.id for f, _ in result.stored} | {f.id for f, _ in result.dropped}
        done |= {f.id for f, _ in result.skipped}
        self._forget(done)
        self.banner.show_message(result.text, "ok" if result.stored else "warn")
        self.reviewed.emit(bool(result.stored))

    def _dropped(self, result: TillDropped) -> None:
        self._forget(set(result.dropped))
        n = len(result.dropped)
        self.banner.show_message(
            f"Dropped {n} photo{'s' if n != 1 else ''} from the till: never offered again.", "ok"
        )
        self.reviewed.emit(False)

    def _forget(self, ids: set[str]) -> None:
        for key in list(self.frames):
            self.frames[key] = [f for f in self.frames[key] if f.id not in ids]
            if not self.frames[key]:
                del self.frames[key]
        for fid in ids:
            self.images.pop(fid, None)
        self._fill_groups(self.current_group())

    def _update_buttons(self) -> None:
        key = self.current_group()
        has = key is not None and bool(self.frames.get(key))
        free = not self._busy
        self.accept_group_button.setEnabled(free and has and key != GONE)
        self.drop_group_button.setEnabled(free and has)
        self.drop_selected_button.setEnabled(free and bool(self.grid.selectedItems()))
        self.accept_all_button.setEnabled(free and bool(self.all_usable()))
