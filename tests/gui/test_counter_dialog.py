"""Counter frames in the app: "Show me your counter…", View…/Clear all, the Test screen.

There is no camera here: a video recorded at test time from real grocery photos
(or of one flat grey) stands in for the counter camera through
``ProductsScreen.camera_stand_in``, and every button is the real one, clicked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from model_standins import train_result
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.core.counter_frames import SUGGESTED
from app.core.flows.open_source import Source
from app.core.store import ChannelStore

SUBS = ["Fruit/Banana", "Fruit/Kiwi", "Fruit/Lemon", "Fruit/Orange", "Fruit/Apple", "Fruit/Pear"]


def click(qtbot, button) -> None:
    assert button.isVisible() and button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def open_folder(qtbot, window, folder: Path):
    window.login.use_folder(folder)
    qtbot.waitUntil(lambda: window.products.model.rowCount() > 0, timeout=10000)
    return window.products


def stored(window) -> list[Path]:
    """The shop's counter frames as a fresh store reads them from disk."""
    src = window.session.source
    return ChannelStore(*src.store_key).counter_frames.paths()


@pytest.fixture
def counter_video(qapp, grocery, tmp_path) -> Path:
    """Twelve different real photos, half a second each, at 10 fps."""
    from camera_standins import write_video

    from app.core.images import load_rgb

    picks = [p for s in SUBS for p in sorted((grocery / "train" / s).rglob("*.jpg"))[:2]]
    assert len(picks) == 2 * len(SUBS)
    frames = [load_rgb(p) for p in picks for _ in range(5)]
    return write_video(frames, tmp_path / "counter.mp4", fps=10, size=(320, 240))


@pytest.fixture
def grey_video(qapp, tmp_path) -> Path:
    """A lens covered by a grey cloth: one flat colour."""
    from camera_standins import write_video

    frames = [np.full((240, 320, 3), 128, np.uint8) for _ in range(20)]
    return write_video(frames, tmp_path / "grey.mp4", fps=10, size=(320, 240))


def open_capture(qtbot, window, video: Path):
    from app.gui.camera.sources import VideoFileSource
    from app.gui.counter.capture import CounterCaptureDialog

    screen = window.products
    screen.camera_stand_in = lambda: VideoFileSource(video)
    screen.counter.capture_interval_s = 0.05
    click(qtbot, screen.counter.capture_button)
    dlg = window.findChild(CounterCaptureDialog)
    assert dlg is not None and dlg.isVisible()
    assert dlg.cameras.currentText() == video.name
    qtbot.waitUntil(dlg.start_button.isEnabled, timeout=15000)
    return dlg


def test_show_me_your_counter_stores_twenty_frames(qtbot, make_window, shop_folder, counter_video):
    window = make_window()
    screen = open_folder(qtbot, window, shop_folder)
    panel = screen.counter
    assert panel.isVisible() and panel.count == 0
    assert "No counter frames yet" in panel.text.text()
    assert panel.capture_button.text() == "Show me your counter…"
    assert not panel.view_button.isVisible()
    assert not window.train.counter.isHidden()  # Train shows the same hint before training

    dlg = open_capture(qtbot, window, counter_video)
    with qtbot.waitSignal(dlg.accepted, timeout=30000):
        click(qtbot, dlg.start_button)
        qtbot.waitUntil(lambda: len(dlg.taken) >= 3, timeout=10000)
        assert f"of {SUGGESTED} — move a few products around" in dlg.status.text()
    assert dlg.refused == 0

    files = stored(window)
    assert len(files) == SUGGESTED
    assert {f.parent for f in files} == {window.session.store.counter_frames.root}
    for f in files:
        assert f.suffix == ".jpg" and f.name.startswith("counter-")
        with Image.open(f) as im:
            assert im.format == "JPEG" and im.size == (320, 240)
    # each frame is dated when it was taken (about 2 s apart end to end), not when saved
    taken = [f.taken for f in window.session.store.counter_frames.frames()]
    assert (taken[-1] - taken[0]).total_seconds() >= 0.5
    assert panel.count == SUGGESTED
    assert panel.text.text().startswith(f"<b>{SUGGESTED} counter frames</b>, newest ")
    assert panel.view_button.isVisible()
    assert panel.capture_button.text() == "Take more…"  # it adds to them
    assert "clear the old ones" in panel.capture_button.toolTip()
    assert f"Stored {SUGGESTED} counter frames" in screen.banner.text()
    assert window.train.counter.isHidden()  # the hint is gone once there are frames

    # A restart: a new window on the same folder lists them.
    window.save_state()
    window.close()
    again = make_window()
    open_folder(qtbot, again, shop_folder)
    assert len(stored(again)) == SUGGESTED
    assert again.products.counter.count == SUGGESTED


