"""Switching channels while things run, and what every screen says afterwards: a real
Vendure, the real window (offscreen). Each case was a defect: a banner, a result, a
warning or a publish that stayed with (or went to) the wrong channel."""

from __future__ import annotations

import json
import secrets
import threading
from pathlib import Path

import pytest
import requests
from model_standins import fake_model
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from app.core.fingerprint import FORMAT, METADATA_KEY
from app.core.modelfiles import ExportedModel

pytestmark = pytest.mark.slow


def log_in(window, url: str, user: str, password: str) -> None:
    login = window.login
    login.server.setCurrentText(url)
    login.username.setText(user)
    login.password.setText(password)
    login.login_button.click()


def _choose(qtbot, window, code: str) -> None:
    login = window.login
    codes = [
        login.channel_list.item(i).data(Qt.ItemDataRole.UserRole).code
        for i in range(login.channel_list.count())
    ]
    login.channel_list.setCurrentRow(codes.index(code))
    login.choose_channel()
    qtbot.waitUntil(
        lambda: window.session.logged_in and window.session.source.channel_code == code,
        timeout=20000,
    )


def pick(qtbot, window, code: str) -> None:
    """The channel picker after logging in."""
    qtbot.waitUntil(lambda: window.login.pages.currentIndex() == 1, timeout=20000)
    _choose(qtbot, window, code)


def switch(qtbot, window, code: str) -> None:
    """What the owner does: Log in screen → Switch channel → pick → Continue."""
    window.show_screen("login")
    window.login.switch_button.click()
    _choose(qtbot, window, code)


def model_for(
    dest: Path, tm_export: Path, channel, note: str = "", day: str = "01", known: int = 5
) -> Path:
    """A valid model of the first five photographed products of ``channel``, recorded
    as trained on the photos of ``known`` of them."""
    labels = [pid for pid, n in channel.images.items() if n][:5]
    return fake_model(
        dest,
        tm_export,
        labels,
        channelId=channel.id,
        trainedAt=f"2026-01-{day}T00:00:00Z",
        labelNames=[channel.products[p] for p in labels],
        note=note,
        **{METADATA_KEY: {"format": FORMAT, "products": {p: ["x"] for p in labels[:known]}}},
    )


def server_publish(vendure, code: str, model_dir: Path) -> str:
    """Published behind the app's back (its own login)."""
    from app.core.flows.login import log_in as core_log_in
    from app.core.flows.publish import ShopTarget

    client = core_log_in(vendure.url, vendure.admin_user, lambda: vendure.admin_password)
    client.select_channel(code)
    return ShopTarget(client).publish(model_dir).version


def served_note(vendure, code: str) -> str | None:
    cid = vendure.channels[code].id
    r = requests.get(f"{vendure.url}/assets/ml-models/{cid}/latest/metadata.json", timeout=10)
    return r.json().get("note") if r.status_code == 200 else None


def idle(qtbot, window) -> None:
    qtbot.waitUntil(lambda: not window.runner.running(), timeout=90000)
    qtbot.wait(500)
    qtbot.waitUntil(lambda: not window.runner.running(), timeout=90000)


def test_the_banners_and_the_picker_follow_the_channel(
    qtbot, window, vendure, tm_export, tmp_path
) -> None:
    """fruit serves a model of 5 products; bulk serves none. The banner said "120 new
    products, 5 removed since the model your shop serves" on bulk; a download replaced by
    a switch left "Loading the catalogue was cancelled."; Back from "Switch channel" showed
    the login form while connected."""
    fruit, bulk = vendure.channels["fruit"], vendure.channels["bulk"]
    server_publish(vendure, "fruit", model_for(tmp_path / "m", tm_export, fruit, "banner"))
    log_in(window, vendure.url, *vendure.users["trainer"])
    pick(qtbot, window, "fruit")
    products = window.products
    qtbot.waitUntil(lambda: products.model.rowCount() == len(fruit.products), timeout=60000)
    qtbot.waitUntil(lambda: "since the model your shop serves" in window.changes.news.text)

    switch(qtbot, window, "bulk")
    qtbot.waitUntil(lambda: window.runner.current("catalogue") is not None, timeout=5000)
    switch(qtbot, window, "fruit")  # while bulk's catalogue downloads
    switch(qtbot, window, "bulk")
    qtbot.waitUntil(lambda: products.model.rowCount() == len(bulk.products), timeout=90000)
    idle(qtbot, window)
    assert window.changes.news.text == "", window.changes.news.text
    assert not (products.banner.isVisible() and "cancelled" in products.banner.text())

    login = window.login
    window.show_screen("login")
    login.switch_button.click()
    assert login.pages.currentIndex() == 1
    (back,) = [b for b in login.findChildren(QPushButton) if b.text() == "Back"]
    back.click()
    assert login.pages.currentIndex() == 2 and window.session.source.channel_code == "bulk"


