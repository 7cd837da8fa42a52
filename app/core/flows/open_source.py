"""Open a source: read a shop channel's, a folder's or the sample shop's catalogue.

The result carries the catalogue as the trainer sees it (the owner's added photos and
ticks applied) and, beside it, the catalogue the export records as trained on: every
photo the source lists, with the same edits. For a shop the two differ when a photo
could not be downloaded; recording the listed one is what keeps the next ``status``
or ``sync`` from calling that photo a change (every caller of :func:`.train.train`
gets this, not only ``sync``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..catalogue import Catalogue, ImageRef, Product
from ..progress import ProgressHook
from ..sources import FolderSource, SampleShopSource, ShopSource, Source
from ..store import ChannelStore

if TYPE_CHECKING:
    from ..shop import PhotoFailure, ShopClient

__all__ = [
    "Catalogue",
    "ChannelStore",
    "FolderSource",
    "ImageRef",
    "OpenedSource",
    "Product",
    "SampleShopSource",
    "ShopSource",
    "Source",
    "folder_source",
    "open_source",
    "sample_shop",
    "sample_test_photos",
    "shop_source",
]


@dataclass(frozen=True)
class OpenedSource:
    """A source's catalogue, read now."""

    source: Source
    base: Catalogue  # as the source lists it, before the owner's edits
    listed: Catalogue  # every photo the source lists (a shop's failed downloads too)
    catalogue: Catalogue  # what training uses: the owner's edits applied
    trained_on: Catalogue  # what an export records (every listed photo, edits applied)
    failed: tuple[PhotoFailure, ...]  # a shop's photos that could not be downloaded
    store: ChannelStore  # the owner's edits, counter frames and empty-counter photos

    def with_current_edits(self) -> OpenedSource:
        """The same catalogue with the owner's edits as they are now (a tick, an added
        photo): what the app trains after an edit, without reading the source again."""
        return replace(
            self,
            catalogue=self.source.with_edits(self.base, self.store),
            trained_on=self.source.with_edits(self.listed, self.store),
        )


def folder_source(folder: Path | str) -> Source:
    """A folder of product folders (the sample shop's copy is recognised as such)."""
    return Source.from_folder(folder)


def sample_shop() -> SampleShopSource:
    """The sample shop shipped with the app (copied on first use)."""
    return SampleShopSource.copy()


def sample_test_photos() -> Path | None:
    """The sample shop's photos kept apart from training, to test its model on (None
    where the app was installed without them)."""
    from ..sample_shop import sample_test_photos_dir

    return sample_test_photos_dir()


def shop_source(client: ShopClient) -> ShopSource:
    """The channel ``client`` has selected (what was kept under its earlier code, when an
    administrator changed it, moved to its code now: :mod:`app.core.channel_renames`)."""
    from ..channel_renames import shop_channel

    return shop_channel(client)


def open_source(
    source: Source,
    *,
    client: ShopClient | None = None,
    store: ChannelStore | None = None,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
) -> OpenedSource:
    """Reads ``source``'s catalogue (a shop: through ``client``, logged in, the channel
    selected; photos already in the image cache are not downloaded again). ``store``:
    the owner's edits as the caller holds them (the app edits one while it reads);
    default: as kept on disk."""
    loaded = source.load(client, on_progress=on_progress, cancel=cancel)
    store = store if store is not None else source.store()
    return OpenedSource(
        source=source,
        base=loaded.catalogue,
        listed=loaded.listed,
        catalogue=source.with_edits(loaded.catalogue, store),
        trained_on=source.with_edits(loaded.listed, store),
        failed=loaded.failed,
        store=store,
    )
