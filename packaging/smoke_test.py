"""Smoke test of the built desktop bundle, run as a new user on a bare machine would.

The archive is unpacked into a folder whose path has a space and a non-ASCII letter,
and every run of the bundle gets an empty environment (``env -i``: a fresh HOME, no
venv, no PATH beyond /usr/bin:/bin) and no network (its own network namespace):

  --version; ``train`` on three products (no --base-weights: the shipped weights);
  ``predict``; ``inspect``; the exported files in real TF.js (tests/tfjs, Node) giving
  the bundle's top-1 answers; the GUI's first window (offscreen); then all of it
  again from a read-only mount of the bundle, and proof that the bundle's folder was
  never written to. Every step must exit 0.

Run:  python packaging/smoke_test.py [dist/DukahubTrainer-*-linux-x86_64.tar.gz]
Under CI=true nothing may be skipped (no root for the read-only mount, no Node...).
The driver needs numpy/Pillow/pytest for the TF.js harness: run it with the dev venv.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GROCERY = REPO.parent / "shared" / "datasets" / "grocery-fruit-veg"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
LINUX = sys.platform.startswith("linux")
EXE = "dukahub-trainer" + (".exe" if os.name == "nt" else "")
# Three products that look alike in pairs (two apples) and one that does not.
PRODUCTS = {
    "granny": "Fruit/Apple/Granny-Smith",
    "pink-lady": "Fruit/Apple/Pink-Lady",
    "lime": "Fruit/Lime",
}
TRAIN_PHOTOS = 4
TEST_PHOTOS = 3
SEED = 7


class SmokeFailure(Exception):
    """A check failed; the message says which and shows the bundle's output."""


class Skipped(Exception):
    """A check cannot run on this machine (never allowed under CI=true)."""


def unavailable(reason: str) -> None:
    if IN_CI:
        raise SmokeFailure(f"{reason} (CI=true: nothing may be skipped)")
    raise Skipped(reason)


def find_archive(arg: str | None) -> Path:
    if arg:
        return Path(arg).resolve()
    from app import __version__

    # this version's (sorted names put 0.9.0 after 0.10.0)
    found = sorted((REPO / "dist").glob(f"DukahubTrainer-{__version__}-linux-*.tar.gz"))
    if not found:
        raise SmokeFailure(
            f"no dist/DukahubTrainer-{__version__}-linux-*.tar.gz: run build_installer.py first"
        )
    return found[-1]


def unpack(archive: Path, into: Path) -> Path:
    """Unpack the archive into ``into``; return the bundle folder holding the executable."""
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        kw = {"filter": "tar"} if hasattr(tarfile, "tar_filter") else {}
        tar.extractall(into, **kw)
    (folder,) = [p for p in into.iterdir() if p.is_dir()]
    if not os.access(folder / EXE, os.X_OK):
        raise SmokeFailure(f"{folder / EXE} is missing or not executable")
    return folder


SAMPLE_PRODUCTS = ("Lime", "Lemon", "Kiwi")


def make_sample_photos(root: Path) -> tuple[Path, list[tuple[str, Path]]]:
    """Three products of the app's own sample shop (resources/), where ../shared is absent
    (a hosted CI runner): its five photos each to train on, its test photo each."""
    shop = REPO / "resources" / "sample-shop"
    train_dir = root / "shop photos ü"
    tests: list[tuple[str, Path]] = []
    for label in SAMPLE_PRODUCTS:
        shutil.copytree(shop / label, train_dir / label)
        src = REPO / "resources" / "sample-test-photos" / f"{label.lower()}.jpg"
        dst = root / "test photos" / src.name
        dst.parent.mkdir(exist_ok=True)
        shutil.copy2(src, dst)
        tests.append((label, dst))
    return train_dir, tests


