"""Issue 19, a new owner's first week: each behaviour through the widgets the owner clicks."""

from __future__ import annotations

import json
from pathlib import Path

from gui_actions import answer_next_question, click
from model_standins import fake_model
from PySide6.QtCore import Qt

from app.core.flows.open_source import Source
from app.core.sample_shop import sample_shop_dir
from app.gui.screens.products import PATH_ROLE

LEFT = Qt.MouseButton.LeftButton
LABELS = ["Banana", "Kiwi", "Lemon", "Lime", "Orange"]  # the TM export has five outputs


def open_sample_shop(qtbot, window) -> None:
    window.show_screen("login")
    click(qtbot, window.login.sample_button)
    qtbot.waitUntil(lambda: window.products.model.rowCount() == 6, timeout=10000)


# -- 2. Model screen: "Publish…" without a shop login --------------------------------------
def test_model_screen_publish_in_the_sample_shop_leads_to_folder_publishing(
    qtbot, window, tm_export
):
    model = window.model
    window.show_screen("model")
    assert not model.publish_button.isEnabled()  # nothing to publish: it says so
    assert model.publish_button.toolTip().startswith("Train a model or open a model folder")

    fake_model(Source.from_folder(sample_shop_dir()).model_dir(), tm_export, LABELS)
    open_sample_shop(qtbot, window)  # finds the model trained here before
    window.show_screen("model")
    qtbot.waitUntil(lambda: model.model is not None, timeout=10000)
    assert model.publish_button.isEnabled()
    said = (
        "Not logged in to a shop: on the Publish screen, publish this model to a folder your "
        "shop serves or save a copy of the three files. Publishing to a shop needs a shop login."
    )
    assert model.publish_button.toolTip() == said
    assert model.publish_hint.isVisible() and model.publish_hint.text() == said
    # the box below does not ask to "Log in to a shop…" for a shop that has no server
    assert model.published_box.title() == "Publishing"
    text = model.published_label.text()
    assert text.startswith("This is the sample shop: it has no shop server")
    assert "Publishing to a shop needs a shop login" in text
    assert "publishing to a folder" in text and "Publish screen" in text
    assert not model.refresh_published_button.isVisible()

    click(qtbot, model.publish_button)
    assert window.current_screen() == "publish"
    assert window.publish.folder_publish_button.isEnabled()


def test_model_screen_in_a_local_folder_says_there_is_no_server(
    qtbot, window, tm_export, shop_folder
):
    fake_model(Source.from_folder(shop_folder).model_dir(), tm_export, LABELS)
    window.show_screen("login")
    window.login.use_folder(shop_folder)
    window.show_screen("model")
    qtbot.waitUntil(lambda: window.model.model is not None, timeout=10000)
    text = window.model.published_label.text()
    assert text.startswith("Training from a local folder: there is no shop server to check.")
    click(qtbot, window.model.publish_button)
    assert window.current_screen() == "publish"


