"""Issue 19, a new owner's first week: each behaviour through the widgets the owner clicks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from PySide6.QtCore import Qt

from app.core.pipeline import Source
from app.core.sample_shop import sample_shop_dir

LEFT = Qt.MouseButton.LeftButton
LABELS = ["Banana", "Kiwi", "Lemon", "Lime", "Orange"]  # the TM export has five outputs


def fake_model(folder: Path, tm_export: Path, labels: list[str], **meta: object) -> Path:
    """A valid export (real TF.js files) with our metadata, where training would put it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("model.json", "weights.bin"):
        shutil.copy(tm_export / name, folder / name)
    full = {
        "labels": labels,
        "labelNames": labels,
        "trainedAt": "2026-11-27T10:00:00Z",
        "imageCount": 7,
        "channelId": "",
        **meta,
    }
    (folder / "metadata.json").write_text(json.dumps(full))
    return folder


def click(qtbot, widget) -> None:
    assert widget.isVisible() and widget.isEnabled(), widget
    qtbot.mouseClick(widget, LEFT)


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
