"""The shop's counter as its camera sees it: counter frames and the empty counter.

*Counter frames* — about 20 pictures of the counter with any products on it — teach a
training the shop's light and background (:mod:`app.core.counter_frames`, kept per
shop in its :class:`~app.core.store.ChannelStore`). Photos of the *empty* counter are
trained as "not a product", so the till asks instead of guessing when nothing of the
shop is in view (:mod:`app.core.not_products`). Both are taken in the app and read by
every training of the shop.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..counter_frames import SUGGESTED, CounterFrame, CounterFrameStore, trimmed_words

if TYPE_CHECKING:
    import numpy as np

    from ..store import ChannelStore

__all__ = [
    "SUGGESTED",
    "CounterFrame",
    "CounterFrameStore",
    "add_empty_counter_photo",
    "clear_empty_counter",
    "empty_counter_folder",
    "empty_counter_photos",
    "trimmed_words",
]


def empty_counter_folder(store: ChannelStore) -> Path:
    """Where the shop's photos of its empty counter are kept."""
    from ..not_products import FOLDER

    return store.root / FOLDER


def empty_counter_photos(store: ChannelStore) -> list[Path]:
    """The shop's photos of its empty counter, as a training reads them."""
    from ..not_products import shop_photos

    return shop_photos(store.root)


def add_empty_counter_photo(store: ChannelStore, rgb: np.ndarray) -> Path:
    """Keep one picture of the empty counter (HxWx3 uint8 RGB)."""
    from ..not_products import add_rgb

    return add_rgb(store.root, rgb, prefix="empty")


def clear_empty_counter(store: ChannelStore) -> int:
    """Delete the shop's photos of its empty counter; how many there were."""
    from ..not_products import clear

    return clear(store.root)
