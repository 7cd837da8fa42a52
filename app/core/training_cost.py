"""What a training will cost, before it runs: the Train screen's estimate, the CLI's and
the live "time left" (:mod:`app.core.eta`) share this one time model.

No NumPy or TensorFlow here: the GUI asks for an estimate while the engine still loads.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .input_size import DEFAULT_IMAGE_SIZE
from .model import TrainOptions

# Measured on the reference machine (2 cores, quiet), cold feature cache, TensorFlow
# loaded, at the 256-pixel input: ~2.4 ms per augmented view at alpha 0.35 (from
# bench/scale.py's whole trainings at 1,000 and 5,000 products solved for the two
# unknowns, this one and the head's below: 2.2 ms and 0.023 µs, both rounded up to
# cover the 100-product shop's fixed costs better; the shipped TensorFlow
# Lite feature model on one core and the views made on the other, three batches ahead);
# then ~1.8 s for the held-back check, fitting and export of a small shop
# (bench/estimate.py: 1.6-2.5 s), plus 0.2 ms a view: 1.2 s, and 0.2 s for each of its
# three held-back rounds (FIT_S; a catalogue-only shop has none, and its 50 products
# took 1.1 s after the features on a day when the rest took 1.6 times as long as these
# constants say); ~0.8 s before the first view (the
# fast file loads at once; 0.3-0.9 s measured). Under load everything scales together:
# the app replaces SECONDS_PER_VIEW with the rate it measured here during the last
# training. (At 224 pixels in an earlier session: 2.7 ms and 0.038 µs; before the fast
# feature model and the compiled fit: 6.0 ms, 3 s, 0.5 ms and 1.2 s; before the views
# were made ahead on a core of their own: 3.8 ms.)
SECONDS_PER_VIEW = 0.0024
LOAD_S = 0.8
AFTER_FEATURES_S = 1.2
FIT_S = 0.2
AFTER_FEATURES_PER_VIEW_S = 0.0002
# The head's Dense layer costs each view, in each pass, time per product as well:
# 0.025 µs per view, pass and product (bench/scale.py's whole trainings at 1,000 and
# 5,000 products with the per-view time above: 0.023 µs; at 224 pixels in an earlier
# session, whose plain reference took 1.4-1.6x as long as today's, 0.038 µs, and
# 0.043 µs in ``python bench/estimate.py --head``, Keras's fit). Negligible at 30
# products, it is most of the work at 5,000.
HEAD_S_PER_VIEW_PASS_PRODUCT = 0.025e-6
# Leave-one-photo-out rounds: at most 3, one above this many photos (see ``validate``),
# and no more than it takes to hold back ENOUGH_HELD photos in all: a round holds back
# one photo of each product with two or more, so a shop of 200 such products keeps its
# three rounds, 300 get two and 600 or more one (1,000 products x 2 photos: one round of
# 1,000 held-back photos instead of two, 7 s of 86). The mix and the accept threshold
# are chosen on these photos; 600 measure a 95 % precision at 25 % coverage to about
# +-2 points, and the rules that pick them were set on shops with 75-150 held-back photos.
MAX_ROUNDS = 3
ONE_ROUND_ABOVE = 3000
ENOUGH_HELD = 600
# A mixed shop's catalogue round (:mod:`app.core.mixed_shop`): the products with both
# kinds of photo pretend, a fifth at a time, to have only their catalogue photo, each
# round a fit of the whole head. Fifths: the pretenders' photos must meet about as many
# counter-photo rivals as the real catalogue-only products will. With halves (fruit mixed
# shop, 5 seeds, test list) the offset came out too small: catalogue-only 11.0 %, counter
# 64.5 %; fifths: 16.4 / 60.0. As the held-back rounds, no more rounds than it takes to
# hold back ENOUGH_HELD of the pretenders' counter photos: a shop of 25 + 25 products
# keeps its five, 500 + 500 with two counter photos each runs three (bench/scale.py
# --mixed: top-1 58.6 % with five, 58.7 with three; 18 s of 70 were the five). Past
# PRETEND_HALVES_ABOVE photos, two rounds of halves, as before: at 2,500 + 2,500 one
# round of a fifth took half their time and named the products with photos 5.2 points
# less often (29.7 %), the catalogue-only ones 0.5 more (52.9 %).
PRETEND_ROUNDS = 5
PRETEND_HALVES_ABOVE = 3000
# A pretend round costs a held-back round's FIT_S beyond its passes (five took 1.2-2.0 s
# in bench/estimate.py's mixed shops, on a day 1.6-1.8 times slower than these
# constants). A catalogue shot's view is counted as a counter photo's: one of fruit,
# drawn into shop scenes, cost 1.5-1.9 of them that day, a pack's (trained as it is)
# 0.6, and which a photo is shows only once training decodes it; at 1.0 the worst
# shops there were 36 % under (fruit, catalogue only) and 30 % over (packs), at 1.5
# 15 % under and 63 % over, each against the counter-photo shops of the same run.


@dataclass(frozen=True)
class ShopShape:
    """What a training's cost depends on besides its options: each product's photos (its
    views depend on its own count, so an average per product misjudges a shop whose
    products differ) and how many of them are catalogue shots (a mixed shop's catalogue
    round; a catalogue-only product has no held-back round)."""

    photos: tuple[int, ...]  # per product
    catalogue: tuple[int, ...] = ()  # catalogue shots among them, same order; () none

    def __post_init__(self) -> None:
        if not self.catalogue:
            object.__setattr__(self, "catalogue", (0,) * len(self.photos))
        if len(self.catalogue) != len(self.photos):
            raise ValueError("one catalogue count per product")

    @classmethod
    def even(cls, n_images: int, n_products: int) -> ShopShape:
        """``n_images`` counter photos spread as evenly as they go over the products."""
        n = max(1, n_products)
        base, extra = divmod(n_images, n)
        return cls(tuple([base + 1] * extra + [base] * (n - extra)))

    @classmethod
    def of(cls, photos: Sequence[int], catalogue: Sequence[int]) -> ShopShape:
        return cls(tuple(int(k) for k in photos), tuple(int(c) for c in catalogue))

    @property
    def images(self) -> int:
        return sum(self.photos)

    @property
    def products(self) -> int:
        return len(self.photos)

    def catalogue_only(self) -> int:
        """Products whose every photo is a catalogue shot."""
        return sum(1 for k, c in zip(self.photos, self.catalogue, strict=True) if 0 < k == c)

    def both_kinds(self) -> int:
        """Products with a catalogue shot and a counter photo: the pretenders."""
        return sum(1 for k, c in zip(self.photos, self.catalogue, strict=True) if 0 < c < k)

    def pretend_photos(self) -> int:
        """The pretenders' counter photos: what the catalogue round holds back."""
        return sum(k - c for k, c in zip(self.photos, self.catalogue, strict=True) if 0 < c < k)


