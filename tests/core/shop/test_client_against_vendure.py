"""End-to-end: app.core.shop against a real Vendure 3.7 running our ML model plugin.

The ``vendure`` session fixture (tests/vendure_server/fixtures.py) starts and seeds the
server once; every test here that publishes first sets its own baseline model, so the
tests do not depend on each other's order.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import keyring
import numpy as np
import pytest
import requests
from memory_keyring import MemoryKeyring, memory_keyring  # noqa: F401 (fixture)
from model_weights import LAST_KERNEL, entry_offset, overflowing, write_weights
from PIL import Image
from vendure_server.fixtures import (
    BULK_PRODUCTS,
    FRUIT,
    GROCERY,
    NO_IMAGE_PRODUCT,
    VendureServer,
    add_channel,
)

from app.core import paths
from app.core.errors import (
    Cancelled,
    ChannelAccessError,
    InvalidCredentials,
    PermissionDenied,
    PublishError,
    PublishSuperseded,
    ServerUnreachable,
    SessionExpired,
)
from app.core.shop import (
    ChannelInfo,
    PublishResult,
    ShopClient,
    catalogue,
    fetch_catalogue,
    list_catalogue,
    list_versions,
    publish,
    published_metadata,
    publishing,
    rollback,
    sessions,
)
from app.core.wording import format_when

pytestmark = pytest.mark.slow

FILES = ("model.json", "weights.bin", "metadata.json")


# ------------------------------------------------------------------ helpers


def client_for(vendure: VendureServer, user: str = "trainer", channel: str | None = "fruit"):
    c = ShopClient(vendure.url)
    c.login(*vendure.users[user])
    if channel:
        c.select_channel(channel)
    return c


def make_model(root: Path, tm_export: Path, channel_id: str, labels: list[str], tag: str) -> Path:
    """A real TF.js layers model (the Teachable Machine reference) re-labelled for a channel.

    ``tag`` makes all three files differ between models, so a mix of two is detectable.
    """
    d = root / f"model-{tag}"
    d.mkdir(parents=True, exist_ok=True)
    model = json.loads((tm_export / "model.json").read_text())
    model["generatedBy"] = f"dukahub-test {tag}"
    (d / "model.json").write_text(json.dumps(model))
    weights = bytearray((tm_export / "weights.bin").read_bytes())
    digest = np.frombuffer(hashlib.sha256(tag.encode()).digest(), dtype=np.uint8)
    stamp = (digest.astype("<f4") / 255).tobytes()  # finite float32 values
    weights[: len(stamp)] = stamp  # same size, different bytes
    (d / "weights.bin").write_bytes(bytes(weights))
    meta = {
        "version": "1.0.0",
        "trainedAt": "2026-11-25T10:00:00Z",
        "channelId": channel_id,
        "productCount": len(labels),
        "imageCount": 3 * len(labels),
        "labels": labels,
        "imageSize": 224,
        "modelType": "mobilenet",
        "tag": tag,
    }
    (d / "metadata.json").write_text(json.dumps(meta))
    return d


def served(vendure: VendureServer, channel: str) -> dict[str, bytes | None]:
    """The three files as the POS downloads them (plain HTTP, no auth)."""
    cid = vendure.channels[channel].id
    out: dict[str, bytes | None] = {}
    for name in FILES:
        r = requests.get(f"{vendure.url}/assets/ml-models/{cid}/latest/{name}", timeout=10)
        out[name] = r.content if r.status_code == 200 else None
    return out


def local(model_dir: Path) -> dict[str, bytes]:
    return {n: (model_dir / n).read_bytes() for n in FILES}


def fruit_labels(vendure: VendureServer) -> list[str]:
    return sorted(vendure.channels["fruit"].products, key=int)[:5]


@pytest.fixture
def baseline(vendure: VendureServer, tm_export: Path, tmp_path: Path) -> Path:
    """Publishes a known model to "fruit" and returns its folder."""
    c = client_for(vendure)
    d = make_model(
        tmp_path, tm_export, c.channel.id, fruit_labels(vendure), f"base-{tmp_path.name}"
    )
    publish(c, d)
    assert served(vendure, "fruit") == local(d)
    return d


def raw_upload(
    vendure: VendureServer, token: str, channel_token: str, files: dict[str, bytes]
) -> dict:
    """The plugin mutation without the client's local checks, to test the server's own."""
    ops = {
        "query": "mutation($m:Upload!,$w:Upload!,$d:Upload!){uploadMlModel("
        "modelJson:$m,weights:$w,metadata:$d){version}}",
        "variables": {"m": None, "w": None, "d": None},
    }
    mapping = {"0": ["variables.m"], "1": ["variables.w"], "2": ["variables.d"]}
    r = requests.post(
        vendure.api,
        data={"operations": json.dumps(ops), "map": json.dumps(mapping)},
        files={str(i): (n, files[n]) for i, n in enumerate(FILES)},
        headers={"Authorization": f"Bearer {token}", "vendure-token": channel_token},
        timeout=60,
    )
    return r.json()


# ------------------------------------------------------------------ login and channels


def test_login_lists_accessible_channels(vendure: VendureServer) -> None:
    c = ShopClient(vendure.url)
    channels = c.login(*vendure.users["trainer"])
    assert {ch.code for ch in channels} == {"fruit", "bulk", "empty"}
    fruit = c.select_channel("fruit")
    assert fruit.id == vendure.channels["fruit"].id
    assert "UploadMlModel" in fruit.permissions and fruit.can_publish


def test_wrong_password(vendure: VendureServer) -> None:
    user, _ = vendure.users["trainer"]
    with pytest.raises(InvalidCredentials, match="Wrong username or password"):
        ShopClient(vendure.url).login(user, "not-the-password")


def test_unknown_user(vendure: VendureServer) -> None:
    with pytest.raises(InvalidCredentials):
        ShopClient(vendure.url).login("nobody@shop.test", "whatever")


@pytest.mark.parametrize("code", ["veg", "no-such-channel"])
def test_channel_not_accessible(vendure: VendureServer, code: str) -> None:
    c = client_for(vendure, channel=None)
    with pytest.raises(ChannelAccessError, match=f"no access to channel “{code}”"):
        c.select_channel(code)


def test_remembered_session_restores_and_logout_forgets(vendure: VendureServer) -> None:
    c = ShopClient(vendure.url)
    _user, password = vendure.users["trainer"]
    c.login(*vendure.users["trainer"], remember=True)
    store = paths.config_dir() / sessions.SESSIONS_FILE
    assert store.stat().st_mode & 0o777 == 0o600
    assert password not in store.read_text()
    restored = ShopClient.restore(vendure.url)
    assert restored is not None
    assert {ch.code for ch in restored.channels()} == {"fruit", "bulk", "empty"}
    restored.logout()
    assert ShopClient.restore(vendure.url) is None
    # logout also ended the session on the server: the old client is now expired
    with pytest.raises(SessionExpired, match="expired"):
        c.channels()


@pytest.mark.usefixtures("memory_keyring")
def test_remembered_session_in_the_os_keyring(vendure: VendureServer) -> None:
    """Issue 10, item 5: with a keyring, the token is there and not in the file."""
    ring = keyring.get_keyring()
    assert isinstance(ring, MemoryKeyring)
    c = ShopClient(vendure.url)
    c.login(*vendure.users["trainer"], remember=True)
    ((key, token),) = ring.store.items()
    assert key == (sessions.KEYRING_SERVICE, c.server_url) and token == c._token
    assert token not in sessions.sessions_path().read_text()
    restored = ShopClient.restore(vendure.url)
    assert restored is not None and restored.username == vendure.users["trainer"][0]
    assert {ch.code for ch in restored.channels()} == {"fruit", "bulk", "empty"}
    restored.logout()
    assert ring.store == {} and ShopClient.restore(vendure.url) is None


def test_expired_remembered_session(vendure: VendureServer) -> None:
    c = ShopClient(vendure.url)
    c.login(*vendure.users["trainer"], remember=True)
    token = sessions.load(c.server_url).token
    # the session ends on the server (as when it times out); the client does not know
    requests.post(
        vendure.api,
        json={"query": "mutation{logout{success}}"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    with pytest.raises(SessionExpired, match="saved session .* has expired"):
        ShopClient.restore(vendure.url)
    assert ShopClient.restore(vendure.url) is None  # forgotten
    # the channel list is cached locally, but opening a channel asks the server which
    # channel it answers for (a server reading another header answers for its default)
    with pytest.raises(SessionExpired):
        c.select_channel("fruit")


def test_invalid_token(vendure: VendureServer) -> None:
    sessions.save(ShopClient(vendure.url).server_url, sessions.SavedSession("forged-token"))
    with pytest.raises(SessionExpired):
        ShopClient.restore(vendure.url)


# ------------------------------------------------------------------ catalogue


@pytest.fixture
def count_downloads(monkeypatch):
    """Counts real image HTTP responses made by fetch_catalogue."""
    seen: list[str] = []
    original = catalogue.image_session

    def counting(workers: int):
        s = original(workers)
        s.hooks["response"].append(lambda r, *a, **k: seen.append(r.url))
        return s

    monkeypatch.setattr(catalogue, "image_session", counting)
    return seen


def test_catalogue_download_and_cache(vendure: VendureServer, count_downloads) -> None:
    c = client_for(vendure)
    fruit = vendure.channels["fruit"]
    progress = []
    first = fetch_catalogue(c, on_progress=progress.append)
    cat = first.catalogue
    assert cat.channel_id == fruit.id
    assert {p.id: p.name for p in cat.products} == fruit.products
    for p in cat.products:
        assert len(p.images) == fruit.images[p.id], p.name
        for im in p.images:
            assert im.origin == "catalog" and im.path.is_relative_to(paths.image_cache_dir())
            assert im.key.startswith("asset:") and len(im.key.split(":")) >= 3
            with Image.open(im.path) as img:
                assert img.format == "JPEG" and min(img.size) > 50
    no_image = [p for p in cat.products if p.name == NO_IMAGE_PRODUCT]
    assert len(no_image) == 1 and no_image[0].images == []
    expected = sum(fruit.images.values())
    assert len(count_downloads) == expected == len(FRUIT) * 3
    assert first.stats.downloaded == expected and first.stats.cached == 0
    assert progress[-1].fraction == 1.0
    assert all(a.fraction <= b.fraction for a, b in zip(progress, progress[1:], strict=False))

    # second run: nothing downloaded, same files
    count_downloads.clear()
    second = fetch_catalogue(c)
    again = second.catalogue
    assert count_downloads == []
    assert second.stats.cached == expected and second.stats.downloaded == 0
    assert [im.path for p in again.products for im in p.images] == [
        im.path for p in cat.products for im in p.images
    ]
    # a cached copy damaged since (cut short) is fetched again, not used as it is
    damaged = cat.products[0].images[0].path
    whole = damaged.read_bytes()
    damaged.write_bytes(whole[: len(whole) // 3])
    third = fetch_catalogue(c)
    assert len(count_downloads) == 1 and third.stats.downloaded == 1
    assert damaged.read_bytes() == whole
    count_downloads.clear()

    # a changed photo (the product gets a new image) is downloaded, the rest is not
    api = vendure.admin("fruit")
    kiwi = next(pid for pid, name in fruit.products.items() if name == "Kiwi")
    kiwi_before = next(p for p in cat.products if p.id == kiwi)
    photo = sorted((GROCERY / "train/Fruit/Kiwi").glob("*.jpg"))[5]
    new = api.upload_assets([photo])[0]
    update = "mutation($input:UpdateProductInput!){updateProduct(input:$input){id}}"
    old_assets = api.gql(
        "query($id:ID!){product(id:$id){featuredAsset{id} assets{id}}}", {"id": kiwi}
    )["product"]
    api.gql(update, {"input": {"id": kiwi, "featuredAssetId": new["id"]}})
    try:
        count_downloads.clear()
        third = fetch_catalogue(c).catalogue
        assert len(count_downloads) == 1 and urlsplit(count_downloads[0]).path.endswith(".jpg")
        kiwi_after = next(p for p in third.products if p.id == kiwi)
        assert len(kiwi_after.images) == len(kiwi_before.images) + 1
        assert kiwi_after.images[0].path not in [im.path for im in kiwi_before.images]
        with Image.open(kiwi_after.images[0].path) as img:
            assert img.format == "JPEG"
    finally:  # the server is shared by the whole session: put Kiwi back
        api.gql(
            update,
            {
                "input": {
                    "id": kiwi,
                    "featuredAssetId": old_assets["featuredAsset"]["id"],
                    "assetIds": [a["id"] for a in old_assets["assets"]],
                }
            },
        )


def test_list_catalogue_reads_no_photo_and_matches_fetch(
    vendure: VendureServer, count_downloads
) -> None:
    """The cheap listing: same products, photo keys and order as the download, no image."""
    c = client_for(vendure)
    listing = list_catalogue(c)
    assert count_downloads == []
    assert listing.channel_id == vendure.channels["fruit"].id
    fetched = fetch_catalogue(c).catalogue
    assert [(p.id, p.name) for p in listing.products] == [(p.id, p.name) for p in fetched.products]
    for lp, p in zip(listing.products, fetched.products, strict=True):
        assert lp.photo_keys == [im.key for im in p.images], p.name
        for asset in lp.assets:
            assert re.fullmatch(rf"asset:{asset.id}:file-[0-9a-f]{{16}}", asset.key)
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", asset.updated_at)
            assert lp.updated_at >= asset.updated_at
    assert listing.newest_update == max(p.updated_at for p in listing.products)

    # a change to one product: new featured photo first, and a newer stamp
    api = vendure.admin("fruit")
    kiwi = next(p for p in listing.products if p.name == "Kiwi")
    update = "mutation($input:UpdateProductInput!){updateProduct(input:$input){id}}"
    last = kiwi.assets[-1]
    api.gql(update, {"input": {"id": kiwi.id, "featuredAssetId": last.id}})
    try:
        downloads_so_far = len(count_downloads)
        after = list_catalogue(c)
        assert len(count_downloads) == downloads_so_far
        kiwi_after = next(p for p in after.products if p.id == kiwi.id)
        assert kiwi_after.photo_keys == [last.key] + kiwi.photo_keys[:-1]
        assert kiwi_after.updated_at > kiwi.updated_at
        assert after.newest_update == kiwi_after.updated_at
    finally:
        api.gql(update, {"input": {"id": kiwi.id, "featuredAssetId": kiwi.assets[0].id}})


def test_a_product_whose_photos_are_on_its_variants_is_trained_from_them(
    vendure: VendureServer,
) -> None:
    """It was "not trained: it has no photos". A product with photos of its own is
    listed as before (its variants' photos are not added, so its fingerprint stays)."""
    api, _ = add_channel(vendure, "variant-photos")
    photos = sorted((GROCERY / "train" / FRUIT["Banana"]).glob("*.jpg"))[:3]
    assets = api.upload_assets(photos)
    on_variant = api.create_product("Banana (photos on its variant)", [])
    own = api.create_product("Banana (photo of its own)", [assets[2]["id"]])
    new_variants = (
        "mutation($input:[CreateProductVariantInput!]!){createProductVariants(input:$input){id}}"
    )
    for pid, sku, ids in ((on_variant, "B1", assets[:2]), (own, "B2", assets[:1])):
        variant = {
            "productId": pid,
            "sku": sku,
            "price": 100,
            "translations": [{"languageCode": "en", "name": f"{sku} 1 kg"}],
            "assetIds": [a["id"] for a in ids],
            "featuredAssetId": ids[0]["id"],
            "optionIds": [],
        }
        api.gql(new_variants, {"input": [variant]})
    c = ShopClient(vendure.url)
    c.login(vendure.admin_user, vendure.admin_password)
    c.select_channel("variant-photos")
    result = fetch_catalogue(c)
    c.close()
    photos_of = {p.id: [im.key for im in p.images] for p in result.catalogue.products}
    shown = {im.label for p in result.catalogue.products for im in p.images}
    assert shown == {Path(urlsplit(a["source"]).path).name for a in assets}  # not the hash
    assert [k.split(":")[1] for k in photos_of[on_variant]] == [a["id"] for a in assets[:2]]
    assert [k.split(":")[1] for k in photos_of[own]] == [assets[2]["id"]]


def test_photo_over_the_size_cap_is_left_out_and_named(vendure: VendureServer) -> None:
    """Issue 10, item 4: images stream with a cap; the refused one names its product."""
    c = client_for(vendure)
    listing = list_catalogue(c)
    sizes = sorted(a.file_size for p in listing.products for a in p.assets)
    cap = sizes[len(sizes) // 2]  # about half of the photos are larger
    c.max_image_bytes = cap
    result = fetch_catalogue(c)
    too_big = {(p.id, a.id) for p in listing.products for a in p.assets if a.file_size > cap}
    assert too_big and len(result.stats.failed) == len({a for _, a in too_big})
    names = {p.id: p.name for p in listing.products}
    for failure in result.stats.failed:
        assert failure.product_name == names[failure.product_id]
        assert str(failure).startswith(f"{failure.product_name}: ")
        assert f"larger than {cap / 1e6:g} MB" in failure.reason
    kept = {im.key for p in result.catalogue.products for im in p.images}
    for p in listing.products:
        for a in p.assets:
            assert (a.key in kept) == (a.file_size <= cap)


def test_catalogue_pages_through_many_products(vendure: VendureServer, count_downloads) -> None:
    c = client_for(vendure, channel="bulk")
    result = fetch_catalogue(c, workers=4)
    cat = result.catalogue
    assert len(cat.products) == BULK_PRODUCTS > c.page_size
    assert {p.id for p in cat.products} == set(vendure.channels["bulk"].products)
    assert all(len(p.images) == 1 for p in cat.products)
    # 120 products share 8 photos: each photo is downloaded once
    assert len(count_downloads) == len(FRUIT) == result.stats.downloaded


def test_catalogue_cancel(vendure: VendureServer) -> None:
    c = client_for(vendure, channel="bulk")
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        fetch_catalogue(c, cancel=cancel)


def test_empty_channel(vendure: VendureServer) -> None:
    c = client_for(vendure, channel="empty")
    cat = fetch_catalogue(c).catalogue
    assert cat.products == [] and cat.channel_id == vendure.channels["empty"].id
    assert published_metadata(c) is None
    assert list_versions(c) == []


# ------------------------------------------------------------------ publish


def test_publish_then_fetch_back_identical(
    vendure: VendureServer, tm_export: Path, tmp_path: Path
) -> None:
    c = client_for(vendure)
    d = make_model(tmp_path, tm_export, c.channel.id, fruit_labels(vendure), "roundtrip")
    progress = []
    result = publish(c, d, on_progress=progress.append)
    assert result.url == f"{vendure.url}/assets/ml-models/{c.channel.id}/latest/"
    assert result.metadata["tag"] == "roundtrip"
    assert served(vendure, "fruit") == local(d)
    assert published_metadata(c) == json.loads((d / "metadata.json").read_text())
    assert any(p.phase == "uploading" and 0.1 < p.fraction < 0.9 for p in progress)
    versions = list_versions(c)
    assert versions[0]["version"] == result.version and versions[0]["current"] is True
    assert sum(v["current"] for v in versions) == 1
    sizes = {f["name"]: f["size"] for f in versions[0]["files"]}
    assert sizes == {n: len(b) for n, b in local(d).items()}

    # revalidation caching: ETag + no-cache, never the asset server's 180-day max-age
    url = result.url + "weights.bin"
    r = requests.get(url, timeout=10)
    assert r.headers["Cache-Control"] == "no-cache" and "max-age" not in r.headers["Cache-Control"]
    assert r.headers["X-Ml-Model-Version"] == result.version
    r304 = requests.get(url, headers={"If-None-Match": r.headers["ETag"]}, timeout=10)
    assert r304.status_code == 304 and r304.content == b""


def test_a_channel_switch_during_a_publish_does_not_move_it(
    vendure: VendureServer, tm_export: Path, tmp_path: Path
) -> None:
    """The app switched channel on the client a publish was using: the upload took the
    new channel's token (the server refused it: "metadata.json is for channel 2")."""
    c = client_for(vendure)
    d = make_model(tmp_path, tm_export, c.channel.id, fruit_labels(vendure), "switched")

    def switch(p) -> None:
        if c.channel.code == "fruit" and p.message.startswith("Testing the model"):
            c.select_channel("bulk")  # the owner picks another channel meanwhile

    result = publish(c, d, on_progress=switch)
    assert c.channel.code == "bulk" and result.metadata["tag"] == "switched"
    assert result.url.endswith(f"/ml-models/{vendure.channels['fruit'].id}/latest/")
    assert served(vendure, "fruit") == local(d)


def test_a_product_disabled_in_the_shop_is_never_trained_and_says_why(
    vendure: VendureServer,
) -> None:
    """Vendure refuses to add a disabled product to any order: a model that named it made
    the till fail. It was trained and served like any other."""
    from app.core.dataset import DISABLED_WHY, build_dataset
    from app.core.sources import listed_catalogue

    c = client_for(vendure)
    fruit = vendure.channels["fruit"]
    pid = next(p for p, n in fruit.images.items() if n)
    api = vendure.admin("fruit")
    update = "mutation($i:UpdateProductInput!){updateProduct(input:$i){id}}"
    api.gql(update, {"i": {"id": pid, "enabled": False}})
    try:
        listing = list_catalogue(c)
        assert listing.disabled == [(pid, fruit.products[pid])]
        assert pid not in {p.id for p in listing.products}
        assert listed_catalogue(listing).disabled == listing.disabled  # sync's view too
        fetched = fetch_catalogue(c).catalogue
        assert pid not in {p.id for p in fetched.products}
        assert fetched.names()[pid] == fruit.products[pid]  # named where it is reported
        report = build_dataset(fetched).report
        assert {"product": pid, "reason": DISABLED_WHY} in report.not_trained()
    finally:
        api.gql(update, {"i": {"id": pid, "enabled": True}})
    assert pid in {p.id for p in list_catalogue(c).products}


def test_internals_are_not_served(vendure: VendureServer, baseline: Path) -> None:
    model_root = vendure.model_dir("fruit")
    version = next(p.name for p in (model_root / ".versions").iterdir())
    base = f"{vendure.url}/assets"
    for path in [
        f"ml-models/{vendure.channels['fruit'].id}/.versions/{version}/weights.bin",
        f"ml-models/{vendure.channels['fruit'].id}/latest/../.versions/{version}/model.json",
        f"ml%2Dmodels/{vendure.channels['fruit'].id}/.versions/{version}/model.json",
        f"ml-models/{vendure.channels['fruit'].id}/latest/%2e%2e/.versions/{version}/model.json",
        f"ml-models/{vendure.channels['fruit'].id}/.tmp",
        f"ml-models/{vendure.channels['fruit'].id}/latest/../../../../../etc/passwd",
        f"ml-models/{vendure.channels['fruit'].id}/latest/other.txt",
        "ml-models/",
    ]:
        r = _get_as_is(base + "/" + path)
        assert r[0] == 404, (path, r)
    assert (
        _get_as_is(f"{base}/ml-models/{vendure.channels['fruit'].id}/latest/model.json")[0] == 200
    )


def _get_as_is(url: str) -> tuple[int, bytes]:
    """GET without the client normalising ``..`` or percent-escapes away."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as s:
        s.sendall(f"GET {parts.path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1]), data


def test_cancelled_upload_keeps_previous_model(
    vendure: VendureServer, baseline: Path, tm_export: Path, tmp_path: Path
) -> None:
    c = client_for(vendure)
    before = list_versions(c)
    new = make_model(tmp_path, tm_export, c.channel.id, fruit_labels(vendure), "cancelled")
    cancel = threading.Event()

    def stop_halfway(p) -> None:
        if p.phase == "uploading" and p.fraction > 0.5:
            cancel.set()

    with pytest.raises(Cancelled, match="previous model is still being served"):
        publish(c, new, on_progress=stop_halfway, cancel=cancel)
    assert served(vendure, "fruit") == local(baseline)
    _wait_for_empty_tmp(vendure)
    assert [v["version"] for v in list_versions(c)] == [v["version"] for v in before]


def _wait_for_empty_tmp(vendure: VendureServer) -> None:
    tmp = vendure.model_dir("fruit") / ".tmp"
    deadline = time.monotonic() + 10
    while any(tmp.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(tmp.iterdir()), list(tmp.iterdir())


def test_connection_dropped_mid_upload_keeps_previous_model(
    vendure: VendureServer, baseline: Path, tm_export: Path, tmp_path: Path
) -> None:
    """A raw socket sends half of the multipart body, then the connection dies."""
    c = client_for(vendure)
    new = make_model(tmp_path, tm_export, c.channel.id, fruit_labels(vendure), "dropped")
    body = publishing._MultipartBody(
        publishing.UPLOAD,
        [
            ("modelJson", "model.json", (new / "model.json").read_bytes(), "application/json"),
            (
                "weights",
                "weights.bin",
                (new / "weights.bin").read_bytes(),
                "application/octet-stream",
            ),
            ("metadata", "metadata.json", (new / "metadata.json").read_bytes(), "application/json"),
        ],
        publishing.Reporter(None),
    )
    data = body.read()
    head = (
        f"POST /admin-api HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {body.content_type}\r\n"
        f"Content-Length: {len(data)}\r\nAuthorization: Bearer {c._token}\r\n"
        f"vendure-token: {c.channel.token}\r\napollo-require-preflight: true\r\n\r\n"
    ).encode()
    port = urlsplit(vendure.url).port
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head + data[: len(data) // 2])
        time.sleep(0.5)  # let the server start streaming the files
        s.shutdown(socket.SHUT_RDWR)
    assert served(vendure, "fruit") == local(baseline)
    _wait_for_empty_tmp(vendure)
    assert list_versions(c)[0]["current"] is True
    assert published_metadata(c) == json.loads((baseline / "metadata.json").read_text())


def test_concurrent_publishes_never_mix(
    vendure: VendureServer, baseline: Path, tm_export: Path, tmp_path: Path
) -> None:
    labels = fruit_labels(vendure)
    cid = vendure.channels["fruit"].id
    models = {t: make_model(tmp_path, tm_export, cid, labels, t) for t in ("left", "right")}
    clients = {t: client_for(vendure) for t in models}
    start = threading.Barrier(2)
    outcome: dict[str, object] = {}

    def run(tag: str) -> None:
        start.wait()
        try:
            outcome[tag] = publish(clients[tag], models[tag])
        except PublishError as exc:  # the other one may be swapped in before our check
            outcome[tag] = exc

    threads = [threading.Thread(target=run, args=(t,)) for t in models]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    results = [r for r in outcome.values() if isinstance(r, PublishResult)]
    assert results, outcome
    for r in outcome.values():
        if isinstance(r, PublishError):
            assert isinstance(r, PublishSuperseded) and "is served instead" in str(r)
    now = served(vendure, "fruit")
    assert now in (local(models["left"]), local(models["right"]))  # one complete model
    versions = list_versions(clients["left"])
    tags = {v["metadata"]["tag"] for v in versions}
    assert {"left", "right"} <= tags  # both stored complete, one served
    current = [v for v in versions if v["current"]]
    assert len(current) == 1
    assert json.loads(now["metadata.json"])["tag"] == current[0]["metadata"]["tag"]


def test_three_concurrent_publishes_only_the_served_one_succeeds(
    vendure: VendureServer, baseline: Path, tm_export: Path, tmp_path: Path
) -> None:
    """Issue 10, item 23: a publish that another one overtook must say so.

    Each publish waits, once its upload has been answered, until all three have been
    (its progress hook blocks): then two were overtaken before they verify.
    """
    labels = fruit_labels(vendure)
    cid = vendure.channels["fruit"].id
    tags = ("one", "two", "three")
    models = {t: make_model(tmp_path, tm_export, cid, labels, f"race-{t}") for t in tags}
    clients = {t: client_for(vendure) for t in tags}
    uploaded = threading.Barrier(len(tags), timeout=120)
    outcome: dict[str, object] = {}

    def hold_before_verifying(p) -> None:
        if p.message.startswith("Checking what the server now serves"):
            uploaded.wait()

    def run(tag: str) -> None:
        try:
            outcome[tag] = publish(clients[tag], models[tag], on_progress=hold_before_verifying)
        except PublishError as exc:
            outcome[tag] = exc

    threads = [threading.Thread(target=run, args=(t,)) for t in tags]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    current = publishing.model_status(clients["one"])["current"]
    winners = [t for t, r in outcome.items() if isinstance(r, PublishResult)]
    assert len(winners) == 1, outcome
    assert outcome[winners[0]].version == current["version"]
    assert served(vendure, "fruit") == local(models[winners[0]])
    for tag in set(tags) - set(winners):
        err = outcome[tag]
        assert isinstance(err, PublishSuperseded), err
        assert f"version {current['version']} is served instead" in str(err)


class _LossyProxy(http.server.ThreadingHTTPServer):
    """Forwards to Vendure; an upload (multipart POST) can lose its answer.

    ``mode``: "" forwards everything; "lose-answer" forwards the upload and hangs up
    before answering (the server has it); "hang-up-early" hangs up as soon as it has the
    body while the server is still storing it (a proxy that gave up waiting);
    "lose-upload" hangs up without forwarding it. The Host header is passed on, so the
    photo addresses Vendure builds from it lead through the proxy too.
    """

    def __init__(self, target: str) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.target = target
        self.mode = ""
        self.uploads = 0
        # photos (asset paths) whose request it hangs up on, as a server going away does
        self.drop: set[str] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def trainer(self, vendure: VendureServer) -> ShopClient:
        """The trainer user, logged in through this proxy, in the fruit channel."""
        c = ShopClient(self.url)
        c.login(*vendure.users["trainer"])
        c.select_channel("fruit")
        return c


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    server: _LossyProxy
    _HOP = {"connection", "transfer-encoding", "content-encoding", "content-length", "keep-alive"}

    def _forward(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        upload = method == "POST" and "multipart" in self.headers.get("Content-Type", "")
        if upload:
            self.server.uploads += 1
        if upload and self.server.mode == "lose-upload":
            self.close_connection = True
            return
        if method == "GET" and urlsplit(self.path).path in self.server.drop:
            self.close_connection = True
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in self._HOP}

        def forward() -> requests.Response:
            return requests.request(
                method, self.server.target + self.path, data=body, headers=headers, timeout=120
            )

        if upload and self.server.mode == "hang-up-early":
            threading.Thread(target=forward, daemon=True).start()
            self.close_connection = True
            return
        resp = forward()
        if upload and self.server.mode == "lose-answer":
            self.close_connection = True
            return
        self.send_response(resp.status_code)
        for k, v in resp.headers.items():
            if k.lower() not in self._HOP:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(resp.content)))
        self.end_headers()
        self.wfile.write(resp.content)

    def do_GET(self) -> None:
        self._forward("GET")

    def do_POST(self) -> None:
        self._forward("POST")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def lossy_proxy(vendure: VendureServer) -> Iterator[_LossyProxy]:
    proxy = _LossyProxy(vendure.url)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    yield proxy
    proxy.shutdown()
    proxy.server_close()


def test_photos_the_server_did_not_deliver_stop_the_read_and_the_next_fetches_the_rest(
    vendure: VendureServer, lossy_proxy: _LossyProxy
) -> None:
    """Trained without them, a model recorded the undelivered photos as trained on (so
    a failed download is no "change"): no later sync brought their products back, and
    sync published the smaller model. Now the read stops; what arrived is kept."""
    c = lossy_proxy.trainer(vendure)
    listing = list_catalogue(c)
    photos = [urlsplit(a.source).path for p in listing.products for a in p.assets]
    assert all(urlsplit(a.source).netloc == urlsplit(lossy_proxy.url).netloc
               for p in listing.products for a in p.assets)  # fmt: skip
    lossy_proxy.drop = set(photos[:2])
    with pytest.raises(ServerUnreachable, match=r"^2 of the \d+ product photos could not be"):
        fetch_catalogue(c)
    lossy_proxy.drop = set()
    result = fetch_catalogue(c)
    assert result.stats.downloaded == 2 and not result.stats.failed  # only the rest
    assert sum(len(p.images) for p in result.catalogue.products) == len(photos)


def test_lost_answer_after_the_swap_is_a_success_and_a_retry_does_not_publish_twice(
    vendure: VendureServer,
    baseline: Path,
    tm_export: Path,
    tmp_path: Path,
    lossy_proxy: _LossyProxy,
) -> None:
    """Issue 10, item 3: the server switched although the client never heard back."""
    c = lossy_proxy.trainer(vendure)
    d = make_model(tmp_path, tm_export, c.channel.id, fruit_labels(vendure), "lost-answer")
    lossy_proxy.mode = "lose-answer"
    result = publish(c, d)
    assert lossy_proxy.uploads == 1
    assert served(vendure, "fruit") == local(d)
    current = publishing.model_status(c)["current"]
    assert result.version == current["version"] and not result.reused
    versions = [v["version"] for v in list_versions(c)]

    lossy_proxy.mode = ""  # the owner retries: nothing is uploaded again
    again = publish(c, d)
    assert again.reused and again.version == result.version
    assert lossy_proxy.uploads == 1
    assert [v["version"] for v in list_versions(c)] == versions


def test_a_proxy_that_hangs_up_while_the_server_stores_the_model_is_a_success(
    vendure: VendureServer,
    baseline: Path,
    tm_export: Path,
    tmp_path: Path,
    lossy_proxy: _LossyProxy,
) -> None:
    """The connection broke once the whole body was sent, before the server had stored
    it: asked once at once, the server still served the old model, and the owner read
    "not published" while the new one was served a moment later."""
    c = lossy_proxy.trainer(vendure)
    d = make_model(tmp_path, tm_export, c.channel.id, fruit_labels(vendure), "hang-up-early")
    lossy_proxy.mode = "hang-up-early"
    result = publish(c, d)
    assert lossy_proxy.uploads == 1
    assert served(vendure, "fruit") == local(d)
    assert result.version == publishing.model_status(c)["current"]["version"]


def test_lost_upload_says_the_previous_model_is_still_served(
    vendure: VendureServer,
    baseline: Path,
    tm_export: Path,
    tmp_path: Path,
    lossy_proxy: _LossyProxy,
) -> None:
    c = lossy_proxy.trainer(vendure)
    before = [v["version"] for v in list_versions(c)]
    d = make_model(tmp_path, tm_export, c.channel.id, fruit_labels(vendure), "lost-upload")
    lossy_proxy.mode = "lose-upload"
    # all of it was sent, so the server is asked a few times before the error, which
    # cannot say "not published": the server might still have been storing it
    with pytest.raises(PublishError, match="does not serve this model 6 s later. The previous"):
        publish(c, d)
    assert served(vendure, "fruit") == local(baseline)
    assert [v["version"] for v in list_versions(c)] == before


def test_one_client_shared_by_parallel_tasks(
    vendure: VendureServer, baseline: Path, tm_export: Path, tmp_path: Path
) -> None:
    """The GUI's products download, model status and publish run at once on one client."""
    c = client_for(vendure)
    d = make_model(tmp_path, tm_export, c.channel.id, fruit_labels(vendure), "shared")
    results: dict[str, object] = {}
    used: list[object] = []  # each thread's Session, kept alive to compare

    def task(name: str, fn) -> None:
        used.append(c.http())
        try:
            results[name] = fn()
        except Exception as exc:  # reported below with its name
            results[name] = exc

    jobs = {
        "catalogue": lambda: fetch_catalogue(c, workers=2),
        "listing": lambda: [list_catalogue(c) for _ in range(5)],
        "status": lambda: [publishing.model_status(c) for _ in range(10)],
        "publish": lambda: publish(c, d),
    }
    threads = [threading.Thread(target=task, args=item) for item in jobs.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    failed = {k: v for k, v in results.items() if isinstance(v, Exception)}
    assert not failed and set(results) == set(jobs), failed
    assert served(vendure, "fruit") == local(d)
    cat = results["catalogue"].catalogue
    assert {p.id for p in cat.products} == set(vendure.channels["fruit"].products)
    assert len({id(s) for s in used}) == len(jobs)  # one Session per thread, none shared


def test_rollback(vendure: VendureServer, tm_export: Path, tmp_path: Path) -> None:
    c = client_for(vendure)
    labels = fruit_labels(vendure)
    first = make_model(tmp_path, tm_export, c.channel.id, labels, "v-one")
    second = make_model(tmp_path, tm_export, c.channel.id, labels, "v-two")
    one = publish(c, first)
    publish(c, second)
    assert served(vendure, "fruit") == local(second)
    back = rollback(c, one.version)
    assert back["version"] == one.version and back["current"] is True
    assert served(vendure, "fruit") == local(first)
    assert [v["version"] for v in list_versions(c) if v["current"]] == [one.version]
    for bad, why in [
        ("20000101T000000000Z-abcdef", "does not exist"),
        ("../../../etc", "is not a model version"),
        (".versions", "is not a model version"),
    ]:
        with pytest.raises(PublishError, match=why):
            rollback(c, bad)
    assert served(vendure, "fruit") == local(first)


def test_old_versions_are_pruned(vendure: VendureServer, tm_export: Path, tmp_path: Path) -> None:
    c = client_for(vendure)
    for i in range(5):
        publish(c, make_model(tmp_path, tm_export, c.channel.id, fruit_labels(vendure), f"p{i}"))
    versions = list_versions(c)
    assert len(versions) == 3  # the test server keeps 3 (keepVersions)
    assert versions[0]["current"] and versions[0]["metadata"]["tag"] == "p4"
    assert len(list((vendure.model_dir("fruit") / ".versions").iterdir())) == 3


# ------------------------------------------------------------------ refusals


def test_user_without_permission_cannot_publish(
    vendure: VendureServer, baseline: Path, tm_export: Path, tmp_path: Path
) -> None:
    viewer = client_for(vendure, user="viewer")
    assert not viewer.channel.can_publish
    d = make_model(tmp_path, tm_export, viewer.channel.id, fruit_labels(vendure), "viewer")
    with pytest.raises(PermissionDenied, match="not allowed to publish models in channel “fruit”"):
        publish(viewer, d)
    with pytest.raises(PermissionDenied):
        rollback(viewer, "20000101T000000000Z-abcdef")
    assert fetch_catalogue(viewer).catalogue.products  # reading the catalogue is still fine
    assert served(vendure, "fruit") == local(baseline)


def test_other_channel_is_refused(
    vendure: VendureServer, baseline: Path, tm_export: Path, tmp_path: Path
) -> None:
    c = client_for(vendure)
    veg = vendure.channels["veg"]
    veg_labels = sorted(veg.products)
    # 1. trainer has no role on "veg": forging the channel token does not help
    c.channel = ChannelInfo(id=veg.id, code="veg", token=veg.token, permissions=[])
    d = make_model(tmp_path, tm_export, veg.id, veg_labels, "forged")
    with pytest.raises(PermissionDenied):
        publish(c, d)
    # 2. a model trained for "veg" uploaded to "fruit": refused locally...
    c.select_channel("fruit")
    with pytest.raises(PublishError, match=f"trained for channel id “{veg.id}”"):
        publish(c, d)
    # ...and by the server when the local check is bypassed
    reply = raw_upload(vendure, c._token, c.channel.token, local(d))
    assert reply["errors"][0]["extensions"]["code"] == "ML_MODEL_REJECTED"
    assert "not the active channel" in reply["errors"][0]["message"]
    # 3. a veg trainer cannot see or touch fruit at all
    vt = client_for(vendure, user="veg_trainer", channel="veg")
    with pytest.raises(ChannelAccessError):
        vt.select_channel("fruit")
    assert served(vendure, "fruit") == local(baseline)


def test_a_channel_deleted_while_the_app_works_in_it_is_said_so(vendure: VendureServer) -> None:
    """Vendure answers a channel token it does not know with CHANNEL_NOT_FOUND: the
    owner was to read "The channel no longer exists", a branch no test had reached (a
    mutation audit found it could be dropped unnoticed)."""
    c = client_for(vendure)
    c.channel = ChannelInfo(id="999999", code="gone", token="no-such-channel", permissions=[])
    with pytest.raises(ChannelAccessError, match="The channel no longer exists on "):
        fetch_catalogue(c)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("tampered", "weights.bin does not match the checksum"),
        ("nan", r"weights are damaged \(not finite numbers"),
        ("overflow", "test prediction is not a finite number"),
    ],
)
def test_damaged_weights_are_not_published(
    vendure: VendureServer,
    baseline: Path,
    tm_export: Path,
    tmp_path: Path,
    damage: str,
    message: str,
) -> None:
    """Issue 10, item 20: publish runs the one validator and a test prediction."""
    c = client_for(vendure)
    d = make_model(tmp_path, tm_export, c.channel.id, fruit_labels(vendure), damage)
    weights = bytearray((d / "weights.bin").read_bytes())
    write_weights(d, bytes(weights), rehash=True)  # metadata.json carries the checksum
    offset, _ = entry_offset(d, LAST_KERNEL)
    if damage == "tampered":
        weights[offset : offset + 4] = np.float32(0.25).tobytes()
        write_weights(d, bytes(weights), rehash=False)
    elif damage == "nan":
        weights[offset : offset + 4] = np.float32(np.nan).tobytes()
        write_weights(d, bytes(weights), rehash=True)
    else:
        overflowing(d)
    with pytest.raises(PublishError, match=message):
        publish(c, d)
    assert served(vendure, "fruit") == local(baseline)


def test_label_no_longer_in_channel(
    vendure: VendureServer, baseline: Path, tm_export: Path, tmp_path: Path
) -> None:
    c = client_for(vendure)
    veg_product = sorted(vendure.channels["veg"].products)[0]
    labels = fruit_labels(vendure)[:4] + [veg_product]
    d = make_model(tmp_path, tm_export, c.channel.id, labels, "stale")
    with pytest.raises(PublishError, match=rf"no longer products of channel .*{veg_product}"):
        publish(c, d)
    assert served(vendure, "fruit") == local(baseline)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("empty-weights", "weights.bin is empty"),
        ("bad-json", "model.json is not valid JSON"),
        ("no-topology", "no modelTopology"),
        ("short-weights", "bytes but model.json describes"),
        ("two-shards", "exactly one weights file"),
        ("path-trick", "exactly one weights file"),
        ("metadata-array", "metadata.json must contain a JSON object"),
        ("no-labels", "labels"),
        ("oversized-weights", "larger than the"),
        ("over-upload-limit", "did not complete"),
    ],
)
def test_server_rejects_malformed_uploads(
    vendure: VendureServer, baseline: Path, case: str, message: str
) -> None:
    c = client_for(vendure)
    files = local(baseline)
    model = json.loads(files["model.json"])
    if case == "empty-weights":
        files["weights.bin"] = b""
    elif case == "bad-json":
        files["model.json"] = b'{"modelTopology": '
    elif case == "no-topology":
        files["model.json"] = json.dumps({"weightsManifest": model["weightsManifest"]}).encode()
    elif case == "short-weights":
        files["weights.bin"] = files["weights.bin"][:-1]
    elif case in ("two-shards", "path-trick"):
        model["weightsManifest"][0]["paths"] = (
            ["weights.bin", "weights2.bin"] if case == "two-shards" else ["../../../x/weights.bin"]
        )
        files["model.json"] = json.dumps(model).encode()
    elif case == "metadata-array":
        files["metadata.json"] = b"[1, 2]"
    elif case == "no-labels":
        meta = json.loads(files["metadata.json"])
        meta["labels"] = []
        files["metadata.json"] = json.dumps(meta).encode()
    elif case == "oversized-weights":  # over the plugin's limit (4 MiB on the test server)
        files["weights.bin"] = b"\0" * (5 * 1024 * 1024)
    elif case == "over-upload-limit":  # over Vendure's uploadMaxFileSize (8 MiB here)
        files["weights.bin"] = b"\0" * (9 * 1024 * 1024)
    reply = raw_upload(vendure, c._token, c.channel.token, files)
    assert "errors" in reply, reply
    err = reply["errors"][0]
    assert err["extensions"]["code"] == "ML_MODEL_REJECTED", err
    assert message in err["message"], err["message"]
    assert served(vendure, "fruit") == local(baseline)
    _wait_for_empty_tmp(vendure)


