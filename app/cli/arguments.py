"""Argument types (refused at parse time, with the range) and shared option groups."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

from ..core.errors import TrainerError
from ..core.flows.publish import LOCK_WAIT_S
from ..core.flows.train import check_channel_id
from .login import PASSWORD_ENV, REQUEST_DEADLINE_S


def user_path(text: str) -> Path:
    """A path argument as the owner wrote it, ``~`` included: bash leaves ``~`` alone
    after ``=`` (``--counter-frames=~/frames``) and in quotes, and only some commands
    expanded it themselves."""
    return Path(text).expanduser()


def add_password_file(cmd: argparse.ArgumentParser) -> None:
    """``--password-file``: the password for a script or timer without putting it in
    the environment, which ``ps e`` and child processes see (a systemd credential:
    ``--password-file $CREDENTIALS_DIRECTORY/shop``)."""
    cmd.add_argument(
        "--password-file",
        type=user_path,
        metavar="FILE",
        help=f"read the password from FILE's first line (instead of ${PASSWORD_ENV})",
    )


def add_base_weights(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "--base-weights", type=user_path, help="local MobileNetV2 ImageNet .h5 weights"
    )


def whole_number(lo: int, hi: int | None = None) -> Callable[[str], int]:
    """argparse type: an int in [lo, hi], refused at parse time with the range."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
        if value < lo or (hi is not None and value > hi):
            span_ = f"from {lo} to {hi}" if hi is not None else f"at least {lo}"
            raise argparse.ArgumentTypeError(f"must be a whole number {span_}, not {value}")
        return value

    return parse


def number_at_least(lo: float) -> Callable[[str], float]:
    """argparse type: a finite float ≥ lo."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
        if not math.isfinite(value) or value < lo:
            raise argparse.ArgumentTypeError(f"must be a number of at least {lo:g}, not {text}")
        return value

    return parse


def number_above(lo: float, hi: float = math.inf) -> Callable[[str], float]:
    """argparse type: a finite float > lo (and <= hi)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
        if not math.isfinite(value) or value <= lo or value > hi:
            most = f" and at most {hi:g}" if math.isfinite(hi) else ""
            raise argparse.ArgumentTypeError(f"must be a number above {lo:g}{most}, not {text}")
        return value

    return parse


def seconds_from(lo: float, hi: float = 86400) -> Callable[[str], float]:
    """argparse type: seconds in [lo, hi] (``--timeout``, ``--lock-wait``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a number of seconds, not {text!r}"
            ) from None
        if not math.isfinite(value) or not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be from {lo:g} to {hi:g} seconds, not {text}")
        return value

    return parse


def channel_id(text: str) -> str:
    """argparse type for ``--channel-id``: the one check of a channel id, at parse time."""
    try:
        return check_channel_id(text)
    except TrainerError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_timeout(cmd: argparse.ArgumentParser) -> None:
    """--timeout SECONDS: the longest one request to the server may take in all."""
    cmd.add_argument(
        "--timeout",
        type=seconds_from(1),
        default=REQUEST_DEADLINE_S,
        metavar="SECONDS",
        help="the longest one request to the server may take, its answer included "
        f"(default {REQUEST_DEADLINE_S:g}; photos and the upload get at least 10 minutes)",
    )


def add_connection(cmd: argparse.ArgumentParser) -> None:
    """--server/--channel/--username/--insecure/--timeout of ``publish``, ``status`` and
    ``rollback``; not required, as ``--to-folder DIR`` (:func:`add_folder`) replaces them."""
    cmd.add_argument("--server", help="shop server address, e.g. https://shop.example")
    cmd.add_argument("--channel", help="channel code")
    cmd.add_argument(
        "--username",
        help=f"password from ${PASSWORD_ENV} or a prompt; not needed with a remembered session",
    )
    add_password_file(cmd)
    cmd.add_argument(
        "--insecure",
        action="store_true",
        help="allow plain http:// to a server that is not this machine",
    )
    add_timeout(cmd)


def add_folder(cmd: argparse.ArgumentParser, *, lock_wait: bool) -> None:
    """``--to-folder DIR``: the same command on a folder the shop serves."""
    cmd.add_argument(
        "--to-folder",
        type=user_path,
        metavar="DIR",
        help="a folder instead of a shop server: DIR/<channelId>/latest/ is what tills load",
    )
    cmd.add_argument(
        "--channel-id",
        dest="folder_channel_id",
        type=channel_id,
        metavar="ID",
        help="channel id of the folder layout (publish: defaults to the model's own)",
    )
    if lock_wait:
        cmd.add_argument(
            "--lock-wait",
            type=seconds_from(0),
            default=LOCK_WAIT_S,
            metavar="SECONDS",
            help="with --to-folder: how long to wait for another publish or rollback of "
            f"the channel folder (default {LOCK_WAIT_S:g}; then exit code 4, nothing "
            "changed)",
        )
