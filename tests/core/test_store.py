"""Photos the owner adds and include/exclude choices survive restarts."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from app.core.catalogue import Catalogue, ImageRef, Product
from app.core.store import ChannelStore


def test_added_photos_and_choices_persist(tmp_path: Path):
    src = tmp_path / "photo.png"
    from PIL import Image

    Image.new("RGB", (64, 48), (200, 10, 10)).save(src)
    (tmp_path / "notes.txt").write_text("not an image")
    store = ChannelStore("https://shop.example", "fruit")
    stored = store.add_files("42", [src, tmp_path / "notes.txt"])
    assert len(stored) == 1 and stored[0].exists() and stored[0] != src
    webcam = store.add_rgb("gid://x/7", np.full((30, 40, 3), 128, np.uint8))
    assert webcam.suffix == ".jpg" and webcam.stat().st_size > 0
    store.set_product_included("43", False)
    store.set_image_included(str(stored[0]), False)

    again = ChannelStore("https://shop.example", "fruit")  # a restart
    added = again.added_images()
    assert added["42"] == stored and added["gid://x/7"] == [webcam]
    catalog = Catalogue(
        [
            Product("42", "Apple", [ImageRef(tmp_path / "a.jpg", "catalog")]),
            Product("43", "Pear", [ImageRef(tmp_path / "b.jpg", "catalog")]),
            Product("gid://x/7", "Plum", []),
        ]
    )
    applied = {p.id: p for p in again.apply(catalog).products}
    assert [im.origin for im in applied["42"].images] == ["catalog", "added"]
    assert [im.included for im in applied["42"].images] == [True, False]
    assert applied["43"].included is False
    assert len(applied["gid://x/7"].active_images()) == 1

    other = ChannelStore("https://shop.example", "veg")  # channels do not mix
    assert other.added_images() == {} and not other.excluded_products

    again.remove_added(stored[0])
    assert (
        not stored[0].exists()
        and "42" not in ChannelStore("https://shop.example", "fruit").added_images()
    )


def test_folder_shops_whose_names_differ_only_in_odd_characters_keep_their_own_edits(
    tmp_path: Path,
):
    """``/shops/a b``, ``/shops/a_b`` and ``/shops/a/b`` read the same once odd characters
    are made ``_``: their ticks (and added photos, counter frames) were one folder."""
    from app.core.sources import Source

    folders = [
        tmp_path / "shops" / "a b",
        tmp_path / "shops" / "a_b",
        tmp_path / "shops" / "a" / "b",
    ]
    for i, folder in enumerate(folders):
        folder.mkdir(parents=True)
        Source.from_folder(folder).store().set_product_included(f"p{i}", False)
    for i, folder in enumerate(folders):
        assert Source.from_folder(folder).store().excluded_products == {f"p{i}"}


def test_a_channel_folder_named_before_the_digest_is_moved_not_lost(tmp_path: Path):
    from app.core import paths

    earlier = paths.data_dir() / "channels" / "https___shop.example__fruit"
    (earlier / "added" / "42").mkdir(parents=True)
    (earlier / "added" / "42" / "webcam-1.jpg").write_bytes(b"jpeg")
    (earlier / "selection.json").write_text('{"excluded_products": ["43"]}')

    store = ChannelStore("https://shop.example", "fruit")
    assert store.excluded_products == {"43"}
    assert (store.root / "added" / "42" / "webcam-1.jpg").read_bytes() == b"jpeg"
    assert store.root != earlier and not earlier.exists()
    assert ChannelStore("https://shop.example", "fruit").root == store.root  # stays put


def test_an_unticked_added_photo_stays_unticked_when_its_channel_folder_moves(tmp_path: Path):
    """An upgrade from before 0.2.0 renames the channel folder, as a change of the
    channel's code does: the choice was kept by the old path, and the photo was ticked
    and trained again without a word."""
    import json

    from PIL import Image

    from app.core import paths

    earlier = paths.data_dir() / "channels" / "https___shop.example__fruit"
    photo = earlier / "added" / "Lemon" / "Lemon_010.jpg"
    photo.parent.mkdir(parents=True)
    Image.new("RGB", (40, 30), (200, 190, 20)).save(photo)
    kept = earlier / "added" / "Lemon" / "Lemon_011.jpg"
    Image.new("RGB", (40, 30), (20, 190, 20)).save(kept)
    selection = {"excluded_images": [str(photo), "/gone/added/Kiwi/x.jpg"]}
    (earlier / "selection.json").write_text(json.dumps(selection))
    (earlier / "edited.stamp").touch()
    os.utime(earlier / "edited.stamp", (1000.0, 1000.0))

    store = ChannelStore("https://shop.example", "fruit")  # moves the folder
    moved = store.root / "added" / "Lemon" / "Lemon_010.jpg"
    assert store.excluded_images == {str(moved), "/gone/added/Kiwi/x.jpg"}
    applied = store.apply(Catalogue([Product("Lemon", "Lemon", [])]))
    assert [(im.path.name, im.included) for im in applied.products[0].images] == [
        ("Lemon_010.jpg", False),
        ("Lemon_011.jpg", True),
    ]
    assert store.last_edited() == 1000.0  # the same choices: no edit of the owner's
    again = ChannelStore("https://shop.example", "fruit")
    assert again.excluded_images == store.excluded_images
    again.set_image_included(str(moved), True)  # and it can be ticked again
    assert ChannelStore("https://shop.example", "fruit").excluded_images == {
        "/gone/added/Kiwi/x.jpg"
    }


def test_added_photos_keep_their_product_when_index_json_is_damaged(tmp_path: Path):
    """A damaged index.json is set aside; the photos of "Green apple" (folder
    ``Green_apple``) then belonged to no product and were left out of every training."""
    from PIL import Image

    src = tmp_path / "photo.png"
    Image.new("RGB", (64, 48), (200, 10, 10)).save(src)
    store = ChannelStore("https://shop.example", "fruit")
    (stored,) = store.add_files("Green apple", [src])
    (store.root / "added" / "index.json").write_text('{"Green_apple": "Green apple", ')
    catalog = Catalogue([Product("Green apple", "Green apple", [])])

    again = ChannelStore("https://shop.example", "fruit")
    assert again.added_images() == {"Green apple": [stored]}  # the folder says whose
    (stored.parent / ".product-id").unlink()  # a folder from before it said so
    applied = ChannelStore("https://shop.example", "fruit").apply(catalog)
    assert [im.path for im in applied.products[0].images] == [stored]


def test_a_folder_shop_deep_in_long_folder_names_keeps_its_edits(tmp_path: Path):
    """The whole path was one folder name: past 255 bytes training refused with "a file
    or folder name is too long" about a folder the owner never chose."""
    from app.core.sources import Source

    folder = tmp_path / ("a" * 120) / ("é" * 100) / "photos"
    folder.mkdir(parents=True)
    Source.from_folder(folder).store().set_product_included("p", False)
    assert Source.from_folder(folder).store().excluded_products == {"p"}


