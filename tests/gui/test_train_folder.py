"""Train from a local folder: cancel a run, finish a run, see results, inspect the model."""

from __future__ import annotations

import json
import time

import pytest

from app.core.input_size import DEFAULT_IMAGE_SIZE

pytestmark = pytest.mark.slow


@pytest.fixture
def trainer_env(monkeypatch, base_weights, settings):
    """The GUI reads pretrained weights from the environment, as a user would set it."""
    monkeypatch.setenv("DUKAHUB_TRAINER_BASE_WEIGHTS", str(base_weights))
    settings.epochs = 6
    settings.save()


def test_cancel_then_train_inspect(qtbot, trainer_env, make_window, shop_folder, monkeypatch):
    from PySide6.QtWidgets import QApplication

    alerted: list[object] = []  # the taskbar asks for attention when a training ends
    monkeypatch.setattr(QApplication, "alert", staticmethod(lambda w, ms=0: alerted.append(w)))
    window = make_window()
    window.login.use_folder(shop_folder)
    qtbot.waitUntil(lambda: window.session.report is not None, timeout=10000)
    train = window.train
    window.show_screen("train")
    assert train.start_button.isEnabled()
    assert "3 products" in train.intro.text() and "7 photos" in train.intro.text()
    assert "takes about" not in train.intro.text()  # no estimate before TF is warm
    warm = window.warm_up()
    with qtbot.waitSignal(warm.finished, timeout=120000):
        pass
    assert window.session.engine_loaded
    assert "It takes about" in train.intro.text()
    assert "training takes about" in window.products.summary.text()
    out_dir = window.session.default_model_dir()

    # cancel while features are being extracted
    phases: list[str] = []
    task = train.start()
    task.progress.connect(lambda p: phases.append(p.phase))
    qtbot.waitUntil(lambda: train.progress.isVisible(), timeout=5000)
    qtbot.waitUntil(lambda: "features" in phases or not task.running, timeout=60000)
    t0 = time.monotonic()
    with qtbot.waitSignal(task.finished, timeout=10000):
        train.progress.cancel_button.click()
    # Core checks cancel between feature batches (one batch of 32 views ~1 s on 2 busy
    # cores); the issue asks for "about a second", with slack for a loaded CI machine.
    assert time.monotonic() - t0 < 3.0
    assert task.outcome == "cancelled"
    assert "cancelled" in train.banner.text().lower() and train.banner.kind == "info"
    assert not train.progress.isVisible()
    assert not (out_dir / "model.json").exists() and window.session.model_dir is None
    assert not out_dir.exists() or not any(out_dir.iterdir())

    # a full run, with options from the Advanced section
    train.advanced_toggle.setChecked(True)
    assert train.advanced.isVisible()
    train.quantize.setCurrentIndex(train.quantize.findData("float16"))
    train.seed.setValue(7)
    phases.clear()
    superseded = train.start()
    task = train.start()  # one training at a time: the first one is cancelled
    assert superseded.cancel_event.is_set()
    task.progress.connect(lambda p: phases.append(p.phase))
    with qtbot.waitSignal(task.finished, timeout=180000):
        pass
    qtbot.waitUntil(lambda: not superseded.running, timeout=10000)
    assert superseded.outcome == "cancelled"
    assert task.outcome == "ok", task.error and task.error.details
    assert {"training", "exporting"} <= set(phases)  # features: cached by the first run
    assert train.chart.points() == 6
    assert train.banner.kind == "ok" and str(out_dir) in train.banner.text()
    assert alerted and all(w is window for w in alerted)
    assert train.results.isVisible()
    assert train.per_product.rowCount() == 4  # the empty product too, as "needs photos"
    rows = {
        train.per_product.item(r, 0).text(): train.per_product.item(r, 2).text() for r in range(4)
    }
    assert set(rows) == {"banana", "kiwi", "lemon", "empty-shelf"}
    assert rows["empty-shelf"] == "needs photos"
    assert "Needs photos" in train.more_photos.text()
    assert "empty-shelf" in train.more_photos.text()
    assert "lemon" in train.more_photos.text()  # only one photo
    # what each product was trained from and what to expect, as this training ranked it
    ranked = [s.product for s in window.session.result.standings]
    assert sorted(ranked) == ["banana", "kiwi", "lemon"]
    shown = [train.per_product.item(r, 0).text() for r in range(1, 4)]
    assert shown == ranked  # "photograph these first" order, after "needs photos"
    for r in range(1, 4):
        source, reliability = (train.per_product.item(r, c).text() for c in (3, 4))
        assert source == "catalogue photo only" or source.endswith(("counter photo", "photos"))
        assert reliability.startswith("expected ") or reliability == "unknown"
    # Products: the same standing per product, from the model saved now
    products = window.products
    qtbot.waitUntil(lambda: products.standings.standings is not None, timeout=10000)
    cells = {products.proxy.index(r, 0).data(): products.proxy.index(r, 3).data() for r in range(4)}
    assert cells["empty-shelf"] == "not trained" and cells["lemon"] not in ("", "not trained")
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "metadata.json",
        "model.json",
        "weights.bin",
    ]
    meta = json.loads((out_dir / "metadata.json").read_text())
    assert meta["quantization"] == "float16"
    assert window.session.result.options["seed"] == 7
    assert window.session.result.options["epochs"] == 6

    # the Model screen reads the exported files
    model = window.model
    window.show_screen("model")
    qtbot.waitUntil(lambda: model.model is not None, timeout=20000)
    fields = {
        model.meta_table.item(r, 0).text(): model.meta_table.item(r, 1).text()
        for r in range(model.meta_table.rowCount())
    }
    for key in (
        "version",
        "trainedAt",
        "channelId",
        "productCount",
        "imageCount",
        "trainingDuration",
        "labels",
        "imageSize",
        "modelType",
    ):
        assert key in fields, key
    assert fields["productCount"] == "3" and fields["imageSize"] == str(DEFAULT_IMAGE_SIZE)
    labels = {
        model.labels_table.item(r, 1).text(): model.labels_table.item(r, 2).text()
        for r in range(model.labels_table.rowCount())
    }
    assert labels == {"banana": "banana", "kiwi": "kiwi", "lemon": "lemon"}
    assert model.files_table.item(1, 0).text() == "weights.bin"
    assert model.files_table.item(1, 1).text().endswith(("KB", "MB"))
    assert not model.published_box.isVisible() or "Log in" in model.published_label.text()
    # the Test screen gets the same folder
    window.show_screen("test")
    assert window.test.screen is not None
    assert window.test._model_dir == out_dir

    # publishing needs a login
    window.show_screen("publish")
    assert not window.publish.publish_button.isEnabled()
    assert window.publish.login_button.isVisible()
    # the shop's button is not shown greyed out: the folder's is the green one
    assert not window.publish.publish_button.isVisible()
    assert window.publish.folder_publish_button.objectName() == "primary"


