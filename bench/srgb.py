"""Photos with their own colour profile read in sRGB: measured, not shipped (README).

46 of the 50 fruit catalogue photos carry an Adobe RGB profile, which the app ignores:
it reads them as stored, duller than a browser shows them and than the till's camera
frames are. ``enable()`` makes the app's decoder convert such photos (RGB with a profile
that is not sRGB) to sRGB with LittleCMS, for ``python bench/domains.py --srgb``; the
photos' cut-out decisions are kept apart from the app's own.
"""

from __future__ import annotations

import functools
import io

from PIL import Image, ImageCms

from app.core import images, photo_kinds

_SRGB = ImageCms.createProfile("sRGB")


@functools.lru_cache(maxsize=16)
def _to_srgb(icc: bytes) -> ImageCms.ImageCmsTransform | None:
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in ImageCms.getProfileDescription(profile).casefold().replace(" ", ""):
            return None  # already sRGB: as stored
        # no 1-pixel cache: photos are decoded in several threads at once
        return ImageCms.buildTransform(profile, _SRGB, "RGB", "RGB", flags=ImageCms.Flags.NOCACHE)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None


def enable() -> None:
    """From now on in this process, photos with a colour profile are decoded in sRGB."""
    as_stored = images._to_rgb

    def in_srgb(im: Image.Image) -> Image.Image:
        icc = im.info.get("icc_profile")
        transform = _to_srgb(bytes(icc)) if im.mode == "RGB" and icc else None
        return as_stored(im if transform is None else ImageCms.applyTransform(im, transform))

    images._to_rgb = in_srgb
    photo_kinds.CUTOUT_CHECK_FILE = photo_kinds.CUTOUT_CHECK_FILE.replace(".json", "-srgb.json")
