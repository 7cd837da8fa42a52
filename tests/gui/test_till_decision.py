"""The till's decision in the app (issue 16): the Test screen's "Sure:" / "Not sure —"
line with the model's own threshold, the shop's empty-counter photos, the Advanced
"Right when it adds by itself" setting and the line after training.

There is no camera here: a video of drawn empty counters stands in for it, and
every button is the real one, clicked.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from camera_standins import ArraySource, write_video
from model_standins import train_result
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.core import paths
from app.core.images import load_rgb
from app.core.model import Acceptance, TrainOptions, TrainResult
from app.core.not_products import FOLDER
from app.core.store import ChannelStore

LOAD_TIMEOUT_MS = 300_000  # first TensorFlow import on a busy machine
# Teachable Machine labels of the reference export → names the screen should show.
NAMES = {"노마스크": "No mask", "마스크": "Mask", "가위": "Scissors", "바위": "Rock", "보": "Paper"}


def click(qtbot, button) -> None:
    assert button.isVisible() and button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def click_row(qtbot, listwidget, row: int) -> None:
    rect = listwidget.visualItemRect(listwidget.item(row))
    qtbot.mouseClick(listwidget.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def set_threshold(folder: Path, value: float | None, name: str) -> None:
    meta_path = folder / "metadata.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta.pop("acceptThreshold", None)
    if value is not None:
        meta["acceptThreshold"] = value
    meta["modelName"] = name  # a different size too: the screen reloads changed files
    meta_path.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")


def test_test_screen_shows_the_tills_decision(
    qtbot, screen, tm_export, grocery, tmp_path, monkeypatch
):
    folder = tmp_path / "model"
    shutil.copytree(tm_export, folder)
    set_threshold(folder, 0.01, "always-sure")  # every top product reaches 1 %
    subs = ["Fruit/Banana", "Vegetables/Tomato", "Fruit/Kiwi"]
    images = [sorted((grocery / "test" / s).rglob("*.jpg"))[0] for s in subs]
    monkeypatch.setattr(
        QFileDialog, "getOpenFileNames", lambda *a, **k: ([str(p) for p in images], "")
    )
    screen.set_product_names(NAMES)
    screen.show()
    with qtbot.waitSignal(screen.model_loaded, timeout=LOAD_TIMEOUT_MS):
        screen.set_model_dir(folder)
    rule = screen.decision.rule
    assert rule.isVisible()
    assert rule.text() == "The till adds by itself at 1 % or more; below, it asks."
    assert screen.decision.text() == ""  # no picture yet: no decision

    with qtbot.waitSignal(screen.images_done, timeout=60_000) as done:
        click(qtbot, screen.images_button)
    results = done.args[0]
    assert [r.path for r in results] == images
    line = screen.decision.line
    assert line.isVisible() and screen.decision.sure is True
    assert screen.decision.text() == f"Sure: {NAMES[results[0].top[0][0]]}"
    assert "#1b5e20" in line.styleSheet()  # green
    click_row(qtbot, screen.results, 2)
    assert screen.decision.text() == f"Sure: {NAMES[results[2].top[0][0]]}"
    # the top-3 bars are still there beside the decision
    assert screen.rows[0].name.text() == NAMES[results[2].top[0][0]]

    # A threshold above every probability: the till never adds by itself.
    set_threshold(folder, 1.01, "never-sure")
    with qtbot.waitSignal(screen.images_done, timeout=LOAD_TIMEOUT_MS) as done:
        screen.set_model_dir(folder)  # retrained in place: reloaded, images checked again
    results = done.args[0]
    assert screen.model.accept_threshold == pytest.approx(1.01)
    assert rule.text() == "The till never adds by itself: it always asks the cashier."
    click_row(qtbot, screen.results, 1)
    top = results[1].top
    assert screen.decision.sure is False
    assert screen.decision.text() == "Not sure — " + " ".join(f"{NAMES[lab]}?" for lab, _ in top)
    assert "#7a4a00" in line.styleSheet()  # amber
    assert "(not sure)" in screen.results.item(1).text()

    # Live pictures get the same decision.
    preds = []
    screen.predicted.connect(preds.append)
    screen.use_source(ArraySource([load_rgb(p) for p in images], fps=20))
    qtbot.waitUntil(lambda: len(preds) >= 2, timeout=60_000)
    last = screen.last_prediction.top
    assert screen.decision.text().startswith("Not sure — " + NAMES[last[0][0]] + "?")

    # The Teachable Machine export has no threshold of its own: a cautious 99 %.
    with qtbot.waitSignal(screen.model_loaded, timeout=LOAD_TIMEOUT_MS):
        screen.set_model_dir(tm_export)
    assert rule.text() == "The till adds by itself at 99 % or more (a cautious value)."
    assert "no threshold of its own" in rule.toolTip()


# --------------------------------------------------------------------- empty counter


@pytest.fixture
def empty_counter_video(qapp, tmp_path) -> Path:
    """Drawn counters with nothing of the shop on them, half a second each."""
    from app.core.not_products import drawn_backgrounds

    frames = [f for f in drawn_backgrounds(6) for _ in range(5)]
    return write_video(frames, tmp_path / "empty.mp4", fps=10, size=(320, 240))


def stored_empty(window) -> list[Path]:
    """The shop's empty-counter photos as a fresh store reads them (what Train passes)."""
    return ChannelStore(*window.session.source.store_key).not_product_photos()


