"""Keeping a channel's served model current by itself: ``status`` and ``sync``.

Dukahub's design note asks for "auto-training: retrain when products or images
change, debounced; a nightly run that trains only if something changed". Here:

* :func:`catalogue_state` compares the channel's catalogue as it is now (the product
  list only — no photo is downloaded) plus the owner's edits with the catalogue
  fingerprint of the **served** model and of the **local** one;
* :func:`sync_channel` does nothing when the served model is current (and never
  imports TensorFlow then), waits while the newest change is younger than the
  debounce window, and otherwise downloads, trains, exports and publishes with
  verification — under a per-channel lock, so two syncs of one channel never overlap.

A sync killed mid-way leaves the served model untouched (the server swaps atomically)
and the local export whole (exports are atomic); the lock dies with the process.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import fingerprint, paths
from .catalogue import FROM_SHOP, Catalogue, ImageRef, Product
from .errors import ExitCode, ModelFilesError, TrainerError
from .pipeline import Source, with_edits
from .progress import Progress, ProgressHook, Reporter, span
from .timestamps import age_words, parse_utc

if TYPE_CHECKING:
    from .model import TrainOptions
    from .shop import CatalogueListing, ShopClient
    from .store import ChannelStore

log = logging.getLogger(__name__)

# Exit codes of ``dukahub-trainer sync`` (README, "Keeping the model current").
EXIT_OK, EXIT_FAILED = ExitCode.OK, ExitCode.FAILED
EXIT_WAITING, EXIT_BUSY = ExitCode.WAITING, ExitCode.BUSY


class SyncBusy(TrainerError):
    """Another sync of the same channel holds its lock."""


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
    )


def newest_edit(store: ChannelStore) -> dt.datetime | None:
    """When the owner last changed ticks or added/removed a photo of this channel."""
    stamps = []
    for p in [store.root / "selection.json", store.root / "added"]:
        with contextlib.suppress(OSError):
            stamps.append(p.stat().st_mtime)
    added = store.root / "added"
    if added.is_dir():
        for sub in added.iterdir():
            with contextlib.suppress(OSError):
                stamps.append(sub.stat().st_mtime)
    if not stamps:
        return None
    return dt.datetime.fromtimestamp(max(stamps), tz=dt.timezone.utc)


def describe_age(stamp: str, now: dt.datetime | None = None) -> str:
    """``trained 2 days ago`` style wording for an ISO time stamp."""
    t = parse_utc(stamp)
    return "at an unknown time" if t is None else age_words(t, now)


def local_metadata(source: Source) -> dict[str, Any] | None:
    """metadata.json of this source's local model, if a valid one is there."""
    from .modelfiles import validate_model_dir

    folder = source.model_dir()
    if not (folder / "metadata.json").is_file():
        return None
    try:
        return validate_model_dir(folder)
    except ModelFilesError as exc:
        log.info("Local model in %s is not usable: %s", folder, exc)
        return None


@dataclass
class CatalogueState:
    """The catalogue now versus the served and the local model."""

    source: Source
    current: fingerprint.Fingerprint
    product_names: dict[str, str]
    newest_change: dt.datetime | None
    served_metadata: dict[str, Any] | None
    served: fingerprint.Changes | None  # None: the shop serves no model yet
    local_metadata: dict[str, Any] | None
    local: fingerprint.Changes | None  # None: no local model

    def describe_served(self, now: dt.datetime | None = None) -> str:
        """One line for the owner about the served model."""
        if self.served_metadata is None or self.served is None:
            return "Your shop serves no model yet."
        return _describe(self.served, self.served_metadata, "the model your shop serves", now)

    def describe_local(self, now: dt.datetime | None = None) -> str:
        if self.local_metadata is None or self.local is None:
            return "No model trained on this computer yet."
        return _describe(self.local, self.local_metadata, "the model on this computer", now)


