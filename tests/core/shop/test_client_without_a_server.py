"""Shop client behaviour that needs no Vendure: URLs, transport failures, local checks."""

from __future__ import annotations

import http.server
import json
import math
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import keyring
import pytest
from memory_keyring import MemoryKeyring, memory_keyring, no_keyring  # noqa: F401 (fixtures)

from app.core import paths
from app.core.errors import (
    InsecureServerUrl,
    InvalidCredentials,
    ModelFilesError,
    NotAVendureServer,
    ServerRedirect,
    ServerTimeout,
    ServerUnreachable,
    SessionExpired,
    ShopError,
    TlsError,
)
from app.core.modelfiles import read_model_files
from app.core.shop import (
    ShopClient,
    fetch_catalogue,
    normalise_server_url,
    photos,
    sessions,
)


def test_server_url_normalisation() -> None:
    assert normalise_server_url("shop.example.com") == "https://shop.example.com"
    assert normalise_server_url("https://shop.example.com/admin-api/") == "https://shop.example.com"
    assert normalise_server_url(" http://127.0.0.1:3000 ") == "http://127.0.0.1:3000"
    assert normalise_server_url("http://[::1]:3000") == "http://[::1]:3000"
    assert normalise_server_url("duka.example.co.ke") == "https://duka.example.co.ke"
    assert normalise_server_url("https://dukā.example") == "https://dukā.example"  # IDN


@pytest.mark.parametrize(
    "url",
    [
        "not a url at all",
        "https://shop example.com",
        "shop.example.com:abc",
        "shop<1>",
        "https://[::1",
    ],
)
def test_an_address_that_is_none_gets_one_readable_line(url: str) -> None:
    """Not the HTTP library's "Failed to parse: Host … contains invalid character"."""
    with pytest.raises(ShopError, match="not a web address|no valid port") as err:
        normalise_server_url(url)
    assert "Failed to parse" not in str(err.value)


@pytest.mark.parametrize("url", ["http://shop.example.com", "http://192.168.1.10:3000"])
def test_plain_http_refused_unless_confirmed(url: str) -> None:
    with pytest.raises(InsecureServerUrl, match="unencrypted"):
        ShopClient(url)
    assert ShopClient(url, allow_insecure=True).server_url == url


@pytest.mark.parametrize(
    "url", ["http://localhost:3000", "http://127.0.0.1:3000", "http://[::1]:3000"]
)
def test_plain_http_allowed_for_loopback(url: str) -> None:
    assert ShopClient(url).api_url == url + "/admin-api"


@contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[int]:
    """A local HTTP server answering with ``handler`` for the block; its port."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield srv.server_address[1]
    finally:
        srv.shutdown()
        srv.server_close()


def send_body(
    handler: http.server.BaseHTTPRequestHandler, status: int, content_type: str, body: bytes
) -> None:
    """One whole answer of a test server's handler: status, type, length and body."""
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def answering(status: int, body: bytes) -> type[http.server.BaseHTTPRequestHandler]:
    """A handler answering every POST with ``status`` and an HTML ``body``."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            send_body(self, status, "text/html", body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_closed_port_is_unreachable() -> None:
    client = ShopClient(f"http://127.0.0.1:{_closed_port()}", timeout=2)
    with pytest.raises(ServerUnreachable, match="connection refused"):
        client.login("a", "b")


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    yield srv.getsockname()[1]
    srv.close()


def test_timeout_is_its_own_error(silent_server: int) -> None:
    client = ShopClient(f"http://127.0.0.1:{silent_server}", timeout=0.5)
    with pytest.raises(ServerTimeout, match="did not answer within 0.5 s"):
        client.login("a", "b")


@pytest.fixture
def html_server() -> Iterator[int]:
    with serving(answering(200, b"<html>Welcome to nginx</html>")) as port:
        yield port


def test_not_a_vendure_server(html_server: int) -> None:
    with pytest.raises(NotAVendureServer, match="not a Vendure Admin API"):
        ShopClient(f"http://127.0.0.1:{html_server}").login("a", "b")


def test_tls_failure(html_server: int) -> None:
    """https:// to a server that does not speak TLS: the handshake fails."""
    with pytest.raises(TlsError, match="No secure \\(HTTPS\\) connection") as err:
        ShopClient(f"https://127.0.0.1:{html_server}", timeout=3).login("a", "b")
    # what works: requests reads certifi's bundle or this file, not the system's store (a
    # security audit: the advice "install it in your system's trust store" changed nothing)
    assert "set the environment variable REQUESTS_CA_BUNDLE" in str(err.value)


