"""The default model trains offline from the first run: the base weights ship with the app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from app.core import features, paths, resources
from app.core.errors import BaseWeightsError, WeightsUnavailable
from app.core.input_size import DEFAULT_IMAGE_SIZE

if TYPE_CHECKING:
    from conftest import Cli


REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "resources" / "weights" / features.weights_filename(0.35, 224)


@pytest.fixture
def no_env_no_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No setting, an empty Keras cache and no network: a new user's first run offline."""
    monkeypatch.delenv(paths.BASE_WEIGHTS_ENV, raising=False)
    keras_home = tmp_path / "keras"
    monkeypatch.setenv("KERAS_HOME", str(keras_home))

    def no_download(*_args: object, **_kw: object) -> Path:
        raise AssertionError("resolve_base_weights tried to download")

    monkeypatch.setattr(features, "_download", no_download)
    return keras_home


def test_default_resolves_the_shipped_file(no_env_no_cache: Path) -> None:
    assert features.resolve_base_weights(0.35) == SHIPPED
    assert features.resolve_base_weights(0.35, download=False) == SHIPPED
    assert not no_env_no_cache.exists()  # nothing copied into the Keras cache either


def test_shipped_file_wins_over_the_keras_cache(no_env_no_cache: Path) -> None:
    cached = no_env_no_cache / "models" / features.weights_filename(0.35, 224)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"stale")
    assert features.resolve_base_weights(0.35) == SHIPPED


def test_explicit_file_and_env_var_come_first(
    no_env_no_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine, env = tmp_path / "mine.h5", tmp_path / "env.h5"
    mine.write_bytes(b"x")
    env.write_bytes(b"y")
    monkeypatch.setenv(paths.BASE_WEIGHTS_ENV, str(env))
    assert features.resolve_base_weights(0.35, mine) == mine
    assert features.resolve_base_weights(0.35) == env
    monkeypatch.setenv(paths.BASE_WEIGHTS_ENV, str(tmp_path / "gone.h5"))
    with pytest.raises(BaseWeightsError, match=paths.BASE_WEIGHTS_ENV):
        features.resolve_base_weights(0.35)


def test_other_widths_use_the_cache_then_say_what_to_do(no_env_no_cache: Path) -> None:
    cached = no_env_no_cache / "models" / features.weights_filename(0.5, 224)
    with pytest.raises(BaseWeightsError) as err:
        features.resolve_base_weights(0.5, download=False)
    assert "0.35" in str(err.value) and cached.name in str(err.value)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"w")
    assert features.resolve_base_weights(0.5) == cached


