"""A shop laptop whose clock is wrong, against the real Vendure: ``sync --debounce``
waits as long as it is asked to, not as far as the two clocks are apart.

The server stamps its changes (``updatedAt``) on its own clock and says its time in
every answer (``Date``); the owner's edits and what a sync saw are stamped on this
computer's clock. Only the module that reads the server's clock (or the sync's ``now``) is
given the wrong one (:mod:`wall_clock`); the server keeps the right one.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import pytest
from vendure_server.fixtures import FRUIT, GROCERY, VendureServer, add_channel
from wall_clock import shift_clock

from app.core.flows.changes import catalogue_changes
from app.core.flows.keep_current import sync_channel
from app.core.flows.login import ShopClient, log_in
from app.core.flows.open_source import shop_source
from app.core.flows.train import TrainOptions
from app.core.shop import server_clock

pytestmark = pytest.mark.slow

CODE = "wrong-clock"


@pytest.fixture(scope="module")
def channel(vendure: VendureServer) -> str:
    api, _ = add_channel(vendure, CODE)
    for name in ("Banana", "Kiwi"):
        shots = sorted((GROCERY / "train" / FRUIT[name]).glob("*.jpg"))[:2]
        api.create_product(name, [a["id"] for a in api.upload_assets(shots)])
    return CODE


def owner(vendure: VendureServer) -> ShopClient:
    client = log_in(vendure.url, vendure.admin_user, lambda: vendure.admin_password)
    client.select_channel(CODE)
    return client


@pytest.mark.parametrize("apart", [dt.timedelta(hours=-3), dt.timedelta(hours=1)])
def test_the_servers_change_times_are_read_on_this_computers_clock(
    vendure: VendureServer, channel: str, apart: dt.timedelta, monkeypatch: pytest.MonkeyPatch
) -> None:
    """3 hours behind, a change made minutes before was "less than a minute old" for
    3 hours (``--debounce 30`` waited 3.5 hours); 1 hour ahead, a burst of edits was
    never waited for."""
    shift_clock(monkeypatch, server_clock, apart)
    client = owner(vendure)
    try:
        newest = catalogue_changes(client).newest_change
    finally:
        client.close()
    here = dt.datetime.now(dt.timezone.utc) + apart  # this computer's clock
    assert newest is not None
    assert dt.timedelta(0) <= here - newest < dt.timedelta(minutes=15), (here, newest)


def test_an_edit_stamped_on_a_clock_since_set_back_is_waited_for_once(
    vendure: VendureServer, channel: str, base_weights: Path
) -> None:
    """The owner ticked a photo while the clock was a day ahead, then it was put right:
    sync said "waiting" until the clock had caught up (a day). Now it waits one
    ``--debounce`` from when it first saw the catalogue so, then trains."""
    client = owner(vendure)
    try:
        store = shop_source(client).store()
        store.set_product_included("no-such-product", False)  # an edit, stamped a day ahead
        ahead = time.time() + 86400
        os.utime(store.root / "edited.stamp", (ahead, ahead))
        fast = TrainOptions(
            epochs=2, validate=False, augment=False, not_products=False, base_weights=base_weights
        )
        now = dt.datetime.now(dt.timezone.utc)
        first = sync_channel(client, fast, debounce_minutes=1, now=now)
        assert first.status == "waiting", first.message
        later = sync_channel(client, fast, debounce_minutes=1, now=now + dt.timedelta(minutes=2))
        assert later.status != "waiting" and later.trained, later.message
    finally:
        client.close()
