"""The whole loop against the real Vendure test server: log in, products, train, publish."""

from __future__ import annotations

import json

import pytest
import requests
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

pytestmark = pytest.mark.slow

PUBLISHED = "Published — train again to publish a new model"


def log_in(qtbot, window, server, user: str, password: str, remember: bool = False):
    login = window.login
    login.server.setCurrentText(server.url)
    login.username.setText(user)
    login.password.setText(password)
    login.remember.setChecked(remember)
    login.login_button.click()
    return login


def test_login_errors_are_shown_inline(qtbot, window, vendure):
    user, _ = vendure.users["trainer"]
    login = log_in(qtbot, window, vendure, user, "wrong password")
    qtbot.waitUntil(lambda: login.banner.isVisible(), timeout=20000)
    assert login.banner.kind == "error"
    assert "Wrong username or password" in login.banner.text()
    assert login.password.text() == ""  # never kept
    assert window.session.source is None
    assert login.login_button.isEnabled()

    login.server.setCurrentText("http://127.0.0.1:9")  # nothing listens there
    login.username.setText(user)
    login.password.setText("x")
    login.login_button.click()
    qtbot.waitUntil(lambda: "127.0.0.1:9" in login.banner.text(), timeout=30000)
    assert login.banner.kind == "error" and "Traceback" not in login.banner.text()


def test_viewer_cannot_publish(qtbot, window, vendure):
    user, password = vendure.users["viewer"]
    log_in(qtbot, window, vendure, user, password)
    qtbot.waitUntil(lambda: window.session.logged_in, timeout=20000)
    assert window.session.source.channel_code == "fruit"  # only channel: no picker
    window.session.set_model_dir(None)
    window.show_screen("publish")
    assert not window.publish.publish_button.isEnabled()


def test_a_superadmin_is_offered_a_shop_before_the_default_channel(qtbot, window, vendure):
    """Vendure lists its default channel first; it holds every channel's products, and
    a superadmin who pressed Open at once trained all the shops into one model."""
    login = log_in(qtbot, window, vendure, vendure.admin_user, vendure.admin_password)
    qtbot.waitUntil(lambda: login.pages.currentIndex() == 1, timeout=20000)
    items = [login.channel_list.item(i) for i in range(login.channel_list.count())]
    codes = [item.data(Qt.ItemDataRole.UserRole).code for item in items]
    assert codes[0] == "__default_channel__" and len(codes) > 2, codes
    assert items[0].text().endswith("; every channel's products)"), items[0].text()
    assert not any("every channel" in item.text() for item in items[1:])
    assert login.channel_list.currentRow() == 1


