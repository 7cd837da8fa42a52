"""Photos from the till (issue 18) end to end: the stand-in POS (tests/vendure_server/
src/pos.ts, running the plugin README's recipe code) sends frames as a cashier whose
role holds only SubmitRecognitionFeedback; the app's client (app.core.shop.feedback)
reads them back as the owner (UploadMlModel) from the real Vendure of the session
fixture, whose test config keeps the limits small (src/index.ts: 8 frames or 1.25 MiB
per channel, 12 submissions a minute per session).

Each concern has its own channel, so no test depends on another's frames.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import http.client
import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
import requests
from PIL import Image
from vendure_server.fixtures import (
    GROCERY,
    SeededChannel,
    VendureServer,
    add_channel,
    build_server,
    run_pos,
    start_server,
    stop_server,
)

from app.core.errors import AnswerTooLarge, PermissionDenied
from app.core.shop import ShopClient
from app.core.shop.feedback import (
    FeedbackImageGone,
    FeedbackRefused,
    delete_feedback,
    download_image,
    feedback_stats,
    iter_feedback,
    list_feedback,
)

pytestmark = pytest.mark.slow

SUBMIT = (
    "mutation($image:Upload!,$input:RecognitionFeedbackInput!){"
    "submitRecognitionFeedback(image:$image,input:$input){id receivedAt duplicate}}"
)
VA = "20260101T080000000Z-aaaaaa"  # served versions, as X-Ml-Model-Version names them
VB = "20260201T080000000Z-bbbbbb"
PHOTOS = sorted((GROCERY / "train" / "Fruit").rglob("*.jpg"))


@dataclass
class Till:
    server: VendureServer
    channels: dict[str, SeededChannel]
    products: dict[str, list[str]]  # channel code -> product ids
    deleted_product: str
    cashier: tuple[str, str]  # SubmitRecognitionFeedback only
    owner: tuple[str, str]  # UploadMlModel only

    def client(self, code: str, user: tuple[str, str] | None = None) -> ShopClient:
        c = ShopClient(self.server.url)
        c.login(*(user or self.owner))
        c.select_channel(self.channels[code].code)
        return c


@pytest.fixture(scope="module")
def till(vendure: VendureServer) -> Till:
    """Channels with a few products (no photos: the POS sends its own), two users."""
    codes = ("till", "quota", "flood", "queue", "tidy")
    channels: dict[str, SeededChannel] = {}
    products: dict[str, list[str]] = {}
    api = None
    for code in codes:
        api, ch = add_channel(vendure, f"fb-{code}")
        channels[code] = ch
        products[code] = [api.create_product(f"{code} item {i}", []) for i in range(4)]
    assert api is not None
    api.channel_token = channels["till"].token
    deleted = api.create_product("Discontinued", [])
    api.gql("mutation($id:ID!){deleteProduct(id:$id){result}}", {"id": deleted})
    api.channel_token = ""
    users = {}
    for key, permission in (
        ("cashier", "SubmitRecognitionFeedback"),
        ("owner", "UploadMlModel"),
    ):
        role = api.gql(
            "mutation($input:CreateRoleInput!){createRole(input:$input){id}}",
            {
                "input": {
                    "code": f"fb-{key}",
                    "description": key,
                    "permissions": [permission],
                    "channelIds": [ch.id for ch in channels.values()],
                }
            },
        )["createRole"]["id"]
        password = f"{key}-pw-{time.time_ns()}"
        api.gql(
            "mutation($input:CreateAdministratorInput!){createAdministrator(input:$input){id}}",
            {
                "input": {
                    "firstName": key,
                    "lastName": "Till",
                    "emailAddress": f"fb-{key}@shop.test",
                    "password": password,
                    "roleIds": [role],
                }
            },
        )
        users[key] = (f"fb-{key}@shop.test", password)
    return Till(vendure, channels, products, deleted, users["cashier"], users["owner"])


# ------------------------------------------------------------------ helpers


def jpeg(side: int = 224, quality: int = 90, seed: int = 0) -> bytes:
    """Noise compresses badly: the side sets the size (640 px ~ 480 KB, 1000 px ~ 1.2 MB)."""
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (side, side, 3), dtype=np.uint8)).save(
        buf, "JPEG", quality=quality
    )
    return buf.getvalue()


def line(product: str, preds: list[tuple[str, float]], version: str = VA, **extra) -> dict:
    return {
        "productId": product,
        "modelVersion": version,
        "predictions": [{"productId": p, "probability": q} for p, q in preds],
        **extra,
    }


def login_token(server: VendureServer, user: tuple[str, str]) -> str:
    """A fresh session (the rate limit is per session)."""
    resp = requests.post(
        server.api,
        json={
            "query": "mutation($u:String!,$p:String!){login(username:$u,password:$p){__typename}}",
            "variables": {"u": user[0], "p": user[1]},
        },
        timeout=30,
    )
    assert resp.json()["data"]["login"]["__typename"] == "CurrentUser"
    return resp.headers["vendure-auth-token"]


def submit(
    server: VendureServer,
    token: str,
    channel: SeededChannel,
    image: bytes,
    input_: dict,
    filename: str = "frame.jpg",
) -> dict:
    """One raw GraphQL multipart submission (for bodies no POS would make); the payload."""
    ops = {"query": SUBMIT, "variables": {"image": None, "input": input_}}
    resp = requests.post(
        server.api,
        data={"operations": json.dumps(ops), "map": json.dumps({"0": ["variables.image"]})},
        files={"0": (filename, image, "image/jpeg")},
        headers={
            "Authorization": f"Bearer {token}",
            "vendure-token": channel.token,
            "apollo-require-preflight": "true",
        },
        timeout=60,
    )
    return resp.json()


def error_of(payload: dict) -> tuple[str, str | None]:
    assert payload.get("errors"), payload
    ext = payload["errors"][0].get("extensions") or {}
    return ext.get("code"), ext.get("reason")


def on_disk(server: VendureServer, channel_id: str) -> dict[str, int]:
    """The channel's stored files (name -> bytes), frames and records."""
    frames = server.asset_dir.parent / "ml-feedback" / channel_id / "frames"
    return {p.name: p.stat().st_size for p in frames.glob("*")} if frames.exists() else {}