def test_publish_follows_its_channel_and_the_screens_follow_a_rollback(
    qtbot, window, vendure, tm_export, tmp_path, monkeypatch
) -> None:
    """A publish to fruit that the owner switched away from went to bulk's token (the
    server refused it); Publish was offered for a model of another channel; the "may not
    publish" warning stayed on a channel where publishing is allowed; after "Serve this
    version again" the banner still described the version rolled back from."""
    fruit = vendure.channels["fruit"]
    api = vendure.admin()
    roles = [
        api.gql(
            "mutation($input:CreateRoleInput!){createRole(input:$input){id}}",
            {
                "input": {
                    "code": f"switch-{code}-{secrets.token_hex(2)}",
                    "description": "switching",
                    "permissions": perms,
                    "channelIds": [vendure.channels[code].id],
                }
            },
        )["createRole"]["id"]
        for code, perms in (("fruit", ["ReadCatalog", "UploadMlModel"]), ("bulk", ["ReadCatalog"]))
    ]
    user, password = f"switch-{secrets.token_hex(3)}@shop.test", secrets.token_urlsafe(10)
    api.gql(
        "mutation($input:CreateAdministratorInput!){createAdministrator(input:$input){id}}",
        {"input": {"firstName": "S", "lastName": "W", "emailAddress": user,
                   "password": password, "roleIds": roles}},
    )  # fmt: skip
    first = model_for(tmp_path / "first", tm_export, fruit, "first", "02", known=3)
    earlier = server_publish(vendure, "fruit", first)

    log_in(window, vendure.url, user, password)
    pick(qtbot, window, "bulk")
    publish = window.publish
    window.session.set_model_dir(model_for(tmp_path / "b", tm_export, vendure.channels["bulk"]))
    window.show_screen("publish")
    qtbot.waitUntil(lambda: "may not publish" in publish.banner.text(), timeout=10000)

    switch(qtbot, window, "fruit")
    qtbot.waitUntil(lambda: window.products.model.rowCount() == len(fruit.products), timeout=60000)
    window.show_screen("publish")
    assert "may not publish" not in publish.banner.text(), publish.banner.text()
    # the bulk model on fruit: said, and not offered
    assert not publish.publish_button.isEnabled(), publish.what.text()
    assert "trained for the channel with id" in publish.what.text(), publish.what.text()

    window.session.set_model_dir(model_for(tmp_path / "f", tm_export, fruit, "switched", "05"))
    window.show_screen("publish")
    qtbot.waitUntil(lambda: publish.publish_button.isEnabled(), timeout=20000)
    publish.confirm = False
    reached, go_on = threading.Event(), threading.Event()
    check = ExportedModel.check_prediction

    def held(model: ExportedModel) -> None:  # the publish waits here while the owner switches
        reached.set()
        go_on.wait(60)
        check(model)

    monkeypatch.setattr(ExportedModel, "check_prediction", held)
    publish.publish()
    qtbot.waitUntil(reached.is_set, timeout=60000)
    switch(qtbot, window, "bulk")
    go_on.set()
    window.show_screen("publish")
    qtbot.waitUntil(lambda: publish.banner.kind in ("ok", "error"), timeout=120000)
    idle(qtbot, window)
    assert served_note(vendure, "fruit") == "switched", publish.banner.text()

    switch(qtbot, window, "fruit")
    window.show_screen("publish")
    qtbot.waitUntil(
        lambda: publish.status is not None and publish.versions.rowCount() > 0, timeout=20000
    )
    idle(qtbot, window)
    before = window.changes.news.text  # against the model it serves now: "switched"
    assert before.startswith("3 new products"), before
    rows = {
        publish.versions.item(r, 0).data(Qt.ItemDataRole.UserRole).version: r
        for r in range(publish.versions.rowCount())
    }
    publish.versions.selectRow(rows[earlier])
    task = publish.rollback_selected()
    with qtbot.waitSignal(task.finished, timeout=20000):
        pass
    idle(qtbot, window)
    assert served_note(vendure, "fruit") == "first"
    # against the model served after the rollback ("first" knew 2 products fewer)
    qtbot.waitUntil(lambda: window.changes.news.text.startswith("5 new products"), timeout=20000)


def test_a_training_stays_with_its_shop_when_the_owner_switches(
    qtbot, make_window, vendure, base_weights, monkeypatch, settings
) -> None:
    """A training that finished after a switch became the new channel's model (Publish
    offered fruit's model to channel empty); a finished one's results stayed on screen
    under another channel."""
    monkeypatch.setenv("DUKAHUB_TRAINER_BASE_WEIGHTS", str(base_weights))
    settings.epochs = 2
    settings.save()
    window = make_window()
    fruit = vendure.channels["fruit"]
    log_in(window, vendure.url, *vendure.users["trainer"])
    pick(qtbot, window, "fruit")
    qtbot.waitUntil(lambda: window.products.model.rowCount() == len(fruit.products), timeout=60000)
    qtbot.waitUntil(lambda: window.session.report is not None, timeout=30000)
    window.show_screen("train")
    train = window.train
    task = train.start()
    with qtbot.waitSignal(task.finished, timeout=300000):
        pass
    assert task.outcome == "ok" and train.results.isVisible()
    fruit_model = window.session.model_dir

    switch(qtbot, window, "empty")
    window.show_screen("train")
    assert not train.results.isVisible() and window.session.model_dir is None

    switch(qtbot, window, "fruit")
    qtbot.waitUntil(lambda: window.session.report is not None, timeout=60000)
    window.show_screen("train")
    task = train.start()
    qtbot.waitUntil(lambda: train.progress.isVisible(), timeout=10000)
    switch(qtbot, window, "empty")
    with qtbot.waitSignal(task.finished, timeout=300000):
        pass
    idle(qtbot, window)
    assert task.outcome == "ok"
    assert window.session.model_dir is None, window.session.model_dir
    assert "The training of fruit finished" in train.banner.text(), train.banner.text()
    meta = json.loads((fruit_model / "metadata.json").read_text())
    assert meta["channelId"] == fruit.id
