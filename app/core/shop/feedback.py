"""Photos from the till: the frames the POS sent with the product the cashier chose.

The Dukahub plugin stores, per channel, each frame the POS sends after a sale line
(``submitRecognitionFeedback``) with the model's top three and the served version; this
module reads them back for the owner (``UploadMlModel``): a page after a cursor
(:func:`list_feedback`, :func:`iter_feedback`), one frame (:func:`download_image`,
size-capped and checked against its sha256), production accuracy per served version
(:func:`feedback_stats`), and :func:`delete_feedback` to free the server's quota.

Review state (accepted / dropped) is not kept on the server: the cursor and the decided
ids live in the app's per-shop store (:mod:`app.core.till_review`), beside the accepted
photos they describe; the owner's task (:mod:`app.core.flows.till_photos`) deletes a
frame here once its review is kept. The errors are :mod:`app.core.errors`'
(``FeedbackUnsupported``, ``FeedbackRefused``, ``FeedbackImageGone``,
``FeedbackImageDamaged``; importable from here too). Server-side counterpart:
``packaging/vendure-plugin/src/recognition-feedback.ts``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from app.core.errors import (
    AnswerTooLarge,
    FeedbackImageDamaged,
    FeedbackImageGone,
    FeedbackRefused,
    FeedbackUnsupported,
    PermissionDenied,
    ShopError,
)
from app.core.progress import check_cancel
from app.core.readers import parse_json
from app.core.shop.transport import ShopClient
from app.core.timestamps import parse_utc

PAGE_SIZE = 100  # the plugin's largest page
# The plugin refuses frames over 1 MiB unless the shop raised its limit; anything much
# larger than what a POS sends is not a frame.
MAX_IMAGE_BYTES = 8 * 1024 * 1024

# error codes of the plugin (extensions.code), and of Apollo for an unknown field
FEEDBACK_REJECTED = "RECOGNITION_FEEDBACK_REJECTED"
_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"

_ITEM = (
    "id productId productName predictions { productId probability } modelVersion "
    "receivedAt imagePath imageBytes sha256 width height"
)
LIST_FEEDBACK = f"""
query($after: String, $take: Int) {{
  recognitionFeedback(after: $after, take: $take) {{
    totalItems hasMore nextCursor items {{ {_ITEM} }}
  }}
}}"""
FEEDBACK_STATS = """
query($since: DateTime) {
  recognitionFeedbackStats(since: $since) {
    modelVersion photos top1Right top3Right averageConfidence corrections firstAt lastAt
  }
}"""
DELETE_FEEDBACK = """
mutation($ids: [String!], $all: Boolean) { deleteRecognitionFeedback(ids: $ids, all: $all) }"""


@dataclass(frozen=True)
class Prediction:
    product_id: str
    probability: float


@dataclass(frozen=True)
class FeedbackItem:
    """One frame from the till and what the model had said about it."""

    id: str  # sortable by age; the cursor
    product_id: str  # chosen by the cashier
    product_name: str | None  # None: no longer a product of the channel
    predictions: tuple[Prediction, ...]  # the model's top three, highest first
    model_version: str  # the served version that made the predictions
    received_at: dt.datetime  # aware, UTC
    image_path: str  # on the server, behind the login (see download_image)
    image_bytes: int
    sha256: str
    width: int
    height: int

    @property
    def predicted_product_id(self) -> str | None:
        return self.predictions[0].product_id if self.predictions else None

    @property
    def confidence(self) -> float | None:
        """The model's top-1 probability."""
        return self.predictions[0].probability if self.predictions else None

    @property
    def top1_right(self) -> bool:
        return self.predicted_product_id == self.product_id

    @property
    def top3_right(self) -> bool:
        return any(p.product_id == self.product_id for p in self.predictions[:3])

    @property
    def is_correction(self) -> bool:
        """The cashier chose something other than the model's top-1."""
        return not self.top1_right


@dataclass(frozen=True)
class FeedbackPage:
    items: tuple[FeedbackItem, ...]
    total_after: int  # frames after the cursor asked for, this page included
    has_more: bool
    next_cursor: str | None  # pass as ``after`` to read on; the cursor itself when nothing new


