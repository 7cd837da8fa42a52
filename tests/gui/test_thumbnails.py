"""The thumbnail cache keeps to its memory on every display (an audit of long sessions:
2,000 thumbnails decoded at device pixels are about 70 MB at 100 % and would be about
290 MB at 200 %)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COUNT = """
from PySide6.QtWidgets import QApplication
app = QApplication([])
from app.gui.thumbnails import Thumbnails
t = Thumbnails()
print(t.capacity)
t.shutdown()
"""


def capacity_at(scale: str) -> int:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_SCALE_FACTOR": scale}
    out = subprocess.run(
        [sys.executable, "-c", COUNT], capture_output=True, text=True, timeout=60, env=env, cwd=REPO
    )
    assert out.returncode == 0, out.stderr
    return int(out.stdout.split()[-1])


def test_fewer_thumbnails_are_kept_where_each_has_more_pixels():
    assert capacity_at("1") == 2000
    assert capacity_at("2") == 500
