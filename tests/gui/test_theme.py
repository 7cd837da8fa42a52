"""The app keeps its light look on a computer set to a dark theme (an accessibility
audit: under a dark palette, the light "No counter frames yet" panel kept the theme's
light text, 1.15:1, and the app's grey, red and blue text sat on a dark window)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QApplication

from app.gui.theme import is_dark, keep_light

DARK_THEME = """
import numpy as np
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QApplication
dark = QPalette()
for role, colour in ((QPalette.ColorRole.Window, "#202124"),
                     (QPalette.ColorRole.WindowText, "#e8eaed"),
                     (QPalette.ColorRole.Base, "#181818"), (QPalette.ColorRole.Text, "#e8eaed")):
    dark.setColor(role, QColor(colour))
QApplication.setPalette(dark)  # as a dark desktop theme hands it over
from app.gui.main import make_app
app = make_app([])
p = app.palette()
print(p.color(QPalette.ColorRole.Window).name(), p.color(QPalette.ColorRole.WindowText).name())
"""


def dark_palette() -> QPalette:
    dark = QPalette(QApplication.instance().palette())
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        dark.setColor(group, QPalette.ColorRole.Window, QColor("#202124"))
        dark.setColor(group, QPalette.ColorRole.WindowText, QColor("#e8eaed"))
        dark.setColor(group, QPalette.ColorRole.Base, QColor("#181818"))
        dark.setColor(group, QPalette.ColorRole.Text, QColor("#e8eaed"))
    return dark


def test_a_dark_palette_is_replaced_by_a_light_one(qapp):
    saved_palette, saved_style = qapp.palette(), qapp.style().name()
    try:
        qapp.setPalette(dark_palette())
        assert is_dark(qapp.palette())
        keep_light(qapp)
        p = qapp.palette()
        assert not is_dark(p)
        assert p.color(QPalette.ColorRole.Window).lightness() > 200
        assert p.color(QPalette.ColorRole.WindowText).lightness() < 60
        assert p.color(QPalette.ColorRole.Base).lightness() > 200
        assert p.resolveMask() != 0  # every colour the app's: a later theme fills in none
    finally:
        qapp.setStyle(saved_style)
        qapp.setPalette(saved_palette)


def test_a_light_palette_is_left_as_it_is(qapp):
    before = qapp.palette().color(QPalette.ColorRole.Window).name()
    keep_light(qapp)
    assert qapp.palette().color(QPalette.ColorRole.Window).name() == before


def test_the_app_starts_light_under_a_dark_theme():
    out = subprocess.run(
        [sys.executable, "-c", DARK_THEME],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert out.returncode == 0, out.stderr
    window, text = out.stdout.split()
    assert QColor(window).lightness() > 200 and QColor(text).lightness() < 60


def test_keyboard_focus_shows_on_the_green_button_and_the_sidebar(qtbot):
    """The same audit: Start training's focus frame was 1.07:1 against its green, and the
    sidebar (``outline: 0``) looked the same with and without focus."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QLineEdit, QListWidget, QPushButton, QVBoxLayout, QWidget

    from app.gui.style import STYLE

    w = QWidget()
    qtbot.addWidget(w)
    w.setStyleSheet(STYLE)
    lay = QVBoxLayout(w)
    field, button, nav = QLineEdit(), QPushButton("Start training"), QListWidget()
    button.setObjectName("primary")
    nav.setObjectName("nav")
    nav.addItems(["Log in", "Products"])
    nav.setCurrentRow(1)
    for x in (field, button, nav):
        lay.addWidget(x)
    w.resize(300, 200)
    w.show()
    qtbot.waitExposed(w)

    def looks(widget) -> np.ndarray:
        widget.setFocus(Qt.FocusReason.TabFocusReason)
        qtbot.wait(20)
        image = w.grab().toImage().convertToFormat(QImage.Format.Format_Grayscale8)
        rows = np.frombuffer(image.constBits(), np.uint8).reshape(-1, image.bytesPerLine())
        return rows[:, : image.width()].astype(int)

    def change(a: np.ndarray, b: np.ndarray) -> int:
        """How strongly focus shows: the largest change of grey level of any pixel."""
        return int(np.abs(a - b).max())

    unfocused = looks(field)
    on_button = looks(button)
    assert change(unfocused, on_button) >= 60
    assert change(on_button, looks(nav)) >= 60


def test_weak_and_gone_are_said_in_words_not_only_in_red(qtbot, window, shop_folder, tm_export):
    """The same audit: a weak product's accuracy and a label no longer in the catalogue
    were marked by red alone, which a red-green colour-blind owner does not see."""
    from model_standins import train_result

    window.login.use_folder(shop_folder)
    qtbot.waitUntil(lambda: window.session.report is not None, timeout=20000)
    train = window.train
    window.show_screen("train")
    result = train_result(
        val_accuracy=0.7, per_product={"banana": 1.0, "kiwi": 0.4}, needs_more_photos=["kiwi"]
    )
    train.show_result(result, {"banana": 3, "kiwi": 3})
    cells = {
        train.per_product.item(r, 0).text(): train.per_product.item(r, 2).text()
        for r in range(train.per_product.rowCount())
    }
    assert cells["kiwi"] == "40% · weak" and cells["banana"] == "100%"
    window.show_screen("model")
    window.session.set_model_dir(tm_export)  # its labels are no products of this shop
    model = window.model
    qtbot.waitUntil(lambda: model.model is not None, timeout=20000)
    names = [model.labels_table.item(r, 2).text() for r in range(model.labels_table.rowCount())]
    assert names and all(n.endswith("(not in the catalogue now)") for n in names)


TEXT_COLOUR = re.compile(
    r"""(?<![-\w])color:\s*(#[0-9a-fA-F]{3,6})|setForeground\(QColor\("(#[0-9a-fA-F]{3,6})"\)"""
    r"""|return QColor\("(#[0-9a-fA-F]{3,6})"\)|QColor\((MUTED)\)"""
)


def contrast_on_white(colour: str) -> float:
    """WCAG's contrast ratio of a text colour on white."""
    c = QColor(colour)
    channels = [
        x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4
        for x in (c.redF(), c.greenF(), c.blueF())
    ]
    luminance = 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]
    return 1.05 / (luminance + 0.05)


def test_text_colours_reach_4_5_to_1_on_white():
    """Every text colour the app sets itself is readable on the light theme's white
    (the sidebar, on its own dark blue, aside): the same audit found #888, #777 and Qt's
    gray at 3.5, 4.5 and 2.6 to 1."""
    from app.gui import style

    gui = Path(style.__file__).parent
    found = []
    for path in sorted(gui.rglob("*.py")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if "#nav" in line:
                continue
            for match in TEXT_COLOUR.finditer(line):
                colour = next(g for g in match.groups() if g)
                colour = style.MUTED if colour == "MUTED" else colour
                found.append((f"{path.name}:{n}", colour, contrast_on_white(colour)))
    assert len(found) > 15  # the scan sees the app's colours
    assert [f for f in found if f[2] < 4.5] == []
