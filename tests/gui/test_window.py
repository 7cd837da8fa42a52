"""Desktop basics: run_gui, restored geometry and screen, shortcuts, errors, About, TM model."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap

from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from app.core import logs, paths
from app.gui import main as gui_main


def test_geometry_and_last_screen_are_restored(qtbot, make_window):
    w = make_window()
    w.setGeometry(QRect(40, 50, 700, 520))  # within the offscreen 800x600 screen
    w.show_screen("model")
    size = (w.width(), w.height())
    assert size != (1180, 780)  # not the default
    w.save_state()
    w.close()
    again = make_window()
    assert again.current_screen() == "model"
    assert (again.width(), again.height()) == size


def test_keyboard_shortcuts_switch_screens(qtbot, window):
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    assert window.current_screen() == "model"
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.current_screen() == "login"
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.current_screen() == "products"
    shortcuts = {a.text(): a.shortcut().toString() for a in window.actions()}
    assert shortcuts["&Open model folder…"] == "Ctrl+O"
    assert shortcuts["&Start training"] == "Ctrl+T"
    assert shortcuts["&Quit"] == "Ctrl+Q"


def test_uncaught_exception_shows_readable_dialog(qtbot, window, monkeypatch):
    logs.setup_logging()
    gui_main.install_excepthook()
    try:
        try:
            raise KeyError("weights")
        except KeyError as exc:
            sys.excepthook(type(exc), exc, exc.__traceback__)
        box = next(
            w
            for w in QApplication.topLevelWidgets()
            if isinstance(w, QMessageBox) and w.isVisible()
        )
        assert box.windowTitle() == "Unexpected error"
        assert "Traceback" not in box.text() and "KeyError" in box.text()
        assert "Traceback" in box.detailedText()  # only behind "Show Details…"
        box.close()
        logging.getLogger().handlers[-1].flush()
        log_text = (paths.log_dir() / logs.LOG_FILE).read_text()
        assert "Uncaught exception" in log_text and "KeyError: 'weights'" in log_text
    finally:
        sys.excepthook = sys.__excepthook__
        for h in list(logging.getLogger().handlers):
            if getattr(h, "_dukahub", False):
                logging.getLogger().removeHandler(h)
                h.close()


def test_about_and_log_folder(qtbot, window, monkeypatch):
    opened = []
    monkeypatch.setattr(
        "app.gui.window.QDesktopServices.openUrl", lambda url: opened.append(url.toLocalFile())
    )
    window.open_log_folder()
    assert opened == [str(paths.log_dir())]
    texts = []
    monkeypatch.setattr(
        "app.gui.window.QMessageBox.about", lambda parent, title, text: texts.append(text)
    )
    window.about()
    assert "PySide6 6." in texts[0] and "Python 3." in texts[0] and "TensorFlow" in texts[0]
    from app.core.shop import session_store_description

    assert f"Remembered logins: {session_store_description()}" in texts[0]


def test_open_teachable_machine_export(qtbot, window, tm_export):
    window.show_screen("model")
    window.session.set_model_dir(tm_export)
    model = window.model
    qtbot.waitUntil(lambda: model.model is not None, timeout=20000)
    assert "Teachable Machine" in model.kind.text()
    labels = [model.labels_table.item(r, 1).text() for r in range(model.labels_table.rowCount())]
    assert labels == ["노마스크", "마스크", "가위", "바위", "보"]
    fields = {model.meta_table.item(r, 0).text() for r in range(model.meta_table.rowCount())}
    assert {"tmVersion", "timeStamp", "modelName", "imageSize"} <= fields


def test_a_folder_that_is_not_a_model(qtbot, window, tmp_path):
    (tmp_path / "model.json").write_text("{not json")
    window.session.set_model_dir(tmp_path)
    window.show_screen("model")
    qtbot.waitUntil(lambda: window.model.banner.isVisible(), timeout=10000)
    assert window.model.banner.kind == "error"
    text = window.model.banner.text()
    assert "cannot be used as a model" in text and "weights.bin is missing" in text


def run_python(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """A fresh Python of this venv from the repository's root, as the owner's start is."""
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=str(paths.Path(__file__).parents[2]),
    )


def test_cli_without_arguments_opens_the_window_without_tensorflow(tmp_path):
    """`dukahub-trainer` with no subcommand in a fresh process: the window appears
    before TensorFlow is loaded."""
    script = textwrap.dedent("""
        import sys
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication
        from app.cli import main

        app = QApplication(["dukahub-trainer"])  # run_gui reuses it; lets us queue a check

        def check():
            w = QApplication.activeWindow() or QApplication.topLevelWidgets()[0]
            print("TITLE", [x.windowTitle() for x in QApplication.topLevelWidgets()
                            if x.isVisible()])
            print("TF", "tensorflow" in sys.modules)
            QApplication.quit()

        QTimer.singleShot(0, check)
        sys.exit(main([]))  # no subcommand: the desktop app
    """)
    env = {**__import__("os").environ, "DUKAHUB_TRAINER_HOME": str(tmp_path)}
    out = run_python(["-c", script], env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Dukahub Model Trainer" in out.stdout
    assert "TF False" in out.stdout
    assert (tmp_path / "logs" / logs.LOG_FILE).exists()
    saved = json.loads((tmp_path / "config" / "settings.json").read_text())
    assert saved["window_geometry"] and saved["last_screen"] == "login"


def test_no_display_is_one_line_not_a_qt_abort(tmp_path):
    """Over ssh or on a text console Qt aborted (exit 134) advising to install
    libxcb-cursor0, which the bundle carries."""
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)
    env["DUKAHUB_TRAINER_HOME"] = str(tmp_path)
    out = run_python(["-m", "app"], env)
    assert out.returncode == 1, out.stderr[-2000:]
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "Error: the app's window cannot open: there is no graphical display here"
    ), out.stderr
    assert "dukahub-trainer --help" in lines[0]


def test_a_missing_system_library_is_one_line(monkeypatch, capsys):
    """libEGL.so.1 hidden: two tracebacks ("Error in sys.excepthook", then the original)."""
    from app.gui import main as gui_main

    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setitem(sys.modules, "PySide6.QtWidgets", None)  # its import now fails
    assert gui_main.run_gui(["dukahub-trainer"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "a system library it needs is missing" in lines[0]
    assert gui_main.NEEDED_LIBRARIES in lines[0]


def test_a_bug_in_background_work_is_inline_plus_details_dialog(
    qtbot, window, tmp_path, monkeypatch
):
    def broken(folder):
        raise RuntimeError("boom")

    monkeypatch.setattr("app.core.sources.catalogue_from_folder", broken)
    window.login.use_folder(tmp_path)
    banner = window.products.banner
    qtbot.waitUntil(lambda: banner.kind == "error", timeout=5000)
    assert banner.text() == (
        "Could not load the products: Something went wrong (RuntimeError: boom)."
    )
    box = next(
        w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()
    )
    assert "Traceback" not in box.text() and "RuntimeError" in box.detailedText()
    assert "Traceback" in box.detailedText()
    box.close()


def test_window_modules_load_no_tensorflow_or_multimedia():
    """Start-up cost: TensorFlow loads in the background, QtMultimedia with the Test screen."""
    code = (
        "import sys\nimport app.gui.main, app.gui.window\n"
        "print('tensorflow' in sys.modules, 'PySide6.QtMultimedia' in sys.modules,"
        " 'app.core.shop' in sys.modules)\n"
    )
    out = run_python(["-c", code], dict(__import__("os").environ))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False", "False"]


def test_a_folder_opened_is_remembered_at_once(qtbot, window, shop_folder):
    """An audit of the app killed mid-work: the folder was saved before the kind of
    source was set, so an app killed afterwards (a power cut) started on the login
    screen with the folder forgotten, though the owner had worked in it for an hour."""
    window.login.use_folder(shop_folder)
    saved = paths.Settings.load()  # what a restart after a kill reads
    assert saved.last_source == "folder" and saved.last_folder == str(shop_folder)
