"""Keys in the main window as a keyboard user expects them (found by an audit)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

from app.gui.keys import enter_clicks_buttons


def test_enter_on_a_focused_button_clicks_it_as_space_does(qtbot, window, request) -> None:
    app = QApplication.instance()
    keys = enter_clicks_buttons(app)  # what the app's start (gui.main.make_app) installs
    request.addfinalizer(lambda: app.removeEventFilter(keys))
    button = window.login.sample_button
    button.setFocus()

    qtbot.keyClick(button, Qt.Key.Key_Return)

    qtbot.waitUntil(lambda: window.session.source is not None, timeout=10000)
    assert window.session.source.is_sample_shop


def test_a_dialogs_buttons_keep_qts_own_enter(qtbot, request) -> None:
    app = QApplication.instance()
    keys = enter_clicks_buttons(app)
    request.addfinalizer(lambda: app.removeEventFilter(keys))
    box = QMessageBox(QMessageBox.Icon.Question, "Clear?", "Clear them all?")
    yes = box.addButton("Clear", QMessageBox.ButtonRole.AcceptRole)
    no = box.addButton("Keep", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(no)
    clicked: list[QPushButton] = []
    yes.clicked.connect(lambda: clicked.append(yes))
    no.clicked.connect(lambda: clicked.append(no))
    box.show()
    no.setFocus()

    qtbot.keyClick(no, Qt.Key.Key_Return)

    assert clicked == [no]  # once: Qt's default-button handling, not a second click
