"""Odd photos real shops have: each decodes upright RGB or fails with a named reason."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from app.core.errors import ImageError
from app.core.images import load_rgb, make_thumbnail, preprocess, resize_square


def _save(img: Image.Image, path, **kw) -> None:
    img.save(path, **kw)


def test_exif_rotation_is_applied(tmp_path) -> None:
    img = Image.new("RGB", (60, 30), (255, 0, 0))
    img.paste((0, 0, 255), (0, 0, 30, 30))  # left half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise when displayed
    p = tmp_path / "rot.jpg"
    img.save(p, exif=exif, quality=95)
    arr = load_rgb(p)
    assert arr.shape == (60, 30, 3)  # portrait after transpose
    assert arr[5, 15, 2] > 200  # blue ends up at the top


@pytest.mark.parametrize("orientation", [2, 3, 4, 5, 6, 7, 8])
def test_every_exif_orientation_is_turned_upright_as_viewers_do(tmp_path, orientation) -> None:
    """Phones and scanners store photos in any of the 8 EXIF orientations; each must come
    out as a photo viewer (Pillow's exif_transpose) shows it. Only 6 was checked: a photo
    upside down (3) stayed upside down, one turned left (8) came out turned right."""
    rng = np.random.default_rng(orientation)
    stored = rng.integers(0, 256, size=(24, 40, 3), dtype=np.uint8)  # no symmetry to hide a turn
    exif = Image.Exif()
    exif[0x0112] = orientation
    p = tmp_path / f"o{orientation}.png"  # lossless: the pixels must match exactly
    Image.fromarray(stored).save(p, exif=exif)
    with Image.open(p) as im:
        assert im.getexif()[0x0112] == orientation
        viewed = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    got = load_rgb(p)
    assert got.shape == viewed.shape
    assert np.array_equal(got, viewed)


@pytest.mark.parametrize("mode", ["L", "CMYK", "P", "I;16"])
def test_modes_become_rgb(tmp_path, mode) -> None:
    base = Image.new("RGB", (40, 40), (10, 200, 30))
    img = base.convert(mode) if mode != "I;16" else Image.new("I;16", (40, 40), 30000)
    fmt = "TIFF" if mode in ("CMYK", "I;16") else "PNG"
    p = tmp_path / f"x.{fmt.lower()}"
    img.save(p, format=fmt)
    arr = load_rgb(p)
    assert arr.dtype == np.uint8 and arr.shape == (40, 40, 3)


def test_a_float_tiff_keeps_its_picture(tmp_path) -> None:
    """Pillow's mode F (a scanner's or a tool's 0-1 floats) clipped to black."""
    ramp = np.tile(np.linspace(0.0, 1.0, 40, dtype=np.float32), (40, 1))
    p = tmp_path / "f.tif"
    Image.fromarray(ramp, mode="F").save(p)
    arr = load_rgb(p)
    assert arr.shape == (40, 40, 3) and arr[:, -1].min() == 255 and arr[:, 0].max() == 0


def test_alpha_is_composited_on_white(tmp_path) -> None:
    img = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    p = tmp_path / "t.png"
    img.save(p)
    assert load_rgb(p).min() == 255


def test_webp(tmp_path) -> None:
    p = tmp_path / "x.webp"
    Image.new("RGB", (32, 32), (1, 2, 3)).save(p, format="WEBP")
    assert load_rgb(p).shape == (32, 32, 3)


def test_huge_photo_is_bounded(tmp_path) -> None:
    p = tmp_path / "big.jpg"
    Image.new("RGB", (6000, 4000), (9, 9, 9)).save(p, quality=50)
    arr = load_rgb(p)
    assert max(arr.shape[:2]) <= 448


def test_decompression_bomb_refused(tmp_path) -> None:
    p = tmp_path / "bomb.png"
    Image.new("1", (12000, 8000)).save(p)  # 96 MP, tiny file
    with pytest.raises(ImageError, match="too large"):
        load_rgb(p)


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "not an image"), (b"hello", "not an image"), (None, "truncated")],
)
def test_corrupt_files_name_the_file(tmp_path, content, reason) -> None:
    p = tmp_path / "bad.jpg"
    if content is None:
        buf = io.BytesIO()
        Image.new("RGB", (200, 200), (100, 50, 25)).save(buf, format="JPEG")
        content = buf.getvalue()[:400]
    p.write_bytes(content)
    with pytest.raises(ImageError, match="bad.jpg") as info:
        load_rgb(p)
    assert reason in str(info.value)


