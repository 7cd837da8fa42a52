"""The one model-folder validator and what export writes for it (issue 10, items 15, 20, 21).

Damaged weights (changed after export, NaN, overflowing) are refused by ``inspect``, by
loading for the Test screen and by publish; export keeps the folder's mode and never
replaces a folder that is not a previous export of ours.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from model_weights import LAST_KERNEL, entry_offset, overflowing, write_weights

from app.core.errors import ModelFilesError
from app.core.model_format import FILES, WEIGHTS_SHA256
from app.core.modelfiles import ExportedModel, read_model_files, validate_model_dir

if TYPE_CHECKING:
    from conftest import Cli


@pytest.fixture
def ours(tmp_path: Path, tm_export: Path) -> Path:
    """The reference TF.js model with metadata as our export writes it."""
    d = tmp_path / "model"
    d.mkdir()
    for name in ("model.json", "weights.bin"):
        shutil.copy(tm_export / name, d / name)
    meta = {
        "version": "1.0.0",
        "channelId": "2",
        "labels": ["1", "2", "3", "4", "5"],
        "imageSize": 224,
        "trainer": {"name": "dukahub-trainer", "version": "test"},
        WEIGHTS_SHA256: hashlib.sha256((d / "weights.bin").read_bytes()).hexdigest(),
    }
    (d / "metadata.json").write_text(json.dumps(meta))
    return d


def test_intact_model_is_accepted(cli: Cli, ours: Path) -> None:
    assert read_model_files(ours).metadata["labels"] == ["1", "2", "3", "4", "5"]
    r = cli.run("inspect", str(ours), timeout=900)
    assert r.returncode == 0, r.stderr


def test_same_size_tampered_weights_are_refused(cli: Cli, ours: Path) -> None:
    weights = bytearray((ours / "weights.bin").read_bytes())
    offset, _ = entry_offset(ours, LAST_KERNEL)
    weights[offset : offset + 4] = np.float32(0.5).tobytes()  # finite, same size
    write_weights(ours, bytes(weights), rehash=False)
    with pytest.raises(ModelFilesError, match="does not match the checksum"):
        read_model_files(ours)
    with pytest.raises(ModelFilesError, match="does not match the checksum"):
        ExportedModel.load(ours, eager=False)  # the Test screen's loader
    r = cli.run("inspect", str(ours), timeout=900)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1].startswith("Error: weights.bin does not match")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights_are_refused(cli: Cli, ours: Path, bad: float) -> None:
    weights = bytearray((ours / "weights.bin").read_bytes())
    offset, _ = entry_offset(ours, LAST_KERNEL)
    weights[offset + 40 : offset + 44] = np.float32(bad).tobytes()
    write_weights(ours, bytes(weights), rehash=True)
    with pytest.raises(ModelFilesError, match=r"weights are damaged \(not finite numbers"):
        read_model_files(ours)
    r = cli.run("inspect", str(ours), timeout=900)
    assert r.returncode == 1 and "weights are damaged (not finite numbers" in r.stderr


def test_non_finite_float16_and_quantisation_are_refused(ours: Path) -> None:
    model = json.loads((ours / "model.json").read_text())
    entries = [w for g in model["weightsManifest"] for w in g["weights"]]
    for w in entries:
        w["quantization"] = {"dtype": "float16"}
    (ours / "model.json").write_text(json.dumps(model))
    n = sum(int(np.prod(w["shape"])) for w in entries)
    halves = np.zeros(n, dtype="<f2")
    write_weights(ours, halves.tobytes(), rehash=True)
    read_model_files(ours)  # zeros are fine
    halves[7] = np.inf
    write_weights(ours, halves.tobytes(), rehash=True)
    with pytest.raises(ModelFilesError, match="not finite numbers"):
        read_model_files(ours)

    for w in entries:
        w["quantization"] = {"dtype": "uint8", "min": -1.0, "scale": 0.01}
    entries[3]["quantization"]["scale"] = float("nan")
    (ours / "model.json").write_text(json.dumps(model))
    write_weights(ours, b"\x01" * n, rehash=True)
    with pytest.raises(ModelFilesError, match="NaN is not JSON"):  # as a browser reads it
        read_model_files(ours)


def test_a_model_predicting_nan_fails_the_prediction_check(ours: Path) -> None:
    ExportedModel.load(ours).check_prediction()  # the intact model predicts numbers
    overflowing(ours)
    model = ExportedModel.load(ours)  # the files themselves are consistent
    with pytest.raises(ModelFilesError, match="test prediction is not a finite number"):
        model.check_prediction()


# ------------------------------------------------------------------ export, through the CLI


@pytest.fixture
def photos(tmp_path: Path, grocery: Path) -> Path:
    """Two products, three real photos each (symlinks into the shared dataset)."""
    root = tmp_path / "photos"
    for pid, cls in (("11", "Fruit/Kiwi"), ("12", "Fruit/Banana")):
        (root / pid).mkdir(parents=True)
        for src in sorted((grocery / "train" / cls).glob("*.jpg"))[:3]:
            (root / pid / src.name).symlink_to(src)
    return root


def _train(cli: Cli, photos: Path, out: Path, base_weights: Path, umask: int | None = None):
    return cli.run(
        "train",
        str(photos),
        "--out",
        str(out),
        "--base-weights",
        str(base_weights),
        "--epochs",
        "1",
        "--no-validate",
        umask=umask,
        timeout=900,
    )


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.mark.slow
def test_export_writes_the_checksum_and_keeps_folder_modes(
    cli: Cli, photos: Path, tmp_path: Path, base_weights: Path
) -> None:
    out = tmp_path / "model"
    r = _train(cli, photos, out, base_weights, umask=0o027)
    assert r.returncode == 0, r.stderr
    assert _mode(out) == 0o750  # a new folder: the umask's default, not mkdtemp's 0700
    meta = json.loads((out / "metadata.json").read_text())
    assert meta[WEIGHTS_SHA256] == hashlib.sha256((out / "weights.bin").read_bytes()).hexdigest()
    assert cli.run("inspect", str(out), timeout=900).returncode == 0

    os.chmod(out, 0o755)  # the owner opened it up for a web server
    before = (out / "weights.bin").read_bytes()
    r = _train(cli, photos, out, base_weights, umask=0o077)
    assert r.returncode == 0, r.stderr  # a previous export of ours is replaced...
    assert _mode(out) == 0o755  # ...and keeps the folder's mode
    assert (out / "weights.bin").read_bytes() != before or meta != json.loads(
        (out / "metadata.json").read_text()
    )


@pytest.mark.slow
@pytest.mark.parametrize("case", ["own-model-json", "teachable-machine"])
def test_export_never_replaces_a_folder_that_is_not_ours(
    cli: Cli, photos: Path, tmp_path: Path, base_weights: Path, tm_export: Path, case: str
) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    if case == "own-model-json":  # only a user's own model.json (issue 10, item 15)
        (out / "model.json").write_text('{"my": "own model"}')
    else:  # all three files, but not written by this trainer
        for name in ("model.json", "weights.bin", "metadata.json"):
            shutil.copy(tm_export / name, out / name)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    r = _train(cli, photos, out, base_weights)
    assert r.returncode == 1
    assert "not a previous export of this trainer" in r.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".mine.")]  # no leftovers


def test_names_and_input_size_must_fit_the_model(tmp_path: Path, tm_export: Path) -> None:
    """A hand-edited metadata.json: ``"labelNames": 5`` was a traceback in inspect, predict
    and teach; three names for five labels named the wrong products ("Sure: B"); an
    imageSize of 64 on a 224-px model passed inspect, then predict failed with a
    traceback."""
    import shutil

    labels = ["1", "2", "3", "4", "5"]
    for bad, words in (
        ({"labelNames": 5}, "labelNames must give one name for each of its 5 labels"),
        ({"labelNames": ["a", "b", "c"]}, "labelNames must give one name"),
        ({"labelNames": [None] * 5}, "labelNames must give one name"),
        ({"imageSize": 64}, "imageSize 64 does not match the model's input (224×224 px)"),
    ):
        d = tmp_path / f"m{len(list(tmp_path.iterdir()))}"
        d.mkdir()
        for name in ("model.json", "weights.bin"):
            shutil.copy(tm_export / name, d / name)
        (d / "metadata.json").write_text(json.dumps({"labels": labels, **bad}))
        with pytest.raises(ModelFilesError, match=re.escape(words)):
            validate_model_dir(d)
    (d / "metadata.json").write_text(json.dumps({"labels": labels, "labelNames": list("abcde")}))
    assert validate_model_dir(d)["labelNames"] == list("abcde")


@pytest.mark.parametrize(
    ("labels", "words"),
    [
        (["1", "2", "3", "2", "5"], "twice"),
        (["1", "2", "3", "4", "5", "6"], "6 labels"),
    ],
    ids=["a-label-twice", "more-labels-than-outputs"],
)
def test_labels_that_do_not_fit_the_model_are_refused(
    tmp_path: Path, tm_export: Path, labels: list[str], words: str
) -> None:
    """A hand-edited metadata.json naming a product twice (two outputs, one name: the
    till cannot tell which one it saw) or more labels than the model has outputs (the
    last names are never predicted, and the till reads past the outputs) must be refused
    before inspect, the Test screen or publish use it."""
    from model_standins import fake_model

    d = fake_model(tmp_path / "m", tm_export, labels)
    with pytest.raises(ModelFilesError, match=re.escape(words)):
        validate_model_dir(d)
    (d / "metadata.json").write_text(json.dumps({"labels": ["1", "2", "3", "4", "5"]}))
    assert validate_model_dir(d)["labels"] == ["1", "2", "3", "4", "5"]


def test_a_model_of_any_side_must_be_named_at_its_trained_size(
    tmp_path: Path, tm_export: Path
) -> None:
    """Our exports take a square of any side (a till feeding 224 still gets answers), so
    the model's input no longer says its size: a hand-edited imageSize is checked against
    the size ``baseModel`` names (64 on a 256-px model gave wrong products, silently)."""
    import shutil

    d = tmp_path / "any-side"
    d.mkdir()
    shutil.copy(tm_export / "weights.bin", d / "weights.bin")
    text = (tm_export / "model.json").read_text()
    assert "[null,224,224,3]" in text
    (d / "model.json").write_text(text.replace("[null,224,224,3]", "[null,null,null,3]"))
    meta = {"labels": ["1", "2", "3", "4", "5"], "baseModel": "mobilenet_v2_0.35_256"}
    (d / "metadata.json").write_text(json.dumps({**meta, "imageSize": 64}))
    with pytest.raises(ModelFilesError, match=re.escape("trained at (256×256 px")):
        validate_model_dir(d)
    (d / "metadata.json").write_text(json.dumps({**meta, "imageSize": 256}))
    assert validate_model_dir(d)["imageSize"] == 256


def test_nan_in_metadata_is_refused_as_a_browser_would(tmp_path: Path, tm_export: Path) -> None:
    """Python reads ``NaN`` in JSON, a till's browser does not (``JSON.parse`` throws): a
    model whose metadata.json held one passed inspect and publish to a folder, and no
    till could load it."""
    from model_standins import fake_model

    labels = ["1", "2", "3", "4", "5"]
    d = fake_model(tmp_path / "m", tm_export, labels, acceptThreshold=float("nan"))
    assert "NaN" in (d / "metadata.json").read_text()  # Python writes it, unless told not to
    with pytest.raises(ModelFilesError, match="NaN is not JSON: a browser cannot read it"):
        validate_model_dir(d)


def test_the_exported_threshold_is_rounded_up_never_down() -> None:
    """0.91234 was exported as 0.9123, so a photo at 0.91231 the threshold had excluded
    from its precision was added by the till."""
    from model_standins import train_result

    from app.core.export import accept_fields
    from app.core.model import Acceptance

    r = train_result(accept=Acceptance(0.91234, 0.95, 0.3, 0.95, True, 100))
    assert accept_fields(r)["acceptThreshold"] == 0.9124
    r = train_result(accept=Acceptance(1.01, None, 0.0, 0.95, True, 100))
    assert accept_fields(r)["acceptThreshold"] == 1.01


def test_a_uint8_export_never_adds_by_itself() -> None:
    """The threshold is measured on the float model; a uint8 export kept it while its
    probabilities moved by up to 0.3 (every orange frame "Tomato" at 0.52-0.64)."""
    from model_standins import train_result

    from app.core.export import accept_fields
    from app.core.model import Acceptance

    r = train_result(accept=Acceptance(0.61, 0.96, 0.4, 0.95, True, 100))
    assert accept_fields(r, "float16")["acceptThreshold"] == 0.61
    fields = accept_fields(r, "uint8")
    assert fields["acceptThreshold"] == 1.01 and fields["acceptMeasured"] is False
    assert fields["acceptPrecision"] is None and fields["acceptCoverage"] is None


def test_a_model_swapped_in_while_it_is_read_is_read_whole(
    ours: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by an audit: a training or teach swaps the whole folder for a new model; a
    read across the swap mixed the two models' files and called a healthy model damaged
    ("weights.bin does not match the checksum", 2 of 60 inspects during swaps)."""
    from app.core import modelfiles
    from app.core.export import replace_model_files

    newer = tmp_path / "newer"
    shutil.copytree(ours, newer)
    weights = bytearray((newer / "weights.bin").read_bytes())
    offset, _ = entry_offset(newer, LAST_KERNEL)
    weights[offset : offset + 4] = np.float32(0.25).tobytes()
    write_weights(newer, bytes(weights), rehash=True)  # another whole model
    real, swapped = modelfiles.read_regular, []

    def read_then_swap(path: Path, limit: int) -> bytes:
        data = real(path, limit)
        if path.name == "weights.bin" and not swapped:  # the swap lands mid-read, once
            swapped.append(path)
            replace_model_files(ours, {n: (newer / n).read_bytes() for n in FILES})
        return data

    monkeypatch.setattr(modelfiles, "read_regular", read_then_swap)

    read = read_model_files(ours)

    assert swapped and read.files["weights.bin"] == bytes(weights)


def test_predictions_from_many_threads_leave_nothing_behind(tm_export):
    """An audit of long sessions: the Test screen recognised each camera frame on a new
    thread, and TensorFlow kept a ``FunctionCallOptions`` (and a list) for every thread
    that ever ran the model: two objects and 0.6 KB a frame, without end. Every
    prediction now runs on one thread."""
    import gc
    import threading

    model = ExportedModel.load(tm_export)
    grey = np.full((64, 64, 3), 128, np.uint8)
    model.predict([grey])  # the first prediction's own objects are made once

    def kept() -> int:
        gc.collect()
        return sum(type(o).__name__ == "FunctionCallOptions" for o in gc.get_objects())

    before = kept()
    for _ in range(30):  # as the Test screen did: each frame on a thread of its own
        t = threading.Thread(target=model.predict, args=([grey],))
        t.start()
        t.join()
    assert kept() - before <= 1
