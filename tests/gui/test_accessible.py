"""What a screen reader hears (an accessibility audit: the app set no accessible name
anywhere, fields were named by a placeholder or their group's title, and messages were
only shown, never announced)."""

from __future__ import annotations

from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QHeaderView,
    QLineEdit,
    QProgressBar,
    QWidget,
)

from app.gui.widgets import Banner

CONTROLS = (QLineEdit, QComboBox, QAbstractSpinBox, QAbstractItemView, QProgressBar)


def heard(widget: QWidget) -> str:
    """The name a screen reader says for ``widget`` (its own, or its form label's)."""
    iface = QAccessible.queryAccessibleInterface(widget)
    return iface.text(QAccessible.Text.Name).strip() if iface is not None else ""


def unnamed(window) -> list[str]:
    return [
        f"{type(w).__name__} in {type(w.parent()).__name__}"
        for w in window.findChildren(QWidget)
        if isinstance(w, CONTROLS)
        and not isinstance(w, QHeaderView)  # named by its sections
        and not (isinstance(w, QLineEdit) and isinstance(w.parent(), (QComboBox, QAbstractSpinBox)))
        and w.isVisible()
        and not heard(w)
    ]


def test_every_control_on_every_screen_has_a_name(qtbot, window, shop_folder):
    assert unnamed(window) == []  # the login form
    window.login.use_folder(shop_folder)
    qtbot.waitUntil(lambda: window.session.report is not None, timeout=20000)
    for screen in ("products", "train", "model", "test", "publish"):
        window.show_screen(screen)
        qtbot.wait(100)
        assert unnamed(window) == [], screen
    window.show_screen("train")
    window.train.advanced_toggle.setChecked(True)
    qtbot.wait(100)
    assert unnamed(window) == []
    advanced = window.train.advanced
    assert heard(advanced.epochs) == "Passes over the photos"
    window.show_screen("publish")
    # it was read as its group's title, "Without the shop server"
    qtbot.waitUntil(lambda: window.publish is not None, timeout=5000)
    assert heard(window.publish.channel_id) == "Channel id"


def test_a_banner_tells_a_screen_reader_and_an_error_interrupts(qtbot, monkeypatch):
    told: list[tuple[str, object]] = []

    def update(event) -> None:
        if event.type() == QAccessible.Event.Announcement:
            told.append((event.message(), event.politeness()))

    monkeypatch.setattr(QAccessible, "updateAccessibility", staticmethod(update))
    banner = Banner()
    qtbot.addWidget(banner)
    banner.show_message("Model saved in /models/fruit after 12 s.", "ok")
    banner.show_message("Training failed: the disk is full.", "error")
    assert told == [
        ("Model saved in /models/fruit after 12 s.", QAccessible.AnnouncementPoliteness.Polite),
        ("Training failed: the disk is full.", QAccessible.AnnouncementPoliteness.Assertive),
    ]


def test_the_camera_pictures_words_reach_a_screen_reader(qtbot):
    from app.gui.camera.view import FrameView

    view = FrameView(None, "Starting camera…")
    qtbot.addWidget(view)
    view.placeholder = "No camera found"
    iface = QAccessible.queryAccessibleInterface(view)
    assert iface.text(QAccessible.Text.Description) == "No camera found"
