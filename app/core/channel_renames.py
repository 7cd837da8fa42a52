"""A channel whose code an administrator changed keeps the owner's photos and model.

What the owner keeps for a shop channel — added photos, ticks, counter frames,
empty-counter photos, the till's photos, the local model with its history — is kept
under the channel's *code* (:meth:`ShopSource.store`, :meth:`ShopSource.model_dir`),
the name the owner logs in with. Vendure lets an administrator change a code; the
channel's id stays. The next login under the new code then found an empty channel:
nothing was deleted, but the counter photos were no longer trained on and the model
looked gone. Now every opening records its channel id's code per server
(``channels/codes.json``); when the id comes back under another code, what was kept
under the earlier one moves to the new one, once. Never merged, never overwritten: where
the new code already holds something of its own, both stay and the log says where.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import paths
from .locks import LockBusy, exclusive_lock
from .readers import expect, load_app_file
from .sources import ShopSource, move_model_folder, sync_file

if TYPE_CHECKING:
    from .shop import ShopClient

log = logging.getLogger(__name__)

CODES_FILE = "codes.json"  # in data_dir()/channels: {"<server>|<channel id>": "<code>"}


def _codes_path() -> Path:
    return paths.data_dir() / "channels" / CODES_FILE


def _read_codes() -> dict[str, str]:
    """A damaged file is set aside, not overwritten (the codes it recorded are what a
    later rename is followed by): as every app file is read."""
    return load_app_file(
        _codes_path(), what="the channel codes it has seen", check=_codes_shape, default=dict
    )


def _codes_shape(raw: Any) -> dict[str, str]:
    expect(isinstance(raw, dict), "not a JSON object")
    return {str(k): v for k, v in raw.items() if isinstance(v, str)}


def _holds_nothing(folder: Path) -> bool:
    """No folder, or an empty one (made by a look before anything was kept there)."""
    try:
        return not any(folder.iterdir())
    except FileNotFoundError:
        return True
    except NotADirectoryError:
        return False


def _move(earlier: ShopSource, now: ShopSource) -> bool:
    """Moves ``earlier``'s kept folders to ``now``'s, all or none: none where ``now``
    holds something of its own already. Whether anything moved. A sync of the earlier
    code that is running keeps its folders (:class:`LockBusy`: tried at the next opening)."""
    old_model = earlier.model_dir()
    pairs = [
        (
            paths.channel_path(earlier.server, earlier.channel_code),
            paths.channel_path(now.server, now.channel_code),
        ),
        (old_model, now.model_dir()),
    ]
    pairs = [(old, new) for old, new in pairs if old.is_dir()]
    if not pairs:
        return False
    if taken := [new for _, new in pairs if not _holds_nothing(new)]:
        log.warning(
            "Channel %s on %s was called %s before; what was kept under that code stays "
            "where it is: %s already holds the new code's own",
            now.channel_code, now.server, earlier.channel_code, ", ".join(map(str, taken)),
        )  # fmt: skip
        return False
    moved = False
    with exclusive_lock(sync_file(earlier, ".lock")):  # a running sync: LockBusy
        for old, new in pairs:
            try:
                if new.is_dir():
                    new.rmdir()
                if old == old_model:  # with its history and taught memory beside it
                    move_model_folder(old, new)
                else:
                    new.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(old, new)
            except OSError as exc:
                log.warning("Could not move %s to %s (%s): left where it is", old, new, exc)
                continue
            moved = moved or new.is_dir()
    return moved


def follow_rename(source: ShopSource) -> ShopSource:
    """``source`` as opened now; its ``renamed_from`` is the earlier code when this
    opening moved what was kept under it. Without a channel id nothing is recorded."""
    if not source.channel_id:
        return source
    key = f"{source.server}|{source.channel_id}"
    try:
        with exclusive_lock(_codes_path().with_suffix(".lock"), wait_s=5.0):
            codes = _read_codes()
            earlier = codes.get(key)
            if earlier == source.channel_code:
                return source
            moved = False
            if earlier:
                old = ShopSource.at(source.server, earlier, source.channel_id)
                moved = _move(old, source)
            codes[key] = source.channel_code
            paths.atomic_write_bytes(_codes_path(), json.dumps(codes, indent=1).encode())
    except LockBusy:  # another opening, or the earlier code's sync: the next one moves it
        return source
    except OSError as exc:  # a read-only data folder: the channel opens as it is
        log.warning("Could not record the code of channel %s (%s)", source.channel_code, exc)
        return source
    if moved:
        log.info("Channel %s was called %s: what was kept moved", source.channel_code, earlier)
        return replace(source, renamed_from=earlier or "")
    return source


def shop_channel(client: ShopClient) -> ShopSource:
    """The channel ``client`` has selected, followed across a change of its code."""
    channel = client.require_channel()
    return follow_rename(ShopSource.at(client.server_url, channel.code, channel.id))
