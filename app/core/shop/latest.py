"""Where the tills load a channel's served model: the plugin's ``latestPath`` under the
server's address.

The plugin serves the model under the shop's asset route, which a shop may name
``media``, and a proxy may put the whole server under a path (``https://h/shop``).
Built from the default ``/assets`` route, every publish to a shop with another route
said "404, a cache or proxy may hold an old copy" of a model that was served, and
``status`` contradicted itself (an audit of deployments).
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, Protocol

from ..errors import ShopError
from .channels import ChannelInfo
from .graphql import LATEST_PATH


class _Client(Protocol):  # the transport's client, as this module uses it
    server_url: str

    def require_channel(self) -> ChannelInfo: ...
    def gql(self, query: str, variables: dict | None = None, *, what: str) -> dict: ...


DEFAULT_ROUTE = "assets"  # the AssetServerPlugin's usual route
_known: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def latest_url(client: _Client) -> str:
    """Public base URL of the channel's served model, as the POS reads it (ends with
    ``/latest/``); the plugin is asked once per client and channel."""
    channel = client.require_channel()
    with _lock:
        path = _known.get(client, {}).get(channel.id)
    if path is None:
        try:
            status = client.gql(LATEST_PATH, what="read the published models")["mlModel"]
        except ShopError:  # no permission, no plugin (said where it matters), offline
            return client.server_url + _default(channel.id)
        path = remember(client, channel.id, status.get("latestPath"))
    return client.server_url + path


def remember(client: _Client, channel_id: str, path: object) -> str:
    """The plugin's ``latestPath`` for ``channel_id`` (from any ``mlModel`` answer), or
    the default route's where it gives none that looks like one; returned."""
    ok = (
        isinstance(path, str)
        and path.startswith("/")
        and path.endswith(f"/ml-models/{channel_id}/latest/")
        and "//" not in path
        and "/../" not in path
    )
    kept = str(path) if ok else _default(channel_id)
    with _lock:
        _known.setdefault(client, {})[channel_id] = kept
    return kept


def _default(channel_id: str) -> str:
    return f"/{DEFAULT_ROUTE}/ml-models/{channel_id}/latest/"
