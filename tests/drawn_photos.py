"""A drawn stand-in for a photo when a test needs many distinct files, not real photos.

One flat colour is refused as a photo to learn from (a blank upload, a placeholder), so
each picture is its colour with a lighter square in one corner: distinct per colour,
and not flat.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw


def drawn_photo(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> Path:
    """Write a picture of ``colour`` with a square of its lighter shade; returns ``path``."""
    im = Image.new("RGB", size, colour)
    light = tuple(min(255, c + 90) for c in colour)
    w, h = size
    ImageDraw.Draw(im).rectangle((0, 0, w // 3, h // 3), fill=light)
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path)
    return path


def distinct_colour(k: int) -> tuple[int, int, int]:
    """A colour of its own for each small ``k`` (a drawn photo that is no copy of another)."""
    return (40 + 29 * k % 150, 40 + 53 * k % 150, 40 + 71 * k % 150)


def drawn_photos(folder: Path, n: int, seed: int) -> list[Path]:
    """``n`` distinct drawn photos in ``folder`` (other ``seed``s: other pictures)."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        drawn_photo(folder / f"p{seed}-{i}.png", distinct_colour(seed * 10 + i)) for i in range(n)
    ]