# -- 3. Publish screen: nothing published twice by accident; versions an owner can read -------
def test_folder_publish_asks_then_says_published_until_the_model_changes(
    qtbot, window, tm_export, tmp_path
):
    from app.core.folder_publish import folder_status
    from app.core.wording import format_when

    held = {"validationAccuracy": 0.75, "heldBackPhotos": 12, "imageCount": 40}
    a = fake_model(tmp_path / "a", tm_export, LABELS, channelId="1", productCount=5, **held)
    b_when = "2026-11-28T10:00:00Z"
    b = fake_model(tmp_path / "b", tm_export, LABELS, channelId="1", trainedAt=b_when, **held)
    a_said = f"the model trained {format_when({'trainedAt': '2026-11-27T10:00:00Z'})} (5 products)"
    b_said = f"the model trained {format_when({'trainedAt': b_when})} (5 products)"
    assets = tmp_path / "assets"
    pub = window.publish
    window.session.set_model_dir(a)
    pub.set_publish_folder(assets)
    window.show_screen("publish")
    button = pub.folder_publish_button
    assert button.text() == "Publish to the folder"

    # it asks first, the way the shop publish does; Cancel publishes nothing
    seen: list[str] = []
    answer_next_question(qtbot, pub, "Cancel", seen)
    click(qtbot, button)
    assert seen == [
        f"Publish {a_said} to channel 1 in the folder {assets}? Nothing is published there yet."
    ]
    assert folder_status(assets, "1")["current"] is None

    answer_next_question(qtbot, pub, "Publish", seen)
    click(qtbot, button)
    qtbot.waitUntil(lambda: pub.folder_versions.rowCount() == 1, timeout=20000)
    qtbot.waitUntil(lambda: not button.isEnabled(), timeout=10000)
    assert button.text() == "Published — train again to publish a new model"
    assert "already serves exactly these three files" in button.toolTip()
    # the line above the buttons says so too (it still said "Ready to publish …")
    assert pub.what.text().startswith("The folder below serves"), pub.what.text()

    # a new model: the button is back, and replacing the served version is asked too
    window.session.set_model_dir(b)
    assert button.isEnabled() and button.text() == "Publish to the folder"
    answer_next_question(qtbot, pub, "Publish", seen)
    click(qtbot, button)
    assert seen[-1] == f"Replace {a_said} on channel 1 in the folder {assets} with {b_said}?"
    qtbot.waitUntil(lambda: pub.folder_versions.rowCount() == 2, timeout=20000)
    qtbot.waitUntil(lambda: button.text().startswith("Published"), timeout=10000)

    # versions read as date, products, photos and held-back result (the name is a tooltip)
    table = pub.folder_versions
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers[:5] == ["Trained", "Products", "Photos", "Held back", "Published"]
    older = [table.item(1, c).text() for c in range(table.columnCount())]
    assert older[:4] == [
        format_when({"trainedAt": "2026-11-27T10:00:00Z"}),
        "5",
        "40",
        "75 % (9 of 12)",
    ]
    assert older[5] == "" and table.item(0, 5).text() == "serving now"
    version_a = table.item(1, 0).data(Qt.ItemDataRole.UserRole).version
    assert table.item(1, 0).toolTip() == f"Version {version_a}"
    assert b_said in pub.folder_served.text()

    # serving an earlier version again is asked, the same way
    table.selectRow(1)
    answer_next_question(qtbot, pub, "Cancel", seen)
    click(qtbot, pub.folder_rollback_button)
    assert seen[-1] == (
        f"Serve {a_said} on channel 1 in the folder {assets} again, instead of {b_said}?"
    )
    assert folder_status(assets, "1")["current"]["trainedAt"] == b_when
    answer_next_question(qtbot, pub, "Serve again", seen)
    click(qtbot, pub.folder_rollback_button)
    qtbot.waitUntil(
        lambda: (folder_status(assets, "1")["current"] or {}).get("version") == version_a,
        timeout=20000,
    )
    qtbot.waitUntil(lambda: "again" in pub.banner.text(), timeout=10000)
    # the folder no longer serves the files open here (b): they may be published again
    qtbot.waitUntil(lambda: button.isEnabled() and button.text() == "Publish to the folder")
    # …and the line above the buttons no longer says the folder serves them
    assert pub.what.text().startswith("Ready to publish"), pub.what.text()


# -- 4. Words: "Sample shop", where "Use a local folder…" opens, what the channel id is -------
def test_the_sample_shop_is_called_sample_shop_not_a_path(qtbot, window):
    from app.core import paths

    open_sample_shop(qtbot, window)
    inside = str(paths.data_dir())
    assert window.source_label.text() == "Using Sample shop"
    assert window.windowTitle() == "Dukahub Model Trainer — Sample shop"
    assert window.products.source_name.text() == "— Sample shop"
    window.show_screen("login")
    said = window.login.connected_label.text()
    assert "<b>Sample shop</b>" in said and inside not in said
    # not "Connect to your shop" over a shop that is open: that read as a prompt
    assert window.login.title.text() == "Your photos"
    assert inside not in window.source_label.text() + window.products.source_name.text()


def test_use_a_local_folder_opens_in_pictures_not_the_apps_data_folder(
    qtbot, window, monkeypatch, tmp_path
):
    from PySide6.QtWidgets import QFileDialog

    from app.core import paths

    home = tmp_path / "owner"
    (home / "Pictures").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.delenv("XDG_PICTURES_DIR", raising=False)
    opened: list[str] = []

    def pick(_parent, _title, start, *args, **kwargs):
        opened.append(start)
        return ""  # the owner closes the dialog

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(pick))
    open_sample_shop(qtbot, window)  # remembers the sample shop's copy as the last folder
    assert paths.data_dir() in Path(window.settings.last_folder).parents
    window.show_screen("login")
    click(qtbot, window.login.other_folder_button)
    assert opened == [str(home / "Pictures")]

    (home / "Pictures").rmdir()  # no Pictures folder: home
    click(qtbot, window.login.other_folder_button)
    assert opened[-1] == str(home)


