"""A shop server's address as the owner types it, checked once for every request."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit

from ..errors import ShopError

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def normalise_server_url(url: str) -> str:
    """``shop.example.com`` -> ``https://shop.example.com``; drops a pasted ``/admin-api``.

    Refuses ``user:password@host``: such an address would end up in messages, the log,
    the settings and the sessions file.
    """
    url = url.strip()
    if not url:
        raise ShopError("Enter the address of the shop's server.")
    if "://" not in url:
        url = "https://" + url
    not_one = ShopError(f"“{url}” is not a web address (expected https://your-shop.example).")
    try:
        parts = urlsplit(url)
    except ValueError:  # "https://[::1": "Invalid IPv6 URL"
        raise not_one from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise not_one
    try:
        parts.port  # noqa: B018 - "shop.example:abc" raises here, not deep in a request
    except ValueError:
        raise ShopError(f"“{url}” has no valid port number after “:”.") from None
    if not all(ch.isalnum() or ch in "-._:" for ch in parts.hostname):
        # "not a url at all": a space or a stray character in the host name, which the
        # HTTP library would report as "Failed to parse: Host … contains invalid character"
        raise not_one
    if parts.username is not None or parts.password is not None:
        bare = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))
        raise ShopError(
            f"The server address contains a user name or password (before “@”). Enter "
            f"the address alone ({bare}) and your user name and password in their own fields."
        )
    path = parts.path.rstrip("/")
    for suffix in ("/admin-api", "/shop-api"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def without_credentials(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
