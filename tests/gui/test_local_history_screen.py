"""Model screen, earlier models on this computer: listed, opened, used again (asked first)."""

from __future__ import annotations

import json
from pathlib import Path

from gui_actions import answer_next_question, click
from model_standins import fake_model, train_result
from PySide6.QtCore import Qt

from app.core.flows.open_source import Source
from app.core.local_history import history_dir, list_history
from app.core.modelfiles import TRAINER_NAME
from app.core.wording import format_when

LEFT = Qt.MouseButton.LeftButton
LABELS = ["Banana", "Kiwi", "Lemon", "Lime", "Orange"]  # the TM export's five outputs
# with the results of their training saved, as ours are (the Train screen reads them)
OURS = {"trainer": {"name": TRAINER_NAME, "version": "test"}, "validation": "leave-one-photo-out"}
WHEN = {  # entry name -> when that model was trained
    "20261127T100000000000Z-aaaaaa": "2026-11-27T10:00:00Z",
    "20261128T100000000000Z-bbbbbb": "2026-11-28T10:00:00Z",
    "20261129T100000000000Z-cccccc": "2026-11-29T10:00:00Z",
}


def three_earlier_models(local: Path, tm_export: Path) -> None:
    """The local model (trained 30 Nov, 80 %) and three earlier ones, as exports leave them."""
    fake_model(
        local, tm_export, LABELS, trainedAt="2026-11-30T10:00:00Z", imageCount=60,
        validationAccuracy=0.8, heldBackPhotos=20, **OURS,
    )  # fmt: skip
    for i, (name, when) in enumerate(WHEN.items()):
        fake_model(
            history_dir(local) / name, tm_export, LABELS, trainedAt=when, imageCount=30 + 10 * i,
            validationAccuracy=0.5 + 0.1 * i, heldBackPhotos=10, **OURS,
        )  # fmt: skip
    (history_dir(local) / "20261130T100000000000Z-dddddd").mkdir()  # half there: skipped


def rows(table) -> list[list[str]]:
    return [
        [table.item(r, c).text() for c in range(table.columnCount())]
        for r in range(table.rowCount())
    ]


def local_trained(local: Path) -> str:
    return json.loads((local / "metadata.json").read_text())["trainedAt"]


def test_earlier_models_are_listed_opened_and_used_again(
    qtbot, window, tm_export, shop_folder
) -> None:
    local = Source.from_folder(shop_folder).model_dir()
    three_earlier_models(local, tm_export)
    window.show_screen("login")
    window.login.use_folder(shop_folder)
    window.show_screen("model")
    screen = window.model
    table = screen.earlier_table
    qtbot.waitUntil(lambda: table.rowCount() == 4, timeout=20000)
    assert screen.earlier_box.title() == "Earlier models on this computer"
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers == ["Trained", "Products", "Photos", "Held back", ""]
    when = [format_when({"trainedAt": t}) for t in WHEN.values()]
    qtbot.waitUntil(lambda: window.session.model_dir == local, timeout=10000)
    qtbot.waitUntil(lambda: rows(table)[0][4] == "local model, open now", timeout=10000)
    assert rows(table) == [
        [format_when({"trainedAt": "2026-11-30T10:00:00Z"}), "5", "60", "80 % (16 of 20)",
         "local model, open now"],
        [when[2], "5", "50", "70 % (7 of 10)", ""],
        [when[1], "5", "40", "60 % (6 of 10)", ""],
        [when[0], "5", "30", "50 % (5 of 10)", ""],
    ]  # fmt: skip
    hint = screen.earlier_hint.text()
    assert "Skipped 20261130T100000000000Z-dddddd: model.json is missing" in hint
    assert not screen.use_again_button.isEnabled()  # nothing chosen yet

    # Open: view an earlier model on this screen, nothing moves
    table.selectRow(2)
    assert not table.item(0, 0).isSelected()
    click(qtbot, screen.earlier_open_button)
    opened = history_dir(local) / "20261128T100000000000Z-bbbbbb"
    assert window.session.model_dir == opened
    qtbot.waitUntil(lambda: screen.model is not None, timeout=10000)
    assert screen.metadata["trainedAt"] == "2026-11-28T10:00:00Z"
    assert screen.location.text() == str(opened)
    qtbot.waitUntil(lambda: rows(table)[2][4] == "open now", timeout=10000)
    assert rows(table)[0][4] == "local model"
    assert screen.earlier_box.selected()[0] == opened  # the list read again keeps it chosen
    assert "An earlier model is open" in screen.earlier_hint.text()
    assert local_trained(local) == "2026-11-30T10:00:00Z"

    # Use this one again: asked first; Cancel changes nothing
    table.selectRow(3)
    assert screen.earlier_open_button.isEnabled() and screen.use_again_button.isEnabled()
    seen: list[str] = []
    answer_next_question(qtbot, screen, "Cancel", seen)
    click(qtbot, screen.use_again_button)
    old, new = (
        format_when({"trainedAt": "2026-11-30T10:00:00Z"}),
        format_when({"trainedAt": "2026-11-27T10:00:00Z"}),
    )
    assert seen == [
        f"Use the model trained {new} (5 products) again as the local model, instead of "
        f"the model trained {old} (5 products)?"
    ]
    assert local_trained(local) == "2026-11-30T10:00:00Z"

    # as if this run of the app had trained the model being replaced
    window.session.set_result(train_result())
    answer_next_question(qtbot, screen, "Use again", seen)
    click(qtbot, screen.use_again_button)
    qtbot.waitUntil(lambda: local_trained(local) == "2026-11-27T10:00:00Z", timeout=20000)
    qtbot.waitUntil(lambda: window.session.model_dir == local, timeout=10000)
    qtbot.waitUntil(
        lambda: rows(table) and rows(table)[0][:1] == [new] and table.rowCount() == 4,
        timeout=20000,
    )
    assert rows(table)[0][4] == "local model, open now"
    assert rows(table)[1][:4] == [old, "5", "60", "80 % (16 of 20)"]  # kept, newest first
    # the chosen model is the local one now: the row it sat in holds another model,
    # which is not offered for use again by the old selection
    assert screen.earlier_box.selected() is None
    assert not screen.use_again_button.isEnabled()
    assert f"The model trained {new} (5 products) is the local model again" in (
        screen.banner.text()
    )
    qtbot.waitUntil(lambda: screen.metadata.get("trainedAt") == "2026-11-27T10:00:00Z")
    # Train shows the results saved with the model used again, not the replaced one's
    assert window.session.result is None
    when = format_when({"trainedAt": "2026-11-27T10:00:00Z"})  # the computer's time
    qtbot.waitUntil(lambda: f"({when})" in window.train.banner.text())
    assert window.train.banner.text().startswith("Results of this model's training")
    # nothing lost: the replaced model is an earlier one now
    kept = [m.metadata["trainedAt"] for m in list_history(local).models]
    assert kept == ["2026-11-30T10:00:00Z", "2026-11-29T10:00:00Z", "2026-11-28T10:00:00Z"]

    # the Test screen loads the model used again
    window.show_screen("test")
    test = window.test.screen
    qtbot.waitUntil(lambda: test.model is not None, timeout=120000)
    assert test.model_dir == local and test.model.metadata["trainedAt"] == "2026-11-27T10:00:00Z"


