"""The desktop bundle against its targets: size, start-up, build time, same predictions.

- archive size (target <= 350 MB) and unpacked size (<= 1.2 GB), with the ten biggest
  parts of the unpacked folder so the next diet knows where to cut;
- first painted window from the bundle vs from the developer venv, launched the same
  way, interleaved in the same run (<= 1.5x); reuses bench/startup.py;
- build time from build/build-report.json, written by build_installer.py (<= 15 min);
- training from the bundle vs from the venv: same photos, same seed, top-1 identical
  on held-out shared test photos (and the accuracy of both).

Run (after `python3 build_installer.py`):
    .venv/bin/python bench/bundle.py [--runs 5] [--platform offscreen|xcb]
Writes bench/results/bundle.md and bundle.json (gitignored) and prints the table.
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
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "bench"), str(REPO / "packaging")]

import smoke_test  # noqa: E402  (packaging/smoke_test.py: unpack, photos, bare runs)
from startup import first_window, use_display  # noqa: E402

RESULTS = REPO / "bench" / "results"
TARGETS = {"archive_mb": 350, "unpacked_mb": 1200, "startup_ratio": 1.5, "build_min": 15}
VENV_EXE = REPO / ".venv" / "bin" / "dukahub-trainer"


def folder_bytes(folder: Path) -> int:
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def biggest_parts(folder: Path, n: int = 10) -> list[tuple[str, int, str]]:
    """(part, bytes, its largest file): a part is a package folder or a loose file.

    Parts are the entries of ``_internal/``, and one level deeper in ``tensorflow/``,
    ``PySide6/`` and ``PySide6/Qt/``, where one entry would hide everything.
    """
    internal = folder / "_internal"
    deeper = {"tensorflow", "PySide6", "PySide6/Qt"}
    sizes: dict[str, int] = defaultdict(int)
    largest: dict[str, tuple[int, str]] = {}
    for p in internal.rglob("*"):
        if not p.is_file() or p.is_symlink():
            continue
        rel = p.relative_to(internal).parts
        depth = 1  # the first prefix not split further (a loose file is its own part)
        while depth < len(rel) and "/".join(rel[:depth]) in deeper:
            depth += 1
        part = "/".join(rel[:depth])
        size = p.lstat().st_size
        sizes[part] += size
        if size > largest.get(part, (0, ""))[0]:
            largest[part] = (size, p.name)
    top = sorted(sizes.items(), key=lambda kv: -kv[1])[:n]
    return [(part, size, largest[part][1]) for part, size in top]


def startup(bundle_exe: Path, runs: int, plat: str) -> dict[str, list[float]]:
    """Interleaved launches of the venv's and the bundle's app; first-window seconds."""
    env = {
        "PATH": "/usr/bin:/bin",
        "QT_LOGGING_RULES": "qt.multimedia.*=false",
        "LANG": os.environ.get("LANG", "C.UTF-8"),
    }
    xvfb = use_display(env, plat)
    plat = env["QT_QPA_PLATFORM"]  # offscreen when Xvfb is missing
    cmds = {"venv": [str(VENV_EXE)], "bundle": [str(bundle_exe)]}
    times: dict[str, list[float]] = {"venv": [], "bundle": []}
    homes = tempfile.mkdtemp(prefix="dukahub-bundle-start-")
    try:
        for kind in cmds:  # warm the file cache; not counted
            first_window(cmds[kind], {**env, "HOME": f"{homes}/{kind}"})
        for i in range(runs):
            for kind in ("venv", "bundle") if i % 2 == 0 else ("bundle", "venv"):
                run_env = {**env, "HOME": f"{homes}/{kind}-{i}"}
                times[kind].append(first_window(cmds[kind], run_env))
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(5)
        shutil.rmtree(homes, ignore_errors=True)
    times["platform"] = [plat]  # type: ignore[list-item]
    return times


def predictions(bundle_folder: Path, work: Path) -> dict[str, object]:
    """Train from the bundle and from the venv on the same photos and seed; compare top-1."""
    photos, tests = smoke_test.make_photos(work)
    args = ["--epochs", "8", "--seed", str(smoke_test.SEED), "--json"]
    bundle = smoke_test.Bundle(bundle_folder, work / "home bundle", [])
    bundle.run("train", str(photos), "--out", str(work / "m-bundle"), *args)
    b_top1 = smoke_test.parse_predictions(
        bundle.run("predict", str(work / "m-bundle"), *(str(p) for _, p in tests)).stdout
    )
    env = {**os.environ, "DUKAHUB_TRAINER_HOME": str(work / "home venv")}
    env.pop("DUKAHUB_TRAINER_BASE_WEIGHTS", None)
    for cmd in (
        ["train", str(photos), "--out", str(work / "m-venv"), *args],
        ["predict", str(work / "m-venv"), *(str(p) for _, p in tests)],
    ):
        proc = subprocess.run(
            [str(VENV_EXE), *cmd], capture_output=True, text=True, env=env, timeout=900
        )
        if proc.returncode != 0:
            raise RuntimeError(f"venv {cmd[0]} failed:\n{proc.stderr[-3000:]}")
    v_top1 = smoke_test.parse_predictions(proc.stdout)
    truth = {str(p): label for label, p in tests}
    return {
        "photos": len(tests),
        "identical": b_top1 == v_top1,
        "differ": sorted(k for k in truth if b_top1.get(k) != v_top1.get(k)),
        "bundle_correct": sum(b_top1[k] == truth[k] for k in truth),
        "venv_correct": sum(v_top1[k] == truth[k] for k in truth),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("archive", nargs="?", help="the .tar.gz (default: the one in dist/)")
    ap.add_argument("--runs", type=int, default=5, help="measured launches of each (default 5)")
    ap.add_argument("--platform", choices=["xcb", "offscreen"], default="offscreen")
    ap.add_argument(
        "--build-report",
        type=Path,
        default=REPO / "build" / "build-report.json",
        help="build_installer.py's report of the build that made the archive",
    )
    args = ap.parse_args(argv)
    if not VENV_EXE.exists():
        print(f"needs the developer venv's {VENV_EXE} to compare with", file=sys.stderr)
        return 1
    archive = smoke_test.find_archive(args.archive)
    build = json.loads(args.build_report.read_text()) if args.build_report.exists() else {}
    work = Path(tempfile.mkdtemp(prefix="dukahub-bundle-bench-"))
    try:
        folder = smoke_test.unpack(archive, work / "unpacked")
        unpacked = folder_bytes(folder)
        parts = biggest_parts(folder)
        times = startup(folder / smoke_test.EXE, args.runs, args.platform)
        same = predictions(folder, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    plat = times.pop("platform")[0]
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["bundle"] / med["venv"]
    build_min = build.get("seconds", {}).get("total_s", float("nan")) / 60
    figures = {
        "archive_mb": archive.stat().st_size / 1e6,
        "unpacked_mb": unpacked / 1e6,
        "startup_ratio": ratio,
        "build_min": build_min,
    }
    ok = {k: figures[k] <= TARGETS[k] for k in TARGETS} | {"predictions": same["identical"]}

    secs = build.get("seconds", {})
    steps = ", ".join(f"{k[:-2]} {v:.0f} s" for k, v in secs.items() if k != "total_s")

    def mark(key: str) -> str:
        return "within" if ok[key] else "**OVER**"

    lines = [
        f"Desktop bundle {archive.name} ({platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} CPUs)",
        "",
        "| measure | value | target |",
        "|---|---:|---|",
        f"| archive | {figures['archive_mb']:.0f} MB | ≤ 350 MB, {mark('archive_mb')} |",
        f"| unpacked | {figures['unpacked_mb']:.0f} MB | ≤ 1200 MB, {mark('unpacked_mb')} |",
        f"| first window, venv (median of {args.runs}, {plat}) | {med['venv']:.2f} s | |",
        f"| first window, bundle (median of {args.runs}, {plat}) | {med['bundle']:.2f} s | |",
        f"| bundle / venv | {ratio:.2f}× | ≤ 1.5×, {mark('startup_ratio')} |",
        f"| build (`build_installer.py`: {steps}) | {build_min:.1f} min "
        f"| ≤ 15 min, {mark('build_min')} |",
        f"| top-1 bundle vs venv, {same['photos']} held-out photos, seed {smoke_test.SEED} "
        f"| {'identical' if same['identical'] else 'DIFFER: ' + ', '.join(same['differ'])} "
        f"| identical |",
        f"| correct (bundle / venv) | {same['bundle_correct']} / {same['venv_correct']} "
        f"of {same['photos']} | |",
        "",
        "Ten biggest parts of the unpacked folder (`_internal/…`):",
        "",
        "| part | MB | largest file |",
        "|---|---:|---|",
    ]
    lines += [f"| {part} | {size / 1e6:.0f} | {name} |" for part, size, name in parts]
    lines += ["", f"Repeat: `.venv/bin/python bench/bundle.py --runs {args.runs}`"]
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bundle.md").write_text(text + "\n", encoding="utf-8")
    (RESULTS / "bundle.json").write_text(
        json.dumps(
            {
                "figures": figures,
                "targets": TARGETS,
                "ok": ok,
                "startup_s": times,
                "parts": parts,
                "predictions": same,
                "build": build,
                "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    return 0 if all(ok.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
