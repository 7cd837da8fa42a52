"""Log in to a shop: a remembered session (*Keep me logged in*) or a user and password.

Every request the client makes is bounded by ``deadline`` seconds and, if given, ends by
``stop_at`` (``time.monotonic()``: ``sync``'s time limit). The password is only sent,
never stored; a remembered session is a token in the OS keyring (else a 0600 file).
"""

from __future__ import annotations

from collections.abc import Callable

from ..shop import ShopClient
from ..shop.deadlines import REQUEST_DEADLINE_S

__all__ = ["REQUEST_DEADLINE_S", "ShopClient", "log_in", "remembered_session"]


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
    is said before any prompt."""
    client = ShopClient(server, allow_insecure=insecure, deadline=deadline, stop_at=stop_at)
    client.login(username, password())
    return client
