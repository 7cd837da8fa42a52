"""Text the app does not write itself is shown as text, never as HTML.

Found by a security audit: product names (a catalogue clerk types them; a hand-edited
``metadata.json`` carries them) went unescaped into the Model screen's rich-text summary,
and the banners, which opened links in the browser, showed the server's own words
("Login refused by …: <message>"): a name or a message that looks like HTML became a
clickable link or an image.
"""

from __future__ import annotations

import json
import shutil

from PySide6.QtCore import Qt
from PySide6.QtGui import Qt as QtGui
from PySide6.QtWidgets import QLabel

from app.core.errors import ShopError
from app.gui.tasks import TaskError
from app.gui.widgets import Banner

LINK = "<a href='https://evil.example'>log in again</a>"
IMAGE = "<img src=x>"
BOLD = "<b>Lemon"
NAMES = [f"{IMAGE}Cola", f"{LINK}Kiwi", BOLD, "Mango", "Oat milk"]


def renders_html(label: QLabel) -> bool:
    fmt = label.textFormat()
    return fmt == Qt.TextFormat.RichText or (
        fmt == Qt.TextFormat.AutoText and QtGui.mightBeRichText(label.text())
    )


def html_shown(window) -> list[str]:
    """The labels that would draw an injected tag as HTML."""
    return [
        f"{type(w.parent()).__name__}: {w.text()[:120]}"
        for w in window.findChildren(QLabel)
        if renders_html(w) and any(tag in w.text() for tag in (IMAGE, LINK[:30], BOLD))
    ]


def test_names_from_a_model_are_text_on_every_screen_showing_them(
    qtbot, window, tm_export, grocery, tmp_path
):
    model = tmp_path / "model"
    shutil.copytree(tm_export, model)
    meta = json.loads((model / "metadata.json").read_text())
    meta |= {"labels": NAMES, "modelName": LINK, "imageCount": IMAGE}
    (model / "metadata.json").write_text(json.dumps(meta))
    window.show_screen("model")
    window.session.set_model_dir(model)
    qtbot.waitUntil(lambda: window.model.model is not None, timeout=20000)
    summary = window.model.summary.text()
    assert "&lt;img src=x&gt;Cola" in summary and "Recognises 5 products" in summary
    window.show_screen("test")
    screen = window.test.screen
    qtbot.waitUntil(lambda: "Oat milk" in screen.model_label.text(), timeout=30000)
    photo = sorted((grocery / "test" / "Fruit" / "Kiwi").rglob("*.jpg"))[0]
    with qtbot.waitSignal(screen.images_done, timeout=30000):
        screen.open_images([photo])
    screen.results.setCurrentRow(0)
    qtbot.waitUntil(lambda: bool(screen.rows[0].name.text()), timeout=5000)
    assert html_shown(window) == []


def test_a_banner_shows_the_servers_words_as_they_are(qtbot):
    banner = Banner()
    qtbot.addWidget(banner)
    banner.show_failure(TaskError(ShopError(f"Login refused by the shop: {LINK}"), ""))
    assert banner.textFormat() == Qt.TextFormat.PlainText
    assert banner.text().endswith(LINK) and not banner.openExternalLinks()


def test_the_model_summary_escapes_names():
    from app.gui.screens.model.summary import summary_html

    meta = {"labels": ["a", "b"], "labelNames": [IMAGE, LINK], "imageCount": 4}
    html = summary_html(meta, {})
    assert IMAGE not in html and LINK not in html
    assert "&lt;img src=x&gt;" in html and "&lt;a href=&#x27;https://evil.example&#x27;&gt;" in html


def test_names_from_a_photo_folder_are_text_on_products_and_train(qtbot, window, grocery, tmp_path):
    shop = tmp_path / "shop"
    for name, source in ((f"{IMAGE}Cola", "Fruit/Kiwi"), (BOLD, "Fruit/Lemon")):
        (shop / name).mkdir(parents=True)
        for p in sorted((grocery / "train" / source).glob("*.jpg"))[:2]:
            shutil.copy(p, shop / name / p.name)
    window.login.use_folder(shop)
    qtbot.waitUntil(lambda: window.session.report is not None, timeout=10000)
    window.show_screen("products")
    products = window.products
    titles = []
    for row in range(products.proxy.rowCount()):
        products.table.selectRow(row)
        qtbot.wait(50)
        titles.append(products.photos.product_title.text())
        assert html_shown(window) == []
    assert any("&lt;img src=x&gt;Cola" in t for t in titles)
    assert any("&lt;b&gt;Lemon" in t for t in titles)
    window.show_screen("train")
    assert html_shown(window) == []


def test_questions_name_products_as_text(qtbot):
    from PySide6.QtWidgets import QWidget

    from app.gui.confirm import ask_later

    owner = QWidget()
    qtbot.addWidget(owner)
    box = ask_later(owner, "Remove", f"Delete the photos of {IMAGE}Cola?", "Delete", lambda: None)
    assert box.textFormat() == Qt.TextFormat.PlainText and IMAGE in box.text()
    box.done(0)  # answered "No": no question left open for the next test
