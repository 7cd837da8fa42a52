"""Photos from the till through the task layer, against the real Vendure (issue 18).

A cashier whose role holds only SubmitRecognitionFeedback sends frames with the stand-in
POS (the plugin README's recipe); the owner's tasks list them for review, accept some,
drop others, and ``sync`` trains on exactly the accepted ones (a real, small training:
few products, two passes).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from till_standins import add_cashier, sale_line, send_frames
from vendure_server.fixtures import FRUIT, GROCERY, VendureServer, add_channel

from app.core.flows import till_photos as flow
from app.core.flows.keep_current import ACCEPT, sync_channel
from app.core.flows.login import ShopClient, log_in
from app.core.flows.open_source import shop_source
from app.core.flows.till_photos import (
    accept_till_photos,
    drop_till_photos,
    pending_till_photos,
)
from app.core.flows.till_stats import till_accuracy
from app.core.flows.train import TrainOptions
from app.core.shop.feedback import list_feedback
from app.core.till_review import PRODUCT_GONE

pytestmark = pytest.mark.slow

CODE = "till-review"
VA = "20260101T080000000Z-aaaaaa"  # served versions, as the POS names them
VB = "20260201T080000000Z-bbbbbb"
NAMES = ("Golden Delicious", "Banana", "Kiwi")


def photos(name: str, n: int, skip: int = 0) -> list[Path]:
    return sorted((GROCERY / "train" / FRUIT[name]).glob("*.jpg"))[skip : skip + n]


@dataclass
class TillShop:
    ids: dict[str, str]  # name -> product id ("Lime" deleted after its frame was sent)
    sent: list[str]  # feedback ids, in sending order
    channel_id: str


@pytest.fixture(scope="module")
def shop(vendure: VendureServer) -> TillShop:
    """Three products of two photos; eight frames from the till, one of them of a
    product deleted since (Lime)."""
    api, ch = add_channel(vendure, CODE)
    ids = {
        name: api.create_product(name, [a["id"] for a in api.upload_assets(photos(name, 2))])
        for name in NAMES
    }
    ids["Lime"] = api.create_product("Lime", [])
    g, b, k, lime = ids["Golden Delicious"], ids["Banana"], ids["Kiwi"], ids["Lime"]
    frames = [
        (photos("Golden Delicious", 1, 5)[0], sale_line(g, [(g, 0.9), (b, 0.05)], VA)),
        (photos("Golden Delicious", 1, 6)[0], sale_line(g, [(b, 0.6), (g, 0.3)], VA)),
        (photos("Golden Delicious", 1, 7)[0], sale_line(g, [(g, 0.8)], VB)),
        (photos("Banana", 1, 5)[0], sale_line(b, [(b, 0.95)], VA)),
        (photos("Banana", 1, 6)[0], sale_line(b, [(k, 0.5), (b, 0.4)], VB)),
        (photos("Kiwi", 1, 5)[0], sale_line(k, [(k, 0.7)], VA)),
        (photos("Kiwi", 1, 6)[0], sale_line(k, [(g, 0.4), (k, 0.3)], VB)),
        (photos("Lime", 1, 5)[0], sale_line(lime, [(g, 0.5)], VA)),
    ]
    cashier = add_cashier(vendure, [ch.id], CODE)
    receipts = send_frames(vendure, cashier, ch.token, frames)
    api.gql("mutation($id:ID!){deleteProduct(id:$id){result}}", {"id": lime})
    return TillShop(ids, [r["id"] for r in receipts], ch.id)


def owner(vendure: VendureServer) -> ShopClient:
    client = log_in(vendure.url, vendure.admin_user, lambda: vendure.admin_password)
    client.select_channel(CODE)
    return client


def served_meta(vendure: VendureServer, channel_id: str) -> dict:
    r = requests.get(
        f"{vendure.url}/assets/ml-models/{channel_id}/latest/metadata.json", timeout=10
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_accepted_photos_are_in_the_next_sync_and_dropped_ones_never_come_back(
    vendure: VendureServer, shop: TillShop, base_weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = owner(vendure)
    fast = TrainOptions(
        epochs=2, validate=False, augment=False, not_products=False, base_weights=base_weights
    )
    g, b, k = (shop.ids[n] for n in NAMES)

    pending = pending_till_photos(client)
    assert [p.id for p in pending.photos] == shop.sent and pending.count == 8
    assert pending.text == "8 new photos from the till to review."
    assert [(x.product_name, len(x.photos), x.corrections) for x in pending.products] == [
        ("Banana", 2, 1),
        ("Golden Delicious", 3, 1),
        ("Kiwi", 2, 1),
    ]
    assert [(i.id, why) for i, why in pending.not_usable] == [(shop.sent[7], PRODUCT_GONE)]
    second_golden = pending.of_product(g)[1]
    assert second_golden.model_version == VA and pending.said(second_golden) == "Banana (60 %)"

    # review (the default): the first training uses none of them, and says they wait
    first = sync_channel(client, fast)
    assert (first.status, first.trained) == ("published", True), first
    assert served_meta(vendure, shop.channel_id)["imageCount"] == 6
    assert (first.till.use.used, first.till.waiting) == (0, 8)
    assert first.message.endswith("Photos from the till: 8 wait for your review.")
    served = till_accuracy(client)  # the served version is asked of the shop
    assert served.served_version == first.version
    assert served.headline == "The served model has no sales from the till this week."

    # the owner accepts two Golden Delicious and every Banana, drops the rest
    golden = pending.of_product(g)
    accepted = accept_till_photos(client, [*golden[:2], *pending.of_product(b)])
    assert (len(accepted.stored), accepted.dropped, accepted.skipped) == (4, (), ())
    assert accepted.deleted_on_server == 4 and accepted.not_deleted == ""
    store = shop_source(client).store()
    for item, path in accepted.stored:
        assert path.name == f"till-{item.model_version}-{item.id}.jpg"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == item.sha256
        assert path in store.added_images()[item.product_id]
    dropped = drop_till_photos(client, [golden[2], *pending.of_product(k)])
    assert (len(dropped.dropped), dropped.deleted_on_server) == (3, 3)
    # reviewed frames are deleted on the server; only the one left to review is there
    assert [i.id for i in list_feedback(client).items] == [shop.sent[7]]
    again = pending_till_photos(owner(vendure))  # a new login: the state is on disk
    assert [p.id for p in again.photos] == [shop.sent[7]] and again.products == ()

    # review: the next sync trains on exactly the accepted ones
    second = sync_channel(client, fast)
    assert (second.status, second.trained) == ("published", True), second
    meta = served_meta(vendure, shop.channel_id)
    assert meta["imageCount"] == 6 + 4
    assert (second.till.use.used, second.till.waiting) == (4, 1)
    assert "Photos from the till: 4 in the training; 1 waits for your review." in second.message

    # a frame of a deleted product cannot become a photo: accepting it drops it
    lime = accept_till_photos(client, again.photos)
    assert lime.stored == () and [(i.id, why) for i, why in lime.dropped] == [
        (shop.sent[7], PRODUCT_GONE)
    ]
    assert pending_till_photos(client).count == 0 and list_feedback(client).items == ()
    state = store.till.state()
    assert (state.cursor, state.accepted, state.dropped, state.undeleted) == (
        shop.sent[-1],
        set(),
        set(),
        set(),
    )

    # nothing changed: up to date at once, and accept downloads nothing when none waits
    downloads: list[str] = []
    real = flow.download_image
    monkeypatch.setattr(
        flow, "download_image", lambda c, i, **kw: downloads.append(i.id) or real(c, i, **kw)
    )
    noop = sync_channel(client, fast, till_photos=ACCEPT)
    assert (noop.status, noop.trained, downloads) == ("up to date", False, []), noop
    assert noop.till.use.used == 4 and noop.till.accepted.stored == ()
    client.close()


def test_statistics_per_served_version_match_what_was_sent(
    vendure: VendureServer, shop: TillShop
) -> None:
    client = owner(vendure)
    accuracy = till_accuracy(client, served_version=VA)
    by = {v.stats.model_version: v for v in accuracy.versions}
    a, b = by[VA].stats, by[VB].stats
    assert (a.photos, a.top1_right, a.top3_right, a.corrections) == (5, 3, 4, 2)
    assert a.average_confidence == pytest.approx((0.9 + 0.6 + 0.95 + 0.7 + 0.5) / 5)
    assert (b.photos, b.top1_right, b.top3_right, b.corrections) == (3, 1, 3, 2)
    assert [v.served for v in accuracy.versions] == [True, False]  # VA seen last (Lime)
    assert accuracy.headline == (
        "The served model was right on 3 of 5 sales this week: too few to judge yet."
    )
    assert by[VB].text == f"Version {VB} was right on 1 of 3 sales this week: too few to judge yet."
    assert {
        v.stats.model_version for v in till_accuracy(client, days=None, served_version=VA).versions
    } == {VA, VB}
    client.close()


def test_an_id_given_twice_is_one_photo() -> None:
    """``till-photos accept ID ID`` said "Accepted 2 photos" and ``drop`` "Dropped 2"."""
    a, b = "20261125T225342123Z-a1b2c3", "20261125T225342124Z-d4e5f6"
    assert flow.check_feedback_ids([a, b, a, b, a]) == [a, b]


def test_what_the_model_said_of_a_product_not_named_is_not_a_bare_number() -> None:
    """ "said 4 (60 %)" for a product deleted since read like a count."""
    import datetime as dt

    from app.core.shop.feedback import FeedbackItem, Prediction

    item = FeedbackItem(
        "20261125T225342123Z-a1b2c3", "2", "Banana", (Prediction("4", 0.6),), "v1",
        dt.datetime(2026, 11, 25, tzinfo=dt.timezone.utc), "x.jpg", 10, "0" * 64, 1, 1,
    )  # fmt: skip
    pending = flow.TillPending((item,), (), (), {"2": "Banana"})
    assert pending.said(item) == "product 4 (60 %)"  # the frames name only Banana
    assert pending.said(item, {"2": "Banana"}) == "a product deleted since (4) (60 %)"
    assert pending.said(item, {"4": "Kiwi"}) == "Kiwi (60 %)"


@pytest.mark.parametrize(
    ("zone", "now", "days", "since"),
    [
        # an afternoon's sales in Los Angeles: "today" began at 16:00 the day before
        ("America/Los_Angeles", "2026-12-07T23:30:00Z", 1, "2026-12-07T08:00:00Z"),
        ("Asia/Kolkata", "2026-12-06T21:30:00Z", 1, "2026-12-06T18:30:00Z"),  # 03:00 there
        ("Pacific/Kiritimati", "2026-12-07T19:00:00Z", 1, "2026-12-07T10:00:00Z"),
        # a week across the end of summer time: its first midnight was at -07:00
        ("America/Los_Angeles", "2026-11-02T20:00:00Z", 7, "2026-10-27T07:00:00Z"),
    ],
)
def test_today_is_this_computers_calendar_day_not_the_utc_day(
    monkeypatch: pytest.MonkeyPatch, zone: str, now: str, days: int, since: str
) -> None:
    import datetime as dt
    import time

    from app.core.flows import till_stats

    monkeypatch.setenv("TZ", zone)
    time.tzset()
    asked: list[dt.datetime | None] = []
    monkeypatch.setattr(till_stats, "feedback_stats", lambda c, s: asked.append(s) or [])
    try:
        t = dt.datetime.fromisoformat(now.replace("Z", "+00:00"))
        accuracy = till_stats.till_accuracy(None, days=days, served_version="v", now=t)  # type: ignore[arg-type]
    finally:
        monkeypatch.undo()
        time.tzset()
    expected = dt.datetime.fromisoformat(since.replace("Z", "+00:00"))
    assert asked == [expected] and accuracy.since == expected
