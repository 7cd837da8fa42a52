"""Publish, status, rollback and versions: one protocol for a shop and for a folder.

A shop channel with the Dukahub plugin (:class:`ShopTarget`) and a folder the shop
serves (:class:`FolderTarget`, the plugin's layout) answer the same questions with the
same types: which version is served, which are stored, what a publish or a rollback
did. The domain modules behind them (:mod:`app.core.shop.publishing`,
:mod:`app.core.folder_publish`) keep their own shapes; the conversion is here, once.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..folder_versions import LOCK_WAIT_S, FolderBusy, FolderPublishError
from ..progress import ProgressHook

if TYPE_CHECKING:
    from ..shop import ShopClient

__all__ = [
    "LOCK_WAIT_S",
    "FolderBusy",
    "FolderPublishError",
    "FolderTarget",
    "ModelVersion",
    "Published",
    "PublishTarget",
    "ShopTarget",
    "StoredFile",
    "TargetStatus",
    "UnservableVersion",
    "model_file_hashes",
    "save_copy",
    "serves_these_files",
]


@dataclass(frozen=True)
class StoredFile:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ModelVersion:
    """One stored version of a channel's model."""

    version: str
    trained_at: str | None
    created_at: str | None
    current: bool  # the one the tills load now
    products: int | None  # None: its metadata does not say
    metadata: Mapping[str, Any] = field(default_factory=dict)  # its metadata.json
    files: tuple[StoredFile, ...] = ()
    damaged: str | None = None  # why its metadata cannot be used (None: it can)

    @property
    def model_metadata(self) -> dict[str, Any]:
        """Its metadata.json, with the version's own ``trainedAt`` where the metadata
        lacks one: what the owner is told the version is ("the model trained …")."""
        meta = dict(self.metadata)
        if self.trained_at and not meta.get("trainedAt"):
            meta["trainedAt"] = self.trained_at
        return meta

    @property
    def hashes(self) -> dict[str, str]:
        """sha256 of each stored file, by name."""
        return {f.name: f.sha256 for f in self.files if f.sha256}

    @property
    def products_text(self) -> str:
        """ "12 products", "? products", or why a version's metadata cannot say."""
        if self.damaged:
            return f"? products (damaged: {self.damaged})"
        return f"{'?' if self.products is None else self.products} products"


@dataclass(frozen=True)
class UnservableVersion:
    """A stored version that could not be served (cut short, files missing), and why."""

    version: str
    reason: str


@dataclass(frozen=True)
class TargetStatus:
    current: ModelVersion | None  # None: nothing is served yet
    versions: list[ModelVersion]  # newest first; only versions that could be served
    unservable: list[UnservableVersion] = field(default_factory=list)
    served_problem: str | None = None  # what is wrong with what the tills load, if anything


@dataclass(frozen=True)
class Published:
    version: str
    products: int
    location: str  # where the tills load it: the shop's URL, or the folder's latest/
    metadata: Mapping[str, Any]
    reused: bool  # these files were already served: nothing was uploaded or copied


class PublishTarget(Protocol):
    """Where a model is published: the tills of a channel load it from there."""

    def publish(
        self,
        model_dir: Path,
        *,
        on_progress: ProgressHook | None = None,
        cancel: threading.Event | None = None,
    ) -> Published: ...

    def status(self) -> TargetStatus: ...

    def versions(self) -> list[ModelVersion]: ...

    def served_metadata(self) -> Mapping[str, Any] | None:
        """metadata.json of the model the tills load now (None: nothing served yet)."""
        ...

    def rollback(self, version: str, *, on_progress: ProgressHook | None = None) -> ModelVersion:
        """Serve an earlier stored version again; what is served now (``on_progress``: a
        wait for another publish or rollback is said)."""
        ...


def _labels_count(meta: Any) -> int | None:
    labels = meta.get("labels") if isinstance(meta, Mapping) else None
    return len(labels) if isinstance(labels, list) else None


