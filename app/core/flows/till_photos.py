"""Photos from the till: review the frames the POS sent, take the good ones in, and see
how the served model does at the counter.

After a sale line the POS sends its camera frame with the product the cashier chose,
the served version and the model's top three (the plugin's ``submitRecognitionFeedback``;
read back by :mod:`app.core.shop.feedback`). Here the owner's side:

* :func:`pending_till_photos` — what waits for review, grouped per product, with what
  the model said (no frame is downloaded);
* :func:`accept_till_photos` — frames become added photos of the cashier's product
  (``till-<version>-<id>.jpg`` in the owner's store), so every later training and
  ``sync`` uses them; a frame that cannot be a product photo (dark, blank, blurred —
  the rule of corrections at the till) is dropped with its reason;
* :func:`drop_till_photos` — never offered again;
* :func:`till_accuracy` — production accuracy per served version ("the served model
  was right on 412 of 480 sales this week, 86 %").

Reviewed frames are deleted on the server once the decision is kept on this computer:
they show customers and staff, so they should not outlive their use, and the plugin's
quota (oldest first) would otherwise push out frames nobody has seen yet. The
statistics stay (the plugin keeps them apart from the frames). A failed deletion is
retried at the next review; the decision holds either way
(:mod:`app.core.till_review`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import (
    FeedbackImageGone,
    FeedbackRefused,
    FeedbackUnsupported,
    InvalidOptions,
    ShopError,
)
from ..progress import Phase, ProgressHook, Reporter
from ..shop.feedback import (
    FeedbackItem,
    VersionStats,
    delete_feedback,
    download_image,
    feedback_stats,
    iter_feedback,
    list_feedback,
)
from ..till_review import (
    FEEDBACK_ID,
    PRODUCT_GONE,
    TillReview,
    TillUse,
    till_photo_id,
    till_photo_use,
)
from ..wording import count_words, period_words, till_accuracy_text, till_pending_text
from .open_source import shop_source

if TYPE_CHECKING:
    from ..shop import ShopClient

__all__ = [
    "ACCEPT",
    "REVIEW",
    "TILL_PHOTOS_MODES",
    "FeedbackImageGone",
    "FeedbackItem",
    "FeedbackRefused",
    "FeedbackUnsupported",
    "ProductTillPhotos",
    "TillAccepted",
    "TillAccuracy",
    "TillDropped",
    "TillPending",
    "TillUse",
    "VersionAccuracy",
    "VersionStats",
    "accept_all_pending",
    "accept_till_photos",
    "check_feedback_ids",
    "drop_till_photos",
    "pending_till_photos",
    "till_accuracy",
    "till_photo_id",
    "till_photo_image",
    "till_photo_use",
    "waiting_count",
]

log = logging.getLogger(__name__)

REVIEW, ACCEPT = "review", "accept"  # sync --till-photos: the owner reviews / take them all
TILL_PHOTOS_MODES = (REVIEW, ACCEPT)
ALREADY_REVIEWED = "already reviewed"
NOT_ON_SERVER = "no longer on the server (the shop keeps only the newest frames)"


@dataclass(frozen=True)
class ProductTillPhotos:
    """The frames waiting for review that the cashier said show one product."""

    product_id: str
    product_name: str
    photos: tuple[FeedbackItem, ...]  # oldest first

    @property
    def corrections(self) -> int:
        """Frames the model got wrong: the ones that teach it most."""
        return sum(p.is_correction for p in self.photos)


@dataclass(frozen=True)
class TillPending:
    """What waits for review (nothing downloaded yet; :func:`till_photo_image` shows one)."""

    photos: tuple[FeedbackItem, ...]  # every frame waiting, oldest first
    products: tuple[ProductTillPhotos, ...]  # the usable ones per product, by name
    not_usable: tuple[tuple[FeedbackItem, str], ...]  # (frame, why): only to drop
    names: Mapping[str, str]  # product id -> name, as far as the frames tell
    not_deleted: str = ""  # why earlier reviews are still on the server ("" none)

    @property
    def count(self) -> int:
        return len(self.photos)

    @property
    def text(self) -> str:
        """ "37 new photos from the till to review." """
        return till_pending_text(self.count)

    def of_product(self, product_id: str) -> tuple[FeedbackItem, ...]:
        return next((g.photos for g in self.products if g.product_id == product_id), ())

    def said(self, item: FeedbackItem, names: Mapping[str, str] | None = None) -> str:
        """What the model said: "Banana (90 %)" ("nothing" for a frame without). ``names``:
        every product's name (the screens have the catalogue), else those the frames tell."""
        top = item.predictions[0] if item.predictions else None
        if top is None:
            return "nothing"
        name = (names or self.names).get(top.product_id, top.product_id)
        return f"{name} ({100 * top.probability:.0f} %)"


