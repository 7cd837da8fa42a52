"""The main window: a sidebar of steps (log in → products → train → model → test → publish)."""

from __future__ import annotations

import logging
import platform
import sys
from html import escape
from pathlib import Path
from threading import Event
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSize, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QStyle,
    QWidget,
)

from app import __version__
from app.core import paths, resources
from app.core.errors import SessionExpired
from app.core.progress import ProgressHook

from .accessible import named
from .changes import ChangesBanner, ChangesWatcher
from .screen_host import LazyScreens, ScreenHost
from .screens.login import LoginScreen
from .screens.recognise.host import RecogniseScreenHost
from .session import Session
from .style import STYLE
from .tasks import Task, TaskRunner
from .widgets import ElidedLabel

if TYPE_CHECKING:  # the screens load on first use (ScreenHost): not at start-up
    from app.core.flows.open_source import Source
    from app.core.flows.teach import Taught

    from .screens.model import ModelScreen
    from .screens.products import ProductsScreen
    from .screens.publish import PublishScreen
    from .screens.train import TrainScreen

log = logging.getLogger(__name__)

APP_VERSION = __version__

SCREENS = ["login", "products", "train", "model", "test", "publish"]
TITLES = {
    "login": "Log in",
    "products": "Products",
    "train": "Train",
    "model": "Model",
    "test": "Test",
    "publish": "Publish",
}