def test_cancel_stores_nothing(qtbot, window, shop_folder, counter_video):
    open_folder(qtbot, window, shop_folder)
    dlg = open_capture(qtbot, window, counter_video)
    click(qtbot, dlg.start_button)
    qtbot.waitUntil(lambda: len(dlg.taken) >= 5, timeout=10000)
    with qtbot.waitSignal(dlg.rejected, timeout=3000):
        click(qtbot, dlg.cancel_button)
    qtbot.wait(300)  # no late tick or save may store anything
    assert stored(window) == []
    assert window.products.counter.count == 0
    assert "No counter frames yet" in window.products.counter.text.text()


def test_enter_starts_once_the_camera_shows_a_picture(qtbot, window, shop_folder, counter_video):
    """Found by an audit: Start was made the default button while still disabled, so
    Cancel took the default and Enter closed the dialog instead of starting."""
    from PySide6.QtWidgets import QApplication

    open_folder(qtbot, window, shop_folder)
    dlg = open_capture(qtbot, window, counter_video)
    qtbot.waitUntil(dlg.start_button.isEnabled, timeout=15000)
    assert dlg.start_button.isDefault() and QApplication.focusWidget() is dlg.start_button

    qtbot.keyClick(dlg.start_button, Qt.Key.Key_Return)

    qtbot.waitUntil(lambda: len(dlg.taken) >= 2, timeout=10000)
    assert dlg.isVisible()
    with qtbot.waitSignal(dlg.rejected, timeout=3000):
        click(qtbot, dlg.cancel_button)


def test_blank_pictures_are_refused_with_the_reason(qtbot, window, shop_folder, grey_video):
    from app.gui.counter.capture import BLANK_REASON

    open_folder(qtbot, window, shop_folder)
    dlg = open_capture(qtbot, window, grey_video)
    click(qtbot, dlg.start_button)
    qtbot.waitUntil(lambda: dlg.refused >= 1, timeout=10000)
    assert BLANK_REASON in dlg.message.text() and dlg.message.isVisible()
    qtbot.waitUntil(lambda: not dlg.capturing, timeout=20000)
    assert dlg.refused == SUGGESTED and dlg.taken == []
    assert dlg.isVisible()  # stays open with the reason; nothing to store
    assert dlg.status.text() == "Nothing stored."
    assert BLANK_REASON in dlg.message.text()
    assert dlg.start_button.isEnabled()  # uncover the lens and start again
    assert stored(window) == []
    click(qtbot, dlg.cancel_button)


def test_view_remove_and_clear_all(qtbot, window, shop_folder, photos):
    from app.gui.counter.frames_dialog import CounterFramesDialog

    Source.from_folder(shop_folder).store().counter_frames.add_files(photos("Fruit/Kiwi", 3))
    screen = open_folder(qtbot, window, shop_folder)
    panel = screen.counter
    assert panel.count == 3 and "<b>3 counter frames</b>, newest " in panel.text.text()

    click(qtbot, panel.view_button)
    dlg = window.findChild(CounterFramesDialog)
    assert dlg is not None and dlg.isVisible()
    assert dlg.grid.count() == 3
    assert not dlg.remove_button.isEnabled()  # nothing selected yet
    first = dlg.grid.item(0)
    assert first.text() and first.text()[0].isdigit()  # "3 Dec 14:05"
    dlg.grid.setCurrentItem(first)
    click(qtbot, dlg.remove_button)
    box = dlg.confirm_box
    assert isinstance(box, QMessageBox) and box.isVisible()
    click(qtbot, box.button(QMessageBox.StandardButton.Yes))
    assert dlg.grid.count() == 2 and len(stored(window)) == 2
    assert panel.count == 2

    click(qtbot, dlg.clear_button)
    click(qtbot, dlg.confirm_box.button(QMessageBox.StandardButton.No))  # changed their mind
    assert len(stored(window)) == 2
    click(qtbot, dlg.clear_button)
    click(qtbot, dlg.confirm_box.button(QMessageBox.StandardButton.Yes))
    assert stored(window) == [] and dlg.grid.count() == 0
    assert not dlg.clear_button.isEnabled()
    assert panel.count == 0 and "No counter frames yet" in panel.text.text()
    assert not panel.view_button.isVisible()

    # "Delete all 2" deletes those two: a frame stored while the question was open (the
    # Test screen's Add frames) was deleted too (a data-loss audit)
    store = window.session.store.counter_frames
    store.add_files(photos("Fruit/Kiwi", 2))
    dlg.fill()
    click(qtbot, dlg.clear_button)
    assert "Delete all 2 counter frames" in dlg.confirm_box.text()
    late = store.add_files(photos("Fruit/Lemon", 1))
    click(qtbot, dlg.confirm_box.button(QMessageBox.StandardButton.Yes))
    assert stored(window) == late