def test_full_flow_train_publish_and_verify(
    qtbot, make_window, vendure, base_weights, monkeypatch, settings
):
    monkeypatch.setenv("DUKAHUB_TRAINER_BASE_WEIGHTS", str(base_weights))
    settings.epochs = 8
    settings.save()
    window = make_window()
    user, password = vendure.users["trainer"]
    fruit = vendure.channels["fruit"]

    # log in: this user has three channels, so the picker appears
    login = log_in(qtbot, window, vendure, user, password, remember=True)
    qtbot.waitUntil(lambda: login.pages.currentIndex() == 1, timeout=20000)
    items = [login.channel_list.item(i) for i in range(login.channel_list.count())]
    codes = [item.data(Qt.ItemDataRole.UserRole).code for item in items]
    assert sorted(codes) == ["bulk", "empty", "fruit"]
    # the server lists code, id and permissions only: the picker shows the code and id
    shown = items[codes.index("fruit")].text()
    assert shown == f"fruit   (channel id {fruit.id})", shown
    login.channel_list.setCurrentRow(codes.index("fruit"))
    login.choose_channel()
    qtbot.waitUntil(lambda: window.session.logged_in, timeout=20000)
    assert window.current_screen() == "products"
    assert vendure.url in window.settings.recent_servers

    # products: every product of the channel, the one without a photo flagged
    products = window.products
    qtbot.waitUntil(lambda: products.model.rowCount() == len(fruit.products), timeout=60000)
    names = {p.id: p.name for p in products.model.products}
    assert names == fruit.products
    no_photo = next(pid for pid, n in fruit.images.items() if n == 0)
    row = products.model.row_of(no_photo)
    assert products.model.index(row, 2).data() == "no usable photo"
    qtbot.waitUntil(lambda: window.session.report is not None, timeout=20000)
    assert "8 of 9 products will be trained · 24 photos" in products.summary.text()

    # train
    window.show_screen("train")
    task = window.train.start()
    with qtbot.waitSignal(task.finished, timeout=240000):
        pass
    assert task.outcome == "ok", task.error and task.error.details
    model_dir = window.session.model_dir
    meta = json.loads((model_dir / "metadata.json").read_text())
    assert meta["channelId"] == fruit.id and sorted(meta["labels"]) == sorted(
        pid for pid, n in fruit.images.items() if n
    )
    # eight trained products, and the one without a photo listed as "needs photos"
    assert window.train.per_product.rowCount() == 9
    assert window.train.per_product.item(0, 2).text() == "needs photos"

    # the model screen names the labels and compares with what the server serves
    model = window.model
    window.show_screen("model")
    qtbot.waitUntil(lambda: model.model is not None, timeout=20000)
    shown = {
        model.labels_table.item(r, 1).text(): model.labels_table.item(r, 2).text()
        for r in range(model.labels_table.rowCount())
    }
    assert shown == {pid: fruit.products[pid] for pid in meta["labels"]}
    model.load_published()
    qtbot.waitUntil(lambda: "Checking" not in model.published_label.text(), timeout=20000)
    if model.published is None:
        assert "No model is published for channel fruit yet." in model.published_label.text()
        assert not model.compare.isVisible()
    else:  # an earlier test of this session published to fruit
        assert model.compare.text() == "This model is newer than the published one."

    # publish, then check what the shop serves is byte for byte our files
    publish = window.publish
    window.show_screen("publish")
    assert publish.publish_button.isEnabled()
    assert "fruit" in publish.what.text()
    # the confirmation says what replaces what; answering Cancel publishes nothing
    asked: list[str] = []

    def answer_cancel(box):
        asked.append(box.text())
        return QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(QMessageBox, "exec", answer_cancel)
    before = requests.get(
        f"{vendure.url}/assets/ml-models/{fruit.id}/latest/metadata.json", timeout=10
    ).content
    publish.publish()
    qtbot.waitUntil(lambda: bool(asked), timeout=20000)
    assert "channel “fruit”" in asked[0] and "(8 products)" in asked[0]
    assert asked[0].startswith(("Publish the model trained", "Replace the model trained"))
    qtbot.waitUntil(publish.publish_button.isEnabled, timeout=5000)
    assert publish.banner.kind == ""
    assert (
        requests.get(
            f"{vendure.url}/assets/ml-models/{fruit.id}/latest/metadata.json", timeout=10
        ).content
        == before
    )

    publish.confirm = False
    publish.publish()
    qtbot.waitUntil(lambda: publish.banner.kind in ("ok", "error"), timeout=120000)
    assert publish.banner.kind == "ok", publish.banner.text()
    assert "verified" in publish.banner.text()
    assert f"/ml-models/{fruit.id}/latest/model.json" in publish.url.text()
    for name in ("model.json", "weights.bin", "metadata.json"):
        served = requests.get(
            f"{vendure.url}/assets/ml-models/{fruit.id}/latest/{name}", timeout=10
        )
        assert served.status_code == 200
        assert served.content == (model_dir / name).read_bytes(), name
    qtbot.waitUntil(lambda: "currently published" in model.compare.text(), timeout=20000)
    # the same files cannot be published twice by accident: the button says why
    qtbot.waitUntil(lambda: publish.publish_button.text() == PUBLISHED, timeout=20000)
    assert not publish.publish_button.isEnabled()
    assert "exactly the files on this computer" in publish.what.text()

    # the served model knows this catalogue: no banner; unticking a product changes that
    changes = window.changes
    qtbot.waitUntil(lambda: changes.news.text == "", timeout=20000)
    gone = sorted(meta["labels"])[0]
    window.products.set_product_included(gone, False)
    qtbot.waitUntil(
        lambda: changes.news.text.startswith("1 removed since the model your shop serves"),
        timeout=20000,
    )
    assert window.changes_banners[1].train_button.text() == "Train now"
    window.products.set_product_included(gone, True)
    qtbot.waitUntil(lambda: changes.news.text == "", timeout=20000)

    # the same files again: nothing is uploaded, the served version is reported
    first = publish.banner.text().split("version ")[1].split(",")[0]
    publish.banner.clear_message()
    publish.publish()
    qtbot.waitUntil(lambda: publish.banner.kind in ("ok", "error"), timeout=120000)
    assert publish.banner.kind == "ok", publish.banner.text()
    said = publish.banner.text()
    assert said.startswith(f"Already published: the shop now serves version {first},"), said

    # a changed model (one more metadata key) is a second version; then back to the first
    original = (model_dir / "metadata.json").read_bytes()
    changed = {**json.loads(original), "note": "second"}
    (model_dir / "metadata.json").write_text(json.dumps(changed))
    publish.banner.clear_message()
    window.session.set_model_dir(model_dir)  # as a training run announces its new files
    assert publish.publish_button.isEnabled() and publish.publish_button.text() != PUBLISHED
    qtbot.mouseClick(publish.publish_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: publish.banner.kind in ("ok", "error"), timeout=120000)
    assert publish.banner.kind == "ok", publish.banner.text()
    second = publish.banner.text().split("version ")[1].split(",")[0]
    assert second != first
    (model_dir / "metadata.json").write_bytes(original)
    qtbot.waitUntil(lambda: second in publish.served.text(), timeout=20000)
    rows = {
        publish.versions.item(r, 0).data(Qt.ItemDataRole.UserRole).version: r
        for r in range(publish.versions.rowCount())
    }
    assert {first, second} <= set(rows)
    # each version says what it is: when trained, products, photos, held-back result
    cells = [publish.versions.item(rows[first], c).text() for c in range(6)]
    assert cells[1] == "8" and cells[2] == str(meta["imageCount"])
    assert cells[3].endswith(f" of {meta['heldBackPhotos']})") or cells[3] == "not measured"
    assert publish.versions.item(rows[first], 0).toolTip() == f"Version {first}"
    publish.versions.selectRow(rows[first])
    assert publish.rollback_button.isEnabled()
    publish.banner.clear_message()
    publish.rollback_selected()
    qtbot.waitUntil(lambda: publish.banner.kind in ("ok", "error"), timeout=30000)
    assert publish.banner.text() == f"Channel fruit serves version {first} again."
    qtbot.waitUntil(
        lambda: (
            publish.status is not None
            and publish.status.current is not None
            and publish.status.current.version == first
        ),
        timeout=20000,
    )
    assert first in publish.served.text()
    # the files on this computer are the first version's again: served, nothing to publish
    qtbot.waitUntil(lambda: publish.publish_button.text() == PUBLISHED, timeout=20000)

    window.save_state()
    window.close()

    # offline, the model folder alone still names its products (labelNames)
    offline = make_window()
    offline.session.set_model_dir(model_dir)
    qtbot.waitUntil(lambda: offline.model.model is not None, timeout=20000)
    table = offline.model.labels_table
    assert {
        table.item(r, 1).text(): table.item(r, 2).text() for r in range(table.rowCount())
    } == shown
    offline.close()

    # restart: the remembered session reconnects to the last channel by itself
    again = make_window()
    again.after_first_paint()
    qtbot.waitUntil(lambda: again.session.logged_in, timeout=30000)
    assert again.session.source.channel_code == "fruit"
    again.login._select(next(c for c in again.login._channels if c.code == "bulk"))
    qtbot.waitUntil(lambda: again.session.source.channel_code == "bulk", timeout=20000)
    # a failed publish says the previous model is still served: the fruit model
    # cannot go to the bulk channel (its labels are not bulk's products)
    again.session.set_model_dir(model_dir)
    again.publish.confirm = False
    again.publish.publish()
    qtbot.waitUntil(lambda: again.publish.banner.kind == "error", timeout=60000)
    text = again.publish.banner.text()
    assert "Publishing failed" in text and "previous model is still being served" in text
    served = requests.get(
        f"{vendure.url}/assets/ml-models/{fruit.id}/latest/metadata.json", timeout=10
    )
    assert served.content == (model_dir / "metadata.json").read_bytes()

    # log out forgets the remembered session
    again.login.log_out()
    assert not again.session.logged_in


