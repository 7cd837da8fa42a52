"""Vendure as some shops deploy it (an audit of deployments, each reproduced on a real
Vendure 3.7 with our plugin): an asset route of their own, a lower list limit, another
name for the channel header. A server each, started for these tests (a few seconds)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from vendure_server.fixtures import (
    a_zone,
    build_server,
    create_channel,
    start_large_shop,
    start_server,
    stop_server,
)

from app.core.errors import ChannelAccessError
from app.core.shop import ShopClient

pytestmark = pytest.mark.slow
CODE = "shop"
PASSED = ("Authorization", "vendure-token", "Content-Type", "apollo-require-preflight")


@contextmanager
def proxy_refusing_over(limit: int, upstream: str) -> Iterator[str]:
    """A reverse proxy in front of ``upstream`` that answers HTTP 413 to a request body
    over ``limit`` bytes, as nginx does with its default ``client_max_body_size`` (1 MB)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if len(body) > limit:
                self.send_response(413)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            headers = {k: v for k in PASSED if (v := self.headers.get(k))}
            r = requests.request(
                self.command, upstream + self.path, data=body, headers=headers, timeout=60
            )
            self.send_response(r.status_code)
            for k in ("Content-Type", "vendure-auth-token"):
                if k in r.headers:
                    self.send_header(k, r.headers[k])
            self.send_header("Content-Length", str(len(r.content)))
            self.end_headers()
            self.wfile.write(r.content)

        do_GET = do_POST = forward

        def log_message(self, *args: object) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def test_a_shop_with_its_own_asset_route_and_a_list_limit_of_50(
    cli, base_weights: Path, tmp_path: Path
) -> None:
    """``AssetServerPlugin`` on ``/media``: every publish and sync said "404 … a cache or
    proxy may hold an old copy" of a model that was served, and ``status`` contradicted
    itself. ``adminListQueryLimit: 50``: every command ended in "Cannot take more than 50
    results from a list query"."""
    env = {"VENDURE_ASSET_ROUTE": "media", "VENDURE_ADMIN_LIST_LIMIT": "50"}
    proc, server = start_large_shop(tmp_path, CODE, 60, 60, env)
    try:
        login = ("--server", server.url, "--channel", CODE, "--username", server.admin_user)
        password = {"DUKAHUB_TRAINER_PASSWORD": server.admin_password}
        weights = ("--base-weights", str(base_weights))
        # behind a proxy that takes 1 MB a request: "the upload's answer was lost", and
        # 6 s of asking what the server serves, where the proxy had said "too large"
        with proxy_refusing_over(1_000_000, server.url) as proxy:
            via = ("--server", proxy, *login[2:])
            out = cli.run("sync", *via, *weights, env=password)
        assert out.returncode == 1
        assert "refused the upload of" in out.stderr and "(HTTP 413)" in out.stderr
        assert "client_max_body_size" in out.stderr
        out = cli.run("sync", *login, *weights, env=password)
        assert out.returncode == 0, out.stderr
        assert f"{CODE}: published" in out.stdout
        st = cli.run("status", *login, "--json", env=password)
        assert st.returncode == 0, st.stderr
        doc = json.loads(st.stdout)
        assert doc["location"].startswith(f"{server.url}/media/ml-models/")
        assert doc["served"]["products"] == 60 and doc["sinceServed"]["upToDate"]
        meta = requests.get(doc["location"] + "metadata.json", timeout=10).json()
        assert len(meta["labels"]) == 60  # where the POS loads it
    finally:
        stop_server(proc)


def test_a_server_that_reads_the_channel_from_another_header_is_said_so(
    tmp_path: Path,
) -> None:
    """``apiOptions.channelTokenKey: 'x-channel'``: the server ignored ``vendure-token``
    and answered for its default channel, so "train --channel shop" trained every
    channel's products and the publish was refused with a puzzle."""
    build_server()
    proc, server = start_server(tmp_path, extra_env={"VENDURE_CHANNEL_TOKEN_KEY": "x-channel"})
    try:
        api = server.admin()
        create_channel(server, api, CODE, a_zone(api))
        client = ShopClient(server.url)
        client.login(server.admin_user, server.admin_password)
        with pytest.raises(ChannelAccessError, match="apiOptions.channelTokenKey"):
            client.select_channel(CODE)
        assert client.channel is None  # nothing works in the wrong channel
    finally:
        stop_server(proc)
