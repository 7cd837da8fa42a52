"""Keep a channel's served model current (``sync``): train and publish only on change.

Nothing changed since the served model → "up to date" at once, without TensorFlow
(photos from the till the owner accepted are added photos: a change like any);
changes younger than the debounce → "waiting"; otherwise the channel is opened,
trained and published with verification, through the same tasks as ``train`` and
``publish`` — under the channel's lock, so two syncs of one channel never overlap.
The lock, the clock of a run and the exit codes are :mod:`app.core.sync`'s.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import (
    ExitCode,
    FeedbackUnsupported,
    InvalidOptions,
    PermissionDenied,
    TooFewProducts,
)
from ..model import TrainOptions
from ..model_format import DEFAULT_QUANTIZE
from ..progress import Phase, ProgressHook, Reporter, span
from ..shop.channels import DEFAULT_CHANNEL_CODE, sync_targets
from ..sync import (
    TIME_LIMIT_MINUTES,
    SyncBusy,
    SyncClock,
    SyncTimeout,
    channel_lock,
    first_seen,
)
from ..wording import renamed_channel, upper_first
from .changes import catalogue_changes
from .open_source import open_source, shop_source
from .publish import ModelVersion, ShopTarget, TargetStatus, serves_these_files
from .till_photos import (
    ACCEPT,
    REVIEW,
    TILL_PHOTOS_MODES,
    TillAccepted,
    TillUse,
    accept_all_pending,
    till_photo_use,
    waiting_count,
)
from .train import TrainRequest, train

if TYPE_CHECKING:
    from ..shop import ShopClient

__all__ = [
    "ACCEPT",
    "DEFAULT_CHANNEL_CODE",
    "REVIEW",
    "TILL_PHOTOS_MODES",
    "TIME_LIMIT_MINUTES",
    "SyncBusy",
    "SyncClock",
    "SyncOutcome",
    "SyncTimeout",
    "TillInSync",
    "sync_channel",
    "sync_targets",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TillInSync:
    """What one ``sync`` did with photos from the till, for its result line."""

    mode: str  # REVIEW | ACCEPT
    use: TillUse  # accepted photos in the training (or in the served model, if current)
    accepted: TillAccepted | None = None  # ACCEPT: taken in by this run
    waiting: int | None = None  # REVIEW: frames waiting for the owner (None: not known)
    note: str = ""  # e.g. the shop's plugin predates photos from the till

    @property
    def text(self) -> str:
        """ "Photos from the till: 5 in the training (3 accepted now); 2 wait for review."
        "" when the shop has none at all (a note still says why none could be taken in)."""
        took = len(self.accepted.stored) if self.accepted else 0
        parts = []
        if self.use.used or took or self.use.left_out:
            now = f" ({took} accepted now)" if took else ""
            parts.append(f"{self.use.used} in the training{now}")
        if self.accepted:
            parts += self.accepted.problems()
        if self.use.left_out:
            parts.append(self.use.left_out_words())
        if self.waiting:
            parts.append(f"{self.waiting} wait{'s' * (self.waiting == 1)} for your review")
        if self.note:
            parts.append(self.note)
        return f"Photos from the till: {'; '.join(parts)}." if parts else ""


@dataclass(frozen=True)
class SyncOutcome:
    channel: str
    status: str  # "up to date" | "published" | "waiting" | "kept" | "nothing to train"
    message: str  # the till's sentence included (``till.text``)
    exit_code: ExitCode
    version: str = ""  # the version the shop serves after the run ("": none)
    trained: bool = False
    till: TillInSync | None = None  # photos from the till: used, accepted now, waiting
    # what the training said of the photos as ``train`` does (a photo not used, one photo
    # filed under two products, two products of one name): an unattended sync said none
    notes: tuple[str, ...] = ()


def _log_unsaid(notes: tuple[str, ...]) -> None:
    """Notes a failed run never returns: its log still names them (why a product had too
    few photos, say)."""
    for note in notes:
        log.warning("%s", note)


def sync_channel(
    client: ShopClient,
    options: TrainOptions,
    *,
    debounce_minutes: float = 0.0,
    quantize: str = DEFAULT_QUANTIZE,
    till_photos: str = REVIEW,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
    now: dt.datetime | None = None,
) -> SyncOutcome:
    """Train → publish → verify if the catalogue or the owner's edits changed since the
    served model; otherwise return at once ("up to date") without importing TensorFlow.

    ``till_photos``: :data:`REVIEW` trains on the photos from the till the owner
    accepted (they are added photos) and counts those waiting; :data:`ACCEPT` first
    takes every waiting one in (nothing is downloaded when none waits).

    Raises :class:`SyncBusy` when another sync of the channel runs, and the usual
    :class:`~app.core.errors.TrainerError` subclasses on failure.
    """
    if till_photos not in TILL_PHOTOS_MODES:
        raise InvalidOptions(
            f"Photos from the till are taken as {' or '.join(TILL_PHOTOS_MODES)}, "
            f"not {till_photos!r}."
        )
    source = shop_source(client)
    code = source.channel_code
    if not client.require_channel().can_publish:  # said first: reading the till's photos
        raise PermissionDenied(  # needs the same permission, and was blamed for it
            f"Your user is not allowed to publish models in channel “{code}” on "
            f"{client.server_url} (it needs the UploadMlModel permission), so sync cannot "
            "keep its model current. Ask the shop's administrator for the permission."
        )
    rep = Reporter(on_progress, cancel)
    with channel_lock(source):
        accepted, note = None, ""
        if till_photos == ACCEPT:
            try:
                accepted = accept_all_pending(
                    client, on_progress=span(on_progress, 0.0, 0.02), cancel=cancel
                )
            except FeedbackUnsupported as exc:
                note = str(exc)
                log.warning("%s", exc)
        state = catalogue_changes(client, on_progress=span(on_progress, 0.02, 0.03), cancel=cancel)
        waiting = waiting_count(client) if till_photos == REVIEW else None
        till = TillInSync(till_photos, state.till, accepted, waiting, note)

        def outcome(
            status: str,
            message: str,
            exit_code: ExitCode,
            version: str | None = None,
            trained: bool = False,
            notes: tuple[str, ...] = (),
        ) -> SyncOutcome:
            for extra in (till.text, renamed_channel(source.renamed_from, code)):
                if extra:  # "… verified at http://…/latest/ Photos from …" read as one
                    stop = "" if message.endswith((".", "!", "?")) else "."
                    message = f"{message}{stop} {extra}"
            if version is None:  # nothing published: the version served as before
                version = str((state.served_metadata or {}).get("version", ""))
            return SyncOutcome(code, status, message, exit_code, version, trained, till, notes)

        served = state.served
        if served is not None and served.up_to_date:
            return outcome("up to date", state.describe_served(now), ExitCode.OK)
        what = (
            "no model is served yet"
            if served is None
            else f"{served.summary()} since the served model"
        )
        now = now or dt.datetime.now(dt.timezone.utc)
        newest = state.newest_change
        # a change after now was stamped on a clock since set back (the owner's edits) or
        # by a server that did not say its time: kept, the sync waited until the clock
        # caught up. Both it and a deletion (which has no stamp) count from when a sync
        # first saw the catalogue as it is.
        ahead = newest is not None and newest > now
        if debounce_minutes > 0 and (ahead or (served is not None and served.removed_products)):
            seen = first_seen(source, state.current, now)
            newest = max(seen, newest) if newest is not None and not ahead else seen
        if debounce_minutes > 0 and newest is not None:
            age_min = (now - newest).total_seconds() / 60
            if age_min < debounce_minutes:
                return outcome(
                    "waiting", waiting_line(what, age_min, debounce_minutes), ExitCode.WAITING
                )
        model_dir = source.model_dir()
        trained = False
        left_out = ""  # products the training could not use, for the result line
        notes: tuple[str, ...] = ()
        if state.local is not None and state.local.up_to_date:
            target = ShopTarget(client).status()
            replaced = stored_not_served(target, model_dir)
            if replaced is not None:  # someone rolled back from it: publishing undid that
                now_served = target.current.version if target.current else "none"
                return outcome(
                    "kept",
                    f"{upper_first(what)}; the shop serves version {now_served}, and the model "
                    f"on this computer (version {replaced.version}) was served before and "
                    "replaced there, so sync does not publish it again: `publish` serves it "
                    "again, and the next change to the catalogue trains a new model.",
                    ExitCode.OK,
                )
            rep(Phase.PREPARING, 0.05, "The model on this computer is current: publishing it")
        else:
            steps = span(on_progress, 0.03, 0.9, keep_eta=True)
            opened = open_source(
                source, client=client, on_progress=span(steps, 0.0, 0.15), cancel=cancel
            )
            request = TrainRequest(opened, options, model_dir, quantize=quantize)
            # said once, with the result (the command prints and logs its notes)
            downloads = tuple(f"Photo not downloaded: {f}" for f in opened.failed)
            try:
                result = train(
                    request, on_progress=span(steps, 0.15, 1.0, keep_eta=True), cancel=cancel
                )
            except TooFewProducts as exc:
                if served is not None:  # the tills' model no longer matches the shop
                    _log_unsaid(downloads)
                    raise
                # a new or unused channel: no till loses anything, and a timer's
                # ``--all-channels`` run failed on every tick for it
                return outcome(
                    "nothing to train",
                    f"{exc} It serves no model yet: sync trains one once two products have photos.",
                    ExitCode.OK,
                    notes=downloads,
                )
            except BaseException:
                _log_unsaid(downloads)
                raise
            trained = True
            names = opened.catalogue.names()
            notes = (*downloads, *result.report.summary_lines(names))
            missing = [
                f"{names.get(r['product'], r['product'])} ({r['reason']})"
                for r in result.report.not_trained()
                if r["product"] not in result.report.excluded  # the owner's choice
            ]
            if missing:  # in the log only, an unattended sync never said why
                more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
                left_out = f"; not trained: {'; '.join(missing[:3])}{more}"
            skipped = [(s.path, s.plain) for s in result.report.skipped_photos()]
            use = till_photo_use(opened.catalogue, opened.store.added_images(), skipped)
            till = TillInSync(till_photos, use, accepted, waiting, note)
        published = ShopTarget(client).publish(
            model_dir, on_progress=span(on_progress, 0.9, 1.0), cancel=cancel
        )
        return outcome(
            "published",
            f"{upper_first(what)}: published version {published.version} "
            f"({published.products} products), verified at {published.location}{left_out}",
            ExitCode.OK,
            version=published.version,
            trained=trained,
            notes=notes,
        )


def stored_not_served(target: TargetStatus, model_dir: Path) -> ModelVersion | None:
    """The version the shop stores that is the model on this computer, when the shop
    serves another: it was published and then replaced on purpose (a rollback), so an
    unattended sync must not serve it again (it did, within one timer tick, and stored
    a second copy). The same files byte for byte, as "already served" is decided."""
    for v in target.versions:
        if not v.current and serves_these_files(v.hashes, model_dir):
            return v
    return None


def waiting_line(what: str, age_min: float, debounce_min: float) -> str:
    """Why a debounced sync waits. The age in whole minutes gone by, never rounded up:
    "is 3 min old, so training waits until it is 3 min old" read as a contradiction."""
    age = "less than a minute" if age_min < 1 else f"{int(age_min)} min"
    return (
        f"{upper_first(what)}; the newest change is {age} old, "
        f"so training waits until it is {debounce_min:g} min old."
    )
