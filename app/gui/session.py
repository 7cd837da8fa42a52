"""What the screens share: who is logged in, the opened source, the current model.

Kept deliberately small; screens read it and listen to its signals instead of
talking to each other. Shop and TensorFlow modules are imported lazily so the
window appears before they load.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from app.core import paths
from app.core.errors import ModelFilesError
from app.core.flows.open_source import folder_source, shop_source

from .tasks import TaskRunner
from .thumbnails import Thumbnails

if TYPE_CHECKING:  # numpy-heavy or the shop client: loaded when used, not at start-up
    from app.core.flows.check_photos import DatasetReport, PhotoCheck, TrainingScope
    from app.core.flows.inspect import TrainResult
    from app.core.flows.login import ShopClient
    from app.core.flows.open_source import Catalogue, ChannelStore, OpenedSource, Source
    from app.core.flows.train import TrainOptions

log = logging.getLogger(__name__)


class Session(QObject):
    source_changed = Signal()
    catalogue_changed = Signal()  # the catalogue read or the owner's edits changed
    model_changed = Signal()  # a model folder was trained or opened
    training_result_changed = Signal()
    report_changed = Signal()  # a photo check (unreadable files, duplicates) finished
    engine_ready = Signal()  # TensorFlow and the trainer are imported (background warm-up)
    counter_frames_changed = Signal()  # the shop's counter frames were added or removed
    not_products_changed = Signal()  # the shop's empty-counter photos were added or removed

    def __init__(self, runner: TaskRunner, settings: paths.Settings, parent=None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.settings = settings
        self.thumbnails = Thumbnails(parent=self)
        self.client: ShopClient | None = None  # logged in to the source's shop
        self.source: Source | None = None
        self.store: ChannelStore | None = None  # the source's edits: the one copy edited
        self.opened: OpenedSource | None = None  # the source's catalogue as read last
        self.model_dir: Path | None = None
        self.result: TrainResult | None = None  # of the last training in this run
        self.report: DatasetReport | None = None  # of the last check (or training)
        # The last check while the catalogue is unchanged: training reuses it instead
        # of reading and hashing every photo again.
        self.check: PhotoCheck | None = None
        self.engine_loaded = False
        self._current: OpenedSource | None = None  # ``opened`` with the edits of now
        self.seed = settings.seed
        self.base_weights_override: Path | None = (
            Path(settings.base_weights) if settings.base_weights else None
        )

    # -- source ---------------------------------------------------------------------
    def use_shop(self, client: ShopClient) -> None:
        """The channel ``client`` has selected."""
        self.client = client
        self._set_source(shop_source(client))

    def use_folder(self, folder: Path) -> None:
        self._set_source(folder_source(folder))

    def _set_source(self, source: Source) -> None:
        old = self.source
        self.source = source
        self.settings.last_source = source.kind
        if old is not None and old != source:
            self.result = None  # the previous source's training
        if old is not None and self.model_dir == old.model_dir() and old != source:
            self.model_dir = None  # the previous source's model is not this source's
            self.model_changed.emit()
        self.store = source.store()
        self._forget_catalogue()
        self.source_changed.emit()
        self.catalogue_changed.emit()
        self.find_latest_model()

    def _forget_catalogue(self) -> None:
        self.opened = None
        self._current = None
        self.check = None
        self.report = None

    def find_latest_model(self) -> None:
        """Open the source's own model (where training exports) when it holds a valid one,
        so a restart finds the model the owner trained yesterday."""
        src = self.source
        if src is None or (self.model_dir is not None and self.model_dir != src.model_dir()):
            return  # a folder the owner opened on purpose stays open
        folder = src.model_dir()

        def work(on_progress: Any, cancel: Any) -> Path | None:
            from app.core.flows.inspect import inspect_model

            if not (folder / "metadata.json").exists():
                return None
            try:
                inspect_model(folder)
            except ModelFilesError as exc:
                log.info("no usable model in %s: %s", folder, exc)
                return None
            return folder

        task = self.runner.start("latest-model", work)
        task.succeeded.connect(lambda found, s=src: self._latest_found(s, found))

    def _latest_found(self, source: Source, folder: Path | None) -> None:
        if folder is not None and source is self.source and self.model_dir is None:
            self.set_model_dir(folder)

    def logout(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            from app.core.flows.login import log_out

            # Ends the server session and forgets the token; off the UI thread (network).
            self.runner.start("logout", lambda _p, _c: log_out(client))
        if self.source is not None and self.source.server:  # a shop's: gone with the login
            self.settings.last_source = ""
            self.source = None
            self.store = None
            self._forget_catalogue()
            self.catalogue_changed.emit()
        self.source_changed.emit()

    @property
    def logged_in(self) -> bool:
        return self.client is not None and self.source is not None and bool(self.source.server)

    # -- catalogue ------------------------------------------------------------------
    def set_opened(self, opened: OpenedSource) -> None:
        """The source's catalogue was read (again)."""
        self.opened = opened
        self._current = None
        self.check = None
        self.report = None
        self.catalogue_changed.emit()

    def current(self) -> OpenedSource | None:
        """The opened source with the owner's edits of now (ticks, added photos).

        Cached until the next edit: every screen asks on every refresh, and applying
        the edits reads the channel's folders."""
        if self.opened is None:
            return None
        if self._current is None:
            self._current = self.opened.with_current_edits()
        return self._current

    def catalogue(self) -> Catalogue | None:
        """The catalogue as the trainer will see it (added photos, exclusions); the same
        object until the next edit."""
        current = self.current()
        return current.catalogue if current is not None else None

    def set_checked(
        self, catalogue: Catalogue, check: PhotoCheck | None, report: DatasetReport | None
    ) -> None:
        """A photo check of ``catalogue`` finished; its result is kept for training."""
        if catalogue is self.catalogue():
            self.check = check
        self.set_report(report)

    def set_report(self, report: DatasetReport | None) -> None:
        self.report = report
        self.report_changed.emit()

    def checked(self, catalogue: Catalogue) -> PhotoCheck | None:
        """The check of exactly this catalogue, or None (then training checks)."""
        return self.check if catalogue is self.catalogue() else None

    def edited(self) -> None:
        """The owner changed photos or choices; the last photo check stays on screen until
        redone, but training will not reuse it."""
        self._current = None
        self.check = None
        self.catalogue_changed.emit()

    def counter_frames_edited(self) -> None:
        """Counter frames were stored or deleted (they never change the catalogue)."""
        self.counter_frames_changed.emit()

    def not_products_edited(self) -> None:
        """Photos of the empty counter were stored or deleted (read when training starts)."""
        self.not_products_changed.emit()

    def names(self) -> dict[str, str]:
        return self.opened.base.names() if self.opened is not None else {}

    # -- model ----------------------------------------------------------------------
    def default_model_dir(self) -> Path:
        """Where training exports for the current source."""
        if self.source is None:
            return paths.models_dir() / "unsaved"
        return self.source.model_dir()

    def set_model_dir(self, path: Path | None) -> None:
        self.model_dir = path
        self.model_changed.emit()

    def set_result(self, result: TrainResult | None) -> None:
        self.result = result
        self.training_result_changed.emit()

    def base_weights(self) -> Path | None:
        """The weights file chosen in Advanced, else the environment's, else None (download)."""
        if self.base_weights_override is not None:
            return self.base_weights_override
        value = os.environ.get(paths.BASE_WEIGHTS_ENV, "").strip()
        return Path(value) if value else None

    def choose_base_weights(self, text: str) -> None:
        """Advanced's weights file as the owner left it, kept for the next start. The
        environment's file, shown there unchanged, stays the environment's: saved, it
        outlived a change of the variable."""
        env = os.environ.get(paths.BASE_WEIGHTS_ENV, "").strip()
        if self.base_weights_override is None and text == env:
            text = ""
        self.base_weights_override = Path(text) if text else None
        self.settings.base_weights = text

    def train_options(self) -> TrainOptions:
        """TrainOptions from the settings; imports the trainer, so call it off the UI
        thread or after :attr:`engine_loaded`."""
        from app.core.flows.train import TrainOptions

        s = self.settings
        return TrainOptions(
            alpha=s.alpha,
            epochs=s.epochs,
            seed=self.seed,
            augment=s.augment,
            base_weights=self.base_weights(),
            # a hand-edited settings file must not stop training: TrainOptions' range
            accept_target=min(0.99, max(0.5, float(s.accept_target))),
        )

    def estimate_training_seconds(self, scope: TrainingScope) -> float | None:
        """How long training this scope takes here; only once the engine is warm
        (:meth:`train_options` imports it), else None. An estimate is optional."""
        if not self.engine_loaded or len(scope.products) < 2:
            return None
        from app.core.flows.train import estimate_seconds

        try:
            measured = self.settings.seconds_per_view_256 or None  # the last training here
            return estimate_seconds(scope.shape, self.train_options(), measured)
        except Exception:  # noqa: BLE001 - an estimate is optional
            log.exception("estimate failed")
            return None

    def mark_engine_loaded(self) -> None:
        self.engine_loaded = True
        self.engine_ready.emit()
