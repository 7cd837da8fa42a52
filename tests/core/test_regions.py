"""The cut-out's flood fill, against a plain breadth-first search (Pillow's flood fill,
which it replaced, is the same 4-connected fill) and on shapes a sweep could miss."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from PIL import Image, ImageDraw

from app.core.regions import largest_part, reach


def _bfs(allowed: np.ndarray, start: tuple[int, int]) -> np.ndarray:
    out = np.zeros_like(allowed)
    if not allowed[start]:
        return out
    todo = deque([start])
    out[start] = True
    h, w = allowed.shape
    while todo:
        y, x = todo.popleft()
        for v, u in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
            if 0 <= v < h and 0 <= u < w and allowed[v, u] and not out[v, u]:
                out[v, u] = True
                todo.append((v, u))
    return out


@pytest.mark.parametrize("density", [0.45, 0.55, 0.6, 0.7])
def test_reach_is_the_four_connected_flood_fill(density: float) -> None:
    rng = np.random.default_rng(int(density * 100))
    for _ in range(20):
        allowed = rng.random((40, 57)) < density
        y, x = np.argwhere(allowed)[0]
        seed = np.zeros_like(allowed)
        seed[y, x] = True
        np.testing.assert_array_equal(reach(allowed, seed), _bfs(allowed, (y, x)))


def test_a_spiral_corridor_and_a_diagonal_gap_are_followed_and_kept_apart() -> None:
    """A path that turns many times (one sweep a turn) and two squares that touch only
    at a corner (not 4-connected: Pillow's fill did not cross there either)."""
    im = Image.new("L", (61, 61), 0)
    d = ImageDraw.Draw(im)
    for k in range(0, 30, 4):  # nested square rings joined by gaps: a long corridor
        d.rectangle((k, k, 60 - k, 60 - k), outline=255)
        if k + 2 < 30:
            d.point((k + 2, k + 1), 255)
    allowed = np.asarray(im) > 0
    seed = np.zeros_like(allowed)
    seed[0, 0] = True
    np.testing.assert_array_equal(reach(allowed, seed), _bfs(allowed, (0, 0)))
    two = np.zeros((6, 6), bool)
    two[:3, :3] = two[3:, 3:] = True
    seed = np.zeros_like(two)
    seed[0, 0] = True
    assert reach(two, seed).sum() == 9
    assert largest_part(two) == 0.5
    assert largest_part(np.zeros((4, 4), bool)) == 0.0
