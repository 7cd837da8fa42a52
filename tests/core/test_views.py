"""A photo's views are a pure function of its content, index and seed: the reduction kept
between a photo's views (``views._SHRUNK``) must never change one."""

from __future__ import annotations

import gc
import weakref

import numpy as np

from app.core import views
from app.core.images import load_rgb


def _fresh(rgb: np.ndarray, digest: str, v: int) -> np.ndarray:
    views._SHRUNK.clear()
    return views.view_of(rgb, digest, v, 0, 224)


def test_kept_reductions_give_the_same_views_in_any_order(grocery) -> None:
    photo = sorted((grocery / "train" / "Fruit" / "Kiwi").glob("*.jpg"))[0]
    rgb = load_rgb(photo)
    alone = {v: _fresh(rgb, "kiwi", v) for v in range(1, 12)}
    views._SHRUNK.clear()
    for v in [*range(1, 12), *reversed(range(1, 12))]:
        np.testing.assert_array_equal(views.view_of(rgb, "kiwi", v, 0, 224), alone[v])
    assert views._SHRUNK  # the reductions were kept (and used)


def test_a_new_photo_never_gets_a_freed_photo_s_reduction() -> None:
    """Keyed by the array's id, checked by a weak reference: an entry left by a freed
    array whose id a new photo now has (planted here: reuse of an address is luck) is a
    miss, not another photo's pixels."""
    from PIL import Image

    old = np.zeros((600, 500, 3), np.uint8)
    dead = weakref.ref(old)
    del old
    gc.collect()
    assert dead() is None
    new = np.random.default_rng(0).integers(0, 256, (600, 500, 3), dtype=np.uint8)
    want = {v: _fresh(new, "new", v) for v in range(1, 9)}
    views._SHRUNK.clear()
    black = Image.new("RGB", (400, 336))
    for side in (336, 224, 149):
        views._SHRUNK[id(new), side] = (dead, black)
    for v in range(1, 9):
        np.testing.assert_array_equal(views.view_of(new, "new", v, 0, 224), want[v])
    assert views.known_cut("new").kind == "shop"  # its views reduce the photo