def test_a_home_given_with_a_tilde_is_under_the_users_home(tmp_path: Path, monkeypatch):
    from app.core import paths

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv(paths.HOME_ENV, "~/trainer")
    assert paths.data_dir() == tmp_path / "trainer" / "data"


def test_the_same_picture_answered_twice_is_kept_once(tmp_path: Path):
    """ "Right" pressed twice on one picture of the Test screen stored two identical files."""
    from app.core.store import TEST_SCREEN

    store = ChannelStore("local", "shop")
    rgb = np.random.default_rng(0).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    first = store.add_rgb("7", rgb, origin=TEST_SCREEN)
    assert store.add_rgb("7", rgb, origin=TEST_SCREEN) == first
    assert store.added_images() == {"7": [first]}
    other = store.add_rgb("7", rgb[::-1].copy(), origin=TEST_SCREEN)  # another picture
    assert other != first and len(store.added_images()["7"]) == 2


def test_photos_added_of_a_product_the_catalogue_lost_are_kept_and_said(tmp_path: Path):
    """A product deleted and made again in Vendure (a new id), or a product folder
    renamed: the photos the owner had taken of it stayed on disk, were never trained
    and never mentioned (a data-loss audit). They are kept and said, with where."""
    from drawn_photos import drawn_photos

    from app.core.dataset import build_dataset

    a, b, c, d = (drawn_photos(tmp_path / f"s{i}", 2, i) for i in range(4))
    store = ChannelStore("https://shop.example", "fruit")
    (gone,) = store.add_files("42", a[:1])
    store.add_files("43", b[:1])
    store.add_files("44", c)
    catalogue = Catalogue(
        [
            Product("43", "Pear", [ImageRef(b[1], "catalog")]),
            Product("45", "Fig", [ImageRef(p, "catalog") for p in d]),
        ],
        disabled=[("44", "Plum")],  # said as disabled already: not twice
    )
    applied = store.apply(catalogue)
    assert applied.orphaned == [("42", 1, gone.parent)]
    assert gone.exists()
    report = build_dataset(applied).report
    (line,) = [x for x in report.summary_lines() if "no longer in the catalogue" in x]
    assert line == (
        "1 photo you added is not used: product 42 is no longer in the catalogue (deleted, "
        f"renamed or given a new id); they stay in {gone.parent}"
    )
