"""Which products to photograph first, and how reliable each one is (issue 15)."""

from __future__ import annotations

import pytest

from app.core.model import standings_from_metadata
from app.core.photo_advice import MORE_PHOTOS, describe, relative, standings


def test_the_learning_curve_passes_through_the_measured_points_and_never_falls() -> None:
    assert relative(3) == pytest.approx(1.0)
    assert relative(1) == pytest.approx(0.70)
    assert relative(10) == pytest.approx(1.15)
    ks = [0.5, 1, 2, 3, 4, 6, 10, 30]
    values = [relative(k) for k in ks]
    assert values == sorted(values) and relative(0) == 0.0


def test_in_a_mixed_shop_catalogue_only_products_come_first_then_the_fewest_photos() -> None:
    labels = ["apple", "kiwi", "lemon", "melon"]
    ranked = standings(
        labels,
        counter_photos={"apple": 3, "kiwi": 1, "lemon": 10, "melon": 0},
        catalogue_only=["melon"],
        per_product={"apple": 0.9, "kiwi": None, "lemon": 1.0, "melon": None},
        shop_accuracy=0.6,
        catalogue_only_accuracy=0.15,
    )
    assert [s.product for s in ranked] == ["melon", "kiwi", "apple", "lemon"]
    melon, kiwi, apple, lemon = ranked
    assert melon.trained_from == "catalogue" and melon.expected == pytest.approx(0.15)
    assert melon.gain == pytest.approx(0.6 - 0.15)  # three counter photos: the shop's rate
    assert kiwi.expected == pytest.approx(0.6 * 0.7) and not kiwi.measured
    assert kiwi.gain == pytest.approx(0.6 * relative(1 + MORE_PHOTOS) - 0.6 * 0.7, abs=5e-4)
    # its own three held-back photos, pulled toward the shop's rate by two photos' weight
    assert apple.measured and apple.expected == pytest.approx((0.9 * 3 + 0.6 * 2) / 5, abs=5e-4)
    assert lemon.gain == 0.0  # at the top of the curve already
    # ten counter photos, but held back at most three of them: weighed as 3 photos
    # (as 10 it read 95 % where 88 % is what its evidence supports)
    lemon_prior = 0.6 * relative(10) / relative(3)
    assert lemon.measured and lemon.counter_photos == 10
    assert lemon.expected == pytest.approx((1.0 * 3 + lemon_prior * 2) / 5, abs=5e-4)
    assert "catalogue photo only" in describe(melon, "Melon") and "15%" in describe(melon, "M")


def test_a_fresh_standing_says_the_percentage_its_saved_copy_says() -> None:
    """The Train screen shows a fresh result, Products the saved metadata.json: one
    product once read 95 % on one and 94 % on the other (0.9454 against 0.945)."""
    (s,) = standings(
        ["beans"],
        counter_photos={"beans": 3},
        catalogue_only=[],
        per_product={"beans": 0.9756},
        shop_accuracy=0.9,
        catalogue_only_accuracy=None,
    )
    (saved,) = standings_from_metadata({"productStandings": {"beans": s.to_json()}}, ["beans"])
    assert s.expected == saved.expected == 0.945 and s.gain == saved.gain
    assert describe(s, "Beans") == describe(saved, "Beans")
    assert "expected to be recognised 94%" in describe(s, "Beans")


def test_a_catalogue_only_shop_ranks_the_most_confusable_first_and_says_reliability_is_unknown():
    labels = ["a", "b", "c"]
    ranked = standings(
        labels,
        counter_photos={},
        catalogue_only=labels,
        per_product={},
        shop_accuracy=None,
        catalogue_only_accuracy=None,
        confusable={"a": 0.2, "b": 0.9, "c": 0.5},
    )
    assert [s.product for s in ranked] == ["b", "c", "a"]
    assert all(s.expected is None for s in ranked)
    assert "unknown until it has counter photos" in describe(ranked[0], "B")


def test_standings_survive_metadata_json_in_their_order_and_damage_is_skipped() -> None:
    ranked = standings(
        ["x", "y"],
        counter_photos={"x": 1, "y": 0},
        catalogue_only=["y"],
        per_product={"x": 0.5},
        shop_accuracy=0.5,
        catalogue_only_accuracy=0.2,
    )
    meta = {"productStandings": {s.product: s.to_json() for s in ranked}}
    meta["productStandings"]["gone"] = {"from": "counter"}  # not a label: skipped
    back = standings_from_metadata(meta, ["x", "y"])
    assert [s.product for s in back] == [s.product for s in ranked] == ["y", "x"]
    assert back[0].trained_from == "catalogue" and back[0].expected == pytest.approx(0.2)
    assert standings_from_metadata({"productStandings": [1, 2]}, ["x"]) == []
