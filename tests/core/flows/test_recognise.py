"""Testing a model: the exported files recognise photos, each with the till's decision."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.calibration import Decision
from app.core.flows.recognise import (
    TOP_K,
    LoadedModel,
    load_model,
    recognise,
    recognise_files,
)


@pytest.fixture(scope="module")
def loaded(tm_export: Path) -> LoadedModel:
    return load_model(tm_export, warm_up=True)


def test_photos_get_matches_and_the_tills_decision(
    loaded: LoadedModel, grocery: Path, tmp_path: Path
) -> None:
    kiwi = sorted((grocery / "train" / "Fruit" / "Kiwi").glob("*.jpg"))[0]
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a photo")
    seen = []
    good, bad = recognise_files(loaded, [kiwi, broken], top=2, on_progress=seen.append)
    assert len(good.matches) == 2 and good.error == ""
    assert good.matches[0].probability >= good.matches[1].probability
    assert good.matches[0].name == loaded.names[good.matches[0].label]
    assert isinstance(good.decision, Decision) and len(good.decision.top) == TOP_K
    assert good.decision.threshold == loaded.accept_threshold
    assert good.said.startswith("Sure: " if good.decision.sure else "Not sure — ")
    assert bad.decision is None and bad.matches == [] and bad.said == ""
    assert "broken.jpg" in bad.error
    assert seen[-1].fraction == 1.0 and good.image is None


def test_one_picture_and_kept_images(loaded: LoadedModel, grocery: Path) -> None:
    kiwi = sorted((grocery / "train" / "Fruit" / "Kiwi").glob("*.jpg"))[0]
    [r] = recognise_files(loaded, [kiwi], keep_images=True)
    assert r.image is not None and r.image.ndim == 3
    matches, decision = recognise(loaded, r.image, top=1)
    assert len(matches) == 1 and len(decision.top) == TOP_K
    assert [m.label for m in matches] == [m.label for m in r.matches[:1]]