def pos_job(t: Till, code: str, frames: list[dict], **extra) -> dict:
    return {
        "adminApiUrl": t.server.api,
        "username": t.cashier[0],
        "password": t.cashier[1],
        "channelToken": t.channels[code].token,
        "imageSize": 224,
        "mode": "send",
        "frames": frames,
        **extra,
    }


# ------------------------------------------------------------------ what the POS sent


@dataclass
class Sent:
    receipts: list[dict]  # the POS's results, in sending order
    lines: list[dict]
    started: dt.datetime


@pytest.fixture(scope="module")
def sent(till: Till) -> Sent:
    """Seven frames through the README recipe: two served versions, right and wrong."""
    p1, p2, p3, p4 = till.products["till"]
    lines = [
        line(p1, [(p1, 0.9), (p2, 0.05), (p3, 0.03)]),  # top-1 right
        line(p2, [(p1, 0.5), (p2, 0.3), (p3, 0.1)]),  # top-3 right, a correction
        line(p4, [(p1, 0.6), (p2, 0.2), (p3, 0.1)]),  # wrong, a correction
        line(p3, [(p3, 0.7), (p4, 0.2)]),  # a two-product model: top-1 right
        line(p1, [(p1, 0.95), (p2, 0.03), (p4, 0.01)], VB),
        line(p2, [(p2, 0.8), (p1, 0.1), (p3, 0.05)], VB),
        line(p3, [(p4, 0.1), (p3, 0.85)], VB),  # any order: the plugin sorts
    ]
    started = dt.datetime.now(dt.timezone.utc)
    frames = [{"file": str(PHOTOS[i * 7]), "line": ln} for i, ln in enumerate(lines)]
    answer = run_pos(pos_job(till, "till", frames))
    assert all(r["ok"] for r in answer["results"]), answer
    return Sent(answer["results"], lines, started)


