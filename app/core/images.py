"""Decoding shop photos robustly and preprocessing them exactly as the POS does.

The POS follows Teachable Machine's input contract: RGB, centre square crop,
resize to ``imageSize``, ``x / 127 - 1``. Training, prediction and the TF.js
check all go through :func:`preprocess` so the three can never drift apart.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from .errors import ImageError
from .input_size import DEFAULT_IMAGE_SIZE
from .readers import NotRegularFile, open_regular

# Photos above this many pixels are refused rather than decoded (decompression bombs):
# a photo decoded whole (PNG, WebP, TIFF…), and a JPEG, which decodes at 1/8 of its side
# (a 200-megapixel phone photo, 16320×12240, costs 3 MP and 0.1 s; it was refused).
MAX_PIXELS = 80_000_000
MAX_JPEG_PIXELS = 260_000_000
JPEG_FORMATS = ("JPEG", "MPO")  # MPO: a phone's JPEG with a second picture (depth, portrait)
# Decoded images are reduced to at most this side: enough for 256-px crops with
# augmentation (bench/input_size.py measured 256 with this side).
WORK_SIDE = 448

Image.MAX_IMAGE_PIXELS = MAX_JPEG_PIXELS // 2  # Pillow refuses at twice this when opening
# EXIF orientation -> the turn that makes the photo upright (Pillow's exif_transpose)
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
ImageFile.LOAD_TRUNCATED_IMAGES = False

try:  # WebP/AVIF plugins are optional in Pillow builds
    from PIL import features as _pil_features

    WEBP_OK = bool(_pil_features.check("webp"))
except Exception:  # pragma: no cover
    WEBP_OK = False


def load_rgb(path: Path | str, max_side: int | None = WORK_SIDE) -> np.ndarray:
    """Decode any photo into an upright uint8 RGB array, bounded in memory.

    EXIF orientation is applied, alpha is composited on white (product shots with
    transparent backgrounds), CMYK/greyscale/palette/16-bit are converted.
    """
    path = Path(path)
    try:
        # Our own size check refuses bombs before decoding (MAX_PIXELS is below Pillow's
        # warning limit); no warnings.catch_warnings here: it is not thread-safe, and
        # photos are decoded in worker threads. Pillow's warning, if any, goes to the log.
        with open_regular(path) as fh, Image.open(fh) as im:
            drafted = bool(max_side) and im.format in JPEG_FORMATS
            if im.width * im.height > pixel_limit(im.format, reduced=bool(max_side)):
                raise ImageError(f"{path.name}: image too large ({im.width}×{im.height})")
            if drafted:  # JPEG can decode at 1/2, 1/4, 1/8 scale: huge photos stay cheap
                im.draft("RGB", (max_side, max_side))
            im.load()
            im = _to_rgb(_upright(im))
            if max_side and max(im.size) > max_side:
                im.thumbnail((max_side, max_side), Image.Resampling.BILINEAR)
            arr = np.asarray(im, dtype=np.uint8)
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise ImageError(f"{path.name}: image too large to decode safely") from None
    except UnidentifiedImageError:
        raise ImageError(f"{path.name}: not an image or an unsupported format") from None
    except FileNotFoundError:
        raise ImageError(f"{path.name}: file not found") from None
    except NotRegularFile as exc:  # a named pipe would block the read forever
        raise ImageError(f"{path.name}: {exc.strerror}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{path.name}: unreadable or truncated ({exc})") from None
    except MemoryError:
        raise
    except Exception as exc:  # a decoder's own fault on an odd file: that photo, not the run
        raise ImageError(f"{path.name}: unreadable ({type(exc).__name__}: {exc})") from None
    if arr.ndim != 3 or arr.shape[2] != 3 or min(arr.shape[:2]) < 8:
        raise ImageError(f"{path.name}: image is too small or malformed ({arr.shape})")
    return arr


def pixel_limit(fmt: str | None, *, reduced: bool = True) -> int:
    """The most pixels a photo of format ``fmt`` may have to be decoded: a JPEG read
    ``reduced`` (at 1/8 of its side) may have more than one decoded whole."""
    return MAX_JPEG_PIXELS if reduced and fmt in JPEG_FORMATS else MAX_PIXELS


def _upright(im: Image.Image) -> Image.Image:
    """The photo turned as its EXIF orientation says (a phone held upright stores it
    sideways). Pillow's ``exif_transpose`` also rewrites the EXIF it keeps, and a tag of
    an unusual type (a GPS latitude stored as text, a maker's name as a fraction) made
    that rewrite raise mid-training: the run ended with a traceback and no model. Only
    the orientation is read here; an EXIF block that cannot be read leaves it as stored."""
    try:
        orientation = im.getexif().get(0x0112)
    except Exception:  # Pillow's EXIF parser on a damaged block: the photo as stored
        return im
    turn = _UPRIGHT.get(orientation) if isinstance(orientation, int) else None
    return im if turn is None else im.transpose(turn)


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode == "RGB":
        return im
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(bg, rgba).convert("RGB")
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # stretched to the photo's brightest value (a float TIFF of 0-1 values went black)
        a = np.nan_to_num(np.asarray(im, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        a = np.clip(a, 0.0, None)
        hi = a.max() or 1.0
        return Image.fromarray((a * (255.0 / hi)).astype(np.uint8)).convert("RGB")
    return im.convert("RGB")


def centre_square(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return rgb[top : top + s, left : left + s]


def resize_square(rgb: np.ndarray, size: int) -> np.ndarray:
    """Centre square crop then bilinear resize: the shape the POS feeds the model."""
    sq = centre_square(rgb)
    if sq.shape[0] == size:
        return np.ascontiguousarray(sq)
    return np.asarray(Image.fromarray(sq).resize((size, size), Image.Resampling.BILINEAR))


# Teachable Machine's scaling of a pixel: ``x / 127 - 1`` (not 127.5)
TM_SCALE = 127.0


def normalise(rgb_square: np.ndarray) -> np.ndarray:
    """Teachable Machine's scaling, float32 (the feature model does it in its graph:
    :func:`app.core.features.image_features`)."""
    return rgb_square.astype(np.float32) / TM_SCALE - 1.0


def preprocess(rgb: np.ndarray, size: int = DEFAULT_IMAGE_SIZE) -> np.ndarray:
    return normalise(resize_square(rgb, size))


def make_thumbnail(path: Path | str, size: int = 128) -> np.ndarray:
    """Small upright RGB preview for the GUI; raises ImageError like load_rgb."""
    rgb = load_rgb(path, max_side=max(size * 2, 64))
    im = Image.fromarray(rgb)
    im.thumbnail((size, size), Image.Resampling.BILINEAR)
    return np.asarray(im)


def file_digest(path: Path | str) -> str:
    """Content hash: the key of cached features and of duplicate detection."""
    h = hashlib.blake2b(digest_size=16)
    with open_regular(path) as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
