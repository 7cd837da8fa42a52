"""Benchmark: the Test screen recognising a camera for minutes, memory sampled as it goes.

The real Test screen (``RecogniseScreen``) with the Teachable Machine reference model, fed
640×480 frames of the shared grocery photos by a stand-in camera at 60 frames a second;
every ``--every`` seconds: recognitions so far, the process's resident memory (from the
OS) and the objects Python's garbage collector tracks. Flat is right; a line that climbs
with the recognitions is a leak (before the one inference thread, 0.6 KB and two objects
a picture: ``app.core.modelfiles.on_inference_thread``).

    QT_QPA_PLATFORM=offscreen python bench/long_session.py --minutes 3   # 3 minutes
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from bench.benchmark import DATASET, SHARED  # noqa: E402

TM_EXPORT = SHARED / "reference" / "teachable-machine-export"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def frames() -> list[np.ndarray]:
    from PIL import Image

    photos = sorted((DATASET / "test" / "Fruit").rglob("*.jpg"))[:12]
    return [np.asarray(Image.open(p).convert("RGB").resize((640, 480))) for p in photos]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--every", type=float, default=30.0, help="seconds between samples")
    args = ap.parse_args()
    from camera_standins import ArraySource
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from app.gui.screens.recognise.screen import RecogniseScreen
    from app.gui.tasks import TaskRunner

    app = QApplication.instance() or QApplication([])

    def wait(seconds: float) -> None:
        loop = QEventLoop()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    runner = TaskRunner()
    screen = RecogniseScreen(runner)
    screen.resize(1000, 640)
    screen.show()
    loaded = [False]
    screen.model_loaded.connect(lambda *_: loaded.__setitem__(0, True))
    screen.set_model_dir(TM_EXPORT)
    while not loaded[0]:
        wait(0.2)
    seen = [0]
    screen.predicted.connect(lambda _p: seen.__setitem__(0, seen[0] + 1))
    screen.use_source(ArraySource(frames(), fps=60))
    wait(10)  # warm: the first allocations are made once
    print("| minute | recognitions | resident memory (MB) | objects tracked |")
    print("|---:|---:|---:|---:|")
    start, end = time.monotonic(), time.monotonic() + args.minutes * 60
    while True:
        gc.collect()
        minute = (time.monotonic() - start) / 60
        print(f"| {minute:.1f} | {seen[0]:,} | {rss_mb():.1f} | {len(gc.get_objects()):,} |")
        sys.stdout.flush()
        if time.monotonic() >= end:
            break
        wait(min(args.every, max(0.1, end - time.monotonic())))
    screen.shutdown()
    runner.shutdown(timeout_s=30)
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
