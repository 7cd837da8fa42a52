"""The two ways the app asks: before it switches models, and before it deletes.

Every publish, every "serve this version again" and every "use this one again" asks
through :func:`ask` (Cancel or a named Yes); every deletion of the owner's pictures
through :func:`ask_later` (a named Yes or No, without blocking). While a question is
open it is the owner's ``confirm_box``, so a test answers it by clicking the box's
real buttons.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget


def ask(owner: QWidget, title: str, text: str, info: str, yes: str) -> bool:
    """True when the owner clicks ``yes``; ``owner.confirm_box`` is the box while open."""
    box = QMessageBox(owner)
    box.setObjectName("confirm")
    box.setIcon(QMessageBox.Icon.Question)
    box.setTextFormat(Qt.TextFormat.PlainText)  # names as the shop wrote them, never HTML
    box.setWindowTitle(title)
    box.setText(text)
    box.setInformativeText(info)
    box.setStandardButtons(QMessageBox.StandardButton.Cancel | QMessageBox.StandardButton.Yes)
    box.button(QMessageBox.StandardButton.Yes).setText(yes)
    box.setDefaultButton(QMessageBox.StandardButton.Yes)
    holder: Any = owner
    holder.confirm_box = box
    try:
        return box.exec() == QMessageBox.StandardButton.Yes
    finally:
        holder.confirm_box = None
        box.deleteLater()


def ask_later(
    owner: QWidget,
    title: str,
    text: str,
    yes: str,
    then: Callable[[], None],
    parent: QWidget | None = None,
) -> QMessageBox:
    """The question before a deletion, without blocking: Yes (named ``yes``) or No, No
    the default; ``then()`` runs on Yes. ``owner.confirm_box`` is the box while open;
    it sits over ``parent`` (default: ``owner``)."""
    box = QMessageBox(QMessageBox.Icon.Question, title, "", parent=parent or owner)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(text)
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    box.button(QMessageBox.StandardButton.Yes).setText(yes)
    box.setDefaultButton(QMessageBox.StandardButton.No)
    holder: Any = owner

    def answered(result: int) -> None:
        holder.confirm_box = None
        if result == QMessageBox.StandardButton.Yes:
            then()

    box.finished.connect(answered)
    box.finished.connect(box.deleteLater)
    holder.confirm_box = box
    box.open()
    return box
