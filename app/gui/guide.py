"""Help → Getting started: the six steps in the owner's words, one click from every screen."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from .fitting import resize_within_screen

STEPS = [
    (
        "Connect",
        "Log in with your shop's address, user name and password — or, without a shop "
        "server, <i>Use a local folder</i> with one sub-folder of photos per product. "
        "<i>Try the sample shop</i> shows the whole way with six fruits.",
    ),
    (
        "Check your products",
        "Every product with its photos. Products without a usable photo are greyed out: "
        "the camera cannot learn them until you add one. Add photos from files or take "
        "them with the webcam at the counter — those help most.",
    ),
    (
        "Train",
        "One button. Training runs on this computer and tells you how long it takes; you "
        "can keep working meanwhile, and Cancel keeps your previous model.",
    ),
    (
        "Look at the result",
        "How many held-back photos the new model recognised, which products it mixes up, "
        "and which ones need more photos. The Model screen sums it up.",
    ),
    (
        "Test",
        "Hold a product in front of the camera, or test on photo files: the three best "
        "matches appear with how sure the model is. It only ever names products it was "
        "trained on.",
    ),
    (
        "Publish",
        "Send the model to your shop in one click — or publish it to a folder your shop "
        "serves, or save a copy of the three files. Earlier versions are kept, so you "
        "can always go back.",
    ),
]


def guide_html() -> str:
    items = "".join(f"<li><b>{title}.</b> {text}</li>" for title, text in STEPS)
    return (
        "<h2>Getting started</h2>"
        "<p>Teach your till's camera to recognise your products in six steps. "
        "Ctrl+1 … Ctrl+6 jump to each step.</p>"
        f"<ol>{items}</ol>"
        "<p>Press F1 to see this guide again.</p>"
    )


class GuideDialog(QDialog):
    """Non-modal, so the owner can follow the steps with the guide open."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Getting started")
        self.text = QTextBrowser()
        self.text.setHtml(guide_html())
        self.text.setOpenLinks(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        lay = QVBoxLayout(self)
        lay.addWidget(self.text)
        lay.addWidget(buttons)
        resize_within_screen(self, 520, 460)
