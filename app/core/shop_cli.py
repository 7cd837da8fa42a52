"""Command-line side of the shop client: ``publish``, ``status``, ``rollback`` subcommands.

The lead's ``app/cli.py`` calls :func:`add_shop_arguments` on its subparsers; each command
function returns an exit code and prints one clear line on a known error. The password
comes from ``DUKAHUB_TRAINER_PASSWORD`` or a prompt, never from the command line (it would
be visible in the process list and the shell history).
"""

from __future__ import annotations

import argparse
import getpass
import math
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from .catalog import Catalog
from .errors import TrainerError
from .progress import Progress, ProgressHook
from .shop import ShopClient, fetch_catalog, list_versions, publish, rollback
from .shop.transport import REQUEST_DEADLINE_S

PASSWORD_ENV = "DUKAHUB_TRAINER_PASSWORD"


def add_connection_arguments(p: argparse.ArgumentParser) -> None:
    """--server/--channel/--username(/--insecure), shared with ``train --server``."""
    p.add_argument("--server", required=True, help="shop server address, e.g. https://shop.example")
    p.add_argument("--channel", required=True, help="channel code")
    p.add_argument(
        "--username",
        help=f"password from ${PASSWORD_ENV} or a prompt; not needed with a remembered session",
    )
    p.add_argument(
        "--insecure",
        action="store_true",
        help="allow plain http:// to a server that is not this machine",
    )
    add_timeout_argument(p)


def add_timeout_argument(p: argparse.ArgumentParser) -> None:
    """--timeout SECONDS: the longest one request to the server may take in all."""
    p.add_argument(
        "--timeout",
        type=_seconds,
        default=REQUEST_DEADLINE_S,
        metavar="SECONDS",
        help="the longest one request to the server may take, its answer included "
        f"(default {REQUEST_DEADLINE_S:g}; photos and the upload get at least 10 minutes)",
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, not {text!r}") from None
    if not math.isfinite(value) or not 1 <= value <= 86400:
        raise argparse.ArgumentTypeError(f"must be from 1 to 86400 seconds, not {text}")
    return value


def add_shop_arguments(subparsers: argparse._SubParsersAction) -> None:
    """Registers ``publish``, ``status`` and ``rollback``; each sets ``func``.

    ``app.cli.main`` turns their exceptions into the exit code and one message line.
    """
    p = subparsers.add_parser("publish", help="upload an exported model to a shop channel")
    p.add_argument("model_dir", metavar="MODEL_DIR", type=Path)
    add_connection_arguments(p)
    p.set_defaults(func=cmd_publish)

    p = subparsers.add_parser("status", help="show the model a channel serves and its versions")
    add_connection_arguments(p)
    p.set_defaults(func=cmd_status)

    p = subparsers.add_parser("rollback", help="serve an earlier model version again")
    p.add_argument("version", metavar="VERSION")
    add_connection_arguments(p)
    p.set_defaults(func=cmd_rollback)

    from .folder_publish import add_folder_arguments

    add_folder_arguments(subparsers)  # the same three commands with --to-folder DIR


def read_password(username: str = "", server: str = "") -> str:
    """From $DUKAHUB_TRAINER_PASSWORD, else a no-echo prompt; never from argv."""
    pw = os.environ.get(PASSWORD_ENV)
    if pw:
        return pw
    if not sys.stdin.isatty():
        raise TrainerError(f"No password: set {PASSWORD_ENV} or run in a terminal.")
    who = f" for {username}" if username else ""
    where = f" on {server}" if server else ""
    return getpass.getpass(f"Password{who}{where}: ")


def connect(
    server: str, channel: str, username: str, password: str, *, insecure: bool = False
) -> ShopClient:
    client = ShopClient(server, allow_insecure=insecure)
    client.login(username, password)
    client.select_channel(channel)
    return client


def login_from_args(args: argparse.Namespace, *, stop_at: float | None = None) -> ShopClient:
    """The remembered session (*Keep me logged in*) when there is one for this server and
    user, else a login with the password from the environment or a prompt.

    Scheduled runs (cron, systemd timers) use the remembered session; no password is
    ever taken from the command line. Each request is bounded by ``--timeout`` and, if
    given, ends by ``stop_at`` (``time.monotonic()``, ``sync``'s time limit).
    """
    username = getattr(args, "username", None)
    limits = {"deadline": getattr(args, "timeout", None) or REQUEST_DEADLINE_S, "stop_at": stop_at}
    client = ShopClient.restore(args.server, **limits)  # SessionExpired for a dead token
    if client is not None and (not username or client.username == username):
        return client
    if client is not None:
        client.close()
    if not username:
        raise TrainerError(
            f"No remembered session for {args.server}: pass --username (the password comes "
            f"from ${PASSWORD_ENV} or a prompt), or log in once in the app with "
            "“Keep me logged in”."
        )
    client = ShopClient(args.server, allow_insecure=getattr(args, "insecure", False), **limits)
    client.login(username, read_password(username, args.server))
    return client


def _connect_from_args(args: argparse.Namespace) -> ShopClient:
    client = login_from_args(args)
    client.select_channel(args.channel)
    return client


def catalog_from_server(
    server: str,
    channel: str,
    username: str,
    password: str,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
    *,
    insecure: bool = False,
) -> Catalog:
    """Logs in, selects the channel and downloads its catalogue (for ``train --server``)."""
    client = connect(server, channel, username, password, insecure=insecure)
    try:
        return fetch_catalog(client, on_progress=on_progress, cancel=cancel).catalog
    finally:
        client.close()


def _printer() -> Callable[[Progress], None]:
    last = {"pct": -1}

    def show(p: Progress) -> None:
        pct = int(p.fraction * 100)
        if pct >= last["pct"] + 10 or pct == 100:
            last["pct"] = pct
            print(f"  {pct:3d}%  {p.message}", file=sys.stderr, flush=True)

    return show


def cmd_publish(args: argparse.Namespace) -> int:
    client = _connect_from_args(args)
    result = publish(client, args.model_dir, on_progress=_printer())
    labels = result.metadata.get("labels", [])
    again = " (already served: not uploaded again)" if result.reused else ""
    print(f"Published version {result.version} ({len(labels)} products) at {result.url}{again}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from .sync import catalogue_state

    client = _connect_from_args(args)
    state = catalogue_state(client)  # the product list only: no photo is downloaded
    meta = state.served_metadata
    channel = client.channel
    assert channel is not None
    if meta is None:
        print(f"Channel {channel.code} (id {channel.id}): no model published yet.")
    else:
        print(
            f"Channel {channel.code} (id {channel.id}) serves a model trained "
            f"{meta.get('trainedAt', '?')} for {len(meta.get('labels', []))} products: "
            f"{client.latest_url()}"
        )
    for v in list_versions(client):
        mark = "*" if v["current"] else " "
        meta = v.get("metadata") or {}
        labels = meta.get("labels") if isinstance(meta, dict) else None
        n = len(labels) if isinstance(labels, list) else "?"
        print(f" {mark} {v['version']}  trained {v.get('trainedAt') or '?'}  {n} products")
    print(state.describe_served())
    print(state.describe_local())
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    client = _connect_from_args(args)
    v = rollback(client, args.version)
    print(
        f"Channel {args.channel} now serves version {v['version']} (trained {v.get('trainedAt')})."
    )
    return 0
