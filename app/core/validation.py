"""Validation that works with 1–3 photos per product, and what it decides.

Leave-one-photo-out rounds over products with two or more photos score every head mix
(and the counter frames kept or left out) on the same fits; the held-back photos'
logits then give the calibration temperature and the accept threshold
(:mod:`app.core.calibration`). Products with one photo are trained on and reported as
"not measurable".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from .calibration import (
    MIN_HELD_BACK,
    accept_threshold,
    fit_temperature,
    softmax,
    unknown_floor,
)
from .dataset import Dataset
from .head import MIX_CANDIDATES, Rows, fit_parts, mean_normalised
from .mixed_shop import domain_directions
from .model import Acceptance, TrainOptions
from .progress import Phase, Reporter
from .shop_look import ShopLook, centre_of
from .training_cost import quick_epochs, validation_rounds


@dataclass
class Validation:
    """What the leave-one-photo-out rounds measured, for the mix they pick."""

    accuracy: float | None
    per_product: dict[str, float | None]
    confusions: dict[tuple[str, str], int]
    scheme: str  # how it was measured, in words
    scores: dict[float, float] = field(default_factory=dict)  # every candidate mix's accuracy
    mix: float = 1.0
    held_back: int | None = None  # photos held back and recognised or not
    use_frames: bool = True  # centre on the counter frames too (see ``validate``)
    logits: np.ndarray | None = None  # the held-back photos' logits, for calibration
    truth: np.ndarray | None = None
    negative_logits: np.ndarray | None = None  # held-back drawn scenes with no product


def validate(
    dataset: Dataset,
    data: Rows,
    n: int,
    o: TrainOptions,
    rep: Reporter,
    default_mix: float,
    choose: bool = True,
    studio_rows: np.ndarray | None = None,
    look: ShopLook | None = None,
    negatives: np.ndarray | None = None,
    held_negatives: np.ndarray | None = None,
) -> Validation:
    """Leave-one-photo-out rounds: each round holds out one photo of every product
    that has at least two, trains on the rest (all views), tests on the held-out
    photo as the POS would see it (view 0). Every ``MIX_CANDIDATES`` head is scored
    on the same rounds (one fit each); returns the figures of the mix it picks
    (``choose_mix``; ``default_mix`` when not ``choose``), every candidate's
    accuracy, and that mix.

    With counter frames and labelled counter photos, every candidate is also scored
    centred without the frames (the centre changes no fit): frames that would hurt
    this shop's held-back photos are left out (``use_frames``)."""
    labels = dataset.labels
    by_product: dict[int, list[int]] = {}
    for i, s in enumerate(dataset.samples):
        by_product.setdefault(labels.index(s.product_id), []).append(i)
    eligible = {c: imgs for c, imgs in by_product.items() if len(imgs) >= 2}
    per: dict[str, float | None] = dict.fromkeys(labels, None)
    look = look if look is not None else ShopLook.of(np.zeros((0, data.x.shape[1])), None)
    if not eligible:
        return Validation(
            None, per, {}, "not measurable: every product has a single photo", mix=default_mix
        )
    most = max(len(v) for v in eligible.values())
    rounds = validation_rounds(len(dataset.samples), most, len(eligible))
    rng = np.random.default_rng(o.seed)
    order = {c: list(rng.permutation(imgs)) for c, imgs in eligible.items()}
    quick = TrainOptions(**{**asdict(o), "epochs": quick_epochs(o)})  # estimates only
    candidates = MIX_CANDIDATES if o.head == "cosine" else (1.0,)
    rows = studio_rows if studio_rows is not None else np.zeros(len(data.x), bool)
    has_counter = bool((~rows & (data.view == 0)).any())
    frame_choices = (True, False) if len(look.z) and has_counter else (True,)
    preds: dict[tuple[float, bool], list[np.ndarray]] = {
        (m, uf): [] for m in candidates for uf in frame_choices
    }
    neg_preds: dict[tuple[float, bool], list[np.ndarray]] = {k: [] for k in preds}
    truths: list[np.ndarray] = []
    for r in range(rounds):
        held = [order[c][r % len(order[c])] for c in eligible if r < len(order[c])]
        held_set = np.isin(data.image, held)
        train_mask = ~held_set
        test_mask = held_set & (data.view == 0)
        head, parts = fit_parts(
            data.x[train_mask],
            data.y[train_mask],
            n,
            quick,
            rep.sub(r / rounds, (r + 1) / rounds),
            seed_offset=r + 1,
            centre=centre_of(data, train_mask, rows, look)[0],
            negatives=negatives,
            phase=Phase.VALIDATING,
            prefix=f"round {r + 1} of {rounds}: ",
            set_aside=domain_directions(data, train_mask, rows),
        )
        if parts is None:  # the plain reference's softmax: its log is a logit
            probs = np.asarray(head.predict_on_batch(data.x[test_mask]))
            preds[1.0, True].append(np.log(np.maximum(probs, 1e-12)))
        else:
            heads = len(frame_choices) * len(candidates)
            for j, uf in enumerate(frame_choices):
                if uf is False:
                    centre = centre_of(data, train_mask, rows, look, use_frames=False)[0]
                    if centre is None:  # as fit_parts defaults: the training views' mean
                        centre = mean_normalised(data.x[train_mask])
                    parts = replace(parts, centre=centre)
                for i, m in enumerate(candidates):
                    # thousands of products: each head's scores take seconds; say so
                    done = j * len(candidates) + i + 1
                    what = f"round {r + 1} of {rounds}: scoring head {done} of {heads}"
                    rep(Phase.VALIDATING, (r + 1) / rounds, what)
                    preds[m, uf].append(parts.predict(data.x[test_mask], m, o))
                    if held_negatives is not None and len(held_negatives):
                        neg_preds[m, uf].append(parts.predict(held_negatives, m, o))
        truths.append(data.y[test_mask])
        rep(Phase.VALIDATING, (r + 1) / rounds, f"{r + 1} of {rounds}")
    truth = np.concatenate(truths)
    logits = {k: np.concatenate(p) for k, p in preds.items()}
    every = {k: float((lg.argmax(1) == truth).mean()) for k, lg in logits.items()}
    best = {uf: max(a for (_, u), a in every.items() if u == uf) for uf in frame_choices}
    use_frames = best[True] >= best.get(False, 0.0) - 1e-9  # a tie keeps the frames
    scores = {m: a for (m, uf), a in every.items() if uf == use_frames}
    mix = choose_mix(scores, default_mix) if choose and o.head == "cosine" else default_mix
    pred = logits[mix, use_frames].argmax(1)
    confusions: dict[tuple[str, str], int] = {}
    hits: dict[int, list[int]] = {c: [] for c in eligible}
    for t, p in zip(truth, pred, strict=True):
        hits[int(t)].append(int(t == p))
        if t != p:
            key = (labels[int(t)], labels[int(p)])
            confusions[key] = confusions.get(key, 0) + 1
    for c, v in hits.items():
        per[labels[c]] = float(np.mean(v)) if v else None
    scheme = (
        f"leave-one-photo-out, {rounds} round(s), {len(truth)} held-out photos of "
        f"{len(eligible)} products with 2+ photos"
    )
    if len(frame_choices) > 1:
        scheme += (
            f"; counter frames {'kept' if use_frames else 'left out'} "
            f"({best[True]:.0%} with, {best[False]:.0%} without)"
        )
    return Validation(
        scores[mix],
        per,
        confusions,
        scheme,
        scores,
        mix,
        len(truth),
        use_frames,
        logits[mix, use_frames],
        truth,
        np.concatenate(neg_preds[mix, use_frames]) if neg_preds[mix, use_frames] else None,
    )


