"""A shop login from the command line's arguments.

The remembered session (*Keep me logged in* in the app) when there is one for the
server and user, else the password from ``--password-file``, ``DUKAHUB_TRAINER_PASSWORD``
or a no-echo prompt — never from an argument: it would be visible in the process list
and the shell history. Scheduled runs (cron, systemd timers) use the remembered session
or a password file.
"""

from __future__ import annotations

import argparse
import codecs
import getpass
import os
import sys
from pathlib import Path

from ..core.errors import SessionExpired, TrainerError
from ..core.flows.login import REQUEST_DEADLINE_S, ShopClient, log_in, remembered_session

PASSWORD_ENV = "DUKAHUB_TRAINER_PASSWORD"
__all__ = ["PASSWORD_ENV", "REQUEST_DEADLINE_S", "login_from_args", "read_password"]


def read_password(username: str = "", server: str = "", file: Path | None = None) -> str:
    """From ``file`` (its first line), else $DUKAHUB_TRAINER_PASSWORD, else a no-echo
    prompt; never from argv."""
    if file is not None:
        try:
            with open(file, "rb") as fh:  # a pipe works too: <(pass show shop)
                pw = _first_line(fh.read(64 * 1024))
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise TrainerError(f"Cannot read the password file {file}: {why}.") from None
        if not pw:
            raise TrainerError(f"The password file {file} is empty (its first line).")
        return pw
    pw = os.environ.get(PASSWORD_ENV)
    if pw:
        return pw
    if not sys.stdin.isatty():
        raise TrainerError(f"No password: set {PASSWORD_ENV} or run in a terminal.")
    who = f" for {username}" if username else ""
    where = f" on {server}" if server else ""
    return getpass.getpass(f"Password{who}{where}: ")


def _first_line(data: bytes) -> str:
    """UTF-8, with or without the mark Windows PowerShell 5.1 writes (``Out-File
    -Encoding utf8``), or UTF-16 (its ``>``): the mark was read as part of the password,
    and the login refused as a wrong password (a portability audit)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16")
    else:
        text = data.decode("utf-8-sig")
    return text.split("\n", 1)[0].rstrip("\r")


def login_from_args(args: argparse.Namespace, *, stop_at: float | None = None) -> ShopClient:
    """``--server`` (and ``--username``, ``--insecure``, ``--timeout``) → a logged-in
    client; each request ends by ``stop_at`` too (``sync``'s time limit)."""
    username = getattr(args, "username", None)
    deadline = getattr(args, "timeout", None) or REQUEST_DEADLINE_S
    try:
        client = remembered_session(args.server, deadline=deadline, stop_at=stop_at)
    except SessionExpired:
        if not username:
            raise
        client = None  # the user and password given log in instead, in this same run
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
    return log_in(
        args.server,
        username,
        lambda: read_password(username, args.server, getattr(args, "password_file", None)),
        insecure=getattr(args, "insecure", False),
        deadline=deadline,
        stop_at=stop_at,
    )


def channel_from_args(args: argparse.Namespace) -> ShopClient:
    """Logged in, with ``--channel`` selected."""
    client = login_from_args(args)
    client.select_channel(args.channel)
    return client
