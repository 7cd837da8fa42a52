"""The time model reads the shop's shape: each product's photos and catalogue shots.

An average per product misjudged the shops every owner starts with (a catalogue photo
each, counter photos for some): their catalogue round was not counted, and a fruit
mixed shop's first estimate was 29 % further under than a counter-photo shop's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core import training_cost as cost
from app.core.catalogue import ADDED, FROM_FOLDER, FROM_SHOP, Catalogue, ImageRef, Product
from app.core.flows.check_photos import training_scope
from app.core.model import TrainOptions

MIXED = cost.ShopShape.of([1] * 25 + [4] * 25, [1] * 50)  # bench/domains.py's mixed shop


def test_a_mixed_shop_counts_its_catalogue_round_and_its_drawn_scenes() -> None:
    o = TrainOptions()
    assert MIXED.catalogue_only() == 25 and MIXED.both_kinds() == 25
    assert cost.pretend_rounds(MIXED, o) == cost.PRETEND_ROUNDS
    assert cost.held_back_rounds(MIXED, o) == 3  # the 25 products with four photos
    q = cost.quick_epochs(o)
    assert cost.head_passes(MIXED, o) == o.epochs + (3 + cost.PRETEND_ROUNDS) * q
    # views per product by its own photo count: 24 for one photo, 6 each for four
    assert cost.planned_views(MIXED, o) == 25 * 24 + 25 * 4 * 6
    same_photos = cost.ShopShape.even(MIXED.images, MIXED.products)  # the old reading
    extra = cost.estimate_seconds(MIXED, o) - cost.estimate_seconds(same_photos, o)
    assert extra > cost.PRETEND_ROUNDS * cost.FIT_S


@pytest.mark.parametrize(
    ("photos", "catalogue", "rounds"),
    [
        ([3] * 20, [0] * 20, 0),  # counter photos only: no catalogue round
        ([1] * 20, [1] * 20, 0),  # catalogue only: nobody can pretend
        ([4] * 20, [1] * 20, 0),  # every product has both kinds: no catalogue-only one
        ([1] * 10 + [4], [1] * 11, 0),  # one product of both kinds: too few (trainer: two)
        ([1] * 10 + [4] * 3, [1] * 13, 3),  # three pretenders: three rounds, not five
        ([1] * 500 + [3] * 500, [1] * 1000, 3),  # 1,000 pretend photos: 600 in three
        ([1] * 2500 + [3] * 2500, [1] * 5000, 2),  # past 3,000 photos: two halves
    ],
)
def test_the_catalogue_round_is_counted_where_the_trainer_runs_one(
    photos: list[int], catalogue: list[int], rounds: int
) -> None:
    shape = cost.ShopShape.of(photos, catalogue)
    assert cost.pretend_rounds(shape, TrainOptions()) == rounds
    assert cost.pretend_rounds(shape, TrainOptions(validate=False)) == 0
    assert cost.pretend_rounds(shape, TrainOptions(head="linear", augment=False)) == 0


def test_a_shape_needs_one_catalogue_count_per_product() -> None:
    assert cost.ShopShape((2, 3)).catalogue == (0, 0)
    with pytest.raises(ValueError):
        cost.ShopShape((2, 3), (1,))


def test_the_train_screen_reads_the_shop_servers_photos_as_catalogue_shots(tmp_path) -> None:
    """The estimate comes before any photo is decoded: a shop server's photos are its
    catalogue shots, the owner's added ones counter photos; unticked photos and
    products without a usable photo are left out, as the training leaves them."""
    p = [tmp_path / f"{i}.jpg" for i in range(6)]
    cat = Catalogue(
        [
            Product("a", "A", [ImageRef(p[0], FROM_SHOP)]),
            Product("b", "B", [ImageRef(p[1], FROM_SHOP), ImageRef(p[2], ADDED)]),
            Product("c", "C", [ImageRef(p[3], FROM_FOLDER), ImageRef(p[4], ADDED, False)]),
            Product("d", "D", [ImageRef(p[5], FROM_SHOP, False)]),
        ]
    )
    shape = training_scope(cat).shape
    assert shape == cost.ShopShape((1, 2, 1), (1, 1, 0))


def test_a_training_reads_what_it_saw_of_a_photo_before_where_it_came_from(
    grocery: Path, monkeypatch
) -> None:
    """The live time left (``flows.train.training_eta``) reads the studio look once a
    training has decoded the photo (a folder's catalogue shot; a shop server's photo
    that is really a counter photo), else the photo's origin, without decoding it."""
    from app.core import photo_kinds
    from app.core.dataset import build_dataset

    iconic = sorted((grocery / "iconic-images-and-descriptions").rglob("*_Iconic.jpg"))[:2]
    counter = sorted((grocery / "train" / "Fruit" / "Kiwi").glob("*.jpg"))[:2]
    cat = Catalogue(
        [
            Product("a", "A", [ImageRef(iconic[0], FROM_FOLDER), ImageRef(counter[0], ADDED)]),
            Product("b", "B", [ImageRef(iconic[1], FROM_FOLDER)]),
            Product("c", "C", [ImageRef(counter[1], FROM_SHOP)]),
        ]
    )
    dataset = build_dataset(cat)
    monkeypatch.setattr(photo_kinds, "_STUDIO_LOOK", {})  # nothing decoded yet
    assert photo_kinds.shape_of(dataset) == cost.ShopShape((2, 1, 1), (0, 0, 1))
    assert [photo_kinds.is_catalogue_photo(s) for s in dataset.samples] == [1, 0, 1, 0]
    assert photo_kinds.shape_of(dataset) == cost.ShopShape((2, 1, 1), (1, 1, 0))


def test_telling_catalogue_shots_apart_reports_as_it_goes(
    grocery: Path, tmp_path: Path, monkeypatch
) -> None:
    """10,000 photos took 8 s after the features with no report (a 5,000-product mixed
    shop): the check says how far it is every STUDIO_LOOK_CHUNK photos."""
    from app.core import photo_kinds
    from app.core.dataset import Sample
    from app.core.images import file_digest

    photos = sorted((grocery / "train" / "Fruit" / "Kiwi").glob("*.jpg"))[:5]
    samples = [Sample("kiwi", p, file_digest(p)) for p in photos]
    monkeypatch.setattr(photo_kinds, "_STUDIO_LOOK", {})
    monkeypatch.setattr(photo_kinds, "STUDIO_LOOK_CHUNK", 2)
    said: list[tuple[int, int]] = []
    photo_kinds.check_studio_looks(samples, tmp_path, lambda *a: said.append(a))
    assert said == [(2, 5), (4, 5), (5, 5)]
    assert set(photo_kinds._STUDIO_LOOK) == {s.digest for s in samples}
    said.clear()
    monkeypatch.setattr(photo_kinds, "_STUDIO_LOOK", {})  # a new process: the memo file
    photo_kinds.check_studio_looks(samples, tmp_path, lambda *a: said.append(a))
    assert said == []
