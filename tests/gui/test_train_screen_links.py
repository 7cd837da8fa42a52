"""Issue 19, Train screen: names open Products, results before the folded curve, model
sizes that need a download are marked, and offline the app's own advice."""

from __future__ import annotations

from pathlib import Path

import pytest
from gui_actions import click
from model_standins import train_result
from PySide6.QtCore import QPoint, Qt
from test_second_day import open_folder

from app.core import features, paths
from app.gui.screens.train import DOWNLOAD_MARK, MODEL_SIZES

LEFT = Qt.MouseButton.LeftButton
NAMES = {"banana": "Banana", "kiwi": "Kiwi", "lemon": "Lemon"}


def click_cell(qtbot, table, row: int, col: int) -> None:
    rect = table.visualItemRect(table.item(row, col))
    assert table.viewport().rect().contains(rect.center()), "cell not in view"
    qtbot.mouseClick(table.viewport(), LEFT, pos=rect.center())


def weak_result(**overrides):
    """Kiwi and Lemon weak (67 %), mixed up with each other; a loss curve, no held-back one."""
    fields = {
        "labels": ["banana", "kiwi", "lemon"],
        "names": NAMES,
        "val_accuracy": 7 / 9,
        "per_product": {"banana": 1.0, "kiwi": 2 / 3, "lemon": 2 / 3},
        "confusions": [("kiwi", "lemon", 2), ("lemon", "kiwi", 1)],
        "history": [{"epoch": float(e), "loss": 1.0 / e, "acc": 1.0} for e in (1, 2, 3)],
        "image_count": 9,
        "product_count": 3,
        "held_back": 9,
    }
    fields.update(overrides)
    return train_result(**fields)


def put_result(window, result) -> None:
    """A finished run on screen: the live curve it drew, then its results."""
    train = window.train
    window.show_screen("train")
    train.chart.replay(result.history, 3)
    train.show_result(result, {"banana": 3, "kiwi": 3, "lemon": 3})


def shown_on_products(window, pid: str) -> bool:
    products = window.products
    if window.current_screen() != "products" or products.current_pid() != pid:
        return False
    table, ix = products.table, products.table.currentIndex()
    in_view = table.viewport().rect().intersects(table.visualRect(ix))
    photos = products.images.count() == len(products.current_product().images)
    return in_view and photos and f"ID {pid}" in products.product_title.text()


def test_add_photos_and_confused_names_open_products(qtbot, window, shop_folder) -> None:
    open_folder(qtbot, window, shop_folder)
    put_result(window, weak_result())
    train = window.train
    links = {b.text(): b for b in train.more_photos.buttons()}
    # the weak ones, and the ticked product with no usable photo (not in the model)
    assert set(links) == {"Kiwi", "Lemon", "empty-shelf"}
    assert "Add photos of: Kiwi, Lemon" in train.more_photos.text()
    assert "Needs photos" in train.more_photos.text()

    click(qtbot, links["Kiwi"])
    assert shown_on_products(window, "kiwi")

    # a search that hides the product is cleared rather than showing nothing
    qtbot.keyClicks(window.products.search, "banana")
    assert window.products.proxy.rowCount() == 1
    window.show_screen("train")
    table = train.confusions
    assert (table.item(0, 0).text(), table.item(0, 1).text()) == ("Kiwi", "Lemon")
    click_cell(qtbot, table, 0, 1)  # "Mistaken for: Lemon"
    assert shown_on_products(window, "lemon")
    assert window.products.search.text() == ""

    window.show_screen("train")
    row = next(
        r
        for r in range(train.per_product.rowCount())
        if train.per_product.item(r, 0).text() == "Banana"
    )
    click_cell(qtbot, train.per_product, row, 0)
    assert shown_on_products(window, "banana")
    window.show_screen("train")
    click_cell(qtbot, train.per_product, row, 2)  # the percentage is no link
    assert window.current_screen() == "train"


def test_a_product_gone_from_the_catalogue_says_so(qtbot, window, shop_folder) -> None:
    open_folder(qtbot, window, shop_folder)
    result = weak_result(
        labels=["banana", "kiwi", "lemon", "mango"],
        names={**NAMES, "mango": "Mango"},
        per_product={"banana": 1.0, "kiwi": 1.0, "lemon": 1.0, "mango": 0.5},
    )
    put_result(window, result)
    (mango,) = [b for b in window.train.more_photos.buttons() if b.text() == "Mango"]
    click(qtbot, mango)
    assert window.current_screen() == "products"
    assert "Mango is not in the products on screen" in window.products.banner.text()


