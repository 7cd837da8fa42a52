"""What a photo check found, as the app's Products and Train screens read it.

Each photo training cannot use is one record with its kind and the owner's words
(:class:`~app.core.dataset.SkippedPhoto`), by path: the screens never read a reason's
text to learn what happened. A training uses the ticked photos less those.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from sample_photos import vendure_sample_photos

from app.core.flows.check_photos import check_photos, not_used, training_scope
from app.core.flows.open_source import folder_source, open_source


def _photo(path: Path, seed: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def test_the_check_says_what_is_not_used_by_kind(isolated_home: Path, tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    _photo(shop / "apple" / "a1.jpg", 1)
    copy = shop / "apple" / "a2.jpg"
    copy.write_bytes((shop / "apple" / "a1.jpg").read_bytes())  # the same photo twice
    _photo(shop / "lime" / "l1.jpg", 2)
    broken = shop / "lime" / "l2.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    _photo(shop / "kiwi" / "k1.jpg", 3)
    opened = open_source(folder_source(shop))

    found = not_used(check_photos(opened.catalogue).report)
    assert set(found.unreadable) == {str(broken)} and set(found.duplicates) == {str(copy)}
    gone = found.unreadable[str(broken)]
    assert (gone.product, gone.kind.value) == ("lime", "unreadable") and gone.plain
    twice = found.duplicates[str(copy)]
    assert twice.kind.value == "duplicate" and twice.same_as == shop / "apple" / "a1.jpg"
    assert twice.product == "apple"  # was "": only unreadable photos' products were known
    assert broken in found and copy in found and found.get(copy) is twice
    assert shop / "kiwi" / "k1.jpg" not in found

    scope = training_scope(opened.catalogue, check_photos(opened.catalogue).report)
    assert scope.usable == {"apple": 1, "kiwi": 1, "lime": 1}
    assert ([p.id for p in scope.products], scope.photos) == (["apple", "kiwi", "lime"], 3)
    # before any check, every ticked photo counts
    assert training_scope(opened.catalogue).photos == 5
    assert not_used(None).unreadable == {} and not_used(None).duplicates == {}


def test_a_copy_in_its_own_product_is_dropped_even_when_another_product_has_one_first(
    isolated_home: Path, tmp_path: Path
) -> None:
    """The first copy sat in another product: the second copy in lime counted as a
    conflict only, and lime was trained on the same photo twice."""
    shop = tmp_path / "shop"
    a = _photo(shop / "apple" / "a1.jpg", 1)
    (shop / "lime").mkdir()
    for name in ("l1.jpg", "l2.jpg"):
        (shop / "lime" / name).write_bytes(a.read_bytes())
    _photo(shop / "lime" / "l3.jpg", 2)
    report = check_photos(open_source(folder_source(shop)).catalogue).report
    found = not_used(report)
    assert set(found.duplicates) == {str(shop / "lime" / "l2.jpg")}
    assert found.duplicates[str(shop / "lime" / "l2.jpg")].product == "lime"
    assert [(x.name, y.name) for x, y in report.conflicts] == [("a1.jpg", "l1.jpg")]


def test_photos_beside_the_product_folders_are_reported_not_silently_dropped(
    isolated_home: Path, tmp_path: Path
) -> None:
    """A newcomer dropped a photo straight into the shop folder: it was in no product and
    no report. A README or LICENSE there (the sample shop has both) is no slip."""
    shop = tmp_path / "shop"
    _photo(shop / "apple" / "a1.jpg", 1)
    _photo(shop / "lime" / "l1.jpg", 2)
    loose = _photo(shop / "loose_photo.jpg", 3)
    (shop / "README.txt").write_text("my shop")
    report = check_photos(open_source(folder_source(shop)).catalogue).report
    assert report.loose == [loose]
    assert [(s["file"], s["product"]) for s in report.skipped()] == [(str(loose), "")]
    (line,) = [x for x in report.summary_lines() if "loose_photo.jpg" in x]
    assert "in none of them" in line and "README" not in line


def test_a_folder_of_product_folders_opened_one_level_too_high_is_said(
    isolated_home: Path, tmp_path: Path
) -> None:
    """``My photos/Shop/{Banana,Kiwi,Lemon}`` opened at ``My photos``: one product "Shop"
    of mixed photos, and "found 1 product(s)" with no hint why; beside a stray
    ``Holidays`` folder, it trained as two products without a word."""
    import pytest

    from app.core.catalogue import catalogue_from_folder
    from app.core.dataset import build_dataset
    from app.core.errors import DatasetError

    top = tmp_path / "My photos"
    for i, fruit in enumerate(("Banana", "Kiwi", "Lemon")):
        (top / "Shop" / fruit).mkdir(parents=True)
        for j in range(2):
            _photo(top / "Shop" / fruit / f"{j}.jpg", 10 * i + j)
    with pytest.raises(DatasetError, match="open Shop itself as the photo folder"):
        build_dataset(catalogue_from_folder(top))

    (top / "Holidays").mkdir()
    _photo(top / "Holidays" / "beach.jpg", 99)
    cat = catalogue_from_folder(top)
    assert cat.nested == [("Shop", ["Banana", "Kiwi", "Lemon"])]
    lines = build_dataset(cat).report.summary_lines()
    assert any(line.startswith("Shop: its photos are in 3 sub-folders") for line in lines), lines
    assert catalogue_from_folder(top / "Shop").nested == []  # the right folder: no note


def test_a_picture_of_one_flat_colour_is_not_learnt_from(
    isolated_home: Path, tmp_path: Path
) -> None:
    """A blank upload or a shop's placeholder was trained as the product, which then
    named every blank picture. A white pack on a white backdrop is still a photo, and
    ``predict`` still answers for a blank picture (an owner may test one)."""
    from app.core.photo_check import check_photo

    shop = tmp_path / "shop"
    _photo(shop / "apple" / "a1.jpg", 1)
    _photo(shop / "lime" / "l1.jpg", 2)
    black = shop / "lime" / "black.jpg"
    Image.new("RGB", (1200, 900)).save(black, quality=60)
    placeholder = shop / "cola" / "no-image.png"
    placeholder.parent.mkdir()
    Image.new("RGB", (500, 500), (240, 240, 240)).save(placeholder)
    white = np.full((400, 300, 3), 252, np.uint8)
    white[150:260, 120:180] = 236  # a white carton on white: 16 levels, 5 % of the photo
    Image.fromarray(white).save(shop / "apple" / "white-pack.png")
    opened = open_source(folder_source(shop))

    found = not_used(check_photos(opened.catalogue).report)
    assert set(found.unreadable) == {str(black), str(placeholder)}
    assert found.unreadable[str(black)].plain.startswith("one flat colour")
    scope = training_scope(opened.catalogue, check_photos(opened.catalogue).report)
    assert scope.usable == {"apple": 2, "cola": 0, "lime": 1}
    assert check_photo(black) is None  # predict and the Test screen read it
    assert check_photo(black, to_learn_from=True) is not None


def test_real_photos_are_never_one_flat_colour(grocery: Path) -> None:
    """Studio shots with wide white backdrops (Vendure's samples, the fruit catalogue's
    iconic photos): decoded and judged, whatever their file size."""
    from app.core.frame_checks import one_colour
    from app.core.images import load_rgb
    from app.core.photo_check import FLAT_LOOK_SIDE

    iconic = grocery / "iconic-images-and-descriptions"
    photos = sorted(vendure_sample_photos().glob("*.jpg")) + sorted(iconic.rglob("*.jpg"))
    assert len(photos) >= 54 + 50
    assert not [p.name for p in photos if one_colour(load_rgb(p, max_side=FLAT_LOOK_SIDE))]


def test_a_photo_filed_under_three_products_is_a_placeholder_not_trained(
    isolated_home: Path, tmp_path: Path
) -> None:
    """The shop's logo given to every product without a photo was trained as each of them
    (the model named one at random) with a "filed under two products" line for each
    other one. Two products sharing a photo (a single and its pack) keep it, said once."""
    import shutil

    shop = tmp_path / "shop"
    logo = _photo(tmp_path / "logo.jpg", 7)
    for name in ("cola", "fanta", "sprite"):
        (shop / name).mkdir(parents=True)
        shutil.copy(logo, shop / name / "logo.jpg")
    _photo(shop / "sprite" / "can.jpg", 1)
    pack = _photo(shop / "kiwi" / "kiwi.jpg", 2)
    (shop / "kiwi-6-pack").mkdir()
    shutil.copy(pack, shop / "kiwi-6-pack" / "kiwi.jpg")
    opened = open_source(folder_source(shop))

    check = check_photos(opened.catalogue)
    found = not_used(check.report)
    placeholders = {str(shop / n / "logo.jpg") for n in ("cola", "fanta", "sprite")}
    assert set(found.unreadable) == placeholders
    why = found.unreadable[str(shop / "cola" / "logo.jpg")].plain
    assert why == "the photo of 3 products: a logo or placeholder tells them apart by nothing"
    assert found.conflicts == [(shop / "kiwi" / "kiwi.jpg", shop / "kiwi-6-pack" / "kiwi.jpg")]
    assert sorted(check.dataset.labels) == ["kiwi", "kiwi-6-pack", "sprite"]
    assert check.report.conflict_lines() == [
        "The same photo (kiwi.jpg) is filed under two products: kiwi and kiwi-6-pack"
    ]
