"""What every run sets up before its work."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from app.core.flows.command import outside_environment


def test_programs_the_bundle_starts_get_the_owners_library_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The file manager of "Open log folder" inherited LD_LIBRARY_PATH=<bundle>/_internal
    and loaded the bundle's libgio, libglib, libstdc++ instead of its own."""
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    env = {"LD_LIBRARY_PATH": "/opt/D/_internal", "LD_LIBRARY_PATH_ORIG": "/usr/local/lib"}
    outside_environment(env)
    assert env["LD_LIBRARY_PATH"] == "/usr/local/lib"
    env = {"LD_LIBRARY_PATH": "/opt/D/_internal"}  # the owner had none
    outside_environment(env)
    assert "LD_LIBRARY_PATH" not in env
    monkeypatch.setattr(sys, "frozen", False)  # run from source: the owner's own path
    env = {"LD_LIBRARY_PATH": "/home/o/lib"}
    outside_environment(env)
    assert env == {"LD_LIBRARY_PATH": "/home/o/lib"}


def test_what_a_killed_run_half_wrote_is_swept_and_a_write_in_progress_is_not() -> None:
    """An audit of the app killed mid-work: half-written copies of added photos,
    ``selection.json``, counter frames and ``settings.json`` (hidden by their names)
    piled up for ever; only the image cache was swept."""
    import os
    import time

    from app.core import paths
    from app.core.flows.command import sweep_killed_writes

    photo = paths.data_dir() / "channels" / "local" / "shop" / "added" / "Kiwi-1a2b"
    photo.mkdir(parents=True)
    stale = [
        photo / ".kiwi-3.jpg.7n8z6120.tmp",
        paths.config_dir() / ".settings.json.q1w2e3.tmp",
    ]
    fresh = photo / ".kiwi-4.jpg.x9y8z7.tmp"  # another process writes it now
    kept = photo / "kiwi-1.jpg"
    hour_ago = time.time() - 3700
    for p in (*stale, fresh, kept):
        p.write_bytes(b"x")
    for p in (*stale, kept):
        os.utime(p, (hour_ago, hour_ago))
    assert sweep_killed_writes() == 2
    assert [p.exists() for p in stale] == [False, False] and fresh.exists() and kept.exists()


def test_the_app_keeps_library_temp_files_in_its_own_cache(tmp_path) -> None:
    """The same audit: a killed app left TensorFlow's autograph files in the system's
    temp folder, where nothing removed them; the command line already kept its own."""
    import os
    import subprocess

    home = tmp_path / "home"
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import tempfile; from app.core.flows.command import start_app; start_app(); "
            "print(tempfile.gettempdir())",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DUKAHUB_TRAINER_HOME": str(home)},
        cwd=Path(__file__).resolve().parents[3],
    )
    assert out.returncode == 0, out.stderr
    assert os.path.dirname(out.stdout.strip()) == str(home / "cache" / "tmp")


def test_the_sweep_never_fails_where_an_app_folder_cannot_be_used(monkeypatch, tmp_path) -> None:
    """It runs beside the window at every start: with ``config`` a file, it printed a
    traceback ("Exception in thread sweep") next to the app's own "cannot start"."""
    from app.core import paths
    from app.core.flows.command import sweep_killed_writes

    home = tmp_path / "home"
    home.mkdir()
    (home / "config").write_text("a file, not a folder")
    monkeypatch.setenv(paths.HOME_ENV, str(home))
    assert sweep_killed_writes() == 0


def test_the_sweep_walks_each_folder_once_where_settings_and_data_are_one(
    monkeypatch, tmp_path
) -> None:
    """On Windows and macOS the settings and data folders are one (platformdirs) and the
    caches and logs sit inside it on Windows: the sweep at every start walked it twice,
    the whole image cache included (a portability audit). The caches sweep their own."""
    import os
    import time

    from app.core import paths
    from app.core.flows.command import sweep_killed_writes

    local = tmp_path / "AppData" / "Local" / "Dukahub" / "DukahubTrainer"
    for name, folder in {
        "config_dir": local,
        "data_dir": local,
        "cache_dir": local / "Cache",
        "log_dir": local / "Logs",
    }.items():
        folder.mkdir(parents=True, exist_ok=True)
        monkeypatch.setattr(paths, name, lambda folder=folder: folder)
    stale = [local / ".settings.json.q1w2e3.tmp", local / "Cache" / "images" / ".a.jpg.x1.tmp"]
    stale[1].parent.mkdir(parents=True)
    hour_ago = time.time() - 3700
    for p in stale:
        p.write_bytes(b"x")
        os.utime(p, (hour_ago, hour_ago))
    assert paths.owner_folders() == [local]
    assert sweep_killed_writes() == 1
    assert not stale[0].exists() and stale[1].exists()  # the image cache's own sweep's