def test_photograph_the_empty_counter_and_clear(qtbot, window, shop_folder, empty_counter_video):
    from app.gui.camera.sources import VideoFileSource
    from app.gui.counter.capture import EMPTY_COUNT, EmptyCounterDialog

    window.login.use_folder(shop_folder)
    qtbot.waitUntil(lambda: window.products.model.rowCount() > 0, timeout=10000)
    screen = window.products
    panel = screen.empty_counter
    assert panel.isVisible() and panel.count == 0
    assert panel.text.text().startswith("<b>Empty counter: no photos yet</b>")
    # why, on the panel, or in its tooltip where the window is narrow (800×600)
    assert "ask instead of guessing" in panel.text.text() + panel.text.toolTip()
    assert not panel.clear_button.isVisible()

    screen.camera_stand_in = lambda: VideoFileSource(empty_counter_video)
    panel.capture_interval_s = 0.05
    click(qtbot, panel.capture_button)
    dlg = window.findChild(EmptyCounterDialog)
    assert dlg is not None and dlg.isVisible()
    assert dlg.windowTitle() == "Photograph the empty counter"
    assert dlg.cameras.currentText() == empty_counter_video.name
    qtbot.waitUntil(dlg.start_button.isEnabled, timeout=15000)
    with qtbot.waitSignal(dlg.accepted, timeout=30000):
        click(qtbot, dlg.start_button)

    files = stored_empty(window)
    assert len(files) == EMPTY_COUNT == 5
    folder = window.session.store.root / FOLDER  # the channel folder's not-products/
    assert {f.parent for f in files} == {folder}
    for f in files:
        assert f.name.startswith("empty-") and f.suffix == ".jpg"
        with Image.open(f) as im:
            assert im.format == "JPEG" and im.size == (320, 240)
    assert window.session.store.counter_frames.paths() == []  # not counter frames
    assert panel.count == 5
    assert panel.text.text().startswith("<b>Empty counter: 5 photos</b>")
    assert "Stored 5 photos of the empty counter" in screen.banner.text()

    click(qtbot, panel.clear_button)
    click(qtbot, panel.confirm_box.button(QMessageBox.StandardButton.No))  # changed their mind
    assert len(stored_empty(window)) == 5
    click(qtbot, panel.clear_button)
    box = panel.confirm_box
    assert "Delete the 5 photos of the empty counter?" in box.text()
    click(qtbot, box.button(QMessageBox.StandardButton.Yes))
    assert stored_empty(window) == []
    assert not any(folder.iterdir())
    assert panel.count == 0 and "no photos yet" in panel.text.text()
    assert not panel.clear_button.isVisible()


# --------------------------------------------------------------------- training


def test_sure_enough_setting_reaches_training_and_survives_a_restart(
    qtbot, make_window, shop_folder, monkeypatch
):
    import app.core.pipeline as pipeline

    seen: list[TrainOptions] = []

    def fake_train(catalog, options, *args, **kwargs):
        seen.append(options)
        raise RuntimeError("stopped by the test")

    monkeypatch.setattr(pipeline, "train_and_export", fake_train)
    window = make_window()
    window.login.use_folder(shop_folder)
    qtbot.waitUntil(lambda: window.session.catalogue() is not None, timeout=10000)
    window.show_screen("train")
    train = window.train
    spin = train.accept
    assert not spin.isVisible()
    click(qtbot, train.advanced_toggle)
    assert spin.isVisible()
    assert (spin.minimum(), spin.maximum(), spin.value(), spin.suffix()) == (50, 99, 95, " %")
    assert spin.toolTip()
    for low_high in (spin.minimum(), spin.maximum()):  # every value offered is valid
        TrainOptions(accept_target=low_high / 100).check()

    qtbot.mouseClick(spin, Qt.MouseButton.LeftButton)
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), "90")
    assert spin.value() == 90
    assert window.session.train_options().accept_target == pytest.approx(0.90)
    assert paths.Settings.load().accept_target == pytest.approx(0.90)

    qtbot.waitUntil(train.start_button.isEnabled, timeout=30000)
    click(qtbot, train.start_button)
    qtbot.waitUntil(lambda: bool(seen), timeout=30000)
    assert seen[0].accept_target == pytest.approx(0.90)
    qtbot.waitUntil(lambda: train.task is not None and not train.task.running, timeout=10000)

    window.save_state()
    window.close()
    again = make_window()
    assert again.train.accept.value() == 90
    assert again.session.train_options().accept_target == pytest.approx(0.90)


def _result(accept: Acceptance | None) -> TrainResult:
    return train_result(image_count=60, held_back=60, accept=accept)


def test_train_results_say_when_the_till_adds_by_itself(window):
    window.show_screen("train")
    train = window.train
    counts = {"banana": 30, "kiwi": 30}
    train.show_result(_result(Acceptance(0.8612, 0.951, 0.31, 0.95, True, 60)), counts)
    assert train.accept_line.isVisible()
    assert train.accept_line.text() == (
        "The till adds a product by itself at 86 % or more: 31 % of held-back photos, "
        "95 % of them right."
    )
    train.show_result(_result(Acceptance(0.97, None, None, 0.95, False, 8)), counts)
    assert train.accept_line.text() == (
        "The till asks the cashier unless it is at least 97 % sure (too few held-back "
        "photos to measure when it can be sure)."
    )
    train.show_result(_result(Acceptance(0.9991, 0.0, 0.0, 0.95, True, 60)), counts)
    assert train.accept_line.text().startswith("The till always asks the cashier")
