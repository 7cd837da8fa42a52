"""The photo check: whether a file can be used as a photo, and why not, in the check's
words (``--json``, the log) and the owner's (the app). One check for training, the
counter frames, ``predict``, the Test screen and ``teach``, decided by content.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, UnidentifiedImageError

from .catalogue import IMAGE_FORMATS, UNSUPPORTED_IMAGE_SUFFIXES
from .images import pixel_limit
from .readers import file_kind

if TYPE_CHECKING:
    import numpy as np

MIN_SIDE = 32  # px: smaller photos hold nothing the 256-px model can learn from
# A strip (20000×40 px) passed the side check, then its working copy (long side 448 px)
# was 1 px high and failed late with an internal message.
MAX_ASPECT = 40
# How the photo check's own reasons begin: already in the owner's words, so the app
# shows them as they are (decoder messages get plainer words instead).
# (wording.plain_error still matches these for the Products screen; new code reads
# SkippedPhoto.plain, set where the problem is found.)
OWNER_READABLE_REASONS = (
    "not a supported format",
    "too small",
    "too narrow",
    "image too large",
    "not a photo",
    "a link to",
    "not a regular file",
    "one flat colour",
)
# Only a file this small for its pixels can be one flat colour, so only such files are
# decoded to look (a flat 1000×1000 JPEG is 16 KB, a PNG 5 KB, 0.016 and 0.005 bytes a
# pixel; the shared datasets' 5,476 photos hold 0.08 bytes a pixel or more).
FLAT_FILE_BYTES = 4096
FLAT_BYTES_PER_PIXEL = 0.04
FLAT_LOOK_SIDE = 128  # px: the picture is judged at this size (JPEG decodes at 1/8)
DAMAGED = "damaged or not a photo"
GONE = "the file is gone"
EMPTY = "the file is empty"
NOT_ALLOWED = "not allowed to read it"


@dataclass(frozen=True)
class PhotoProblem:
    """Why a file cannot be used as a photo: ``reason`` in the photo check's words (the
    ``--json`` "reason", the log), ``plain`` in the owner's (the app's list)."""

    reason: str
    plain: str


def read_photo(path: Path) -> np.ndarray:
    """The photo as RGB pixels, refused in the training check's words first (``predict``
    and ``teach`` said "image is too small or malformed ((1, 448, 3))" where ``train``
    says "too narrow (20000×50 px; …)"); :class:`ImageError` names the file."""
    from .errors import ImageError
    from .images import load_rgb

    problem = check_photo(path)
    if problem is not None:
        raise ImageError(f"{path.name}: {problem.reason}")
    return load_rgb(path)


def photo_problem(path: Path, *, to_learn_from: bool = False) -> str | None:
    """Why a file cannot be used as a photo, in the photo check's words (None: looks
    fine); :func:`check_photo` also gives the owner's words."""
    problem = check_photo(path, to_learn_from=to_learn_from)
    return None if problem is None else problem.reason


