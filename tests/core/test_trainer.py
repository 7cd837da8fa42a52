"""Real training on a small real photo set: dataset report, few-shot, cache, cancel, export."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from grocery_products import CATALOGUE_PRODUCTS, iconic

from app.core.catalogue import Catalogue, ImageRef, Product, catalogue_from_folder
from app.core.dataset import build_dataset
from app.core.errors import Cancelled, DatasetError, ExportError, ModelFilesError
from app.core.export import export_model
from app.core.input_size import DEFAULT_IMAGE_SIZE
from app.core.model import TrainOptions
from app.core.modelfiles import SEED_FIELDS, ExportedModel, validate_model_dir
from app.core.progress import Progress
from app.core.trainer import train

if TYPE_CHECKING:
    from conftest import Cli


PRODUCTS = {
    "101": "train/Fruit/Banana",
    "102": "train/Vegetables/Carrots",
    "103": "train/Fruit/Kiwi",
    "104": "train/Fruit/Apple/Granny-Smith",
}


def _photos(grocery: Path, rel: str, n: int) -> list[Path]:
    return sorted((grocery / rel).rglob("*.jpg"))[:n]


@pytest.fixture(scope="module")
def shop_folder(grocery: Path, tmp_path_factory) -> Path:
    """Four products with 3 photos, one with a single photo, one with none, one corrupt file,
    one duplicate photo."""
    root = tmp_path_factory.mktemp("shop")
    for pid, rel in PRODUCTS.items():
        d = root / pid
        d.mkdir()
        for p in _photos(grocery, rel, 3):
            os.symlink(p, d / p.name)
    single = root / "105"
    single.mkdir()
    os.symlink(_photos(grocery, "train/Fruit/Pineapple", 1)[0], single / "only.jpg")
    (root / "106").mkdir()  # a product with no photo
    (root / "101" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    first = sorted((root / "102").iterdir())[0]
    shutil.copy(first, root / "102" / "copy-of-first.jpg")
    (root / "103" / "notes.txt").write_text("not a photo")
    return root


@pytest.fixture(scope="module")
def module_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("trainer-home")


@pytest.fixture(scope="module")
def trained(shop_folder: Path, base_weights: Path, module_home: Path):
    mp = pytest.MonkeyPatch()
    mp.setenv("DUKAHUB_TRAINER_HOME", str(module_home))
    events: list[Progress] = []
    ds = build_dataset(catalogue_from_folder(shop_folder))
    model = train(ds, TrainOptions(base_weights=base_weights, epochs=8), on_progress=events.append)
    yield ds, model, events
    mp.undo()


def test_dataset_report_names_every_problem(shop_folder: Path) -> None:
    ds = build_dataset(catalogue_from_folder(shop_folder))
    r = ds.report
    assert r.no_images == ["106"]
    assert r.single_image == ["105"]
    # every file of a product folder is checked by content: the text file is listed too
    assert [(p.name, why) for _, p, why in r.unreadable][1:] == [("notes.txt", "not a photo")]
    assert r.unreadable[0][1].name == "broken.jpg"
    assert [(pid, a.name, b.name) for pid, a, b in r.duplicates] == [
        ("102", sorted((shop_folder / "102").iterdir())[0].name, "copy-of-first.jpg")
    ]
    assert ds.labels == ["101", "102", "103", "104", "105"]
    assert ds.counts() == {"101": 3, "102": 3, "103": 3, "104": 3, "105": 1}
    text = "\n".join(r.summary_lines())
    assert "broken.jpg" in text and "106" in text and "105" in text


def test_fewer_than_two_products_is_a_clear_error(grocery: Path, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    os.symlink(_photos(grocery, "train/Fruit/Kiwi", 1)[0], tmp_path / "a" / "k.jpg")
    (tmp_path / "b").mkdir()
    with pytest.raises(DatasetError, match="at least two products"):
        build_dataset(catalogue_from_folder(tmp_path))
    # the product whose photos all failed is named, with why, not only counted
    (tmp_path / "b" / "x.jpg").write_bytes(b"")
    (tmp_path / "b" / "y.txt").write_text("t")
    with pytest.raises(DatasetError) as err:
        build_dataset(catalogue_from_folder(tmp_path))
    assert "b: none of its 2 photo(s) could be used" in str(err.value)
    assert "x.jpg: " in str(err.value) and "y.txt: not a photo" in str(err.value)
    with pytest.raises(DatasetError, match="not found"):
        catalogue_from_folder(tmp_path / "missing")


def test_excluded_products_and_images_are_left_out(grocery: Path) -> None:
    cat = Catalogue(
        [
            Product("1", "A", [ImageRef(p) for p in _photos(grocery, "train/Fruit/Kiwi", 2)]),
            Product("2", "B", [ImageRef(p) for p in _photos(grocery, "train/Fruit/Banana", 2)]),
            Product(
                "3", "C", [ImageRef(p) for p in _photos(grocery, "train/Fruit/Lime", 2)], False
            ),
        ]
    )
    cat.products[0].images[1] = ImageRef(cat.products[0].images[1].path, included=False)
    ds = build_dataset(cat)
    assert ds.labels == ["1", "2"] and ds.report.excluded == ["3"]
    assert ds.counts() == {"1": 1, "2": 2}


def test_training_result_covers_single_photo_products(trained) -> None:
    ds, model, events = trained
    r = model.result
    assert r.labels == ds.labels and r.product_count == 5 and r.image_count == 13
    assert r.per_product["105"] is None  # cannot be validated, but it is trained on
    assert "105" in r.needs_more_photos
    assert r.val_accuracy is not None and 0.0 <= r.val_accuracy <= 1.0
    assert "leave-one-photo-out" in r.validation
    assert len(r.history) == 8 and {"loss", "acc"} <= set(r.history[-1])
    phases = [e.phase for e in events]
    assert phases[0] == "preparing" and "features" in phases and phases[-1] == "training"
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    # the single-photo product is recognised on its own photo (TM would not have trained on it)
    from app.core.images import load_rgb

    only = next(s for s in ds.samples if s.product_id == "105")
    probs = model.predict_rgb([load_rgb(only.path)])[0]
    assert r.labels[int(np.argmax(probs))] == "105"


@pytest.fixture
def shared_cache(module_home, monkeypatch) -> Path:
    """Use the feature cache the module's first training filled."""
    monkeypatch.setenv("DUKAHUB_TRAINER_HOME", str(module_home))
    return module_home


