"""Which products to photograph at the counter first, and how reliable each one is.

Counter photos are what make a product recognisable (fruit & vegetables, our trainer:
41 / 58 / 67 % top-1 from 1 / 3 / 10 counter photos; a catalogue photo alone about half
of that in a mixed shop), but an owner photographs a few products at a time. So each
product gets what it was trained from, the share of its counter photos it is expected
to be recognised on, and the expected gain of three more counter photos; "photograph
these first" is that gain, largest first, never the alphabet. Plain Python: no Qt,
no NumPy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Top-1 from k counter photos per product relative to 3 photos, our trainer, test lists:
# fruit & vegetables 41.0 / 58.2 / 66.9 % at 1 / 3 / 10 (README, "Recognition accuracy").
# Between and beyond these points the curve is interpolated in log k and held flat.
LEARNING_CURVE = ((1, 0.70), (3, 1.0), (10, 1.15))
MORE_PHOTOS = 3  # the advice is "add 3 counter photos"
# A product's own held-back photos are few (1–3): its measured rate is pulled toward the
# shop's by this many photos' weight.
SHRINK_PHOTOS = 2.0


@dataclass(frozen=True)
class ProductStanding:
    """What one product was trained from and what to expect of it."""

    product: str
    trained_from: str  # "catalogue" (its catalogue photo only) or "counter"
    counter_photos: int
    expected: float | None  # share of its counter photos it should be recognised on
    measured: bool  # ``expected`` from its own held-back photos (else the shop's estimate)
    gain: float  # expected rise of ``expected`` with MORE_PHOTOS more counter photos
    confusable: float  # how close its nearest other product is (cosine; 0 when unknown)

    def to_json(self) -> dict[str, object]:
        return {
            "from": self.trained_from,
            "counterPhotos": self.counter_photos,
            "expected": None if self.expected is None else round(self.expected, 3),
            "measured": self.measured,
            "gain": round(self.gain, 3),
        }


def relative(k: float) -> float:
    """Expected top-1 at ``k`` counter photos relative to 3 (``LEARNING_CURVE``)."""
    if k <= 0:
        return 0.0
    pts = LEARNING_CURVE
    if k <= pts[0][0]:
        return pts[0][1] * k / pts[0][0]  # below one photo: nothing to learn from
    for (k0, r0), (k1, r1) in zip(pts, pts[1:], strict=False):
        if k <= k1:
            t = math.log(k / k0) / math.log(k1 / k0)
            return r0 + t * (r1 - r0)
    return pts[-1][1]


def standings(
    labels: Sequence[str],
    counter_photos: Mapping[str, int],
    catalogue_only: Sequence[str],
    per_product: Mapping[str, float | None],
    shop_accuracy: float | None,
    catalogue_only_accuracy: float | None,
    confusable: Mapping[str, float] | None = None,
) -> list[ProductStanding]:
    """Every product's standing, "photograph these first" order: the largest expected
    gain first, then the most confusable (nearest other product), then label order.

    ``shop_accuracy`` is the held-back accuracy of the products with counter photos (at
    their typical number of photos); ``catalogue_only_accuracy`` what products pretending
    to have only their catalogue photo scored (``app.core.mixed_shop``). Either may be
    None (not measured): then what depends on it is unknown, and a catalogue-only
    product's gain is taken as the whole of what three counter photos bring."""
    confusable = confusable or {}
    only = set(catalogue_only)
    with_counter = [counter_photos.get(p, 0) for p in labels if p not in only]
    typical = sorted(with_counter)[len(with_counter) // 2] if with_counter else MORE_PHOTOS

    def at(k: float) -> float | None:  # the shop's expected rate at k counter photos
        if shop_accuracy is None or typical <= 0:
            return None
        return min(1.0, shop_accuracy * relative(k) / relative(typical))

    out = []
    for p in labels:
        k = counter_photos.get(p, 0)
        acc = per_product.get(p)
        if p in only or k == 0:
            expected, measured = catalogue_only_accuracy, False
            after = at(MORE_PHOTOS)
            gain = (after or 1.0) - (expected or 0.0)
            source = "catalogue"
        else:
            estimate = at(k)
            if acc is not None:
                seen = min(k, 3)  # held-back rounds: at most 3 of its photos
                prior = estimate if estimate is not None else acc
                expected = (acc * seen + prior * SHRINK_PHOTOS) / (seen + SHRINK_PHOTOS)
                measured = True
            else:
                expected, measured = estimate, False
            after = at(k + MORE_PHOTOS)
            gain = 0.0 if after is None or expected is None else max(0.0, after - expected)
            source = "counter"
        # rounded as metadata.json keeps them, so a fresh result and the saved model
        # say the same percentage (0.9454 showed 95 % on Train and 94 % on Products)
        rounded = None if expected is None else round(expected, 3)
        out.append(
            ProductStanding(
                p, source, k, rounded, measured, round(max(0.0, gain), 3), confusable.get(p, 0.0)
            )
        )
    order = {p: i for i, p in enumerate(labels)}
    return sorted(out, key=lambda s: (-round(s.gain, 3), -s.confusable, order[s.product]))


def describe(s: ProductStanding, name: str) -> str:
    """One product's standing in the owner's words."""
    if s.trained_from == "catalogue":
        source = "catalogue photo only"
    else:
        source = f"{s.counter_photos} counter photo{'s' if s.counter_photos != 1 else ''}"
    if s.expected is None:
        return f"{name} ({source}; reliability unknown until it has counter photos)"
    if s.measured:
        how = "its own held-back photos weighed with the shop's rate"
        return f"{name} ({source}; expected to be recognised {s.expected:.0%} of the time: {how})"
    how = "from the shop's other products"
    return f"{name} ({source}; expected to be recognised ~{s.expected:.0%} of the time, {how})"