def check_photo(path: Path, *, to_learn_from: bool = False) -> PhotoProblem | None:
    """Why a file cannot be used as a photo, from its header alone (None: looks fine).

    Decided by content, not by name: a JPEG saved as ``.jfif`` or without an extension
    is a photo, a text file is "not a photo". The suffix list only names formats we
    recognise but cannot read (HEIC, raw). Only regular files are opened, so a named
    pipe never blocks the check. The owner's words are chosen here, by what went wrong.

    ``to_learn_from``: a photo training learns from (a product's, a counter frame) must
    also not be one flat colour. A blank upload or a placeholder was trained as the
    product, which then named every blank picture; ``predict`` still answers for one
    (the owner may test what the till says of an empty picture).
    """

    def owners(reason: str) -> PhotoProblem:  # already in the owner's words
        return PhotoProblem(reason, reason)

    suffix = path.suffix.lower()
    try:
        st = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            try:
                target = os.readlink(path)
            except OSError:
                target = "?"
            return owners(f"a link to a file that does not exist ({target})")
        return PhotoProblem("file not found", GONE)
    except OSError as exc:
        return PhotoProblem(f"unreadable ({exc.strerror or exc})", _os_words(exc))
    if not stat.S_ISREG(st.st_mode):
        return owners(f"not a regular file ({file_kind(st.st_mode)})")  # a folder, a pipe
    if suffix in UNSUPPORTED_IMAGE_SUFFIXES and _plain_format(path) is None:
        return owners(f"not a supported format ({suffix[1:].upper()}; save it as JPEG or PNG)")
    if st.st_size == 0:
        return PhotoProblem("empty file", EMPTY)
    try:
        with Image.open(path) as im:
            (w, h), fmt = im.size, im.format
    except FileNotFoundError:
        return PhotoProblem("file not found", GONE)
    except UnidentifiedImageError:
        if suffix in IMAGE_FORMATS:
            return PhotoProblem("not an image or an unsupported format", DAMAGED)
        return owners("not a photo")
    except OSError as exc:
        return PhotoProblem(f"unreadable ({exc})", _os_words(exc))
    except (SyntaxError, ValueError) as exc:
        return PhotoProblem(f"unreadable ({exc})", DAMAGED)
    except Image.DecompressionBombError:  # Pillow's own limit, at twice its warning size
        return owners("image too large to decode safely")
    if w * h > pixel_limit(fmt):  # training reads a JPEG at 1/8 of its side
        return owners(f"image too large ({w}×{h})")
    if min(w, h) < MIN_SIDE:
        return owners(f"too small ({w}×{h} px; photos need at least {MIN_SIDE} px a side)")
    if max(w, h) > MAX_ASPECT * min(w, h):
        return owners(
            f"too narrow ({w}×{h} px; the long side may be at most {MAX_ASPECT} times the short)"
        )
    small = st.st_size <= FLAT_FILE_BYTES + FLAT_BYTES_PER_PIXEL * w * h  # maybe flat
    if to_learn_from and small and _one_colour(path):
        return owners("one flat colour (a blank or placeholder picture: nothing to learn)")
    return None


def _one_colour(path: Path) -> bool:
    """Whether a photo is one flat colour, judged on a small decoded copy (upright, alpha
    on white, as training reads it)."""
    from .errors import ImageError
    from .frame_checks import one_colour
    from .images import load_rgb

    try:
        rgb = load_rgb(path, max_side=FLAT_LOOK_SIDE)
    except ImageError:  # the decoder's refusal comes when training reads it, in its words
        return False
    return one_colour(rgb)


def _plain_format(path: Path) -> str | None:
    """ "JPEG", "PNG" or "WEBP" when a file named as a format we cannot read is really one
    of these (a phone's export kept ``.HEIC``; ``predict`` and ``teach`` used it while
    ``train`` refused it by name). Raw files stay refused: Pillow reads only their
    small preview, as a TIFF."""
    try:
        with Image.open(path) as im:
            fmt = im.format
    except Exception:  # unreadable for any reason: the format's own refusal says it
        return None
    return fmt if fmt in ("JPEG", "PNG", "WEBP") else None


def _os_words(exc: OSError) -> str:
    """The owner's words for an OS error opening a photo, by type."""
    if isinstance(exc, PermissionError):
        return NOT_ALLOWED
    if isinstance(exc, FileNotFoundError):
        return GONE
    return DAMAGED if exc.errno is None else "cannot be opened"


def decoder_words(reason: str) -> str:
    """The owner's words for a decoder's message (a photo that failed when it was read
    in full): the library's text is all there is, so its words decide."""
    r = reason.lower()
    if "truncat" in r or "cannot identify" in r or "not an image" in r or "decode" in r:
        return DAMAGED
    if "empty" in r:
        return EMPTY
    if "permission" in r or "denied" in r:
        return NOT_ALLOWED
    if "no such file" in r or "not found" in r:
        return GONE
    return "cannot be opened"
