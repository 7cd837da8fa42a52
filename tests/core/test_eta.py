"""The live time-left: no figure until a measured rate exists, then that rate."""

from __future__ import annotations

from app.core.eta import TrainingEta
from app.core.progress import Progress


def test_live_eta_waits_for_the_first_batch_then_uses_the_measured_rate():
    eta = TrainingEta(600, lambda views, spv: 5.0)
    assert eta.update(Progress("preparing", 0.03, "Loading the recognition engine"), 0.0) is None
    p = Progress("features", 0.1, "32 of 600", metrics={"done": 32, "total": 600})
    assert eta.update(p, 3.0) is None  # the first batch includes building the model
    left = eta.update(
        Progress("features", 0.2, "96 of 600", metrics={"done": 96, "total": 600}), 5.0
    )
    assert eta.seconds_per_view == 2.0 / 64
    assert left == (600 - 96) * (2.0 / 64) + 5.0
    post = eta.update(Progress("validating", 0.75, "1 of 3"), 25.0)
    assert post is not None and post <= 5.0


def test_real_feature_extraction_feeds_the_time_left(base_weights, grocery) -> None:
    """The counts come from the feature step itself (metrics), not from its wording."""
    from app.core.features import extract
    from app.core.images import file_digest
    from app.core.progress import Reporter

    photos = sorted((grocery / "train" / "Fruit" / "Kiwi").glob("*.jpg"))[:3]
    events: list[Progress] = []
    extract(
        [(p, file_digest(p), 48) for p in photos],  # three batches of FEATURE_BATCH
        weights=base_weights,
        alpha=0.35,
        progress=Reporter(events.append),
    )
    feats = [p for p in events if p.phase == "features"]
    assert len(feats) >= 3 and all(p.metrics["total"] == 144 for p in feats)
    eta = TrainingEta(144, lambda views, spv: 1.0)
    lefts = [eta.update(p, float(i)) for i, p in enumerate(feats)]
    assert lefts[0] is None and eta.seconds_per_view is not None and lefts[1] is not None
