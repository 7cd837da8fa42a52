"""Run exported models through the POS's real runtime: TF.js 4.22 (wasm) in Node.

Why: the point-of-sale app loads our files with TensorFlow.js and Teachable
Machine's loader, not with Python. Only running that code proves an export is
usable; Python-side checks alone cannot catch topology/manifest/weight-format
drift. The Node scripts live in ``tests/tfjs`` (pinned by its package-lock).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pytest
from PIL import Image, ImageOps

TFJS_DIR = Path(__file__).resolve().parent / "tfjs"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# Generous: the first wasm compile plus a batch of 224² images takes ~1-3 s here.
NODE_TIMEOUT_S = 180
NPM_TIMEOUT_S = 600


def _unavailable(reason: str) -> NoReturn:
    """Missing Node tooling is a failure in CI (the proof must run) but a skip locally."""
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


def _installed_matches_pins() -> bool:
    """node_modules counts only if each pinned dependency is installed at its pinned version."""
    pins = json.loads((TFJS_DIR / "package.json").read_text())["dependencies"]
    for name, version in pins.items():
        manifest = TFJS_DIR / "node_modules" / name / "package.json"
        if not manifest.exists() or json.loads(manifest.read_text()).get("version") != version:
            return False
    return True


def ensure_node_modules() -> Path:
    """Install tests/tfjs's locked npm packages once (``npm ci``); return that folder."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        _unavailable("node/npm not found on PATH: needed for the TF.js compatibility tests")
    if _installed_matches_pins():
        return TFJS_DIR
    try:
        proc = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=TFJS_DIR,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        _unavailable(f"npm ci in {TFJS_DIR} timed out after {NPM_TIMEOUT_S} s")
    if proc.returncode != 0 or not _installed_matches_pins():
        _unavailable(f"npm ci in {TFJS_DIR} failed (rc={proc.returncode}):\n{proc.stderr[-2000:]}")
    return TFJS_DIR


def _run_node(script: str, model_dir: Path, batch: np.ndarray) -> dict[str, Any]:
    """Write ``batch`` as raw little-endian float32 and run a tests/tfjs script on it."""
    ensure_node_modules()
    batch = np.ascontiguousarray(batch, dtype="<f4")
    if batch.ndim != 4 or batch.shape[1] != batch.shape[2] or batch.shape[3] != 3:
        raise ValueError(f"batch must be [N, S, S, 3], got {batch.shape}")
    n, size = batch.shape[0], batch.shape[1]
    with tempfile.TemporaryDirectory(prefix="tfjs-in-") as tmp:
        raw = Path(tmp) / "batch.f32"
        batch.tofile(raw)
        t0 = time.perf_counter()
        proc = subprocess.run(
            [
                shutil.which("node") or "node",
                script,
                str(Path(model_dir).resolve()),
                str(raw),
                str(n),
                str(size),
            ],
            cwd=TFJS_DIR,
            capture_output=True,
            text=True,
            timeout=NODE_TIMEOUT_S,
        )
        wall = time.perf_counter() - t0
    if proc.returncode != 0:
        # A model TF.js cannot load is exactly what these tests exist to catch: fail loudly.
        raise AssertionError(
            f"node {script} failed on {model_dir} (rc={proc.returncode}):\n{proc.stderr[-4000:]}"
        )
    out = json.loads(proc.stdout)
    out["wall_s"] = wall
    return out


def tfjs_run(model_dir: Path, batch: np.ndarray) -> dict[str, Any]:
    """Full output of predict.mjs: backend, predictions, in-process predict time (ms)."""
    out = _run_node("predict.mjs", model_dir, batch)
    assert out["backend"] == "wasm", out["backend"]
    return out


def tfjs_predict(model_dir: Path, batch: np.ndarray) -> np.ndarray:
    """Probabilities [N, classes] from TF.js 4.22 (wasm) for a preprocessed float batch."""
    return np.asarray(tfjs_run(model_dir, batch)["predictions"], dtype=np.float64)


def tm_load(model_dir: Path, batch: np.ndarray) -> dict[str, Any]:
    """Load via Teachable Machine's ``tmImage.load`` over loopback HTTP; see tm_load.mjs.

    Returns labels, totalClasses, metadata, requests (files fetched), predictions
    (its model on ``batch``) and pipelinePredictions (TM's own ``predict(image)``).
    """
    out = _run_node("tm_load.mjs", model_dir, batch)
    out["predictions"] = np.asarray(out["predictions"], dtype=np.float64)
    out["pipelinePredictions"] = np.asarray(out["pipelinePredictions"], dtype=np.float64)
    return out


def tm_preprocess(path: Path, size: int = 224) -> np.ndarray:
    """Teachable Machine's input contract, independent of app code (utils/canvas.ts cropTo).

    Shorter side scaled to ``size`` (ceil of the scaled sides), centre crop at
    ``floor(d / 2)``, RGB uint8 pixels, then ``x / 127 - 1`` in float32.
    """
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
        w, h = im.size
        scale = size / min(w, h)
        sw, sh = int(np.ceil(w * scale)), int(np.ceil(h * scale))
        im = im.resize((sw, sh), Image.Resampling.BILINEAR)
        left, top = (sw - size) // 2, (sh - size) // 2
        pixels = np.asarray(im.crop((left, top, left + size, top + size)), dtype=np.uint8)
    return pixels.astype(np.float32) / np.float32(127) - np.float32(1)
