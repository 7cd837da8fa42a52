"""The window and About box carry the app icon; the app can report its first painted window."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from app import __version__
from app.gui.main import EXIT_AFTER_FIRST_PAINT_ENV
from app.gui.window import APP_VERSION, app_icon

REPO = Path(__file__).resolve().parents[2]


def test_window_icon_comes_from_resources(qtbot, window) -> None:
    icon = window.windowIcon()
    assert not icon.isNull()
    sizes = {s.width() for s in icon.availableSizes()}
    assert {16, 32, 48, 256} <= sizes
    assert app_icon().availableSizes() == icon.availableSizes()
    assert __version__ == APP_VERSION  # About box shows the one version


def test_exit_after_first_paint_reports_the_window(tmp_path: Path) -> None:
    env = {
        **os.environ,
        EXIT_AFTER_FIRST_PAINT_ENV: "1",
        "DUKAHUB_TRAINER_HOME": str(tmp_path),
        "QT_QPA_PLATFORM": "offscreen",
    }
    t0 = time.time()
    r = subprocess.run(
        [sys.executable, "-m", "app"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    (line,) = [x for x in r.stdout.splitlines() if x.startswith("FIRST_WINDOW ")]
    _, stamp, title = line.split(" ", 2)
    assert t0 < float(stamp) < time.time() and title.startswith("Dukahub Model Trainer")


def test_no_warm_up_after_the_window_was_shut_down(qtbot, window) -> None:
    """Closing the window before after_first_paint's timer fires must not start TensorFlow
    in a thread that outlives the window (Qt aborts: "QThread: Destroyed while running")."""
    window.shutdown()
    window.after_first_paint()
    assert window.runner.running() == []
