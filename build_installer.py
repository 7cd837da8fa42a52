#!/usr/bin/env python3
"""Build the desktop bundle a shop owner installs: one download, no Python needed.

    python3 build_installer.py            # -> dist/DukahubTrainer/ + the platform artefact

1. checks this Python and the platform's tools (one line and exit 1 if one is missing);
2. makes its own virtual environment, build/venv, and installs exactly what the
   bundle needs (packaging/requirements-*.txt: tensorflow-cpu, PySide6 Essentials +
   Addons, the TF.js converter without its heavy dependencies, PyInstaller) and the
   app itself — so what ships is decided here, not by the developer's venv;
3. runs PyInstaller (packaging/pyinstaller/dukahub-trainer.spec) into a one-folder
   bundle, dist/DukahubTrainer/ (one folder, not one file: no unpacking at start-up);
4. packs the platform artefact:
   Linux   dist/DukahubTrainer-<version>-linux-x86_64.tar.gz (+ install-desktop-entry.sh)
   macOS   dist/DukahubTrainer-<version>-macos-<arch>.dmg holding DukahubTrainer.app
   Windows dist/DukahubTrainer-<version>-windows-x86_64-setup.exe (Inno Setup 6)

build/build-report.json records the step times and sizes (bench/bundle.py reads it).
Only stdlib here: it runs before any venv exists.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent
BUILD = REPO / "build"
DIST = REPO / "dist"
VENV = BUILD / "venv"
PACKAGING = REPO / "packaging"
SPEC = PACKAGING / "pyinstaller" / "dukahub-trainer.spec"
REQUIREMENTS = PACKAGING / "requirements-bundle.txt"
NO_DEPS = PACKAGING / "requirements-nodeps.txt"
NAME = "DukahubTrainer"
EXE_NAME = "dukahub-trainer"
SUPPORTED = ((3, 10), (3, 12))  # TensorFlow 2.19 wheels exist for 3.9-3.12; the app needs 3.10+
MIN_FREE_GB = 7  # build venv 2.1 GB, work 0.5, bundle 1.2, archive 0.35, smoke-test copy 1.2
# Libraries Qt's xcb plugin links that fresh desktops often lack ("Could not load the Qt
# platform plugin xcb"): the bundle carries them, so the build machine must have them.
XCB_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libX11-xcb.so.1": "libx11-xcb1",
}


class BuildError(Exception):
    """A step failed; its message is the one line the user sees."""


def version() -> str:
    """The app's version, from its one place: app/__init__.py (pyproject reads it too)."""
    text = (REPO / "app" / "__init__.py").read_text(encoding="utf-8")
    m = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.M)
    if not m:
        raise BuildError("app/__init__.py has no __version__ = '...' line")
    return m.group(1)


def platform_tag() -> str:
    machine = {"amd64": "x86_64", "x64": "x86_64", "aarch64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower()
    )
    system = {"linux": "linux", "darwin": "macos", "win32": "windows"}.get(sys.platform)
    if system is None:
        raise BuildError(f"no installer for this system ({sys.platform}); Linux, macOS, Windows")
    return f"{system}-{machine}"


def inno_setup_compiler() -> str | None:
    found = shutil.which("iscc") or shutil.which("ISCC")
    if found:
        return found
    for base in (os.environ.get("PROGRAMFILES(X86)"), os.environ.get("PROGRAMFILES")):
        if base and (Path(base) / "Inno Setup 6" / "ISCC.exe").is_file():
            return str(Path(base) / "Inno Setup 6" / "ISCC.exe")
    return None


