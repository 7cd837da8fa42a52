"""What keeping a channel's served model current needs: the state, the lock, the clock.

Dukahub's design note asks for "auto-training: retrain when products or images
change, debounced; a nightly run that trains only if something changed". Here:

* :func:`catalogue_state` compares the channel's catalogue as it is now (the product
  list only — no photo is downloaded) plus the owner's edits with the catalogue
  fingerprint of the **served** model and of the **local** one;
* :func:`channel_lock` keeps two syncs of one channel from overlapping, and
  :class:`SyncClock` ends a whole run at its time limit, naming the step it was on.

The run itself (nothing to do, debounce, or train → publish → verify) is the task
:func:`app.core.flows.keep_current.sync_channel`. A sync killed mid-way leaves the
served model untouched (the server swaps atomically) and the local export whole
(exports are atomic); the lock dies with the process.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import fingerprint, paths
from .channel_renames import shop_channel
from .errors import ExitCode, ModelFilesError, TrainerError
from .model_format import WEIGHTS_SHA256
from .progress import Phase, Progress, ProgressHook
from .sources import Source, listed_catalogue, sync_file
from .till_review import TillUse, till_photo_use
from .timestamps import age_words, parse_utc
from .wording import taught_products, upper_first

if TYPE_CHECKING:
    from .shop import ShopClient
    from .store import ChannelStore

log = logging.getLogger(__name__)

# Exit codes of ``dukahub-trainer sync`` (README, "Keeping the model current").
EXIT_OK, EXIT_FAILED = ExitCode.OK, ExitCode.FAILED
EXIT_WAITING, EXIT_BUSY = ExitCode.WAITING, ExitCode.BUSY


class SyncBusy(TrainerError):
    """Another sync of the same channel holds its lock."""


def newest_edit(store: ChannelStore) -> dt.datetime | None:
    """When the owner last changed ticks or added/removed a photo of this channel
    (photos from the till taken in by ``sync --till-photos accept`` excluded)."""
    t = store.last_edited()
    return None if t is None else dt.datetime.fromtimestamp(t, tz=dt.timezone.utc)


def first_seen(source: Source, current: fingerprint.Fingerprint, now: dt.datetime) -> dt.datetime:
    """When a sync first saw the catalogue as it is now (``now`` the first time). A
    deleted product leaves no change stamp, so ``--debounce`` did not wait for a burst
    of deletions: each tick trained again. Kept per channel, one small file. A time
    after ``now`` (seen while the clock was a year ahead) is seen again now: kept, it
    held the sync "waiting" until the clock caught up."""
    path = sync_file(source, ".seen.json")
    state = hashlib.blake2b(json.dumps(current, sort_keys=True).encode(), digest_size=16)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        since = parse_utc(str(raw.get("since")))
        if raw.get("state") == state.hexdigest() and since is not None and since <= now:
            return since  # one in the future (a clock since set back) counts from now
    except (OSError, ValueError, AttributeError):
        pass
    with contextlib.suppress(OSError):  # unrecorded: the debounce counts from now
        record = {"state": state.hexdigest(), "since": now.isoformat()}
        paths.atomic_write_bytes(path, json.dumps(record).encode())
    return now


def describe_age(stamp: str, now: dt.datetime | None = None) -> str:
    """``trained 2 days ago`` style wording for an ISO time stamp."""
    t = parse_utc(stamp)
    return "at an unknown time" if t is None else age_words(t, now)


def local_metadata(source: Source) -> dict[str, Any] | None:
    """metadata.json of this source's local model, if a valid one of this channel is
    there. One trained for another channel id (a channel deleted and made again under
    its code) is none: taken as current, it was published and refused on every sync."""
    from .modelfiles import validate_model_dir

    folder = source.model_dir()
    if not (folder / "metadata.json").is_file():
        return None
    try:
        meta = validate_model_dir(folder)
    except ModelFilesError as exc:
        log.info("Local model in %s is not usable: %s", folder, exc)
        return None
    trained_for = str(meta.get("channelId") or "")
    if source.channel_id and trained_for and trained_for != source.channel_id:
        log.info(
            "Local model in %s was trained for channel id %s, not %s: not this channel's",
            folder,
            trained_for,
            source.channel_id,
        )
        return None
    return meta


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
    till: TillUse = TillUse(0)  # accepted photos from the till in ``current``, and not

    def describe_served(self, now: dt.datetime | None = None) -> str:
        """One line for the owner about the served model."""
        if self.served_metadata is None or self.served is None:
            return "Your shop serves no model yet."
        return _describe(self.served, self.served_metadata, "the model your shop serves", now)

    def describe_local(self, now: dt.datetime | None = None) -> str:
        if self.local_metadata is None or self.local is None:
            return "No model trained on this computer yet."
        line = _describe(self.local, self.local_metadata, "the model on this computer", now)
        ours = self.local_metadata.get(WEIGHTS_SHA256)
        served = (self.served_metadata or {}).get(WEIGHTS_SHA256)
        if not ours or ours == served or self.served_metadata is None:
            return line
        # "up to date" twice read as if the shop served it (a model taught since did not)
        taught = taught_products(self.local_metadata)
        corrections = (
            f" (with corrections of {taught} product{'s' * (taught != 1)} taught at the counter)"
            if taught
            else ""
        )
        return f"{line} It is not the model your shop serves{corrections}: `publish` serves it."


def _describe(
    changes: fingerprint.Changes, metadata: dict[str, Any], which: str, now: dt.datetime | None
) -> str:
    age = describe_age(str(metadata.get("trainedAt", "")), now)
    if changes.up_to_date:
        return f"{upper_first(which)} (trained {age}) is up to date."
    return f"{upper_first(changes.summary())} since {which} (trained {age})."


def catalogue_state(
    client: ShopClient,
    *,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
) -> CatalogueState:
    """Reads the product list and the served metadata.json; downloads no photo."""
    from .shop import list_catalogue, published_metadata

    source = shop_channel(client)
    store = source.store()
    listing = list_catalogue(client, on_progress=on_progress, cancel=cancel)
    edited = source.with_edits(listed_catalogue(listing), store)
    current = fingerprint.of_catalogue(edited)
    look = fingerprint.of_look(store.counter_frames.paths(), store.not_product_photos())
    stamped = parse_utc(listing.newest_update)  # the server's clock: read on ours
    changes = [None if stamped is None else client.clock.on_our_clock(stamped), newest_edit(store)]
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
        else fingerprint.compare_with(current, look, served_meta),
        local_metadata=local_meta,
        local=None if local_meta is None else fingerprint.compare_with(current, look, local_meta),
        till=till_photo_use(edited, store.added_images()),
    )


@contextlib.contextmanager
def channel_lock(source: Source) -> Iterator[Path]:
    """An exclusive per-channel lock held by the OS for this process's lifetime.

    Raises :class:`SyncBusy` at once when another sync holds it (the scheduler's next
    run tries again). The kernel drops the lock when a killed process dies, so a
    crash never leaves the channel locked.
    """
    from .locks import LockBusy, exclusive_lock

    with contextlib.ExitStack() as held:
        try:
            path = held.enter_context(exclusive_lock(sync_file(source, ".lock")))
        except LockBusy:
            raise SyncBusy(
                f"Another sync of channel {source.channel_code} on {source.server} is running."
            ) from None
        yield path


# -- the time limit of one run ------------------------------------------------------------
TIME_LIMIT_MINUTES = 120.0  # ``sync --time-limit``: a big shop trains in far less on a CPU
_STEP_WORDS = {
    Phase.DOWNLOADING: "reading the catalogue",
    Phase.PREPARING: "preparing the photos",
    Phase.FEATURES: "reading the photos",
    Phase.TRAINING: "training",
    Phase.EXPORTING: "writing the model",
    Phase.UPLOADING: "publishing",
    Phase.VERIFYING: "checking the published model",
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