def _shop(root, spec: dict[str, str], photos) -> object:
    import shutil

    for pid, folder in spec.items():
        (root / pid).mkdir(parents=True)
        for p in photos(folder, 3):
            shutil.copy(p, root / pid / p.name)
    return root


def test_another_shop_opened_while_one_trains_shows_none_of_its_results(
    qtbot, monkeypatch, base_weights, settings, make_window, tmp_path, photos, request
):
    """Found by an audit: shop A's results and their Publish… stayed on the Train screen
    under shop B while A trained again (Publish… made A's model B's), and a cancel of
    A's run brought them back as "this is the model in use"."""
    import threading

    import app.core.flows.train as flow
    from app.core.errors import Cancelled

    monkeypatch.setenv("DUKAHUB_TRAINER_BASE_WEIGHTS", str(base_weights))
    settings.epochs = 6
    settings.save()
    gate, real = threading.Event(), flow.train
    gate.set()

    def held(request, on_progress=None, cancel=None):  # runs until the test lets it go
        while not gate.wait(0.05):
            if cancel is not None and cancel.is_set():
                raise Cancelled("cancelled")
        return real(request, on_progress=on_progress, cancel=cancel)

    monkeypatch.setattr(flow, "train", held)
    request.addfinalizer(gate.set)  # a failed check must not leave the run held
    a = _shop(tmp_path / "shopA", {"banana": "Fruit/Banana", "kiwi": "Fruit/Kiwi"}, photos)
    b = _shop(
        tmp_path / "shopB", {"leek": "Vegetables/Leek", "carrot": "Vegetables/Carrots"}, photos
    )
    window = make_window()
    window.login.use_folder(a)
    qtbot.waitUntil(lambda: window.session.report is not None, timeout=20000)
    train = window.train
    window.show_screen("train")
    with qtbot.waitSignal(train.start().finished, timeout=300000):
        pass
    a_model = window.session.model_dir
    assert train.publish_button.isVisible()

    gate.clear()
    again = train.start()  # A again; the owner opens B meanwhile
    window.login.use_folder(b)
    qtbot.waitUntil(lambda: window.session.report is not None, timeout=20000)
    window.show_screen("train")
    assert again.running
    assert not train.results.isVisible() and not train.previous.isVisible()
    assert not train.publish_button.isVisible()
    train.open_result()  # what Publish… does first
    assert window.session.model_dir != a_model

    with qtbot.waitSignal(again.finished, timeout=30000):
        train.cancel()
    assert again.outcome == "cancelled"
    assert train.banner.text() == "The training of shopA was cancelled; nothing was written."
    assert not train.results.isVisible() and not train.previous.isVisible()
    assert window.session.model_dir != a_model
