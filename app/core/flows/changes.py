"""What changed in a shop's catalogue since the served model (and the local one).

From the product list alone — no photo is downloaded and TensorFlow is not loaded —
compared with the photos each model records as trained on (``catalogFingerprint``):
"1 new product, 1 removed, 1 changed photo since the model your shop serves".
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..progress import ProgressHook
from ..sync import CatalogueState, catalogue_state
from .publish import ShopTarget, TargetStatus

if TYPE_CHECKING:
    from ..shop import ShopClient

__all__ = ["CatalogueState", "ChannelStatus", "catalogue_changes", "channel_status"]


def catalogue_changes(
    client: ShopClient,
    *,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
) -> CatalogueState:
    """The selected channel's catalogue now (with the owner's edits) versus the served
    and the local model; its ``describe_served``/``describe_local`` say it in words."""
    return catalogue_state(client, on_progress=on_progress, cancel=cancel)


@dataclass(frozen=True)
class ChannelStatus:
    """What ``status`` reports for a shop channel."""

    channel_code: str
    channel_id: str
    latest_url: str  # where the tills load the served model
    changes: CatalogueState
    stored: TargetStatus  # the versions the plugin keeps


def channel_status(client: ShopClient) -> ChannelStatus:
    """The served model, the stored versions and what changed since (the product list
    only: no photo is downloaded)."""
    changes = catalogue_changes(client)
    channel = client.require_channel()
    return ChannelStatus(
        channel.code, channel.id, client.latest_url(), changes, ShopTarget(client).status()
    )
