"""The Vendure plugin's hardening (issue 10, items 6-14 and the plugin side of 20).

Everything runs against the real Vendure of ``tests/vendure_server/fixtures.py`` over
loopback HTTP. Each test publishes into a channel of its own (created here), so none
depends on another's order or disturbs the channels ``test_shop_server.py`` checks.
Uploads go through the raw GraphQL multipart request, so the plugin's own checks are
what is tested (not the trainer's local ones).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import shutil
import socket
import struct
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from vendure_server.fixtures import (
    AdminApi,
    SeededChannel,
    VendureServer,
    build_server,
    create_channel,
    start_server,
    stop_server,
)

pytestmark = pytest.mark.slow

FILES = ("model.json", "weights.bin", "metadata.json")
LABELS = ["1", "2", "3", "4", "5"]  # the reference export has five outputs
UPLOAD = (
    "mutation($m:Upload!,$w:Upload!,$d:Upload!){uploadMlModel("
    "modelJson:$m,weights:$w,metadata:$d){version files{name size sha256}}}"
)


# ------------------------------------------------------------------ helpers


@pytest.fixture(scope="module")
def admin(vendure: VendureServer) -> AdminApi:
    return vendure.admin()


@pytest.fixture
def channel(vendure: VendureServer, admin: AdminApi, request) -> SeededChannel:
    """A fresh channel for this test (the superadmin may publish to it)."""
    zone = next(
        z["id"]
        for z in admin.gql("{zones{items{id name}}}")["zones"]["items"]
        if z["name"] == "Kenya"
    )
    code = f"h-{request.node.name[:20]}-{secrets.token_hex(3)}".lower()
    code = "".join(c if c.isalnum() or c == "-" else "-" for c in code)
    admin.channel_token = ""
    return create_channel(vendure, admin, code, zone)


def make_files(tm_export: Path, channel_id: str, tag: str, **meta_extra) -> dict[str, bytes]:
    """A real TF.js layers model (the Teachable Machine reference), made unique by ``tag``.

    The first weight becomes a finite float derived from the tag, so two models differ
    in all three files and never hold a NaN by accident.
    """
    model = json.loads((tm_export / "model.json").read_text())
    model["generatedBy"] = f"dukahub-test {tag}"
    weights = bytearray((tm_export / "weights.bin").read_bytes())
    seed = int.from_bytes(hashlib.sha256(tag.encode()).digest()[:4], "little")
    weights[:4] = struct.pack("<f", (seed % 10_000) / 10_000)
    meta = {
        "version": "1.0.0",
        "trainedAt": "2026-11-25T10:00:00Z",
        "channelId": channel_id,
        "labels": LABELS,
        "imageSize": 224,
        "tag": tag,
        **meta_extra,
    }
    return {
        "model.json": json.dumps(model).encode(),
        "weights.bin": bytes(weights),
        "metadata.json": json.dumps(meta).encode(),
    }


def multipart(files: dict[str, bytes]) -> tuple[bytes, str]:
    """The GraphQL multipart request body of one uploadMlModel call, and its content type."""
    boundary = "dukahub-" + secrets.token_hex(12)
    ops = {"query": UPLOAD, "variables": {"m": None, "w": None, "d": None}}
    mapping = {"0": ["variables.m"], "1": ["variables.w"], "2": ["variables.d"]}
    out = bytearray()
    fields: list[tuple[str, str | None, bytes]] = [
        ("operations", None, json.dumps(ops).encode()),
        ("map", None, json.dumps(mapping).encode()),
    ] + [(str(i), name, files[name]) for i, name in enumerate(FILES)]
    for field, filename, data in fields:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"'.encode()
        if filename:
            out += f'; filename="{filename}"\r\nContent-Type: application/octet-stream'.encode()
        out += b"\r\n\r\n" + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def headers(admin: AdminApi, channel: SeededChannel) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {admin.token}",
        "vendure-token": channel.token,
        "apollo-require-preflight": "true",
    }


def upload(vendure: VendureServer, admin: AdminApi, ch: SeededChannel, files: dict) -> dict:
    """Returns the whole GraphQL reply (data or errors)."""
    body, ctype = multipart(files)
    r = requests.post(
        vendure.api,
        data=body,
        headers={**headers(admin, ch), "Content-Type": ctype},
        timeout=60,
    )
    return r.json()


def publish(vendure: VendureServer, admin: AdminApi, ch: SeededChannel, files: dict) -> str:
    reply = upload(vendure, admin, ch, files)
    assert "errors" not in reply, reply
    return reply["data"]["uploadMlModel"]["version"]


def gql(vendure: VendureServer, admin: AdminApi, ch: SeededChannel, query: str, variables=None):
    r = requests.post(
        vendure.api,
        json={"query": query, "variables": variables or {}},
        headers=headers(admin, ch),
        timeout=60,
    )
    return r.json()


def rejection(reply: dict) -> str:
    assert "errors" in reply, reply
    err = reply["errors"][0]
    assert err["extensions"]["code"] == "ML_MODEL_REJECTED", err
    return err["message"]


def url(vendure: VendureServer, ch: SeededChannel, rest: str) -> str:
    return f"{vendure.url}/assets/ml-models/{ch.id}/{rest}"


def served(vendure: VendureServer, ch: SeededChannel) -> dict[str, bytes | None]:
    out: dict[str, bytes | None] = {}
    for name in FILES:
        r = requests.get(url(vendure, ch, f"latest/{name}"), timeout=10)
        out[name] = r.content if r.status_code == 200 else None
    return out


def channel_dir(vendure: VendureServer, ch: SeededChannel) -> Path:
    return vendure.asset_dir / "ml-models" / ch.id


def raw_get(vendure: VendureServer, path: str) -> tuple[int, dict[str, str], bytes]:
    """GET exactly ``path`` (no client-side normalising of ``..`` or escapes)."""
    port = urlsplit(vendure.url).port
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    hdrs = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    return int(lines[0].split()[1]), hdrs, body


def http_body(response: bytes) -> bytes:
    """The body of a raw HTTP/1.1 response (plain or chunked)."""
    head, _, body = response.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" not in head.lower():
        return body
    out = b""
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, body = out + body[:size], body[size + 2 :]
    return out


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


def wait_for_log(vendure: VendureServer, needle: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        text = vendure.log_path.read_text(errors="replace")
        if needle in text or time.monotonic() > deadline:
            return text
        time.sleep(0.1)


# ------------------------------------------------------------------ 6: ETag and streaming


def test_revalidation_is_answered_without_reading_the_file(
    vendure: VendureServer, admin: AdminApi, channel: SeededChannel, tm_export: Path
) -> None:
    files = make_files(tm_export, channel.id, "etag")
    version = publish(vendure, admin, channel, files)
    weights_url = url(vendure, channel, "latest/weights.bin")
    first = requests.get(weights_url, timeout=10)
    assert first.status_code == 200 and first.content == files["weights.bin"]
    assert first.headers["Content-Length"] == str(len(files["weights.bin"]))
    etag = first.headers["ETag"]
    # the stored ETag is answered even with the file gone: proof it is not read for a 304
    stored = channel_dir(vendure, channel) / ".versions" / version / "weights.bin"
    aside = stored.with_name("weights.bin.aside")
    stored.rename(aside)
    try:
        again = requests.get(weights_url, headers={"If-None-Match": etag}, timeout=10)
        assert again.status_code == 304, again.status_code
        assert again.headers["ETag"] == etag and again.content == b""
        assert again.headers["X-Ml-Model-Version"] == version
    finally:
        aside.rename(stored)
    head = requests.head(weights_url, timeout=10)
    assert head.status_code == 200 and head.headers["Content-Length"] == str(
        len(files["weights.bin"])
    )


async def _slow_readers(port: int, path: str, n: int, on_all_waiting) -> list[bytes]:
    """``n`` connections that request ``path``, read only the headers, wait, then read all."""
    headers_in = asyncio.Event()
    got = 0

    async def one() -> bytes:
        nonlocal got
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a slow phone on a bad link
        sock.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
            reader, writer = await asyncio.open_connection(sock=sock)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head[:100]
            got += 1
            if got == n:
                headers_in.set()
            await headers_in.wait()
            await asyncio.sleep(0)  # let the sampler see everyone waiting
            await on_all_waiting()
            body = await reader.read()
            writer.close()
            return body
        finally:
            sock.close()

    return await asyncio.gather(*(one() for _ in range(n)))


def padded(files: dict[str, bytes], total: int) -> dict[str, bytes]:
    """The model with a zero-filled extra weight, so weights.bin holds ``total`` bytes.

    (The plugin checks sizes against the manifest, not the topology; the test server caps
    weights.bin at 4 MiB.)
    """
    model = json.loads(files["model.json"])
    extra = (total - len(files["weights.bin"])) // 4
    model["weightsManifest"][0]["weights"].append(
        {"name": "load_test_padding", "shape": [extra], "dtype": "float32"}
    )
    return {
        **files,
        "model.json": json.dumps(model).encode(),
        "weights.bin": files["weights.bin"] + bytes(4 * extra),
    }


def test_many_concurrent_downloads_use_little_server_memory(
    vendure: VendureServer, admin: AdminApi, channel: SeededChannel, tm_export: Path
) -> None:
    """200 concurrent GETs of weights.bin on loopback; records the server's RSS growth.

    The clients read the headers, then all hold their unread responses for a second (as
    slow phones would) before reading them to the end. Repeat with
    ``.venv/bin/python -m pytest tests/core/test_plugin_hardening.py -s -q -k concurrent``
    (prints the figure). Bounded: loopback only, 200 sockets, a 120 s timeout per round.
    """
    n = 200
    files = padded(make_files(tm_export, channel.id, "load"), 3_950_000)
    publish(vendure, admin, channel, files)
    path = f"/assets/ml-models/{channel.id}/latest/weights.bin"
    port = urlsplit(vendure.url).port
    assert port is not None
    size = len(files["weights.bin"])
    for _ in range(3):  # warm up (JIT, the cached manifest)
        assert requests.get(vendure.url + path, timeout=10).status_code == 200
    before = rss_kib(vendure.pid)
    peak = held = before
    holding, stop = threading.Event(), threading.Event()

    def sample() -> None:
        nonlocal peak, held
        while not stop.is_set():
            now = rss_kib(vendure.pid)
            peak = max(peak, now)
            if holding.is_set():
                held = max(held, now)
            time.sleep(0.005)

    async def hold() -> None:
        holding.set()
        await asyncio.sleep(1.0)  # every response is in flight and unread meanwhile
        holding.clear()

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    try:
        bodies = asyncio.run(asyncio.wait_for(_slow_readers(port, path, n, hold), 120))
    finally:
        stop.set()
        sampler.join(5)
    elapsed = time.monotonic() - started
    whole_files_mib = n * size / 2**20
    held_mib, peak_mib = (held - before) / 1024, (peak - before) / 1024
    print(
        f"\n[plugin load] {n} concurrent GETs of a {size / 2**20:.1f} MiB weights.bin in "
        f"{elapsed:.1f} s: server RSS {before / 1024:.0f} MiB before; growth while all "
        f"{n} responses were held unread {held_mib:.1f} MiB, peak growth over the run "
        f"{peak_mib:.1f} MiB (buffering every file would be {whole_files_mib:.0f} MiB)"
    )
    assert all(b == files["weights.bin"] for b in bodies)
    # streaming holds about one 64 KiB chunk per connection; buffering, the whole file
    assert held_mib < 0.1 * whole_files_mib, held_mib
    assert peak_mib < 0.2 * whole_files_mib, peak_mib


# ------------------------------------------------------------------ 7: CORS


def test_browser_on_another_origin_can_revalidate(
    vendure: VendureServer, admin: AdminApi, channel: SeededChannel, tm_export: Path
) -> None:
    version = publish(vendure, admin, channel, make_files(tm_export, channel.id, "cors"))
    origin = {"Origin": "http://pos.example:8080"}
    for rest in ("latest/model.json", f"v/{version}/weights.bin"):
        pre = requests.options(
            url(vendure, channel, rest),
            headers={
                **origin,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "if-none-match",
            },
            timeout=10,
        )
        assert pre.status_code == 204, (rest, pre.status_code)
        assert pre.headers["Access-Control-Allow-Origin"] == "*"
        assert "GET" in pre.headers["Access-Control-Allow-Methods"]
        assert "if-none-match" in pre.headers["Access-Control-Allow-Headers"].lower()
        r = requests.get(url(vendure, channel, rest), headers=origin, timeout=10)
        assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "*"
        exposed = {h.strip().lower() for h in r.headers["Access-Control-Expose-Headers"].split(",")}
        assert {"etag", "x-ml-model-version"} <= exposed
        assert r.headers["X-Ml-Model-Version"] == version
    # nothing else is opened up by a preflight
    bad = requests.options(url(vendure, channel, f".versions/{version}/weights.bin"), timeout=10)
    assert bad.status_code == 404


# ------------------------------------------------------------------ 8: pinned versions


def test_each_kept_version_has_an_immutable_url(
    vendure: VendureServer, admin: AdminApi, channel: SeededChannel, tm_export: Path
) -> None:
    old = make_files(tm_export, channel.id, "pin-old")
    new = make_files(tm_export, channel.id, "pin-new")
    v_old = publish(vendure, admin, channel, old)
    # the POS recipe: read latest/metadata.json, note its version, fetch the rest pinned
    meta = requests.get(url(vendure, channel, "latest/metadata.json"), timeout=10)
    pinned = meta.headers["X-Ml-Model-Version"]
    assert pinned == v_old and meta.content == old["metadata.json"]
    v_new = publish(vendure, admin, channel, new)  # a publish between the requests...
    for name in FILES:  # ...does not mix: the pinned files are still the old model's
        r = requests.get(url(vendure, channel, f"v/{pinned}/{name}"), timeout=10)
        assert r.status_code == 200 and r.content == old[name], name
        assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert r.headers["X-Ml-Model-Version"] == v_old
        etag = r.headers["ETag"]
        r304 = requests.get(
            url(vendure, channel, f"v/{pinned}/{name}"), headers={"If-None-Match": etag}, timeout=10
        )
        assert r304.status_code == 304
    assert served(vendure, channel) == new
    latest_meta = requests.get(url(vendure, channel, "latest/metadata.json"), timeout=10)
    assert latest_meta.headers["X-Ml-Model-Version"] == v_new
    assert requests.get(url(vendure, channel, f"v/{v_new}/metadata.json"), timeout=10).content == (
        latest_meta.content
    )
    # only the three model files of kept versions, nothing else
    for rest in [
        f"v/{v_old}/manifest.json",
        "v/20000101T000000000Z-abcdef/model.json",
        "v/latest/model.json",
        f"v/{v_old}/../../.versions/{v_old}/model.json",
        f"v/{v_old}",
    ]:
        status, _h, _b = raw_get(vendure, f"/assets/ml-models/{channel.id}/{rest}")
        assert status == 404, rest


def test_a_server_clock_set_back_never_prunes_the_newest_model(
    vendure: VendureServer, admin: AdminApi, channel: SeededChannel, tm_export: Path
) -> None:
    """Versions are named by the server's clock and pruned by name (3 kept here). Three
    versions named a day ahead (the clock since put right): the next publish was named
    older than them, and the one after it pruned it while the stale three stayed."""
    first = publish(vendure, admin, channel, make_files(tm_export, channel.id, "clock-0"))
    versions = channel_dir(vendure, channel) / ".versions"
    ahead = time.gmtime(time.time() + 86400)
    for i in range(3):  # stored while the clock was a day ahead: copies of a real version
        name = time.strftime("%Y%m%dT%H%M%S", ahead) + f"{i:03d}Z-00000{i}"
        shutil.copytree(versions / first, versions / name)
    before = publish(vendure, admin, channel, make_files(tm_export, channel.id, "clock-1"))
    after = publish(vendure, admin, channel, make_files(tm_export, channel.id, "clock-2"))
    kept = sorted((p.name for p in versions.iterdir()), reverse=True)
    assert kept[:2] == [after, before], kept  # the newest two, the newest first
    status = gql(vendure, admin, channel, "{mlModel{current{version}}}")["data"]["mlModel"]
    assert status["current"]["version"] == after


# ------------------------------------------------------------------ 9: manifest


def test_status_and_rollback_read_the_manifest_not_the_files(
    vendure: VendureServer, admin: AdminApi, channel: SeededChannel, tm_export: Path
) -> None:
    one = make_files(tm_export, channel.id, "man-1")
    two = make_files(tm_export, channel.id, "man-2")
    v1 = publish(vendure, admin, channel, one)
    publish(vendure, admin, channel, two)
    vdir = channel_dir(vendure, channel) / ".versions" / v1
    manifest = json.loads((vdir / "manifest.json").read_text())
    want = {n: hashlib.sha256(one[n]).hexdigest() for n in FILES}
    assert {f["name"]: f["sha256"] for f in manifest["files"]} == want
    # same size, other bytes: a status that re-hashed the files would now report them
    weights = vdir / "weights.bin"
    weights.write_bytes(b"\x01" * weights.stat().st_size)
    status = gql(vendure, admin, channel, "{mlModel{versions{version files{name size sha256}}}}")[
        "data"
    ]["mlModel"]
    listed = next(v for v in status["versions"] if v["version"] == v1)
    assert {f["name"]: f["sha256"] for f in listed["files"]} == want
    back = gql(
        vendure,
        admin,
        channel,
        "mutation($v:String!){rollbackMlModel(version:$v){version current files{name sha256}}}",
        {"v": v1},
    )["data"]["rollbackMlModel"]
    assert back["current"] and {f["name"]: f["sha256"] for f in back["files"]} == want
    # a version whose files are gone is refused, not served
    (vdir / "model.json").unlink()
    publish(vendure, admin, channel, make_files(tm_export, channel.id, "man-3"))
    reply = gql(
        vendure,
        admin,
        channel,
        "mutation($v:String!){rollbackMlModel(version:$v){version}}",
        {"v": v1},
    )
    assert "is incomplete on the server" in rejection(reply)


def test_rollback_refuses_a_version_its_manifest_does_not_cover(
    vendure: VendureServer, admin: AdminApi, channel: SeededChannel, tm_export: Path
) -> None:
    """Issue 20, class 9: versions put in place by hand (so the server has no manifest of
    them in memory): one whose manifest lists no files and whose weights are cut short,
    one cut short without a manifest (which the plugin rebuilds from the files)."""
    one = make_files(tm_export, channel.id, "cover-1")
    meta = json.loads(one["metadata.json"])
    meta["weightsSha256"] = hashlib.sha256(one["weights.bin"]).hexdigest()
    one["metadata.json"] = json.dumps(meta).encode()
    v1 = publish(vendure, admin, channel, one)
    v2 = publish(vendure, admin, channel, make_files(tm_export, channel.id, "cover-2"))
    versions = channel_dir(vendure, channel) / ".versions"
    rollback = "mutation($v:String!){rollbackMlModel(version:$v){version}}"
    for name, manifest in (
        ("20000101T000000000Z-aaaaaa", {"format": 1, "createdAt": "2000-01-01", "files": []}),
        ("20000101T000000000Z-bbbbbb", None),
    ):
        shutil.copytree(versions / v1, versions / name)
        (versions / name / "weights.bin").write_bytes(one["weights.bin"][:1000])
        if manifest is None:
            (versions / name / "manifest.json").unlink()
        else:
            (versions / name / "manifest.json").write_text(json.dumps(manifest))
        reply = gql(vendure, admin, channel, rollback, {"v": name})
        assert "cannot be served" in rejection(reply), name
    status = gql(vendure, admin, channel, "{mlModel{current{version}}}")
    assert status["data"]["mlModel"]["current"]["version"] == v2
    assert served(vendure, channel)["metadata.json"] != one["metadata.json"]


# ------------------------------------------------------------------ 10: slow uploads


def test_slow_upload_survives_another_publish_cleanup(
    vendure: VendureServer, admin: AdminApi, channel: SeededChannel, tm_export: Path
) -> None:
    slow = make_files(tm_export, channel.id, "slow")
    body, ctype = multipart(slow)
    cut = body.index(slow["metadata.json"]) + 20  # stall inside the last file
    head = (
        f"POST /admin-api HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ctype}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in headers(admin, channel).items())
        + "\r\n"
    ).encode()
    tmp_root = channel_dir(vendure, channel) / ".tmp"
    with socket.create_connection(("127.0.0.1", urlsplit(vendure.url).port), timeout=60) as s:
        s.sendall(head + body[:cut])
        deadline = time.monotonic() + 20
        receiving: list[Path] = []
        while time.monotonic() < deadline and not receiving:
            receiving = [d for d in tmp_root.glob("upload-*") if (d / "metadata.json").exists()]
            time.sleep(0.05)
        assert len(receiving) == 1, list(tmp_root.glob("*"))
        # pretend it has been receiving for two hours: folder and files look stale
        old = time.time() - 2 * 3600
        for p in [*receiving[0].iterdir(), receiving[0]]:
            os.utime(p, (old, old))
        other = publish(vendure, admin, channel, make_files(tm_export, channel.id, "quick"))
        assert receiving[0].is_dir(), "the live upload's folder was removed by the cleanup"
        s.sendall(body[cut:])
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    payload = json.loads(http_body(reply))
    assert "errors" not in payload, payload
    assert payload["data"]["uploadMlModel"]["version"] > other
    assert served(vendure, channel) == slow


def test_stale_upload_folders_are_aged_by_their_newest_file(
    vendure: VendureServer, admin: AdminApi, channel: SeededChannel, tm_export: Path
) -> None:
    publish(vendure, admin, channel, make_files(tm_export, channel.id, "tmp-0"))
    tmp_root = channel_dir(vendure, channel) / ".tmp"
    old = time.time() - 2 * 3600
    stale, busy = tmp_root / "upload-stale1", tmp_root / "upload-busy01"
    for d in (stale, busy):
        d.mkdir()
        (d / "weights.bin").write_bytes(b"x")
    os.utime(stale / "weights.bin", (old, old))
    for d in (stale, busy):  # the folders' own mtime is old: only busy's file is fresh
        os.utime(d, (old, old))
    publish(vendure, admin, channel, make_files(tm_export, channel.id, "tmp-1"))
    assert not stale.exists()
    assert busy.is_dir(), "an upload another server process is still writing was removed"
    shutil.rmtree(busy)


# ------------------------------------------------------------------ 11: stray links, missing latest


def test_stray_latest_links_are_swept_and_missing_latest_serves_newest(
    vendure: VendureServer, admin: AdminApi, channel: SeededChannel, tm_export: Path
) -> None:
    first = make_files(tm_export, channel.id, "stray-1")
    publish(vendure, admin, channel, first)
    root = channel_dir(vendure, channel)
    crashed, fresh = root / ".latest-0123456789ab", root / ".latest-ba9876543210"
    os.symlink(".versions/gone", crashed)
    os.symlink(".versions/gone", fresh)
    old = time.time() - 600
    os.utime(crashed, (old, old), follow_symlinks=False)
    second = make_files(tm_export, channel.id, "stray-2")
    v2 = publish(vendure, admin, channel, second)
    assert not os.path.lexists(crashed), "a .latest-* link left by a crash was not removed"
    assert os.path.lexists(fresh)  # may be another server process's swap in progress
    fresh.unlink()

    # the moment of the MVP migration (or a crash in it): no `latest` at all
    (root / "latest").unlink()
    r = requests.get(url(vendure, channel, "latest/model.json"), timeout=10)
    assert r.status_code == 200 and r.content == second["model.json"]
    assert r.headers["X-Ml-Model-Version"] == v2
    assert served(vendure, channel) == second
    status = gql(vendure, admin, channel, "{mlModel{current{version}}}")["data"]["mlModel"]
    assert status["current"]["version"] == v2


# ------------------------------------------------------------------ 12: no server paths to clients


def test_file_system_errors_reach_the_client_only_as_a_reference(
    vendure: VendureServer, admin: AdminApi, channel: SeededChannel, tm_export: Path
) -> None:
    root = channel_dir(vendure, channel)
    root.mkdir(parents=True)
    (root / ".tmp").write_text("not a folder")  # mkdir .tmp fails with EEXIST + its path
    reply = upload(vendure, admin, channel, make_files(tm_export, channel.id, "fs-error"))
    err = reply["errors"][0]
    message = err["message"]
    assert str(vendure.asset_dir) not in message and "EEXIST" not in message, message
    assert err["extensions"]["code"] == "ML_MODEL_SERVER_ERROR", err
    ref = err["extensions"]["reference"]
    assert f"reference {ref}" in message
    log = wait_for_log(vendure, f"reference {ref}")
    line = next(ln for ln in log.splitlines() if f"reference {ref}" in ln)
    assert "EEXIST" in line and str(root / ".tmp") in line, line
    (root / ".tmp").unlink()

    # the public route: a broken stored file is a 500 with a reference, never a path
    version = publish(vendure, admin, channel, make_files(tm_export, channel.id, "fs-ok"))
    weights = root / ".versions" / version / "weights.bin"
    weights.unlink()
    os.symlink("weights.bin", weights)  # a loop: open() fails with ELOOP
    status, hdrs, body = raw_get(vendure, f"/assets/ml-models/{channel.id}/latest/weights.bin")
    assert status == 500 and b"reference" in body, (status, body)
    assert str(vendure.asset_dir).encode() not in body and b"ELOOP" not in body
    ref = body.decode().split("reference ")[1].split(")")[0]
    assert "ELOOP" in wait_for_log(vendure, f"(reference {ref})")


# ------------------------------------------------------------------ 13: asset server options


def _start_with(tmp_path: Path, **env: str):
    build_server()  # as the session fixture does (these tests do not need its server)
    return start_server(tmp_path, extra_env=env, expect_failure=True)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ML_MODEL_ASSET_DIR": "/srv/elsewhere"}, "is not the AssetServerPlugin's assetUploadDir"),
        ({"ML_MODEL_ASSET_ROUTE": "media"}, "is not the AssetServerPlugin's route"),
    ],
)
def test_mismatch_with_asset_server_refuses_to_start(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    proc, server = _start_with(tmp_path, **env)
    try:
        assert proc.returncode not in (None, 0), "the server started despite the mismatch"
        log = server.log_path.read_text(errors="replace")
        assert "MlModelPlugin: " in log and message in log, log[-2000:]
    finally:
        stop_server(proc)


@pytest.mark.parametrize("how", ["inherit", "same-folder-via-symlink"])
def test_options_default_to_the_asset_servers(tmp_path: Path, tm_export: Path, how: str) -> None:
    """Left out, the folder and route are the AssetServerPlugin's; the same ones, spelt
    differently (a symlink to the folder, slashes around the route), are accepted."""
    if how == "inherit":
        env = {"ML_MODEL_ASSET_DIR": "inherit", "ML_MODEL_ASSET_ROUTE": "inherit"}
    else:
        (tmp_path / "assets-link").symlink_to(tmp_path / "assets")  # start_server creates it
        env = {
            "ML_MODEL_ASSET_DIR": str(tmp_path / "assets-link"),
            "ML_MODEL_ASSET_ROUTE": "/assets/",
        }
    proc, server = _start_with(tmp_path, **env)
    try:
        assert proc.returncode is None, server.log_path.read_text(errors="replace")[-2000:]
        default = server.admin().gql("{activeChannel{id token}}")["activeChannel"]
        api = server.admin()
        ch = SeededChannel(
            code="__default_channel__", id=str(default["id"]), token=default["token"]
        )
        files = make_files(tm_export, ch.id, "inherit")
        version = publish(server, api, ch, files)
        assert served(server, ch) == files
        assert (server.asset_dir / "ml-models" / ch.id / ".versions" / version).is_dir()
        status, hdrs, _ = raw_get(
            server, f"/assets/ml-models/{ch.id}/.versions/{version}/model.json"
        )
        assert status == 404 and hdrs["cache-control"] == "no-cache"
    finally:
        stop_server(proc)


@pytest.mark.parametrize(
    "name",
    [
        "ml-models\\{cid}\\.versions\\{v}\\weights.bin",  # what Windows would join as a path
        "ml-models.\\{cid}\\.versions\\{v}\\weights.bin",  # Windows drops trailing dots
    ],
)
def test_backslash_paths_never_reach_the_asset_server(
    vendure: VendureServer, admin: AdminApi, channel: SeededChannel, tm_export: Path, name: str
) -> None:
    """On Windows `%5C` is a path separator to the AssetServerPlugin.

    This Linux server stands in for one: a file whose *name* is that Windows path is
    exactly what the AssetServerPlugin would open there; it must never be served.
    """
    version = publish(vendure, admin, channel, make_files(tm_export, channel.id, "bs"))
    literal = name.format(cid=channel.id, v=version)
    stand_in = vendure.asset_dir / literal
    stand_in.write_bytes(b"internal file")
    try:
        encoded = literal.replace("\\", "%5C")
        status, hdrs, body = raw_get(vendure, f"/assets/{encoded}")
        assert status == 404 and body != b"internal file", (status, hdrs)
        mixed = f"/assets/ml-models/{channel.id}%5Clatest%5Cmodel.json"
        assert raw_get(vendure, mixed)[0] == 404
    finally:
        stand_in.unlink()


# ------------------------------------------------------------------ 20: checksum and finite weights


def test_weights_must_match_their_checksum(
    vendure: VendureServer, admin: AdminApi, channel: SeededChannel, tm_export: Path
) -> None:
    good = make_files(tm_export, channel.id, "sum-good")
    good_meta = json.loads(good["metadata.json"])
    good_meta["weightsSha256"] = hashlib.sha256(good["weights.bin"]).hexdigest()
    good["metadata.json"] = json.dumps(good_meta).encode()
    publish(vendure, admin, channel, good)

    tampered = dict(good)
    w = bytearray(good["weights.bin"])
    w[100:104] = struct.pack("<f", 0.5)  # same size, still finite
    tampered["weights.bin"] = bytes(w)
    reply = upload(vendure, admin, channel, tampered)
    assert "weights.bin does not match its checksum" in rejection(reply)

    for bad in (good_meta["weightsSha256"].upper(), "abc", 42):
        meta = {**good_meta, "weightsSha256": bad}
        reply = upload(
            vendure, admin, channel, {**good, "metadata.json": json.dumps(meta).encode()}
        )
        assert "weightsSha256" in rejection(reply), bad
    assert served(vendure, channel) == good


def _float16_model(files: dict[str, bytes], scale: object = None) -> dict[str, bytes]:
    """The same topology with float16 weights (or uint8 with ``scale``), all finite zeros."""
    model = json.loads(files["model.json"])
    n = 0
    for group in model["weightsManifest"]:
        for w in group["weights"]:
            count = 1
            for d in w["shape"]:
                count *= d
            n += count
            if scale is None:
                w["quantization"] = {"dtype": "float16", "original_dtype": "float32"}
            else:
                w["quantization"] = {"dtype": "uint8", "scale": scale, "min": 0.0}
    width = 2 if scale is None else 1
    text = json.dumps(model).replace('"__INF__"', "1e999")  # JSON for +Infinity in JS
    return {**files, "model.json": text.encode(), "weights.bin": bytes(n * width)}


@pytest.mark.parametrize("case", ["nan32", "inf32", "neg-inf32", "inf16", "nan16", "inf-scale"])
def test_non_finite_weights_are_refused(
    vendure: VendureServer,
    admin: AdminApi,
    channel: SeededChannel,
    tm_export: Path,
    case: str,
) -> None:
    base = make_files(tm_export, channel.id, f"finite-{case}")
    publish(vendure, admin, channel, base)
    if case.endswith("32"):
        w = bytearray(base["weights.bin"])
        value = {"nan32": float("nan"), "inf32": float("inf"), "neg-inf32": float("-inf")}[case]
        at = len(w) // 2 // 4 * 4  # somewhere in the middle, on a float boundary
        w[at : at + 4] = struct.pack("<f", value)
        bad = {**base, "weights.bin": bytes(w)}
    elif case.endswith("16"):
        half = _float16_model(base)
        publish(vendure, admin, channel, half)  # finite float16 weights are fine
        base = half
        w = bytearray(half["weights.bin"])
        w[-2:] = struct.pack("<e", float("inf") if case == "inf16" else float("nan"))
        bad = {**half, "weights.bin": bytes(w)}
    else:
        publish(vendure, admin, channel, _float16_model(base, scale=0.01))  # finite uint8: fine
        base = _float16_model(base, scale=0.01)
        bad = _float16_model(base, scale="__INF__")
    message = rejection(upload(vendure, admin, channel, bad))
    assert ("NaN or infinite" in message) or ("non-finite quantization scale" in message), message
    assert served(vendure, channel) == base


# ------------------------------------------------------------------ an audit of the plugin


@pytest.mark.parametrize("rest", ["{v}/manifest.json", "{v}/weights.bin", "../latest/model.json"])
def test_paths_the_asset_server_would_clean_into_ml_models_are_not_served(
    vendure: VendureServer, admin: AdminApi, channel: SeededChannel, tm_export: Path, rest: str
) -> None:
    """The AssetServerPlugin strips `..\\` until none is left: `...\\.\\ml-models/…` became
    `ml-models/…` there, after our middleware had passed it on (its first part is
    `...`), and the internal files were served with a 180-day cache lifetime."""
    version = publish(vendure, admin, channel, make_files(tm_export, channel.id, "sneak"))
    inner = f"ml-models/{channel.id}/.versions/" + rest.format(v=version)
    for prefix in ("...%5C.%5C", "...%5C./", "....%5C%5C"):
        status, hdrs, body = raw_get(vendure, f"/assets/{prefix}{inner}")
        assert status == 404, (prefix, status, hdrs)
        assert "max-age=15552000" not in hdrs.get("cache-control", ""), prefix
    # a product photo's own path is untouched
    assert raw_get(vendure, "/assets/...%5C.%5Cno-such-photo.jpg")[0] == 404


def test_labels_must_match_the_outputs_one_to_one(
    vendure: VendureServer, admin: AdminApi, channel: SeededChannel, tm_export: Path
) -> None:
    """The POS names output i labels[i]: 3 or 9 labels for 5 outputs named the wrong
    products, and a product twice split its probability."""
    good = make_files(tm_export, channel.id, "labels-good")
    publish(vendure, admin, channel, good)
    for labels, says in (
        (LABELS[:3], "has 5 outputs but metadata.json lists 3 labels"),
        (LABELS + ["6", "7", "8", "9"], "has 5 outputs but metadata.json lists 9 labels"),
        (["1", "2", "3", "4", "1"], 'lists product id "1" twice'),
    ):
        bad = make_files(tm_export, channel.id, f"labels-{len(labels)}")
        meta = {**json.loads(bad["metadata.json"]), "labels": labels}
        reply = upload(vendure, admin, channel, {**bad, "metadata.json": json.dumps(meta).encode()})
        assert says in rejection(reply), labels
    assert served(vendure, channel) == good


def test_the_fields_the_pos_acts_on_are_checked(
    vendure: VendureServer, admin: AdminApi, channel: SeededChannel, tm_export: Path
) -> None:
    """Stored and served as they were: ``acceptThreshold: -5`` (every product added
    without asking), ``"0.9"`` (a string), ``imageSize`` of a million or -1, a label of
    5,000 characters (the till's photos then refused every prediction)."""
    good = make_files(tm_export, channel.id, "fields-good")
    publish(vendure, admin, channel, good)
    for i, (change, says) in enumerate(
        (
            ({"acceptThreshold": -5}, '"acceptThreshold" must be a number from 0 to 1'),
            ({"acceptThreshold": "0.9"}, '"acceptThreshold" must be a number from 0 to 1'),
            ({"acceptThreshold": 1.5}, '"acceptThreshold" must be a number from 0 to 1'),
            ({"imageSize": 1_000_000}, '"imageSize" must be a whole number of pixels'),
            ({"imageSize": -1}, '"imageSize" must be a whole number of pixels'),
            ({"labels": ["1", "2", "3", "4", "x" * 5000]}, "longer than 64 characters"),
        )
    ):
        bad = make_files(tm_export, channel.id, f"fields-{i}")
        meta = {**json.loads(bad["metadata.json"]), **change}
        reply = upload(vendure, admin, channel, {**bad, "metadata.json": json.dumps(meta).encode()})
        assert says in rejection(reply), change
    assert served(vendure, channel) == good
    for fine in ({"acceptThreshold": 1.01}, {"acceptThreshold": None}, {"acceptThreshold": 0.9}):
        ok = make_files(tm_export, channel.id, f"fields-ok-{fine['acceptThreshold']}")
        meta = {**json.loads(ok["metadata.json"]), **fine}
        publish(vendure, admin, channel, {**ok, "metadata.json": json.dumps(meta).encode()})


def test_deeply_nested_metadata_is_refused_and_status_keeps_working(
    vendure: VendureServer, admin: AdminApi, channel: SeededChannel, tm_export: Path
) -> None:
    """20,000 nested arrays were stored; then every status query of the channel (and so
    the trainer's next publish, which asks first) failed with a stack overflow."""
    good = make_files(tm_export, channel.id, "deep-good")
    publish(vendure, admin, channel, good)
    bad = make_files(tm_export, channel.id, "deep")
    text = bad["metadata.json"].decode()[:-1] + ', "notes": ' + "[" * 20000 + "]" * 20000 + "}"
    reply = upload(vendure, admin, channel, {**bad, "metadata.json": text.encode()})
    assert "nests more than 32 levels deep" in rejection(reply)
    status = gql(vendure, admin, channel, "{mlModel{current{version} versions{metadata}}}")
    assert "errors" not in status, status
    assert served(vendure, channel) == good


def test_latest_etag_changes_with_the_version_even_for_the_same_metadata(
    vendure: VendureServer, admin: AdminApi, channel: SeededChannel, tm_export: Path
) -> None:
    """Two versions with a byte-identical metadata.json (another client's, without
    weightsSha256): revalidating latest/metadata.json answered 304 although the weights
    had changed, and the POS recipe reads a 304 as "nothing changed"."""
    first = make_files(tm_export, channel.id, "same-meta")
    publish(vendure, admin, channel, first)
    meta_url = url(vendure, channel, "latest/metadata.json")
    etag = requests.get(meta_url, timeout=10).headers["ETag"]
    second = make_files(tm_export, channel.id, "same-meta-other-weights")
    second["metadata.json"] = first["metadata.json"]
    publish(vendure, admin, channel, second)
    again = requests.get(meta_url, headers={"If-None-Match": etag}, timeout=10)
    assert again.status_code == 200 and again.headers["ETag"] != etag
    assert (
        requests.get(url(vendure, channel, "latest/weights.bin"), timeout=10).content
        == (second["weights.bin"])
    )


def test_deleting_the_channel_deletes_its_models(
    vendure: VendureServer, admin: AdminApi, channel: SeededChannel, tm_export: Path
) -> None:
    """A deleted channel's model stayed public, and a new channel given the same id by
    the database would have served it."""
    publish(vendure, admin, channel, make_files(tm_export, channel.id, "gone"))
    folder = channel_dir(vendure, channel)
    assert folder.exists()
    admin.channel_token = ""
    deleted = admin.gql("mutation($id:ID!){deleteChannel(id:$id){result}}", {"id": channel.id})
    assert deleted["deleteChannel"]["result"] == "DELETED"
    deadline = time.monotonic() + 10  # the event is handled after the mutation answers
    while folder.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not folder.exists()
    assert (
        requests.get(url(vendure, channel, "latest/metadata.json"), timeout=10).status_code == 404
    )
