"""What the screens share: who is logged in, the catalogue, the current model.

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
from app.core.catalog import Catalog
from app.core.pipeline import Source, with_edits
from app.core.store import ChannelStore

from .tasks import TaskRunner
from .thumbnails import Thumbnails

if TYPE_CHECKING:  # numpy-heavy: imported when a photo check runs, not at start-up
    from app.core.dataset import Dataset

log = logging.getLogger(__name__)


class Session(QObject):
    source_changed = Signal()
    catalog_changed = Signal()  # base catalogue or the owner's edits changed
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
        self.client: Any = None  # app.core.shop.ShopClient when logged in
        self.source: Source | None = None
        self.store: ChannelStore | None = None
        self.base_catalog: Catalog | None = None
        self.model_dir: Path | None = None
        self.result: Any = None  # app.core.model.TrainResult of the last run
        self.report: Any = None  # app.core.dataset.DatasetReport of the last check
        # The last check's Dataset while the catalogue is unchanged: training reuses it
        # instead of reading and hashing every photo again.
        self.dataset: Dataset | None = None
        self.engine_loaded = False
        self._merged: Catalog | None = None
        self.seed = settings.seed
        self.base_weights_override: Path | None = (
            Path(settings.base_weights) if settings.base_weights else None
        )

    # -- source ---------------------------------------------------------------------
    def use_shop(self, client: Any, server: str, channel: Any) -> None:
        self.client = client
        self._set_source(Source.shop(server, channel.code, str(channel.id)))

    def use_folder(self, folder: Path) -> None:
        self._set_source(Source.from_folder(folder))

    def _set_source(self, source: Source) -> None:
        old = self.source
        self.source = source
        self.settings.last_source = source.kind
        if old is not None and self.model_dir == old.model_dir() and old != source:
            self.model_dir = None  # the previous source's model is not this source's
            self.model_changed.emit()
        self.store = source.store()
        self.base_catalog = None
        self._merged = None
        self.dataset = None
        self.report = None
        self.source_changed.emit()
        self.catalog_changed.emit()
        self.find_latest_model()

    def find_latest_model(self) -> None:
        """Open the source's own model (where training exports) when it holds a valid one,
        so a restart finds the model the owner trained yesterday."""
        src = self.source
        if src is None or (self.model_dir is not None and self.model_dir != src.model_dir()):
            return  # a folder the owner opened on purpose stays open
        folder = src.model_dir()

        def work(on_progress: Any, cancel: Any) -> Path | None:
            from app.core.errors import ModelFilesError
            from app.core.modelfiles import validate_model_dir

            if not (folder / "metadata.json").exists():
                return None
            try:
                validate_model_dir(folder)
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
            # Ends the server session and forgets the token; off the UI thread (network).
            self.runner.start("logout", lambda _p, _c: client.logout())
        if self.source is not None and self.source.kind == "shop":
            self.settings.last_source = ""
            self.source = None
            self.store = None
            self.base_catalog = None
            self._merged = None
            self.dataset = None
            self.report = None
            self.catalog_changed.emit()
        self.source_changed.emit()

    @property
    def logged_in(self) -> bool:
        return self.client is not None and self.source is not None and self.source.kind == "shop"

    # -- catalogue ------------------------------------------------------------------
    def set_base_catalog(self, catalog: Catalog) -> None:
        self.base_catalog = catalog
        self._merged = None
        self.dataset = None
        self.report = None
        self.catalog_changed.emit()

    def catalog(self) -> Catalog | None:
        """The catalogue as the trainer will see it (added photos, exclusions).

        Cached until the next change: every screen asks on every refresh, and
        merging reads the channel's folders.
        """
        if self.base_catalog is None or self.store is None:
            return None
        if self._merged is None and self.source is not None:
            self._merged = with_edits(self.base_catalog, self.source, self.store)
        return self._merged

    def set_checked(self, catalog: Catalog, dataset: Dataset | None, report: Any) -> None:
        """A photo check of ``catalog`` finished; its dataset is kept for training."""
        if catalog is self._merged:
            self.dataset = dataset
        self.set_report(report)

    def set_report(self, report: Any) -> None:
        self.report = report
        self.report_changed.emit()

    def checked_dataset(self, catalog: Catalog) -> Dataset | None:
        """The checked dataset of exactly this catalogue, or None (then training checks)."""
        return self.dataset if catalog is self._merged else None

    def edited(self) -> None:
        """The owner changed photos or choices; the last photo check stays on screen until
        redone, but training will not reuse it."""
        self._merged = None
        self.dataset = None
        self.catalog_changed.emit()

    def counter_frames_edited(self) -> None:
        """Counter frames were stored or deleted (they never change the catalogue)."""
        self.counter_frames_changed.emit()

    def not_products_edited(self) -> None:
        """Photos of the empty counter were stored or deleted (read when training starts)."""
        self.not_products_changed.emit()

    def names(self) -> dict[str, str]:
        return self.base_catalog.names() if self.base_catalog is not None else {}

    # -- model ----------------------------------------------------------------------
    def default_model_dir(self) -> Path:
        """Where training exports for the current source."""
        if self.source is None:
            return paths.models_dir() / "unsaved"
        return self.source.model_dir()

    def set_model_dir(self, path: Path | None) -> None:
        self.model_dir = path
        self.model_changed.emit()

    def set_result(self, result: Any) -> None:
        self.result = result
        self.training_result_changed.emit()

    def base_weights(self) -> Path | None:
        """The weights file chosen in Advanced, else the environment's, else None (download)."""
        if self.base_weights_override is not None:
            return self.base_weights_override
        value = os.environ.get(paths.BASE_WEIGHTS_ENV, "").strip()
        return Path(value) if value else None

    def train_options(self) -> Any:
        """TrainOptions from the settings; imports the trainer, so call it off the UI
        thread or after :attr:`engine_loaded`."""
        from app.core.model import TrainOptions

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

    def mark_engine_loaded(self) -> None:
        self.engine_loaded = True
        self.engine_ready.emit()