def test_without_earlier_models_the_box_says_what_will_be_kept(
    qtbot, window, tm_export, shop_folder
) -> None:
    local = Source.from_folder(shop_folder).model_dir()
    fake_model(local, tm_export, LABELS, **OURS)
    window.show_screen("login")
    window.login.use_folder(shop_folder)
    window.show_screen("model")
    screen = window.model
    qtbot.waitUntil(lambda: screen.earlier_box.isVisible(), timeout=20000)
    assert screen.earlier_hint.text().startswith("No earlier models yet. Each training keeps")
    assert not screen.earlier_table.isVisible()


def test_the_model_screen_reads_the_model_again_when_a_command_replaced_it(
    qtbot, window, tm_export, tmp_path
):
    """A `train` on the command line while the app was open: the Model screen went on
    describing the model it had read (and its earlier models without the one replaced)."""
    model_dir = fake_model(tmp_path / "m", tm_export, LABELS, trainedAt="2026-11-30T10:00:00Z")
    window.session.set_model_dir(model_dir)
    window.show_screen("model")
    screen = window.model
    qtbot.waitUntil(lambda: screen.metadata.get("trainedAt") == "2026-11-30T10:00:00Z")
    window.show_screen("products")
    import time

    time.sleep(0.01)  # a later file time
    fake_model(model_dir, tm_export, LABELS, trainedAt="2026-12-07T05:21:00Z")  # the command
    window.show_screen("model")
    qtbot.waitUntil(
        lambda: screen.metadata.get("trainedAt") == "2026-12-07T05:21:00Z", timeout=10000
    )


def test_train_screens_publish_acts_on_its_own_training_not_an_earlier_model_opened(
    qtbot, window, tm_export, tmp_path
):
    """Trained, then an earlier model opened to look at it: the Train screen's Publish…
    led to a Publish screen set to publish that earlier model."""
    trained = fake_model(tmp_path / "trained", tm_export, LABELS)
    earlier = fake_model(tmp_path / "earlier", tm_export, LABELS, trainedAt="2026-11-01T10:00:00Z")
    window.show_screen("train")
    train = window.train
    train.result_dir = trained  # what a finished training sets
    window.session.set_model_dir(earlier)
    train.publish_button.click()
    assert window.current_screen() == "publish"
    assert window.session.model_dir == trained