def test_restore_without_remembered_session() -> None:
    assert ShopClient.restore("http://127.0.0.1:1") is None


def test_restore_with_garbage_token_file_is_none() -> None:
    (paths.config_dir() / "shop_sessions.json").write_text("not json")
    assert ShopClient.restore("http://127.0.0.1:1") is None


def test_requires_login_before_use() -> None:
    client = ShopClient("http://127.0.0.1:1")
    with pytest.raises(SessionExpired, match="Not logged in"):
        fetch_catalogue(client)


def test_error_classes_are_distinct() -> None:
    assert not issubclass(InvalidCredentials, ServerUnreachable)
    assert issubclass(ServerTimeout, ServerUnreachable) and issubclass(TlsError, ServerUnreachable)


# ------------------------------------------------------------------ local model checks


@pytest.fixture
def model_dir(tmp_path: Path, tm_export: Path) -> Path:
    for name in ("model.json", "weights.bin"):
        shutil.copy(tm_export / name, tmp_path / name)
    meta = {
        "channelId": "2",
        "labels": ["1", "2", "3", "4", "5"],
        "trainedAt": "2026-01-01T00:00:00Z",
    }
    (tmp_path / "metadata.json").write_text(json.dumps(meta))
    return tmp_path


def test_read_model_files_accepts_real_tfjs_export(model_dir: Path) -> None:
    read = read_model_files(model_dir)
    assert set(read.files) == {"model.json", "weights.bin", "metadata.json"}
    assert read.files["weights.bin"] == (model_dir / "weights.bin").read_bytes()
    assert read.metadata["labels"] == ["1", "2", "3", "4", "5"]


def _rewrite_model(d: Path, change) -> None:
    model = json.loads((d / "model.json").read_text())
    change(model)
    (d / "model.json").write_text(json.dumps(model))


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda d: (d / "weights.bin").write_bytes(b""), "is empty"),
        (lambda d: (d / "metadata.json").unlink(), "metadata.json is missing"),
        (lambda d: (d / "model.json").write_text("{nope"), "not valid JSON"),
        (
            lambda d: (d / "weights.bin").write_bytes((d / "weights.bin").read_bytes()[:-4]),
            "bytes but model.json describes",
        ),
        (
            lambda d: _rewrite_model(
                d, lambda m: m["weightsManifest"][0].update(paths=["../x.bin"])
            ),
            r"must reference exactly \['weights.bin'\]",
        ),
        (lambda d: (d / "metadata.json").write_text('{"labels": []}'), "labels"),
    ],
)
def test_read_model_files_rejects(model_dir: Path, breakage, message: str) -> None:
    breakage(model_dir)
    with pytest.raises(ModelFilesError, match=message):
        read_model_files(model_dir)


def test_read_model_files_counts_quantized_weights(model_dir: Path) -> None:
    """uint8-quantized entries take one byte per element, whatever their dtype says."""
    model = json.loads((model_dir / "model.json").read_text())
    entries = model["weightsManifest"][0]["weights"]
    for w in entries:
        w["quantization"] = {"dtype": "uint8", "min": -1.0, "scale": 0.01}
    (model_dir / "model.json").write_text(json.dumps(model))
    n = sum(math.prod(w["shape"]) for w in entries)
    (model_dir / "weights.bin").write_bytes(b"\x01" * n)
    read_model_files(model_dir)
    (model_dir / "weights.bin").write_bytes(b"\x01" * (n * 4))
    with pytest.raises(ModelFilesError, match="describes"):
        read_model_files(model_dir)


def test_shop_client_and_the_cli_login_import_without_qt() -> None:
    code = (
        "import sys; sys.modules['PySide6'] = None; "
        "import app.core.shop, app.core.flows.login, app.cli.login; print('ok')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[3],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
    )
    assert out.stdout.strip() == "ok", out.stderr


def test_session_file_permissions_helper(tmp_path: Path) -> None:
    sessions.save("https://x", sessions.SavedSession("t"))
    mode = stat.S_IMODE(sessions.sessions_path().stat().st_mode)
    assert mode == 0o600


class _Flaky(http.server.BaseHTTPRequestHandler):
    """Fails the first two GETs with 503, then serves a small JPEG."""

    hits: list[str] = []

    def do_GET(self) -> None:
        _Flaky.hits.append(self.path)
        if len(_Flaky.hits) <= 2:
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        send_body(self, 200, "image/jpeg", _jpeg())

    def log_message(self, *args: object) -> None:
        pass


