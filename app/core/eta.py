"""Time left for a training, from what this computer actually does (no Qt).

A fraction-based guess ("elapsed × (1 − f) / f") is wrong for training: loading the
engine takes seconds at 2 %, studying the photos dominates, the rest is quick. So no
figure is shown until the first batch of photo variations is done; from then on, the
measured time per variation predicts the rest of that step, and the steps after it
(held-back check, fitting, export) scale with the same measured speed and are counted
down once they run.
"""

from __future__ import annotations

from collections.abc import Callable

from .progress import Phase, Progress


class TrainingEta:
    """``update(progress, now)`` → seconds left, or None while not yet known."""

    def __init__(self, views: int, after_features: Callable[[int, float | None], float]) -> None:
        self.views = views  # all views of the run (cached ones too: fitting uses them)
        self._after = after_features  # (views, seconds per view) -> seconds
        self._first: tuple[float, int] | None = None  # (time, done) at the first batch
        self.seconds_per_view: float | None = None  # measured here, for the next estimate
        self._last_features: float | None = None  # when the last batch was done
        self._post_start: tuple[float, float] | None = None  # (time, fraction)
        self._post_total: float | None = None
        self._last: tuple[float, float | None] = (0.0, None)

    def update(self, p: Progress, now: float) -> float | None:
        left = self._update(p, now)
        self._last = (now, left)
        return left

    def left(self, now: float) -> float | None:
        """The last figure counted down, between progress reports (which can be seconds
        apart: one held-back round reports once)."""
        t, left = self._last
        return None if left is None else max(0.0, left - (now - t))

    def _update(self, p: Progress, now: float) -> float | None:
        if p.phase == Phase.FEATURES:
            if "done" not in p.metrics or "total" not in p.metrics:
                return None
            done, total = int(p.metrics["done"]), int(p.metrics["total"])
            self._last_features = now
            if self._first is None or done < self._first[1]:
                self._first = (now, done)
                return None  # the first batch includes building the model: not a rate
            t1, d1 = self._first
            if done <= d1:
                return None
            self.seconds_per_view = (now - t1) / (done - d1)
            return (total - done) * self.seconds_per_view + self._after(
                self.views, self.seconds_per_view
            )
        if p.phase in (Phase.VALIDATING, Phase.TRAINING, Phase.EXPORTING):
            if self._post_start is None:
                start = self._last_features if self._last_features is not None else now
                self._post_start = (start, p.fraction)
                self._post_total = self._after(self.views, self.seconds_per_view)
            # The bar's fraction is no clock here (the held-back check takes most of the
            # time, the training passes fly): count down the plan made at this speed.
            t0, _f0 = self._post_start
            assert self._post_total is not None
            return max(0.0, self._post_total - (now - t0))
        return None


def describe_left(seconds: float | None, fmt: Callable[[float], str]) -> str:
    """ "about 40 s left"; "almost done" at the end rather than "about 0 s"."""
    if seconds is None:
        return ""
    if seconds < 3:
        return "almost done"
    return f"about {fmt(seconds)} left"
