"""A shop photo's identity is its asset and its file, not the asset's change stamp.

Vendure never replaces an asset's file: ``updateAsset`` changes its name, focal point,
tags and custom fields. Up to 0.2.0 a shop photo was known as ``asset:<id>:<updatedAt>``,
so an owner who set a focal point in the shop's admin (for the web shop's thumbnails)
had ``sync`` retrain and publish the same photos, and a photo they had unticked for
training came back ticked. Records and ticks kept in that form still hold.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from vendure_server.fixtures import GROCERY, VendureServer, add_channel

from app.core import fingerprint
from app.core.catalogue import FROM_SHOP, Catalogue, ImageRef, Product, shop_photo_key
from app.core.flows.login import log_in
from app.core.shop import fetch_catalogue, list_catalogue
from app.core.sources import listed_catalogue
from app.core.store import ChannelStore


def shop_photos(folder: str, n: int) -> list[Path]:
    return sorted((GROCERY / "train" / "Fruit" / folder).glob("*.jpg"))[:n]


def catalogue_of(keys: dict[str, list[str]]) -> Catalogue:
    return Catalogue(
        [
            Product(pid, pid, [ImageRef(Path(k), origin=FROM_SHOP, key=k) for k in ks])
            for pid, ks in keys.items()
        ]
    )


def test_a_model_recorded_with_the_older_keys_is_up_to_date_with_the_same_assets() -> None:
    now = {"1": [shop_photo_key("5", "/assets/source/a/b.jpg", 10), shop_photo_key("6", "/c", 9)]}
    older = {"1": ["asset:5:2026-01-01T10:00:00.000Z", "asset:6:2026-01-01T10:00:01.000Z"]}

    assert fingerprint.compare(now, older).up_to_date
    now["1"][1] = shop_photo_key("7", "/d", 9)  # a photo replaced: another asset
    changes = fingerprint.compare(now, older)
    assert (changes.changed_products, changes.changed_photos) == (["1"], 1)


def test_a_photo_unticked_under_its_older_key_stays_unticked(isolated_home: Path) -> None:
    store = ChannelStore("https://shop.example", "duka")
    store.set_image_included("asset:5:2026-01-01T10:00:00.000Z", False)  # as 0.2.0 kept it
    store.set_image_included("asset:6:2026-01-01T10:00:00.000Z", False)
    key5, key6 = shop_photo_key("5", "/a.jpg", 10), shop_photo_key("6", "/b.jpg", 10)

    images = store.apply(catalogue_of({"1": [key5, key6]})).products[0].images
    assert [im.included for im in images] == [False, False]

    store.set_image_included(key5, True)  # ticked again: the older choice goes
    reread = ChannelStore("https://shop.example", "duka")
    images = reread.apply(catalogue_of({"1": [key5, key6]})).products[0].images
    assert [im.included for im in images] == [True, False]
    assert reread.excluded_images == {"asset:6:2026-01-01T10:00:00.000Z"}


@pytest.mark.slow
def test_an_asset_edited_in_the_shops_admin_is_the_same_photo(
    vendure: VendureServer, isolated_home: Path
) -> None:
    api, ch = add_channel(vendure, "focal-points")
    banana = api.create_product(
        "Banana", [a["id"] for a in api.upload_assets(shop_photos("Banana", 2))]
    )
    assets = api.upload_assets(shop_photos("Kiwi", 2))
    api.create_product("Kiwi", [a["id"] for a in assets])
    client = log_in(vendure.url, vendure.admin_user, lambda: vendure.admin_password)
    client.select_channel(ch.code)
    fetched = fetch_catalogue(client).catalogue
    trained_on = fingerprint.of_catalogue(listed_catalogue(list_catalogue(client)))
    kiwi = before = next(p for p in fetched.products if p.name == "Kiwi")
    store = ChannelStore(client.server_url, ch.code)
    store.set_image_included(kiwi.images[1].ident, False)  # the owner unticks one photo

    for a in assets:  # what an owner does for the web shop's thumbnails
        res = api.gql(
            "mutation($i:UpdateAssetInput!){updateAsset(input:$i){updatedAt}}",
            {"i": {"id": a["id"], "name": "kiwi-front", "focalPoint": {"x": 0.3, "y": 0.6}}},
        )
        assert res["updateAsset"]["updatedAt"]

    listing = list_catalogue(client)
    assert fingerprint.compare(
        fingerprint.of_catalogue(listed_catalogue(listing)), trained_on
    ).up_to_date
    again = store.apply(fetch_catalogue(client).catalogue)
    kiwi = next(p for p in again.products if p.name == "Kiwi")
    assert [im.included for im in kiwi.images] == [True, False]
    assert kiwi.images[0].stamp > before.images[0].stamp  # the date shown is the edit's
    assert banana in {p.id for p in again.products}
