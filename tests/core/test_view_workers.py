"""The cores while features are computed: the feature model's threads and the view
workers (:mod:`app.core.view_workers`; their effect on extraction is tested through
``features.extract`` in test_features.py)."""

from __future__ import annotations

import time

from app.core import view_workers


def test_the_cores_are_shared_between_the_model_and_the_views(monkeypatch) -> None:
    """Two cores: one thread for the model, two view workers, one of them paused while the
    model runs (three busy threads on two cores: a view took 2.86 ms, not 2.4)."""
    for cores, want in ((1, (1, 1)), (2, (1, 2)), (4, (2, 4)), (6, (3, 6)), (32, (8, 8))):
        monkeypatch.setattr(view_workers.os, "sched_getaffinity", lambda _p, n=cores: set(range(n)))
        assert view_workers.split_cores() == want


def test_made_in_order_keeps_order_and_a_closed_window_starts_nothing_more() -> None:
    started: list[int] = []

    def make(job: int) -> int:
        started.append(job)
        time.sleep(0.01 * (job % 3))  # finish out of order
        return job * 10

    window = view_workers.made_in_order(make, range(40), lambda j: 2, ahead=8, workers=2)
    assert [next(window) for _ in range(5)] == [0, 10, 20, 30, 40]
    assert len(started) <= 5 + 4 + 2  # the window: 8 views of 2 each, and the workers
    window.close()
    time.sleep(0.05)
    assert len(started) < 40  # the rest were never started
    again = view_workers.made_in_order(make, range(12), lambda j: 1, ahead=3, workers=2)
    assert list(again) == [j * 10 for j in range(12)]