def test_same_seed_same_model_and_cache_makes_retrain_cheap(
    trained, base_weights, shared_cache
) -> None:
    ds, model, _ = trained
    events: list[Progress] = []
    again = train(ds, TrainOptions(base_weights=base_weights, epochs=8), on_progress=events.append)
    assert not any(e.phase == "features" for e in events)  # every view came from the cache
    for a, b in zip(model.head.get_weights(), again.head.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert again.result.val_accuracy == model.result.val_accuracy


def test_adding_a_product_only_reads_its_photos(
    trained, grocery, base_weights, shared_cache
) -> None:
    ds, _, _ = trained
    cat = catalogue_from_folder(Path(ds.samples[0].path).parent.parent)
    cat.products.append(
        Product("107", "Lime", [ImageRef(p) for p in _photos(grocery, "train/Fruit/Lime", 3)])
    )
    events: list[Progress] = []
    model = train(
        build_dataset(cat),
        TrainOptions(base_weights=base_weights, epochs=3),
        on_progress=events.append,
    )
    msgs = [e.message for e in events if e.phase == "features"]
    views = TrainOptions().views_for(3)
    assert msgs and msgs[-1].endswith(f" of {3 * views} photo variations")
    assert "107" in model.result.labels


def test_cancel_stops_and_raises_cancelled(shop_folder, base_weights, tmp_path, monkeypatch):
    monkeypatch.setenv("DUKAHUB_TRAINER_HOME", str(tmp_path / "fresh"))
    cancel = threading.Event()
    seen: list[str] = []

    def hook(p: Progress) -> None:
        seen.append(p.phase)
        if p.phase == "features":
            cancel.set()

    ds = build_dataset(catalogue_from_folder(shop_folder))
    with pytest.raises(Cancelled):
        train(ds, TrainOptions(base_weights=base_weights), on_progress=hook, cancel=cancel)
    assert "training" not in seen


def test_cancel_during_head_training(trained, base_weights) -> None:
    ds, _, _ = trained
    cancel = threading.Event()

    def hook(p: Progress) -> None:
        if p.phase == "training" and p.metrics.get("epoch", 0) >= 2:
            cancel.set()

    with pytest.raises(Cancelled):
        train(
            ds, TrainOptions(base_weights=base_weights, epochs=50), on_progress=hook, cancel=cancel
        )


def test_export_files_and_metadata(trained, tmp_path) -> None:
    ds, model, _ = trained
    out = export_model(model, tmp_path / "model", channel_id="7")
    assert sorted(p.name for p in out.iterdir()) == ["metadata.json", "model.json", "weights.bin"]
    meta = validate_model_dir(out)
    assert all(f in meta for f in SEED_FIELDS)
    assert meta["channelId"] == "7" and meta["labels"] == ds.labels
    assert meta["productCount"] == 5 and meta["imageCount"] == 13
    assert meta["modelType"] == "mobilenet" and meta["imageSize"] == DEFAULT_IMAGE_SIZE
    assert meta["trainedAt"].endswith("Z") and meta["packageName"] == "@teachablemachine/image"
    # the headline's "recognised N of M held-back photos" survives a restart
    held = model.result.held_back
    assert held is not None and held > 0 and meta["heldBackPhotos"] == held
    assert f"{held} held-out photos" in meta["validation"]
    mj = json.loads((out / "model.json").read_text())
    assert [p for g in mj["weightsManifest"] for p in g["paths"]] == ["weights.bin"]
    assert mj["format"] == "layers-model"
    # what the files predict equals the in-memory model
    from app.core.images import load_rgb

    imgs = [load_rgb(s.path) for s in ds.samples[:5]]
    exported = ExportedModel.load(out)
    np.testing.assert_allclose(exported.predict(imgs), model.predict_rgb(imgs), atol=1e-5)


def test_export_replaces_whole_or_not_at_all(trained, tmp_path, monkeypatch) -> None:
    _, model, _ = trained
    out = export_model(model, tmp_path / "model", channel_id="1")
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    import app.core.export as export

    def broken(keras_model, dest, quantize):
        (dest / "model.json").write_text("{}")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export, "write_tfjs", broken)
    with pytest.raises(ExportError, match="No space left"):
        export_model(model, out, channel_id="2")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".model.lock", "model"]  # no temp left
    monkeypatch.undo()
    export_model(model, out, channel_id="2")
    assert json.loads((out / "metadata.json").read_text())["channelId"] == "2"
    # no temp folder; the replaced model is kept in the local history beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == [".model.history", ".model.lock", "model"]


