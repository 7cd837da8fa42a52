"""Draw the app icon (one master PNG) and derive every size and format from it.

Why a script: the icon is code-drawn, so anyone can change a colour and re-run it
instead of hunting for a design file. Output goes to ``resources/icons/`` and is
committed; the build only reads it.

Run:  python packaging/make_icons.py
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
NAME = "dukahub-trainer"
MASTER = 1024
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
GREEN = (46, 125, 50, 255)  # the app's primary button colour
DARK = (35, 48, 61, 255)  # the sidebar colour
WHITE = (255, 255, 255, 255)


def _rotate(points: list[tuple[float, float]], deg: float, c: tuple[float, float]):
    a = math.radians(deg)
    cos, sin = math.cos(a), math.sin(a)
    return [
        (c[0] + (x - c[0]) * cos - (y - c[1]) * sin, c[1] + (x - c[0]) * sin + (y - c[1]) * cos)
        for x, y in points
    ]


def draw_master(size: int = MASTER) -> Image.Image:
    """A white price tag with a camera lens on a green rounded square."""
    s = 4  # draw 4× larger, then downsample: smooth edges without antialiasing support
    n = size * s
    im = Image.new("RGBA", (n, n), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    pad = int(n * 0.04)
    d.rounded_rectangle((pad, pad, n - pad, n - pad), radius=int(n * 0.2), fill=GREEN)
    # the tag: a rectangle with a pointed left end, tilted 35°
    cx, cy = n * 0.52, n * 0.5
    w, h = n * 0.56, n * 0.36
    left, right, top, bottom = cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2
    point = left - h * 0.45
    tag = [(point, cy), (left, top), (right, top), (right, bottom), (left, bottom)]
    d.polygon(_rotate(tag, -35, (cx, cy)), fill=WHITE)
    # the tag's string hole
    hx, hy = _rotate([(left - h * 0.02, cy)], -35, (cx, cy))[0]
    r = n * 0.035
    d.ellipse((hx - r, hy - r, hx + r, hy + r), fill=GREEN)
    # a camera lens on the tag: dark ring, white gap, dark pupil, small highlight
    lx, ly = _rotate([(cx + w * 0.12, cy)], -35, (cx, cy))[0]
    for radius, colour in ((0.15, DARK), (0.105, WHITE), (0.075, DARK)):
        r = n * radius
        d.ellipse((lx - r, ly - r, lx + r, ly + r), fill=colour)
    r = n * 0.022
    gx, gy = lx - n * 0.03, ly - n * 0.03
    d.ellipse((gx - r, gy - r, gx + r, gy + r), fill=WHITE)
    return im.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    ICONS.mkdir(parents=True, exist_ok=True)
    master = draw_master()
    master.save(ICONS / f"{NAME}.png", optimize=True)
    for px in PNG_SIZES:
        master.resize((px, px), Image.Resampling.LANCZOS).save(
            ICONS / f"{NAME}-{px}.png", optimize=True
        )
    master.save(ICONS / f"{NAME}.ico", sizes=[(p, p) for p in (16, 24, 32, 48, 64, 128, 256)])
    master.save(ICONS / f"{NAME}.icns")
    print(f"wrote {len(PNG_SIZES) + 3} icon files to {ICONS}")


if __name__ == "__main__":
    main()
