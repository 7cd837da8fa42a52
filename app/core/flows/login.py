"""Log in to a shop: a remembered session (*Keep me logged in*) or a user and password.

Every request the client makes is bounded by ``deadline`` seconds and, if given, ends by
``stop_at`` (``time.monotonic()``: ``sync``'s time limit). The password is only sent,
never stored; a remembered session is a token in the OS keyring (else a 0600 file).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..shop import ChannelInfo, ShopClient, normalise_server_url, session_store_description
from ..shop.deadlines import REQUEST_DEADLINE_S

__all__ = [
    "REQUEST_DEADLINE_S",
    "ChannelInfo",
    "Login",
    "ShopClient",
    "connect",
    "log_in",
    "log_out",
    "open_channel",
    "remembered_session",
    "resume",
    "server_address",
    "session_store_description",
    "sign_in",
]


@dataclass(frozen=True)
class Login:
    """A logged-in client and the channels its user may open."""

    client: ShopClient
    channels: list[ChannelInfo]


def remembered_session(
    server: str, *, deadline: float = REQUEST_DEADLINE_S, stop_at: float | None = None
) -> ShopClient | None:
    """A client logged in with the session remembered for ``server``, or None when none
    is; :class:`~app.core.errors.SessionExpired` (and forgotten) when it is dead."""
    return ShopClient.restore(server, deadline=deadline, stop_at=stop_at)


def log_in(
    server: str,
    username: str,
    password: Callable[[], str],
    *,
    insecure: bool = False,
    deadline: float = REQUEST_DEADLINE_S,
    stop_at: float | None = None,
) -> ShopClient:
    """A new login (plain ``http://`` to another computer only with ``insecure``).

    ``password`` is asked for only once the address is accepted, so a refused address
    is said before any prompt. A session kept for the server ("Keep me logged in", which
    scheduled runs use) stays as it is."""
    client = ShopClient(server, allow_insecure=insecure, deadline=deadline, stop_at=stop_at)
    client.login(username, password(), remember=None)
    return client


def server_address(text: str) -> str:
    """What the owner typed as a shop's address, as the app names and keeps it
    (``https://shop.example``); ``ShopError`` when it is no address."""
    return normalise_server_url(text)


def connect(server: str, *, insecure: bool = False) -> ShopClient:
    """A client for ``server``, not logged in yet: its address is checked here, before
    any request (:class:`~app.core.errors.InsecureServerUrl` for plain ``http://`` to
    another computer unless ``insecure``; ``ShopError`` for an address that is none)."""
    return ShopClient(server, allow_insecure=insecure)


def sign_in(client: ShopClient, username: str, password: str, *, remember: bool) -> Login:
    """Log ``client`` in; ``remember`` keeps the session token (never the password)."""
    return Login(client, client.login(username, password, remember))


def resume(server: str) -> Login | None:
    """The session remembered for ``server`` with its channels, or None when none is;
    :class:`~app.core.errors.SessionExpired` (and forgotten) when it is dead."""
    client = remembered_session(server)
    return None if client is None else Login(client, client.channels())


def open_channel(client: ShopClient, channel: ChannelInfo) -> ChannelInfo:
    """Select ``channel`` for what ``client`` does next; the channel as the server has it."""
    client.select_channel(channel.code)
    return client.channel or channel


def log_out(client: ShopClient) -> None:
    """End the session on the server (best effort) and forget a remembered token."""
    client.logout()