def test_export_refuses_a_folder_with_other_files(trained, tmp_path) -> None:
    _, model, _ = trained
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "thesis.docx").write_text("precious")
    with pytest.raises(ExportError, match="other files"):
        export_model(model, tmp_path / "docs")
    assert (tmp_path / "docs" / "thesis.docx").read_text() == "precious"


def test_validate_catches_broken_folders(trained, tmp_path) -> None:
    _, model, _ = trained
    out = export_model(model, tmp_path / "m")
    w = out / "weights.bin"
    w.write_bytes(w.read_bytes()[:-4])
    with pytest.raises(ModelFilesError, match="bytes"):
        validate_model_dir(out)
    (out / "metadata.json").write_text("{not json")
    with pytest.raises(ModelFilesError, match="metadata.json"):
        validate_model_dir(out)
    (out / "model.json").unlink()
    with pytest.raises(ModelFilesError, match="model.json is missing"):
        validate_model_dir(out)


def test_teachable_machine_export_runs(tm_export, grocery) -> None:
    from app.core.images import load_rgb

    m = ExportedModel.load(tm_export)
    assert m.is_teachable_machine and len(m.labels) == 5
    probs = m.predict([load_rgb(_photos(grocery, "train/Fruit/Kiwi", 1)[0])])
    assert probs.shape == (1, 5) and probs.sum() == pytest.approx(1.0, abs=1e-4)


