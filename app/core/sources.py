"""Where a shop's products come from: a Vendure channel, a folder, or the sample shop.

Each kind is a class behind one protocol (:class:`Source`): its name for the owner,
where its model and the owner's edits are kept, how its catalogue is read and what
the export records as trained on. Nothing else asks which kind a source is; ``kind``
is only the value the app's settings store (``last_source``), as before.

A shop's catalogue is read with every listed photo (:attr:`LoadedCatalogue.listed`,
from the product list) beside the photos that could be downloaded: a model records
the listed ones, so a photo that failed to download is not "a change" at the next
``status`` or ``sync`` (README, "Keeping the model current").
"""

from __future__ import annotations

import hashlib
import os
import threading
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from . import paths
from .catalogue import FROM_SHOP, Catalogue, ImageRef, Product, catalogue_from_folder
from .errors import TrainerError
from .progress import ProgressHook
from .store import ChannelStore

if TYPE_CHECKING:
    from .shop import CatalogueListing, PhotoFailure, ShopClient

SHOP, FOLDER = "shop", "folder"  # Source.kind: the settings' ``last_source`` values
SAMPLE_SHOP_NAME = "Sample shop"


@dataclass(frozen=True)
class LoadedCatalogue:
    """A source's catalogue as read now, before the owner's edits."""

    catalogue: Catalogue  # every product, with the photos on this computer
    listed: Catalogue  # every photo the source lists (a shop's failed downloads too)
    failed: tuple[PhotoFailure, ...] = ()  # a shop's photos that could not be downloaded


class Source(Protocol):
    """Where products come from. The identity properties are ``""`` where they do not
    apply (a folder has no server); messages and the app's settings use them."""

    kind: str  # SHOP | FOLDER
    server: str
    channel_code: str
    channel_id: str
    folder: str
    is_sample_shop: bool
    renamed_from: str  # the channel's earlier code, when opening it moved what was kept there

    @property
    def label(self) -> str:
        """ "fruit on https://shop", "folder /photos", "Sample shop"."""
        ...

    @property
    def short_name(self) -> str:
        """For the window title: the channel code, the folder's name, "Sample shop"."""
        ...

    @property
    def store_key(self) -> tuple[str, str]:
        """What the owner's edits are kept under (:class:`ChannelStore`)."""
        ...

    def store(self) -> ChannelStore:
        """The owner's added photos and ticks for this source (kept on disk)."""
        return ChannelStore(*self.store_key)

    def model_dir(self) -> Path:
        """Where training exports by default (``models/…`` in the app's data folder)."""
        ...

    def with_edits(self, base: Catalogue, store: ChannelStore | None = None) -> Catalogue:
        """The catalogue as the trainer sees it: the owner's added photos and ticks."""
        return (store or self.store()).apply(base)

    def load(
        self,
        client: ShopClient | None = None,
        *,
        on_progress: ProgressHook | None = None,
        cancel: threading.Event | None = None,
    ) -> LoadedCatalogue:
        """Reads the catalogue (a shop downloads the photos it lacks, with ``client``)."""
        ...

    @staticmethod
    def shop(server: str, channel_code: str, channel_id: str = "") -> ShopSource:
        """A shop channel (the address normalised); the name the app has always used."""
        return ShopSource.at(server, channel_code, channel_id)

    @staticmethod
    def from_folder(folder: Path | str) -> FolderSource:
        """A folder of product folders; the sample shop's copy is a :class:`SampleShopSource`."""
        from .sample_shop import is_sample_shop

        path = str(paths.resolved(folder))
        return SampleShopSource(path) if is_sample_shop(path) else FolderSource(path)


def sync_file(source: Source, suffix: str) -> Path:
    """One of sync's own files for a channel (its lock, what it last saw), by a digest of
    the channel's key."""
    key = hashlib.blake2b(paths.name_bytes("|".join(source.store_key)), digest_size=8).hexdigest()
    return paths.data_dir() / "locks" / f"sync-{key}{suffix}"


def _safe(text: str) -> str:
    """A model folder's name before it carried a digest (moved by the first call)."""
    return paths.bounded_name(text, paths.NAME_LIMIT - 9, tail=True) or "_"


def move_model_folder(earlier: Path, folder: Path) -> None:
    """Moves a model folder and what is kept beside it (its history, lock, taught memory)
    to a new name; nothing when there is none, or another process moved it first."""
    from .local_history import LOCK_SUFFIX, SUFFIX, beside
    from .taught_memory import SUFFIX as TAUGHT

    if not earlier.is_dir():
        return
    with suppress(OSError):
        folder.parent.mkdir(parents=True, exist_ok=True)
        os.replace(earlier, folder)
        for suffix in (SUFFIX, LOCK_SUFFIX, TAUGHT):
            if beside(earlier, suffix).exists():
                os.replace(beside(earlier, suffix), beside(folder, suffix))


