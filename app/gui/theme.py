"""The app keeps its light look on a computer set to a dark theme.

The style sheet and the screens colour their text and panels for a light background
(banners, the green Start button, red and amber warnings, the "No counter frames yet"
panel). An accessibility audit ran the app under a dark system palette: light panels
kept the theme's light text (1.15:1, unreadable) and grey, red and blue text sat on a
dark background (1.1–2.6:1). Until every colour has a dark twin, the app asks Qt for
the light scheme, and where the platform's theme still hands it a dark palette (a
desktop whose theme sets the colours itself), it uses Fusion's own light palette.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory


def is_dark(palette: QPalette) -> bool:
    """Light text on a darker window: the colours a dark theme gives."""
    window = palette.color(QPalette.ColorRole.Window)
    text = palette.color(QPalette.ColorRole.WindowText)
    return window.lightness() < 128 or text.lightness() > window.lightness()


def light_palette() -> QPalette:
    """Fusion's light palette with every colour set by the app, so that a theme changed
    while the app runs (a desktop switched to dark at sunset) fills in none of them."""
    standard = QStyleFactory.create("Fusion").standardPalette()
    palette = QPalette()
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive,
                  QPalette.ColorGroup.Disabled):  # fmt: skip
        for role in QPalette.ColorRole:
            if role != QPalette.ColorRole.NColorRoles:
                palette.setColor(group, role, standard.color(group, role))
    return palette


def keep_light(app: QApplication) -> None:
    """Ask for the light scheme; if the palette is dark anyway, Fusion's light one."""
    app.styleHints().setColorScheme(Qt.ColorScheme.Light)
    if is_dark(app.palette()):
        app.setStyle(QStyleFactory.create("Fusion"))
        app.setPalette(light_palette())