def fill_to_the_limit(window) -> list[Path]:
    """The shop's store holding its most frames already (small ones, dated earlier)."""
    from app.core.counter_frames import MAX_KEPT

    store = window.session.store.counter_frames
    rgb = (np.arange(24 * 32 * 3) % 251).astype(np.uint8).reshape(24, 32, 3)
    for _ in range(MAX_KEPT - len(store.paths())):
        store.add_rgb(rgb, prefix="old")
    return store.paths()


def test_frames_beyond_the_shops_limit_are_said_when_the_oldest_go(
    qtbot, make_window, shop_folder, counter_video
):
    """A shop keeps its newest 200 frames; the oldest went without a word (a data-loss
    audit): the banner now says how many went."""
    from app.core.counter_frames import MAX_KEPT

    window = make_window()
    screen = open_folder(qtbot, window, shop_folder)
    old = fill_to_the_limit(window)
    dlg = open_capture(qtbot, window, counter_video)
    with qtbot.waitSignal(dlg.accepted, timeout=30000):
        click(qtbot, dlg.start_button)
    assert len(stored(window)) == MAX_KEPT
    assert not any(p.exists() for p in old[:SUGGESTED]) and all(p.exists() for p in old[SUGGESTED:])
    assert (
        f"Stored {SUGGESTED} counter frames; the {SUGGESTED} oldest frames were removed: a "
        f"shop keeps its newest {MAX_KEPT}. The next training uses them." in screen.banner.text()
    ), screen.banner.text()


def test_test_screen_adds_recent_frames(qtbot, window, shop_folder, counter_video):
    from app.gui.screens.recognise.recent import RECENT_FRAMES

    window.show_screen("test")
    ts = window.test.ensure()
    ts.open_video(counter_video)
    qtbot.waitUntil(lambda: ts.recent_count >= 2, timeout=15000)
    assert ts.add_frames_button.isVisible()
    assert not ts.add_frames_button.isEnabled()  # no shop or folder open: nowhere to store

    window.login.use_folder(shop_folder)
    qtbot.waitUntil(lambda: window.session.store is not None, timeout=10000)
    window.show_screen("test")
    qtbot.waitUntil(lambda: ts.recent_count >= RECENT_FRAMES, timeout=30000)
    assert ts.add_frames_button.isEnabled()
    click(qtbot, ts.add_frames_button)
    qtbot.waitUntil(lambda: "Added" in ts.banner.text(), timeout=10000)
    assert f"Added {RECENT_FRAMES} frames" in ts.banner.text()
    files = stored(window)
    assert len(files) == RECENT_FRAMES and all(f.name.startswith("live-") for f in files)
    # different pictures, not one frame ten times
    digests = set()
    for f in files:
        with Image.open(f) as im:
            digests.add(np.asarray(im.convert("L").resize((16, 12))).tobytes())
    assert len(digests) == RECENT_FRAMES
    assert ts.recent_count == 0 or ts.recent_count < RECENT_FRAMES
    assert window.products.counter.count == RECENT_FRAMES  # the Products line follows

    # at the shop's limit, the oldest make room, and the banner says so
    fill_to_the_limit(window)
    qtbot.waitUntil(lambda: ts.recent_count >= RECENT_FRAMES, timeout=30000)
    click(qtbot, ts.add_frames_button)
    qtbot.waitUntil(lambda: "oldest" in ts.banner.text(), timeout=10000)
    assert f"the {RECENT_FRAMES} oldest frames were removed: a shop keeps its newest 200" in (
        ts.banner.text()
    )


def test_train_screen_hint_and_shops_look(qtbot, window, shop_folder, counter_video):
    from app.core.model import TrainResult
    from app.gui.camera.sources import VideoFileSource
    from app.gui.counter.capture import CounterCaptureDialog

    open_folder(qtbot, window, shop_folder)
    window.show_screen("train")
    train = window.train
    assert train.counter.isVisible() and "No counter frames yet" in train.counter.text.text()
    train.camera_stand_in = lambda: VideoFileSource(counter_video)
    click(qtbot, train.counter.capture_button)
    dlg = window.findChild(CounterCaptureDialog)
    assert dlg is not None and dlg.cameras.currentText() == counter_video.name
    with qtbot.waitSignal(dlg.rejected, timeout=3000):
        click(qtbot, dlg.cancel_button)

    def result(frames: int) -> TrainResult:
        return train_result(
            counter_frames=frames,
            frames_skipped=[("dark.jpg", "almost black")] if frames else [],
            centred_on="this shop's 20 counter frames" if frames else "",
        )

    train.show_result(result(20), {"banana": 3, "kiwi": 3})
    assert train.shop_look.isVisible()
    assert train.shop_look.text() == "Shop's look: from 20 counter frames (1 not used)"
    assert "dark.jpg — almost black" in train.shop_look.toolTip()
    train.show_result(result(0), {"banana": 3, "kiwi": 3})
    assert not train.shop_look.isVisible() and train.shop_look.text() == ""