@dataclass(frozen=True)
class VersionStats:
    """How one served model version did at the till (whole UTC days)."""

    model_version: str
    photos: int
    top1_right: int
    top3_right: int
    average_confidence: float | None
    corrections: int  # chosen product was not the model's top-1
    first_at: dt.datetime
    last_at: dt.datetime

    @property
    def top1_rate(self) -> float:
        return self.top1_right / self.photos if self.photos else 0.0

    @property
    def top3_rate(self) -> float:
        return self.top3_right / self.photos if self.photos else 0.0


def _instant(value: Any) -> dt.datetime:
    parsed = parse_utc(value)
    if parsed is None:
        raise ShopError(f"The server sent “{str(value)[:40]}” where a time belongs.")
    return parsed


def _gql(client: ShopClient, query: str, variables: dict, *, what: str, retries: int = 2) -> dict:
    """``client.gql`` plus the plugin's feedback error codes (matched by code, not text)."""
    client.require_channel()
    headers, token = client.auth_headers(True)
    resp = client.request(
        "POST",
        client.api_url,
        json={"query": query, "variables": variables},
        headers=headers,
        allow_redirects=False,
        retries=retries,
        what=what,
    )
    try:
        payload = parse_json(resp.content, max_bytes=client.max_answer_bytes)
    except ValueError:
        payload = None  # client.parse says what it is
    errors = payload.get("errors") if isinstance(payload, dict) else None
    first = errors[0] if isinstance(errors, list) and errors else None
    extensions = first.get("extensions") if isinstance(first, dict) else None
    if isinstance(extensions, dict):
        code = str(extensions.get("code") or "")
        if code == _VALIDATION_FAILED:
            raise FeedbackUnsupported(
                f"{client.server_url} has an older Dukahub plugin without photos from the till "
                "(see packaging/vendure-plugin/README.md to update it)."
            )
        if code == FEEDBACK_REJECTED:
            message = str(first.get("message") or code)
            raise FeedbackRefused(
                f"The server refused to {what}: {message}", str(extensions.get("reason") or "")
            )
    try:
        return client.parse(resp, what, token)
    except PermissionDenied:  # every feedback query needs it: say which, as downloads do
        raise _needs_upload_permission(client, what) from None


def _needs_upload_permission(client: ShopClient, what: str) -> PermissionDenied:
    """Reading the frames back (list, statistics, images) needs UploadMlModel."""
    chan = client.channel
    where = f" in channel “{chan.code}”" if chan else ""
    return PermissionDenied(
        f"Your user is not allowed to {what}{where} on {client.server_url} (it needs the "
        "UploadMlModel permission). Ask the shop's administrator for it."
    )


def _item(raw: dict) -> FeedbackItem:
    return FeedbackItem(
        id=str(raw["id"]),
        product_id=str(raw["productId"]),
        product_name=raw.get("productName"),
        predictions=tuple(
            Prediction(str(p["productId"]), float(p["probability"])) for p in raw["predictions"]
        ),
        model_version=str(raw["modelVersion"]),
        received_at=_instant(raw["receivedAt"]),
        image_path=str(raw["imagePath"]),
        image_bytes=int(raw["imageBytes"]),
        sha256=str(raw["sha256"]),
        width=int(raw["width"]),
        height=int(raw["height"]),
    )


def list_feedback(client: ShopClient, after: str | None = None, take: int = 50) -> FeedbackPage:
    """Frames of the selected channel after the cursor ``after`` (None: from the oldest
    the server still keeps), oldest first, at most ``take`` (1-100)."""
    data = _gql(
        client,
        LIST_FEEDBACK,
        {"after": after, "take": take},
        what="read the photos from the till",
    )["recognitionFeedback"]
    return FeedbackPage(
        items=tuple(_item(raw) for raw in data["items"]),
        total_after=int(data["totalItems"]),
        has_more=bool(data["hasMore"]),
        next_cursor=data.get("nextCursor"),
    )


def iter_feedback(
    client: ShopClient,
    after: str | None = None,
    *,
    cancel: threading.Event | None = None,
) -> Iterator[FeedbackItem]:
    """Every frame after ``after``, page by page (the cursor moves with the items)."""
    cursor = after
    while True:
        check_cancel(cancel)
        page = list_feedback(client, cursor, PAGE_SIZE)
        yield from page.items
        if not page.has_more or not page.items:
            return
        cursor = page.next_cursor


