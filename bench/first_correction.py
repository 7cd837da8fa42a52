"""The first correction after the app starts (issue 17): how long until it is taught.

The app opens a folder shop whose model is in place (a real training of ``--products``
grocery products, one photo each), the Test screen checks a photo, and the cashier says
"No, it is…" as soon as the answer shows: the base model a teach needs is then being
built in the background (``teach.prepare``, started when the model opened). Timed from
the click on "Teach this product" to "Taught …" on screen; then a second correction in
the same process (warm). Each run is a fresh process (cold TensorFlow), the real window
under ``QT_QPA_PLATFORM`` (offscreen unless set).

    python bench/first_correction.py --products 50 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

T0 = time.perf_counter()  # the child's start, before Qt and the app are imported
REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]
SHARED = REPO.parent / "shared"
GROCERY = SHARED / "datasets" / "grocery-fruit-veg"
WEIGHTS = (
    SHARED / "pretrained" / ("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5")
)


def make_shop(root: Path, products: int) -> tuple[Path, list[Path]]:
    """A folder shop of grocery products (one training photo each) with its model, and
    a test photo of each product to correct."""
    from app.core.flows.open_source import folder_source, open_source
    from app.core.flows.train import TrainOptions, TrainRequest, train

    shop = root / "shop"
    folders = sorted({p.parent for p in (GROCERY / "train").rglob("*.jpg")})[:products]
    tests = []
    for folder in folders:
        pid = folder.name.lower()
        (shop / pid).mkdir(parents=True)
        shutil.copy(sorted(folder.glob("*.jpg"))[0], shop / pid / "photo.jpg")
        rel = folder.relative_to(GROCERY / "train")
        near = GROCERY / "test" / rel  # some classes are coarser in the test list
        while not (found := sorted(near.rglob("*.jpg"))):
            near = near.parent
        tests.append(found[0])
    opts = TrainOptions(augment=False, validate=False, epochs=10, base_weights=WEIGHTS)
    train(TrainRequest(open_source(folder_source(shop)), opts))  # into the shop's model folder
    return shop, tests


def child(shop: str, photo: str, wrong: str, other: str) -> dict:
    """One cold app: start → first answer → the first correction → a second one."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QCoreApplication, QElapsedTimer
    from PySide6.QtWidgets import QApplication

    from app.core import paths
    from app.gui.window import MainWindow

    app = QApplication.instance() or QApplication([])

    def wait(cond, timeout_s: float = 300.0) -> None:
        timer = QElapsedTimer()
        timer.start()
        while not cond():
            QCoreApplication.processEvents()
            time.sleep(0.002)
            if timer.elapsed() > timeout_s * 1000:
                raise TimeoutError("gave up waiting")

    window = MainWindow(paths.Settings.load())
    window.show()
    window.login.use_folder(Path(shop))
    window.show_screen("test")
    ts = window.test.ensure()
    done: list = []
    ts.images_done.connect(done.append)
    ts.open_images([Path(photo)])
    wait(lambda: done and ts.correct.wrong_button.isEnabled())
    answered = time.perf_counter()
    preparing = window.runner.current("teach-prepare") is not None

    def correct(pid: str) -> float:
        ts.correct.wrong_button.click()
        picker = ts.correct.picker
        picker.choose(pid)
        before = ts.banner.text()
        t = time.perf_counter()
        picker.ok_button.click()
        wait(lambda: "Taught" in ts.banner.text() and ts.banner.text() != before)
        return time.perf_counter() - t

    first = correct(wrong)
    wait(lambda: ts.model is not None and ts.correct.wrong_button.isEnabled())
    # another product: the model now names the photo ``wrong``, and a correction that
    # changes nothing is refused ("not updated"), never "Taught"
    second = correct(other)
    window.shutdown()
    app.quit()
    return {
        "start_to_answer_s": answered - T0,
        "prepare_running_at_click": preparing,
        "first_correction_s": first,
        "second_correction_s": second,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--products", type=int, default=50)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print("RESULT " + json.dumps(child(*args.child)), flush=True)
        return 0
    work = Path(tempfile.mkdtemp(prefix="bench-correction-"))
    env = dict(os.environ, DUKAHUB_TRAINER_HOME=str(work / "home"))
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["DUKAHUB_TRAINER_BASE_WEIGHTS"] = str(WEIGHTS)
    os.environ.update(DUKAHUB_TRAINER_HOME=env["DUKAHUB_TRAINER_HOME"])
    try:
        shop, photos = make_shop(work, args.products)
        rows = []
        for run in range(args.runs):
            photo = photos[run % len(photos)]
            ids = sorted(os.listdir(shop))
            wrong, other = ids[(run + 1) % args.products], ids[(run + 2) % args.products]
            res = subprocess.run(
                [sys.executable, __file__, "--child", str(shop), str(photo), wrong, other],
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
            )
            line = [x for x in res.stdout.splitlines() if x.startswith("RESULT ")]
            if res.returncode or not line:
                print(res.stdout[-3000:], res.stderr[-3000:], file=sys.stderr)
                return 1
            rows.append(json.loads(line[0][7:]))
            print(json.dumps(rows[-1]), flush=True)
        med = {k: statistics.median(r[k] for r in rows) for k in rows[0] if k.endswith("_s")}
        print(
            f"{args.products} products, median of {args.runs} fresh app processes: "
            f"start → first answer {med['start_to_answer_s']:.1f} s; the first correction "
            f"{med['first_correction_s']:.2f} s (the base model still being prepared in "
            f"{sum(r['prepare_running_at_click'] for r in rows)} of {args.runs}); "
            f"the second {med['second_correction_s']:.2f} s"
        )
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