def _jpeg() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buf, "JPEG")
    return buf.getvalue()


def test_image_download_retries_then_caches() -> None:
    _Flaky.hits = []
    with serving(_Flaky) as port:
        client = ShopClient(f"http://127.0.0.1:{port}")
        size = len(_jpeg())  # the listing's fileSize: a cached copy of another size is damaged
        asset = photos.ListedAsset("7", "/assets/source/ab/kiwi.jpg", size, "2026-01-01")
        session = photos.image_session(2)
        path, fetched = photos.cached_image(client, session, asset, None)
        assert fetched and path.read_bytes() == _jpeg() and len(_Flaky.hits) == 3
        assert photos.cached_image(client, session, asset, None) == (path, False)
        assert len(_Flaky.hits) == 3  # cache hit: no request
        changed = replace(asset, file_size=size + 1)  # same asset, new file: fetched again
        assert photos.cached_image(client, session, changed, None)[1] is True
        assert len(_Flaky.hits) == 4


# ------------------------------------------------------------------ redirects (issue 10, item 1)


class _Redirecting(http.server.BaseHTTPRequestHandler):
    """The Admin API answers 307 to another address; that address records what it gets."""

    received: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        _Redirecting.received.append((self.path, body))
        if self.path.startswith("/admin-api"):
            self.send_response(307)
            self.send_header("Location", f"http://127.0.0.1:{self.server.server_port}/collect")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = b'{"data": {"login": {"__typename": "CurrentUser", "channels": []}}}'
        send_body(self, 200, "application/json", data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def redirecting_server() -> Iterator[int]:
    _Redirecting.received = []
    with serving(_Redirecting) as port:
        yield port


def test_login_redirect_is_not_followed(redirecting_server: int) -> None:
    """A 307 would make requests re-send the password to the redirect's target."""
    client = ShopClient(f"http://127.0.0.1:{redirecting_server}")
    with pytest.raises(ServerRedirect) as err:
        client.login("owner", "s3cret-password")
    assert f"redirect to http://127.0.0.1:{redirecting_server}/collect; use that" in str(err.value)
    assert [path for path, _ in _Redirecting.received] == ["/admin-api"]
    assert not any(b"s3cret-password" in body for path, body in _Redirecting.received[1:])


def test_cli_redirect_is_one_line_and_exit_1(
    redirecting_server: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from app.cli import main

    monkeypatch.setenv("DUKAHUB_TRAINER_PASSWORD", "s3cret-password")
    url = f"http://127.0.0.1:{redirecting_server}"
    code = main(["status", "--server", url, "--channel", "fruit", "--username", "owner"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("Error: The server answered with a redirect to")
    assert [path for path, _ in _Redirecting.received] == ["/admin-api"]


# ------------------------------------------------------------------ credentials in the address (2)


@pytest.mark.parametrize(
    "url", ["https://owner:pa55word@shop.example", "http://owner@127.0.0.1:3000/admin-api"]
)
def test_address_with_credentials_is_refused(url: str) -> None:
    with pytest.raises(ShopError, match="contains a user name or password") as err:
        normalise_server_url(url)
    assert "pa55word" not in str(err.value) and "owner" not in str(err.value)
    with pytest.raises(ShopError, match="contains a user name or password"):
        ShopClient(url)


# ------------------------------------------------------------------ image size cap (4)


class _BigImage(http.server.BaseHTTPRequestHandler):
    """Serves 300 kB of 'image', with or without Content-Length (chunked)."""

    size = 300_000
    sent: list[int] = []

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        declared = "declared" in self.path
        if declared:
            self.send_header("Content-Length", str(self.size))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        block = b"\xff" * 16384
        sent = 0
        try:
            while sent < self.size:
                if declared:
                    self.wfile.write(block)
                else:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
                sent += len(block)
            if not declared:
                self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client hung up, as it should past the cap
            pass
        _BigImage.sent.append(sent)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("path", ["/assets/declared.jpg", "/assets/chunked.jpg"])
def test_image_over_the_cap_is_refused_and_not_kept(path: str) -> None:
    with serving(_BigImage) as port:
        client = ShopClient(f"http://127.0.0.1:{port}", max_image_bytes=100_000)
        asset = photos.ListedAsset("9", path, None, "2026-01-01T00:00:00.000Z")
        session = photos.image_session(1)
        with pytest.raises(ShopError, match="larger than 0.1 MB"):
            photos.cached_image(client, session, asset, None)
        assert not any(p.is_file() for p in paths.image_cache_dir().rglob("*"))
        client.max_image_bytes = 1_000_000
        got, fetched = photos.cached_image(client, session, asset, None)
        assert fetched and got.stat().st_size >= _BigImage.size


# ------------------------------------------------------------------ where the token is kept (5)


@pytest.mark.usefixtures("no_keyring")
def test_token_in_0600_file_without_a_keyring() -> None:
    assert sessions.store_description() == f"file {sessions.sessions_path()} (0600)"
    sessions.save("https://shop.example", sessions.SavedSession("tok-1", "owner"))
    stored = json.loads(sessions.sessions_path().read_text())
    assert stored["https://shop.example"]["token"] == "tok-1"
    assert stat.S_IMODE(sessions.sessions_path().stat().st_mode) == 0o600
    assert sessions.load("https://shop.example") == sessions.SavedSession("tok-1", "owner")
    sessions.forget("https://shop.example")
    assert sessions.load("https://shop.example") is None


@pytest.mark.usefixtures("no_keyring")
def test_two_processes_remembering_logins_at_once_keep_both() -> None:
    """The index was read, changed and written under a thread lock only: the app and a
    ``login`` on the command line saving at once lost one login (a data-loss audit). A
    second process reads the index under the file's lock, then writes its own login a
    moment later; this one's save waits for it instead of being written over."""
    script = (
        "import json, sys, time\n"
        "from app.core.locks import exclusive_lock\n"
        "from app.core.shop import sessions\n"
        "p = sessions.sessions_path()\n"
        "with exclusive_lock(p.with_suffix('.lock')):\n"
        "    index = sessions._read_index()\n"
        "    print('read', flush=True)\n"
        "    time.sleep(1.5)\n"
        "    index['https://a.example'] = {'username': 'a', 'store': 'file', 'token': 'ta'}\n"
        "    sessions._write_index(index)\n"
    )
    other = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "read"
        sessions.save("https://b.example", sessions.SavedSession("tb", "b"))
    finally:
        assert other.wait(30) == 0
    assert sessions.load("https://a.example") == sessions.SavedSession("ta", "a")
    assert sessions.load("https://b.example") == sessions.SavedSession("tb", "b")


@pytest.mark.usefixtures("memory_keyring")
def test_token_in_the_os_keyring_when_there_is_one() -> None:
    ring = keyring.get_keyring()
    assert isinstance(ring, MemoryKeyring)
    assert sessions.store_description().startswith("system keyring (")
    sessions.save("https://shop.example", sessions.SavedSession("tok-2", "owner", False))
    assert ring.store == {(sessions.KEYRING_SERVICE, "https://shop.example"): "tok-2"}
    assert "tok-2" not in sessions.sessions_path().read_text()  # only the index is on disk
    assert sessions.load("https://shop.example") == sessions.SavedSession("tok-2", "owner")
    sessions.forget("https://shop.example")
    assert ring.store == {} and sessions.load("https://shop.example") is None


def test_the_upload_body_sends_the_files_without_a_joined_copy() -> None:
    """A 5,000-product model's weights.bin is 27 MB: the multipart body reads the files
    where they are (the same bytes as one joined body), holding no second copy."""
    import tracemalloc

    from app.core.progress import Reporter
    from app.core.shop.publishing import UPLOAD, _MultipartBody

    weights = bytes(range(256)) * (40_000)  # 10 MB
    files = [("modelJson", "model.json", b"{}", "application/json")]
    files += [("weights", "weights.bin", weights, "application/octet-stream")]
    tracemalloc.start()
    try:
        body = _MultipartBody(UPLOAD, files, Reporter(None))
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert held < 100_000  # the parts as they are, not 10 MB more
    sent = b"".join(iter(lambda: body.read(8192), b""))
    assert len(sent) == len(body) and weights in sent
    assert sent.startswith(f"--{body.boundary}\r\n".encode())
    assert sent.endswith(f"--{body.boundary}--\r\n".encode())


def test_a_longer_file_of_another_version_is_a_publish_that_overtook_ours(monkeypatch) -> None:
    """Two computers publish at once: while ours is read back, the other is swapped in
    and its larger model.json is served with its own version. That is "another publish
    replaced yours", not a stale cache (CI once said "a cache or proxy" here)."""
    from app.core.errors import PublishError, PublishSuperseded
    from app.core.progress import Reporter
    from app.core.shop import publishing
    from app.core.shop.served import ServedFile

    files = {"model.json": b"{}", "weights.bin": b"w", "metadata.json": b"{}"}
    current = {
        "version": "ours",
        "files": [{"name": n, "sha256": h} for n, h in publishing.file_hashes(files).items()],
    }
    monkeypatch.setattr(publishing, "model_status", lambda client, what: {"current": current})

    class Client:
        def latest_url(self) -> str:
            return "http://shop.test/assets/ml-models/2/latest/"

    def verify(served_version: str) -> None:
        answer = ServedFile(200, served_version, 10_000, same=False, longer=True)
        monkeypatch.setattr(publishing, "compare_served", lambda *a: answer)
        publishing._verify_served(Client(), files, "ours", Reporter(None))

    with pytest.raises(PublishSuperseded, match="version theirs is served instead"):
        verify("theirs")
    with pytest.raises(PublishError, match="cache or proxy") as caught:
        verify("ours")  # our own version, longer: something in between holds another copy
    assert not isinstance(caught.value, PublishSuperseded)


class _ThreeHoursAhead(http.server.BaseHTTPRequestHandler):
    """Every answer dated by a server clock 3 hours ahead of this computer's."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        import email.utils

        return email.utils.formatdate(time.time() + 3 * 3600, usegmt=True)

    def _answer(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


def test_the_servers_clock_is_read_from_its_admin_api_answers_only() -> None:
    """``Date`` says how far the server's clock is from ours (``sync --debounce`` reads
    the server's change times by it); a GET may be a cached photo, dated when stored."""
    import datetime as dt

    with serving(_ThreeHoursAhead) as port:
        client = ShopClient(f"http://127.0.0.1:{port}")
        stamp = dt.datetime(2026, 12, 7, 15, tzinfo=dt.timezone.utc)
        client.request("GET", client.server_url + "/assets/a.jpg", what="a photo")
        assert client.clock.on_our_clock(stamp) == stamp  # said nothing of the server
        client.request("POST", client.api_url, what="a query", json={})
        gap = stamp - client.clock.on_our_clock(stamp)
        assert abs(gap - dt.timedelta(hours=3)) < dt.timedelta(seconds=5), gap


def test_a_redirect_from_https_to_http_is_not_offered_as_the_address_to_use() -> None:
    """The advice "use that address" led an owner behind such a proxy to log in over
    plain http (a security audit)."""
    import requests

    from app.core.shop.failures import redirect_failure

    resp = requests.Response()
    resp.url = "https://shop.example/admin-api"
    resp.headers["Location"] = "http://shop.example/admin-api"
    message = str(redirect_failure(resp, resp.url))
    assert "use that address" not in message
    assert "unencrypted one, http://shop.example/admin-api; the trainer does not follow" in message


def test_no_admin_api_at_its_path_says_where_it_was_asked_for() -> None:
    """An audit of deployments: "not a Vendure Admin API. Check the server address." for
    a Vendure whose Admin API has another path, which the address alone does not show."""
    # Express's 404 where a Vendure with another ``apiOptions.adminApiPath`` has none
    no_api = answering(404, b"<pre>Cannot POST /admin-api</pre>")
    said = "the trainer asks for it at /admin-api"
    with serving(no_api) as port, pytest.raises(NotAVendureServer, match=said):
        ShopClient(f"http://127.0.0.1:{port}").login("a", "b")


def test_all_channels_leaves_out_the_default_channel_only_beside_shops() -> None:
    """Vendure's default channel lists every channel's products: beside other channels a
    sync of it trained every shop into one model; on a one-shop server it is the shop."""
    from app.core.shop.channels import ChannelInfo, sync_targets

    def ch(code: str, perms: tuple[str, ...] = ("UploadMlModel",)) -> ChannelInfo:
        return ChannelInfo(id=code, code=code, token=code, permissions=list(perms))

    default = ch("__default_channel__", ("SuperAdmin",))
    assert sync_targets([default, ch("a"), ch("b")]) == (["a", "b"], ["__default_channel__"])
    assert sync_targets([default]) == (["__default_channel__"], [])
    # a default channel it may not publish to is neither synced nor reported
    assert sync_targets([ch("__default_channel__", ()), ch("a")]) == (["a"], [])
    assert sync_targets([ch("a", ()), default]) == (["__default_channel__"], [])
