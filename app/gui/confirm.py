"""The one way the app asks before it switches models: Cancel or a named Yes.

Every publish, every "serve this version again" and every "use this one again" asks
through :func:`ask`; while the question is open it is the owner's ``confirm_box``, so
a test answers it by clicking the box's real buttons.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QMessageBox, QWidget


def ask(owner: QWidget, title: str, text: str, info: str, yes: str) -> bool:
    """True when the owner clicks ``yes``; ``owner.confirm_box`` is the box while open."""
    box = QMessageBox(owner)
    box.setObjectName("confirm")
    box.setIcon(QMessageBox.Icon.Question)
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
