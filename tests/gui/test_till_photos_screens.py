"""Issue 18 in the app, against the real Vendure: photos from the till on Products (a grid
per product to accept or drop) and the served versions' accuracy at the till on Model.

A cashier whose role holds only SubmitRecognitionFeedback sends five frames with the
stand-in POS (the plugin README's recipe), one of a product deleted since; the owner
logs in through the login screen, reviews with the dialog's real buttons, and the shop
and this computer keep what was decided.
"""

from __future__ import annotations

import pytest
from gui_actions import click
from PySide6.QtCore import Qt
from till_standins import add_cashier, sale_line, send_frames
from vendure_server.fixtures import FRUIT, GROCERY, VendureServer, add_channel

from app.core.flows.login import log_in
from app.core.flows.till_photos import pending_till_photos

pytestmark = pytest.mark.slow

CODE = "till-screens"
VA = "20260301T080000000Z-cccccc"  # the served version the POS names


def photo(name: str, k: int):
    return sorted((GROCERY / "train" / FRUIT[name]).glob("*.jpg"))[k]


@pytest.fixture
def till_shop(vendure: VendureServer) -> dict[str, str]:
    """Banana and Kiwi with one catalogue photo each; frames: Banana ×2 (one the model
    got wrong), Kiwi ×2 (one wrong), Lime ×1 (deleted since)."""
    api, ch = add_channel(vendure, CODE)
    ids = {
        name: api.create_product(name, [a["id"] for a in api.upload_assets([photo(name, 0)])])
        for name in ("Banana", "Kiwi")
    }
    ids["Lime"] = api.create_product("Lime", [])
    b, k, lime = ids["Banana"], ids["Kiwi"], ids["Lime"]
    frames = [
        (photo("Banana", 5), sale_line(b, [(b, 0.9), (k, 0.05)], VA)),
        (photo("Banana", 6), sale_line(b, [(k, 0.6), (b, 0.3)], VA)),
        (photo("Kiwi", 5), sale_line(k, [(k, 0.8)], VA)),
        (photo("Kiwi", 6), sale_line(k, [(b, 0.5), (k, 0.4)], VA)),
        (photo("Lime", 5), sale_line(lime, [(b, 0.5)], VA)),
    ]
    send_frames(vendure, add_cashier(vendure, [ch.id], CODE), ch.token, frames)
    api.gql("mutation($id:ID!){deleteProduct(id:$id){result}}", {"id": lime})
    return ids


def log_in_to(qtbot, window, server: VendureServer, code: str) -> None:
    login = window.login
    login.server.setCurrentText(server.url)
    login.username.setText(server.admin_user)
    login.password.setText(server.admin_password)
    click(qtbot, login.login_button)
    qtbot.waitUntil(lambda: login.pages.currentIndex() == 1, timeout=20000)
    items = [login.channel_list.item(i) for i in range(login.channel_list.count())]
    codes = [item.data(Qt.ItemDataRole.UserRole).code for item in items]
    login.channel_list.setCurrentRow(codes.index(code))
    login.choose_channel()
    qtbot.waitUntil(lambda: window.session.logged_in, timeout=20000)


