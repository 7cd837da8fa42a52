"""The Test screen's memory of recent live pictures (plain Python and NumPy, no Qt).

Two short memories: the last :data:`RECENT_FRAMES` *different* pictures, for "Add frames
to counter frames" (a still counter, or a looping video, is kept once, not ten times;
blank ones never), and the last second or so of pictures, which a cashier's answer
teaches with its neighbours.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from ...camera.images import is_blank

# "Add frames to counter frames" stores the last this many different pictures, taken
# at most one per RECENT_EVERY_S seconds of live video.
RECENT_FRAMES = 10
RECENT_EVERY_S = 0.5
# Mean grey difference (0..255, on a 32-pixel-wide thumbnail) under which a picture is
# the same as one already kept: a still counter is kept once, not ten times.
SAME_PICTURE = 2.0
# A live correction's neighbouring frames: from the last NEIGHBOUR_S seconds, at most
# one per NEIGHBOUR_EVERY_S (the core keeps the sharp, varied ones).
NEIGHBOUR_S = 1.2
NEIGHBOUR_EVERY_S = 0.1


class RecentPictures:
    """What the live source showed lately. Frames are the sources' read-only arrays,
    never changed by them: kept without a copy."""

    def __init__(self) -> None:
        # (small grey signature, frame) of the last different pictures
        self._different: deque[tuple[np.ndarray, np.ndarray]] = deque(maxlen=RECENT_FRAMES)
        self._different_at = 0.0
        # (time, frame) of the last live pictures: a correction's neighbours
        self._burst: deque[tuple[float, np.ndarray]] = deque(maxlen=16)

    def clear(self) -> None:
        self._different.clear()
        self._burst.clear()

    def seen(self, rgb: np.ndarray, now: float, live: bool) -> bool:
        """A new picture arrived (``live``: from a camera, video or frames); True when it
        was kept as a different one (the count "Add frames…" would store changed)."""
        if not self._burst or now - self._burst[-1][0] >= NEIGHBOUR_EVERY_S:
            self._burst.append((now, rgb))
        if not live or now - self._different_at < RECENT_EVERY_S:
            return False
        self._different_at = now
        if is_blank(rgb):
            return False
        step = max(1, rgb.shape[1] // 32)
        sig = np.asarray(rgb[::step, ::step], dtype=np.float32).mean(axis=2)
        for kept, _ in self._different:  # a still counter, or a looping video: kept once
            if kept.shape == sig.shape and np.abs(sig - kept).mean() < SAME_PICTURE:
                return False
        self._different.append((sig, rgb))
        return True

    @property
    def count(self) -> int:
        """Different pictures "Add frames to counter frames" would store now."""
        return len(self._different)

    def take(self) -> list[np.ndarray]:
        """The different pictures, forgotten here (they are being stored)."""
        frames = [rgb for _, rgb in self._different]
        self._different.clear()
        return frames

    def neighbours(self, of: np.ndarray, now: float) -> list[np.ndarray]:
        """The pictures of the last :data:`NEIGHBOUR_S` seconds but ``of`` itself."""
        return [f for t, f in self._burst if now - t <= NEIGHBOUR_S and f is not of]