def test_expired_session_sends_the_owner_back_to_login(qtbot, window, vendure):
    user, password = vendure.users["viewer"]
    log_in(qtbot, window, vendure, user, password)
    qtbot.waitUntil(lambda: window.session.logged_in, timeout=20000)
    qtbot.waitUntil(lambda: window.products.model.rowCount() > 0, timeout=60000)
    # the server forgets the session (e.g. it expired): end it behind the app's back
    client = window.session.client
    requests.post(
        client.api_url,
        json={"query": "mutation { logout { success } }"},
        headers={"Authorization": f"Bearer {client._token}"},
        timeout=10,
    )
    window.products.load()
    qtbot.waitUntil(lambda: not window.session.logged_in, timeout=20000)
    assert window.current_screen() == "login"
    assert window.login.banner.kind == "warn"
    assert "log in again" in window.login.banner.text().lower()


def test_remembered_session_that_expired_asks_to_log_in(qtbot, make_window, vendure):
    window = make_window()
    user, password = vendure.users["viewer"]
    log_in(qtbot, window, vendure, user, password, remember=True)
    qtbot.waitUntil(lambda: window.session.logged_in, timeout=20000)
    # let the catalogue download and what follows it (the photos from the till, what the
    # shop serves) finish first: a request failing on the dead session would log this
    # window out, which forgets the remembered session (as it should)
    qtbot.waitUntil(
        lambda: not window.runner.running() and window.products.model.rowCount() > 0,
        timeout=60000,
    )
    client = window.session.client
    requests.post(
        client.api_url,
        json={"query": "mutation { logout { success } }"},
        headers={"Authorization": f"Bearer {client._token}"},
        timeout=10,
    )
    window.save_state()
    window.close()

    again = make_window()
    again.after_first_paint()
    banner = again.login.banner
    qtbot.waitUntil(lambda: banner.kind == "warn", timeout=30000)
    assert "expired" in banner.text() and banner.text().lower().count("log in again") == 1
    assert not again.session.logged_in and again.current_screen() == "login"
    assert again.login.server.currentText() == vendure.url  # recent server prefilled
    assert again.login.username.text() == user
