"""The TF.js export loads only the converter's Keras path and writes what the full one did."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# What the bundle excludes (build_installer.py's spec); the narrow export must not need it.
BLOCKED = (
    "jax",
    "jaxlib",
    "flax",
    "tensorflow_decision_forests",
    "ydf",
    "tensorflow_hub",
    "pandas",
    "scipy",
    "keras",
    "tensorboard",
    "IPython",
)
# Builds the app's model shape (MobileNetV2 0.35 base from the shipped weights, then
# LayerNormalization + softmax), exports it with uint8 weights (the quantisation map
# names layers, so it exercises the most converter code), loads it back and reports.
SCRIPT = (
    f"BLOCKED = {BLOCKED!r}\n"
    + """
import hashlib, json, sys
from pathlib import Path
import numpy as np

full = sys.argv[1] == "full"
out = Path(sys.argv[2])
if not full:  # as in the desktop bundle, which leaves these out: any import of them fails
    for name in BLOCKED:
        sys.modules[name] = None
from app.core import features, resources
from app.core.tf_runtime import HEAVY_MODULES, import_tfjs, tf_modules

tf, keras = tf_modules()
if full:
    import tensorflowjs  # the previous path: the whole package
    tfjs = tensorflowjs
else:
    tfjs = import_tfjs()
keras.utils.set_random_seed(0)
base = features.base_model(features.resolve_base_weights(0.35), 0.35, 224)
model = keras.Sequential(
    [base, keras.layers.LayerNormalization(name="norm"),
     keras.layers.Dense(3, activation="softmax", name="head")],
    name="dukahub",
)
model.build((None, 224, 224, 3))
if full:
    from app.core.export import quantization_map
    qmap = quantization_map(model, "uint8")
    tfjs.converters.save_keras_model(
        model, str(out), quantization_dtype_map=qmap, weight_shard_size_bytes=1 << 30
    )
else:
    from app.core.export import write_tfjs
    write_tfjs(model, out, "uint8")
loaded = tfjs.converters.load_keras_model(str(out / "model.json"))
x = np.random.default_rng(0).uniform(-1, 1, (2, 224, 224, 3)).astype("float32")
print(json.dumps({
    "heavy": sorted(m for m in HEAVY_MODULES if sys.modules.get(m) is not None),
    "converter_modules": sorted(m for m in sys.modules if m.startswith("tensorflowjs")),
    "version": tfjs.__version__,
    "pred": np.asarray(loaded.predict_on_batch(x)).tolist(),
}))
"""
)


def _export(kind: str, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT), kind, str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-4000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def narrow(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("narrow") / "model"
    return out, _export("narrow", out)


def test_export_imports_no_heavy_package(narrow) -> None:
    out, report = narrow
    assert report["heavy"] == []
    mods = report["converter_modules"]
    assert "tensorflowjs.converters.keras_h5_conversion" in mods
    for never in ("converter", "tf_saved_model_conversion_v2", "jax_conversion"):
        assert f"tensorflowjs.converters.{never}" not in mods
    assert report["version"] == "4.22.0"
    assert sorted(p.name for p in out.iterdir()) == ["model.json", "weights.bin"]
    assert json.loads((out / "model.json").read_text())["format"] == "layers-model"


@pytest.mark.slow
def test_same_files_as_the_full_converter(narrow, tmp_path: Path) -> None:
    """Same topology JSON, same manifest, same weight bytes as `import tensorflowjs` gave."""
    probe = subprocess.run(
        [sys.executable, "-c", "import tensorflowjs"], capture_output=True, text=True, timeout=300
    )
    if probe.returncode != 0:  # the developer's install has it (pyproject): CI fails
        why = f"the full converter package does not import here: {probe.stderr[-300:]}"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(why)
        pytest.skip(why)
    out, report = narrow
    full_out = tmp_path / "full"
    full = _export("full", full_out)
    ours = json.loads((out / "model.json").read_text())
    theirs = json.loads((full_out / "model.json").read_text())
    assert json.dumps(ours["modelTopology"], sort_keys=True) == json.dumps(
        theirs["modelTopology"], sort_keys=True
    )
    for group in theirs["weightsManifest"]:  # the app renames the single shard
        group["paths"] = ["weights.bin"]
    assert ours["weightsManifest"] == theirs["weightsManifest"]
    assert {k: v for k, v in ours.items() if k not in ("modelTopology", "weightsManifest")} == {
        k: v for k, v in theirs.items() if k not in ("modelTopology", "weightsManifest")
    }
    (shard,) = full_out.glob("*.bin")
    digest = hashlib.sha256((out / "weights.bin").read_bytes()).hexdigest()
    assert digest == hashlib.sha256(shard.read_bytes()).hexdigest()
    assert report["pred"] == full["pred"]