@dataclass(frozen=True)
class TillAccepted:
    """What :func:`accept_till_photos` did."""

    stored: tuple[tuple[FeedbackItem, Path], ...]  # each frame taken in, as an added photo
    dropped: tuple[tuple[FeedbackItem, str], ...]  # could never be a photo: dropped, why
    skipped: tuple[tuple[FeedbackItem, str], ...]  # left as they are, why (already reviewed…)
    deleted_on_server: int = 0
    not_deleted: str = ""  # why the server still keeps reviewed frames ("" none)

    def problems(self) -> list[str]:
        """ "dropped 1 (too dark — …)", "skipped 2 (already reviewed)": each kind once."""
        out = []
        for verb, pairs in (("dropped", self.dropped), ("skipped", self.skipped)):
            if pairs:
                whys = "; ".join(sorted({why for _, why in pairs}))
                out.append(f"{verb} {len(pairs)} ({whys})")
        return out

    @property
    def text(self) -> str:
        """ "Accepted 3 photos from the till, dropped 1 (too dark — …)." """
        taken = f"Accepted {count_words(len(self.stored), 'photo')} from the till"
        return ", ".join([taken, *self.problems()]) + "."


@dataclass(frozen=True)
class TillDropped:
    dropped: tuple[str, ...]  # feedback ids
    deleted_on_server: int = 0
    not_deleted: str = ""


@dataclass(frozen=True)
class VersionAccuracy:
    """How one served version did at the till."""

    stats: VersionStats
    served: bool  # the version the tills load now
    text: str  # "The served model was right on 412 of 480 sales this week, 86 %."


@dataclass(frozen=True)
class TillAccuracy:
    """Production accuracy per served version, from the cashiers' choices."""

    period: str  # "this week"
    since: dt.datetime | None  # the first UTC day counted (None: all)
    versions: tuple[VersionAccuracy, ...]  # the version seen most recently first
    served_version: str | None

    @property
    def headline(self) -> str:
        served = next((v for v in self.versions if v.served), None)
        if served is not None:
            return served.text
        return till_accuracy_text(0, 0, self.period)


def check_feedback_ids(ids: Iterable[str]) -> list[str]:
    """The ids as given, or :class:`InvalidOptions` naming the first that is no id."""
    out = []
    for fid in ids:
        if not FEEDBACK_ID.fullmatch(fid):
            raise InvalidOptions(
                f"“{fid}” is not the id of a photo from the till (they look like "
                "20261125T225342123Z-a1b2c3)."
            )
        out.append(fid)
    return out


def _review(client: ShopClient) -> TillReview:
    return shop_source(client).store().till


def _delete_reviewed(client: ShopClient, review: TillReview) -> tuple[int, str]:
    """Deletes reviewed frames on the server; (how many, why not: "" when done)."""
    ids = review.state().undeleted
    if not ids:
        return 0, ""
    try:
        deleted = delete_feedback(client, sorted(ids))
    except ShopError as exc:
        log.warning("Reviewed photos from the till not deleted on the server: %s", exc)
        return 0, str(exc)
    with review.updating() as state:
        state.undeleted -= ids
    return deleted, ""


def pending_till_photos(
    client: ShopClient, *, cancel: threading.Event | None = None
) -> TillPending:
    """The selected channel's frames not yet reviewed on this computer (the list only;
    frames reviewed earlier whose deletion failed are deleted first)."""
    review = _review(client)
    _, not_deleted = _delete_reviewed(client, review)
    before = review.state()
    items = list(iter_feedback(client, before.cursor, cancel=cancel))
    with review.updating() as state:
        state.settle([i.id for i in items], before.accepted | before.dropped)
        waiting = tuple(i for i in items if not state.decided(i.id))
    names = {i.product_id: i.product_name for i in waiting if i.product_name is not None}
    groups: dict[str, list[FeedbackItem]] = {}
    not_usable = []
    for item in waiting:
        if item.product_name is None:
            not_usable.append((item, PRODUCT_GONE))
        else:
            groups.setdefault(item.product_id, []).append(item)
    products = sorted(
        (ProductTillPhotos(pid, names[pid], tuple(g)) for pid, g in groups.items()),
        key=lambda g: (g.product_name.casefold(), g.product_id),
    )
    return TillPending(waiting, tuple(products), tuple(not_usable), names, not_deleted)


def waiting_count(client: ShopClient) -> int | None:
    """How many frames wait for review, from one short request (``sync`` in review
    mode: nothing downloaded, nothing listed page by page); None where the shop's
    plugin has no photos from the till."""
    review = _review(client)
    try:
        _delete_reviewed(client, review)
        state = review.state()
        total = list_feedback(client, state.cursor, 1).total_after
    except FeedbackUnsupported:
        return None
    # reviewed frames the server still keeps (their deletion failed) are not waiting
    cursor = state.cursor or ""
    return max(0, total - len([f for f in state.undeleted if f > cursor]))


def till_photo_image(client: ShopClient, item: FeedbackItem) -> bytes:
    """One frame's JPEG bytes (for its thumbnail), checked against the listed sha256."""
    return download_image(client, item)


