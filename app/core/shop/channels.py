"""The channels a user may work in, as the Admin API's ``me`` query lists them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import ChannelAccessError
from .graphql import ACTIVE_CHANNEL

UPLOAD_PERMISSION = "UploadMlModel"
# Vendure's DEFAULT_CHANNEL_CODE (@vendure/common): the channel every product of every
# other channel is also in, so a model of it is every shop's products at once
DEFAULT_CHANNEL_CODE = "__default_channel__"


@dataclass(frozen=True)
class ChannelInfo:
    id: str
    code: str
    token: str
    permissions: list[str]

    @property
    def can_publish(self) -> bool:
        return UPLOAD_PERMISSION in self.permissions or "SuperAdmin" in self.permissions

    @property
    def is_default(self) -> bool:
        return self.code == DEFAULT_CHANNEL_CODE


def channels_from(user: dict) -> list[ChannelInfo]:
    """The ``channels`` of a ``CurrentUser`` (login) or ``me`` answer."""
    return [
        ChannelInfo(
            id=str(c["id"]), code=c["code"], token=c["token"], permissions=list(c["permissions"])
        )
        for c in user.get("channels") or []
    ]


def sync_targets(channels: list[ChannelInfo]) -> tuple[list[str], list[str]]:
    """The channels ``sync --all-channels`` trains, and those it leaves out. Vendure's
    default channel lists the products of every channel, so beside other channels it is
    not a shop: a superadmin's run trained every shop's products into one model and
    published it there. Alone it is the shop (a one-shop server), and it is synced."""
    publishable = [c for c in channels if c.can_publish]
    shops = [c for c in publishable if not c.is_default]
    if not shops:
        return [c.code for c in publishable], []
    return [c.code for c in shops], [c.code for c in publishable if c.is_default]


class _Client(Protocol):  # the transport's client, as this check uses it
    server_url: str
    channel: Any

    def gql(self, query: str, variables: dict | None = None, *, what: str) -> dict: ...


def check_active_channel(client: _Client, chosen: ChannelInfo) -> None:
    """The server must answer for the channel chosen. One whose
    ``apiOptions.channelTokenKey`` is not ``vendure-token`` ignores the header and
    answers for its default channel: a training of "shop" read every channel's products
    and the publish was refused with a puzzle (an audit of deployments)."""
    active = client.gql(ACTIVE_CHANNEL, what="open the channel")["activeChannel"]
    if isinstance(active, dict) and str(active.get("id")) == chosen.id:
        return
    client.channel = None
    shown = active.get("code") if isinstance(active, dict) else None
    raise ChannelAccessError(
        f"{client.server_url} answered for channel “{shown}”, not “{chosen.code}”: it does "
        "not read the channel from the header vendure-token (is its "
        "apiOptions.channelTokenKey set to another name?). The trainer needs the default, "
        "vendure-token."
    )
