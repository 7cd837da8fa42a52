"""The Linux bundle's ``install-desktop-entry.sh``, run as the README says, on a copy of
the bundle's layout (the script, an executable, ``_internal/resources``)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "packaging" / "linux" / "install-desktop-entry.sh"


def bundle(root: Path) -> Path:
    folder = root / "Programu ü $x" / "DukahubTrainer"
    res = folder / "_internal" / "resources"
    shutil.copytree(REPO / "resources" / "icons", res / "icons")
    shutil.copytree(REPO / "resources" / "linux", res / "linux")
    shutil.copy2(SCRIPT, folder / SCRIPT.name)
    exe = folder / "dukahub-trainer"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return folder


def run(folder: Path, data: Path, *args: str, cwd: Path, **env: str):
    return subprocess.run(
        ["sh", f"{folder.name}/install-desktop-entry.sh", *args],
        cwd=cwd,
        env={
            "PATH": os.environ["PATH"],
            "HOME": str(data.parent),
            "XDG_DATA_HOME": str(data),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_entry_is_added_with_cdpath_set_and_removed_again(tmp_path: Path) -> None:
    """With CDPATH set (README's step 4 from the folder above), the script found its own
    folder twice over and failed: "dukahub-trainer not found beside this script"."""
    folder = bundle(tmp_path)
    data = tmp_path / "home" / "share"
    done = run(folder, data, cwd=folder.parent, CDPATH=f".:{tmp_path}")
    assert done.returncode == 0, done.stderr
    entry = (data / "applications" / "com.dukahub.Trainer.desktop").read_text()
    assert f'Exec="{folder}/dukahub-trainer"'.replace("$", "\\\\$") in entry
    assert f"TryExec={folder}/dukahub-trainer" in entry  # hidden once the folder is gone
    icons = sorted(p.name for p in (data / "icons" / "hicolor").rglob("*.png"))
    assert icons == ["dukahub-trainer.png"] * 8
    assert not [p for p in data.rglob(".dukahub-trainer.*")]  # no temp file left
    removed = run(folder, data, "--remove", cwd=folder.parent)
    assert removed.returncode == 0, removed.stderr
    assert not list(data.rglob("*.desktop")) and not list(data.rglob("*.png"))


def test_two_runs_at_once_both_succeed(tmp_path: Path) -> None:
    """A fixed ``.desktop.tmp`` name made one of two runs at once fail (12 of 20 rounds)."""
    folder = bundle(tmp_path)
    data = tmp_path / "home" / "share"
    env = {"PATH": os.environ["PATH"], "HOME": str(data.parent), "XDG_DATA_HOME": str(data)}
    for _ in range(5):
        procs = [
            subprocess.Popen(
                ["sh", str(folder / "install-desktop-entry.sh")],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        for p in procs:
            _, err = p.communicate(timeout=60)
            assert p.returncode == 0, err
    assert (data / "applications" / "com.dukahub.Trainer.desktop").is_file()