def _frame_problem(jpeg: bytes) -> str | None:
    """Why a frame cannot be a product photo (the Test screen's rule), or None."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    from ..teach import frame_problem

    try:
        with Image.open(io.BytesIO(jpeg)) as im:
            im.draft("RGB", (448, 448))
            rgb = np.asarray(im.convert("RGB"))
    except (OSError, SyntaxError, ValueError, UnidentifiedImageError):
        return "not a readable JPEG"
    return frame_problem(rgb)


def accept_till_photos(
    client: ShopClient,
    photos: Iterable[FeedbackItem],
    *,
    images: Mapping[str, bytes] | None = None,
    by_owner: bool = True,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
) -> TillAccepted:
    """Takes ``photos`` (from :func:`pending_till_photos`) in as added photos of the
    cashier's product. ``images``: frames already downloaded (by id; used when their
    sha256 matches). ``by_owner``: False for ``sync --till-photos accept`` (not an edit
    that ``--debounce`` waits on). Cancelled: what was stored so far is kept, recorded."""
    store = shop_source(client).store()
    todo = list(photos)
    decided = store.till.state()
    stored: list[tuple[FeedbackItem, Path]] = []
    dropped: list[tuple[FeedbackItem, str]] = []
    skipped: list[tuple[FeedbackItem, str]] = []
    rep = Reporter(on_progress, cancel)
    try:
        for n, item in enumerate(todo):
            rep(Phase.DOWNLOADING, n / len(todo), f"Photo {n + 1} of {len(todo)} from the till")
            if decided.decided(item.id):
                skipped.append((item, ALREADY_REVIEWED))
                continue
            if item.product_name is None:
                dropped.append((item, PRODUCT_GONE))
                continue
            body = (images or {}).get(item.id)
            if body is None or hashlib.sha256(body).hexdigest() != item.sha256:
                try:
                    body = download_image(client, item)
                except FeedbackImageGone:
                    skipped.append((item, NOT_ON_SERVER))
                    continue
            why = _frame_problem(body)
            if why is not None:
                dropped.append((item, why))
                continue
            path = store.add_till_photo(
                item.product_id, body, item.model_version, item.id, by_owner=by_owner
            )
            stored.append((item, path))
    finally:
        with store.till.updating() as state:
            state.accepted |= {i.id for i, _ in stored}
            state.dropped |= {i.id for i, _ in dropped}
            state.undeleted |= {i.id for i, _ in (*stored, *dropped)}
    rep(Phase.DOWNLOADING, 1.0, f"{count_words(len(stored), 'photo')} from the till taken in")
    deleted, not_deleted = _delete_reviewed(client, store.till)
    return TillAccepted(tuple(stored), tuple(dropped), tuple(skipped), deleted, not_deleted)


def drop_till_photos(client: ShopClient, photos: Iterable[FeedbackItem | str]) -> TillDropped:
    """Never offers ``photos`` (frames or their ids) again, and deletes them on the
    server. Dropping a frame twice, or one the server no longer keeps, is no error."""
    ids = check_feedback_ids(p.id if isinstance(p, FeedbackItem) else p for p in photos)
    review = _review(client)
    with review.updating() as state:
        new = [f for f in ids if not state.decided(f)]
        state.dropped |= set(new)
        state.undeleted |= set(new)
    deleted, not_deleted = _delete_reviewed(client, review)
    return TillDropped(tuple(new), deleted, not_deleted)


def accept_all_pending(
    client: ShopClient,
    *,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
) -> TillAccepted:
    """``sync --till-photos accept``: a shop that trusts its cashiers takes every frame
    waiting in (nothing is downloaded when none waits)."""
    pending = pending_till_photos(client, cancel=cancel)
    return accept_till_photos(
        client, pending.photos, by_owner=False, on_progress=on_progress, cancel=cancel
    )


def till_accuracy(
    client: ShopClient,
    *,
    days: int | None = 7,
    served_version: str | None = None,
    now: dt.datetime | None = None,
) -> TillAccuracy:
    """Per served version, how often the model's top-1 was the cashier's choice over the
    last ``days`` whole UTC days, today included (None: all the plugin counted).
    ``served_version``: the version the tills load now (None: asked of the shop)."""
    if days is not None and days < 1:
        raise InvalidOptions(f"The days to count must be at least 1, not {days}.")
    now = now or dt.datetime.now(dt.timezone.utc)
    since = None
    if days is not None:
        today = now.astimezone(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        since = today - dt.timedelta(days=days - 1)
    if served_version is None:
        from .publish import ShopTarget

        current = ShopTarget(client).status().current
        served_version = current.version if current is not None else None
    period = period_words(days)
    versions = tuple(
        VersionAccuracy(
            s,
            s.model_version == served_version,
            till_accuracy_text(
                s.top1_right,
                s.photos,
                period,
                "the served model"
                if s.model_version == served_version
                else f"version {s.model_version}",
            ),
        )
        for s in feedback_stats(client, since)
    )
    return TillAccuracy(period, since, versions, served_version)