def test_preprocess_matches_teachable_machine_contract() -> None:
    rgb = np.zeros((100, 300, 3), np.uint8)
    rgb[:, 100:200] = 254  # the centre square is white, the sides black
    x = preprocess(rgb, 224)
    assert x.shape == (224, 224, 3) and x.dtype == np.float32
    assert np.allclose(x, 254 / 127 - 1)  # centre crop only; x/127 - 1, not 127.5
    assert resize_square(rgb, 100).shape == (100, 100, 3)


def test_thumbnail(tmp_path) -> None:
    p = tmp_path / "a.png"
    Image.new("RGB", (400, 200), (5, 5, 5)).save(p)
    assert max(make_thumbnail(p, 64).shape[:2]) == 64


def _exif_with_gps_latitude_as_text() -> bytes:
    """IFD0: Orientation 6 (a phone held upright) and a GPS IFD whose GPSLatitude is
    text ("51.5") instead of three fractions: what some phone apps and editors write.
    Pillow cannot write such a tag, so the bytes are laid out here (little-endian)."""
    import struct

    def u32(v: int) -> bytes:
        return struct.pack("<I", v)

    gps_at = 8 + 2 + 2 * 12 + 4  # the GPS IFD right after IFD0
    ifd0 = (
        struct.pack("<H", 2)
        + struct.pack("<HHI", 0x0112, 3, 1) + struct.pack("<HH", 6, 0)
        + struct.pack("<HHI", 0x8825, 4, 1) + u32(gps_at)
        + u32(0)
    )  # fmt: skip
    text_at = gps_at + 2 + 12 + 4
    gps = struct.pack("<H", 1) + struct.pack("<HHI", 0x0002, 2, 8) + u32(text_at) + u32(0)
    return b"Exif\x00\x00II*\x00" + u32(8) + ifd0 + gps + b"51.5\x00\x00\x00\x00"


def test_an_exif_tag_of_an_odd_type_keeps_the_photo_upright(tmp_path) -> None:
    """Pillow's exif_transpose rewrote the EXIF after turning the photo and raised on
    the text latitude (TypeError): train ended with a traceback and no model."""
    import struct

    upright = (np.arange(40 * 60 * 3) % 251).astype(np.uint8).reshape(40, 60, 3)
    buf = io.BytesIO()
    Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90).save(buf, "JPEG", quality=95)
    jpeg, app1 = buf.getvalue(), _exif_with_gps_latitude_as_text()
    p = tmp_path / "phone.jpg"
    p.write_bytes(jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:])
    got = load_rgb(p)
    assert got.shape == upright.shape
    assert np.abs(got.astype(int) - upright).mean() < 3  # turned back, as the phone meant


def test_a_200_megapixel_phone_photo_is_read_at_an_eighth(tmp_path) -> None:
    """108 and 200 MP phone modes were refused as "too large"; a JPEG decodes at 1/8 of
    its side (3 MP here). A PNG that size is still refused: it decodes whole."""
    from app.core.photo_check import check_photo

    p = tmp_path / "phone.jpg"
    Image.new("L", (16320, 12240), 120).save(p, quality=40)  # 200 MB to make, not 600
    assert check_photo(p) is None
    assert max(load_rgb(p).shape[:2]) <= 448
    png = tmp_path / "scan.png"
    Image.new("1", (10000, 9000)).save(png)  # 90 MP
    refused = check_photo(png)
    assert refused is not None and "too large" in refused.reason
    with pytest.raises(ImageError, match="too large"):
        load_rgb(png)


def test_a_large_mpo_phone_photo_is_read_at_an_eighth_too(tmp_path) -> None:
    """MPO (a JPEG with a second picture, from portrait and depth modes) is a JPEG to
    Pillow's decoder: read at 1/8 like one, not whole (81 MP was refused)."""
    from app.core.photo_check import check_photo

    p = tmp_path / "portrait.jpg"
    first, depth = Image.new("L", (9000, 9000), 90), Image.new("L", (900, 900), 10)
    first.save(p, "MPO", save_all=True, append_images=[depth], quality=40)
    assert Image.open(p).format == "MPO" and check_photo(p) is None
    assert max(load_rgb(p).shape[:2]) <= 448
