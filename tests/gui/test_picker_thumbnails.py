"""The "No, it is…" list of a large shop: each row's first photo as a thumbnail, decoded
on the task runner only for the rows on screen, the model's top three first.

No model is needed: the picker is opened on 400 products with small real JPEGs (and a
product whose first photo is unreadable, shown by its second one).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import Qt

from app.gui.screens.recognise.choices import Choice, first_photos
from app.gui.screens.recognise.picker import ProductPicker
from app.gui.screens.recognise.thumbs import ProductThumbnails

N = 400


@pytest.fixture
def photos(tmp_path: Path) -> dict[str, tuple[Path, ...]]:
    """A photo of its own per product, each a different colour, 64 × 48 px."""
    out = {}
    for i in range(N):
        path = tmp_path / f"p{i:03d}.jpg"
        Image.new("RGB", (64, 48), (i % 256, (7 * i) % 256, 90)).save(path)
        out[f"p{i:03d}"] = (path,)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    out["p399"] = (broken, out["p399"][0])  # its first photo cannot be read
    return out


def choices(top: list[str]) -> list[Choice]:
    first = [Choice(pid, f"Product {pid}", 0.3, "") for pid in top]
    rest = [f"p{i:03d}" for i in range(N) if f"p{i:03d}" not in top]
    return first + [Choice(pid, f"Product {pid}", None, "") for pid in rest]


def test_only_the_rows_on_screen_are_decoded_top_three_first(qtbot, runner, photos) -> None:
    thumbs = ProductThumbnails(runner)
    top = ["p399", "p250", "p007"]
    picker = ProductPicker(None, choices(top), None, photos, thumbs)
    qtbot.addWidget(picker)
    picker.resize(520, 340)
    picker.show()
    shown = picker.shown_rows()
    assert shown[:3] == [0, 1, 2] and 5 < len(shown) < 40  # a screenful, not 400
    qtbot.waitUntil(lambda: len(thumbs.decoded) >= len(shown) and not thumbs.busy, timeout=10000)
    assert thumbs.decoded[:3] == [photos[p] for p in top]  # the model's top three first
    assert set(thumbs.decoded) == {picker.photos[i] for i in shown}
    # each shown row has its photo; the unreadable first photo gave way to the second
    for i in shown:
        pixmap = picker.list.item(i).icon().pixmap(thumbs.size, thumbs.size)
        assert not pixmap.isNull() and pixmap.toImage().pixelColor(20, 20).alpha() == 255
    assert thumbs.get(photos["p399"]) is not None

    # scrolled to the end: the last rows are decoded, the ones scrolled past never were
    picker.list.scrollToBottom()
    last = picker.shown_rows()
    assert last[-1] == N - 1
    qtbot.waitUntil(
        lambda: picker.photos[N - 1] in thumbs.decoded and not thumbs.busy, timeout=10000
    )
    assert len(thumbs.decoded) < len(shown) + len(last) + 2
    assert picker.photos[N // 2] not in thumbs.decoded

    # the search finds as before; a row it shows gets its thumbnail
    qtbot.keyClicks(picker.search, "p123")
    visible = [i for i in range(picker.list.count()) if not picker.list.item(i).isHidden()]
    assert [picker.list.item(i).data(Qt.ItemDataRole.UserRole + 1) for i in visible] == ["p123"]
    qtbot.waitUntil(lambda: photos["p123"] in thumbs.decoded, timeout=10000)
    picker.reject()


def test_first_photos_ticked_first_and_none_for_a_product_without() -> None:
    from app.core.catalogue import Catalogue, ImageRef, Product

    a, b, c = Path("a.jpg"), Path("b.jpg"), Path("c.jpg")
    cat = Catalogue(
        [
            Product("1", "One", [ImageRef(a, included=False), ImageRef(b), ImageRef(c)]),
            Product("2", "Two", []),
        ]
    )
    assert first_photos(cat) == {"1": (b, c, a)}
    assert first_photos(None) == {}