def make_photos(root: Path) -> tuple[Path, list[tuple[str, Path]]]:
    """A tiny shop: TRAIN_PHOTOS per product to train on, TEST_PHOTOS held-out each."""
    if not GROCERY.is_dir():
        unavailable(f"shared grocery photos not found at {GROCERY}")
    train_dir = root / "shop photos ü"
    tests: list[tuple[str, Path]] = []
    for label, rel in PRODUCTS.items():
        (train_dir / label).mkdir(parents=True)
        for src in sorted((GROCERY / "train" / rel).glob("*.jpg"))[:TRAIN_PHOTOS]:
            shutil.copy2(src, train_dir / label / src.name)
        for src in sorted((GROCERY / "test" / rel).glob("*.jpg"))[:TEST_PHOTOS]:
            dst = root / "test photos" / f"{label}-{src.name}"
            dst.parent.mkdir(exist_ok=True)
            shutil.copy2(src, dst)
            tests.append((label, dst))
    return train_dir, tests


def isolation_prefix() -> list[str]:
    """No network for the bundle: its own network namespace (root), else CI fails."""
    if not LINUX:
        print("  (macOS/Windows: runs keep the network; the Linux run proves offline)")
        return []
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    unavailable("cannot cut the network (unshare -n needs root): runs would have network")
    return []


class Bundle:
    """Runs one installed copy of the bundle with an empty environment."""

    def __init__(self, folder: Path, home: Path, prefix: list[str]) -> None:
        self.folder, self.home, self.prefix = folder, home, prefix
        home.mkdir(parents=True, exist_ok=True)

    def environment(self) -> dict[str, str]:
        """A new user's bare environment: their home folder and the system's PATH only."""
        if os.name != "nt":
            return {"HOME": str(self.home), "PATH": "/usr/bin:/bin"}
        root = os.environ.get("SYSTEMROOT", r"C:\Windows")
        return {
            "SYSTEMROOT": root,
            "PATH": rf"{root}\System32;{root}",
            "USERPROFILE": str(self.home),
            "APPDATA": str(self.home / "AppData" / "Roaming"),
            "LOCALAPPDATA": str(self.home / "AppData" / "Local"),
            "TEMP": str(self.home / "Temp"),
            "TMP": str(self.home / "Temp"),
        }

    def run(
        self, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 900
    ) -> subprocess.CompletedProcess[str]:
        env = {**self.environment(), **(extra_env or {})}
        exe = str(self.folder / EXE)
        if LINUX:  # literally `env -i`: nothing of this process's environment gets through
            cmd = [*self.prefix, "env", "-i", *(f"{k}={v}" for k, v in env.items()), exe, *args]
            env_arg = None
        else:
            cmd, env_arg = [exe, *args], env
            for d in ("Temp", "AppData/Local", "AppData/Roaming"):
                (self.home / d).mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env=env_arg, encoding="utf-8"
        )
        took = time.monotonic() - t0
        print(f"  [{took:5.1f} s] {EXE} {' '.join(args)[:90]} -> exit {proc.returncode}")
        if proc.returncode != 0:
            raise SmokeFailure(
                f"{EXE} {' '.join(args)} exited {proc.returncode}\n--- stdout\n"
                f"{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-6000:]}"
            )
        return proc

    def first_window(self) -> tuple[float, str]:
        t0 = time.time()
        proc = self.run(
            extra_env={
                "QT_QPA_PLATFORM": "offscreen",
                "DUKAHUB_TRAINER_EXIT_AFTER_FIRST_PAINT": "1",
            },
            timeout=180,
        )
        for line in proc.stdout.splitlines():
            if line.startswith("FIRST_WINDOW "):
                _, stamp, title = line.split(" ", 2)
                return float(stamp) - t0, title
        raise SmokeFailure(f"the GUI exited 0 without showing a window:\n{proc.stderr[-3000:]}")


