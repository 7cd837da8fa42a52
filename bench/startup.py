"""Start-up time: launch → first window painted, as a ratio to a bare PySide6 window.

Both are launched the same way, interleaved in the same run: a fresh Python
process running this file with ``--child bare|app``. The child swaps in a
``QApplication`` subclass that notices the first paint of a top-level window and
prints the wall-clock time once that frame has been handled, then exits at once.
The app child runs the real entry point (``python -m app``) with a fresh, empty
home folder, so it opens on the login screen as a new user would see it.

Run:  python bench/startup.py [--runs 7] [--platform xcb|offscreen]
Writes bench/results/startup.md and startup.json (gitignored) and prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
TARGET_RATIO = 5.0


# ----------------------------------------------------------------------------- child
def _install_probe() -> None:
    """Make every QApplication report the first painted window, then exit the process."""
    import PySide6.QtWidgets as qtw
    from PySide6.QtCore import QEvent, QObject, QTimer

    class Probe(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.done = False
            self.title = ""

        def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
            if (
                not self.done
                and event.type() == QEvent.Type.Paint
                and isinstance(obj, qtw.QWidget)
                and obj.isWindow()
            ):
                self.done = True
                self.title = obj.windowTitle()
                # A 0 ms timer fires after this paint (and its flush) has completed.
                QTimer.singleShot(0, self.report)
            return False

        def report(self) -> None:
            print(f"READY {time.time():.6f} {self.title}", flush=True)
            os._exit(0)

    base = qtw.QApplication

    class ProbeApplication(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: object) -> None:
            super().__init__(*args)
            self._probe = Probe()
            self.installEventFilter(self._probe)

    qtw.QApplication = ProbeApplication  # the app's make_app() imports it at call time


def _child(kind: str) -> None:
    _install_probe()
    if kind == "bare":
        from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

        app = QApplication(sys.argv)
        w = QMainWindow()
        w.setWindowTitle("bare")
        w.setCentralWidget(QLabel("Hello"))
        w.resize(1180, 780)
        w.show()
        sys.exit(app.exec())
    import runpy

    sys.argv = ["dukahub-trainer"]
    sys.path.insert(0, str(REPO))
    runpy.run_module("app", run_name="__main__", alter_sys=True)


# ----------------------------------------------------------------------------- parent
def use_display(env: dict[str, str], plat: str) -> subprocess.Popen | None:
    """Point ``env`` at a display for ``plat``: this session's DISPLAY, else a private
    Xvfb (returned, to terminate), else offscreen when Xvfb is missing."""
    xvfb = None
    if plat == "xcb" and os.environ.get("DISPLAY"):
        env["DISPLAY"] = os.environ["DISPLAY"]
    elif plat == "xcb":
        xvfb, display = start_xvfb()
        if display is None:
            print("Xvfb not found: measuring with QT_QPA_PLATFORM=offscreen", file=sys.stderr)
            plat = "offscreen"
        else:
            env["DISPLAY"] = display
    env["QT_QPA_PLATFORM"] = plat
    return xvfb


def start_xvfb() -> tuple[subprocess.Popen | None, str | None]:
    """A private X server for xcb runs (None when Xvfb is not installed)."""
    exe = shutil.which("Xvfb")
    if exe is None:
        return None, None
    for n in range(91, 140):
        if Path(f"/tmp/.X11-unix/X{n}").exists() or Path(f"/tmp/.X{n}-lock").exists():
            continue
        proc = subprocess.Popen(
            [exe, f":{n}", "-screen", "0", "1400x900x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            if Path(f"/tmp/.X11-unix/X{n}").exists():
                return proc, f":{n}"
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        proc.kill()
    return None, None


def launch(kind: str, env: dict[str, str], timeout: float = 120.0) -> tuple[float, str]:
    """Seconds from spawning the process to its first painted window, and that window's title."""
    t0 = time.time()
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", kind],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("READY "):
            _, stamp, *title = line.split(" ")
            return float(stamp) - t0, " ".join(title)
    raise RuntimeError(f"{kind} never showed a window (exit {proc.returncode}):\n{proc.stderr}")


def first_window(cmd: list[str], env: dict[str, str], timeout: float = 120.0) -> float:
    """Seconds from spawning ``cmd`` (the app, installed any way) to its first painted window.

    Uses the app's own report (DUKAHUB_TRAINER_EXIT_AFTER_FIRST_PAINT): works for a
    frozen bundle too, where no probe can be injected. bench/bundle.py uses it.
    """
    env = {**env, "DUKAHUB_TRAINER_EXIT_AFTER_FIRST_PAINT": "1"}
    t0 = time.time()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    for line in proc.stdout.splitlines():
        if line.startswith("FIRST_WINDOW "):
            return float(line.split(" ")[1]) - t0
    raise RuntimeError(f"{cmd[0]} never showed a window (exit {proc.returncode}):\n{proc.stderr}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--child", choices=["bare", "app"], help=argparse.SUPPRESS)
    ap.add_argument("--runs", type=int, default=7, help="measured launches of each (default 7)")
    ap.add_argument("--platform", choices=["xcb", "offscreen"], default="xcb")
    args = ap.parse_args(argv)
    if args.child:
        _child(args.child)
        return 0

    env = dict(os.environ)
    env.setdefault("QT_LOGGING_RULES", "qt.multimedia.*=false")
    xvfb = use_display(env, args.platform)
    plat = env["QT_QPA_PLATFORM"]  # offscreen when Xvfb is missing
    home = tempfile.mkdtemp(prefix="dukahub-startup-")
    env["DUKAHUB_TRAINER_HOME"] = home
    times: dict[str, list[float]] = {"bare": [], "app": []}
    titles: dict[str, str] = {}
    try:
        launch("bare", env)  # warm the file cache; not counted
        launch("app", env)
        for i in range(args.runs):
            for kind in ("bare", "app") if i % 2 == 0 else ("app", "bare"):
                seconds, title = launch(kind, env)
                times[kind].append(seconds)
                titles[kind] = title
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(5)
        shutil.rmtree(home, ignore_errors=True)

    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["app"] / med["bare"]
    cmd = f"python bench/startup.py --runs {args.runs} --platform {args.platform}"
    lines = [
        f"Start-up to first painted window ({plat}, {args.runs} runs each, interleaved; "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs)",
        "",
        "| launch | median | min | max |",
        "|---|---:|---:|---:|",
    ]
    names = {"bare": "bare PySide6 window", "app": f"`python -m app` ({titles['app']!r} window)"}
    for k in ("bare", "app"):
        v = times[k]
        lines.append(f"| {names[k]} | {med[k]:.2f} s | {min(v):.2f} s | {max(v):.2f} s |")
    verdict = "within" if ratio <= TARGET_RATIO else "OVER"
    lines += ["", f"**Ratio: {ratio:.2f}×** ({verdict} the {TARGET_RATIO:g}× target)", ""]
    lines.append(f"Repeat: `{cmd}`")
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "startup.md").write_text(text + "\n", encoding="utf-8")
    (RESULTS / "startup.json").write_text(
        json.dumps({"platform": plat, "runs": times, "median": med, "ratio": ratio}, indent=2),
        encoding="utf-8",
    )
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