def test_plugin_error_reaches_user_via_client(
    vendure: VendureServer, baseline: Path, tmp_path: Path
) -> None:
    """A server-side refusal surfaces as PublishError saying the old model stays."""
    c = client_for(vendure)
    d = tmp_path / "m"
    shutil.copytree(baseline, d)
    meta = json.loads((d / "metadata.json").read_text())
    meta["tag"] = "x" * (2 * 1024 * 1024)  # metadata over the plugin's 1 MiB cap
    (d / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(PublishError, match="metadata.json is larger .* still being served"):
        publish(c, d)
    assert served(vendure, "fruit") == local(baseline)


# ------------------------------------------------------------------ CLI


def _cli(argv: list[str]) -> int:
    from app.cli import main

    return main(argv)


def test_cli_publish_status_rollback(
    vendure: VendureServer, tm_export: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    user, password = vendure.users["trainer"]
    conn = ["--server", vendure.url, "--channel", "fruit", "--username", user]
    cid = vendure.channels["fruit"].id
    first = make_model(tmp_path, tm_export, cid, fruit_labels(vendure), "cli-1")
    second = make_model(tmp_path, tm_export, cid, fruit_labels(vendure), "cli-2")

    monkeypatch.setenv("DUKAHUB_TRAINER_PASSWORD", "wrong")
    assert _cli(["publish", str(first), *conn]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"Error: Wrong username or password for {vendure.url}."]

    monkeypatch.setenv("DUKAHUB_TRAINER_PASSWORD", password)
    assert _cli(["publish", str(first), *conn]) == 0
    v1 = capsys.readouterr().out.split("Published version ")[1].split()[0]
    assert _cli(["publish", str(second), *conn]) == 0
    capsys.readouterr()
    assert served(vendure, "fruit") == local(second)

    assert _cli(["status", *conn]) == 0
    out = capsys.readouterr().out
    when = format_when({"trainedAt": "2026-11-25T10:00:00Z"})
    assert f"serves a model trained {when} for 5 products" in out
    assert f"   {v1}  trained" in out

    assert _cli(["rollback", v1, *conn]) == 0
    assert f"now serves version {v1}" in capsys.readouterr().out
    assert served(vendure, "fruit") == local(first)

    assert _cli(["status", "--server", vendure.url, "--channel", "veg", "--username", user]) == 1
    assert "no access to channel “veg”" in capsys.readouterr().err


def test_cli_never_takes_password_argument() -> None:
    with pytest.raises(SystemExit):
        _cli(["status", "--server", "x", "--channel", "c", "--username", "u", "--password", "p"])


def test_opening_a_shop_source_downloads_its_catalogue(vendure: VendureServer) -> None:
    from app.core.flows.login import log_in
    from app.core.flows.open_source import open_source, shop_source

    user, password = vendure.users["trainer"]
    client = log_in(vendure.url, user, lambda: password)
    client.select_channel("fruit")
    opened = open_source(shop_source(client), client=client)
    cat = opened.base
    assert {p.id for p in cat.products} == set(vendure.channels["fruit"].products)
    assert cat.channel_id == vendure.channels["fruit"].id and cat.source == vendure.url
    assert opened.source.label == f"fruit on {vendure.url}" and not opened.failed
    client.close()


def test_mvp_layout_is_served_then_migrated(
    vendure: VendureServer, tm_export: Path, tmp_path: Path
) -> None:
    """A shop coming from the seed's MVP has a plain latest/ folder: keep serving it."""
    c = ShopClient(vendure.url)
    c.login(vendure.admin_user, vendure.admin_password)
    c.select_channel("legacy")
    labels = sorted(vendure.channels["legacy"].products, key=int)
    old = make_model(tmp_path, tm_export, c.channel.id, labels, "mvp")
    root = vendure.model_dir("legacy")
    assert not root.exists()
    shutil.copytree(old, root / "latest")
    assert served(vendure, "legacy") == local(old)
    # the README's recipe: one version for the three files, then each of them under it
    # (a tag per file, unknown under v/, sent a POS round the recipe for ever)
    base = f"{vendure.url}/assets/ml-models/{c.channel.id}"
    tag = requests.get(f"{base}/latest/metadata.json", timeout=10).headers["X-Ml-Model-Version"]
    for name in ("model.json", "weights.bin", "metadata.json"):
        r = requests.get(f"{base}/v/{tag}/{name}", timeout=10)
        assert r.status_code == 200 and r.content == (old / name).read_bytes(), name
        assert r.headers["X-Ml-Model-Version"] == tag
    assert requests.get(f"{base}/v/legacy-1-2/model.json", timeout=10).status_code == 404
    new = make_model(tmp_path, tm_export, c.channel.id, labels, "after-mvp")
    publish(c, new)
    assert served(vendure, "legacy") == local(new)
    assert (root / "latest").is_symlink()
    versions = list_versions(c)
    assert [v["metadata"]["tag"] for v in versions] == ["after-mvp", "mvp"]
    rollback(c, versions[1]["version"])
    assert served(vendure, "legacy") == local(old)