def parse_predictions(stdout: str) -> dict[str, str]:
    """{photo path: top-1 label} from `predict` output lines
    "PATH: LABEL P, ... — Sure: NAME (accept at T)" (the decision follows " — ")."""
    top1 = {}
    for line in stdout.splitlines():
        ranked_part = line.split(" — ", 1)[0]
        path, _, ranked = ranked_part.rpartition(": ")
        if path and ranked:
            top1[path] = ranked.split(" ", 1)[0]
    return top1


def train_predict_inspect(bundle: Bundle, photos: Path, tests: list[tuple[str, Path]], out: Path):
    """The owner's loop from the command line; returns (summary, {photo: top-1})."""
    version = bundle.run("--version").stdout.strip()
    sys.path.insert(0, str(REPO))
    from app import __version__

    if version != f"{EXE} {__version__}":
        raise SmokeFailure(f"--version printed {version!r}, expected {EXE} {__version__}")
    train = bundle.run(
        "train", str(photos), "--out", str(out), "--epochs", "8", "--seed", str(SEED), "--json"
    )
    summary = json.loads(train.stdout)
    products = sorted(p.name for p in photos.iterdir())
    if summary.get("products") != len(products):
        raise SmokeFailure(f"train summary: {summary}")
    meta = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    if meta["baseModel"] != "mobilenet_v2_0.35_256" or sorted(meta["labels"]) != products:
        raise SmokeFailure(f"unexpected metadata: {meta}")
    pred = bundle.run("predict", str(out), *(str(p) for _, p in tests), "--top", "3")
    top1 = parse_predictions(pred.stdout)
    if set(top1) != {str(p) for _, p in tests}:
        raise SmokeFailure(f"predict answered for {sorted(top1)}")
    inspect = bundle.run("inspect", str(out))
    if "mobilenet" not in inspect.stdout:
        raise SmokeFailure(f"inspect printed:\n{inspect.stdout}")
    return summary, top1


def tfjs_agrees(model_dir: Path, tests: list[tuple[str, Path]], top1: dict[str, str]) -> float:
    """The POS runtime (TF.js 4.22 in Node) loads the files and gives the same top-1."""
    sys.path.insert(0, str(REPO / "tests"))
    try:
        import numpy as np
        from tfjs_harness import tfjs_predict, tm_preprocess
    except ImportError as exc:
        unavailable(f"the TF.js harness needs the dev venv's numpy/Pillow/pytest: {exc}")
    meta = json.loads((model_dir / "metadata.json").read_text(encoding="utf-8"))
    side = int(meta["imageSize"])  # as the till feeds it (TM's default, 224, is not ours)
    try:
        probs = tfjs_predict(model_dir, np.stack([tm_preprocess(p, side) for _, p in tests]))
    except BaseException as exc:  # the harness skips/fails through pytest outcomes
        if type(exc).__name__ == "Skipped":
            unavailable(f"TF.js harness: {exc}")
        raise
    labels = meta["labels"]
    js_top1 = {str(p): labels[int(i)] for (_, p), i in zip(tests, probs.argmax(1), strict=True)}
    if js_top1 != top1:
        raise SmokeFailure(f"TF.js top-1 {js_top1} differs from the bundle's {top1}")
    return float(np.mean([top1[str(p)] == label for label, p in tests]))


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.lstat().st_size, p.lstat().st_mtime_ns)
        for p in folder.rglob("*")
    }


