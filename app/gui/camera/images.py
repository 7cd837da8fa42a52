"""Pictures between NumPy and Qt, and the check that a picture shows anything at all.

Every picture source emits ``H×W×3`` uint8 RGB arrays, read-only because one array is
shared by every listener; widgets paint QImages made from them (a deep copy each).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

# A frame whose grey levels vary less than this (standard deviation, 0..255) is one
# flat colour: a covered lens, a camera showing black, a blank wall.
BLANK_STD = 4.0


def qimage_to_rgb(image: QImage) -> np.ndarray:
    """Copy a QImage of any format into a fresh ``H×W×3`` uint8 RGB array."""
    if image.isNull():
        raise ValueError("empty image")
    if image.format() != QImage.Format.Format_RGB888:
        image = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, bpl = image.height(), image.width(), image.bytesPerLine()
    buf = np.frombuffer(image.constBits(), dtype=np.uint8, count=bpl * h)
    # Rows are padded to 4 bytes; drop the padding while copying.
    return buf.reshape(h, bpl)[:, : w * 3].reshape(h, w, 3).copy()


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """An independent QImage (deep copy) of an ``H×W×3`` uint8 RGB array."""
    arr = np.ascontiguousarray(rgb, dtype=np.uint8)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected H×W×3 RGB, got shape {arr.shape}")
    h, w = arr.shape[:2]
    return QImage(arr.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def readonly(rgb: np.ndarray) -> np.ndarray:
    """A read-only view: what every source emits, so no listener changes another's."""
    view = rgb.view()
    view.flags.writeable = False
    return view


def grey_std(rgb: np.ndarray) -> float:
    """Spread of the grey levels of a frame, on a subsample (cheap at any size)."""
    step = max(1, max(rgb.shape[:2]) // 160)
    small = np.asarray(rgb[::step, ::step, :3], dtype=np.float32)
    grey = small @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return float(grey.std())


def is_blank(rgb: np.ndarray) -> bool:
    """Almost one flat colour: nothing of the counter to learn from."""
    return grey_std(rgb) < BLANK_STD
