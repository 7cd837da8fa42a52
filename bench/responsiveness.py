"""UI responsiveness: the longest Qt event-loop gap while heavy work runs in the background.

A 10 ms ``QTimer`` ticks in the GUI thread of a visible window; every interval
between two ticks longer than 10 ms is time the UI could not react (a click, a
repaint). Each scenario runs real work through the app's own ``TaskRunner`` with
its progress shown in a ``ProgressPanel``, exactly as the screens do:

* ``idle``      nothing running (the baseline of this machine);
* ``warmup``    the background TensorFlow import the app does after its window shows;
* ``training``  a real training run on grocery photos: dataset check, MobileNetV2
                feature extraction (cold cache), head fit, TF.js export;
* ``download``  fetching a channel's catalogue and all its images (empty cache) from
                the real Vendure test server (tests/vendure_server, needs Node);
* ``live``      the Test screen recognising a video with the Teachable Machine export;
* ``products5000`` the app's own window opening a folder of 5,000 products (small
                generated JPEGs, two each) on Products, then scrolling the list top to
                bottom a page at a time (every 20 ms) and searching it: each measured
                apart, with the thumbnails decoded meanwhile.

Run:  python bench/responsiveness.py [--scenarios idle,warmup,training,download,live,products5000]
Writes bench/results/responsiveness.md and .json (gitignored) and prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
GROCERY = SHARED / "datasets" / "grocery-fruit-veg"
WEIGHTS = (
    SHARED / "pretrained" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"
)
TM_EXPORT = SHARED / "reference" / "teachable-machine-export"
RESULTS = REPO / "bench" / "results"
TICK_MS = 10
TARGET_MS = 100.0
TRAIN_PRODUCTS = [
    "Fruit/Banana",
    "Fruit/Kiwi",
    "Fruit/Lemon",
    "Fruit/Orange",
    "Vegetables/Tomato",
    "Vegetables/Carrots",
]

sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # vendure_server, camera_standins
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.*=false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")

from PySide6.QtCore import QElapsedTimer, QEventLoop, QObject, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QVBoxLayout, QWidget  # noqa: E402


class GapMeter(QObject):
    """Records the intervals between ticks of a precise 10 ms timer."""

    def __init__(self) -> None:
        super().__init__()
        self.timer = QTimer(self, interval=TICK_MS)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)
        self.clock = QElapsedTimer()
        self.intervals: list[float] = []
        self.events: list[tuple[float, str]] = []  # (s, progress message) of the work
        self.slow: list[tuple[float, float]] = []  # (interval ms, s at its end) over 50 ms
        self._last = 0

    def start(self) -> None:
        self.intervals.clear()
        self.slow.clear()
        self.events.clear()
        self.clock.start()
        self._last = self.clock.nsecsElapsed()
        self.timer.start()

    def stop(self) -> dict[str, float]:
        self.timer.stop()
        stats = summarize(self.intervals, self.clock.nsecsElapsed() / 1e9)
        if self.slow:
            stats["slow"] = [(round(ms), self.where(ms, t)) for ms, t in sorted(self.slow)[::-1]]
            if self.events:  # only work that reports progress can be located
                stats["worst_where"] = stats["slow"][0][1]
        return stats

    def note(self, message: str) -> None:
        self.events.append((self.clock.nsecsElapsed() / 1e9, message))

    def where(self, ms: float, end: float) -> str:
        """The progress messages just before and after a gap: what the work was doing."""
        start = end - ms / 1000
        before = [m for t, m in self.events if t <= start]
        after = [m for t, m in self.events if t >= start]
        first = before[-1] if before else "start"
        last = after[0] if after else "end"
        return f"after “{first}”, before “{last}”"

    def _tick(self) -> None:
        now = self.clock.nsecsElapsed()
        ms = (now - self._last) / 1e6
        self.intervals.append(ms)
        if ms > 50:
            self.slow.append((ms, now / 1e9))
        self._last = now


def summarize(intervals: list[float], seconds: float) -> dict[str, float]:
    if not intervals:
        return {"seconds": seconds, "ticks": 0, "max_ms": float("nan"), "p99_ms": float("nan")}
    s = sorted(intervals)
    return {
        "seconds": seconds,
        "ticks": len(s),
        "max_ms": s[-1],
        "p99_ms": s[min(len(s) - 1, int(0.99 * len(s)))],
        "p50_ms": s[len(s) // 2],
        "over_50ms": sum(1 for x in s if x > 50),
    }


def wait_for(predicate: Callable[[], bool], timeout_s: float) -> None:
    loop = QEventLoop()
    poll = QTimer(interval=50)
    poll.timeout.connect(lambda: predicate() and loop.quit())
    deadline = QTimer(singleShot=True, interval=int(timeout_s * 1000))
    deadline.timeout.connect(loop.quit)
    poll.start()
    deadline.start()
    if not predicate():
        loop.exec()
    poll.stop()
    deadline.stop()
    if not predicate():
        raise TimeoutError(f"not done within {timeout_s:.0f} s")


class Bench:
    def __init__(self) -> None:
        from app.gui.tasks import TaskRunner
        from app.gui.widgets import ProgressPanel

        self.window = QMainWindow()
        self.window.setWindowTitle("responsiveness bench")
        body = QWidget()
        lay = QVBoxLayout(body)
        self.status = QLabel("")
        self.panel = ProgressPanel(body, show_delay_ms=0)
        lay.addWidget(self.status)
        lay.addWidget(self.panel)
        self.window.setCentralWidget(body)
        self.window.resize(900, 600)
        self.window.show()
        self.runner = TaskRunner()
        self.meter = GapMeter()

    def run_task(self, name: str, fn: Callable[..., Any], timeout_s: float = 1800) -> dict:
        """Measure the event loop while ``fn(on_progress, cancel)`` runs in the runner."""
        self.meter.start()
        task = self.runner.start(name, fn)
        self.panel.track(task, name)
        progress_events = [0]

        def on_progress(p: Any) -> None:
            progress_events[0] += 1
            self.meter.note(f"{p.phase}: {p.message}"[:60])

        task.progress.connect(on_progress)
        wait_for(lambda: not task.running, timeout_s)
        stats = self.meter.stop()
        if task.outcome != "ok":
            raise RuntimeError(f"{name} ended {task.outcome}: {task.error}")
        stats["progress_updates"] = progress_events[0]
        return stats

    def idle(self) -> dict:
        self.meter.start()
        wait_for(lambda: self.meter.clock.elapsed() >= 3000, 10)
        return self.meter.stop()

    def warmup(self) -> dict:
        def work(on_progress: Any, cancel: Any) -> None:
            # The same imports as MainWindow.warm_up() right after the first paint.
            import app.core.modelfiles  # noqa: F401
            import app.core.shop  # noqa: F401
            import app.core.trainer  # noqa: F401
            from app.core.tf_runtime import tf_modules

            tf_modules()

        return self.run_task("warmup", work)

    def training(self, photos: int, epochs: int) -> dict:
        from app.core.catalogue import catalogue_from_folder
        from app.core.model import TrainOptions
        from app.core.pipeline import train_and_export  # exactly what the Train screen runs

        folder = Path(tempfile.mkdtemp(prefix="bench-shop-"))
        for sub in TRAIN_PRODUCTS:
            d = folder / sub.rsplit("/", 1)[1].lower()
            d.mkdir()
            for p in sorted((GROCERY / "train" / sub).rglob("*.jpg"))[:photos]:
                (d / p.name).symlink_to(p)
        out = Path(tempfile.mkdtemp(prefix="bench-model-")) / "model"
        catalog = catalogue_from_folder(folder)
        opts = TrainOptions(base_weights=WEIGHTS, epochs=epochs)

        def work(on_progress: Any, cancel: Any) -> Any:
            return train_and_export(catalog, opts, out, on_progress=on_progress, cancel=cancel)

        try:
            stats = self.run_task("train", work)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            shutil.rmtree(out.parent, ignore_errors=True)
        stats["images"] = len(TRAIN_PRODUCTS) * photos
        return stats

    def download(self, products: int, photos: int) -> dict:
        """A channel of ``products`` grocery classes × ``photos`` real photos, cold cache."""
        sys.path.insert(0, str(REPO / "tests"))
        from vendure_server import fixtures as vf

        from app.core.shop import ShopClient, fetch_catalogue

        vf.build_server()
        workdir = Path(tempfile.mkdtemp(prefix="bench-vendure-"))
        proc, server = vf.start_server(workdir)
        try:
            vf.seed(server)
            vf.seed_grocery_channel(server, "bench", products, photos)
            counted: dict[str, int] = {}

            def work(on_progress: Any, cancel: Any) -> None:
                client = ShopClient(server.url, allow_insecure=True)
                client.login(server.admin_user, server.admin_password)
                client.select_channel("bench")
                cat = fetch_catalogue(client, on_progress=on_progress, cancel=cancel).catalogue
                counted["products"] = len(cat.products)
                counted["images"] = sum(len(p.images) for p in cat.products)

            stats = self.run_task("catalog", work)
            stats.update(counted)
            return stats
        finally:
            vf.stop_server(proc)
            shutil.rmtree(workdir, ignore_errors=True)

    def live(self, seconds: float = 8.0) -> dict:
        from camera_standins import write_video

        from app.core.images import load_rgb
        from app.gui.screens.recognise.screen import RecogniseScreen

        frames = [
            load_rgb(sorted((GROCERY / "test" / sub).rglob("*.jpg"))[0])
            for sub in TRAIN_PRODUCTS
            for _ in range(10)
        ]
        tmp = Path(tempfile.mkdtemp(prefix="bench-video-"))
        video = write_video(frames, tmp / "counter.mp4", fps=30, size=(640, 480))
        screen = RecogniseScreen(self.runner)
        screen.resize(1000, 640)
        screen.show()
        loaded = []
        screen.model_loaded.connect(loaded.append)
        screen.set_model_dir(TM_EXPORT)
        wait_for(lambda: bool(loaded), 600)
        preds = []
        screen.predicted.connect(preds.append)
        screen.open_video(video)
        wait_for(lambda: len(preds) > 0, 60)
        self.meter.start()
        t0 = time.monotonic()
        n0 = len(preds)
        frames0 = screen.source.frames_delivered
        wait_for(lambda: time.monotonic() - t0 > seconds, seconds + 30)
        stats = self.meter.stop()
        stats["camera_fps"] = (screen.source.frames_delivered - frames0) / stats["seconds"]
        stats["recognition_fps"] = (len(preds) - n0) / stats["seconds"]
        screen.shutdown()
        screen.deleteLater()
        shutil.rmtree(tmp, ignore_errors=True)
        return stats

    def products(self, n: int = 5000, photos: int = 2) -> dict[str, dict]:
        """The app's window opens a folder of ``n`` products on Products (the listing, the
        photo check and every screen that follows the catalogue), then the list scrolls
        top to bottom a page every 20 ms, then a search is typed: three measurements."""
        from app.core import paths
        from app.gui.window import MainWindow

        folder = make_products_folder(Path(tempfile.mkdtemp(prefix="bench-5000-")), n, photos)
        window = MainWindow(paths.Settings.load())
        window.resize(1180, 780)
        window.show()
        window.show_screen("products")
        warm = window.warm_up()  # the app loads TensorFlow after its first paint
        wait_for(lambda: not warm.running, 600)
        screen = window.products
        out: dict[str, dict] = {}
        try:
            self.meter.start()
            t0 = time.monotonic()
            window.login.use_folder(folder)
            wait_for(lambda: screen.model.rowCount() == n, 120)
            listed = time.monotonic() - t0
            wait_for(lambda: window.session.report is not None, 300)
            checked = time.monotonic() - t0
            wait_for(lambda: not window.runner.running(), 120)
            out["open"] = self.meter.stop()
            out["open"].update(products=n, images=n * photos)
            out["open"]["listed_s"], out["open"]["checked_s"] = listed, checked

            bar = screen.table.verticalScrollBar()
            thumbs = window.session.thumbnails
            asked0 = getattr(thumbs, "requested", 0)  # counted since this bench existed
            busy = getattr(thumbs, "busy", lambda: bool(thumbs._pending))
            self.meter.start()
            step = QTimer(interval=20)
            step.timeout.connect(lambda: bar.setValue(bar.value() + bar.pageStep()))
            step.start()
            wait_for(lambda: bar.value() >= bar.maximum(), 600)
            step.stop()
            stopped = time.monotonic()  # the rows in view ask once the list stands still
            wait_for(lambda: time.monotonic() - stopped > 0.5 and not busy(), 60)
            out["scroll"] = self.meter.stop()
            out["scroll"]["products"] = n
            out["scroll"]["thumbnails"] = getattr(thumbs, "requested", 0) - asked0

            self.meter.start()
            for ch in "product-0421":  # a key every 100 ms, as the owner types
                screen.search.setText(screen.search.text() + ch)
                typed = time.monotonic()
                wait_for(lambda t=typed: time.monotonic() - t > 0.1, 5)
            shown = screen.proxy.rowCount()
            screen.search.clear()
            cleared = time.monotonic()
            wait_for(lambda: time.monotonic() - cleared > 0.3, 5)
            out["search"] = self.meter.stop()
            out["search"]["products"] = shown
        finally:
            window.shutdown()
            window.deleteLater()
            shutil.rmtree(folder, ignore_errors=True)
        return out


def make_products_folder(root: Path, products: int, photos: int) -> Path:
    """``products`` product folders of ``photos`` small, distinct JPEGs each."""
    from PIL import Image, ImageDraw

    root.mkdir(parents=True, exist_ok=True)
    for i in range(products):
        d = root / f"product-{i:05d}"
        d.mkdir(exist_ok=True)
        for k in range(photos):
            im = Image.new("RGB", (96, 96), ((i * 37) % 256, (i * 91 + k * 50) % 256, k * 90))
            ImageDraw.Draw(im).text((8, 40), f"{i}/{k}", fill=(255, 255, 255))
            im.save(d / f"photo-{k}.jpg", quality=80)
    return root


LABELS = {
    "idle": "Idle (baseline)",
    "warmup": "TensorFlow import in the background",
    "training": "Training (features + head + export)",
    "download": "Downloading a channel's images",
    "live": "Test screen: live recognition",
    "products5000": "Products, 5,000 products",
    "products5000_open": "Products, 5,000 products: opening",
    "products5000_scroll": "Products, 5,000 products: scrolling top to bottom",
    "products5000_search": "Products, 5,000 products: typing a search",
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenarios", default="idle,warmup,training,download,live")
    ap.add_argument("--photos", type=int, default=8, help="training photos per product")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--download-products", type=int, default=40)
    ap.add_argument("--download-photos", type=int, default=5, help="photos per product")
    ap.add_argument("--products", type=int, default=5000, help="products5000: products")
    ap.add_argument("--products-photos", type=int, default=2, help="products5000: photos each")
    args = ap.parse_args(argv)
    wanted = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(wanted) - set(LABELS)
    if unknown:
        ap.error(f"unknown scenarios: {', '.join(sorted(unknown))}")

    home = Path(tempfile.mkdtemp(prefix="bench-home-"))
    os.environ["DUKAHUB_TRAINER_HOME"] = str(home)  # cold caches, no user data touched
    app = QApplication.instance() or QApplication([sys.argv[0]])
    bench = Bench()
    results: dict[str, dict] = {}
    try:
        for name in wanted:
            print(f"running {name}…", file=sys.stderr, flush=True)
            if name == "training":
                results[name] = bench.training(args.photos, args.epochs)
            elif name == "download":
                results[name] = bench.download(args.download_products, args.download_photos)
            elif name == "products5000":
                for part, stats in bench.products(args.products, args.products_photos).items():
                    results[f"{name}_{part}"] = stats
                    print(f"  {part}: {stats}", file=sys.stderr, flush=True)
                continue
            else:
                results[name] = getattr(bench, name)()
            print(f"  {results[name]}", file=sys.stderr, flush=True)
    finally:
        bench.runner.shutdown(timeout_s=30)
        shutil.rmtree(home, ignore_errors=True)

    plat = os.environ.get("QT_QPA_PLATFORM")
    lines = [
        f"Qt event-loop gaps: intervals between ticks of a {TICK_MS} ms timer in the GUI "
        f"thread ({plat}; {os.cpu_count()} CPUs; Python {platform.python_version()})",
        "",
        "| while… | duration | longest gap | p99 gap | ticks > 50 ms | notes |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, r in results.items():
        notes = []
        if "images" in r:
            notes.append(f"{r['images']} images")
        if "products" in r:
            notes.append(f"{r['products']} products")
        if "thumbnails" in r:
            notes.append(f"{r['thumbnails']} thumbnails decoded")
        if "listed_s" in r:
            notes.append(
                f"listed after {r['listed_s']:.1f} s, checked after {r['checked_s']:.1f} s"
            )
        if "progress_updates" in r:
            notes.append(f"{r['progress_updates']} progress updates")
        if "worst_where" in r:
            notes.append(f"worst {r['worst_where']}")
        if "camera_fps" in r:
            notes.append(
                f"preview {r['camera_fps']:.1f} fps, recognition {r['recognition_fps']:.1f} fps"
            )
        lines.append(
            f"| {LABELS[name]} | {r['seconds']:.1f} s | {r['max_ms']:.0f} ms | "
            f"{r['p99_ms']:.0f} ms | {r.get('over_50ms', 0)} | {', '.join(notes)} |"
        )
    worst = max((r["max_ms"] for r in results.values()), default=0.0)
    lines += [
        "",
        f"Longest gap overall: **{worst:.0f} ms** (target < {TARGET_MS:.0f} ms).",
        "",
        f"Repeat: `python bench/responsiveness.py --scenarios {','.join(wanted)}`",
    ]
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "responsiveness.md").write_text(text + "\n", encoding="utf-8")
    (RESULTS / "responsiveness.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
