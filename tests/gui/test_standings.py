"""Issue 15 item 4: the owner sees what each product was trained from and what to expect
of it, on Train and on Products, and "photograph these first" in the model's order.

The model is a real export's files with the metadata a training writes
(``productStandings``, ``photographFirst``), read back the way the app reads it after a
restart. The ranking deliberately differs from the alphabet.
"""

from __future__ import annotations

from gui_actions import click
from model_standins import fake_model
from test_second_day import LABELS, open_folder

from app.core.flows.open_source import Source
from app.core.flows.standings import model_standings

STANDINGS = {  # as app.core.export writes them; "photograph these first": lemon, kiwi
    "lemon": {"from": "catalogue", "counterPhotos": 0, "expected": 0.4, "measured": False,
              "gain": 0.35},
    "kiwi": {"from": "counter", "counterPhotos": 3, "expected": 0.55, "measured": False,
             "gain": 0.1},
    "banana": {"from": "counter", "counterPhotos": 3, "expected": 0.9, "measured": True,
               "gain": 0.0},
    "a": {"from": "counter", "counterPhotos": 3, "expected": 0.9, "measured": True, "gain": 0.0},
    "b": {"from": "counter", "counterPhotos": 3, "expected": 0.9, "measured": True, "gain": 0.0},
}  # fmt: skip


def test_train_and_products_show_standings_in_the_models_order(
    qtbot, window, shop_folder, tm_export
) -> None:
    window.resize(800, 600)
    model_dir = fake_model(
        Source.from_folder(shop_folder).model_dir(),
        tm_export,
        LABELS,
        labelNames=["Banana", "Kiwi", "Lemon", "A", "B"],
        validation="leave-one-photo-out, 3 round(s), 15 held-out photos of 5 products",
        validationAccuracy=0.8,
        heldBackPhotos=15,
        perProductAccuracy={"banana": 1.0, "kiwi": 0.5, "lemon": 0.4, "a": 1.0, "b": 1.0},
        productStandings=STANDINGS,
        photographFirst=["lemon", "kiwi"],
    )
    assert model_standings(model_dir).photograph_first == ["lemon", "kiwi"]
    screen = open_folder(qtbot, window, shop_folder)
    qtbot.waitUntil(lambda: window.session.model_dir == model_dir, timeout=10000)

    # Train: the saved results, each product's source and reliability; weak ones in the
    # model's order (Lemon before Kiwi: not the alphabet), each with why
    window.show_screen("train")
    train = window.train
    qtbot.waitUntil(lambda: train.results.isVisible(), timeout=10000)
    table = train.per_product
    rows = {
        table.item(r, 0).text(): [table.item(r, c).text() for c in (3, 4)]
        for r in range(table.rowCount())
        if table.item(r, 3) is not None
    }
    assert rows["Lemon"] == ["catalogue photo only", "expected ~40 % · weak"]
    assert rows["Kiwi"] == ["3 counter photos", "expected ~55 % · weak"]
    assert rows["Banana"] == ["3 counter photos", "expected 90 %"]
    order = [table.item(r, 0).text() for r in range(table.rowCount())]
    assert order.index("Lemon") < order.index("Kiwi") < order.index("Banana")
    assert "Lemon (catalogue photo only; expected" in table.item(order.index("Lemon"), 3).toolTip()
    text = train.more_photos.text()
    assert (
        "Add photos of: Lemon (catalogue photo only), Kiwi (3 counter photos, expected ~55 %)"
        in text
    )

    # Products: a column, a line under the product's name, and "photograph these first"
    window.show_screen("products")
    m = screen.proxy
    qtbot.waitUntil(lambda: screen.standings.standings is not None, timeout=10000)
    cells = {m.index(r, 0).data(): m.index(r, 3).data() for r in range(m.rowCount())}
    assert cells == {
        "banana": "90 %",
        "kiwi": "~55 %",
        "lemon": "~40 %",
        "empty-shelf": "not trained",
    }
    assert screen.table.isColumnHidden(3)  # 800×600: the names first, the line below says it
    window.resize(1366, 768)
    qtbot.waitUntil(lambda: not screen.table.isColumnHidden(3))
    screen.select_product("kiwi")
    assert "Model: 3 counter photos, expected ~55&nbsp;% · 2nd of 2 to photograph" in (
        screen.product_title.text()
    )
    screen.select_product("empty-shelf")
    assert "Not in the current model" in screen.product_title.text()

    show = screen.standings.show
    show.setCurrentIndex(show.findData("first"))
    assert [m.index(r, 0).data() for r in range(m.rowCount())] == ["lemon", "kiwi"]
    assert screen.current_pid() == "lemon" and "ID lemon" in screen.product_title.text()
    show.setCurrentIndex(show.findData("untrained"))
    assert [m.index(r, 0).data() for r in range(m.rowCount())] == ["empty-shelf"]
    # Model: the weak ones in the same order
    window.show_screen("model")
    qtbot.waitUntil(lambda: "Weak" in window.model.summary.text(), timeout=10000)
    assert "lemon (recognised 40 %), kiwi (recognised 50 %)" in window.model.summary.text()
    # a product named on Train, hidden by that choice, is shown all the same
    window.show_screen("train")
    (kiwi,) = [b for b in train.more_photos.buttons() if b.text() == "Kiwi"]
    click(qtbot, kiwi)
    assert window.current_screen() == "products" and screen.current_pid() == "kiwi"
    assert show.currentData() == "all" and m.rowCount() == 4
