"""What a training will cost, before it runs: the Train screen's estimate, the CLI's and
the live "time left" (:mod:`app.core.eta`) share this one time model.

No NumPy or TensorFlow here: the GUI asks for an estimate while the engine still loads.
"""

from __future__ import annotations

import math

from .input_size import DEFAULT_IMAGE_SIZE
from .model import TrainOptions

# Measured on the reference machine (2 cores, quiet), cold feature cache, TensorFlow
# loaded, at the 256-pixel input: ~2.4 ms per augmented view at alpha 0.35 (from
# bench/scale.py's whole trainings at 1,000 and 5,000 products solved for the two
# unknowns, this one and the head's below: 2.2 ms and 0.023 µs, both rounded up to
# cover the 100-product shop's fixed costs better; the shipped TensorFlow
# Lite feature model on one core and the views made on the other, three batches ahead);
# then ~1.8 s for the held-back check, fitting and export of a small shop
# (bench/estimate.py: 1.6-2.5 s), plus 0.2 ms a view; ~0.8 s before the first view (the
# fast file loads at once; 0.3-0.9 s measured). Under load everything scales together:
# the app replaces SECONDS_PER_VIEW with the rate it measured here during the last
# training. (At 224 pixels in an earlier session: 2.7 ms and 0.038 µs; before the fast
# feature model and the compiled fit: 6.0 ms, 3 s, 0.5 ms and 1.2 s; before the views
# were made ahead on a core of their own: 3.8 ms.)
SECONDS_PER_VIEW = 0.0024
LOAD_S = 0.8
AFTER_FEATURES_S = 1.8
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


def validation_rounds(n_images: int, most_photos: int, products: int) -> int:
    """Held-back rounds for a shop whose best-photographed product has ``most_photos``
    and ``products`` products with two photos or more."""
    if n_images > ONE_ROUND_ABOVE:
        return 1
    return max(1, min(MAX_ROUNDS, most_photos, math.ceil(ENOUGH_HELD / max(1, products))))


def quick_epochs(options: TrainOptions) -> int:
    """Passes of a validation round's fit: its figures are estimates, not the model."""
    return max(8, options.epochs // 2)


def head_passes(n_images: int, n_products: int, options: TrainOptions | None = None) -> int:
    """Passes over all views a training makes: the final fit and the held-back rounds."""
    o = options or TrainOptions()
    per_product = max(1, n_images // max(1, n_products))
    if not (o.validate and per_product >= 2):
        rounds = 0
    else:
        rounds = validation_rounds(n_images, per_product, n_products)
    return o.epochs + rounds * quick_epochs(o)


def planned_views(n_images: int, n_products: int, options: TrainOptions | None = None) -> int:
    """Augmented views a training of this size computes (the unit of its cost)."""
    o = options or TrainOptions()
    per_product = max(1, n_images // max(1, n_products))
    counts = [per_product] * max(1, n_products)
    return n_images * o.views_for(per_product, o.view_cap(counts))


def seconds_after_features(
    views: int, seconds_per_view: float | None = None, products: int = 0, passes: int = 0
) -> float:
    """Held-back check + fitting + export, on a machine with this per-view speed; with
    ``products`` and ``passes`` (``head_passes``), the head's cost per product too."""
    speed = (seconds_per_view or SECONDS_PER_VIEW) / SECONDS_PER_VIEW
    head = HEAD_S_PER_VIEW_PASS_PRODUCT * views * passes * products
    return (AFTER_FEATURES_S + AFTER_FEATURES_PER_VIEW_S * views + head) * speed


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
    n_images: int,
    n_products: int,
    options: TrainOptions | None = None,
    seconds_per_view: float | None = None,
    features_loaded: bool = False,
) -> float:
    """Wall-clock of a first (uncached) training once TensorFlow is loaded.

    ``seconds_per_view`` is the rate measured on this computer (at alpha 0.35); without
    it, the benchmark machine's. Everything else scales with the same speed, and wider
    base models cost more per view. ``features_loaded``: this process already holds the
    feature model (an earlier training), so LOAD_S is not spent again.
    """
    o = options or TrainOptions()
    views = planned_views(n_images, n_products, o)
    passes = head_passes(n_images, n_products, o)
    spv = seconds_per_view or SECONDS_PER_VIEW
    speed = spv / SECONDS_PER_VIEW
    after = seconds_after_features(views, spv, n_products, passes)
    load = 0.0 if features_loaded else LOAD_S * speed
    return load + views * spv * base_width_cost(o.alpha, o.image_size) + after
