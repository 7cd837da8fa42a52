"""Catalogue (studio) photos: detect them, cut the product out, put it in a shop.

A shop's catalogue photo shows the product alone on a plain studio background;
the point-of-sale camera sees it on a shelf, in a tray, in a hand, under shop
light. Training on views of the studio photo alone teaches the head "plain
white background". Here the product is cut off its background by the border
colour (a flood fill from the edges over pixels close to that colour, so white
parts inside the product stay) and composited onto synthetic shop scenes:
shelves of other packs, produce crates, counters, with hands, occlusion,
perspective, colour temperature, low light, blur and JPEG artefacts.

Everything is a pure function of the photo and a seeded generator, so views
stay cacheable per photo content. Backgrounds are drawn, never taken from
other photos: a view must not depend on the rest of the catalogue.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .regions import largest_part, reach

BORDER = 4  # px of the (≤256 px) photo whose colour is the studio background
BG_TOLERANCE = 28.0  # max channel distance from the background colour
STUDIO_BORDER_SHARE = 0.6  # of the border on the backdrop colour: a tight crop may touch edges
WORK = 256
FILL_SIDE = 128  # the cut-out's working size (its mask is scaled to the photo's)


def _small(rgb: np.ndarray, side: int = WORK) -> np.ndarray:
    h, w = rgb.shape[:2]
    if max(h, w) <= side:
        return rgb
    im = Image.fromarray(rgb)
    im.thumbnail((side, side), Image.Resampling.BILINEAR)
    return np.asarray(im)


def _border_pixels(rgb: np.ndarray, b: int = BORDER) -> np.ndarray:
    return np.concatenate(
        [
            rgb[:b].reshape(-1, 3),
            rgb[-b:].reshape(-1, 3),
            rgb[:, :b].reshape(-1, 3),
            rgb[:, -b:].reshape(-1, 3),
        ]
    ).astype(np.float32)


def studio_background(rgb: np.ndarray) -> np.ndarray | None:
    """The plain background colour when the photo looks like a studio shot, else None.

    Studio look: most of the border (a tightly cropped pack may touch the edges)
    within a small distance of one bright, low-saturation colour (white, light
    grey). Checked on the grocery set: every catalogue photo has ≥ 97 % of its
    border on the backdrop; none of 658 shop photos (every third of train+val)
    passes even at 50 %.
    """
    small = _small(rgb)
    border = _border_pixels(small)
    bg = np.median(border, axis=0)
    close = np.abs(border - bg).max(axis=1) < BG_TOLERANCE
    if close.mean() < STUDIO_BORDER_SHARE:
        return None
    if bg.min() < 150 or bg.max() - bg.min() > 40:  # only light, near-neutral backdrops
        return None
    return bg


# When a cut-out can be trusted. Measured on the grocery set's 50 catalogue photos (all
# trusted, every one with a wide margin: border contact 0, largest part ≥ 0.999, strong
# outline ≥ 0.69, backdrop colour inside ≤ 0.011) and Vendure's 23 sample product photos
# on light backdrops (12 refused: products standing on tables and floors, a white camera
# and a white pot on white, groups of plants).
MAX_BORDER_CONTACT = 0.10  # share of the photo's edge covered by the cut-out
MIN_LARGEST_PART = 0.90  # share of the cut-out in its largest connected part
MIN_STRONG_OUTLINE = 0.60  # share of the cut-out's outline on a clear edge in the photo
MAX_BACKDROP_INSIDE = 0.05  # share of the cut-out in the backdrop's colour (white on white)
STRONG_EDGE = 8.0  # grey-level gradient (per px, at FILL_SIDE) that counts as a clear edge
# A cut-out filling this share of its bounding box is a pack seen from the front (a box,
# carton, can or bag); loose produce is round or irregular (all 50 grocery catalogue
# photos: at most 0.79). Drawn scenes are chosen on produce; for packs they measured
# below nearest-class-mean: 25 packaged-goods categories (Freiburg), each a real shop
# photo's crop on a white backdrop as its catalogue photo, 3 seeds: 12.7 % top-1 with
# scenes, 15.7 % as it is, nearest-class-mean 13.0 % (the team's 31 cartons: 20.0 %
# with scenes, 39.2 % as it is, 37.4 % nearest-class-mean).
PACK_EXTENT = 0.85


def _foreground(rgb: np.ndarray, bg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(foreground, distance to the backdrop colour, the FILL_SIDE photo) by a flood
    fill from the border over backdrop-coloured pixels."""
    small = _small(rgb, FILL_SIDE)
    dist = np.abs(small.astype(np.float32) - bg).max(axis=2)
    bgmap = np.pad(dist < BG_TOLERANCE, 1, constant_values=True)
    seed = np.zeros_like(bgmap)
    seed[0, 0] = True  # the padding's corner: the padding reaches every border pixel
    return ~reach(bgmap, seed)[1:-1, 1:-1], dist, small