class MainWindow(QMainWindow):
    def __init__(self, settings: paths.Settings | None = None) -> None:
        super().__init__()
        self.setWindowTitle("Dukahub Model Trainer")
        self.setWindowIcon(app_icon())  # also the About box's icon
        self.settings = settings or paths.Settings.load()
        self.runner = TaskRunner(self)
        self._shut_down = False
        self.session = Session(self.runner, self.settings, self)

        self.login = LoginScreen(self.session)
        # "3 new products … since the model your shop serves": Products and Publish
        self.changes = ChangesWatcher(self.session, self)
        self.lazy = LazyScreens(self.session, self.changes, self, self)  # built on first use
        self.test = RecogniseScreenHost(self.runner, self.settings)
        self.test.set_catalogue_source(self.session.catalogue)  # the products' photos
        self.screens: dict[str, QWidget] = {
            "login": self.login,
            "products": self.lazy.products,
            "train": self.lazy.train,
            "model": self.lazy.model,
            "test": self.test,
            "publish": self.lazy.publish,
        }

        self.nav = named(QListWidget(), "Steps", "Log in, Products, Train, Model, Test, Publish")
        self.nav.setObjectName("nav")
        self.nav.setFixedWidth(170)
        self.nav.setIconSize(QSize(18, 18))
        self.stack = QStackedWidget()
        icons = {
            "login": QStyle.StandardPixmap.SP_DriveNetIcon,
            "products": QStyle.StandardPixmap.SP_FileDialogContentsView,
            "train": QStyle.StandardPixmap.SP_MediaPlay,
            "model": QStyle.StandardPixmap.SP_FileDialogInfoView,
            "test": QStyle.StandardPixmap.SP_ComputerIcon,
            "publish": QStyle.StandardPixmap.SP_ArrowUp,
        }
        for i, key in enumerate(SCREENS):
            item = QListWidgetItem(self.style().standardIcon(icons[key]), TITLES[key])
            item.setToolTip(f"{TITLES[key]} (Ctrl+{i + 1})")
            self.nav.addItem(item)
            self.stack.addWidget(self.screens[key])
        self.nav.currentRowChanged.connect(self._nav_changed)

        central = QWidget()
        lay = QHBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.nav)
        lay.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.setStyleSheet(STYLE)

        self.source_label, self.task_label = ElidedLabel(), QLabel()  # a long path: "…"
        self.statusBar().addWidget(self.source_label, 1)
        self.statusBar().addPermanentWidget(self.task_label)
        self._build_menus()

        # wiring between screens (LazyScreens wires each of its screens as it builds it)
        self.login.source_chosen.connect(self._source_chosen)
        self.session.source_changed.connect(self._source_changed)
        self.session.model_changed.connect(self._model_changed)
        self.session.catalogue_changed.connect(
            lambda: self.test.set_product_names(self.session.names())
        )
        self.test.counter_frames_added.connect(lambda _n: self.session.counter_frames_edited())
        self.test.photos_taught.connect(self._photos_taught)
        self.runner.task_started.connect(self._tasks_changed)
        self.runner.task_finished.connect(self._tasks_changed)
        self.runner.task_finished.connect(self._check_session)

        self._restore_geometry()
        self._guide: QWidget | None = None
        self._restore_source()
        self._source_changed()
        start = self.settings.last_screen if self.settings.last_screen in SCREENS else "login"
        self._resume_screen = ""
        if start in ("products", "train") and self.session.source is None:
            self.show_screen("login")  # they need a shop or folder first
            self._resume_screen = start  # …where a remembered session, once back, returns
        else:
            self.show_screen(start)  # Model/Test/Publish work without a source
        self._model_changed()

    # -- the screens, built on first use (LazyScreens) -----------------------------------
    @property
    def products(self) -> ProductsScreen:
        return self.lazy.products.screen()

    @property
    def train(self) -> TrainScreen:
        return self.lazy.train.screen()

    @property
    def model(self) -> ModelScreen:
        return self.lazy.model.screen()

    @property
    def publish(self) -> PublishScreen:
        return self.lazy.publish.screen()

    @property
    def changes_banners(self) -> list[ChangesBanner]:
        """The "catalogue changed" banners of Products and Publish (both built)."""
        for host in (self.lazy.products, self.lazy.publish):
            host.screen()  # a screen's banner is made with the screen
        return [self.lazy.banners["products"], self.lazy.banners["publish"]]

    def _restore_source(self) -> None:
        """Reopen the last local folder (a shop session reconnects after the first paint)."""
        s = self.settings
        if s.last_source != "folder" or not s.last_folder:
            return
        folder = Path(s.last_folder)
        if folder.is_dir():
            self.session.use_folder(folder)
        else:
            s.last_source = ""
            self.login.banner.show_message(
                f"The folder {folder} is no longer there; choose your shop's folder again.",
                "warn",
            )

    def _source_chosen(self) -> None:
        """On to Products, or back where the owner was; a background reconnect never moves."""
        resume, self._resume_screen = self._resume_screen, ""
        if resume in SCREENS:
            self.show_screen(resume)
        elif self.current_screen() == "login":
            self.show_screen("products")

    # -- menus & shortcuts --------------------------------------------------------------
    def _action(self, text: str, slot, shortcut: QKeySequence | str | None = None) -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        a.triggered.connect(slot)
        self.addAction(a)
        return a

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        f.addAction(self._action("Use a &local folder…", self.login.choose_folder, "Ctrl+Shift+O"))
        f.addAction(
            self._action(
                "&Open model folder…", self.open_model_folder, QKeySequence.StandardKey.Open
            )
        )
        f.addSeparator()
        self.logout_action = self._action("Log &out", self.login.log_out)
        f.addAction(self.logout_action)
        f.addSeparator()
        f.addAction(self._action("&Quit", self.close, "Ctrl+Q"))

        go = mb.addMenu("&Go")
        for i, key in enumerate(SCREENS):
            go.addAction(
                self._action(
                    TITLES[key], lambda _=False, k=key: self.show_screen(k), f"Ctrl+{i + 1}"
                )
            )
        tr = mb.addMenu("&Training")
        self.train_action = self._action("&Start training", self.start_training, "Ctrl+T")
        tr.addAction(self.train_action)
        tr.addAction(self._action("&Cancel running work", self.cancel_work, "Ctrl+."))
        tr.addAction(self._action("&Reload products", self.lazy.reload_products, "F5"))

        h = mb.addMenu("&Help")
        h.addAction(self._action("Open &log folder", self.open_log_folder))
        h.addAction(
            self._action("&Getting started", self.show_guide, QKeySequence.StandardKey.HelpContents)
        )
        h.addAction(self._action("&About Dukahub Model Trainer", self.about))

    # -- navigation -----------------------------------------------------------------
    def show_screen(self, key: str) -> None:
        self.nav.setCurrentRow(SCREENS.index(key))

    def current_screen(self) -> str:
        return SCREENS[max(0, self.stack.currentIndex())]

    def _nav_changed(self, row: int) -> None:
        if row < 0:
            return
        if SCREENS[row] != "login":
            self._resume_screen = ""  # the owner moved on: a late reconnect must not jump
        host = self.screens[SCREENS[row]]
        if isinstance(host, ScreenHost):
            # built before the stack shows it, so it is laid out in that same show (built
            # in its showEvent it would appear for one pass of the event loop unlaid)
            host.screen()
        self.stack.setCurrentIndex(row)
        self.settings.last_screen = SCREENS[row]

    def show_product(self, pid: str, name: str = "") -> None:
        """A product named on another screen (Train's "Add photos of"): its photos."""
        self.show_screen("products")
        self.products.show_product(pid, name)

    def start_training(self) -> None:
        self.show_screen("train")
        if self.train.start_button.isEnabled():
            self.train.start()

    def cancel_work(self) -> None:
        for t in self.runner.running():
            if t.name in ("train", "catalogue", "publish"):
                t.cancel()

    def open_model_folder(self) -> None:
        self.show_screen("model")
        self.model.choose_folder()

    def show_guide(self) -> QWidget:
        """Help → Getting started (F1): the six steps, beside the window."""
        from .guide import GuideDialog

        if self._guide is None:
            self._guide = GuideDialog(self)
        self._guide.show()
        self._guide.raise_()
        return self._guide

    def open_log_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(paths.log_dir())))

    def about(self) -> None:
        import PySide6

        from app.core.flows.login import session_store_description

        tf = sys.modules.get("tensorflow")
        lines = [  # escaped: a folder's name may hold "<"
            f"Dukahub Model Trainer {APP_VERSION}",
            f"Python {platform.python_version()}",
            f"PySide6 {PySide6.__version__} (Qt {PySide6.QtCore.qVersion()})",
            f"TensorFlow {tf.__version__}" if tf else "TensorFlow (still loading)",
            "",
            f"Log files: {paths.log_dir()}",
            f"Remembered logins: {session_store_description()}",
        ]
        QMessageBox.about(
            self,
            "About Dukahub Model Trainer",
            "<b>Dukahub Model Trainer</b><br>Teach your point-of-sale camera to recognise "
            "your products.<br><br>" + "<br>".join(map(escape, lines)),
        )

    # -- state ------------------------------------------------------------------------
    def _source_changed(self) -> None:
        src = self.session.source
        self.test.set_images_folder(self._sample_test_photos(src))
        self.test.set_store(self.session.store)
        self.source_label.setText("Not connected" if src is None else f"Using {src.label}")
        where = "" if src is None else src.short_name
        self.setWindowTitle("Dukahub Model Trainer" + (f" — {where}" if where else ""))
        self.logout_action.setEnabled(self.session.logged_in)
        has = src is not None
        for key in ("products", "train"):
            item = self.nav.item(SCREENS.index(key))
            flags = item.flags()
            item.setFlags(
                flags | Qt.ItemFlag.ItemIsEnabled if has else flags & ~Qt.ItemFlag.ItemIsEnabled
            )

    @staticmethod
    def _sample_test_photos(src: Source | None) -> str:
        """The sample shop's other photos, where "Image files…" opens for the sample shop."""
        from app.core.flows.open_source import sample_test_photos

        if src is None or not src.is_sample_shop:
            return ""
        found = sample_test_photos()
        return str(found) if found is not None else ""

    def _model_changed(self) -> None:
        self.test.set_model_dir(self.session.model_dir)

    def _photos_taught(self, taught: Taught) -> None:
        """A Test-screen correction: new added photos, and the local model updated."""
        self.session.edited()
        if taught.result is not None and taught.result.model_dir == self.session.model_dir:
            self.session.model_changed.emit()  # Model, Train, Publish read the new metadata

    def _check_session(self, task: Task) -> None:
        """Any task that finds the shop session expired sends the owner back to log in."""
        if task.error is not None and isinstance(task.error.exception, SessionExpired):
            if self.session.logged_in:
                self.session.logout()
                self.show_screen("login")
            self.login.banner.show_message(task.error.message, "warn")

    def _tasks_changed(self, _task: Task) -> None:
        names = {
            "train": "Training",
            "catalogue": "Loading products",
            "publish": "Publishing",
            "warmup": "Loading the recognition engine",
            "model": "Reading model",
        }
        running = [names[t.name] for t in self.runner.running() if t.name in names]
        self.task_label.setText(" · ".join(running) + ("…" if running else ""))

    # -- start-up / shutdown ----------------------------------------------------------
    def _restore_geometry(self) -> None:
        g = self.settings.window_geometry
        if g and self.restoreGeometry(QByteArray.fromBase64(g.encode("ascii"))):
            return
        screen = QApplication.primaryScreen()
        avail = screen.availableGeometry() if screen else None
        w, h = 1180, 780
        if avail is not None:
            w, h = min(w, avail.width()), min(h, avail.height())
        self.resize(w, h)

    def after_first_paint(self) -> None:
        """Background work that must not delay the first window: TensorFlow, session."""
        if self._shut_down:  # closed before this timer fired: a thread now would outlive us
            return
        self.warm_up()
        if self.session.source is None:
            task = self.login.try_restore()
            if task is not None:  # a remembered session that no longer works: say so
                task.failed.connect(lambda _err: self.show_screen("login"))

    def warm_up(self) -> Task:
        def work(on_progress: ProgressHook, cancel: Event) -> None:
            from app.core.flows.train import load_engine

            load_engine()  # TensorFlow, the trainer, the shop client: first clicks wait less

        task = self.runner.start("warmup", work)
        task.succeeded.connect(lambda _r: self.session.mark_engine_loaded())
        task.failed.connect(lambda err: log.error("TensorFlow warm-up failed: %s", err.message))
        return task

    def save_state(self) -> None:
        self.settings.window_geometry = bytes(self.saveGeometry().toBase64()).decode("ascii")
        self.settings.last_screen = self.current_screen()
        try:
            self.settings.save()
        except OSError as exc:
            log.warning("could not save settings: %s", exc)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.runner.current("train") is not None or self.runner.current("publish") is not None:
            answer = QMessageBox.question(
                self, "Quit?", "Training or publishing is still running. Stop it and quit?"
            )
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        self.save_state()
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop every thread (tasks, thumbnails, Test screen); safe to call twice."""
        if self._shut_down:
            return
        self._shut_down = True
        self.changes.stop()  # its timer would start a check after the runner stopped
        self.test.shutdown()  # first: the camera stops, corrections waiting are kept
        self.runner.shutdown(timeout_s=10)
        self.session.thumbnails.shutdown()


def app_icon() -> QIcon:
    """The app icon from resources/ in every size drawn; a missing file is logged by name."""
    icon = QIcon()
    for size in (16, 24, 32, 48, 64, 128, 256):
        name = f"icons/dukahub-trainer-{size}.png"
        found = resources.find(name)
        if found is None:
            log.warning("app icon file missing: resources/%s", name)
            continue
        icon.addFile(str(found), QSize(size, size))
    return icon


def schedule_after_paint(window: MainWindow) -> None:
    QTimer.singleShot(50, window.after_first_paint)