def test_which_sizes_need_a_download_is_known_offline(
    no_env_no_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app marks sizes whose weights are not here; the error carries the facts by type
    and leaves the way to give a file (an option, a button) to the CLI and the app."""
    assert not features.weights_need_download(0.35)  # shipped
    assert features.weights_need_download(0.5) and features.weights_need_download(1.0)
    with pytest.raises(WeightsUnavailable) as err:
        features.resolve_base_weights(0.75, download=False)
    assert err.value.alpha == 0.75 and err.value.filename == features.weights_filename(0.75)
    assert "--base-weights" not in str(err.value) and paths.BASE_WEIGHTS_ENV not in str(err.value)
    cached = no_env_no_cache / "models" / features.weights_filename(0.5, 224)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"w")
    assert not features.weights_need_download(0.5)  # downloaded once: in the Keras cache
    mine = tmp_path / "mine.h5"
    mine.write_bytes(b"x")
    assert not features.weights_need_download(1.0, mine)  # a chosen file: no download
    monkeypatch.setenv(paths.BASE_WEIGHTS_ENV, str(mine))
    assert not features.weights_need_download(1.0)


def test_a_broken_install_names_the_missing_file(
    no_env_no_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources, "roots", lambda: [])
    with pytest.raises(resources.ResourceMissing, match=SHIPPED.name):
        features.resolve_base_weights(0.35)


@pytest.mark.slow
def test_default_cli_training_works_offline_with_no_setting(
    cli: Cli, grocery: Path, tmp_path: Path
) -> None:
    """`train` without --base-weights, env var, Keras cache or network: exit 0, a model."""
    photos = tmp_path / "photos"
    for label, rel in (("apple", "Fruit/Apple/Golden-Delicious"), ("lime", "Fruit/Lime")):
        (photos / label).mkdir(parents=True)
        for src in sorted((grocery / "train" / rel).glob("*.jpg"))[:3]:
            (photos / label / src.name).write_bytes(src.read_bytes())
    env = dict(
        HOME=str(tmp_path / "home"),
        KERAS_HOME=str(tmp_path / "keras"),
        HTTPS_PROXY="http://127.0.0.1:9",  # any download attempt fails at once
        https_proxy="http://127.0.0.1:9",
        HTTP_PROXY="http://127.0.0.1:9",
        http_proxy="http://127.0.0.1:9",
    )
    out = tmp_path / "model"
    args = ["train", str(photos), "--out", str(out), "--epochs", "3", "--no-validate", "--json"]
    r = cli.run(*args, env=env, unset=[paths.BASE_WEIGHTS_ENV], timeout=600)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["products"] == 2
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["baseModel"] == f"mobilenet_v2_0.35_{DEFAULT_IMAGE_SIZE}" and meta["labels"] == [
        "apple",
        "lime",
    ]
    assert not list((tmp_path / "keras").rglob("*.h5"))  # nothing was downloaded
    # --plain is the reference every "ours against plain" time is measured against:
    # Teachable Machine's recipe, at its 224 pixels, not our larger input
    plain = tmp_path / "plain"
    args = ["train", str(photos), "--out", str(plain), "--epochs", "3", "--plain"]
    r = cli.run(*args, env=env, unset=[paths.BASE_WEIGHTS_ENV], timeout=600)
    assert r.returncode == 0, r.stderr
    meta = json.loads((plain / "metadata.json").read_text())
    assert meta["imageSize"] == 224 and meta["baseModel"] == "mobilenet_v2_0.35_224"


def test_image_features_match_keras_on_scaled_photos(base_weights: Path) -> None:
    """The feature function of the shipped weights (the shipped TensorFlow Lite file,
    TM's scaling in its graph, batches of FEATURE_BATCH) gives what Keras's
    ``predict_on_batch`` gives for the photos scaled by ``images.normalise``: the file
    is the shipped weights' model, so a stale or wrong one fails here."""
    import numpy as np

    from app.core.images import normalise

    rng = np.random.default_rng(0)
    side = DEFAULT_IMAGE_SIZE  # on the 224 weights: the Lite file with its input resized
    photos = rng.integers(0, 256, (features.FEATURE_BATCH + 3, side, side, 3), dtype=np.uint8)
    assert features.fast_file(base_weights, 0.35, side) is not None  # a copy of the shipped
    fn = features.image_features(base_weights, 0.35)
    got = fn(photos)
    want = features.base_model(base_weights, 0.35).predict_on_batch(
        np.stack([normalise(p) for p in photos[-8:]])
    )
    assert got.shape == (len(photos), 1280) and got.dtype == np.float32
    np.testing.assert_allclose(got[-8:], np.asarray(want), atol=1e-4)
    assert fn(photos[:0]).shape == (0, 1280)
    assert features.image_features(base_weights, 0.35) is fn  # traced once per base model
    with pytest.raises(TypeError):
        fn(photos.astype(np.float32))


def test_other_weights_use_tensorflow_s_graph(base_weights: Path, tmp_path: Path) -> None:
    """Only the very weights the app ships (by content) have a fast file; other weights
    (another width, or a changed file of the same size) compute their features with
    TensorFlow's graph, which gives the fast file's features for the shipped weights."""
    import numpy as np

    changed = tmp_path / base_weights.name
    data = bytearray(base_weights.read_bytes())
    data[-1] ^= 0xFF
    changed.write_bytes(bytes(data))
    assert features.fast_file(changed, 0.35, 224) is None
    assert features.fast_file(base_weights, 0.5, 224) is None
    side = DEFAULT_IMAGE_SIZE
    photos = np.random.default_rng(1).integers(0, 256, (5, side, side, 3), dtype=np.uint8)
    fast = features.image_features(base_weights, 0.35)(photos)
    graph = features.graph_features(base_weights, 0.35)(photos)
    np.testing.assert_allclose(fast, graph, atol=1e-4)


def test_a_damaged_fast_file_falls_back_to_tensorflow(
    base_weights: Path, tmp_path: Path, monkeypatch, caplog
) -> None:
    """A fast file that cannot be loaded costs speed, not the training: the features come
    from TensorFlow's graph, and the log says why."""
    import numpy as np

    damaged = tmp_path / "damaged.tflite"
    damaged.write_bytes(b"not a model")
    monkeypatch.setattr(features, "fast_file", lambda *a: damaged)
    monkeypatch.setattr(features, "_FEATURE_FNS", {})
    side = DEFAULT_IMAGE_SIZE
    photos = np.random.default_rng(2).integers(0, 256, (3, side, side, 3), dtype=np.uint8)
    with caplog.at_level("WARNING", logger=features.__name__):
        got = features.image_features(base_weights, 0.35)(photos)
    np.testing.assert_allclose(got, features.graph_features(base_weights, 0.35)(photos))
    assert features.FAST_FALLBACK in caplog.text and str(damaged) in caplog.text


def test_the_log_says_when_the_fast_file_computes_features(
    base_weights: Path, monkeypatch, caplog
) -> None:
    """The bundle's smoke test reads this line: without it a bundle that lost TensorFlow
    Lite or the file would pass every check at half the speed."""
    monkeypatch.setattr(features, "_FEATURE_FNS", {})
    with caplog.at_level("INFO", logger=features.__name__):
        features.image_features(base_weights, 0.35)
    assert features.FAST_IN_USE in caplog.text
