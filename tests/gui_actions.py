"""What a GUI test does as the owner: click a widget, answer the screen's next question."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer

LEFT = Qt.MouseButton.LeftButton


def click(qtbot, widget) -> None:
    """A real mouse click on a widget the owner can see and use."""
    assert widget.isVisible() and widget.isEnabled(), widget
    qtbot.mouseClick(widget, LEFT)


def answer_next_question(qtbot, screen, button: str, seen: list[str]) -> None:
    """Click ``button`` of the next confirmation the screen asks (a modal QMessageBox)."""
    tries = [0]

    def look() -> None:
        box = screen.confirm_box
        if box is None or not box.isVisible():
            tries[0] += 1
            if tries[0] < 200:  # 10 s
                QTimer.singleShot(50, look)
            return
        seen.append(box.text())
        qtbot.mouseClick(next(b for b in box.buttons() if b.text() == button), LEFT)

    QTimer.singleShot(0, look)