def test_cli_train_predict_inspect(cli: Cli, shop_folder, base_weights, tmp_path) -> None:
    out = tmp_path / "cli-model"
    r = cli.run(
        "train",
        str(shop_folder),
        "--out",
        str(out),
        "--base-weights",
        str(base_weights),
        "--channel-id",
        "9",
        "--epochs",
        "5",
        "--quantize",
        "float16",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["products"] == 5 and summary["out"] == str(out.resolve())
    assert "broken.jpg" in r.stderr  # the skipped file is reported by name
    assert "features" in r.stderr  # progress on stderr
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["quantization"] == "float16" and meta["channelId"] == "9"

    kiwi = next((shop_folder / "103").glob("*.jpg"))
    r = cli.run("predict", str(out), str(kiwi), "--top", "2")
    assert r.returncode == 0, r.stderr
    line = r.stdout.strip().splitlines()[-1]
    assert line.startswith(str(kiwi)) and line.split(": ", 1)[1].startswith("103 ")

    r = cli.run("inspect", str(out))
    assert r.returncode == 0 and "channelId: 9" in r.stdout and "105" in r.stdout


def test_cli_bad_input_is_one_clear_line(cli: Cli, tmp_path) -> None:
    r = cli.run("train", str(tmp_path / "nope"), "--out", str(tmp_path / "o"))
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [f"Error: Image folder not found: {tmp_path / 'nope'}"]
    r = cli.run("inspect", str(tmp_path))
    assert r.returncode == 1 and "missing" in r.stderr


def test_cli_offline_without_weights_names_both_options(cli: Cli, shop_folder, tmp_path) -> None:
    """A width the app does not ship (0.5) needs a download; offline, say what to do."""
    env = {
        "KERAS_HOME": str(tmp_path / "keras"),
        "DUKAHUB_TRAINER_BASE_WEIGHTS": "",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
    }
    r = cli.run("train", str(shop_folder), "--out", str(tmp_path / "o"), "--alpha", "0.5", env=env)
    assert r.returncode == 1, r.stderr
    assert "0.35" in r.stderr  # the size that needs no download
    assert "--base-weights" in r.stderr and "DUKAHUB_TRAINER_BASE_WEIGHTS" in r.stderr
    assert not (tmp_path / "o").exists()


# --- catalogue photos (issue 8) ----------------------------------------------------


def test_studio_cutout_finds_the_product_and_not_a_shop_photo(grocery: Path) -> None:
    from app.core import studio
    from app.core.images import load_rgb

    rgb = load_rgb(iconic(grocery, "Fruit/Banana"))
    mask = studio.cutout_mask(rgb)
    assert mask is not None and mask.shape == rgb.shape[:2]
    assert mask[:4].max() < 0.5 and mask[-4:].max() < 0.5  # the white border is background
    assert 0.1 < float((mask > 0.5).mean()) < 0.8
    ys = np.nonzero((mask > 0.5).any(axis=1))[0]
    tight = rgb[ys.min() : ys.max() + 1]  # cropped to the product: it touches two edges
    assert studio.cutout_mask(tight) is not None
    view = studio.in_shop(rgb, mask, np.random.default_rng(0), 224, pile=0.5)
    assert view.shape == (224, 224, 3) and view.dtype == np.uint8
    for p in _photos(grocery, "train/Fruit/Banana", 5):  # shop photos: no studio look
        assert studio.cutout_mask(load_rgb(p)) is None


def test_catalogue_only_never_below_nearest_class_mean(grocery, base_weights, tmp_path) -> None:
    """One catalogue photo per product (10 products), scored on their validation shop
    photos: the trained model against nearest-class-mean on the same features."""
    from app.core.features import FeatureStore, extract
    from app.core.head import normalise_features, prototypes
    from app.core.images import file_digest

    cat = Catalogue(
        [
            Product(str(i), rel, [ImageRef(iconic(grocery, rel))])
            for i, rel in enumerate(CATALOGUE_PRODUCTS)
        ]
    )
    ds = build_dataset(cat)
    model = train(ds, TrainOptions(base_weights=base_weights))
    r = model.result
    assert r.trained_on == "catalogue" and "counter photos" in r.trained_on_hint
    assert r.head_mix == 0.0 and r.history == []  # prototype-dominant, nothing to fit
    val = [
        (str(i), p)
        for i, rel in enumerate(CATALOGUE_PRODUCTS)
        for p in _photos(grocery, f"val/{rel}", 10)
    ]
    store = FeatureStore(tmp_path / "cache")
    items = [(p, file_digest(p), 1) for _, p in val] + [(s.path, s.digest, 1) for s in ds.samples]
    feats, failed = extract(items, weights=base_weights, alpha=0.35, store=store)
    assert not failed
    xv = np.stack([feats[file_digest(p)][0] for _, p in val])
    yv = np.array([r.labels.index(pid) for pid, _ in val])
    xs = np.stack([feats[s.digest][0] for s in ds.samples])
    protos = prototypes(
        xs, np.array([r.labels.index(s.product_id) for s in ds.samples]), len(r.labels)
    )
    ncm = float(((normalise_features(xv) @ protos.T).argmax(1) == yv).mean())
    ours = float((np.asarray(model.head.predict_on_batch(xv)).argmax(1) == yv).mean())
    assert len(val) >= 40
    assert ours >= ncm, (ours, ncm)


def test_counter_photos_are_not_catalogue(trained) -> None:
    _, model, _ = trained
    r = model.result
    assert r.trained_on == "counter" and r.trained_on_hint == ""
    assert set(r.mix_scores) == {0.0, 0.5, 1.0} and r.head_mix in r.mix_scores
    assert r.mix_scores[r.head_mix] == max(r.mix_scores.values())
