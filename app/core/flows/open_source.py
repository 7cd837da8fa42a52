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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..catalogue import Catalogue
from ..progress import ProgressHook
from ..sources import FolderSource, SampleShopSource, ShopSource, Source
from ..store import ChannelStore

if TYPE_CHECKING:
    from ..shop import PhotoFailure, ShopClient

__all__ = [
    "FolderSource",
    "OpenedSource",
    "SampleShopSource",
    "ShopSource",
    "Source",
    "folder_source",
    "open_source",
    "sample_shop",
    "shop_source",
]


@dataclass(frozen=True)
class OpenedSource:
    """A source's catalogue, read now."""

    source: Source
    base: Catalogue  # as the source lists it, before the owner's edits
    catalogue: Catalogue  # what training uses: the owner's edits applied
    trained_on: Catalogue  # what an export records (every listed photo, edits applied)
    failed: tuple[PhotoFailure, ...]  # a shop's photos that could not be downloaded
    store: ChannelStore  # the owner's edits, counter frames and empty-counter photos


def folder_source(folder: Path | str) -> Source:
    """A folder of product folders (the sample shop's copy is recognised as such)."""
    return Source.from_folder(folder)


def sample_shop() -> SampleShopSource:
    """The sample shop shipped with the app (copied on first use)."""
    return SampleShopSource.copy()


def shop_source(client: ShopClient) -> ShopSource:
    """The channel ``client`` has selected."""
    channel = client.require_channel()
    return ShopSource.at(client.server_url, channel.code, channel.id)


def open_source(
    source: Source,
    *,
    client: ShopClient | None = None,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
) -> OpenedSource:
    """Reads ``source``'s catalogue (a shop: through ``client``, logged in, the channel
    selected; photos already in the image cache are not downloaded again)."""
    loaded = source.load(client, on_progress=on_progress, cancel=cancel)
    store = source.store()
    return OpenedSource(
        source=source,
        base=loaded.catalogue,
        catalogue=source.with_edits(loaded.catalogue, store),
        trained_on=source.with_edits(loaded.listed, store),
        failed=loaded.failed,
        store=store,
    )
