"""flows.standings: a model's standings read back from metadata.json, and their words."""

from __future__ import annotations

import json
from pathlib import Path

from app.core.flows.standings import (
    model_standings,
    reliability_words,
    short_why,
    trained_from_words,
)


def write_meta(folder: Path, **meta: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metadata.json").write_text(json.dumps(meta))
    return folder


def test_read_back_in_the_trainings_order_with_its_words(tmp_path: Path) -> None:
    folder = write_meta(
        tmp_path / "ours",
        labels=["apple", "kiwi", "pear"],
        validation="leave-one-photo-out",
        perProductAccuracy={"apple": 1.0, "kiwi": 0.5, "pear": None},
        productStandings={
            "pear": {"from": "catalogue", "counterPhotos": 0, "expected": None,
                     "measured": False, "gain": 0.6},
            "kiwi": {"from": "counter", "counterPhotos": 1, "expected": 0.42,
                     "measured": True, "gain": 0.2},
            "apple": {"from": "counter", "counterPhotos": 10, "expected": 0.9,
                      "measured": False, "gain": 0.0},
        },
    )  # fmt: skip
    ms = model_standings(folder)
    assert ms is not None and ms.photograph_first == ["pear", "kiwi"]
    assert [ms.rank(p) for p in ("pear", "kiwi", "apple")] == [0, 1, 2]
    pear, kiwi, apple = (ms.of(p) for p in ("pear", "kiwi", "apple"))
    assert (trained_from_words(pear), reliability_words(pear)) == (
        "catalogue photo only",
        "unknown",
    )
    assert (trained_from_words(kiwi), reliability_words(kiwi, short=True)) == (
        "1 counter photo",
        "42 %",
    )
    assert reliability_words(apple) == "expected ~90 %"
    assert short_why(pear) == "catalogue photo only"
    assert short_why(kiwi) == "1 counter photo, expected 42 %"


def test_a_model_without_standings_gives_its_labels_and_no_model_none(tmp_path: Path) -> None:
    tm = model_standings(write_meta(tmp_path / "tm", labels=["a", "b"], tmVersion="2.4.7"))
    assert tm is not None and tm.knows("a") and not tm.knows("c")
    assert tm.ranked == () and tm.of("a") is None and tm.photograph_first == []
    assert model_standings(tmp_path / "nothing") is None and model_standings(None) is None