def cutout(rgb: np.ndarray) -> tuple[np.ndarray | None, str | None]:
    """``(mask, problem)``: the soft product mask in [0, 1] at ``rgb``'s size (None when the
    photo has no studio background or no product on it), and why that cut-out cannot be
    trusted (None: it can, or the photo is no studio shot).

    Background = pixels close to the border colour *and* connected to the border, so a
    white label or garlic skin inside the product is kept. A cut-out that leaks into a
    white pack on a white backdrop, keeps the table a product stands on, or falls apart
    in pieces would teach the head drawn scenes around the wrong shape, and a pack (a
    cut-out that fills its bounding box) measured worse in drawn scenes than as it is:
    such a photo is trained as it is (``views.view_of``).
    """
    bg = studio_background(rgb)
    if bg is None:
        return None, None
    fg, dist, small = _foreground(rgb, bg)
    share = float(fg.mean())
    if share < 0.02 or share > 0.97:
        return None, "the product could not be told from its backdrop"
    h, w = rgb.shape[:2]
    m = Image.fromarray((fg * 255).astype(np.uint8))
    soft = m.filter(ImageFilter.MinFilter(3)).filter(ImageFilter.GaussianBlur(0.8))
    if soft.size != (w, h):
        soft = soft.resize((w, h), Image.Resampling.BILINEAR)
    return np.asarray(soft, dtype=np.float32) / 255.0, _problem(fg, dist, small, m)


def cutout_mask(rgb: np.ndarray) -> np.ndarray | None:
    """The product's soft mask (see :func:`cutout`), trusted or not."""
    return cutout(rgb)[0]


def _problem(fg: np.ndarray, dist: np.ndarray, small: np.ndarray, m: Image.Image) -> str | None:
    edge_rows = np.concatenate([fg[0], fg[-1], fg[:, 0], fg[:, -1]])
    if float(edge_rows.mean()) > MAX_BORDER_CONTACT:
        return "the product touches the photo's edges or stands on a surface"
    if float((fg & (dist < BG_TOLERANCE)).sum()) / max(1, int(fg.sum())) > MAX_BACKDROP_INSIDE:
        return "the product has the backdrop's colour (white on white)"
    if largest_part(fg) < MIN_LARGEST_PART:
        return "the cut-out falls apart in pieces"
    grey = small.astype(np.float32).mean(axis=2)
    gy, gx = np.gradient(grey)
    outline = (np.asarray(m.filter(ImageFilter.MaxFilter(3))) > 0) & ~(
        np.asarray(m.filter(ImageFilter.MinFilter(3))) > 0
    )
    outline[[0, -1]] = False
    outline[:, [0, -1]] = False
    strong = float((np.hypot(gx, gy)[outline] > STRONG_EDGE).mean()) if outline.any() else 0.0
    if strong < MIN_STRONG_OUTLINE:
        return "the product's outline is too faint to cut out (white on white)"
    ys, xs = np.nonzero(fg)
    box = (int(np.ptp(ys)) + 1) * (int(np.ptp(xs)) + 1)
    if float(fg.sum()) / box >= PACK_EXTENT:
        return "it is a pack (box, carton, can or bag): drawn shop scenes only help loose produce"
    return None


# --- synthetic shop scenes ---------------------------------------------------------


def _rand_colour(rng: np.random.Generator, sat: tuple[float, float] = (0.2, 1.0)) -> tuple:
    import colorsys

    r, g, b = colorsys.hsv_to_rgb(rng.random(), rng.uniform(*sat), rng.uniform(0.25, 1.0))
    return int(r * 255), int(g * 255), int(b * 255)


def _neutral(rng: np.random.Generator, lo: int = 30, hi: int = 240) -> tuple:
    v = int(rng.integers(lo, hi))
    tint = rng.integers(-12, 13, 3)
    return tuple(int(np.clip(v + t, 0, 255)) for t in tint)


