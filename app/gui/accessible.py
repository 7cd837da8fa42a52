"""What a screen reader hears: names for the controls, and what happened.

An accessibility audit found the app without one accessible name: fields named only by
a placeholder or a tooltip, tables and lists with no name, the Publish screen's channel
id read as its group's title, and "Model saved" or a failed training never told to a
screen reader, nor to an owner on another window (no taskbar alert).
"""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent
from PySide6.QtWidgets import QApplication, QWidget

W = TypeVar("W", bound=QWidget)


def named(widget: W, name: str, description: str = "") -> W:
    """``widget`` with the name a screen reader says (and what it is for)."""
    widget.setAccessibleName(name)
    if description:
        widget.setAccessibleDescription(description)
    return widget


def announce(widget: QWidget, text: str, urgent: bool = False) -> None:
    """Tell a screen reader ``text`` now (a banner's message: an error interrupts,
    anything else waits its turn); nothing happens without one running."""
    if not text:
        return
    event = QAccessibleAnnouncementEvent(widget, text)
    event.setPoliteness(
        QAccessible.AnnouncementPoliteness.Assertive
        if urgent
        else QAccessible.AnnouncementPoliteness.Polite
    )
    QAccessible.updateAccessibility(event)


def alert(widget: QWidget) -> None:
    """The taskbar entry asks for attention if the owner is in another window (a long
    training finished or failed); no-op while the app is in front."""
    QApplication.alert(widget.window())