def check_prerequisites() -> None:
    """Everything the build needs before it starts, each missing piece as one line."""
    v = sys.version_info[:2]
    if not SUPPORTED[0] <= v <= SUPPORTED[1]:
        lo, hi = (".".join(map(str, x)) for x in SUPPORTED)
        raise BuildError(
            f"needs Python {lo}-{hi} (this is {platform.python_version()}): install "
            f"python3.11 and run: python3.11 build_installer.py"
        )
    try:
        import ensurepip  # noqa: F401
        import venv  # noqa: F401
    except ImportError:
        raise BuildError(
            "Python's venv module is missing: install it (Debian/Ubuntu: "
            f"sudo apt-get install python{v[0]}.{v[1]}-venv)"
        ) from None
    if sys.platform.startswith("linux"):
        if not shutil.which("ldd"):
            raise BuildError("ldd is missing (PyInstaller needs it): install libc-bin")
        if not shutil.which("objdump"):
            raise BuildError("objdump is missing (PyInstaller needs it): install binutils")
    elif sys.platform == "darwin":
        if not shutil.which("hdiutil"):
            raise BuildError("hdiutil is missing: build the .dmg on macOS with its system tools")
    elif sys.platform == "win32" and inno_setup_compiler() is None:
        raise BuildError("Inno Setup 6 is missing: install it (choco install innosetup)")
    free = shutil.disk_usage(REPO).free / 1e9
    if free < MIN_FREE_GB:
        raise BuildError(f"needs {MIN_FREE_GB} GB free disk space beside the repo ({free:.1f} GB)")


def run(cmd: list[str], what: str, **kw) -> None:
    print(f"--- {what}", flush=True)
    proc = subprocess.run(cmd, **kw)
    if proc.returncode != 0:
        raise BuildError(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}")


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def requirements_stamp() -> str:
    h = hashlib.sha256(platform.python_version().encode())
    for f in (REQUIREMENTS, NO_DEPS):
        h.update(f.read_bytes())
    return h.hexdigest()


