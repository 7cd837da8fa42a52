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
