"""What a training produces: its options, its result, and the trained model itself.

Data only (plus building the full Keras model for export and prediction), so the
trainer produces these and the exporter consumes them without importing each other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InvalidOptions
from .input_size import DEFAULT_IMAGE_SIZE, IMAGE_SIZES
from .photo_advice import ProductStanding

if TYPE_CHECKING:  # numpy costs ~0.1 s: the GUI imports this module at start-up
    import numpy as np

# The ranges every front end offers (CLI argparse types, the GUI's Advanced form) and
# TrainOptions.check() enforces: one place, so a value one accepts the others accept.
MODEL_ALPHAS = (0.35, 0.5, 0.75, 1.0)  # MobileNetV2 widths with ImageNet weights we offer
EPOCHS_MIN, EPOCHS_MAX = 1, 500
SEED_MAX = 2**31 - 1  # NumPy and TensorFlow seeds; also the GUI spin box's limit
HEADS = ("cosine", "linear")


@dataclass
class TrainOptions:
    alpha: float = 0.35
    epochs: int = 30
    seed: int = 0
    augment: bool = True
    base_weights: Path | None = None
    image_size: int = DEFAULT_IMAGE_SIZE
    views_target: int = 24  # augmented views per product, spread over its photos
    max_views: int = 24  # per photo (a single-photo product gets 24 views)
    # Photo variations in all: above it every photo gets the same fewer views (down to
    # the photo alone), so a large catalogue's cost grows with its photos, not 12-24
    # times them (see ``view_cap``).
    view_budget: int = 12_000
    # Views x products a pass of the head may cost: each view is scored against every
    # product in every pass, so past 500 products (12,000 views) the views fall as
    # 1 / products, and a 1,000-product shop's cost grows with its photos times its
    # products only once, not 6 times (see ``view_cap``).
    head_budget: int = 6_000_000
    validate: bool = True
    head: str = "cosine"  # "cosine" (ours) or "linear" (the plain reference)
    learning_rate: float = 1e-3
    label_smoothing: float = 0.1
    init_scale: float = 0.3
    proto_blend: float = 1.0  # add this much of the nearest-class-mean classifier after fitting
    # Precision the accept threshold aims at: the share of photos the POS adds by itself
    # that must be right (app.core.calibration.DEFAULT_TARGET; an Advanced setting).
    accept_target: float = 0.95  # ACCEPT_TARGET
    not_products: bool = True  # train drawn scenes and empty-counter photos as "no product"
    download_weights: bool = True

    def check(self) -> TrainOptions:
        """Raise :class:`InvalidOptions` naming the first bad value (returns self).

        Called by the pipeline before any photo is read, so a bad value costs nothing
        and never reaches NumPy or TensorFlow as a traceback. (Not ``validate()``:
        that name is the option to run validation rounds.)
        """

        import numpy as np

        def bad(what: str, value: Any, allowed: str) -> InvalidOptions:
            return InvalidOptions(f"{what} must be {allowed}, not {value!r}.")

        def is_int(v: Any) -> bool:
            return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

        def number(v: Any) -> bool:
            return isinstance(v, (int, float, np.number)) and not isinstance(v, bool)

        if not number(self.alpha) or float(self.alpha) not in MODEL_ALPHAS:
            raise bad(
                "Model size (alpha)", self.alpha, f"one of {', '.join(map(str, MODEL_ALPHAS))}"
            )
        if not is_int(self.epochs) or not EPOCHS_MIN <= self.epochs <= EPOCHS_MAX:
            raise bad("Epochs", self.epochs, f"a whole number from {EPOCHS_MIN} to {EPOCHS_MAX}")
        if not is_int(self.seed) or not 0 <= self.seed <= SEED_MAX:
            raise bad("The random seed", self.seed, f"a whole number from 0 to {SEED_MAX}")
        if not is_int(self.image_size) or self.image_size not in IMAGE_SIZES:
            raise bad("Image size", self.image_size, f"one of {', '.join(map(str, IMAGE_SIZES))}")
        for what, v in (
            ("Views per product", self.views_target),
            ("Views per photo", self.max_views),
        ):
            if not is_int(v) or not 1 <= v <= 1000:
                raise bad(what, v, "a whole number from 1 to 1000")
        if not is_int(self.view_budget) or not 1 <= self.view_budget <= 10_000_000:
            raise bad("Photo variations in all", self.view_budget, "a whole number from 1 up")
        if not is_int(self.head_budget) or not 1 <= self.head_budget <= 10**12:
            raise bad("Views times products", self.head_budget, "a whole number from 1 up")
        if self.head not in HEADS:
            raise bad("The head", self.head, f"one of {', '.join(HEADS)}")
        for what, v, lo, hi in (
            ("The learning rate", self.learning_rate, 0.0, 10.0),
            ("Label smoothing", self.label_smoothing, 0.0, 1.0),
            ("The initial scale", self.init_scale, 0.0, 100.0),
            ("The prototype blend", self.proto_blend, 0.0, 100.0),
            ("The accept precision", self.accept_target, 0.5, 1.0),
        ):
            ok = number(v) and math.isfinite(float(v)) and lo <= float(v) < hi
            if not ok or (what == "The learning rate" and float(v) <= 0):
                raise bad(what, v, f"a number from {lo:g} up to (not including) {hi:g}")
        return self

    def views_for(self, n_photos: int, cap: int | None = None) -> int:
        """Views of each photo of a product with ``n_photos`` (``cap``: the shop's
        :meth:`view_cap`)."""
        if not self.augment:
            return 1
        v = int(min(self.max_views, max(3, math.ceil(self.views_target / max(1, n_photos)))))
        return v if cap is None else max(1, min(v, cap))

    def view_cap(self, photos_per_product: Sequence[int]) -> int | None:
        """The most views any photo gets in a shop with these photo counts: None (no cap)
        while its views fit the budget, else the budget shared out over its photos. The
        budget is ``view_budget`` views, and no more than ``head_budget`` / products, so
        up to 500 products it is 12,000 views and past them the head's work per pass
        stays the same. A shop of a few hundred products never reaches it (300 × 3
        photos: 7,200 views); 1,000 products × 2 photos get 3 views a photo, 5,000 the
        photo alone. Measured at 2 photos per product (top-1, test lists, 3 seeds,
        ``bench/view_budget.py``): 12 / 6 / 3 / 1 views a photo — fruit & vegetables
        53.5 / 49.8 / 49.4 / 47.8 %, packaged goods 21.8 / 21.1 / 20.8 / 20.4 %."""
        if not self.augment:
            return None
        budget = min(self.view_budget, self.head_budget // max(1, len(photos_per_product)))
        total = sum(k * self.views_for(k) for k in photos_per_product)
        if total <= budget:
            return None
        return max(1, budget // max(1, sum(photos_per_product)))


ACCEPT_TARGET = TrainOptions.accept_target
# Without enough held-back photos to measure it: a cautious threshold, marked unmeasured
# (also a Teachable Machine export's, which has none). 0.97 was not cautious: one photo a
# product, fruit & vegetables, 3 seeds, the till's adds at 0.97 were 50 / 92 / 75 % right
# on the val list (where it was chosen; at 0.99: 100 / 100 %, the third never sure) and
# 90 % on the test list (0.99: 95 %); packaged goods at 0.99: all right (an audit of the
# figures shown, README "Confidence").
UNMEASURED_THRESHOLD = 0.99
# Above every probability: the till never adds by itself (no level of confidence was safe
# on the held-back photos). A probability reaches 1.0 in float32 (0.99999994 rounds up),
# so a threshold of 1.0 still let a confident unknown product through.
NEVER_THRESHOLD = 1.01


@dataclass(frozen=True)
class Acceptance:
    """When the POS may add a product without asking (``app.core.calibration``)."""

    threshold: float  # top-1 probability at or above which to accept
    precision: float | None  # share right among held-back photos accepted (None: unmeasured)
    coverage: float | None  # share of held-back photos accepted
    target: float
    measured: bool
    photos: int  # held-back photos it was chosen on


@dataclass
class TrainResult:
    labels: list[str]
    names: dict[str, str]
    val_accuracy: float | None
    per_product: dict[str, float | None]
    confusions: list[tuple[str, str, int]]  # (true, predicted, count), most frequent first
    history: list[dict[str, float]]
    needs_more_photos: list[str]
    image_count: int
    product_count: int
    duration_s: float
    validation: str
    held_back: int | None = None  # photos the accuracy was measured on (None: not measured)
    report_lines: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    # What the photos were: "catalogue" (every one a studio/catalogue shot), "counter"
    # (none) or "mixed"; the hint is the owner's cheapest fix ("" when none).
    trained_on: str = "counter"
    trained_on_hint: str = ""
    # How far the head moved from the class prototypes (0 = nearest-class-mean,
    # 1 = fully fine-tuned) and each candidate's leave-one-photo-out accuracy.
    head_mix: float = 1.0
    mix_scores: dict[float, float] = field(default_factory=dict)
    # Unlabelled counter frames (``app.core.counter_frames``): how many were used, the
    # newest one's time (ISO, UTC; "" when none), each frame not used with why, and
    # where the prototype head was centred, in words.
    counter_frames: int = 0
    counter_frames_newest: str = ""
    frames_skipped: list[tuple[str, str]] = field(default_factory=list)
    centred_on: str = ""
    # The shop's own photos of its empty counter trained as "not a product" (beside the
    # drawn scenes), and each one not used with why.
    not_products: int = 0
    not_products_skipped: list[tuple[str, str]] = field(default_factory=list)
    # (product, why) for catalogue photos trained as they are: their cut-out could not
    # be trusted (white on white, standing on a table…), so no shop scenes were drawn.
    trained_as_is: list[tuple[str, str]] = field(default_factory=list)
    # A mixed shop's catalogue-only products: how often products pretending to have only
    # their catalogue photo were recognised on their counter photos (None: not measured),
    # the owner's expected reliability for them, and on how many photos.
    catalogue_only_accuracy: float | None = None
    catalogue_only_photos: int | None = None
    # Confidence the till can act on (``app.core.calibration``): the temperature folded
    # into the softmax layer, and when the POS may add the top product without asking.
    temperature: float = 1.0
    accept: Acceptance | None = None
    # Each product's source, expected reliability and the gain of counter photos, in
    # "photograph these first" order (``app.core.photo_advice``).
    standings: list[ProductStanding] = field(default_factory=list)


class TrainedModel:
    """A trained head plus what export needs; the base model is shared and frozen."""

    def __init__(
        self, head: Any, weights: Path, options: TrainOptions, result: TrainResult, channel_id: str
    ) -> None:
        self.head = head
        self.weights = weights
        self.options = options
        self.result = result
        self.channel_id = channel_id

    def full_model(self) -> Any:
        from .features import base_model
        from .tf_runtime import tf_modules

        _, keras = tf_modules()
        # any square side: trained at ``image_size`` (metadata.json's imageSize), and a
        # till that feeds Teachable Machine's 224 pixels still gets an answer
        features = base_model(self.weights, self.options.alpha, None)
        model = keras.Sequential(
            [keras.Input((None, None, 3)), features, self.head], name="product_recogniser"
        )
        return model

    def predict_rgb(self, images: list[np.ndarray]) -> np.ndarray:
        import numpy as np

        from .images import preprocess

        x = np.stack([preprocess(im, self.options.image_size) for im in images])
        return np.asarray(self.full_model().predict_on_batch(x))


def result_from_metadata(meta: dict[str, Any]) -> TrainResult | None:
    """The last training's results as they were saved in metadata.json (the Train screen
    shows them after a restart); None for a model without them (e.g. Teachable Machine's).
    The learning curve is not saved, so ``history`` is empty."""
    from .wording import weak_products

    if not isinstance(meta, dict) or not ("validation" in meta or "perProductAccuracy" in meta):
        return None
    labels = [str(x) for x in meta.get("labels") or []]
    saved = meta.get("labelNames")
    saved = saved if isinstance(saved, list) and len(saved) == len(labels) else labels
    raw = meta.get("perProductAccuracy")
    raw = raw if isinstance(raw, dict) else {}
    per_product = {
        p: float(raw[p]) if isinstance(raw.get(p), (int, float)) else None for p in labels
    }
    confusions = [
        (str(c[0]), str(c[1]), int(c[2]))
        for c in meta.get("confusions") or []
        if isinstance(c, (list, tuple)) and len(c) == 3 and isinstance(c[2], (int, float))
    ]
    acc = meta.get("validationAccuracy")
    held = meta.get("heldBackPhotos")
    frames = meta.get("counterFrames")
    frames = frames if isinstance(frames, dict) else {}
    accept = None
    if isinstance(meta.get("acceptThreshold"), (int, float)):
        cal = meta.get("calibration") if isinstance(meta.get("calibration"), dict) else {}
        accept = Acceptance(
            float(meta["acceptThreshold"]),
            meta.get("acceptPrecision"),
            meta.get("acceptCoverage"),
            float(meta.get("acceptTarget") or 0.0),
            bool(meta.get("acceptMeasured")),
            int(cal.get("heldBackPhotos") or 0),
        )
    from .fingerprint import from_metadata

    counts = {p: len(ids) for p, ids in (from_metadata(meta) or {}).items()}
    ranked = standings_from_metadata(meta, labels)
    weak = set(weak_products(labels, per_product, counts))
    if ranked:  # "photograph these first" order, as the training ranked them
        needs_more = [s.product for s in ranked if s.product in weak]
    else:
        needs_more = [p for p in labels if p in weak]
    return TrainResult(
        labels=labels,
        names={p: str(n) for p, n in zip(labels, saved, strict=True)},
        val_accuracy=float(acc) if isinstance(acc, (int, float)) else None,
        per_product=per_product,
        confusions=confusions,
        history=[],
        needs_more_photos=needs_more,
        image_count=int(meta.get("imageCount") or 0),
        product_count=len(labels),
        duration_s=float(meta.get("trainingDuration") or 0.0),
        validation=str(meta.get("validation") or ""),
        held_back=int(held) if isinstance(held, (int, float)) else None,
        counter_frames=int(frames.get("count") or 0),
        counter_frames_newest=str(frames.get("newest") or ""),
        accept=accept,
        standings=ranked,
    )


def standings_from_metadata(meta: dict[str, Any], labels: list[str]) -> list[ProductStanding]:
    """The products' standings as an export saved them (``productStandings``, in
    "photograph these first" order); empty for older models and damaged entries."""
    raw = meta.get("productStandings")
    if not isinstance(raw, dict):
        return []
    out = []
    for p, s in raw.items():
        if p not in labels or not isinstance(s, dict):
            continue
        expected = s.get("expected")
        out.append(
            ProductStanding(
                str(p),
                "catalogue" if s.get("from") == "catalogue" else "counter",
                int(s["counterPhotos"]) if isinstance(s.get("counterPhotos"), int) else 0,
                float(expected) if isinstance(expected, (int, float)) else None,
                bool(s.get("measured")),
                float(s["gain"]) if isinstance(s.get("gain"), (int, float)) else 0.0,
                0.0,
            )
        )
    return out