def _shelf(rng: np.random.Generator, size: int) -> Image.Image:
    """Shelves or fridge racks full of other packs, price strips along the edges."""
    im = Image.new("RGB", (size, size), _neutral(rng))
    d = ImageDraw.Draw(im)
    y = int(rng.integers(-size // 3, size // 6))
    while y < size:
        row = int(rng.integers(size // 4, size // 2 + 1))
        x = int(rng.integers(-20, 0))
        while x < size:
            pw = int(rng.integers(size // 12, size // 3))
            ph = int(row * rng.uniform(0.6, 0.95))
            colour = _rand_colour(rng)
            d.rectangle([x, y + row - ph, x + pw - 2, y + row], fill=colour)
            if rng.random() < 0.7:  # a label band
                ly = y + row - int(ph * rng.uniform(0.3, 0.7))
                d.rectangle([x + 2, ly, x + pw - 4, ly + ph // 5], fill=_rand_colour(rng))
            x += pw + int(rng.integers(0, 6))
        edge = int(rng.integers(4, 14))
        d.rectangle([0, y + row, size, y + row + edge], fill=_neutral(rng, 120, 250))
        if rng.random() < 0.6:
            strip = _rand_colour(rng, (0.0, 0.9)) if rng.random() < 0.5 else (245, 245, 235)
            d.rectangle([0, y + row + edge, size, y + row + 2 * edge], fill=strip)
        y += row + 2 * edge
    return im


def _crate(rng: np.random.Generator, size: int) -> Image.Image:
    """A crate or pile of loose produce: many round blobs of a few colours."""
    im = Image.new("RGB", (size, size), _neutral(rng, 20, 160))
    d = ImageDraw.Draw(im)
    palette = [_rand_colour(rng, (0.3, 1.0)) for _ in range(int(rng.integers(1, 4)))]
    r0 = rng.uniform(0.05, 0.18) * size
    for _ in range(int((size / r0) ** 2 * 1.2)):
        cx, cy = rng.uniform(-r0, size + r0, 2)
        r = r0 * rng.uniform(0.7, 1.3)
        base = np.array(palette[int(rng.integers(len(palette)))], dtype=np.float32)
        shade = base * rng.uniform(0.6, 1.1)
        d.ellipse([cx - r, cy - r * 0.9, cx + r, cy + r * 0.9], fill=_tuple(shade))
        hl = np.minimum(255, shade * 1.25)
        d.ellipse([cx - r * 0.5, cy - r * 0.6, cx, cy - r * 0.1], fill=_tuple(hl))
    return im.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 2.0)))


def _counter(rng: np.random.Generator, size: int) -> Image.Image:
    """A counter, table or tray: wood grain or a plain worn surface with light falloff."""
    base = np.array(_neutral(rng, 60, 230), dtype=np.float32)
    if rng.random() < 0.5:
        base = np.array([rng.uniform(90, 200), rng.uniform(60, 140), rng.uniform(30, 90)])
    low = max(8, size // 4)  # drawn at a quarter size: smooth anyway, 16× cheaper
    yy, xx = np.mgrid[0:low, 0:low].astype(np.float32) / low
    freq = rng.uniform(8, 40)
    grain = np.sin(freq * (yy + 0.05 * np.sin(rng.uniform(2, 9) * xx)) * np.pi)
    amp = rng.uniform(0.0, 0.15)
    light = 1.0 + rng.uniform(-0.3, 0.3) * (xx - 0.5) + rng.uniform(-0.3, 0.3) * (yy - 0.5)
    x = base * (1 + amp * grain)[..., None] * light[..., None]
    x += rng.normal(0, rng.uniform(1, 6), x.shape)
    im = Image.fromarray(np.clip(x, 0, 255).astype(np.uint8))
    im = im.resize((size, size), Image.Resampling.BILINEAR)
    return im.rotate(float(rng.choice([0, 90])))


def _blurred_scene(rng: np.random.Generator, size: int) -> Image.Image:
    """An out-of-focus shop: large soft patches of colour."""
    im = Image.new("RGB", (size, size), _neutral(rng))
    d = ImageDraw.Draw(im)
    for _ in range(int(rng.integers(6, 20))):
        x0, y0 = rng.uniform(-0.2, 1.0, 2) * size
        w, h = rng.uniform(0.1, 0.6, 2) * size
        d.rectangle([x0, y0, x0 + w, y0 + h], fill=_rand_colour(rng))
    return im.filter(ImageFilter.GaussianBlur(rng.uniform(4, 12)))


def _tuple(c: np.ndarray) -> tuple[int, int, int]:
    return tuple(int(v) for v in np.clip(c, 0, 255))  # type: ignore[return-value]


SCENES = (_shelf, _crate, _counter, _blurred_scene)


def scene(rng: np.random.Generator, size: int) -> Image.Image:
    return SCENES[int(rng.choice(len(SCENES), p=[0.35, 0.2, 0.3, 0.15]))](rng, size)


# --- compositing -------------------------------------------------------------------


def _skin(rng: np.random.Generator) -> tuple[int, int, int]:
    tones = [(234, 192, 160), (200, 150, 110), (160, 110, 75), (110, 72, 48), (80, 52, 36)]
    c = np.array(tones[int(rng.integers(len(tones)))], dtype=np.float32)
    return _tuple(c * rng.uniform(0.85, 1.1))


def _hand(layer: Image.Image, rng: np.random.Generator, box: tuple[int, int, int, int]) -> None:
    """Fingers and a thumb over one side of the product, as when held to the camera."""
    d = ImageDraw.Draw(layer)
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    colour = (*_skin(rng), 255)
    side = rng.integers(4)
    fw = max(4, int(min(w, h) * rng.uniform(0.1, 0.16)))
    for _ in range(int(rng.integers(2, 5))):
        t = rng.uniform(0.15, 0.85)
        length = rng.uniform(0.25, 0.5)
        if side in (0, 1):  # from the left or right
            fy = y0 + t * h
            fx0 = x0 - fw if side == 0 else x1 - length * w
            fx1 = x0 + length * w if side == 0 else x1 + fw
            d.rounded_rectangle([fx0, fy, fx1, fy + fw], radius=fw // 2, fill=colour)
        else:  # from below (palm) or above (thumb only)
            fx = x0 + t * w
            fy0 = y1 - length * h if side == 2 else y0 - fw
            fy1 = y1 + fw if side == 2 else y0 + length * h
            d.rounded_rectangle([fx, fy0, fx + fw, fy1], radius=fw // 2, fill=colour)
            if side == 3:
                break
    if side == 2 and rng.random() < 0.7:
        d.ellipse([x0 - w * 0.1, y1 - h * 0.25, x1 + w * 0.1, y1 + h * 0.5], fill=colour)


def _perspective(
    im: Image.Image, rng: np.random.Generator, amount: float, max_angle: float
) -> Image.Image:
    """Turned by up to ``max_angle`` degrees and seen off-axis (each corner moves by up
    to ``amount`` of the side), in one resample; the canvas grows to fit."""
    w, h = im.size
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
    t = np.radians(rng.uniform(-max_angle, max_angle))
    turn = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    dst = (src - [w / 2, h / 2]) @ turn.T + rng.uniform(-amount, amount, (4, 2)) * [w, h]
    dst -= dst.min(axis=0)
    out = (int(np.ceil(dst[:, 0].max())) + 1, int(np.ceil(dst[:, 1].max())) + 1)
    a = []
    for (x, y), (u, v) in zip(dst, src, strict=True):  # maps output → input
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    coeffs = np.linalg.solve(np.array(a), src.reshape(-1))
    return im.transform(out, Image.Transform.PERSPECTIVE, tuple(coeffs), Image.Resampling.BILINEAR)


_RAMP = np.arange(256, dtype=np.float32)


def _shop_light(im: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Colour temperature, exposure (one lookup table per channel), low-light noise."""
    temp = rng.uniform(-0.15, 0.15)  # warm (+) or cool (−) white balance
    gain = rng.uniform(0.55, 1.2) * np.array([1 + temp, 1.0, 1 - temp], dtype=np.float32)
    lut = np.clip(_RAMP[None, :] * gain[:, None] + 0.5, 0, 255).astype(np.uint8)
    im = im.point(lut.reshape(-1).tolist())
    if rng.random() < 0.4:
        noise = rng.standard_normal((im.height, im.width, 3), dtype=np.float32)
        x = np.asarray(im, dtype=np.float32) + noise * np.float32(rng.uniform(2, 10))
        im = Image.fromarray(np.clip(x + 0.5, 0, 255).astype(np.uint8))
    return im


def _jpeg(im: Image.Image, rng: np.random.Generator) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=int(rng.integers(25, 85)))
    buf.seek(0)
    with Image.open(buf) as out:
        return out.convert("RGB")


def in_shop(
    rgb: np.ndarray, mask: np.ndarray, rng: np.random.Generator, size: int, pile: float = 0.0
) -> np.ndarray:
    """The cut-out product, once or as a row of facings, in a synthetic shop scene."""
    ys, xs = np.nonzero(mask > 0.5)
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    rgba = np.dstack([rgb[top:bottom, left:right], (mask[top:bottom, left:right] * 255)])
    prod = Image.fromarray(rgba.astype(np.uint8), "RGBA")
    prod.thumbnail((size, size), Image.Resampling.BILINEAR)  # never composite above output size
    if rng.random() < 0.5:
        prod = prod.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    prod = _perspective(prod, rng, 0.12, 15.0)
    bg = scene(rng, size)
    if rng.random() < pile:
        return _finish(_pile(prod, bg, rng, size), rng)
    facings = 1 if rng.random() < 0.6 else int(rng.integers(2, 4))
    scale = rng.uniform(0.45, 0.95) * size / max(prod.size)
    if facings > 1:
        scale *= rng.uniform(0.6, 0.9)
    pw, ph = max(8, int(prod.width * scale)), max(8, int(prod.height * scale))
    prod = prod.resize((pw, ph), Image.Resampling.BILINEAR)
    total = pw * facings + int(pw * 0.05) * (facings - 1)
    x0 = int(rng.uniform(min(0, size - total), max(0, size - total) + 1))
    y0 = int(rng.uniform(-0.1 * ph, max(0, size - ph) + 0.1 * ph + 1))
    layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    for i in range(facings):
        layer.paste(prod, (x0 + i * int(pw * 1.05), y0), prod)
    if rng.random() < 0.4:
        if rng.random() < 0.6:
            _hand(layer, rng, (x0, y0, x0 + pw, y0 + ph))
        else:  # a price tag, a shelf edge or another pack in front
            d = ImageDraw.Draw(layer)
            ow, oh = rng.uniform(0.15, 0.5) * pw, rng.uniform(0.1, 0.35) * ph
            ox = x0 + rng.uniform(-0.2, 0.9) * pw
            oy = y0 + rng.uniform(0.2, 1.0) * ph - oh
            d.rectangle([ox, oy, ox + ow, oy + oh], fill=(*_rand_colour(rng), 255))
    if rng.random() < 0.5:  # a soft shadow under the product
        shadow = layer.getchannel("A").filter(ImageFilter.GaussianBlur(size / 40))
        dark = Image.new("RGB", (size, size), (0, 0, 0))
        off = (int(rng.integers(-6, 7)), int(rng.integers(0, 9)))
        bg.paste(dark, off, shadow.point(lambda v: int(v * 0.35)))
    bg.paste(layer.convert("RGB"), (0, 0), layer.getchannel("A"))
    return _finish(bg, rng)


def _pile(prod: Image.Image, bg: Image.Image, rng: np.random.Generator, size: int) -> Image.Image:
    """Many copies filling the frame: a crate of fruit, a shelf row of the same pack."""
    scale = rng.uniform(0.2, 0.45) * size / max(prod.size)
    pw, ph = max(6, int(prod.width * scale)), max(6, int(prod.height * scale))
    step_x, step_y = pw * rng.uniform(0.75, 1.05), ph * rng.uniform(0.7, 1.0)
    rows = []
    y = -rng.uniform(0, 0.5) * ph
    while y < size:
        rows.append(y)
        y += step_y
    base = prod.resize((pw, ph), Image.Resampling.BILINEAR)
    variants = [base] + [  # a few turned copies, reused: resizing each copy cost most
        base.rotate(float(a), Image.Resampling.BILINEAR, expand=True)
        for a in rng.uniform(-40, 40, 2)
    ]
    for y in rows:
        x = -rng.uniform(0, 0.5) * pw
        while x < size:
            if rng.random() < 0.92:
                cp = variants[int(rng.integers(len(variants)))]
                jx, jy = rng.uniform(-0.1, 0.1, 2) * (pw, ph)
                bg.paste(cp, (int(x + jx), int(y + jy)), cp)
            x += step_x
    return bg


def _finish(bg: Image.Image, rng: np.random.Generator) -> np.ndarray:
    """Shop light, focus and compression over the whole scene."""
    out = _shop_light(bg, rng)
    if rng.random() < 0.3:
        out = out.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.8)))
    if rng.random() < 0.5:
        out = _jpeg(out, rng)
    return np.asarray(out)