def _files(raw: Any) -> tuple[StoredFile, ...]:
    return tuple(
        StoredFile(str(f["name"]), int(f.get("size") or 0), str(f.get("sha256") or ""))
        for f in raw or []
        if isinstance(f, Mapping) and isinstance(f.get("name"), str)
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _metadata(value: Any) -> Mapping[str, Any]:
    """A version's metadata as the server lists it: an object, or its JSON as text."""
    if isinstance(value, str):
        from ..readers import BadJson, parse_json

        try:
            value = parse_json(value)
        except BadJson:
            return {}
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class ShopTarget:
    """The channel ``client`` has selected, on a shop with the Dukahub plugin."""

    client: ShopClient

    def publish(
        self,
        model_dir: Path,
        *,
        on_progress: ProgressHook | None = None,
        cancel: threading.Event | None = None,
    ) -> Published:
        from ..shop import publish

        r = publish(self.client, model_dir, on_progress=on_progress, cancel=cancel)
        n = len(r.metadata.get("labels", []))
        return Published(r.version, n, r.url, r.metadata, r.reused)

    def status(self) -> TargetStatus:
        from ..shop import model_status

        raw = model_status(self.client)
        current = raw.get("current")
        return TargetStatus(
            self._version(current) if current else None,
            [self._version(v) for v in raw.get("versions") or []],
        )

    def versions(self) -> list[ModelVersion]:
        return self.status().versions

    @property
    def location(self) -> str:
        """Where the tills of the channel load the served model (ends with "/")."""
        return self.client.latest_url()

    def served_metadata(self) -> Mapping[str, Any] | None:
        """Read as the tills read it (the public address, no permission needed)."""
        from ..shop import published_metadata

        return published_metadata(self.client)

    def rollback(self, version: str, *, on_progress: ProgressHook | None = None) -> ModelVersion:
        from ..shop import rollback

        return self._version(rollback(self.client, version))  # one request: nothing to say

    @staticmethod
    def _version(v: Mapping[str, Any]) -> ModelVersion:
        meta = _metadata(v.get("metadata"))
        return ModelVersion(
            version=str(v["version"]),
            trained_at=_text(v.get("trainedAt")),
            created_at=_text(v.get("createdAt")),
            current=bool(v.get("current")),
            products=_labels_count(meta),
            metadata=meta,
            files=_files(v.get("files")),
        )


@dataclass(frozen=True)
class FolderTarget:
    """``root/<channel id>/``: the plugin's layout in a folder the shop serves.

    ``channel_id`` may be None for a publish (the model's own channel is used); status
    and rollback need it. ``wait_s``: how long to wait for another publish or rollback
    of the channel folder (then :class:`FolderBusy`, nothing changed).
    """

    root: Path
    channel_id: str | None = None
    wait_s: float = LOCK_WAIT_S

    @property
    def channel_dir(self) -> Path:
        from ..folder_publish import channel_dir

        return channel_dir(self.root, self._channel())

    def publish(
        self,
        model_dir: Path,
        *,
        on_progress: ProgressHook | None = None,
        cancel: threading.Event | None = None,
    ) -> Published:
        from ..folder_publish import publish_to_folder

        r = publish_to_folder(
            model_dir,
            self.root,
            self.channel_id,
            wait_s=self.wait_s,
            on_progress=on_progress,
            cancel=cancel,
        )
        n = len(r.metadata.get("labels", []))
        return Published(r.version, n, str(r.latest), r.metadata, r.reused)

    def status(self) -> TargetStatus:
        from ..folder_publish import folder_status

        raw = folder_status(self.root, self._channel())
        return TargetStatus(
            self._version(raw["current"]) if raw["current"] else None,
            [self._version(v) for v in raw["versions"]],
            [UnservableVersion(v["version"], v["reason"]) for v in raw["incomplete"]],
            raw["served_problem"],
        )

    def versions(self) -> list[ModelVersion]:
        return self.status().versions

    @property
    def location(self) -> str:
        """The folder the tills of the channel load the served model from."""
        return str(self.channel_dir / "latest")

    def served_metadata(self) -> Mapping[str, Any] | None:
        current = self.status().current
        return current.model_metadata if current is not None else None

    def rollback(self, version: str, *, on_progress: ProgressHook | None = None) -> ModelVersion:
        from ..folder_publish import rollback_folder

        return self._version(
            rollback_folder(
                self.root, self._channel(), version, wait_s=self.wait_s, on_progress=on_progress
            )
        )

    def _channel(self) -> str:
        if not self.channel_id:
            raise FolderPublishError("A folder's status and rollback need its channel id.")
        return self.channel_id

    @staticmethod
    def _version(v: Mapping[str, Any]) -> ModelVersion:
        return ModelVersion(
            version=str(v["version"]),
            trained_at=_text(v.get("trainedAt")),
            created_at=_text(v.get("createdAt")),
            current=bool(v.get("current")),
            products=v.get("products"),
            metadata=v.get("metadata") or {},
            files=_files(v.get("files")),
            damaged=v.get("damaged"),
        )


def save_copy(model_dir: Path, dest: Path) -> Path:
    """The three files copied into ``dest`` (empty, or holding an earlier copy), whole
    or not at all: for a till loaded by hand (a USB stick)."""
    from ..folder_publish import save_copy as copy

    return copy(model_dir, dest)


_hashes: dict[tuple[Any, ...], dict[str, str]] = {}


def model_file_hashes(model_dir: Path) -> dict[str, str]:
    """sha256 of the three files ({} when one cannot be read), hashed again only when a
    file's size or time changed: asked on every refresh of the Publish screen."""
    from ..model_format import FILES

    try:
        key = (str(model_dir),) + tuple(
            (n, st.st_size, st.st_mtime_ns) for n in FILES for st in [(model_dir / n).stat()]
        )
        if key not in _hashes:
            if len(_hashes) > 8:
                _hashes.clear()
            _hashes[key] = {
                n: hashlib.sha256((model_dir / n).read_bytes()).hexdigest() for n in FILES
            }
    except OSError:
        return {}
    return _hashes[key]


def serves_these_files(served: Mapping[str, str], model_dir: Path | None) -> bool:
    """Whether the files whose sha256 are ``served`` (:attr:`ModelVersion.hashes`) are
    byte for byte the model in ``model_dir``: then there is nothing new to publish."""
    local = model_file_hashes(model_dir) if model_dir is not None else {}
    return bool(local) and all(served.get(n) == h for n, h in local.items())