def download_image(
    client: ShopClient, item: FeedbackItem, *, max_bytes: int = MAX_IMAGE_BYTES
) -> bytes:
    """The frame's JPEG bytes, through the plugin's authorised route (never a public URL).

    Refused without reading on past ``max_bytes``; checked against the listed sha256,
    downloaded once more when it does not match. A frame the server no longer has raises
    :class:`FeedbackImageGone` (skip it); one that arrives damaged twice,
    :class:`FeedbackImageDamaged` (drop it: trying again cannot help).
    """
    for _ in range(2):
        body = _download(client, item, max_bytes)
        if hashlib.sha256(body).hexdigest() == item.sha256:
            return body
    raise FeedbackImageDamaged(
        f"The photo {item.id} arrived damaged twice ({len(body)} bytes that do not match the "
        "checksum the server recorded when it arrived): it is damaged on the server."
    )


def _download(client: ShopClient, item: FeedbackItem, max_bytes: int) -> bytes:
    client.require_channel()
    path = item.image_path
    if not path.startswith("/") or path.startswith("//") or any(c in path for c in "\\?#@"):
        raise ShopError(f"The server listed the photo at “{path[:80]}”, not a path on it.")
    headers, _token = client.auth_headers(True)
    what = "download a photo from the till"
    try:
        resp = client.request(
            "GET",
            client.server_url + path,
            headers=headers,
            allow_redirects=False,
            retries=2,
            max_bytes=max_bytes,
            what=what,
        )
    except AnswerTooLarge:
        raise AnswerTooLarge(
            f"The photo {item.id} is larger than {max_bytes / 1e6:g} MB; it was not downloaded."
        ) from None
    if resp.status_code == 404:
        raise FeedbackImageGone(f"The photo {item.id} is no longer on the server.")
    if resp.status_code in (401, 403):
        client.channels()  # raises SessionExpired when the login itself has ended
        raise _needs_upload_permission(client, what)
    if resp.status_code != 200:
        raise ShopError(f"Downloading the photo {item.id} failed: HTTP {resp.status_code}.")
    return resp.content


def feedback_stats(client: ShopClient, since: dt.datetime | None = None) -> list[VersionStats]:
    """Per served model version, from ``since``'s UTC hour on (all when None; a plugin
    before 0.1.1 counts from its UTC day), the version seen most recently first."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=dt.timezone.utc)
    data = _gql(
        client,
        FEEDBACK_STATS,
        {"since": since.isoformat() if since else None},
        what="read the till's statistics",
    )["recognitionFeedbackStats"]
    return [
        VersionStats(
            model_version=str(s["modelVersion"]),
            photos=int(s["photos"]),
            top1_right=int(s["top1Right"]),
            top3_right=int(s["top3Right"]),
            average_confidence=(
                None if s.get("averageConfidence") is None else float(s["averageConfidence"])
            ),
            corrections=int(s["corrections"]),
            first_at=_instant(s["firstAt"]),
            last_at=_instant(s["lastAt"]),
        )
        for s in data
    ]


def delete_feedback(
    client: ShopClient, ids: Sequence[str] | None = None, *, everything: bool = False
) -> int:
    """Deletes frames on the server (``ids``, or all of the channel's with ``everything``);
    the statistics stay. Returns how many were deleted (ids already gone are skipped)."""
    if (ids is None) == (not everything):
        raise ValueError("pass either ids or everything=True")
    what = "delete photos from the till"
    if everything:  # deleting is idempotent: retried like a read
        data = _gql(client, DELETE_FEEDBACK, {"all": True}, what=what)
        return int(data["deleteRecognitionFeedback"])
    wanted = list(ids or [])
    deleted = 0
    for start in range(0, len(wanted), 1000):  # the plugin's largest batch
        batch = {"ids": wanted[start : start + 1000]}
        deleted += int(_gql(client, DELETE_FEEDBACK, batch, what=what)["deleteRecognitionFeedback"])
    return deleted