def test_frames_from_the_pos_appear_for_review_with_their_fields(till: Till, sent: Sent) -> None:
    client = till.client("till")
    page = list_feedback(client, None, 50)
    assert [i.id for i in page.items] == [r["receipt"]["id"] for r in sent.receipts]
    assert page.total_after == 7 and not page.has_more
    names = dict(zip(till.products["till"], [f"till item {i}" for i in range(4)], strict=True))
    for item, sent_line, result in zip(page.items, sent.lines, sent.receipts, strict=True):
        assert item.product_id == sent_line["productId"]
        assert item.product_name == names[item.product_id]
        assert item.model_version == sent_line["modelVersion"]
        expected = sorted(
            ((p["productId"], p["probability"]) for p in sent_line["predictions"]),
            key=lambda p: -p[1],
        )
        assert [(p.product_id, p.probability) for p in item.predictions] == expected
        assert item.predicted_product_id == expected[0][0]
        assert item.confidence == pytest.approx(expected[0][1])
        assert sent.started - dt.timedelta(seconds=1) <= item.received_at
        assert item.received_at <= dt.datetime.now(dt.timezone.utc)
        assert (item.width, item.height) == (224, 224)  # downscaled as the recipe says
        assert (item.image_bytes, item.sha256) == (result["bytes"], result["sha256"])
        body = download_image(client, item)
        assert hashlib.sha256(body).hexdigest() == result["sha256"]
        assert Image.open(io.BytesIO(body)).size == (224, 224)
    assert [i.is_correction for i in page.items] == [False, True, True, False, False, False, False]
    with pytest.raises(AnswerTooLarge):
        download_image(client, page.items[0], max_bytes=page.items[0].image_bytes - 1)


