"""The counter teaches the model (issue 17): refused frames, the in-place update of an
export, the stored photo in the next full training, and the ``teach`` CLI.

Real photos (Grocery Store Dataset), real TensorFlow, TF.js in Node, the real CLI."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from PIL import Image, ImageFilter
from tfjs_harness import tfjs_predict

from app.core import taught_memory
from app.core.catalogue import Catalogue, ImageRef, Product
from app.core.dataset import build_dataset
from app.core.errors import AlreadyNamed, ModelFilesError
from app.core.export import export_model
from app.core.features import FeatureStore
from app.core.frame_checks import BLANK, BLURRED, DUPLICATE, TOO_DARK, frame_problem, pick_frames
from app.core.images import load_rgb, preprocess
from app.core.input_size import DEFAULT_IMAGE_SIZE
from app.core.local_history import model_lock
from app.core.model import TrainOptions
from app.core.modelfiles import ExportedModel, validate_model_dir
from app.core.store import TEST_SCREEN, ChannelStore
from app.core.teach import (
    RULE,
    KeptModel,
    RefusedPhoto,
    Rule,
    UnknownProduct,
    teach,
    update_head,
)
from app.core.trainer import train

if TYPE_CHECKING:
    from conftest import Cli


PRODUCTS = ("Fruit/Banana", "Fruit/Kiwi", "Fruit/Lemon")


def _photos(grocery: Path, rel: str, split: str = "train") -> list[Path]:
    return sorted((grocery / split / rel).glob("*.jpg"))


def _catalog(grocery: Path) -> Catalogue:
    return Catalogue(
        [
            Product(
                rel.split("/")[-1],
                rel.split("/")[-1],
                [ImageRef(p) for p in _photos(grocery, rel)[:3]],
            )
            for rel in PRODUCTS
        ]
    )


def _cheap() -> TrainOptions:
    return TrainOptions(augment=False, validate=False, not_products=False, epochs=8)


@pytest.fixture(scope="module")
def trained(grocery: Path, base_weights: Path, tmp_path_factory) -> tuple[Path, Path]:
    """A tiny three-product model exported twice: float32 and uint8."""
    root = tmp_path_factory.mktemp("teach")
    opts = TrainOptions(**{**_cheap().__dict__, "base_weights": base_weights})
    model = train(build_dataset(_catalog(grocery)), opts, store=FeatureStore(root / "features"))
    return (
        export_model(model, root / "float32"),
        export_model(model, root / "uint8", quantize="uint8"),
    )


def _misread(model_dir: Path, grocery: Path) -> tuple[np.ndarray, str, str]:
    """A test photo and (its current top-1, another product to teach it as)."""
    m = ExportedModel.load(model_dir)
    rgb = load_rgb(_photos(grocery, "Fruit/Lemon", "test")[0])
    top = m.top_k(rgb, 3)
    return rgb, top[0][0], top[-1][0]


def test_frame_problem_says_why(grocery: Path) -> None:
    rgb = load_rgb(_photos(grocery, "Fruit/Kiwi", "test")[0])
    assert frame_problem(rgb) is None
    assert frame_problem((rgb * 0.08).astype(np.uint8)) == TOO_DARK
    assert frame_problem(np.full((480, 640, 3), 150, np.uint8)) == BLANK
    side = max(rgb.shape[:2])
    blurred = np.asarray(Image.fromarray(rgb).filter(ImageFilter.GaussianBlur(side / 80)))
    assert frame_problem(blurred) == BLURRED


def test_pick_frames_drops_bad_and_duplicate_frames(grocery: Path) -> None:
    a, b, c = (load_rgb(p) for p in _photos(grocery, "Fruit/Kiwi", "test")[:3])
    dark = (a * 0.05).astype(np.uint8)
    burst = [a, dark, a.copy(), b, c]
    picked = pick_frames(burst, want=2)
    assert len(picked.kept) == 2
    assert all(any(np.array_equal(k, f) for f in (a, b, c)) for k in picked.kept)
    reasons = dict(picked.refused)
    assert reasons[1] == TOO_DARK
    assert DUPLICATE in (reasons.get(0), reasons.get(2))  # one of the two copies of a
    assert len(picked.refused) == 3  # dark, duplicate, and one over the two wanted
    assert sorted(picked.kept_index + [i for i, _ in picked.refused]) == list(range(5))


@pytest.mark.parametrize("which", [0, 1], ids=["float32", "uint8"])
def test_teach_changes_the_answer_in_place(
    trained, which: int, grocery: Path, base_weights: Path, tmp_path
) -> None:
    model_dir = tmp_path / "model"
    shutil.copytree(trained[which], model_dir)
    before_meta = validate_model_dir(model_dir)
    rgb, top, other = _misread(model_dir, grocery)
    result = teach(model_dir, other, [rgb], weights=base_weights)
    assert (result.before, result.after, result.photos) == (top, other, 1)
    meta = validate_model_dir(model_dir)  # the same validator as a full export
    assert meta["taught"]["products"] == {other: 1}
    assert meta["imageCount"] == before_meta["imageCount"] + 1
    assert meta["trainedAt"] == before_meta["trainedAt"]
    assert meta["quantization"] == before_meta["quantization"]
    (named, p), *_ = ExportedModel.load(model_dir).top_k(rgb, 1)
    assert named == other and p >= RULE.target  # the rule's target, not a bare top-1
    # the POS's own runtime reads the updated files and gives the new answer
    probs = tfjs_predict(model_dir, preprocess(rgb)[None])
    assert meta["labels"][int(probs.argmax())] == other
    # the base model is untouched: only the product layer's bytes changed
    old = (trained[which] / "weights.bin").read_bytes()
    new = (model_dir / "weights.bin").read_bytes()
    changed = np.flatnonzero(np.frombuffer(old, np.uint8) != np.frombuffer(new, np.uint8))
    head_bytes = 1280 * 3 * (4 if which == 0 else 1) + 3 * (4 if which == 0 else 1)
    assert len(changed) and changed.min() >= len(old) - head_bytes


def test_a_taught_photo_reaches_the_rules_target_probability_not_just_top_1() -> None:
    """Teaching stops once the photos are their product's with the rule's target
    probability (the teach's "already names it at 60 %" promise): stopped at the first
    step where it was top-1, the product led by a hair (about a third of the probability
    here), and a photo a little different was named something else again."""
    from app.core.calibration import softmax

    rng = np.random.default_rng(3)
    dim, n, c = 64, 4, 2
    kernel = rng.normal(scale=0.1, size=(dim, n)).astype(np.float32)
    bias = np.zeros(n, np.float32)
    z = rng.normal(size=(2, dim)).astype(np.float32)  # two photos of it
    assert (softmax(z @ kernel + bias).argmax(axis=1) != c).all()
    for target in (0.6, 0.9):
        rule = Rule(steps=500, lr=0.002, target=target)
        w, b = update_head(kernel, bias, z, c, rule)
        p = softmax(z @ w + b)
        assert (p.argmax(axis=1) == c).all() and p[:, c].min() >= target, (target, p[:, c])
        assert p[:, c].min() < target + 0.1  # it stops there: no more than it needs


def test_a_later_correction_keeps_the_earlier_ones_right() -> None:
    """Two photos close in feature space, taught as two products one after the other:
    taught alone the second undoes the first; with the memory both stay right."""
    rng = np.random.default_rng(0)
    dim, n = 64, 4
    kernel = rng.normal(scale=0.1, size=(dim, n)).astype(np.float32)
    bias = np.zeros(n, np.float32)
    first = rng.normal(size=(1, dim)).astype(np.float32)
    second = first + 0.3 * rng.normal(size=(1, dim)).astype(np.float32)
    rule = Rule(steps=200, lr=0.01, target=0.6)
    w, b = update_head(kernel, bias, first, 1, rule)
    assert int((first @ w + b).argmax()) == 1
    alone = update_head(w, b, second, 2, rule)
    assert int((first @ alone[0] + alone[1]).argmax()) == 2  # the first correction is undone
    memory = (np.concatenate([first, second]), np.array([1, 2]))
    kept = update_head(w, b, second, 2, rule, memory)
    assert int((first @ kept[0] + kept[1]).argmax()) == 1
    assert int((second @ kept[0] + kept[1]).argmax()) == 2


def test_the_taught_memory_grows_beside_the_model_and_a_new_training_starts_it_afresh(
    trained, grocery: Path, base_weights: Path, tmp_path
) -> None:
    model_dir = tmp_path / "model"
    shutil.copytree(trained[0], model_dir)
    trained_at = validate_model_dir(model_dir)["trainedAt"]
    rgb, _, other = _misread(model_dir, grocery)
    teach(model_dir, other, [rgb], weights=base_weights)
    kiwi = load_rgb(_photos(grocery, "Fruit/Kiwi", "test")[1])
    with pytest.raises(AlreadyNamed):  # the files stay; the photo is remembered all the same
        teach(model_dir, "Kiwi", [kiwi], weights=base_weights)
    path = taught_memory.memory_path(model_dir)
    assert path.parent == model_dir.parent and path.name.startswith(".")
    assert sorted(p.name for p in model_dir.iterdir()) == [
        "metadata.json",
        "model.json",
        "weights.bin",
    ]
    memory = taught_memory.load(model_dir, trained_at, 1280)
    assert memory.products == [other, "Kiwi"] and memory.z.shape == (2, 1280)
    # both taught photos are still their product's top-1 after the second teach
    m = ExportedModel.load(model_dir)
    assert m.top_k(rgb, 1)[0][0] == other and m.top_k(kiwi, 1)[0][0] == "Kiwi"
    # a model trained at another time does not use this memory
    assert taught_memory.load(model_dir, "2030-01-01T00:00:00Z", 1280).products == []
    path.write_bytes(b"not an npz")  # damaged: ignored, never fatal
    assert taught_memory.load(model_dir, trained_at, 1280).products == []
    with pytest.raises(AlreadyNamed):
        teach(model_dir, "Kiwi", [kiwi], weights=base_weights)
    assert taught_memory.load(model_dir, trained_at, 1280).products == ["Kiwi"]


def test_unknown_product_and_refused_photos(
    trained, grocery: Path, base_weights: Path, tmp_path
) -> None:
    model_dir = tmp_path / "model"
    shutil.copytree(trained[0], model_dir)
    files = {
        n: (model_dir / n).read_bytes() for n in ("model.json", "weights.bin", "metadata.json")
    }
    rgb = load_rgb(_photos(grocery, "Fruit/Kiwi", "test")[0])
    with pytest.raises(UnknownProduct, match="Mango"):
        teach(model_dir, "Mango", [rgb], weights=base_weights)
    with pytest.raises(RefusedPhoto) as refused:
        teach(model_dir, "Kiwi", [np.zeros((240, 320, 3), np.uint8)], weights=base_weights)
    assert refused.value.reasons == [(0, TOO_DARK)]
    assert files == {n: (model_dir / n).read_bytes() for n in files}  # nothing written


def test_a_teach_waits_for_a_training_that_replaces_the_model_and_builds_on_it(
    trained, grocery: Path, base_weights: Path, tmp_path
) -> None:
    """A teach read the files, a training swapped its new model in, then the teach wrote
    the old model back (with its correction): the training was gone without a word."""
    model_dir = tmp_path / "model"
    shutil.copytree(trained[0], model_dir)
    rgb, _, other = _misread(model_dir, grocery)
    results: list = []
    worker = threading.Thread(
        target=lambda: results.append(teach(model_dir, other, [rgb], weights=base_weights))
    )
    with model_lock(model_dir):  # a training's export, in the middle of its swap
        worker.start()
        worker.join(1.0)
        assert not results  # waiting, not working on the files being replaced
        shutil.rmtree(model_dir)  # the training's model (uint8 here) takes the folder
        shutil.copytree(trained[1], model_dir)
    worker.join(60)
    assert results and results[0].after == other
    meta = validate_model_dir(model_dir)
    assert meta["quantization"] == "uint8"  # the training's model, not the one before
    assert meta["taught"]["products"] == {other: 1}  # with the correction on top


def test_an_earlier_model_kept_in_the_history_is_never_taught(
    trained, grocery: Path, base_weights: Path, tmp_path
) -> None:
    """Opened "to look at it", an earlier model was taught where it lay: the archived copy
    changed and a stray memory file appeared in the history."""
    kept = tmp_path / ".model.history" / "20261207T043956134597Z-9e1b8f"
    shutil.copytree(trained[0], kept)
    before = {p.name: p.read_bytes() for p in kept.iterdir()}
    rgb = load_rgb(_photos(grocery, "Fruit/Kiwi", "test")[0])
    with pytest.raises(KeptModel, match="Use it again first"):
        teach(kept, "Kiwi", [rgb], weights=base_weights)
    assert {p.name: p.read_bytes() for p in kept.iterdir()} == before
    assert sorted(p.name for p in kept.parent.iterdir()) == [kept.name]
    # at the counter the photo is still kept for the next training, said not taught
    from app.core.correction import store_and_teach

    done = store_and_teach(ChannelStore("local", "shop"), kept, "Kiwi", [rgb], origin=TEST_SCREEN)
    assert len(done.stored) == 1 and done.result is None and "earlier model" in done.not_taught


def test_a_photo_the_model_already_names_changes_nothing_and_says_so(
    trained, grocery: Path, base_weights: Path, tmp_path
) -> None:
    """A "Right" (or a teach of the product the model already says at 60 % or more) left
    the weights byte for byte as they were but said "Taught …, the model is updated" and
    counted the photo as taught."""
    model_dir = tmp_path / "model"
    shutil.copytree(trained[0], model_dir)
    files = {
        n: (model_dir / n).read_bytes() for n in ("model.json", "weights.bin", "metadata.json")
    }
    rgb = load_rgb(_photos(grocery, "Fruit/Banana")[0])  # one it was trained on
    (top, p), *_ = ExportedModel.load(model_dir).top_k(rgb, 1)
    assert top == "Banana" and p >= Rule().target
    with pytest.raises(AlreadyNamed, match="already names Banana at 60 % or more"):
        teach(model_dir, "Banana", [rgb], weights=base_weights)
    assert files == {n: (model_dir / n).read_bytes() for n in files}  # nothing written
    from app.core.correction import store_and_teach

    done = store_and_teach(
        ChannelStore("local", "shop"), model_dir, "Banana", [rgb], origin=TEST_SCREEN
    )
    assert len(done.stored) == 1 and done.result is None and "already names" in done.not_taught


def test_the_plain_reference_is_not_taught(grocery: Path, base_weights: Path, tmp_path) -> None:
    """A model trained with --plain scores raw features, and a teach works on normalised
    ones: it said "the first photo was Lemon, now Lime" of a photo the model went on
    calling Banana. It is refused, saying why, and its files are untouched."""
    opts = TrainOptions(**{**_cheap().__dict__, "base_weights": base_weights, "head": "linear"})
    model = train(build_dataset(_catalog(grocery)), opts, store=FeatureStore(tmp_path / "f"))
    out = export_model(model, tmp_path / "plain")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    rgb, _, other = _misread(out, grocery)
    with pytest.raises(ModelFilesError, match="plain reference"):
        teach(out, other, [rgb], weights=base_weights)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_corrected_photo_is_stored_and_in_the_next_training(
    grocery: Path, base_weights: Path, tmp_path
) -> None:
    catalog = _catalog(grocery)
    frame = load_rgb(_photos(grocery, "Fruit/Lemon", "test")[1])
    stored = ChannelStore("local", "shop").add_rgb("Lemon", frame, origin=TEST_SCREEN)
    assert stored.name.startswith(f"{TEST_SCREEN}-")
    again = ChannelStore("local", "shop")  # after a restart
    assert again.added_images() == {"Lemon": [stored]}
    ds = build_dataset(again.apply(catalog))
    opts = TrainOptions(**{**_cheap().__dict__, "base_weights": base_weights})
    model = train(ds, opts, store=FeatureStore(tmp_path / "features"))
    assert model.result.image_count == 3 * 3 + 1


def test_cli_teach(cli: Cli, trained, grocery: Path, base_weights: Path, tmp_path) -> None:
    model_dir = tmp_path / "model"
    shutil.copytree(trained[0], model_dir)
    rgb, top, other = _misread(model_dir, grocery)
    photo = tmp_path / "lemon.jpg"
    Image.fromarray(rgb).save(photo, quality=95)
    dark = tmp_path / "dark.jpg"
    Image.fromarray(np.zeros((240, 320, 3), np.uint8)).save(dark)
    weights = ["--base-weights", str(base_weights)]

    twice = [str(photo), str(photo)]  # the same photo twice counts once
    ok = cli.run("teach", str(model_dir), "--product", other, *twice, str(dark), *weights)
    assert ok.returncode == 0, ok.stderr
    assert f"Taught {other} from 1 photo" in ok.stdout
    assert f"{photo}: refused: the same photo as lemon.jpg (used once)" in ok.stderr
    assert f"the first photo was {top}, now {other}" in ok.stdout
    assert f"{dark}: refused: {TOO_DARK}" in ok.stderr
    assert json.loads((model_dir / "metadata.json").read_text())["taught"]["photos"] == 1
    shown = cli.run("inspect", str(model_dir))  # it said nothing of the corrections
    assert (
        shown.returncode == 0
        and f"taught: {{'photos': 1, 'products': {{'{other}': 1}}" in shown.stdout
    )

    assert "The photos are not kept" in ok.stdout  # not "Train or sync runs it": they
    # did not, nothing stored them (and sync said "up to date")

    # a product by the name the model lists (any case), not only by its id
    named = cli.run("teach", str(model_dir), "--product", other.lower(), str(photo), *weights)
    assert named.returncode == 0, named.stderr  # taught above: now already named
    assert f"Not taught: the model already names {other} at 60 %" in named.stdout

    unknown = cli.run("teach", str(model_dir), "--product", "Mango", str(photo), *weights)
    assert unknown.returncode == 1
    assert unknown.stderr.startswith("Error: ") and "Mango" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    refused = cli.run("teach", str(model_dir), "--product", other, str(dark), *weights)
    assert refused.returncode == 1
    assert f"{dark}: refused: {TOO_DARK}" in refused.stderr
    assert "Error: No photo could be used." in refused.stderr
    missing = cli.run("teach", str(tmp_path / "nope"), "--product", other, str(photo))
    assert missing.returncode == 1 and missing.stderr.startswith("Error: ")


def test_prepare_builds_the_base_model_a_teach_needs(trained, base_weights, tm_export) -> None:
    """The Test screen calls it when a model opens, so the first correction does not pay
    for loading the feature model; a Teachable Machine export is not ours: nothing built."""
    from app.core import features
    from app.core.teach import prepare

    features._FEATURE_FNS.clear()
    assert prepare(trained[0], base_weights) is True
    assert (str(base_weights), 0.35, DEFAULT_IMAGE_SIZE) in features._FEATURE_FNS
    features._FEATURE_FNS.clear()
    assert prepare(tm_export, base_weights) is False
    assert not features._FEATURE_FNS


def test_a_damaged_taught_memory_only_costs_the_rehearsal(tmp_path) -> None:
    """Each of these was a traceback on every later ``teach`` of the model (a pipe hung)."""
    import io
    import os

    import numpy as np

    model_dir = tmp_path / "model"
    model_dir.mkdir()
    at = "2026-12-07T00:00:00Z"
    good = taught_memory.TaughtMemory(at, np.ones((2, 8), np.float16), ["a", "b"])
    taught_memory.save(model_dir, good)
    path = taught_memory.memory_path(model_dir)
    whole = path.read_bytes()
    assert taught_memory.load(model_dir, at, 8).products == ["a", "b"]

    def npz(z: np.ndarray, products: np.ndarray) -> bytes:
        buf = io.BytesIO()
        np.savez(buf, trained_at=np.array(at), z=z, products=products)
        return buf.getvalue()

    two = np.array(["a", "b"])
    damaged = {
        "empty": b"",
        "cut short": whole[: len(whole) // 2],
        "a flipped byte": whole[:200] + bytes([whole[200] ^ 0xFF]) + whole[201:],
        "an .npy": (lambda b: (np.save(b, np.ones(3)), b.getvalue())[1])(io.BytesIO()),
        "text features": npz(np.array([["x"] * 8] * 2), two),
        "one product, not a list": npz(np.ones((1, 8)), np.array("a")),
        "NaN features": npz(np.full((2, 8), np.nan), two),
    }
    for what, data in damaged.items():
        path.write_bytes(data)
        assert taught_memory.load(model_dir, at, 8).products == [], what
    path.unlink()
    os.mkfifo(path)
    assert taught_memory.load(model_dir, at, 8).products == []


def test_a_correction_keeps_its_photos_before_it_changes_the_model(
    grocery: Path, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An audit of the app killed mid-work: the model was taught first and the photos
    stored after, so a kill in between left a model that "learned Kiwi at the counter"
    and no photo for the next training, which dropped the correction without a word."""
    import app.core.teach as teach_module
    from app.core.correction import store_and_teach
    from app.core.errors import Cancelled

    store = ChannelStore("local", "shop")
    earlier = store.add_rgb("Kiwi", load_rgb(_photos(grocery, "Fruit/Kiwi", "test")[1]))
    rgb = load_rgb(_photos(grocery, "Fruit/Kiwi", "test")[0])
    seen: list[int] = []

    def killed_while_teaching(model_dir, product_id, frames, **kw):
        seen.append(len(ChannelStore("local", "shop").added_images()["Kiwi"]))
        raise Cancelled("stopped")  # as a kill would, here: the model not yet written

    monkeypatch.setattr(teach_module, "teach", killed_while_teaching)
    with pytest.raises(Cancelled):
        store_and_teach(store, tmp_path / "model", "Kiwi", [rgb], origin=TEST_SCREEN)
    assert seen == [2]  # the new photo was kept before the model would change
    # a cancel is "nothing changes": the photo it stored goes, the earlier one stays
    assert ChannelStore("local", "shop").added_images()["Kiwi"] == [earlier]