def test_results_come_first_and_the_curve_folds_away(qtbot, window, shop_folder) -> None:
    window.resize(800, 600)
    open_folder(qtbot, window, shop_folder)
    put_result(window, weak_result())
    train = window.train
    qtbot.waitUntil(lambda: train.results.isVisible())
    toggle = train.curve_toggle
    assert toggle.isVisible() and not toggle.isChecked() and not train.curve.isVisible()
    body = train.results.parentWidget()
    assert train.results.y() < toggle.y()  # held-back result and tables above the toggle
    # the held-back result is on screen at 800x600 without scrolling
    top = train.accuracy.mapTo(body, QPoint(0, 0)).y() + train.accuracy.height()
    viewport = body.parentWidget()
    assert top < viewport.height(), (top, viewport.height())
    assert train.per_product.mapTo(body, QPoint(0, 0)).y() < viewport.height()

    click(qtbot, toggle)
    assert train.curve.isVisible()
    # a loss curve and a flat 100 % on training photos: nothing an owner reads …
    assert not train.chart.isVisible() and "separate rounds" in train.curve_note.text()
    click(qtbot, train.advanced_toggle)  # … an engineer's view with Advanced
    assert train.chart.isVisible() and train.chart.loss.isVisible()
    assert "loss" in train.curve_note.text().lower()
    click(qtbot, train.advanced_toggle)

    # a trainer that reports held-back accuracy per pass: the owner's curve
    history = [
        {"epoch": float(e), "loss": 1 / e, "acc": 1.0, "val_acc": 0.5 + e / 10} for e in (1, 2, 3)
    ]
    put_result(window, weak_result(history=history))
    assert train.chart.isVisible() and train.chart.val_acc.isVisible()
    assert not train.chart.acc.isVisible() and not train.chart.loss.isVisible()
    assert train.chart.held_back_points() == 3 and "held-back" in train.curve_note.text()


def test_progress_is_in_view_at_800x600(qtbot, window, shop_folder) -> None:
    """During a run (Advanced closed) the progress sits above the results and the fold."""
    window.resize(800, 600)
    open_folder(qtbot, window, shop_folder)
    window.show_screen("train")
    train = window.train
    train.progress.show()  # what a running task shows
    qtbot.waitUntil(lambda: train.progress.isVisible())
    body = train.results.parentWidget()
    bottom = train.progress.mapTo(body, QPoint(0, 0)).y() + train.progress.height()
    assert bottom <= body.parentWidget().height(), bottom


@pytest.fixture
def no_cached_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh computer: only the shipped size's weights, nothing in the Keras cache."""
    monkeypatch.delenv(paths.BASE_WEIGHTS_ENV, raising=False)
    keras_home = tmp_path / "keras"
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    return keras_home / "models"


def test_sizes_that_need_a_download_are_marked(
    qtbot, make_window, no_cached_weights, tmp_path, shop_folder
) -> None:
    window = make_window()
    combo = window.train.model_size
    marked = {
        combo.itemData(i): combo.itemText(i).endswith(DOWNLOAD_MARK) for i in range(combo.count())
    }
    assert marked == {0.35: False, 0.5: True, 0.75: True, 1.0: True}
    assert combo.itemText(2) == MODEL_SIZES[2][1] + DOWNLOAD_MARK  # "Large — about 6 MB · …"

    no_cached_weights.mkdir(parents=True)  # downloaded once before
    (no_cached_weights / features.weights_filename(0.5)).write_bytes(b"w")
    window.close()
    window = make_window()
    combo = window.train.model_size
    assert not combo.itemText(1).endswith(DOWNLOAD_MARK) and combo.itemText(2).endswith(
        DOWNLOAD_MARK
    )

    # a chosen weights file: no size downloads any more
    open_folder(qtbot, window, shop_folder)
    window.show_screen("train")
    train = window.train
    click(qtbot, train.advanced_toggle)
    mine = tmp_path / "mine.h5"
    mine.write_bytes(b"x")
    train.weights.setFocus()
    qtbot.keyClicks(train.weights, str(mine))
    qtbot.keyClick(train.weights, Qt.Key.Key_Return)
    assert not any(combo.itemText(i).endswith(DOWNLOAD_MARK) for i in range(combo.count()))


def test_offline_a_size_that_needs_a_download_says_what_to_do_in_the_app(
    qtbot, window, shop_folder, no_cached_weights, monkeypatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # no internet, as offline
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")
    open_folder(qtbot, window, shop_folder)
    window.show_screen("train")
    train = window.train
    click(qtbot, train.advanced_toggle)
    train.model_size.setCurrentIndex(train.model_size.findData(0.75))
    click(qtbot, train.start_button)
    qtbot.waitUntil(lambda: train.banner.kind == "error", timeout=60000)
    text = train.banner.text()
    assert "Large model size needs a one-time download" in text
    assert "Small" in text and "Choose…" in text and features.weights_filename(0.75) in text
    assert "--base-weights" not in text and paths.BASE_WEIGHTS_ENV not in text
    assert "command" not in text.lower()
    assert train.advanced.isVisible() and train.browse_weights.isVisible()  # the way out
    assert not (Path(window.session.default_model_dir()) / "model.json").exists()