def test_statistics_per_served_version_match_what_was_sent(till: Till, sent: Sent) -> None:
    client = till.client("till")
    stats = {s.model_version: s for s in feedback_stats(client)}
    assert set(stats) == {VA, VB}
    a, b = stats[VA], stats[VB]
    assert (a.photos, a.top1_right, a.top3_right, a.corrections) == (4, 2, 3, 2)
    assert a.average_confidence == pytest.approx((0.9 + 0.5 + 0.6 + 0.7) / 4)
    assert (b.photos, b.top1_right, b.top3_right, b.corrections) == (3, 3, 3, 0)
    assert b.average_confidence == pytest.approx((0.95 + 0.8 + 0.85) / 3)
    assert a.top1_rate == pytest.approx(0.5) and b.top3_rate == 1.0
    assert a.first_at <= a.last_at <= b.first_at <= b.last_at  # VB was sent after VA
    assert [s.model_version for s in feedback_stats(client)] == [VB, VA]  # most recent first
    today = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0)
    assert {s.model_version for s in feedback_stats(client, since=today)} == {VA, VB}
    assert feedback_stats(client, since=today + dt.timedelta(days=1)) == []
    # counted by the UTC hour, so a shop's local day can be asked for in any time zone
    hour = a.first_at.astimezone(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
    assert {s.model_version for s in feedback_stats(client, since=hour)} == {VA, VB}
    after = b.last_at.astimezone(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
    assert feedback_stats(client, since=after + dt.timedelta(hours=1)) == []


def test_cursor_pages_through_everything_once(till: Till, sent: Sent) -> None:
    client = till.client("till")
    ids = [r["receipt"]["id"] for r in sent.receipts]
    cursor, seen, pages = None, [], []
    while True:
        page = list_feedback(client, cursor, 3)
        pages.append((len(page.items), page.total_after, page.has_more))
        seen += [i.id for i in page.items]
        cursor = page.next_cursor
        if not page.has_more:
            break
    assert pages == [(3, 7, True), (3, 4, True), (1, 1, False)]
    assert seen == ids and cursor == ids[-1]
    after_all = list_feedback(client, cursor, 3)
    assert (after_all.items, after_all.total_after, after_all.next_cursor) == ((), 0, ids[-1])
    assert [i.id for i in iter_feedback(client, ids[1])] == ids[2:]
    with pytest.raises(FeedbackRefused) as bad:
        list_feedback(client, "../../etc/passwd", 3)
    assert bad.value.reason == "BAD_ARGUMENT"


# ------------------------------------------------------------------ refusals


def sof_of(jpeg_bytes: bytes) -> bytes:
    """The frame-header segment (SOF0) of a JPEG, marker and length included."""
    at = jpeg_bytes.index(b"\xff\xc0")
    return jpeg_bytes[at : at + 2 + int.from_bytes(jpeg_bytes[at + 2 : at + 4], "big")]


@pytest.mark.parametrize(
    "case",
    [
        "png-named-jpg",
        "too-large",
        "20-mb-body",
        "30000x30000-header",
        "truncated",
        "no-scan",
        "unknown-product",
        "other-channels-product",
        "deleted-product",
        "probability-over-1",
    ],
)
def test_bad_input_gets_one_clear_error_and_stores_nothing(till: Till, case: str) -> None:
    ch = till.channels["till"]
    product = till.products["till"][0]
    good = line(product, [(product, 0.9)])
    image = jpeg()
    png = io.BytesIO()
    Image.new("RGB", (224, 224), "red").save(png, "PNG")
    header = bytearray(jpeg(64))
    sof = header.index(b"\xff\xc0")
    header[sof + 5 : sof + 9] = (30000).to_bytes(2, "big") * 2  # height, width
    expected = {
        "png-named-jpg": ("NOT_JPEG", png.getvalue(), good),
        "too-large": ("TOO_LARGE", jpeg(1000, 95), good),  # ~1.2 MB, over the 1 MiB default
        "20-mb-body": ("TOO_LARGE", image[:-2] + bytes(20 * 1024 * 1024), good),
        "30000x30000-header": ("BAD_DIMENSIONS", bytes(header), good),
        "truncated": ("TRUNCATED", image[: len(image) * 2 // 3], good),
        # a frame header, then the end: 23 bytes listed as a 224×224 photo
        "no-scan": ("TRUNCATED", bytes(header[:2]) + sof_of(image) + b"\xff\xd9", good),
        "unknown-product": ("UNKNOWN_PRODUCT", image, line("987654", [(product, 0.9)])),
        "other-channels-product": (
            "UNKNOWN_PRODUCT",
            image,
            line(next(iter(till.server.channels["fruit"].products)), [(product, 0.9)]),
        ),
        "deleted-product": ("UNKNOWN_PRODUCT", image, line(till.deleted_product, [(product, 0.9)])),
        "probability-over-1": ("BAD_PREDICTIONS", image, line(product, [(product, 1.5)])),
    }
    reason, image, input_ = expected[case]
    before = on_disk(till.server, ch.id)
    payload = submit(till.server, login_token(till.server, till.cashier), ch, image, input_)
    assert error_of(payload) == ("RECOGNITION_FEEDBACK_REJECTED", reason)
    assert payload["errors"][0]["message"]  # a sentence for the POS's log
    assert on_disk(till.server, ch.id) == before
    assert not list((till.server.asset_dir.parent / "ml-feedback" / ch.id / ".tmp").glob("*"))


def test_only_the_right_permission_on_the_right_channel(till: Till, sent: Sent) -> None:
    server, ch = till.server, till.channels["till"]
    product = till.products["till"][0]
    before = on_disk(server, ch.id)
    owner = login_token(server, till.owner)  # UploadMlModel, not SubmitRecognitionFeedback
    assert error_of(submit(server, owner, ch, jpeg(), line(product, [(product, 0.9)]))) == (
        "FORBIDDEN",
        None,
    )
    cashier = login_token(server, till.cashier)
    fruit = server.channels["fruit"]  # a channel the cashier's role does not cover
    fruit_product = next(iter(fruit.products))
    payload = submit(server, cashier, fruit, jpeg(), line(fruit_product, [(fruit_product, 0.9)]))
    assert error_of(payload) == ("FORBIDDEN", None)
    assert not (server.asset_dir.parent / "ml-feedback" / fruit.id).exists()
    assert on_disk(server, ch.id) == before
    # the till's role cannot read frames back, nor download one
    reader = till.client("till", till.cashier)
    # each says which permission it lacks (the list said only "for the permission")
    with pytest.raises(PermissionDenied, match="needs the UploadMlModel permission"):
        list_feedback(reader)
    with pytest.raises(PermissionDenied, match="needs the UploadMlModel permission"):
        feedback_stats(reader)
    item = list_feedback(till.client("till"), None, 1).items[0]
    with pytest.raises(PermissionDenied):
        download_image(reader, item)


def test_rate_limit_per_session(till: Till) -> None:
    server, ch = till.server, till.channels["flood"]
    product = till.products["flood"][0]
    token = login_token(server, till.cashier)
    small = jpeg(64)
    for i in range(12):  # the test server's limit per minute
        payload = submit(server, token, ch, small, line(product, [(product, 0.9)], f"v{i}"))
        assert payload.get("data"), payload
    before = on_disk(server, ch.id)
    refused = submit(server, token, ch, small, line(product, [(product, 0.9)]))
    assert error_of(refused) == ("RECOGNITION_FEEDBACK_RATE_LIMITED", None)
    assert 0 < refused["errors"][0]["extensions"]["retryAfterSeconds"] <= 60
    assert on_disk(server, ch.id) == before
    other = login_token(server, till.cashier)  # another till: its own session
    assert submit(server, other, ch, small, line(product, [(product, 0.9)])).get("data")


def test_quota_drops_the_oldest_and_never_exceeds_its_bytes(till: Till) -> None:
    server, ch = till.server, till.channels["quota"]
    product = till.products["quota"][0]
    limit_bytes, limit_count = int(1.25 * 1024 * 1024), 8  # src/index.ts
    token = login_token(server, till.cashier)
    big_ids = []
    for seed in range(3):  # ~480 KB each: the third needs the first's room
        payload = submit(server, token, ch, jpeg(640, 95, seed), line(product, [(product, 0.5)]))
        big_ids.append(payload["data"]["submitRecognitionFeedback"]["id"])
        frames = {n: s for n, s in on_disk(server, ch.id).items() if n.endswith(".jpg")}
        assert sum(frames.values()) <= limit_bytes
    assert sorted(frames) == [f"{i}.jpg" for i in big_ids[1:]]
    small_ids = []
    token = login_token(server, till.cashier)  # a new session: the rate limit is per session
    for seed in range(9):
        payload = submit(server, token, ch, jpeg(64, seed=seed), line(product, [(product, 0.5)]))
        small_ids.append(payload["data"]["submitRecognitionFeedback"]["id"])
        assert len([n for n in on_disk(server, ch.id) if n.endswith(".jpg")]) <= limit_count
    kept = [i.id for i in list_feedback(till.client("quota"), None, 50).items]
    assert kept == small_ids[-limit_count:]  # the newest eight, oldest first
    # statistics count every frame, also the dropped ones
    assert feedback_stats(till.client("quota"))[0].photos == 12


def test_offline_queue_keeps_the_newest_and_a_retry_is_stored_once(till: Till) -> None:
    product = till.products["queue"]
    frames = [
        {"file": str(PHOTOS[i]), "line": line(product[i % 4], [(product[i % 4], 0.6)])}
        for i in range(5)
    ]
    answer = run_pos(pos_job(till, "queue", frames, mode="offline-queue", queueSize=3))
    offline = answer["flushes"][:5]
    assert all(f["sent"] == 0 and f["stopped"]["code"] == "NETWORK" for f in offline), answer
    assert [f["left"] for f in offline] == [1, 2, 3, 3, 3] and answer["droppedOldest"] == 2
    lost, back = answer["flushes"][5:]
    assert (lost["sent"], lost["left"]) == (0, 3)  # stored, but the answer never came
    assert (back["sent"], back["left"], back["stopped"]) == (3, 0, None)
    items = list_feedback(till.client("queue"), None, 50).items
    assert [i.sha256 for i in items] == [s["sha256"] for s in answer["sent"][2:]]  # once each


# ------------------------------------------------------------------ privacy


def raw_get(server: VendureServer, path: str, headers: dict | None = None) -> tuple[int, bytes]:
    """A GET whose path is sent exactly as written (no client-side normalising)."""
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_frames_are_never_served_publicly(till: Till, sent: Sent) -> None:
    server, ch = till.server, till.channels["till"]
    item = list_feedback(till.client("till"), None, 1).items[0]
    feedback_root = server.asset_dir.parent / "ml-feedback"
    body = (feedback_root / ch.id / "frames" / f"{item.id}.jpg").read_bytes()
    assert not feedback_root.resolve().is_relative_to(server.asset_dir.resolve())
    rel = f"ml-feedback/{ch.id}/frames/{item.id}.jpg"
    enc = rel.replace("/", "%2F")
    paths = [
        f"/assets/{rel}",
        f"/assets/../{rel}",
        f"/assets/%2e%2e/{rel}",
        f"/assets/..%2F{enc}",
        f"/assets/ml-models/../../{rel}",
        f"/assets/ml-models/{ch.id}/latest/..%2F..%2F..%2F..%2F{enc}",
        f"/assets/ml-models/{ch.id}/v/..%2F..%2F..%2F{enc}/model.json",
        f"/{rel}",
        f"/ml-feedback/{ch.id}/frames/{item.id}.jpg",
        item.image_path,  # the authorised route, without a login
        f"/ml-feedback/images/..%2F{ch.id}%2Fframes%2F{item.id}.jpg",
    ]
    for path in paths:
        status, answer = raw_get(server, path)
        assert status != 200 and body not in answer, path
    # the route with a login, but for another channel's trainer or without a channel
    veg = server.channels["veg"]
    veg_token = login_token(server, server.users["veg_trainer"])
    status, answer = raw_get(
        server,
        item.image_path,
        {"Authorization": f"Bearer {veg_token}", "vendure-token": veg.token},
    )
    assert status == 404 and body not in answer
    owner = login_token(server, till.owner)
    status, answer = raw_get(server, item.image_path, {"Authorization": f"Bearer {owner}"})
    assert status in (403, 404) and body not in answer
    status, answer = raw_get(
        server, item.image_path, {"Authorization": f"Bearer {owner}", "vendure-token": ch.token}
    )
    assert (status, answer) == (200, body)  # the one way to it


def test_deleting_frames_keeps_the_statistics(till: Till) -> None:
    server, ch = till.server, till.channels["tidy"]
    product = till.products["tidy"][0]
    token = login_token(server, till.cashier)
    for seed in range(3):
        assert submit(server, token, ch, jpeg(seed=seed), line(product, [(product, 0.9)])).get(
            "data"
        )
    client = till.client("tidy")
    items = list_feedback(client).items
    assert delete_feedback(client, [items[0].id, items[0].id, "20200101T000000000Z-000000"]) == 1
    assert [i.id for i in list_feedback(client).items] == [i.id for i in items[1:]]
    assert f"{items[0].id}.jpg" not in on_disk(server, ch.id)
    with pytest.raises(FeedbackImageGone):
        download_image(client, items[0])
    assert delete_feedback(client, everything=True) == 2
    assert on_disk(server, ch.id) == {} and list_feedback(client).items == ()
    assert feedback_stats(client)[0].photos == 3


def test_deleting_the_channel_deletes_its_frames(vendure: VendureServer) -> None:
    api, ch = add_channel(vendure, "fb-gone")
    product = api.create_product("Gone", [])
    token = login_token(vendure, (vendure.admin_user, vendure.admin_password))  # SuperAdmin
    assert submit(vendure, token, ch, jpeg(), line(product, [(product, 1.0)])).get("data")
    folder = vendure.asset_dir.parent / "ml-feedback" / ch.id
    assert any(folder.rglob("*.jpg"))
    api.channel_token = ""
    assert (
        api.gql("mutation($id:ID!){deleteChannel(id:$id){result}}", {"id": ch.id})["deleteChannel"][
            "result"
        ]
        == "DELETED"
    )
    deadline = time.monotonic() + 10  # the event is handled after the mutation answers
    while folder.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not folder.exists()


def test_feedback_folder_inside_the_asset_folder_refuses_to_start(tmp_path: Path) -> None:
    build_server()  # as the session fixture does (this test does not need its server)
    proc, server = start_server(
        tmp_path,
        extra_env={"ML_FEEDBACK_DIR": str(tmp_path / "assets" / "till")},
        expect_failure=True,
    )
    try:
        assert proc.returncode not in (None, 0)
        assert "feedback.dir" in server.log_path.read_text()
        assert not (tmp_path / "assets" / "till").exists()
    finally:
        stop_server(proc)


def test_a_version_named_like_an_object_property_is_a_version_like_any_other(
    vendure: VendureServer,
) -> None:
    """A till holding only SubmitRecognitionFeedback sent ``modelVersion: "__proto__"``:
    its day's counter was written onto Object.prototype, and every later query of the
    whole server failed ("Maximum call stack size exceeded") until a restart."""
    api, ch = add_channel(vendure, "fb-proto")
    product = api.create_product("Proto", [])
    admin = (vendure.admin_user, vendure.admin_password)
    token = login_token(vendure, admin)
    names = ("__proto__", "constructor", "toString", VA)
    for seed, version in enumerate(names):
        sent = submit(vendure, token, ch, jpeg(seed=seed), line(product, [(product, 0.9)], version))
        assert sent.get("data"), sent
    client = ShopClient(vendure.url)  # a new login: the Admin API still answers
    client.login(*admin)
    client.select_channel(ch.code)
    assert {s.model_version: s.photos for s in feedback_stats(client)} == dict.fromkeys(names, 1)
    assert len(list_feedback(client).items) == len(names)


def test_a_frame_that_a_full_disk_refuses_drops_no_older_frame(tmp_path: Path) -> None:
    """The quota made room first (deleting the oldest frame), then the write failed on
    the full disk: one frame fewer for a frame never stored."""
    from mounts import mounted

    disk = tmp_path / "disk"
    with mounted(disk, "-t", "tmpfs", "-o", "size=1m", "tmpfs"):
        build_server()
        (tmp_path / "srv").mkdir()
        proc, server = start_server(
            tmp_path / "srv",
            extra_env={"ML_FEEDBACK_DIR": str(disk / "till"), "ML_FEEDBACK_MAX_PER_CHANNEL": "3"},
        )
        try:
            api, ch = add_channel(server, "fb-full")
            product = api.create_product("Full", [])
            token = login_token(server, (server.admin_user, server.admin_password))
            kept = []
            for seed in range(3):
                sent = submit(server, token, ch, jpeg(seed=seed), line(product, [(product, 0.9)]))
                kept.append(sent["data"]["submitRecognitionFeedback"]["id"])
            filler = disk / "filler"
            with filler.open("wb") as f:  # the disk fills up
                try:
                    while True:
                        f.write(b"\0" * 65536)
                except OSError:
                    pass
            # larger than the oldest frame: the room that frame left does not hold it
            refused = submit(server, token, ch, jpeg(600, seed=9), line(product, [(product, 0.9)]))
            assert "errors" in refused, refused
            client = ShopClient(server.url)
            client.login(server.admin_user, server.admin_password)
            client.select_channel(ch.code)
            assert [i.id for i in list_feedback(client).items] == kept  # all three kept
        finally:
            stop_server(proc)
