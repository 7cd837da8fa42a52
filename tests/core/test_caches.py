"""The app's caches keep what is used and let go of what is not.

The downloaded shop photos and the photos' features grew for ever: every photo a shop
ever replaced, and the features of every base model size or input side used once (the
upgrade from 224 to 256 pixels left all of the 224 ones). A file not used for 60 days
goes, at most one sweep a day, after a training.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from app.core import paths
from app.core.feature_store import FeatureStore

DAY = 86400.0


def aged(path: Path, days: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_bytes(b"x")
    then = time.time() - days * DAY
    os.utime(path, (then, then))
    return path


def test_a_sweep_removes_what_was_not_used_for_sixty_days_once_a_day(tmp_path: Path) -> None:
    old = aged(tmp_path / "ab" / "old.jpg", 61)
    recent = aged(tmp_path / "cd" / "recent.jpg", 59)
    used = aged(tmp_path / "ef" / "used.jpg", 200)
    paths.touch_used(used)

    assert paths.sweep_unused(tmp_path) == 1

    assert not old.exists() and not old.parent.exists()  # its emptied folder too
    assert recent.exists() and used.exists()
    aged(tmp_path / "gh" / "later.jpg", 90)
    assert paths.sweep_unused(tmp_path) == 0  # the next one waits a day
    assert paths.sweep_unused(tmp_path, every_s=0) == 1


def test_a_feature_read_from_the_cache_counts_as_used(tmp_path: Path) -> None:
    store = FeatureStore(tmp_path)
    store.put("m", "d" * 32, 2, 0, np.ones((2, 4), np.float32))
    (entry,) = tmp_path.rglob("*.npy")
    aged(entry, 90)

    assert store.get("m", "d" * 32, 2, 0) is not None

    assert time.time() - entry.stat().st_mtime < DAY
    assert paths.sweep_unused(tmp_path) == 0 and entry.exists()


@pytest.mark.slow
def test_a_training_sweeps_both_caches(base_weights: Path, tmp_path: Path) -> None:
    from app.core.flows.open_source import open_source, sample_shop
    from app.core.flows.train import TrainOptions, TrainRequest, train

    stale_photo = aged(paths.image_cache_dir() / "0a" / ("0a" * 32 + ".jpg"), 61)
    stale_features = aged(paths.feature_cache_dir() / "224-key" / "0a" / "0a-s0.npy", 61)
    options = TrainOptions(epochs=2, validate=False, base_weights=base_weights)

    train(TrainRequest(open_source(sample_shop()), options, tmp_path / "model"))

    assert not stale_photo.exists() and not stale_features.exists()
    assert any(paths.feature_cache_dir().rglob("*.npy"))  # this training's, kept


@pytest.mark.slow
def test_a_shop_photo_taken_from_the_cache_counts_as_used(vendure, isolated_home: Path) -> None:
    from vendure_server.fixtures import GROCERY, add_channel

    from app.core.flows.login import log_in
    from app.core.shop import fetch_catalogue

    api, ch = add_channel(vendure, "cache-use")
    photos = sorted((GROCERY / "train" / "Fruit" / "Banana").glob("*.jpg"))[:2]
    api.create_product("Banana", [a["id"] for a in api.upload_assets(photos)])
    client = log_in(vendure.url, vendure.admin_user, lambda: vendure.admin_password)
    client.select_channel(ch.code)
    fetch_catalogue(client)
    cached = [p for p in paths.image_cache_dir().rglob("*") if p.is_file()]
    assert len(cached) == 2
    for p in cached:
        aged(p, 90)

    fetch_catalogue(client)  # from the cache: nothing downloaded

    assert all(time.time() - p.stat().st_mtime < DAY for p in cached)


def test_a_sweep_stamped_while_the_clock_was_ahead_holds_no_sweep_off(tmp_path: Path) -> None:
    """The last sweep's stamp a year ahead (the clock since put right): no sweep ran for
    a year, whatever the caches held."""
    aged(tmp_path / paths._SWEPT, -365)
    old = aged(tmp_path / "ab" / "old.jpg", 400)
    assert paths.sweep_unused(tmp_path) == 1 and not old.exists()
