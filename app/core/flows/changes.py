"""What changed in a shop's catalogue since the served model (and the local one).

From the product list alone — no photo is downloaded and TensorFlow is not loaded —
compared with the photos each model records as trained on (``catalogFingerprint``):
"1 new product, 1 removed, 1 changed photo since the model your shop serves".
The app's banner says the same of an opened source (a folder too) with
:func:`news_since_models`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..fingerprint import Changes
from ..progress import ProgressHook
from ..sync import CatalogueState, catalogue_state
from .inspect import local_metadata
from .publish import ShopTarget, TargetStatus

if TYPE_CHECKING:
    from ..catalogue import Catalogue
    from ..fingerprint import Fingerprint, Look
    from ..shop import ShopClient
    from ..store import ChannelStore

__all__ = [
    "CatalogueState",
    "Changes",
    "ChannelStatus",
    "catalogue_changes",
    "channel_status",
    "describe_news",
    "news_since_models",
]


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


def news_since_models(
    trained_on: Catalogue,
    digests: Mapping[Path, str] | None = None,
    *,
    model_dir: Path | None = None,
    served_metadata: Mapping[str, Any] | None = None,
    store: ChannelStore | None = None,
) -> str:
    """The banner's sentence for an opened source's catalogue (its ``trained_on``: a
    photo whose download failed is no change), or "" when no training is needed.

    ``digests``: content hashes a photo check already made (folder and added photos are
    hashed otherwise); ``model_dir``: the model on this computer; ``served_metadata``:
    the shop's (:meth:`ShopTarget.served_metadata`), None without a shop; ``store``: the
    source's kept edits, whose counter frames and empty-counter photos count too."""
    from ..fingerprint import of_catalogue, of_look

    current = of_catalogue(trained_on, digests)
    look = None
    if store is not None:
        look = of_look(store.counter_frames.paths(), store.not_product_photos())
    return describe_news(current, local_metadata(model_dir), served_metadata, look)


def describe_news(
    current: Fingerprint,
    local_meta: Mapping[str, Any] | None,
    served_meta: Mapping[str, Any] | None,
    look: Look | None = None,
) -> str:
    """ "3 new products, 1 removed since the model your shop serves (trained 2 days
    ago)." — or "" when the model on this computer, or the served one, has it all."""
    from .. import fingerprint
    from ..wording import ago

    local = fingerprint.compare_with(current, look, local_meta) if local_meta else None
    served = fingerprint.compare_with(current, look, served_meta) if served_meta else None
    if local is not None and local.up_to_date:
        return ""  # the model on this computer already has it all: publishing is what's left
    if served is not None:
        if served.up_to_date:
            return ""
        when = ago(dict(served_meta or {}))
        return (
            f"{served.summary().capitalize()} since the model your shop serves"
            + (f" (trained {when})" if when else "")
            + "."
        )
    if local is not None:
        when = ago(dict(local_meta or {}))
        # "the model on this computer", not "your last training": after "Use this one
        # again" it is an earlier model
        return (
            f"{local.summary().capitalize()} since the model "
            "on this computer" + (f" (trained {when})" if when else "") + "."
        )
    return ""