def test_channel_id_is_explained_for_a_folder_or_the_sample_shop(qtbot, window, tm_export):
    fake_model(Source.from_folder(sample_shop_dir()).model_dir(), tm_export, LABELS)
    open_sample_shop(qtbot, window)
    window.show_screen("model")
    qtbot.waitUntil(lambda: window.model.model is not None, timeout=10000)
    click(qtbot, window.model.publish_button)
    hint = window.publish.channel_hint
    assert hint.isVisible()
    assert hint.text() == (
        "Channel id: which shop channel’s tills read this model (1 for a shop’s default "
        "channel; a folder or the sample shop has no channels, so keep 1 unless your shop "
        "has several)."
    )
    trained_for = fake_model(Path(window.session.model_dir).parent / "for-2", tm_export, LABELS)
    meta = json.loads((trained_for / "metadata.json").read_text())
    (trained_for / "metadata.json").write_text(json.dumps({**meta, "channelId": "2"}))
    window.session.set_model_dir(trained_for)
    assert window.publish.channel_id.text() == "2" and window.publish.channel_id.isReadOnly()
    assert hint.text().startswith(
        "Channel id: this model was trained for the shop channel with id 2"
    )


# -- 5. Photos: double-click shows one large; "added"/"catalogue" say their name and date ----
def test_double_click_shows_a_photo_large_with_its_name_and_date(
    qtbot, window, shop_folder, photos
):
    from app.gui.photo_viewer import format_date, photo_date, photo_description

    window.show_screen("login")
    window.login.use_folder(shop_folder)
    screen = window.products
    qtbot.waitUntil(lambda: screen.model.rowCount() > 0, timeout=10000)
    screen.select_product("banana")
    screen.add_files(photos("Fruit/Lemon", 1), pid="banana")
    qtbot.waitUntil(lambda: screen.images.count() == 4, timeout=10000)
    rows = [screen.images.item(i) for i in range(screen.images.count())]
    added = next(item for item in rows if item.text().startswith("added"))
    path = Path(added.data(PATH_ROLE))
    when = format_date(photo_date(path))
    # the caption says "added"; the tooltip names the file and says when
    assert added.toolTip().startswith(f"{path.name} · added by you, {when}")
    assert "Double-click to see it large" in added.toolTip()

    view = screen.images
    centre = view.visualItemRect(added).center()
    assert window.current_screen() == "products" and view.isVisible()
    qtbot.mouseClick(view.viewport(), LEFT, pos=centre)  # an owner's double-click: press,
    qtbot.mouseDClick(view.viewport(), LEFT, pos=centre)  # release, then the second press
    dlg = screen.photo_dialog
    assert dlg is not None and dlg.isVisible()
    assert dlg.windowTitle() == path.name
    pm = dlg.image.pixmap()
    assert not pm.isNull() and pm.width() > screen.session.thumbnails.size
    caption = dlg.caption.text()
    assert caption.startswith(f"{path.name} · added by you, {when}")
    assert "pixels" in caption and str(path) in caption
    click(qtbot, dlg.close_button)
    assert not dlg.isVisible()

    # a shop photo is dated by its asset's updatedAt, not the day it was downloaded
    stamp = "2026-11-20T08:30:00.000Z"
    said = photo_description(path, "catalog", stamp)
    assert said == f"{path.name} · from the shop's catalogue, " + format_date(
        photo_date(path, stamp)
    )
    assert photo_date(path, stamp).isoformat().startswith("2026-11-20T08:30")