def _describe(
    changes: fingerprint.Changes, metadata: dict[str, Any], which: str, now: dt.datetime | None
) -> str:
    age = describe_age(str(metadata.get("trainedAt", "")), now)
    if changes.up_to_date:
        return f"{_upper_first(which)} (trained {age}) is up to date."
    return f"{_upper_first(changes.summary())} since {which} (trained {age})."


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def catalogue_state(
    client: ShopClient,
    *,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
) -> CatalogueState:
    """Reads the product list and the served metadata.json; downloads no photo."""
    from .shop import list_catalogue, published_metadata

    channel = client.require_channel()
    source = Source.shop(client.server_url, channel.code, channel.id)
    store = source.store()
    listing = list_catalogue(client, on_progress=on_progress, cancel=cancel)
    current = fingerprint.of_catalogue(with_edits(listed_catalogue(listing), source, store))
    changes = [parse_utc(listing.newest_update), newest_edit(store)]
    served_meta = published_metadata(client)
    local_meta = local_metadata(source)
    return CatalogueState(
        source=source,
        current=current,
        product_names={p.id: p.display_name for p in listing.products},
        newest_change=max((t for t in changes if t is not None), default=None),
        served_metadata=served_meta,
        served=None
        if served_meta is None
        else fingerprint.compare(current, fingerprint.from_metadata(served_meta)),
        local_metadata=local_meta,
        local=None
        if local_meta is None
        else fingerprint.compare(current, fingerprint.from_metadata(local_meta)),
    )


@contextlib.contextmanager
def channel_lock(source: Source) -> Iterator[Path]:
    """An exclusive per-channel lock held by the OS for this process's lifetime.

    Raises :class:`SyncBusy` at once when another sync holds it (the scheduler's next
    run tries again). The kernel drops the lock when a killed process dies, so a
    crash never leaves the channel locked.
    """
    from .locks import LockBusy, exclusive_lock

    key = hashlib.blake2b("|".join(source.store_key).encode(), digest_size=8).hexdigest()
    with contextlib.ExitStack() as held:
        try:
            path = held.enter_context(
                exclusive_lock(paths.data_dir() / "locks" / f"sync-{key}.lock")
            )
        except LockBusy:
            raise SyncBusy(
                f"Another sync of channel {source.channel_code} on {source.server} is running."
            ) from None
        yield path


@dataclass
class SyncOutcome:
    channel: str
    status: str  # "up to date" | "published" | "waiting" | "busy" | "failed"
    message: str
    exit_code: int
    version: str = ""
    trained: bool = False


def sync_channel(
    client: ShopClient,
    options: TrainOptions,
    *,
    debounce_minutes: float = 0.0,
    quantize: str = "none",
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
    now: dt.datetime | None = None,
) -> SyncOutcome:
    """Train → publish → verify if the catalogue or the owner's edits changed since the
    served model; otherwise return at once ("up to date") without importing TensorFlow.

    Raises :class:`SyncBusy` when another sync of the channel runs, and the usual
    :class:`TrainerError` subclasses on failure.
    """
    channel = client.require_channel()
    source = Source.shop(client.server_url, channel.code, channel.id)
    rep = Reporter(on_progress, cancel)
    with channel_lock(source):
        state = catalogue_state(client, on_progress=span(on_progress, 0.0, 0.03), cancel=cancel)
        served = state.served
        if served is not None and served.up_to_date:
            return SyncOutcome(channel.code, "up to date", state.describe_served(now), EXIT_OK)
        what = (
            "no model is served yet"
            if served is None
            else f"{served.summary()} since the served model"
        )
        now = now or dt.datetime.now(dt.timezone.utc)
        if debounce_minutes > 0 and state.newest_change is not None:
            age_min = (now - state.newest_change).total_seconds() / 60
            if age_min < debounce_minutes:
                return SyncOutcome(
                    channel.code,
                    "waiting",
                    f"{_upper_first(what)}; the newest change is {age_min:.0f} min old, "
                    f"so training waits until it is {debounce_minutes:g} min old.",
                    EXIT_WAITING,
                )
        model_dir = source.model_dir()
        trained = False
        if state.local is not None and state.local.up_to_date:
            rep("preparing", 0.05, "The model on this computer is current: publishing it")
        else:
            _train_channel(
                client, source, options, quantize, model_dir, span(on_progress, 0.03, 0.9), cancel
            )
            trained = True
        from .shop import publish

        result = publish(client, model_dir, on_progress=span(on_progress, 0.9, 1.0), cancel=cancel)
        n = len(result.metadata.get("labels", []))
        return SyncOutcome(
            channel.code,
            "published",
            f"{_upper_first(what)}: published version {result.version} ({n} products), "
            f"verified at {result.url}",
            EXIT_OK,
            version=result.version,
            trained=trained,
        )


