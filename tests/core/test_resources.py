"""resources/: found the same way from a checkout, a wheel install and a bundle."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from app.core import resources

REPO = Path(__file__).resolve().parents[2]
WEIGHTS = "weights/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"
WEIGHTS_SHA256 = "67ded21fbf5fc8c95bc7854a75c0448d8c1b94a760e88d2b2d3b378f7f65d23a"
SHIPPED = [
    resources.ICON,
    resources.ICON_ICO,
    "icons/dukahub-trainer.icns",
    "icons/dukahub-trainer-256.png",
    resources.DESKTOP_ENTRY,
    "linux/com.dukahub.Trainer.metainfo.xml",
    WEIGHTS,
    "weights/LICENSE",
    "weights/NOTICE",
]


def test_checkout_finds_every_shipped_file() -> None:
    for name in SHIPPED:
        assert resources.path(name) == REPO / "resources" / name
    digest = hashlib.sha256(resources.path(WEIGHTS).read_bytes()).hexdigest()
    assert digest == WEIGHTS_SHA256
    assert "Apache License" in resources.path("weights/LICENSE").read_text()


def test_the_default_input_size_has_its_shop_prior() -> None:
    """Catalogue-only shops are centred on the shop prior of the base model *and input
    size* they train at; without a file for the default size they silently lost it
    (``bench/make_shop_prior.py`` makes it)."""
    from app.core.input_size import DEFAULT_IMAGE_SIZE
    from app.core.shop_look import SHOP_PRIOR, shop_prior

    name = f"weights/{SHOP_PRIOR.format(alpha=0.35, size=DEFAULT_IMAGE_SIZE)}"
    assert resources.path(name) == REPO / "resources" / name
    prior = shop_prior(0.35, DEFAULT_IMAGE_SIZE)
    assert prior is not None and prior.shape == (1280,)


def test_missing_resource_names_the_file() -> None:
    with pytest.raises(resources.ResourceMissing) as err:
        resources.path("icons/no-such-icon.png")
    assert "resources/icons/no-such-icon.png" in str(err.value)
    assert str(REPO / "resources") in str(err.value)  # where it looked


def test_bundle_folder_comes_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a PyInstaller bundle, the bundle's own copy wins over anything on the machine."""
    (tmp_path / "resources" / "icons").mkdir(parents=True)
    (tmp_path / "resources" / resources.ICON).write_bytes(b"png")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resources.roots()[0] == tmp_path / "resources"
    assert resources.path(resources.ICON) == tmp_path / "resources" / resources.ICON
    # what the bundle lacks is still named, not silently taken from elsewhere by mistake
    assert resources.find(WEIGHTS) == REPO / "resources" / WEIGHTS


@pytest.mark.slow
def test_regular_wheel_install_carries_resources(tmp_path: Path) -> None:
    """A non-editable install finds resources/ under the environment's share/ folder."""
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q"]
        + ["-w", str(tmp_path / "wheel"), str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "wheel").glob("dukahub_trainer-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {str(p.relative_to(REPO / "resources")) for p in (REPO / "resources").rglob("*")}
    shipped = {n for n in shipped if (REPO / "resources" / n).is_file()}
    assert set(SHIPPED) <= shipped
    in_wheel = {n.split("/share/dukahub-trainer/resources/", 1)[1] for n in names if ".data/" in n}
    # a new folder under resources/ needs its line in pyproject's data-files
    assert shipped <= in_wheel, sorted(shipped - in_wheel)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    inst = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps"]
        + ["--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert inst.returncode == 0, inst.stderr
    code = f"from app.core import resources; print(resources.path({WEIGHTS!r}))"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [str(py), "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    found = Path(out.stdout.strip())
    assert found.is_relative_to(venv) and found.is_file(), found
    assert hashlib.sha256(found.read_bytes()).hexdigest() == WEIGHTS_SHA256
