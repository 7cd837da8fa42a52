"""Products at 800×600: the counter panels keep to one line, so the list and photos get room."""

from __future__ import annotations

from app.gui.counter.panels import NO_FRAMES, WHY_EMPTY


def _at_most_two_lines(label) -> bool:
    return label.height() < 3 * label.fontMetrics().lineSpacing()


def _one_button_tall(panel) -> bool:
    """The panel is no taller than its button: its text keeps to one line."""
    return panel.height() <= panel.capture_button.sizeHint().height() + 12


def test_counter_panels_fold_their_reason_into_the_tooltip_when_narrow(
    qtbot, window, shop_folder
) -> None:
    window.resize(1366, 768)
    window.login.use_folder(shop_folder)
    window.show_screen("products")
    p = window.products
    counter, empty = p.counter, p.empty_counter
    qtbot.waitUntil(lambda: counter.isVisible() and empty.isVisible(), timeout=20000)
    # wide: the whole sentence, why included, on at most two lines
    qtbot.waitUntil(lambda: counter.text.text() == NO_FRAMES)
    assert WHY_EMPTY in empty.text.text()
    assert _at_most_two_lines(counter.text) and _at_most_two_lines(empty.text)

    window.resize(800, 600)
    qtbot.waitUntil(lambda: counter.text.text() == "<b>No counter frames yet</b>")
    qtbot.waitUntil(lambda: empty.text.text() == "<b>Empty counter: no photos yet</b>")
    for panel in (counter, empty):  # one line, not the three or four it wrapped to
        qtbot.waitUntil(lambda panel=panel: _one_button_tall(panel))
        assert "—" in panel.text.toolTip()  # the why, whole, where the owner points
    assert "teaches the model your shop's light" in counter.text.toolTip()
    assert "ask instead of guessing" in empty.text.toolTip()
    # the room goes to the product list and the photos
    qtbot.waitUntil(lambda: p.splitter.height() >= 330)
    # Train has the room: its panel keeps the whole sentence at 800×600
    window.show_screen("train")
    qtbot.waitUntil(lambda: window.train.counter.isVisible())
    assert window.train.counter.text.text() == NO_FRAMES
    window.show_screen("products")

    window.resize(1366, 768)  # wide again: the sentence comes back
    qtbot.waitUntil(lambda: counter.text.text() == NO_FRAMES)


def test_a_product_name_of_one_long_word_keeps_the_window_on_the_screen(
    qtbot, window, tmp_path
) -> None:
    """A 120-character folder name with no space: the photos' title could not wrap it,
    and the window grew to 1,639 px when 800 was asked for (250 characters: 2,898)."""
    from drawn_photos import drawn_photo

    shop = tmp_path / "shop"
    long = "Organic_Fairtrade_Cavendish_Bananas_from_the_Highlands_loose_" * 2
    for n, name in enumerate((long, "Kiwi")):
        (shop / name).mkdir(parents=True)
        for i in range(2):
            drawn_photo(shop / name / f"{i}.jpg", (40 * n + 60, 20 * i + 80, 90), (96, 96))
    window.resize(800, 600)
    window.login.use_folder(shop)
    window.show_screen("products")
    p = window.products
    qtbot.waitUntil(lambda: p.model.rowCount() == 2, timeout=20000)
    for row in range(2):  # "Kiwi" sorts first
        p.table.selectRow(row)
        if "Organic" in p.photos.product_title.text():
            break
    assert "Organic" in p.photos.product_title.text()
    qtbot.wait(200)
    assert window.width() <= 820, window.width()
    # the status bar's "Using folder …" shrinks with "…", the whole path in its tooltip
    assert window.source_label.text() == f"Using folder {shop}"
    assert window.source_label.toolTip() == f"Using folder {shop}"


def test_a_refusal_naming_a_long_product_keeps_the_window_and_marks_its_photos(
    qtbot, window, tmp_path
) -> None:
    """Too few usable products, the refusal naming a product of one 122-character word:
    the banner's narrowest width was that word, and the window grew to 1,018 px at
    800×600. Its photos (placeholders, one flat colour) were marked nowhere, and the
    foot said "2 of 2 products will be trained" beside the refusal."""
    from drawn_photos import drawn_photo
    from PIL import Image

    shop = tmp_path / "shop"
    long = "Organic_Fairtrade_Cavendish_Bananas_from_the_Highlands_loose_" * 2
    for i in range(2):
        (shop / long).mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (400, 400), (238, 238, 238)).save(shop / long / f"{i}.jpg")
        drawn_photo(shop / "Kiwi" / f"{i}.jpg", (60, 20 * i + 80, 90), (96, 96))
    window.resize(800, 600)
    window.login.use_folder(shop)
    window.show_screen("products")
    p = window.products
    warned = p.check_warnings.warnings
    qtbot.waitUntil(lambda: warned.isVisible() and long in warned.text(), timeout=20000)
    assert "Need photos of at least two products" in warned.text()
    qtbot.wait(200)
    assert window.width() <= 820, window.width()
    p.check_warnings.details_button.click()  # a line per photo, naming its product
    qtbot.waitUntil(lambda: f"Can't use 0.jpg ({long})" in p.check_warnings.details.text())
    qtbot.wait(200)
    assert window.width() <= 820, window.width()
    assert p.summary.text() == "1 of 2 products have photos training can use · it needs two"
    flat = p.session.report.skipped_photos()
    assert {(s.path.name, s.plain.split(" (")[0]) for s in flat} == {
        ("0.jpg", "one flat colour"),
        ("1.jpg", "one flat colour"),
    }


def test_photos_added_of_a_product_folder_renamed_since_are_said(qtbot, window, shop_folder):
    """The owner took counter photos of "kiwi", then renamed its folder: the photos
    stayed in the app's store, untrained and unmentioned (a data-loss audit)."""
    from drawn_photos import drawn_photos

    from app.core.flows.open_source import Source

    Source.from_folder(shop_folder).store().add_files(
        "kiwi", drawn_photos(shop_folder.parent / "c", 2, 5)
    )
    (shop_folder / "kiwi").rename(shop_folder / "kiwi-gold")
    window.login.use_folder(shop_folder)
    window.show_screen("products")
    p = window.products
    warned = p.check_warnings.warnings
    qtbot.waitUntil(
        lambda: warned.isVisible() and "no longer in the catalogue" in warned.text(), timeout=20000
    )
    assert (
        "2 photos you added are of a product no longer in the catalogue, and not used"
        in warned.text()
    )
    p.check_warnings.details_button.click()
    assert "2 photos you added are not used: product kiwi is no longer in the catalogue" in (
        p.check_warnings.details.text()
    )