@contextmanager
def read_only_mount(src: Path, dst: Path) -> Iterator[Path]:
    """``src`` seen read-only at ``dst`` (a bind mount: even root cannot write there)."""
    dst.mkdir(parents=True)
    try:
        ok = subprocess.run(["mount", "--bind", str(src), str(dst)], capture_output=True)
    except FileNotFoundError:
        ok = None
    if ok is None or ok.returncode != 0:
        unavailable("cannot bind-mount (needs root): the read-only install is not checked")
    try:
        ro = subprocess.run(["mount", "-o", "remount,bind,ro", str(dst)], capture_output=True)
        if ro.returncode != 0:
            raise SmokeFailure(f"remount read-only failed: {ro.stderr.decode()}")
        probe = dst / ".write-probe"
        try:
            probe.write_text("x")
        except OSError:
            pass
        else:
            probe.unlink()
            raise SmokeFailure(f"{dst} is writable after a read-only remount")
        yield dst
    finally:
        subprocess.run(["umount", str(dst)], capture_output=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("archive", nargs="?", help="the .tar.gz (default: the one in dist/)")
    ap.add_argument(
        "--sample-shop",
        action="store_true",
        help="train on the app's own sample shop instead of ../shared's photos",
    )
    ap.add_argument(
        "--folder",
        type=Path,
        help="test this bundle folder as is (macOS: the .app's Contents/MacOS; Windows: "
        "the installed folder) instead of unpacking the Linux archive",
    )
    ap.add_argument("--keep", action="store_true", help="keep the temp folder for a look")
    args = ap.parse_args(argv)
    t_start = time.monotonic()
    skipped: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="dukahub-smoke-"))
    try:
        if args.folder:
            folder = args.folder.resolve()
            print(f"Smoke test of the bundle in {folder}")
        else:
            archive = find_archive(args.archive)
            print(f"Smoke test of {archive.name} ({archive.stat().st_size / 1e6:.0f} MB)")
            folder = unpack(archive, root / "Program Files ñ")
            print(f"  unpacked to {folder}")
        if LINUX and not list(folder.rglob("libxcb-cursor.so.0")):
            raise SmokeFailure("no libxcb-cursor.so.0 in the bundle: xcb fails on fresh desktops")
        before = snapshot(folder)
        photos, tests = make_sample_photos(root) if args.sample_shop else make_photos(root)
        prefix = isolation_prefix()

        bundle = Bundle(folder, root / "home one", prefix)
        _, top1 = train_predict_inspect(bundle, photos, tests, root / "model out")
        from app.core.features import FAST_IN_USE

        logs = "".join(p.read_text(errors="replace") for p in bundle.home.rglob("*.log"))
        if FAST_IN_USE not in logs:
            raise SmokeFailure(f"the log does not say {FAST_IN_USE!r}:\n{logs[-3000:]}")
        print(f"  {FAST_IN_USE} (the log says so)")
        try:
            acc = tfjs_agrees(root / "model out", tests, top1)
            print(f"  TF.js loads the export: same top-1 as the bundle ({acc:.0%} correct)")
        except Skipped as exc:
            skipped.append(str(exc))
        seconds, title = bundle.first_window()
        print(f"  GUI first window {title!r} after {seconds:.1f} s")
        if not any(p.name.startswith("DukahubTrainer") for p in bundle.home.rglob("*")):
            raise SmokeFailure("the app wrote nothing under the fresh HOME's platformdirs folders")

        try:
            if not LINUX:
                raise Skipped("read-only install: checked on Linux (bind mount) only")
            with read_only_mount(folder, root / "read-only mount é") as ro_folder:
                print(f"  read-only copy at {ro_folder}")
                ro = Bundle(ro_folder, root / "home two", prefix)
                _, ro_top1 = train_predict_inspect(ro, photos, tests, root / "model two")
                if list(ro_top1.values()) != list(top1.values()):
                    raise SmokeFailure(f"read-only run predicted {ro_top1}, first run {top1}")
                ro.first_window()
        except Skipped as exc:
            skipped.append(str(exc))
        after = snapshot(folder)
        if after != before:
            changed = sorted(set(after.items()) ^ set(before.items()))[:5]
            raise SmokeFailure(f"the bundle's folder was written to: {changed}")
        print("  the bundle's folder is unchanged (all writes went to the user's folders)")
    except Skipped as exc:
        skipped.append(str(exc))
    except SmokeFailure as exc:
        print(f"SMOKE TEST FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    for s in skipped:
        print(f"  SKIPPED: {s}")
    print(f"Bundle smoke test passed in {time.monotonic() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
