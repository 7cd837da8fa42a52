"""Keys a keyboard user expects in the main window as in a dialog."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QPushButton

_ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


class EnterClicks(QObject):
    """Enter or Return on a focused push button clicks it, as Space does. Qt does that
    only for a dialog's buttons (``autoDefault``): in the main window Enter on "Try the
    sample shop" or "Start training" did nothing, and "Log in" looked like the default
    button without being one."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(obj, QPushButton)
            and isinstance(event, QKeyEvent)
            and event.key() in _ENTER
            and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            and not obj.autoDefault()  # a dialog's button: Qt's own handling
            and obj.isEnabled()
        ):
            obj.click()
            return True
        return False


def enter_clicks_buttons(app: QApplication) -> EnterClicks:
    """Installs :class:`EnterClicks` for every window of ``app`` (it lives as long)."""
    keys = EnterClicks(app)
    app.installEventFilter(keys)
    return keys
