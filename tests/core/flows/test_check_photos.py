"""What a photo check found, as the app's Products and Train screens read it.

Each photo training cannot use is one record with its kind and the owner's words
(:class:`~app.core.dataset.SkippedPhoto`), by path: the screens never read a reason's
text to learn what happened. A training uses the ticked photos less those.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from app.core.flows.check_photos import check_photos, not_used, training_scope
from app.core.flows.open_source import folder_source, open_source


def _photo(path: Path, seed: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def test_the_check_says_what_is_not_used_by_kind(isolated_home: Path, tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    _photo(shop / "apple" / "a1.jpg", 1)
    copy = shop / "apple" / "a2.jpg"
    copy.write_bytes((shop / "apple" / "a1.jpg").read_bytes())  # the same photo twice
    _photo(shop / "lime" / "l1.jpg", 2)
    broken = shop / "lime" / "l2.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    _photo(shop / "kiwi" / "k1.jpg", 3)
    opened = open_source(folder_source(shop))

    found = not_used(check_photos(opened.catalogue).report)
    assert set(found.unreadable) == {str(broken)} and set(found.duplicates) == {str(copy)}
    gone = found.unreadable[str(broken)]
    assert (gone.product, gone.kind.value) == ("lime", "unreadable") and gone.plain
    twice = found.duplicates[str(copy)]
    assert twice.kind.value == "duplicate" and twice.same_as == shop / "apple" / "a1.jpg"
    assert broken in found and copy in found and found.get(copy) is twice
    assert shop / "kiwi" / "k1.jpg" not in found

    scope = training_scope(opened.catalogue, check_photos(opened.catalogue).report)
    assert scope.usable == {"apple": 1, "kiwi": 1, "lime": 1}
    assert ([p.id for p in scope.products], scope.photos) == (["apple", "kiwi", "lime"], 3)
    # before any check, every ticked photo counts
    assert training_scope(opened.catalogue).photos == 5
    assert not_used(None).unreadable == {} and not_used(None).duplicates == {}
