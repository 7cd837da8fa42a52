"""Walk every screen of the real app under Xvfb with real data and save a PNG of each.

The app runs in this process (``MainWindow``, as ``python -m app`` builds it) on
the xcb platform of a private Xvfb server. Data is real: grocery photos from
../shared/datasets (a temporary folder of symlinks, "Use a local folder" mode) or,
with ``--vendure`` (default when Node is installed), the real Vendure test server of
tests/vendure_server, logged in through the login form. The model is trained by
the Train screen itself; the Test screen plays a video recorded from test photos
of the same products (there is no camera on a server).

Every screen is taken at 1366×768 and again at 800×600 (``*-800x600.png``). The
app's home and the demo shop live under a neutral ``/home/owner`` (``--owner``), so no
machine path appears in the pictures.

Run:  python scripts/screenshots.py [--out docs/screenshots] [--vendure | --no-vendure]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
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
MAX_BYTES = 300_000
WINDOW = (1366, 768)
SMALL = (800, 600)
# Local-folder mode: product id → dataset folder, photos per product.
FOLDER_PRODUCTS = {
    "banana": ("Fruit/Banana", 8),
    "kiwi": ("Fruit/Kiwi", 8),
    "lemon": ("Fruit/Lemon", 8),
    "orange": ("Fruit/Orange", 8),
    "tomato": ("Vegetables/Tomato", 8),
    "carrots": ("Vegetables/Carrots", 8),
    "garlic": ("Vegetables/Garlic", 1),  # only one photo: the Products screen warns
    "mango": (None, 0),  # no photo yet: greyed out, "needs photos" after training
}

sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # vendure_server, camera_standins


def start_xvfb() -> tuple[subprocess.Popen | None, str | None]:
    exe = shutil.which("Xvfb")
    if exe is None:
        return None, None
    for n in range(141, 190):
        if Path(f"/tmp/.X11-unix/X{n}").exists() or Path(f"/tmp/.X{n}-lock").exists():
            continue
        proc = subprocess.Popen(
            # -terminate: the server exits when the app (its last client) disconnects, so
            # it is never killed under a live Qt connection (an XIO error at exit).
            [exe, f":{n}", "-screen", "0", "1400x900x24", "-nolisten", "tcp", "-terminate"],
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


class Walk:
    """Drives the main window screen by screen, saving a PNG at each stop."""

    def __init__(self, out: Path, work: Path) -> None:
        from app.gui.main import make_app
        from app.gui.window import MainWindow, schedule_after_paint

        self.out = out
        self.work = work
        self.saved: list[Path] = []
        self.app = make_app([])
        self.window = MainWindow()
        self.window.resize(*WINDOW)
        self.window.move(0, 0)
        self.window.show()
        schedule_after_paint(self.window)
        self.session = self.window.session
        self.wait(1.0)

    # -- helpers ------------------------------------------------------------------------
    def wait(self, seconds: float) -> None:
        self.wait_until(lambda: False, seconds, fail=False)

    def wait_until(
        self, predicate: Callable[[], bool], timeout_s: float, what: str = "", fail: bool = True
    ) -> None:
        from PySide6.QtCore import QEventLoop, QTimer

        deadline = time.monotonic() + timeout_s
        loop = QEventLoop()
        while not predicate():
            if time.monotonic() > deadline:
                if fail:
                    raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")
                return
            QTimer.singleShot(50, loop.quit)
            loop.exec()

    def idle_runner(self, *names: str) -> Callable[[], bool]:
        return lambda: all(self.window.runner.current(n) is None for n in names)

    def shot(self, name: str, pixmap: Any = None) -> Path:
        self.wait(0.3)  # let pending repaints land
        pm = pixmap if pixmap is not None else self.window.grab()
        path = self.out / f"{name}.png"
        pm.save(str(path), "PNG", 0)  # 0 = smallest file
        if path.stat().st_size > MAX_BYTES:
            # Photos make big PNGs. A 256-colour median-cut palette without dithering
            # keeps UI text and flat colours crisp (Qt's own conversion dithers them).
            from PIL import Image

            with Image.open(path) as im:
                small = im.convert("RGB").quantize(
                    256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
                )
            small.save(path, optimize=True)
        self.saved.append(path)
        shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
        print(f"  {shown}  {path.stat().st_size // 1024} KB", flush=True)
        return path

    def screen_shot(self, name: str) -> Path:
        """The X screen under the window: includes dialogs on top of it."""
        from PySide6.QtGui import QGuiApplication

        g = self.window.frameGeometry()
        pm = QGuiApplication.primaryScreen().grabWindow(0, g.x(), g.y(), g.width(), g.height())
        return self.shot(name, pm)

    # -- screens ------------------------------------------------------------------------
    def login_local(self, folder: Path) -> None:
        self.window.show_screen("login")
        self.shot("01-login")
        self.window.login.use_folder(folder)

    def login_vendure(self, server: Any) -> None:
        login = self.window.login
        self.window.show_screen("login")
        login.server.setCurrentText(server.url)
        user, password = server.users["trainer"]
        login.username.setText(user)
        login.password.setText(password)
        self.shot("01-login")
        login.login_button.click()
        self.wait_until(
            lambda: login.pages.currentIndex() == 1 or self.session.source is not None,
            60,
            "the login",
        )
        if self.session.source is None:
            self.shot("02-channels")
            for i in range(login.channel_list.count()):
                if login.channel_list.item(i).text().startswith("fruit"):
                    login.channel_list.setCurrentRow(i)
            login.choose_channel()

    def products(self, video: Path) -> None:
        from app.gui.camera.sources import VideoFileSource

        self.wait_until(lambda: self.session.source is not None, 60, "a product source")
        self.window.show_screen("products")
        self.wait_until(lambda: self.session.catalogue() is not None, 300, "the catalogue")
        self.wait_until(self.idle_runner("catalogue", "check"), 300, "the photo check")
        p = self.window.products
        products = self.session.catalogue().products
        p.select_product(products[0].id)
        self.wait(2.0)  # thumbnails decode lazily in the background
        self.shot("03-products")
        # "Take photos with webcam…" with the test video standing in for the camera;
        # its first frames show a banana, so the photo goes to the banana product.
        banana = next(x for x in products if x.display_name.lower() == "banana")
        p.select_product(banana.id)
        p.camera_stand_in = lambda: VideoFileSource(video)
        dlg = p.capture_from_webcam()
        self.wait_until(dlg.take_button.isEnabled, 30, "the camera dialog's picture")
        self.wait(0.5)
        self.screen_shot("03b-webcam-photo")
        dlg.take_button.click()
        self.wait(1.5)
        self.counter_frames(video)
        self.empty_counter()

    def counter_frames(self, video: Path) -> None:
        """The counter-frames line with none, "Show me your counter" mid-capture (a first
        run cancelled at 800×600, a second one kept), and the line with some."""
        from app.gui.camera.sources import VideoFileSource

        p = self.window.products
        p.camera_stand_in = lambda: VideoFileSource(video)
        p.counter.capture_interval_s = 0.4  # 20 pictures in 8 s, not 20
        self.window.resize(*SMALL)
        self.wait(0.8)
        self.shot("03c-products-no-counter-frames-800x600")
        self.window.show_screen("train")
        self.wait(0.5)
        self.shot("03c-train-no-counter-frames-800x600")
        self.window.show_screen("products")
        for size, suffix in ((SMALL, "-800x600"), (WINDOW, "")):
            self.window.resize(*size)
            self.wait(0.8)
            dlg = p.counter.open_capture()
            ended: list[int] = []
            dlg.finished.connect(ended.append)  # the dialog deletes itself when done
            dlg.move(self.window.x() + 60, self.window.y() + 20)
            self.wait_until(dlg.start_button.isEnabled, 30, "the counter dialog's picture")
            dlg.start_button.click()
            self.wait_until(lambda d=dlg: len(d.taken) >= 8, 30, "counter pictures")
            self.screen_shot(f"03d-counter-capture{suffix}")
            if suffix:
                dlg.cancel_button.click()  # Cancel stores nothing
            else:
                self.wait_until(lambda e=ended: bool(e), 60, "the counter frames")
        self.wait(0.5)
        self.shot("03e-products-counter-frames")
        self.window.resize(*SMALL)
        self.wait(0.8)
        self.shot("03e-products-counter-frames-800x600")
        dlg = p.counter.open_viewer()
        dlg.move(self.window.x() + 60, self.window.y() + 40)
        self.wait(1.5)  # thumbnails
        self.screen_shot("03f-counter-frames-view-800x600")
        dlg.close()
        self.window.resize(*WINDOW)
        self.wait(0.5)

    def empty_counter(self) -> None:
        """ "Photograph the empty counter…" mid-capture (drawn counters stand in for the
        camera) and the Products line with the photos it stored; training uses them."""
        from camera_standins import write_video

        from app.core.not_products import drawn_backgrounds
        from app.gui.camera.sources import VideoFileSource

        frames = [f for f in drawn_backgrounds(8) for _ in range(8)]
        video = write_video(frames, self.work / "empty-counter.mp4", fps=15, size=(640, 480))
        p = self.window.products
        p.camera_stand_in = lambda: VideoFileSource(video)
        p.empty_counter.capture_interval_s = 0.6
        self.window.show_screen("products")
        dlg = p.empty_counter.open_capture()
        ended: list[int] = []
        dlg.finished.connect(ended.append)  # the dialog deletes itself when done
        dlg.move(self.window.x() + 60, self.window.y() + 20)
        self.wait_until(dlg.start_button.isEnabled, 30, "the empty-counter dialog's picture")
        dlg.start_button.click()
        self.wait_until(lambda: len(dlg.taken) >= 3, 30, "empty-counter pictures")
        self.screen_shot("03g-empty-counter-capture")
        self.wait_until(lambda: bool(ended), 60, "the empty-counter photos")
        self.wait(0.5)
        self.shot("03h-products-empty-counter")
        self.window.resize(*SMALL)
        self.wait(0.8)
        self.shot("03h-products-empty-counter-800x600")
        self.window.resize(*WINDOW)
        self.wait(0.5)

    def train(self, epochs: int) -> None:
        t = self.window.train
        self.window.show_screen("train")
        t.epochs.setValue(epochs)
        self.wait(0.3)
        self.shot("04-train-ready")
        t.advanced_toggle.click()  # Advanced, with "Right when it adds by itself"
        self.wait(0.5)
        self.shot("04b-train-advanced")
        t.model_size.showPopup()  # sizes whose weights are not here: "needs a one-time download"
        self.wait(0.5)
        self.screen_shot("04c-train-model-sizes")
        t.model_size.hidePopup()
        self.window.resize(*SMALL)
        self.wait(0.8)
        self.shot("04b-train-advanced-800x600")
        self.window.resize(*WINDOW)
        t.advanced_toggle.click()
        self.wait(0.5)
        task = t.start()
        if task is None:
            raise RuntimeError("the Train screen did not start (no catalogue?)")
        self.wait_until(lambda: t.chart.points() >= max(3, epochs // 3) or not task.running, 900)
        self.shot("05-train-running")
        self.window.resize(*SMALL)  # the progress in view without scrolling
        self.shot("05-train-running-800x600")
        self.window.resize(*WINDOW)
        self.wait_until(lambda: not task.running, 1800, "training")
        if task.outcome != "ok":
            raise RuntimeError(f"training ended {task.outcome}: {task.error}")
        self.wait(0.5)
        self.shot("06-train-done")  # with "The till adds a product by itself at …"
        self.window.resize(*SMALL)
        self.wait(0.8)
        self.shot("06-train-done-800x600")
        from PySide6.QtWidgets import QScrollArea

        bar = t.findChild(QScrollArea).verticalScrollBar()
        t.curve_toggle.click()  # "How the training went", folded by default
        t.advanced_toggle.click()  # …with the engineer's loss curve
        self.wait(0.5)
        self.shot("06b-train-done-advanced-800x600")
        bar.setValue(bar.maximum())
        self.shot("06c-train-done-curve-800x600")
        self.window.resize(*WINDOW)
        self.wait(0.8)
        bar.setValue(0)
        self.shot("06b-train-done-advanced")
        bar.setValue(bar.maximum())
        self.shot("06c-train-done-curve")
        bar.setValue(0)
        t.curve_toggle.click()
        t.advanced_toggle.click()

    def model(self) -> None:
        self.window.show_screen("model")
        self.wait_until(self.idle_runner("model", "published"), 300, "the model files")
        self.wait(0.5)
        self.shot("07-model")

    def test(self, video: Path, images: list[Path]) -> None:
        self.window.show_screen("test")
        ts = self.window.test.ensure()  # the host builds the Test screen on first show
        self.wait_until(lambda: ts.model is not None, 600, "the Test screen's model")
        ts.use_camera()  # none here: the "No camera found" state
        self.wait_until(lambda: ts.stack.currentWidget() is ts.no_camera, 10, "no-camera state")
        self.shot("08-test-no-camera")
        preds: list[Any] = []
        ts.predicted.connect(preds.append)
        ts.open_video(video)
        self.wait_until(lambda: len(preds) >= 8, 120, "live predictions")
        self.wait(1.2)  # the frame-rate labels refresh twice a second
        self.shot("09-test-live")
        self.window.resize(*SMALL)  # "Add frames to counter frames" under a narrow preview
        self.wait(0.8)
        self.shot("09b-test-live-800x600")
        self.window.resize(*WINDOW)
        self.wait(0.5)
        done: list[Any] = []
        ts.images_done.connect(done.append)
        ts.open_images(images)
        self.wait_until(lambda: bool(done), 120, "image predictions")
        ts.results.setCurrentRow(min(1, ts.results.count() - 1))
        self.shot("10-test-images")  # the till's decision above the bars, its threshold
        self.no_it_is(ts, "10c-test-no-it-is")
        self.window.resize(*SMALL)
        self.wait(0.8)
        self.shot("10b-test-images-800x600")
        self.no_it_is(ts, "10d-test-no-it-is-800x600")
        self.window.resize(*WINDOW)
        self.wait(0.5)

    def no_it_is(self, ts: Any, name: str) -> None:
        """ "No, it is…": the shop's products with their first photos, the top three first
        (closed again: nothing is taught, so later screens are as before)."""
        ts.correct.wrong_button.click()
        picker = ts.correct.picker
        self.wait(0.8)  # the dialog mapped and painted (its thumbnails may be cached)
        shown = picker.shown_rows()
        self.wait_until(
            lambda: all(
                picker.thumbnails.known(picker.photos[i])
                for i in shown
                if picker.photos[i] is not None
            ),  # fmt: skip
            60,
            "the product thumbnails",
        )
        self.screen_shot(name)
        picker.reject()
        self.wait(0.3)

    def publish(self, with_server: bool, assets: Path) -> None:
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication, QMessageBox

        pub = self.window.publish
        self.window.show_screen("publish")
        pub.refresh()
        self.wait(0.3)
        self.shot("11-publish")
        # no server needed: publish to the folder the shop serves
        pub.confirm = False
        pub.set_publish_folder(assets)  # the channel id comes from the model
        task = pub.publish_to_folder()
        if task is None:
            raise RuntimeError("Publish to a folder did not start")
        self.wait_until(self.idle_runner("publish", "folder-status"), 120, "publishing to a folder")
        self.wait(0.5)
        self.shot("11b-published-to-folder")
        # a hand-edited or damaged latest/: the folder's status warns
        for latest in assets.glob("*/latest"):
            weights = latest / "weights.bin"
            weights.write_bytes(weights.read_bytes()[:1000])
        pub.load_folder_status()
        self.wait_until(self.idle_runner("folder-status"), 60, "the folder's status")
        self.wait(0.5)
        self.shot("11c-folder-latest-damaged")
        pub.confirm = True
        if not with_server:
            return
        answered: list[bool] = []

        def answer() -> None:
            box = QApplication.activeModalWidget()
            if isinstance(box, QMessageBox):
                self.screen_shot("12-publish-confirm")
                box.button(QMessageBox.StandardButton.Yes).click()
                answered.append(True)
            elif not answered:
                QTimer.singleShot(200, answer)

        QTimer.singleShot(200, answer)
        task = pub.publish()
        if task is None:
            raise RuntimeError("Publish did not start")
        self.wait_until(lambda: bool(answered), 120, "the publish confirmation")
        self.wait_until(self.idle_runner("publish"), 300, "publishing")
        self.wait(0.5)
        self.shot("13-published")

    def guide(self) -> None:
        g = self.window.show_guide()
        g.move(self.window.x() + 300, self.window.y() + 120)
        self.wait(0.5)
        self.screen_shot("14-getting-started")
        g.close()

    def small(self) -> None:
        """Every screen again at 800×600: nothing may be cut off."""
        self.window.resize(*SMALL)
        self.wait(0.5)
        for key in ("login", "products", "train", "model", "test", "publish"):
            self.window.show_screen(key)
            if key == "test":
                self.window.test.ensure().results.setCurrentRow(0)
            self.wait(0.8)
            self.shot(f"20-{key}-800x600")

    def close(self) -> None:
        self.window.save_state()
        self.window.shutdown()
        self.window.close()


def make_folder(root: Path) -> Path:
    """Product sub-folders of symlinks to real grocery training photos."""
    for pid, (sub, n) in FOLDER_PRODUCTS.items():
        d = root / pid
        d.mkdir(parents=True)
        if sub is None:
            continue
        for p in sorted((GROCERY / "train" / sub).rglob("*.jpg"))[:n]:
            (d / p.name).symlink_to(p)
    return root


def test_media(work: Path, subs: list[str]) -> tuple[Path, list[Path]]:
    """A counter-camera stand-in video and a few image files, from *test* photos."""
    from camera_standins import write_video

    from app.core.images import load_rgb

    picks = [sorted((GROCERY / "test" / s).rglob("*.jpg")) for s in subs]
    frames = [load_rgb(p[0]) for p in picks for _ in range(15)]
    video = write_video(frames, work / "counter.mp4", fps=15, size=(640, 480))
    images = [p[1] for p in picks if len(p) > 1][:6]
    return video, images


def features_shipped() -> Path | None:
    """The default size's weights shipped in resources/ (then sizes that need a
    download show as such in Advanced), else None."""
    from app.core import features, resources

    return resources.find(f"{resources.BASE_WEIGHTS_DIR}/{features.weights_filename(0.35)}")


STEPS: list[tuple[str, float]] = []


def timed(step: str, run: Callable[[], Any]) -> None:
    """One step of the journey, its wall time printed (the walkthrough's timings)."""
    t0 = time.monotonic()
    run()
    STEPS.append((step, time.monotonic() - t0))
    print(f"step: {step}: {STEPS[-1][1]:.1f} s", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    ap.add_argument(
        "--vendure",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="log in to the real Vendure test server (default: when Node exists)",
    )
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument(
        "--only-train",
        action="store_true",
        help="only the Train screen (local folder): ready, Advanced, running, results",
    )
    ap.add_argument(
        "--owner",
        type=Path,
        default=Path("/home/owner"),
        help="neutral folder for the app's home and the demo shop (created, then removed)",
    )
    args = ap.parse_args(argv)
    use_vendure = args.vendure if args.vendure is not None else bool(shutil.which("node"))
    use_vendure = use_vendure and not args.only_train
    owner: Path = args.owner
    made = [owner / "Dukahub", owner / "Shop", owner / "ShopAssets", owner / "Counter photos"]
    owner_made = not owner.exists()
    if any(d.exists() for d in made):
        print(f"{owner} already has one of {[d.name for d in made]}: left alone", file=sys.stderr)
        return 2

    xvfb = None
    if not os.environ.get("DISPLAY"):
        xvfb, display = start_xvfb()
        if display is None:
            print("Xvfb is not installed (apt-get install xvfb)", file=sys.stderr)
            return 2
        os.environ["DISPLAY"] = display
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.*=false")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TFDF_DISABLE_WELCOME_MESSAGE", "1")
    work = Path(tempfile.mkdtemp(prefix="dukahub-shots-"))  # videos, the server's files
    os.environ["DUKAHUB_TRAINER_HOME"] = str(owner / "Dukahub")  # a brand-new user
    if features_shipped() is None:  # no internet here: the shared copy of the default
        os.environ["DUKAHUB_TRAINER_BASE_WEIGHTS"] = str(WEIGHTS)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()

    server = proc = None
    walk: Walk | None = None
    # A plain SIGTERM would skip the clean-up below and leave Node and Xvfb running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        if use_vendure:
            sys.path.insert(0, str(REPO / "tests"))
            from vendure_server import fixtures as vf

            print("starting the Vendure test server…", flush=True)
            vf.build_server()
            (work / "vendure").mkdir()
            proc, server = vf.start_server(work / "vendure")
            vf.seed(server)
            subs = [vf.FRUIT[n] for n in ("Banana", "Kiwi", "Lemon", "Mango")]
        else:
            subs = [FOLDER_PRODUCTS[k][0] for k in ("banana", "kiwi", "lemon", "tomato")]
        walk = Walk(out, work)  # creates the QApplication that write_video needs
        video, images = test_media(work, subs)
        counter = owner / "Counter photos"  # a neutral path under the picture
        counter.mkdir(parents=True)
        images = [Path(shutil.copy(p, counter / p.name)) for p in images]
        print(f"saving screenshots to {out}", flush=True)
        if server is not None:
            timed("Log in to the shop", lambda: walk.login_vendure(server))
        else:
            timed("Use a local folder", lambda: walk.login_local(make_folder(owner / "Shop")))
        if args.only_train:
            walk.wait_until(lambda: walk.session.catalogue() is not None, 300, "the catalogue")
            walk.wait_until(walk.idle_runner("catalogue", "check"), 300, "the photo check")
            walk.train(args.epochs)
            return 0
        for step, run in (
            ("Products: photos, webcam, counter frames", lambda: walk.products(video)),
            ("Train", lambda: walk.train(args.epochs)),
            ("Model", walk.model),
            ("Test: video and photo files", lambda: walk.test(video, images)),
            ("Publish", lambda: walk.publish(server is not None, owner / "ShopAssets")),
            ("Guide", walk.guide),
            ("Every screen at 800x600", walk.small),
        ):
            timed(step, run)
    finally:
        if walk is not None:
            walk.close()
        if proc is not None:
            vf.stop_server(proc)
        if xvfb is not None and walk is None:  # no Qt client ever connected
            xvfb.terminate()
            xvfb.wait(5)
        shutil.rmtree(work, ignore_errors=True)
        for d in made:
            shutil.rmtree(d, ignore_errors=True)
        if owner_made:
            shutil.rmtree(owner, ignore_errors=True)
    too_big = [p.name for p in walk.saved if p.stat().st_size > MAX_BYTES] if walk else []
    if too_big:
        print(f"over {MAX_BYTES // 1000} KB: {', '.join(too_big)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
