"""A shop channel, a folder and the sample shop behind one Source protocol.

Each keeps the identity the app has always used (where its model and the owner's edits
live, the settings' ``kind``), so a model or a tick made before still belongs to it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from app.core import paths
from app.core.catalogue import Catalogue, ImageRef, Product
from app.core.flows.open_source import (
    FolderSource,
    SampleShopSource,
    ShopSource,
    Source,
    folder_source,
    open_source,
    sample_shop,
)
from app.core.pipeline import with_edits


def test_a_shop_channel(isolated_home: Path) -> None:
    s = Source.shop("shop.example/admin-api/", "kiosk", 3)
    assert isinstance(s, ShopSource) and s == ShopSource("https://shop.example", "kiosk", "3")
    assert (s.kind, s.folder, s.is_sample_shop) == ("shop", "", False)
    assert s.label == "kiosk on https://shop.example" and s.short_name == "kiosk"
    assert s.store_key == ("https://shop.example", "kiosk")
    assert s.model_dir().parent.name.startswith("shop.example-")
    assert s.model_dir().name.startswith("kiosk-")
    edited = with_edits(Catalogue([Product("1", "A")]), s)
    assert edited.channel_id == "3"  # the channel's id where the catalogue had none


def test_two_shops_on_one_host_and_look_alike_codes_keep_their_models_apart(
    isolated_home: Path,
) -> None:
    """By host and code alone, shops at /one and /two (or http and https) and the codes
    "a b" and "a_b" shared one model folder: one shop's model was published as the
    other's."""
    dirs = [
        Source.shop(url, code).model_dir()
        for url in ("https://h.example/one", "https://h.example/two", "http://h.example/one")
        for code in ("a b", "a_b", "A b")
    ]
    assert len(set(dirs)) == len(dirs)
    assert all(d.parent.parent == paths.models_dir() for d in dirs)


def test_a_model_folder_by_the_older_name_moves_with_its_history(isolated_home: Path) -> None:
    from app.core.local_history import history_dir

    earlier = paths.models_dir() / "shop.example" / "kiosk"
    for d in (earlier, history_dir(earlier) / "20261207T043956134597Z-9e1b8f"):
        d.mkdir(parents=True)
        (d / "metadata.json").write_text("{}")
    s = Source.shop("https://shop.example", "kiosk", 3)
    moved = s.model_dir()
    assert (moved / "metadata.json").exists() and not earlier.exists()
    assert (history_dir(moved) / "20261207T043956134597Z-9e1b8f" / "metadata.json").exists()
    assert s.model_dir() == moved


def test_a_folder(tmp_path: Path) -> None:
    shop = tmp_path / "My shop"
    shop.mkdir()
    s = folder_source(shop)
    assert type(s) is FolderSource and s.folder == str(shop.resolve())
    assert (s.kind, s.server, s.channel_code, s.channel_id) == ("folder", "", "", "")
    assert s.label == f"folder {shop.resolve()}" and s.short_name == "My shop"
    assert s.store_key == ("folder", str(shop.resolve()))
    digest = hashlib.blake2b(str(shop.resolve()).encode(), digest_size=4).hexdigest()
    assert s.model_dir() == paths.models_dir() / "folders" / f"My_shop-{digest}"


def test_the_sample_shop_is_a_folder_with_its_own_name(isolated_home: Path) -> None:
    s = sample_shop()
    assert isinstance(s, SampleShopSource) and s.is_sample_shop
    assert s.label == s.short_name == "Sample shop"
    assert folder_source(s.folder) == s  # its copy is recognised as the sample shop
    plain = FolderSource(s.folder)  # the same folder's model and edits as before
    assert (s.model_dir(), s.store_key, s.kind) == (plain.model_dir(), plain.store_key, "folder")
    opened = open_source(s)
    assert len(opened.catalogue.products) == 6 and not opened.failed


def test_opening_a_folder_applies_the_owners_edits(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    for pid in ("apple", "lime"):
        (shop / pid).mkdir(parents=True)
        (shop / pid / "1.jpg").write_bytes(b"not decoded here")
    source = folder_source(shop)
    source.store().set_product_included("lime", False)
    opened = open_source(source)
    assert [p.id for p in opened.base.products] == ["apple", "lime"]
    assert [p.id for p in opened.catalogue.active()] == ["apple"]
    # a folder lists exactly what it holds: the export records the same catalogue
    assert [p.id for p in opened.trained_on.active()] == ["apple"]
    assert opened.trained_on.products[0].images == [ImageRef(shop / "apple" / "1.jpg")]


def test_the_app_edits_the_opened_sources_own_store(isolated_home: Path, tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    for pid in ("apple", "lime"):
        (shop / pid).mkdir(parents=True)
        (shop / pid / "1.jpg").write_bytes(b"not decoded here")
    source = folder_source(shop)
    store = source.store()
    opened = open_source(source, store=store)
    assert opened.store is store  # the one copy the app edits
    store.set_product_included("apple", False)
    assert [p.id for p in opened.catalogue.active()] == ["apple", "lime"]  # as read
    again = opened.with_current_edits()
    assert [p.id for p in again.catalogue.active()] == ["lime"]
    assert [p.id for p in again.trained_on.active()] == ["lime"]
