"""Start the desktop app: logging, Qt application, error hook, main window.

Heavy modules (TensorFlow, the trainer, the shop client) are not imported here;
the window appears first and they load in the background.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import threading
import time
import traceback
from types import TracebackType
from typing import TYPE_CHECKING

from app import __version__
from app.core.errors import TrainerError
from app.core.flows.command import start_app

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication, QWidget

log = logging.getLogger("app")

EXIT_AFTER_FIRST_PAINT_ENV = "DUKAHUB_TRAINER_EXIT_AFTER_FIRST_PAINT"


def install_excepthook() -> None:
    """Uncaught exceptions: logged, then one readable dialog (traceback under Details)."""

    def hook(etype: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if issubclass(etype, KeyboardInterrupt):
            sys.__excepthook__(etype, value, tb)
            return
        text = "".join(traceback.format_exception(etype, value, tb))
        log.error("Uncaught exception:\n%s", text)
        from PySide6.QtWidgets import QApplication

        in_main = threading.current_thread() is threading.main_thread()
        if QApplication.instance() is None or not in_main:
            return
        from .tasks import TaskError
        from .widgets import show_error

        show_error(QApplication.activeWindow(), "Unexpected error", TaskError(value, text))

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        exc = args.exc_value or args.exc_type()
        text = "".join(traceback.format_exception(args.exc_type, exc, args.exc_traceback))
        log.error("Uncaught exception in thread %s:\n%s", getattr(args.thread, "name", "?"), text)

    sys.excepthook = hook
    threading.excepthook = thread_hook


def make_app(argv: list[str]) -> QApplication:
    """The QApplication (the existing one in tests), with high-DPI pass-through."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is not None:
        return app
    # Crisp on 150% displays: pass fractional scale factors through (Qt 6 scales by default).
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    app = QApplication(argv or [sys.argv[0] if sys.argv else "dukahub-trainer"])
    app.setApplicationName("Dukahub Model Trainer")
    app.setOrganizationName("Dukahub")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("com.dukahub.Trainer")  # Wayland: matches the menu entry's icon
    from .keys import enter_clicks_buttons
    from .theme import keep_light

    keep_light(app)
    enter_clicks_buttons(app)
    return app


def exit_after_first_paint(window: QWidget) -> None:
    """Print ``FIRST_WINDOW <unix time> <title>`` once the window has painted, then quit.

    For checks that must see the real app start without a screen or a person: the
    bundle's smoke test and the start-up benchmark (set EXIT_AFTER_FIRST_PAINT_ENV).
    """
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    class FirstPaint(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
            if event.type() == QEvent.Type.Paint:
                window.removeEventFilter(self)
                QTimer.singleShot(0, report)  # runs after this paint has been flushed
            return False

    def report() -> None:
        print(f"FIRST_WINDOW {time.time():.6f} {window.windowTitle()}", flush=True)
        QApplication.quit()

    window._first_paint = FirstPaint(window)  # type: ignore[attr-defined]  # keep it alive
    window.installEventFilter(window._first_paint)  # type: ignore[attr-defined]


CANNOT_START = 1


def cannot_start(argv: list[str] | None, exc: OSError | TrainerError) -> int:
    """The app's own folders cannot be written (a read-only home, ``config`` a file, a
    full disk): one readable dialog and one line on stderr, where a double-click on the
    app showed nothing at all and a terminal a traceback."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QMessageBox

    from app.core import paths
    from app.core.faults import describe_os_error

    where = os.environ.get(paths.HOME_ENV) or "your user folders (settings, data, cache, logs)"
    text = (
        f"Dukahub Model Trainer cannot start: "
        f"{describe_os_error(exc) if isinstance(exc, OSError) else exc}\n\n"
        f"It keeps its settings, models and logs in {where}: make that usable (writable, "
        f"a plain name), or point {paths.HOME_ENV} at another folder."
    )
    print(f"Error: {text.splitlines()[0]}", file=sys.stderr)
    make_app(list(argv or []))
    box = QMessageBox(
        QMessageBox.Icon.Critical, "Cannot start", text, QMessageBox.StandardButton.Ok
    )
    box.setObjectName("cannot-start")
    box.setTextFormat(Qt.TextFormat.PlainText)  # a folder's name may hold "<"
    if not os.environ.get(EXIT_AFTER_FIRST_PAINT_ENV):  # a check without a person: no wait
        box.exec()
    return CANNOT_START


def quiet_tensorflow_env() -> None:
    """No TensorFlow C++ or FFmpeg/VA-API probing chatter on the owner's terminal.

    Camera and playback errors still reach the app through Qt's error signals.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # not even "E … oneDNN … DT_HALF"
    os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.*=false")


NEEDED_LIBRARIES = "libegl1 libgl1 libopengl0 libfontconfig1 libxkbcommon-x11-0"


def window_problem(argv: list[str] | None) -> str | None:
    """Why the window cannot open here, found before Qt aborts (no display: "xcb-cursor0
    … is needed", then exit 134) or two tracebacks say it (a system library missing)."""
    qt_chooses = os.environ.get("QT_QPA_PLATFORM") or "-platform" in (argv or [])
    shown = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if sys.platform.startswith("linux") and not qt_chooses and not shown:
        return (
            "there is no graphical display here (DISPLAY and WAYLAND_DISPLAY are not set: "
            "an ssh session or a text console?); start it on the computer's desktop"
        )
    try:
        import PySide6.QtWidgets  # noqa: F401  (Qt's libraries load here)
    except ImportError as exc:
        first = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), repr(exc))
        return (
            f"a system library it needs is missing ({first}); on Debian or Ubuntu: "
            f"sudo apt install {NEEDED_LIBRARIES}"
        )
    return None


def run_gui(argv: list[str] | None = None) -> int:
    """Open the main window and run until it closes; returns the process exit code.

    ``argv`` is a full argument vector with the program name first (Qt reads options
    such as ``-platform`` from it), as ``app.cli`` passes it.
    """
    why = window_problem(argv)
    if why is not None:
        print(
            f"Error: the app's window cannot open: {why}. The command line works without "
            "it: dukahub-trainer --help",
            file=sys.stderr,
        )
        return CANNOT_START
    quiet_tensorflow_env()
    try:
        start_app()  # the log file, the private temp folder: the app's folders
    except (OSError, TrainerError) as exc:
        return cannot_start(argv, exc)
    install_excepthook()
    app = make_app(list(argv or []))
    from .single_instance import claim
    from .window import MainWindow, app_icon, schedule_after_paint

    app.setWindowIcon(app_icon())
    guard = claim()  # one copy per profile: a second one raises the first and quits
    if isinstance(guard, int):
        return guard
    log.info("starting the desktop app")
    try:
        window = MainWindow()  # reads the settings
    except OSError as exc:
        guard.release()
        return cannot_start(argv, exc)
    guard.attach(window)
    window.show()
    schedule_after_paint(window)
    if os.environ.get(EXIT_AFTER_FIRST_PAINT_ENV):
        exit_after_first_paint(window)
    code = app.exec()
    # Also when the app quits without the window closing (e.g. the session ends):
    # no thread may outlive its QThread object, and the window state is kept.
    window.save_state()
    window.shutdown()
    guard.release()
    log.info("desktop app closed (%s)", code)
    return int(code)


if __name__ == "__main__":
    sys.exit(run_gui(sys.argv))
