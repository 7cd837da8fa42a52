"""The desktop bundle's recipe keeps up with the app: its dependencies, the version, bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app import __version__

tomllib = pytest.importorskip("tomllib")  # Python 3.11+ (CI and the bundle use 3.11)

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
# pyproject dependency -> what the bundle installs instead, or why it stays out
REPLACED = {
    "pyside6-addons": "pyside6-addons",
}  # and tensorflow: tensorflow-cpu, same version line, no CUDA kernels (below)
LEFT_OUT = {
    # only the converter's TF-DF path (tf_saved_model_conversion_v2) needs it; the app's
    # narrow Keras path does not (tests/core/test_tf_runtime.py proves it)
    "ydf",
}


# the installers workflow's three machines, as pip's environment markers see them
PLATFORMS = {
    "linux": {"sys_platform": "linux", "platform_machine": "x86_64"},
    "windows": {"sys_platform": "win32", "platform_machine": "AMD64"},
    "mac": {"sys_platform": "darwin", "platform_machine": "arm64"},
}


def _names(lines: list[str], platform: dict[str, str] | None = None) -> set[str]:
    """The requirements that apply on ``platform`` (all of them without one)."""
    from packaging.requirements import Requirement

    out = set()
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        if platform is None or req.marker is None or req.marker.evaluate(platform):
            out.add(req.name.lower().replace("_", "-"))
    return out


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_every_runtime_dependency_is_in_the_bundle(platform: str) -> None:
    """A dependency added to pyproject but not to the bundle would fail only in the bundle.
    On each of the workflow's machines: tensorflow-cpu has no macOS wheel, so the Mac
    build stopped at its first step (a portability audit)."""
    env = PLATFORMS[platform]
    deps = _names(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"])
    bundle = _names((PACKAGING / "requirements-bundle.txt").read_text().splitlines(), env)
    bundle |= _names((PACKAGING / "requirements-nodeps.txt").read_text().splitlines(), env)
    cpu = "tensorflow" if platform == "mac" else "tensorflow-cpu"  # a Mac's is CPU-only
    missing = {(cpu if d == "tensorflow" else REPLACED.get(d, d)) for d in deps - LEFT_OUT}
    assert not missing - bundle, f"add to packaging/requirements-bundle.txt: {sorted(missing)}"
    assert len(bundle & {"tensorflow", "tensorflow-cpu"}) == 1, bundle  # one TensorFlow
    if platform != "mac":
        assert "tensorflow" not in bundle  # the CUDA wheel must never enter the bundle


def test_version_has_one_place() -> None:
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert "version" not in meta and "version" in meta["dynamic"]
    out = subprocess.run(
        [sys.executable, "-c", "import build_installer as b; print(b.version())"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.strip() == __version__, out.stderr


def test_unsupported_python_stops_with_one_line() -> None:
    code = (
        "import sys, build_installer as b\n"
        "sys.version_info = (3, 9, 0, 'final', 0)\n"
        "sys.exit(b.main([]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs Python 3.10-3.12" in lines[0], out.stderr


def test_the_linux_archive_unpacks_its_executable_first_and_is_never_half_named(
    tmp_path: Path,
) -> None:
    """A disk that filled while unpacking left an empty executable (packed last), which
    ran as an empty script: no output, exit 0. And the archive was written under its
    final name, so a copy taken while packing looked whole."""
    code = (
        "import sys, pathlib, tarfile, build_installer as b\n"
        "root = pathlib.Path(sys.argv[1])\n"
        "b.DIST = root / 'dist'\n"
        "b.DIST.mkdir()\n"
        "folder = root / 'DukahubTrainer'\n"
        "(folder / '_internal').mkdir(parents=True)\n"
        "(folder / '_internal' / 'libx.so').write_bytes(b'x' * 1000)\n"
        "(folder / b.EXE_NAME).write_bytes(b'\\x7fELF')\n"
        "archive = b.linux_artefact(folder, 'test')\n"
        "print(sorted(p.name for p in b.DIST.iterdir()))\n"
        "print([m.name for m in tarfile.open(archive).getmembers()])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    files, members = out.stdout.strip().splitlines()[-2:]  # after "--- packing …"
    assert files == f"['DukahubTrainer-{__version__}-test.tar.gz']"  # no .part left
    assert members.startswith("['DukahubTrainer', 'DukahubTrainer/dukahub-trainer', "), members