# -- 6. The log: routine replaced checks are not an owner's or a maintainer's news ----------
def click_check_box(qtbot, view, item) -> None:
    """Click the tick box of one item of a list view, where the owner clicks it."""
    from PySide6.QtWidgets import QStyle, QStyleOptionViewItem

    index = view.indexFromItem(item)
    opt = QStyleOptionViewItem()
    view.initViewItemOption(opt)
    opt.rect = view.visualRect(index)
    view.itemDelegate().initStyleOption(opt, index)
    box = view.style().subElementRect(QStyle.SubElement.SE_ItemViewItemCheckIndicator, opt, view)
    qtbot.mouseClick(view.viewport(), LEFT, pos=box.center())


def test_ticking_photos_fast_does_not_flood_the_log(qtbot, window, shop_folder, caplog):
    import logging

    window.show_screen("login")
    window.login.use_folder(shop_folder)
    screen = window.products
    qtbot.waitUntil(lambda: screen.model.rowCount() > 0, timeout=10000)
    qtbot.waitUntil(lambda: window.session.report is not None, timeout=20000)
    screen.select_product("banana")
    caplog.set_level(logging.DEBUG, logger="app.gui.tasks")
    caplog.clear()
    earlier = window.runner.superseded.get("check", 0)  # while the folder loaded
    for _ in range(20):  # an owner ticking photos off and on: each edit re-checks
        item = screen.images.item(0)
        before = item.checkState()
        click_check_box(qtbot, screen.images, item)
        assert screen.images.item(0).checkState() != before
    # the last clicks' checks may still replace one another: count once they are done
    qtbot.waitUntil(lambda: window.runner.current("check") is None, timeout=20000)
    replaced = window.runner.superseded.get("check", 0) - earlier
    assert replaced >= 10  # the clicks came faster than the checks finished
    loud = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert not [r for r in loud if "check" in r.getMessage()], [r.getMessage() for r in loud]
    quiet = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert sum("superseding the running check task" in m for m in quiet) == replaced

    total = window.runner.superseded["check"]  # >= earlier + replaced: it only grows
    assert total >= earlier + replaced
    window.shutdown()  # one line for a maintainer: how much was replaced, by kind
    summary = [
        r.getMessage() for r in caplog.records if "replaced by a newer one" in r.getMessage()
    ]
    assert len(summary) == 1 and f"check {total}" in summary[0]


def test_two_versions_of_the_same_minute_are_told_apart_in_the_questions(tmp_path):
    """ "Serve the model trained 05:17 … again, instead of the model trained 05:17 …?"
    named two different models alike; the Model screen already gave the seconds."""
    from app.core.flows.publish import ModelVersion
    from app.gui.screens.publish.places import FolderPlace

    def version(name: str, at: str) -> ModelVersion:
        meta = {"trainedAt": at, "labels": ["1", "2"], "productCount": 2}
        return ModelVersion(name, at, at, False, 2, meta)

    a = version("20261207T051701000Z-aaaaaa", "2026-12-07T05:17:01Z")
    b = version("20261207T051742000Z-bbbbbb", "2026-12-07T05:17:42Z")
    text, _ = FolderPlace(tmp_path, "1").rollback_question(a, b)
    again, now = text.split(" again, instead of ")
    assert ":01" in again and ":42" in now, text


def test_the_publish_screen_reads_the_folder_again_when_shown(qtbot, window, tm_export, tmp_path):
    """A `rollback --to-folder` on the command line while the app was open: the app went
    on marking the old version "serving now" until the folder was chosen again."""
    from app.core.folder_publish import folder_status, publish_to_folder, rollback_folder

    a = fake_model(tmp_path / "a", tm_export, LABELS, channelId="1")
    b = fake_model(
        tmp_path / "b", tm_export, LABELS, channelId="1", trainedAt="2026-11-28T10:00:00Z"
    )
    assets = tmp_path / "assets"
    first = publish_to_folder(a, assets).version
    publish_to_folder(b, assets)
    pub = window.publish
    window.session.set_model_dir(b)
    pub.set_publish_folder(assets)
    window.show_screen("publish")
    table = pub.folder_versions
    qtbot.waitUntil(lambda: table.rowCount() == 2 and table.item(0, 5).text() == "serving now")
    window.show_screen("model")
    rollback_folder(assets, "1", first)  # the command line, meanwhile
    assert folder_status(assets, "1")["current"]["version"] == first
    window.show_screen("publish")
    qtbot.waitUntil(lambda: table.item(1, 5).text() == "serving now", timeout=10000)
    assert table.item(0, 5).text() == ""
