"""The train task: refuses before reading a photo, reports the time left while it trains,
and records what it was trained on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core import fingerprint
from app.core.errors import InvalidOptions
from app.core.flows.check_photos import check_photos
from app.core.flows.open_source import open_source, sample_shop
from app.core.flows.train import DEFAULT_OPTIONS, TrainOptions, TrainRequest, train
from app.core.progress import Progress


def test_bad_options_are_refused_before_any_photo_is_read(tmp_path: Path) -> None:
    opened = open_source(sample_shop())
    seen: list[Progress] = []
    with pytest.raises(InvalidOptions, match="Epochs"):
        train(TrainRequest(opened, TrainOptions(epochs=0)), on_progress=seen.append)
    assert seen == []  # not even the photo check started


@pytest.mark.slow
def test_training_reports_the_time_left_and_records_the_catalogue(
    tmp_path: Path, base_weights: Path
) -> None:
    opened = open_source(sample_shop())
    check = check_photos(opened.catalogue)
    assert not check.skipped and len(check.dataset.labels) == 6
    options = TrainOptions(epochs=2, validate=False, base_weights=base_weights)
    seen: list[Progress] = []
    out = tmp_path / "model"
    outcome = train(TrainRequest(opened, options, out, check=check), on_progress=seen.append)
    assert outcome.model_dir == out.resolve() and outcome.result.product_count == 6
    told = [p for p in seen if p.eta_s is not None]
    assert told and {p.phase for p in told} <= {"features", "validating", "training", "exporting"}
    assert all(p.eta_s >= 0 for p in told)
    meta = json.loads((out / "metadata.json").read_text())
    assert fingerprint.from_metadata(meta) == fingerprint.of_catalogue(opened.trained_on)
    assert TrainOptions() == DEFAULT_OPTIONS  # the defaults a request starts from
