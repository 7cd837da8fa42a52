"""Products screen from a local folder: lazy thumbnails, warnings, edits that persist."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget


def drag_and_drop(target, pos, mime) -> bool:
    """A drag entering the widget then a drop, as the window system delivers them."""
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    enter = QDragEnterEvent(pos, *args)
    QApplication.sendEvent(target, enter)
    drop = QDropEvent(QPointF(pos), *args)
    QApplication.sendEvent(target, drop)
    return enter.isAccepted() and drop.isAccepted()


def open_folder(qtbot, window, folder: Path):
    window.login.use_folder(folder)
    screen = window.products
    qtbot.waitUntil(lambda: screen.model.rowCount() > 0, timeout=10000)
    qtbot.waitUntil(lambda: window.session.report is not None, timeout=10000)
    return screen


def row_texts(screen) -> dict[str, list[str]]:
    m = screen.proxy
    return {
        m.index(r, 0).data(): [m.index(r, c).data() or "" for c in range(3)]
        for r in range(m.rowCount())
    }


def test_folders_that_cannot_be_products_are_named(qtbot, window, shop_folder, tmp_path):
    """A folder named in a legacy encoding and a link to a missing folder were dropped
    without a word (and the former failed the export after the training)."""
    import os

    shop = tmp_path / "odd-shop"
    shutil.copytree(shop_folder, shop, symlinks=True)
    (shop / os.fsdecode(b"Caf\xe9")).mkdir()
    (shop / "Lime").symlink_to(tmp_path / "usb" / "Lime")
    screen = open_folder(qtbot, window, shop)
    assert "2 folders are not a product" in screen.warnings.text()
    screen.details_button.setChecked(True)
    details = screen.details.text()
    assert "Folder Caf\ufffd is not used: its name is not valid text (UTF-8)" in details
    assert "Folder Lime is not used: a link to a folder that does not exist" in details


def test_folder_products_warnings_and_search(qtbot, window, shop_folder):
    screen = open_folder(qtbot, window, shop_folder)
    assert window.current_screen() == "products"
    rows = row_texts(screen)
    assert set(rows) == {"banana", "kiwi", "lemon", "empty-shelf"}
    assert rows["empty-shelf"][2] == "no usable photo"
    assert rows["lemon"][2] == "only one photo"
    assert "unusable photo" in rows["kiwi"][2]
    assert rows["kiwi"][1] == "3 of 4"  # the broken file is listed but skipped
    warn = screen.warnings.text()
    assert "1 product has no usable photo and will not be trained" in warn
    assert "1 product has only one photo" in warn
    assert "1 photo can't be used" in warn
    screen.details_button.setChecked(True)
    assert "Can't use broken.jpg (kiwi): damaged or not a photo" in screen.details.text()
    assert "Not trained, add photos: empty-shelf" in screen.details.text()
    screen.select_product("kiwi")
    assert "3 of 4 photos used" in screen.product_title.text()
    tiles = {
        screen.images.item(i).text(): screen.images.item(i).toolTip()
        for i in range(screen.images.count())
    }
    assert "Skipped in training: damaged or not a photo" in tiles["broken.jpg\ncan't use"]
    assert "3 of 4 products will be trained · 7 photos" in screen.summary.text()

    # thumbnails arrive lazily from the decoder thread and replace the placeholder
    thumbs = window.session.thumbnails
    first = sorted((shop_folder / "banana").iterdir())[0]
    qtbot.waitUntil(lambda: thumbs.get(first) is not None, timeout=10000)
    assert thumbs.get(first).deviceIndependentSize().width() == thumbs.size
    qtbot.waitUntil(lambda: thumbs.get(shop_folder / "kiwi" / "broken.jpg") is not None)
    assert thumbs.is_unreadable(shop_folder / "kiwi" / "broken.jpg")

    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert screen.search.hasFocus()
    qtbot.keyClicks(screen.search, "KIW")
    assert list(row_texts(screen)) == ["kiwi"]
    assert not screen.table.no_match.isVisible()
    qtbot.keyClicks(screen.search, "Z")  # no product matches: the list says so
    assert screen.proxy.rowCount() == 0 and screen.table.no_match.isVisible()
    assert screen.table.no_match.text() == "No product matches “kiwz”."
    screen.search.clear()
    assert screen.proxy.rowCount() == 4 and not screen.table.no_match.isVisible()

    # F5 reads the catalogue again (here: a product folder added meanwhile)
    (shop_folder / "mango").mkdir()
    shutil.copy(first, shop_folder / "mango" / "m.jpg")
    qtbot.keyClick(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: screen.model.rowCount() == 5, timeout=10000)


def test_include_exclude_add_and_drop_survive_restart(qtbot, make_window, shop_folder, photos):
    window = make_window()
    screen = open_folder(qtbot, window, shop_folder)

    # exclude a product by its checkbox, and one photo by its tick
    row = screen.model.row_of("banana")
    screen.model.setData(
        screen.model.index(row, 0), Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole
    )
    qtbot.waitUntil(lambda: "2 of 4 products will be trained · 4 photos" in screen.summary.text())
    screen.select_product("kiwi")
    assert screen.current_pid() == "kiwi"
    screen.images.item(0).setCheckState(Qt.CheckState.Unchecked)
    qtbot.waitUntil(lambda: "3 photos" in screen.summary.text())

    # add photos from files, then by dropping files onto the lemon row
    extra = photos("Fruit/Lemon", 3)[1:]
    screen.select_product("lemon")
    stored = screen.add_files([extra[0]])
    assert len(stored) == 1 and "Added 1 photo" in screen.banner.text()
    lemon_ix = screen.proxy.mapFromSource(screen.model.index(screen.model.row_of("lemon"), 0))
    pos = screen.table.visualRect(lemon_ix).center()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(extra[1]))])
    assert drag_and_drop(screen.table.viewport(), pos, mime)
    rows = row_texts(screen)
    assert rows["lemon"][1] == "3" and rows["lemon"][2] == ""
    text_file = shop_folder.parent / "price-list.txt"
    text_file.write_text("not a photo")
    mime_txt = QMimeData()
    mime_txt.setUrls([QUrl.fromLocalFile(str(text_file))])
    assert not drag_and_drop(screen.images.viewport(), screen.images.rect().center(), mime_txt)
    assert row_texts(screen)["lemon"][1] == "3"
    # a text file named .jpg: not stored, not "Added" (it was, then "can't be opened")
    fake = shop_folder.parent / "menu.jpg"
    fake.write_text("not a photo")
    assert screen.add_files([fake]) == []
    assert "were not images and were ignored" in screen.banner.text()

    # a photo from the counter camera (frames from an array source, no camera here)
    from camera_standins import ArraySource

    frame = np.zeros((120, 160, 3), np.uint8)
    frame[:, :80] = (250, 220, 40)
    screen.camera_stand_in = lambda: ArraySource([frame], fps=20)
    dlg = screen.capture_from_webcam()
    qtbot.waitUntil(dlg.take_button.isEnabled, timeout=5000)
    dlg.take_button.click()
    assert row_texts(screen)["lemon"][1] == "4"
    assert "camera photo" in screen.banner.text()

    window.save_state()
    window.close()

    # restart: same folder, same choices and photos
    again = make_window()
    screen2 = open_folder(qtbot, again, shop_folder)
    rows = row_texts(screen2)
    assert rows["lemon"][1] == "4"
    assert screen2.model.products[screen2.model.row_of("banana")].included is False
    kiwi = screen2.model.products[screen2.model.row_of("kiwi")]
    assert kiwi.images[0].included is False
    added = [
        im
        for im in screen2.model.products[screen2.model.row_of("lemon")].images
        if im.origin == "added"
    ]
    assert len(added) == 3 and all(im.path.exists() for im in added)

    # remove an added photo again
    screen2.select_product("lemon")
    for i in range(screen2.images.count()):
        it = screen2.images.item(i)
        it.setSelected(it.data(Qt.ItemDataRole.UserRole) == "added" and i == 1)
    assert screen2.remove_button.isEnabled()
    from PySide6.QtWidgets import QMessageBox

    # asked first, No the default: Enter deleted them for good (a data-loss audit)
    box = screen2.remove_selected_added()
    assert box is screen2.confirm_box and "cannot be undone" in box.text()
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.No)
    box.button(QMessageBox.StandardButton.No).click()
    assert row_texts(screen2)["lemon"][1] == "4" and screen2.confirm_box is None
    box = screen2.remove_selected_added()
    box.button(QMessageBox.StandardButton.Yes).click()
    assert row_texts(screen2)["lemon"][1] == "3"


def test_folder_that_is_not_a_catalogue(qtbot, window, tmp_path):
    window.login.use_folder(tmp_path)  # empty: no product sub-folders
    qtbot.waitUntil(lambda: window.products.banner.isVisible(), timeout=5000)
    assert "No product folders" in window.products.banner.text()
    assert window.products.banner.kind == "error"
    # Train does not ask for a folder that was chosen: it says where the reason is
    window.train._update_intro()
    intro = window.train.intro.text()
    assert "choose a folder" not in intro and "Products says why" in intro
    assert not window.train.start_button.isEnabled()


def test_thumbnails_load_lazily_for_visible_rows(qtbot, window, tmp_path):
    """A big catalogue: only rows on screen ask for thumbnails; scrolling asks for more."""
    from drawn_photos import drawn_photo

    root = tmp_path / "big"
    n = 300
    for i in range(n):
        d = root / f"p{i:03d}"
        d.mkdir(parents=True)
        drawn_photo(d / "a.png", (i % 256, (7 * i) % 256, 90))
    window.login.use_folder(root)
    screen = window.products
    qtbot.waitUntil(lambda: screen.model.rowCount() == n, timeout=20000)
    thumbs = window.session.thumbnails
    first = root / "p000" / "a.png"
    last = root / f"p{n - 1:03d}" / "a.png"
    qtbot.waitUntil(lambda: thumbs.get(first) is not None, timeout=10000)
    asked = len(thumbs._cache) + len(thumbs._pending)
    assert asked < 60, asked  # a screenful, not the whole catalogue
    assert str(last) not in thumbs._cache and str(last) not in thumbs._pending
    qtbot.waitUntil(lambda: window.session.report is not None, timeout=10000)
    screen.table.scrollToBottom()
    qtbot.waitUntil(lambda: str(last) in thumbs._cache, timeout=10000)
    assert len(thumbs._cache) < n


def test_webcam_button_stores_a_photo_from_the_camera(qtbot, window, shop_folder, photos, tmp_path):
    """The real "Webcam…" button, a video file standing in for the counter camera."""
    from camera_standins import write_video
    from PIL import Image

    from app.core.images import load_rgb
    from app.gui.camera.dialogs import CapturePhotoDialog
    from app.gui.camera.sources import VideoFileSource

    frames = [load_rgb(p) for p in photos("Fruit/Lemon", 2) for _ in range(3)]
    video = write_video(frames, tmp_path / "counter.mp4", fps=10, size=(320, 240))
    screen = open_folder(qtbot, window, shop_folder)
    screen.camera_stand_in = lambda: VideoFileSource(video)
    screen.select_product("lemon")
    assert row_texts(screen)["lemon"][1] == "1"
    camera_before = window.session.settings.camera_id

    qtbot.mouseClick(screen.webcam_button, Qt.MouseButton.LeftButton)
    dlg = screen.findChild(CapturePhotoDialog)
    assert dlg is not None and dlg.isVisible()
    assert dlg.cameras.currentText() == "counter.mp4"
    qtbot.waitUntil(dlg.take_button.isEnabled, timeout=15000)
    with qtbot.waitSignal(dlg.accepted, timeout=5000):
        qtbot.mouseClick(dlg.take_button, Qt.MouseButton.LeftButton)

    assert row_texts(screen)["lemon"][1] == "2"
    assert "Added a camera photo to lemon" in screen.banner.text()
    lemon = screen.model.products[screen.model.row_of("lemon")]
    added = [im.path for im in lemon.images if im.origin == "added"]
    assert len(added) == 1 and added[0].name.startswith("webcam-")
    with Image.open(added[0]) as im:
        assert im.size == (320, 240)  # the video's frame, stored as the product's photo
    assert window.session.settings.camera_id == camera_before  # a stand-in is not a camera


def test_webcam_button_without_a_camera_explains_and_cancels(qtbot, window, shop_folder):
    """No stand-in: the button opens the real camera dialog; none here, so it says so."""
    from PySide6.QtWidgets import QDialogButtonBox

    from app.gui.camera.dialogs import CapturePhotoDialog
    from app.gui.camera.sources import list_cameras

    if list_cameras():
        pytest.skip("a camera is attached to this machine")
    screen = open_folder(qtbot, window, shop_folder)
    screen.select_product("kiwi")
    qtbot.mouseClick(screen.webcam_button, Qt.MouseButton.LeftButton)
    dlg = screen.findChild(CapturePhotoDialog)
    assert dlg is not None and dlg.isVisible()
    assert not dlg.take_button.isEnabled() and "files" in dlg.message.text()
    cancel = dlg.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Cancel)
    with qtbot.waitSignal(dlg.rejected, timeout=2000):
        qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert row_texts(screen)["kiwi"][1] == "3 of 4"


def test_a_row_says_it_has_a_photo_filed_under_another_product(tmp_path) -> None:
    """The banner counted "1 photo is filed under two products"; no row said which."""
    from app.core.catalogue import ImageRef
    from app.core.flows.check_photos import NotUsed
    from app.core.flows.open_source import Product
    from app.gui.screens.products.table import photo_notes

    beans, soda, kiwi = (tmp_path / n for n in ("beans.jpg", "soda.jpg", "kiwi.jpg"))
    found = NotUsed({}, {}, [(beans, soda)])
    said = "photo in two products"
    assert said in photo_notes(Product("beans", "beans", [ImageRef(beans)]), found)
    assert said in photo_notes(Product("soda", "soda", [ImageRef(soda)]), found)
    assert said not in photo_notes(Product("kiwi", "kiwi", [ImageRef(kiwi)]), found)


def test_products_disabled_in_the_shop_and_loose_photos_are_said_not_trained(qtbot) -> None:
    """They are not in the list at all (never trained): the warning line is where the
    owner learns why a product of the shop is missing."""
    from app.core.catalogue import Catalogue, Product
    from app.core.flows.check_photos import NOTHING_FOUND
    from app.gui.screens.products.warnings import CheckWarnings

    host = QWidget()
    qtbot.addWidget(host)
    shown = CheckWarnings(host)
    cat = Catalogue([Product("1", "Apple"), Product("2", "Pear")], disabled=[("7", "Mango")])
    shown.show(cat, NOTHING_FOUND, None, cat.names(), "")
    assert "1 product is disabled in the shop and not trained" in shown.warnings.text()
    assert "Mango: disabled in the shop (enable it there to train it)" in shown.details.text()
    # photos beside the product folders: the photo check's note only, hidden (nothing said)
    cat = Catalogue([Product("1", "Apple"), Product("2", "Pear")], loose=[Path("/s/lime.jpg")])
    shown.show(cat, NOTHING_FOUND, None, cat.names(), "")
    assert "1 photo is not in a product's folder and not used" in shown.warnings.text()
    assert "lime.jpg: not in a product's folder" in shown.details.text()
    cat = Catalogue([Product("Shop", "Shop"), Product("2", "Pear")], nested=[("Shop", ["A", "B"])])
    shown.show(cat, NOTHING_FOUND, None, cat.names(), "")
    assert "1 product has its photos in sub-folders only" in shown.warnings.text()
    assert "open Shop itself as the photo folder" in shown.details.text()


def test_a_folder_of_photos_dropped_on_a_product_adds_the_photos_in_it(
    qtbot, window, shop_folder, photos
) -> None:
    """It was refused without a word (only files with a photo's name were taken)."""
    screen = open_folder(qtbot, window, shop_folder)
    more = shop_folder.parent / "more lemons"
    more.mkdir()
    for p in photos("Fruit/Lemon", 6)[4:]:
        shutil.copy(p, more / p.name)
    (more / "notes.txt").write_text("not a photo")
    lemon_ix = screen.proxy.mapFromSource(screen.model.index(screen.model.row_of("lemon"), 0))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(more))])
    assert drag_and_drop(screen.table.viewport(), screen.table.visualRect(lemon_ix).center(), mime)
    assert "Added 2 photo(s) to lemon." in screen.banner.text(), screen.banner.text()
    qtbot.waitUntil(lambda: row_texts(screen)["lemon"][1] == "3")


def test_the_keyboard_leaves_the_product_list_and_space_ticks_its_row(qtbot, window, shop_folder):
    """Found by an audit: Tab cycled the list's cells for ever (Add photos…, Webcam… and
    the photos were out of reach), and Space ticked a product only in the first column."""
    screen = open_folder(qtbot, window, shop_folder)
    table = screen.table
    table.setFocus()
    table.setCurrentIndex(screen.proxy.index(0, 1))  # rows highlight whole: any column
    assert not table.tabKeyNavigation()
    first = screen.proxy.index(0, 0).data()

    qtbot.keyClick(table, Qt.Key.Key_Space)

    assert screen.session.store.excluded_products == {first}
    qtbot.keyClick(table, Qt.Key.Key_Space)
    assert screen.session.store.excluded_products == set()
