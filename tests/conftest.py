"""Shared fixtures: every test runs with the app's home folder in a temp dir."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PRETRAINED = (
    SHARED / "pretrained" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"
)
GROCERY = SHARED / "datasets" / "grocery-fruit-veg"
TM_EXPORT = SHARED / "reference" / "teachable-machine-export"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("VENDURE_DISABLE_TELEMETRY", "true")

from vendure_server.fixtures import vendure  # noqa: E402,F401  (real Vendure, issue 3)


def need(path: Path, what: str) -> Path:
    """Shared data is required in CI; locally its absence skips with a clear reason."""
    if not path.exists():
        msg = f"{what} not found at {path} (see ../shared/README.md)"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("DUKAHUB_TRAINER_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def base_weights() -> Path:
    return need(PRETRAINED, "Pretrained MobileNetV2 weights")


@pytest.fixture(scope="session")
def grocery() -> Path:
    return need(GROCERY, "Grocery dataset")


@pytest.fixture(scope="session")
def tm_export() -> Path:
    return need(TM_EXPORT, "Teachable Machine reference export")