UNKNOWN_WEIGHT = 0.1


def calibrate(
    v: Validation,
    o: TrainOptions,
    more: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[float, Acceptance]:
    """Temperature and accept threshold from the held-back photos' logits (see
    :mod:`app.core.calibration`); 1.0 and a cautious unmeasured threshold without
    enough of them, and for the plain reference (no calibration: it is the reference).

    ``more``: (logits, truth) of more held-back photos for the threshold only, a mixed
    shop's pretending products' counter photos: a catalogue-only product's photo named
    confidently as a product with counter photos is a wrong add the leave-one-photo-out
    rounds never see. Without them the till added by itself at a claimed 95 % right and
    was 79-88 % right on the fruit mixed shop's test photos (an audit of the figures
    shown)."""
    if o.head != "cosine" or v.logits is None or v.truth is None or len(v.truth) < MIN_HELD_BACK:
        held = 0 if v.truth is None else len(v.truth)
        return 1.0, accept_threshold(np.zeros(held), np.zeros(held, bool), o.accept_target)
    t = fit_temperature(v.logits, v.truth)
    probs = softmax(v.logits / t)
    right = probs.argmax(1) == v.truth
    # Each held-back photo also stands in for a product the model does not know: its
    # logits without its own product's column. Accepting one is a wrong add, weighed
    # UNKNOWN_WEIGHT against a real photo (the till also sees products not yet trained).
    unknown = v.logits / t
    unknown[np.arange(len(v.truth)), v.truth] = -np.inf
    # Drawn scenes with no product that the round's head never saw count the same way.
    none = softmax(v.negative_logits / t).max(1) if v.negative_logits is not None else []
    unknown_top1 = softmax(unknown).max(1)
    if more is not None and len(more[1]):
        extra = softmax(more[0] / t)
        probs_all = np.concatenate([probs.max(1), extra.max(1)])
        right = np.concatenate([right, extra.argmax(1) == more[1]])
    else:
        probs_all = probs.max(1)
    n_unknown = len(unknown_top1) + len(none)
    top1 = np.concatenate([probs_all, unknown_top1, none])
    correct = np.concatenate([right, np.zeros(n_unknown, bool)])
    weights = np.concatenate([np.ones(len(right)), np.full(n_unknown, UNKNOWN_WEIGHT)])
    # and at most MAX_UNKNOWN_ACCEPTED of the unknown products' photos are added by
    # themselves, whatever the precision on known ones
    floor = unknown_floor(unknown_top1)
    return t, accept_threshold(top1, correct, o.accept_target, weights, floor)


def choose_mix(scores: dict[float, float], default_mix: float) -> float:
    """Best leave-one-photo-out accuracy; a tie goes to the evidence's default."""
    best = max(scores.values())
    tied = [m for m, a in scores.items() if a >= best - 1e-9]
    return min(tied, key=lambda m: abs(m - default_mix))
