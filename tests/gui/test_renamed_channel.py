"""A channel whose code an administrator changed, opened in the real window: the
Products screen says once that the owner's photos moved with it, and shows them."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_switching_channels import idle, log_in, pick
from vendure_server.fixtures import GROCERY, VendureServer, add_channel

from app.core.flows.login import log_in as core_log_in
from app.core.flows.open_source import shop_source

pytestmark = pytest.mark.slow


def test_the_products_screen_says_the_channel_was_renamed_and_keeps_its_photos(
    qtbot, window, vendure: VendureServer, isolated_home: Path
) -> None:
    shop_photos = sorted((GROCERY / "train" / "Fruit" / "Banana").glob("*.jpg"))
    api, ch = add_channel(vendure, "kiosk-old")
    asset = api.upload_assets(shop_photos[:1])[0]
    banana = api.create_product("Banana", [asset["id"]])
    client = core_log_in(vendure.url, vendure.admin_user, lambda: vendure.admin_password)
    client.select_channel(ch.code)
    shop_source(client).store().add_files(banana, shop_photos[1:3])  # the owner's counter photos
    api.channel_token = ""
    api.gql(
        "mutation($i:UpdateChannelInput!){updateChannel(input:$i){__typename}}",
        {"i": {"id": ch.id, "code": "kiosk-new"}},
    )
    vendure.channels["kiosk-new"] = vendure.channels.pop(ch.code)

    log_in(window, vendure.url, vendure.admin_user, vendure.admin_password)
    pick(qtbot, window, "kiosk-new")
    idle(qtbot, window)

    products = window.products
    assert "“kiosk-new” was called “kiosk-old” before" in products.banner.text()
    opened = window.session.opened
    assert opened is not None
    assert len(next(p for p in opened.catalogue.products if p.id == banana).images) == 3
