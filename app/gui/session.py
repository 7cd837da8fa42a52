"""What the screens share: who is logged in, the catalogue, the current model.

Kept deliberately small; screens read it and listen to its signals instead of
talking to each other. Shop and TensorFlow modules are imported lazily so the
window appears before they load.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from PySide6.QtCore import QObject, Signal

from app.core import paths
from app.core.catalog import Catalog

from .store import ChannelStore
from .tasks import TaskRunner
from .thumbnails import Thumbnails


@dataclass
class Source:
    """Where products come from: a shop channel or a local folder."""

    kind: str  # "shop" | "folder"
    server: str = ""
    channel_code: str = ""
    channel_id: str = ""
    folder: str = ""

    @property
    def label(self) -> str:
        if self.kind == "shop":
            return f"{self.channel_code} on {self.server}"
        return f"folder {self.folder}"

    @property
    def store_key(self) -> tuple[str, str]:
        return (self.server, self.channel_code) if self.kind == "shop" else ("folder", self.folder)


class Session(QObject):
    source_changed = Signal()
    catalog_changed = Signal()  # base catalogue or the owner's edits changed
    model_changed = Signal()  # a model folder was trained or opened
    training_result_changed = Signal()
    report_changed = Signal()  # a photo check (unreadable files, duplicates) finished
    engine_ready = Signal()  # TensorFlow and the trainer are imported (background warm-up)

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
        self.result: Any = None  # app.core.trainer.TrainResult of the last run
        self.report: Any = None  # app.core.dataset.DatasetReport of the last check
        self.engine_loaded = False
        self._merged: Catalog | None = None
        self.seed = 0
        self.base_weights_override: Path | None = None

    # -- source ---------------------------------------------------------------------
    def use_shop(self, client: Any, server: str, channel: Any) -> None:
        self.client = client
        self._set_source(
            Source("shop", server=server, channel_code=channel.code, channel_id=str(channel.id))
        )

    def use_folder(self, folder: Path) -> None:
        self._set_source(Source("folder", folder=str(folder)))

    def _set_source(self, source: Source) -> None:
        self.source = source
        self.store = ChannelStore(*source.store_key)
        self.base_catalog = None
        self._merged = None
        self.report = None
        self.source_changed.emit()
        self.catalog_changed.emit()

    def logout(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            # Ends the server session and forgets the token; off the UI thread (network).
            self.runner.start("logout", lambda _p, _c: client.logout())
        if self.source is not None and self.source.kind == "shop":
            self.source = None
            self.store = None
            self.base_catalog = None
            self._merged = None
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
        self.report = None
        self.catalog_changed.emit()

    def catalog(self) -> Catalog | None:
        """The catalogue as the trainer will see it (added photos, exclusions).

        Cached until the next change: every screen asks on every refresh, and
        merging reads the channel's folders.
        """
        if self.base_catalog is None or self.store is None:
            return None
        if self._merged is None:
            cat = self.store.apply(self.base_catalog)
            if self.source is not None and self.source.kind == "shop" and not cat.channel_id:
                cat.channel_id = self.source.channel_id
            self._merged = cat
        return self._merged

    def set_report(self, report: Any) -> None:
        self.report = report
        self.report_changed.emit()

    def edited(self) -> None:
        """The owner changed photos or choices; the last photo check stays until redone."""
        self._merged = None
        self.catalog_changed.emit()

    def names(self) -> dict[str, str]:
        return self.base_catalog.names() if self.base_catalog is not None else {}

    # -- model ----------------------------------------------------------------------
    def default_model_dir(self) -> Path:
        """Where training exports: ``models/<server host>/<channel>`` or ``models/folders/…``."""

        def safe(text: str) -> str:
            return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[-80:] or "_"

        src = self.source
        if src is None:
            return paths.models_dir() / "unsaved"
        if src.kind == "shop":
            host = urlsplit(src.server).netloc or src.server
            return paths.models_dir() / safe(host) / safe(src.channel_code)
        folder = Path(src.folder)
        digest = hashlib.blake2b(str(folder).encode(), digest_size=4).hexdigest()
        return paths.models_dir() / "folders" / f"{safe(folder.name)}-{digest}"

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
        from app.core.trainer import TrainOptions

        s = self.settings
        return TrainOptions(
            alpha=s.alpha,
            epochs=s.epochs,
            seed=self.seed,
            augment=s.augment,
            base_weights=self.base_weights(),
        )

    def mark_engine_loaded(self) -> None:
        self.engine_loaded = True
        self.engine_ready.emit()