@dataclass(frozen=True)
class ShopSource(Source):
    """A channel of a Vendure shop with the Dukahub plugin."""

    server: str  # normalised (``https://shop.example``)
    channel_code: str
    channel_id: str = ""
    renamed_from: str = field(default="", compare=False)  # channel_renames.follow_rename

    @classmethod
    def at(cls, server: str, channel_code: str, channel_id: str = "") -> ShopSource:
        from .shop.addresses import normalise_server_url

        return cls(normalise_server_url(server), channel_code, str(channel_id))

    kind = SHOP
    folder = ""
    is_sample_shop = False

    @property
    def label(self) -> str:
        return f"{self.channel_code} on {self.server}"

    @property
    def short_name(self) -> str:
        return self.channel_code

    @property
    def store_key(self) -> tuple[str, str]:
        return (self.server, self.channel_code)

    def model_dir(self) -> Path:
        """``models/<address>-<digest>/<code>-<digest>``. By host and code alone, two shops
        on one host (``/one``, ``/two``; http and https) and codes such as ``a b`` and
        ``a_b`` shared one model folder: one shop's model was reported and published as
        the other's. A folder by that older name is moved here by the first call."""
        parts = urlsplit(self.server)
        shop = parts.netloc + parts.path.rstrip("/") or self.server
        code = self.channel_code
        folder = (
            paths.models_dir()
            / paths.digest_name(shop, self.server, tail=True)
            / paths.digest_name(code, code, tail=True)
        )
        if not folder.exists():
            host = parts.netloc or self.server
            move_model_folder(paths.models_dir() / _safe(host) / _safe(self.channel_code), folder)
        return folder

    def with_edits(self, base: Catalogue, store: ChannelStore | None = None) -> Catalogue:
        cat = (store or self.store()).apply(base)
        return cat if cat.channel_id else replace(cat, channel_id=self.channel_id)

    def load(
        self,
        client: ShopClient | None = None,
        *,
        on_progress: ProgressHook | None = None,
        cancel: threading.Event | None = None,
    ) -> LoadedCatalogue:
        from .shop import fetch_catalogue

        if client is None:
            raise TrainerError(f"Log in to {self.server} to read channel {self.channel_code}.")
        fetched = fetch_catalogue(client, on_progress=on_progress, cancel=cancel)
        listed = listed_catalogue(fetched.listing)
        return LoadedCatalogue(fetched.catalogue, listed, tuple(fetched.stats.failed))


@dataclass(frozen=True)
class FolderSource(Source):
    """A folder on this computer: one sub-folder of photos per product."""

    folder: str  # resolved

    kind = FOLDER
    server = ""
    channel_code = ""
    channel_id = ""
    renamed_from = ""
    is_sample_shop = False

    @property
    def label(self) -> str:
        return f"folder {self.folder}"

    @property
    def short_name(self) -> str:
        return Path(self.folder).name

    @property
    def store_key(self) -> tuple[str, str]:
        return ("folder", self.folder)

    def model_dir(self) -> Path:
        folder = Path(self.folder)
        return (
            paths.models_dir() / "folders" / paths.digest_name(folder.name, str(folder), tail=True)
        )

    def load(
        self,
        client: ShopClient | None = None,
        *,
        on_progress: ProgressHook | None = None,
        cancel: threading.Event | None = None,
    ) -> LoadedCatalogue:
        found = catalogue_from_folder(self.folder)
        return LoadedCatalogue(found, found)


@dataclass(frozen=True)
class SampleShopSource(FolderSource):
    """The six fruits shipped with the app, trained from a copy in the data folder."""

    is_sample_shop = True

    @classmethod
    def copy(cls) -> SampleShopSource:
        """The sample shop, its copy made on first use."""
        from .sample_shop import sample_shop_dir

        return cls(str(sample_shop_dir().resolve()))

    @property
    def label(self) -> str:
        return SAMPLE_SHOP_NAME  # not the path of its copy inside the app's data folder

    @property
    def short_name(self) -> str:
        return SAMPLE_SHOP_NAME


def listed_catalogue(listing: CatalogueListing) -> Catalogue:
    """The channel's products with photo *identities* only (nothing downloaded).

    Each photo's ``path`` is a placeholder and is never opened: fingerprints use
    ``ImageRef.key`` for shop photos. Owner-added photos, merged in by the store, are
    real files and are hashed.
    """
    return Catalogue(
        products=[
            Product(
                id=p.id,
                name=p.name,
                images=[ImageRef(Path(key), origin=FROM_SHOP, key=key) for key in p.photo_keys],
            )
            for p in listing.products
        ],
        channel_id=listing.channel_id,
        disabled=list(listing.disabled),
    )
