"""Issue 22 item 4: Products with 5,000 products, through its real widgets — thumbnails
only for the rows in view (none for the rows a scroll flies past), and a search.

The stalls themselves are measured by ``bench/responsiveness.py --scenarios
products5000`` (timings do not belong in a test on a shared CI machine); this pins the
laziness that keeps them small.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from PySide6.QtWidgets import QApplication

N = 5000


def tiny_shop(root: Path, n: int) -> Path:
    """``n`` products of one small photo each, every file different (bytes after the
    JPEG's end, which decoders ignore), so the photo check finds no duplicates."""
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 120, 40)).save(buf, "JPEG")
    jpeg = buf.getvalue()
    for i in range(n):
        d = root / f"product-{i:05d}"
        d.mkdir(parents=True)
        (d / "photo.jpg").write_bytes(jpeg + str(i).encode())
    return root


def test_5000_products_ask_thumbnails_only_for_rows_in_view(qtbot, window, tmp_path) -> None:
    folder = tiny_shop(tmp_path / "supermarket", N)
    window.resize(1180, 780)
    window.login.use_folder(folder)
    screen = window.products
    qtbot.waitUntil(lambda: screen.model.rowCount() == N, timeout=30000)
    qtbot.waitUntil(lambda: window.session.report is not None, timeout=60000)
    thumbs, table = window.session.thumbnails, screen.table
    in_view = table.viewport().height() // table.rowHeight(0) + 1
    qtbot.waitUntil(lambda: thumbs.requested > 0 and not thumbs.busy(), timeout=10000)
    # the rows in view, and the chosen product's photo in the panel beside them
    assert in_view - 2 <= thumbs.requested <= in_view + 2, (thumbs.requested, in_view)

    bar, asked = table.verticalScrollBar(), thumbs.requested
    while bar.value() < bar.maximum():  # top to bottom, three pages at a time
        bar.setValue(bar.value() + 3 * bar.pageStep())
        QApplication.processEvents()
    last = screen.model.products[-1].images[0].path
    qtbot.waitUntil(lambda: thumbs.peek(last) is not None, timeout=10000)  # it stood still
    qtbot.waitUntil(lambda: not thumbs.busy(), timeout=10000)
    assert thumbs.requested - asked <= in_view + 1, (thumbs.requested - asked, in_view)

    qtbot.keyClicks(screen.search, "04321")
    assert screen.proxy.rowCount() == 1
    assert screen.proxy.index(0, 0).data() == "product-04321"
    screen.search.clear()
    assert screen.proxy.rowCount() == N
