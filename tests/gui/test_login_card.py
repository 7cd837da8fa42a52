"""The Log in card is as tall as the page it shows: no gap around a short page."""

from __future__ import annotations

import pytest

GAP = 4  # pixels of slack between what the page needs and what the card gives it


def _needed(page) -> int:
    """The height the page's content needs at its width (its text wraps)."""
    return page.layout().totalHeightForWidth(page.width())


@pytest.mark.parametrize("size", [(1366, 768), (800, 600)])
def test_the_card_fits_the_page_it_shows(qtbot, window, shop_folder, size) -> None:
    window.resize(*size)
    window.show_screen("login")
    login = window.login
    pages = login.pages
    qtbot.waitExposed(window)
    form = pages.currentWidget()
    qtbot.waitUntil(lambda: form.height() > 0)
    assert form.height() <= _needed(form) + GAP

    login.use_folder(shop_folder)  # "Your photos": one line of text and the buttons
    window.show_screen("login")
    connected = pages.currentWidget()
    assert connected is not form and login.title.text() == "Your photos"
    # the folder's page is much shorter than the form: the card shrinks to it instead
    # of leaving the text floating in the form's height
    qtbot.waitUntil(lambda: abs(connected.height() - _needed(connected)) <= GAP)
    assert pages.height() < form.sizeHint().height()

    login.log_out()  # back to the form: the card grows again, nothing cut off
    qtbot.waitUntil(lambda: pages.currentWidget() is form and form.height() >= _needed(form))