def test_review_photos_from_the_till_and_see_accuracy_at_the_till(
    qtbot, window, vendure: VendureServer, till_shop: dict[str, str]
) -> None:
    banana, kiwi = till_shop["Banana"], till_shop["Kiwi"]
    log_in_to(qtbot, window, vendure, CODE)
    products = window.products
    bar = products.till
    qtbot.waitUntil(lambda: bar.isVisible(), timeout=30000)
    assert "5 new photos from the till to review." in bar.label.text()

    click(qtbot, bar.review_button)
    dialog = bar.dialog
    qtbot.waitUntil(lambda: dialog.isVisible())
    groups = [dialog.groups.item(i).text() for i in range(dialog.groups.count())]
    assert groups == ["Banana — 2 (1 wrong)", "Kiwi — 2 (1 wrong)", "Deleted from the shop — 1"]
    tiles = [dialog.grid.item(i).text() for i in range(dialog.grid.count())]
    assert tiles == ["said Banana (90 %)", "said Kiwi (60 %) — wrong"]
    # the frames in view are downloaded (real JPEGs from the shop), and only those
    qtbot.waitUntil(lambda: len(dialog.images) == 2, timeout=20000)
    assert all(not dialog.icons[f.id].isNull() for f in dialog.frames[banana])

    # accept all of Banana: both become its counter photos, captioned where they came from
    with qtbot.waitSignal(dialog.reviewed, timeout=30000):
        click(qtbot, dialog.accept_group_button)
    assert dialog.banner.text() == "Accepted 2 photos from the till."
    groups = [dialog.groups.item(i).text() for i in range(dialog.groups.count())]
    assert groups == ["Kiwi — 2 (1 wrong)", "Deleted from the shop — 1"]

    # drop one Kiwi frame (the one the model got right), then the deleted product's
    dialog.groups.setCurrentRow(0)
    qtbot.waitUntil(lambda: len(dialog.images) == 2, timeout=20000)  # Kiwi's two, now
    assert not dialog.drop_selected_button.isEnabled()
    dialog.grid.item(0).setSelected(True)
    with qtbot.waitSignal(dialog.reviewed, timeout=30000):
        click(qtbot, dialog.drop_selected_button)
    assert "Dropped 1 photo from the till" in dialog.banner.text()
    dialog.groups.setCurrentRow(1)
    assert dialog.current_group() == "" and not dialog.accept_group_button.isEnabled()
    with qtbot.waitSignal(dialog.reviewed, timeout=30000):
        click(qtbot, dialog.drop_group_button)
    assert [dialog.groups.item(i).text() for i in range(dialog.groups.count())] == [
        "Kiwi — 1 (1 wrong)"
    ]
    qtbot.waitUntil(lambda: "1 new photo from the till to review." in bar.label.text())

    # Products: Banana's photos now include the two frames, "from the till"
    products.select_product(banana)
    qtbot.waitUntil(lambda: products.images.count() == 3, timeout=10000)
    captions = sorted(products.images.item(i).text() for i in range(3))
    assert captions == ["catalogue", "from the till", "from the till"]
    assert "sent by the till" in products.images.item(2).toolTip()
    # …and the shop keeps only what waits: the dropped ones never come back
    client = log_in(vendure.url, vendure.admin_user, lambda: vendure.admin_password)
    client.select_channel(CODE)
    again = pending_till_photos(client)
    assert [(p.product_id, p.is_correction) for p in again.photos] == [(kiwi, True)]
    client.close()

    # Model: how the versions did at the till (nothing published here: no served one)
    window.show_screen("model")
    till = window.model.till_accuracy
    qtbot.waitUntil(lambda: till.isVisible(), timeout=20000)
    assert f"Version {VA} was right on 2 of 5 sales this week" in till.text()


def test_a_frame_damaged_on_the_server_leaves_the_others_thumbnails(
    qtbot, window, vendure: VendureServer
) -> None:
    """One damaged frame failed its whole batch of thumbnails: every tile of the product
    stayed "loading…" for good under a red banner, though Accept would have worked."""
    code = "till-damaged-tiles"
    api, ch = add_channel(vendure, code)
    ids = {
        name: api.create_product(name, [a["id"] for a in api.upload_assets([photo(name, 0)])])
        for name in ("Banana", "Kiwi")
    }
    b = ids["Banana"]
    frames = [(photo("Banana", k), sale_line(b, [(b, 0.9)], VA)) for k in (5, 6)]
    sent = send_frames(vendure, add_cashier(vendure, [ch.id], code), ch.token, frames)
    jpg = vendure.asset_dir.parent / "ml-feedback" / ch.id / "frames" / f"{sent[0]['id']}.jpg"
    data = bytearray(jpg.read_bytes())
    data[len(data) // 2] ^= 0xFF
    jpg.write_bytes(bytes(data))

    log_in_to(qtbot, window, vendure, code)
    bar = window.products.till
    qtbot.waitUntil(lambda: bar.isVisible(), timeout=30000)
    click(qtbot, bar.review_button)
    dialog = bar.dialog
    qtbot.waitUntil(lambda: len(dialog.icons) == 2, timeout=30000)
    assert list(dialog.images) == [sent[1]["id"]]  # the sound frame is shown
    assert sent[0]["id"] in dialog.gone_from_server  # the damaged one says so, once
    assert "Could not download" not in dialog.banner.text()