def validation_rounds(n_images: int, most_photos: int, products: int) -> int:
    """Held-back rounds for a shop whose best-photographed product has ``most_photos``
    and ``products`` products with two photos or more."""
    if n_images > ONE_ROUND_ABOVE:
        return 1
    return max(1, min(MAX_ROUNDS, most_photos, math.ceil(ENOUGH_HELD / max(1, products))))


def pretend_plan(n_images: int, pretenders: int, pretend_photos: int) -> tuple[int, int]:
    """A mixed shop's catalogue round with this many products of both kinds, and counter
    photos of theirs: (parts the pretenders are split into, rounds run, a part each)."""
    if n_images > PRETEND_HALVES_ABOVE:
        parts = min(2, pretenders)
        return parts, parts
    parts = min(PRETEND_ROUNDS, pretenders)
    enough = math.ceil(ENOUGH_HELD / max(1.0, pretend_photos / max(1, parts)))
    return parts, max(1, min(parts, enough))


def quick_epochs(options: TrainOptions) -> int:
    """Passes of a validation round's fit: its figures are estimates, not the model."""
    return max(8, options.epochs // 2)


def held_back_rounds(shape: ShopShape, options: TrainOptions | None = None) -> int:
    """Leave-one-photo-out rounds a training of this shop runs (0: none measurable)."""
    o = options or TrainOptions()
    eligible = [k for k in shape.photos if k >= 2]
    if not (o.validate and eligible):
        return 0
    return validation_rounds(shape.images, max(eligible), len(eligible))


def pretend_rounds(shape: ShopShape, options: TrainOptions | None = None) -> int:
    """Fits of the catalogue round: only a mixed shop with catalogue-only products and
    two or more products of both kinds has one (``trainer.train``'s condition)."""
    o = options or TrainOptions()
    if not (o.validate and o.head == "cosine" and shape.catalogue_only()):
        return 0
    both = shape.both_kinds()
    return pretend_plan(shape.images, both, shape.pretend_photos())[1] if both >= 2 else 0


def head_passes(shape: ShopShape, options: TrainOptions | None = None) -> int:
    """Passes over all views a training makes: the final fit, the held-back rounds and
    the catalogue round's."""
    o = options or TrainOptions()
    return o.epochs + validation_fits(shape, o) * quick_epochs(o)


def _views_each(shape: ShopShape, o: TrainOptions) -> list[int]:
    cap = o.view_cap(list(shape.photos))
    return [o.views_for(k, cap) for k in shape.photos]


def planned_views(shape: ShopShape, options: TrainOptions | None = None) -> int:
    """Augmented views a training of this shop computes (the unit of its cost)."""
    o = options or TrainOptions()
    return sum(k * v for k, v in zip(shape.photos, _views_each(shape, o), strict=True))


def validation_fits(shape: ShopShape, options: TrainOptions | None = None) -> int:
    """Fits a training makes before its final one: held-back and pretend rounds."""
    return held_back_rounds(shape, options) + pretend_rounds(shape, options)


def seconds_after_features(
    views: int,
    seconds_per_view: float | None = None,
    products: int = 0,
    passes: int = 0,
    fits: int = MAX_ROUNDS,
) -> float:
    """Held-back check + fitting + export, on a machine with this per-view speed; with
    ``products`` and ``passes`` (``head_passes``), the head's cost per product too;
    ``fits``: ``validation_fits`` (a small counter-photo shop's three by default)."""
    speed = (seconds_per_view or SECONDS_PER_VIEW) / SECONDS_PER_VIEW
    head = HEAD_S_PER_VIEW_PASS_PRODUCT * views * passes * products
    fixed = AFTER_FEATURES_S + FIT_S * fits
    return (fixed + AFTER_FEATURES_PER_VIEW_S * views + head) * speed


def base_width_cost(alpha: float, size: int = DEFAULT_IMAGE_SIZE) -> float:
    """A view's feature cost at this MobileNetV2 width and input side, relative to
    alpha 0.35 at the default side (the base model's time grows with the pixels:
    1.27 ms a photo at 224, 1.69 at 256 in ``bench/input_size.py``)."""
    return (0.5 + 0.5 * (alpha / 0.35) ** 2) * (size / DEFAULT_IMAGE_SIZE) ** 2


def default_base_rate(seconds_per_view: float, alpha: float, size: int) -> float:
    """A rate measured on a base of this width and input side, as the default base's:
    the one unit the settings keep and the time model reads."""
    return seconds_per_view / base_width_cost(alpha, size)


def estimate_seconds(
    shape: ShopShape,
    options: TrainOptions | None = None,
    seconds_per_view: float | None = None,
    features_loaded: bool = False,
) -> float:
    """Wall-clock of a first (uncached) training of this shop once TensorFlow is loaded.

    ``seconds_per_view`` is the rate measured on this computer (at alpha 0.35); without
    it, the benchmark machine's. Everything else scales with the same speed, and wider
    base models cost more per view. ``features_loaded``: this process already holds the
    feature model (an earlier training), so LOAD_S is not spent again.
    """
    o = options or TrainOptions()
    views = planned_views(shape, o)
    passes = head_passes(shape, o)
    spv = seconds_per_view or SECONDS_PER_VIEW
    speed = spv / SECONDS_PER_VIEW
    after = seconds_after_features(views, spv, shape.products, passes, validation_fits(shape, o))
    load = 0.0 if features_loaded else LOAD_S * speed
    return load + views * spv * base_width_cost(o.alpha, o.image_size) + after