def make_venv(fresh: bool) -> None:
    """build/venv with exactly the bundle's packages; reused only if made from the same lists."""
    stamp_file = VENV / "dukahub-build-stamp"
    stamp = requirements_stamp()
    if not fresh and stamp_file.is_file() and stamp_file.read_text() == stamp:
        print(f"--- reusing {VENV} (same requirement lists; --fresh rebuilds it)")
    else:
        shutil.rmtree(VENV, ignore_errors=True)
        run([sys.executable, "-m", "venv", str(VENV)], "creating the build venv")
        py = str(venv_python())
        pip = [py, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        run([*pip, "-r", str(REQUIREMENTS)], "installing the bundle's packages")
        run([*pip, "--no-deps", "-r", str(NO_DEPS)], "installing tf-keras and the converter")
        stamp_file.write_text(stamp)
    py = str(venv_python())
    # The app itself as a regular (non-editable) install: the bundle gets its own copy.
    run(
        [py, "-m", "pip", "install", "--disable-pip-version-check", "-q", "--no-deps"]
        + ["--force-reinstall", str(REPO)],
        "installing the app into the build venv",
    )


def check_qt_xcb_libraries() -> None:
    """Linux: every library of Qt's xcb plugin must resolve here, so the bundle carries it."""
    if not sys.platform.startswith("linux"):
        return
    plugins = sorted(VENV.glob("lib/python*/site-packages/PySide6/Qt/plugins/platforms/libqxcb.so"))
    if not plugins:
        raise BuildError("PySide6's xcb platform plugin is missing from build/venv (--fresh)")
    out = subprocess.run(["ldd", str(plugins[0])], capture_output=True, text=True).stdout
    missing = sorted({ln.split()[0] for ln in out.splitlines() if "not found" in ln})
    if missing:
        pkgs = " ".join(sorted(XCB_PACKAGES.get(m, m) for m in missing))
        raise BuildError(
            "Qt's xcb plugin needs libraries this machine lacks (the bundle carries them for "
            f"owners' desktops): sudo apt-get install {pkgs}"
        )


def pyinstaller() -> Path:
    out = DIST / NAME
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(DIST / f"{NAME}.app", ignore_errors=True)
    env = {**os.environ, "DUKAHUB_TRAINER_VERSION": version(), "PYTHONNOUSERSITE": "1"}
    run(
        [str(venv_python()), "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN"]
        + ["--distpath", str(DIST), "--workpath", str(BUILD / "pyinstaller"), str(SPEC)],
        "PyInstaller: one-folder bundle",
        env=env,
    )
    exe = out / (f"{EXE_NAME}.exe" if os.name == "nt" else EXE_NAME)
    if not exe.is_file():
        raise BuildError(f"PyInstaller did not produce {exe}")
    return out


def _tar_filter(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def linux_artefact(folder: Path, tag: str) -> Path:
    script = folder / "install-desktop-entry.sh"
    shutil.copy2(PACKAGING / "linux" / "install-desktop-entry.sh", script)
    script.chmod(0o755)
    archive = DIST / f"{NAME}-{version()}-{tag}.tar.gz"
    print(f"--- packing {archive.name}", flush=True)
    partial = archive.with_name(archive.name + ".part")  # never a cut-short file by its name
    with tarfile.open(partial, "w:gz", compresslevel=6) as tar:
        tar.add(folder, arcname=NAME, recursive=False, filter=_tar_filter)
        # the executable first: a disk that fills while unpacking then cuts the libraries
        # short (the app fails, saying so), not the executable, whose empty file ran as
        # an empty script that said nothing and exited 0
        for item in sorted(folder.iterdir(), key=lambda p: (p.name != EXE_NAME, p.name)):
            tar.add(item, arcname=f"{NAME}/{item.name}", filter=_tar_filter)
    os.replace(partial, archive)
    return archive


def macos_artefact(tag: str) -> Path:
    app = DIST / f"{NAME}.app"
    if not app.is_dir():
        raise BuildError(f"PyInstaller did not produce {app}")
    dmg = DIST / f"{NAME}-{version()}-{tag}.dmg"
    dmg.unlink(missing_ok=True)
    run(
        ["hdiutil", "create", "-volname", "Dukahub Model Trainer", "-srcfolder", str(app)]
        + ["-ov", "-format", "UDZO", str(dmg)],
        "making the .dmg",
    )
    return dmg


def windows_artefact(folder: Path, tag: str) -> Path:
    iscc = inno_setup_compiler()
    assert iscc is not None  # checked first
    run(
        [iscc, f"/DAppVersion={version()}", f"/DSourceDir={folder}", f"/DOutputDir={DIST}"]
        + [f"/DOutputName={NAME}-{version()}-{tag}-setup"]
        + [str(PACKAGING / "windows" / "dukahub-trainer.iss")],
        "Inno Setup: the installer",
    )
    return DIST / f"{NAME}-{version()}-{tag}-setup.exe"


def folder_size(p: Path) -> int:
    return sum(f.lstat().st_size for f in p.rglob("*") if f.is_file() and not f.is_symlink())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fresh", action="store_true", help="remake build/venv from scratch")
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    times: dict[str, float] = {}
    try:
        check_prerequisites()
        tag = platform_tag()
        BUILD.mkdir(exist_ok=True)
        DIST.mkdir(exist_ok=True)
        t = time.monotonic()
        make_venv(args.fresh)
        check_qt_xcb_libraries()
        times["venv_s"] = time.monotonic() - t
        t = time.monotonic()
        folder = pyinstaller()
        times["pyinstaller_s"] = time.monotonic() - t
        t = time.monotonic()
        if tag.startswith("linux"):
            artefact = linux_artefact(folder, tag)
        elif tag.startswith("macos"):
            artefact = macos_artefact(tag)
        else:
            artefact = windows_artefact(folder, tag)
        times["artefact_s"] = time.monotonic() - t
    except BuildError as exc:
        print(f"build_installer.py: {exc}", file=sys.stderr)
        return 1
    total = time.monotonic() - t0
    report = {
        "version": version(),
        "platform": tag,
        "folder": str(folder),
        "artefact": str(artefact),
        "artefact_bytes": artefact.stat().st_size,
        "folder_bytes": folder_size(folder),
        "seconds": {**{k: round(v, 1) for k, v in times.items()}, "total_s": round(total, 1)},
    }
    (BUILD / "build-report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(
        f"Built {artefact} ({report['artefact_bytes'] / 1e6:.0f} MB; folder "
        f"{report['folder_bytes'] / 1e6:.0f} MB) in {total / 60:.1f} min"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