def _train_channel(
    client: ShopClient,
    source: Source,
    options: TrainOptions,
    quantize: str,
    model_dir: Path,
    on_progress: ProgressHook | None,
    cancel: threading.Event | None,
) -> None:
    from .pipeline import train_and_export
    from .shop import fetch_catalogue

    store = source.store()
    fetched = fetch_catalogue(client, on_progress=span(on_progress, 0.0, 0.15), cancel=cancel)
    for failure in fetched.stats.failed:
        log.warning("Photo not downloaded: %s", failure)
    train_and_export(
        with_edits(fetched.catalogue, source, store),
        options,
        model_dir,
        quantize=quantize,
        fingerprint_of=with_edits(listed_catalogue(fetched.listing), source, store),
        counter_frames=store.counter_frames.paths(),
        not_product_photos=store.not_product_photos(),
        on_progress=span(on_progress, 0.15, 1.0),
        cancel=cancel,
    )


# -- the time limit of one run ------------------------------------------------------------
TIME_LIMIT_MINUTES = 120.0  # ``sync --time-limit``: a big shop trains in far less on a CPU
_STEP_WORDS = {
    "downloading": "reading the catalogue",
    "preparing": "preparing the photos",
    "features": "reading the photos",
    "training": "training",
    "exporting": "writing the model",
    "uploading": "publishing",
    "verifying": "checking the published model",
}


class SyncTimeout(TrainerError):
    """The run went past its time limit; the message says which step it was on."""


class SyncClock:
    """The wall-clock limit of one ``sync`` run (``--time-limit``), all channels together.

    When it passes, :attr:`cancel` is set (every step of :func:`sync_channel` checks it)
    and every request to the server has already been given this end
    (``ShopClient.stop_at = clock.stop_at``: it is shut when the limit passes). The
    failure that follows, whatever its kind, becomes one :class:`SyncTimeout` naming
    the step the run was on (:meth:`guard`).
    """

    def __init__(self, limit_s: float) -> None:
        self.limit_s = limit_s
        self.cancel = threading.Event()
        self.stop_at = time.monotonic() + limit_s
        self.step = "starting"
        self.detail = ""
        self._timer: threading.Timer | None = None

    def __enter__(self) -> SyncClock:
        self._timer = threading.Timer(max(0.0, self.stop_at - time.monotonic()), self.cancel.set)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()

    @property
    def expired(self) -> bool:
        # a hair early too: a request's deadline ends at stop_at, by its own timer
        return self.cancel.is_set() or time.monotonic() >= self.stop_at - 0.1

    def hook(self, on_progress: ProgressHook | None) -> ProgressHook:
        """A progress hook that remembers the step the run is on, then forwards."""

        def seen(p: Progress) -> None:
            self.step = _STEP_WORDS.get(p.phase, p.phase)
            self.detail = p.message
            if on_progress is not None:
                on_progress(p)

        return seen

    @contextlib.contextmanager
    def guard(self, step: str) -> Iterator[None]:
        """Runs one step (``step`` names it until progress says more); any failure once
        the limit has passed is raised as :class:`SyncTimeout` instead."""
        self.step, self.detail = step, ""
        if self.expired:
            raise self.failure()
        try:
            yield
        except TrainerError as exc:
            if self.expired and not isinstance(exc, SyncTimeout):
                raise self.failure() from exc
            raise

    def failure(self) -> SyncTimeout:
        minutes = self.limit_s / 60
        limit = f"{minutes:g} min" if minutes >= 1 else f"{self.limit_s:g} s"
        detail = f" ({self.detail.rstrip('.…')})" if self.detail else ""
        if self.step in ("publishing", "checking the published model"):
            after = (
                "The upload may or may not have completed: run “dukahub-trainer status” to "
                "see which model is served."
            )
        else:
            after = "Nothing was published; the served model is unchanged."
        return SyncTimeout(
            f"The sync stopped at its time limit ({limit}, --time-limit) while "
            f"{self.step}{detail}. {after}"
        )
