"""One publish panel for a shop channel and for a folder alike.

What is served and the versions kept (:mod:`app.gui.versions_table`), *Serve this
version again*, and the publish itself: a question that says what replaces what, the
upload or copy with progress, and what the tills load now — all through the one
:class:`~app.core.flows.publish.PublishTarget` protocol. Only the words differ
(:mod:`.places`); the Publish screen lays a panel out for each.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from threading import Event
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import TrainerError
from app.core.flows.inspect import local_metadata
from app.core.progress import ProgressHook
from app.core.wording import describe_model, local_time, model_facts, trained_at, two_models

from ...accessible import named
from ...confirm import ask
from ...tasks import Task, TaskError
from ...versions_table import fit_rows, versions_table
from .places import Place

if TYPE_CHECKING:  # the publish task loads when a place is first read, not at start-up
    from app.core.flows.publish import ModelVersion, Published, TargetStatus

    from ...session import Session
    from ...widgets import Banner, ProgressPanel

VERSION_COLUMNS = ("Published", "Serving")  # the last: "serving now" or empty


def version_cells(version: ModelVersion) -> list[str]:
    """One row of a versions table: what an owner chooses by (the name is a tooltip)."""
    created = trained_at({"trainedAt": version.created_at})
    return [
        *model_facts(version.model_metadata),
        local_time(created) if created else "",
        "serving now" if version.current else "",
    ]


class PublishPanel(QWidget):
    """What ``place`` serves and keeps, *Serve this version again*, and publishing to it.

    ``owner`` asks the questions (its ``confirm`` and ``confirm_box``), ``banner`` and
    ``progress`` say what happens; ``tool`` is the button at the left of the rollback
    row ("Check again", "Show in file manager").
    """

    published = Signal(object)  # Published: the tills load these files now
    rolled_back = Signal()  # the tills load an earlier version now
    changed = Signal()  # what is served, or a publish running, changed: refresh buttons

    def __init__(
        self,
        session: Session,
        owner: Any,
        banner: Banner,
        progress: ProgressPanel,
        tool: QPushButton,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.session, self.owner, self.banner, self.progress = session, owner, banner, progress
        self.place: Place | None = None
        self.status: TargetStatus | None = None
        self.task: Task | None = None  # the publish or rollback running, if any
        # What the place serves now, by who read it: the same files as the local model's
        # mean there is nothing new to publish.
        self._served: tuple[Any, Mapping[str, str]] = (None, {})
        self.served = QLabel()
        self.served.setTextFormat(Qt.TextFormat.RichText)  # the places' texts are escaped
        self.served.setWordWrap(True)
        self.served.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.versions = named(versions_table(*VERSION_COLUMNS), "Versions kept")
        self.versions.itemSelectionChanged.connect(self.update_rollback_button)
        self.versions.hide()
        self.rollback_button = QPushButton("Serve this version again")
        self.rollback_button.setEnabled(False)
        self.rollback_button.clicked.connect(lambda: self.rollback_selected())
        row = QHBoxLayout()
        row.addWidget(tool)
        row.addStretch(1)
        row.addWidget(self.rollback_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.served)
        lay.addWidget(self.versions, 1)
        lay.addLayout(row)

    @property
    def busy(self) -> bool:
        return self.task is not None and self.task.running

    # -- what is served ----------------------------------------------------------------
    def set_place(self, place: Place | None) -> None:
        self.place = place
        if place is None:
            self.status = None
            self.served.setText("")
            self.versions.hide()

    def load_status(self) -> Task | None:
        """Read what the place serves and keeps, in the background."""
        place = self.place
        if place is None:
            return None

        def work(on_progress: ProgressHook, cancel: Event) -> TargetStatus:
            return place.target().status()

        task = self.session.runner.start(place.status_resource, work)
        task.succeeded.connect(lambda status, p=place: self._status_loaded(p, status))
        task.failed.connect(lambda err, p=place: self._status_failed(p, err))
        return task

    def _status_failed(self, place: Place, err: TaskError) -> None:
        if place == self.place:
            self.served.setText(place.status_failed(err.message))

    def _status_loaded(self, place: Place, status: TargetStatus) -> None:
        if place != self.place:
            return  # another login, folder or channel meanwhile
        self.status = status
        self.served.setText(place.served_text(status))
        self.versions.setRowCount(len(status.versions))
        for r, v in enumerate(status.versions):
            for c, text in enumerate(version_cells(v)):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, v)
                item.setToolTip(f"Version {v.version}")
                self.versions.setItem(r, c, item)
        self.versions.setVisible(bool(status.versions))
        fit_rows(self.versions, len(status.versions), place.max_rows)
        self.update_rollback_button()
        current = status.current
        # a damaged `latest` is not "already published": publishing again repairs it
        intact = current is not None and not status.served_problem
        self._served = (place.key, current.hashes if intact and current is not None else {})
        self.changed.emit()

    def serves(self, model_dir: Path | None) -> bool:
        """The place serves exactly the files in ``model_dir``: nothing new to publish."""
        from app.core.flows.publish import serves_these_files

        key, hashes = self._served
        here = self.place.key if self.place is not None else None
        return here is not None and key == here and serves_these_files(hashes, model_dir)

    def selected(self) -> ModelVersion | None:
        items = self.versions.selectedItems()
        return items[0].data(Qt.ItemDataRole.UserRole) if items else None

    def update_rollback_button(self) -> None:
        v = self.selected()
        self.rollback_button.setEnabled(v is not None and not v.current and not self.busy)

    # -- publishing ------------------------------------------------------------------
    def publish(self, model_dir: Path, local_meta: Mapping[str, Any] | None) -> Task | None:
        """Ask (saying what replaces what), then publish ``model_dir`` to the place."""
        place = self.place
        if place is None:
            return None
        self.banner.clear_message()
        if not place.remote:  # a folder: what it serves is read at once
            try:
                current = place.target().served_metadata() if self.owner.confirm else None
            except (TrainerError, OSError):
                current = None  # publishing will say what is wrong with the folder
            return self._publish(place, model_dir, local_meta, current)

        def check(on_progress: ProgressHook, cancel: Event) -> Mapping[str, Any] | None:
            return place.target().served_metadata()

        task = self.session.runner.start("publish", check)
        self.task = task
        self.progress.track(task, place.checking, cancellable=False)
        # after `finished`, so the progress panel (connected first) is already hidden
        task.finished.connect(
            lambda t=task: (
                t.outcome == "ok" and self._publish(place, model_dir, local_meta, t.result)
            )
        )
        task.failed.connect(lambda err: self._failed(place, err))
        self.changed.emit()
        return task

    def _publish(
        self,
        place: Place,
        model_dir: Path,
        local_meta: Mapping[str, Any] | None,
        current: Mapping[str, Any] | None,
    ) -> Task | None:
        # read again: a CLI training may have replaced the files since the screen read them
        local_meta = local_metadata(model_dir) or local_meta
        served = None
        local = describe_model(dict(local_meta or {}))
        if current is not None:  # to the second where the minutes are the same
            served, local = two_models(dict(current), dict(local_meta or {}))
        if self.owner.confirm:
            text, info = place.publish_question(local, served)
            if not ask(self.owner, "Publish the model?", text, info, "Publish"):
                self.changed.emit()
                return None

        def work(on_progress: ProgressHook, cancel: Event) -> Published:
            return place.target().publish(model_dir, on_progress=on_progress, cancel=cancel)

        task = self.session.runner.start("publish", work)
        self.task = task
        self.progress.track(task, place.sending)
        task.succeeded.connect(lambda result: self._done(place, model_dir, local, result))
        task.failed.connect(lambda err: self._failed(place, err))
        if place.cancelled:
            task.cancelled.connect(lambda: self.banner.show_message(place.cancelled, "info"))
        task.finished.connect(self.load_status)
        task.finished.connect(self.changed)
        self.changed.emit()
        return task

    def _done(self, place: Place, model_dir: Path, local: str, result: Published) -> None:
        from app.core.flows.publish import model_file_hashes

        self._served = (place.key, model_file_hashes(model_dir))  # the status read confirms
        sent = describe_model(dict(result.metadata)) if result.metadata else local
        self.banner.show_message(place.published_text(sent, result), "ok")
        self.published.emit(result)

    def _failed(self, place: Place, err: TaskError) -> None:
        still = place.still_served(err.exception)
        self.banner.show_failure(err, "Publishing failed.", still)
        self.changed.emit()

    def rollback_selected(self) -> Task | None:
        """Ask, then serve the chosen earlier version again."""
        v, place = self.selected(), self.place
        if v is None or place is None or v.current:
            return None
        if self.owner.confirm:
            current = self.status.current if self.status is not None else None
            text, info = place.rollback_question(v, current)
            if not ask(self.owner, "Serve an earlier model?", text, info, "Serve again"):
                return None

        def work(on_progress: ProgressHook, cancel: Event) -> ModelVersion:
            return place.target().rollback(v.version)

        task = self.session.runner.start("publish", work)
        self.task = task
        self.progress.track(task, f"Switching to version {v.version}…", cancellable=False)
        task.succeeded.connect(
            lambda _now: self.banner.show_message(place.rolled_back_text(v.version), "ok")
        )
        task.succeeded.connect(lambda _now: self.rolled_back.emit())
        task.failed.connect(
            lambda err: self.banner.show_failure(
                err, "Could not switch versions:", "The current model stays served."
            )
        )
        task.finished.connect(self.load_status)
        task.finished.connect(self.changed)
        self.update_rollback_button()
        return task
