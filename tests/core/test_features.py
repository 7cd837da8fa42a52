"""Feature extraction's pipeline: photos' views are made in a thread pool while the model
runs batches. The window of views in flight must be bounded (memory) and wide enough that
the next batch is ready when the model finishes one (speed: with a window of 8 photos
the two took turns)."""

from __future__ import annotations

import threading
import time

import numpy as np
from PIL import Image

from app.core import features
from app.core.features import FeatureStore, extract

BATCH = 16


def _pipeline(monkeypatch, tmp_path, n_photos: int, views: int) -> tuple[list[int], dict]:
    """Run ``extract`` with a model that takes 50 ms a batch; returns, at each batch,
    how many views had been made beyond those the model had been given."""
    lock = threading.Lock()
    made = [0]
    seen = [0]
    ahead: list[int] = []

    def fake_view(rgb: np.ndarray, digest: str, v: int, seed: int, size: int) -> np.ndarray:
        with lock:
            made[0] += 1
        return np.full((size, size, 3), v, np.uint8)

    def fake_model(images: np.ndarray) -> np.ndarray:
        with lock:
            ahead.append(made[0] - seen[0] - len(images))
            seen[0] += len(images)
        time.sleep(0.05)  # the model's work; the GIL is free, as in the interpreter
        return images[:, 0, 0, :1].astype(np.float32)

    monkeypatch.setattr(features, "view_of", fake_view)
    monkeypatch.setattr(features, "image_features", lambda *a, **k: fake_model)
    items = []
    for i in range(n_photos):
        p = tmp_path / f"{i}.png"
        Image.new("RGB", (32, 32), (i % 255, 0, 0)).save(p)
        items.append((p, f"d{i}", views))
    out, failed = extract(
        items,
        weights=tmp_path / "0.png",
        alpha=0.35,
        size=8,
        store=FeatureStore(tmp_path / "store"),
        batch_size=BATCH,
    )
    assert not failed
    return ahead, out


def test_views_for_the_next_batch_are_made_while_the_model_runs(monkeypatch, tmp_path) -> None:
    ahead, out = _pipeline(monkeypatch, tmp_path, n_photos=160, views=1)
    assert len(out) == 160 and all(a.shape == (1, 1) for a in out.values())
    # after the first batch, the next one was ready (with 8 photos in flight: at most 8)
    assert min(ahead[1:-2]) >= BATCH, ahead


def test_views_in_flight_stay_bounded(monkeypatch, tmp_path) -> None:
    ahead, out = _pipeline(monkeypatch, tmp_path, n_photos=120, views=3)
    assert [out[f"d{i}"][:, 0].tolist() for i in (0, 119)] == [[0, 1, 2]] * 2
    # 360 views in all; never more than the window (3 batches) and one photo beyond it
    assert max(ahead) <= 3 * BATCH + 3, ahead


def test_the_cores_are_shared_between_the_model_and_the_views(monkeypatch) -> None:
    """Two cores: one thread for the model, one view worker (with two workers beside the
    model's thread, three busy threads on two cores, a view took 2.86 ms, not 2.4)."""
    for cores, want in ((1, (1, 1)), (2, (1, 1)), (4, (2, 2)), (6, (3, 3)), (32, (8, 8))):
        monkeypatch.setattr(features.os, "sched_getaffinity", lambda _p, n=cores: set(range(n)))
        assert features.split_cores() == want
