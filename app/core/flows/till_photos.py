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

and production accuracy per served version is :mod:`app.core.flows.till_stats`'.

Reviewed frames are deleted on the server once the decision is kept on this computer:
they show customers and staff, so they should not outlive their use, and the plugin's
quota (oldest first) would otherwise push out frames nobody has seen yet. The
statistics stay (the plugin keeps them apart from the frames). A failed deletion is
retried at the next review; the decision holds either way
(:mod:`app.core.till_review`).
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import (
    Cancelled,
    FeedbackImageDamaged,
    FeedbackImageGone,
    FeedbackRefused,
    FeedbackUnsupported,
    InvalidOptions,
    ShopError,
)
from ..names import sort_key
from ..progress import Phase, ProgressHook, Reporter
from ..shop.catalogue import product_names
from ..shop.feedback import (
    FeedbackItem,
    delete_feedback,
    download_image,
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
from ..wording import count_words, till_pending_text
from .open_source import shop_source

if TYPE_CHECKING:
    from ..shop import ShopClient

__all__ = [
    "ACCEPT",
    "REVIEW",
    "TILL_PHOTOS_MODES",
    "FeedbackImageDamaged",
    "FeedbackImageGone",
    "FeedbackItem",
    "FeedbackRefused",
    "FeedbackUnsupported",
    "ProductTillPhotos",
    "TillAccepted",
    "TillDropped",
    "TillPending",
    "TillUse",
    "accept_all_pending",
    "accept_till_photos",
    "check_feedback_ids",
    "drop_till_photos",
    "pending_till_photos",
    "till_photo_id",
    "till_photo_image",
    "till_photo_use",
    "waiting_count",
]

log = logging.getLogger(__name__)

REVIEW, ACCEPT = "review", "accept"  # sync --till-photos: the owner reviews / take them all
TILL_PHOTOS_MODES = (REVIEW, ACCEPT)
ALREADY_REVIEWED = "already reviewed"
# dropped: listed, but its image is gone (the shop's quota, or a fault on the server); it
# was skipped on every accept and listed as waiting until the owner dropped it by hand
NOT_ON_SERVER = "its image is no longer on the server"
# dropped: a damaged frame blocked every later ``accept --all`` and ``sync`` (it failed the
# whole run, "try again", which could never help)
DAMAGED = "damaged on the server (it does not match the checksum the till sent)"


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
        name = (names or self.names).get(top.product_id)
        if name is None:  # a bare "said 4 (60 %)" read like a count
            pid = top.product_id  # not in the whole catalogue, when that was given
            name = f"a product deleted since ({pid})" if names else f"product {pid}"
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


def check_feedback_ids(ids: Iterable[str]) -> list[str]:
    """The ids as given, each once (one given twice was counted twice), or
    :class:`InvalidOptions` naming the first that is no id."""
    out: dict[str, None] = {}
    for fid in ids:
        if not FEEDBACK_ID.fullmatch(fid):
            raise InvalidOptions(
                f"“{fid}” is not the id of a photo from the till (they look like "
                "20261125T225342123Z-a1b2c3)."
            )
        out[fid] = None
    return list(out)


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
    said = {i.predictions[0].product_id for i in waiting if i.predictions} - names.keys()
    if said:  # what the model said names a product without frames here: ask its name
        try:
            names.update(product_names(client, said))
        except ShopError as exc:  # the ids stay readable; the review goes on
            log.info("names of the products the model said: %s", exc)
    groups: dict[str, list[FeedbackItem]] = {}
    not_usable = []
    for item in waiting:
        if item.product_name is None:
            not_usable.append((item, PRODUCT_GONE))
        else:
            groups.setdefault(item.product_id, []).append(item)
    products = sorted(
        (ProductTillPhotos(pid, names[pid], tuple(g)) for pid, g in groups.items()),
        key=lambda g: (sort_key(g.product_name), g.product_id),
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

    from ..frame_checks import frame_problem

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
    stored: list[tuple[FeedbackItem, Path]] = []
    dropped: list[tuple[FeedbackItem, str]] = []
    skipped: list[tuple[FeedbackItem, str]] = []
    rep = Reporter(on_progress, cancel)
    stopped = False
    failure: ShopError | None = None
    try:
        for n, item in enumerate(todo):
            rep(Phase.DOWNLOADING, n / len(todo), f"Photo {n + 1} of {len(todo)} from the till")
            if store.till.state().decided(item.id):  # before, or by another run meanwhile
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
                    if store.till.state().decided(item.id):  # another run took it meanwhile
                        skipped.append((item, ALREADY_REVIEWED))
                    else:
                        dropped.append((item, NOT_ON_SERVER))
                    continue
                except FeedbackImageDamaged:
                    dropped.append((item, DAMAGED))
                    continue
            why = _frame_problem(body)
            if why is not None:
                dropped.append((item, why))
                continue
            path = store.add_till_photo(
                item.product_id, body, item.model_version, item.id, by_owner=by_owner
            )
            stored.append((item, path))
    except Cancelled:
        stopped = True  # what was taken in is recorded below, and said
    except ShopError as exc:  # the shop went away halfway: recorded below, said with it
        failure = exc
    finally:
        with store.till.updating() as state:
            # dropped by another run since the check above: the owner's drop wins (a frame
            # dropped for privacy was trained on, though "Dropped 2 photos" was said)
            late = [(i, p) for i, p in stored if i.id in state.dropped]
            for _, path in late:
                store.remove_added(path, by_owner=by_owner)
            stored = [(i, p) for i, p in stored if i.id not in state.dropped]
            skipped += [(i, ALREADY_REVIEWED) for i, _ in late]
            state.accepted |= {i.id for i, _ in stored}
            state.dropped |= {i.id for i, _ in dropped}
            state.undeleted |= {i.id for i, _ in (*stored, *dropped)}
    left = len(todo) - len(stored) - len(dropped) - len(skipped)
    rest = f"; {left} wait{'s' * (left == 1)} for review" if left else ""
    if failure is not None and not (stored or dropped):
        raise failure
    if failure is not None:  # the error alone read as if nothing had been taken in
        gone = f", {len(dropped)} dropped" if dropped else ""
        raise ShopError(
            f"{failure} Before that, {count_words(len(stored), 'photo')} from the till "
            f"taken in{gone}{rest}."
        ) from failure
    if stopped or (cancel is not None and cancel.is_set()):
        # Ctrl-C said "nothing was changed" with 298 photos taken in
        raise Cancelled(
            f"Stopped: {count_words(len(stored), 'photo')} from the till taken in{rest}."
        )
    rep(Phase.DOWNLOADING, 1.0, f"{count_words(len(stored), 'photo')} from the till taken in")
    deleted, not_deleted = _delete_reviewed(client, store.till)
    return TillAccepted(tuple(stored), tuple(dropped), tuple(skipped), deleted, not_deleted)


def drop_till_photos(client: ShopClient, photos: Iterable[FeedbackItem | str]) -> TillDropped:
    """Never offers ``photos`` (frames or their ids) again, and deletes them on the
    server. Dropping a frame twice, or one the server no longer keeps, is no error; an
    id newer than every frame the server lists is (see :func:`_check_typed`)."""
    chosen = list(photos)
    ids = check_feedback_ids(p.id if isinstance(p, FeedbackItem) else p for p in chosen)
    review = _review(client)
    _check_typed(client, review, [p for p in chosen if isinstance(p, str)])
    store = shop_source(client).store()
    with review.updating() as state:
        new = [f for f in ids if not state.decided(f)]
        # taken in by another run since the owner saw them (a review open while a sync
        # accepted all): the owner's drop wins, as it does while that run goes on
        taken = {f for f in ids if f in state.accepted}
        if taken:  # only then are the stored photos looked through
            for paths in store.added_images().values():
                for path in paths:
                    if till_photo_id(path) in taken:
                        store.remove_added(path)
        state.accepted -= taken
        done = set(new) | taken
        state.dropped |= done
        state.undeleted |= set(new)
    deleted, not_deleted = _delete_reviewed(client, review)
    return TillDropped(tuple(f for f in ids if f in done), deleted, not_deleted)


def _check_typed(client: ShopClient, review: TillReview, typed: list[str]) -> None:
    """Ids typed by hand must name frames the server has or had. Frames only get newer
    and the server drops the oldest, so an undecided id newer than every frame it lists
    never existed: recorded as dropped, a mistyped year (2027 for 2026) moved the review's
    cursor past every frame the tills sent until then, and "Dropped 1 photo" hid them."""
    state = review.state()
    undecided = [f for f in typed if not state.decided(f)]
    if not undecided:
        return
    listed = [i.id for i in iter_feedback(client, state.cursor)]
    # frames decided here existed too (those deleted on the server are no longer listed)
    newest = max([*listed, *state.accepted, *state.dropped], default=state.cursor or "")
    unknown = [f for f in undecided if f not in listed and f > newest]
    if unknown:
        raise InvalidOptions(
            f"The server lists no photo from the till with the id {', '.join(unknown)}, nor "
            "any newer one: is it mistyped? Nothing was changed."
        )


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
