"""Issue 19: one verdict, one threshold — a product at 67 % is weak on Train and on Model."""

from __future__ import annotations

from test_second_day import LABELS, fake_model, open_folder

from app.core.flows.open_source import Source


def sixty_seven_result():
    from app.core.model import TrainResult

    return TrainResult(
        labels=["banana", "kiwi", "lemon"],
        names={"banana": "Banana", "kiwi": "Kiwi", "lemon": "Lemon"},
        val_accuracy=7 / 9,
        per_product={"banana": 1.0, "kiwi": 2 / 3, "lemon": 2 / 3},
        confusions=[("kiwi", "lemon", 1), ("lemon", "kiwi", 1)],
        history=[],
        needs_more_photos=[],  # the screens decide by the shared rule, not by this list
        image_count=15,
        product_count=3,
        duration_s=5.0,
        validation="leave-one-photo-out, 3 round(s), 9 held-out photos of 3 products",
        held_back=9,
    )


def test_67_percent_is_weak_on_train_and_model(qtbot, window, shop_folder, tm_export):
    open_folder(qtbot, window, shop_folder)
    window.show_screen("train")
    window.train.show_result(sixty_seven_result(), {"banana": 5, "kiwi": 5, "lemon": 5})
    text = window.train.more_photos.text()
    assert "Add photos of:" in text and "Kiwi" in text and "Lemon" in text
    assert "Banana" not in text and "No product stands out as weak" not in text

    model_dir = fake_model(
        Source.from_folder(shop_folder).model_dir(),
        tm_export,
        LABELS,
        validationAccuracy=0.8,
        heldBackPhotos=15,
        perProductAccuracy={"banana": 1.0, "kiwi": 2 / 3, "lemon": 2 / 3, "a": 1.0, "b": 1.0},
    )
    window.session.set_model_dir(model_dir)
    window.show_screen("model")
    qtbot.waitUntil(lambda: "Weak" in window.model.summary.text(), timeout=10000)
    summary = window.model.summary.text()
    assert (
        "kiwi (recognised 67 %)" in summary.lower() and "lemon (recognised 67 %)" in summary.lower()
    )
    assert "No product stands out as weak" not in summary


def test_train_shows_last_results_after_restart(qtbot, make_window, shop_folder, tm_export):
    w = make_window()
    open_folder(qtbot, w, shop_folder)
    fake_model(
        Source.from_folder(shop_folder).model_dir(),
        tm_export,
        LABELS,
        labelNames=["Banana", "Kiwi", "Lemon", "A", "B"],
        validation="leave-one-photo-out, 3 round(s), 15 held-out photos of 5 products",
        validationAccuracy=0.8,
        heldBackPhotos=15,
        perProductAccuracy={"banana": 1.0, "kiwi": 2 / 3, "lemon": 2 / 3, "a": 1.0, "b": 1.0},
        confusions=[["kiwi", "lemon", 2]],
    )
    w.show_screen("train")
    w.save_state()
    w.close()

    again = make_window()
    train = again.train
    qtbot.waitUntil(lambda: train.results.isVisibleTo(again), timeout=10000)
    assert "Recognised <b>12 of 15</b>" in train.accuracy.text()
    assert "Results of this model's training" in train.banner.text()
    assert "UTC" not in train.banner.text()  # the computer's time, as elsewhere
    text = train.more_photos.text()
    assert "Add photos of:" in text and "Kiwi" in text and "Lemon" in text
    names = {train.per_product.item(r, 0).text() for r in range(train.per_product.rowCount())}
    assert {"Banana", "Kiwi", "Lemon"} <= names
    assert train.confusions.item(0, 0).text() == "Kiwi"
    assert train.confusions.item(0, 1).text() == "Lemon"
