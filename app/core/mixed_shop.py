"""A mixed shop: some products have counter photos, others only their catalogue photo.

The catalogue-only products must compete with products whose columns were learnt from
counter photos. The shop's own products that have both kinds of photo are the evidence:
they show in which directions of feature space this shop's counter photos differ from
catalogue photos of the same product (:func:`domain_directions`, which the head then
ignores), and, pretending to have only their catalogue photo, how far the catalogue-only
columns must be lifted to compete (:func:`catalogue_round`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .dataset import Dataset
from .head import Rows, fit_parts, normalise_features
from .model import TrainOptions
from .progress import Phase, Reporter
from .shop_look import ShopLook, centre_of
from .training_cost import pretend_plan, quick_epochs


@dataclass
class CatalogueRound:
    """How a mixed shop's catalogue-only products are scored (see ``catalogue_round``)."""

    mix: float  # their columns' fine-tuned share (0: their prototype alone)
    offset: float  # added to their logits, so they compete with counter products
    accuracy: float  # pretend-catalogue-only products' held-back counter photos right
    photos: int  # how many such photos measured it
    scheme: str
    counter_mix: float = 1.0  # the other products' mix, chosen with the same evidence
    # the pretending products' held-back counter photos as the chosen head scores them
    # (the offset added): what a catalogue-only product's photo looks like to the till,
    # for the accept threshold (:func:`app.core.validation.calibrate`)
    held_logits: np.ndarray | None = None
    held_truth: np.ndarray | None = None


CATALOGUE_MIXES = (0.0, 0.5, 1.0)
# At most this many catalogue-to-counter directions set aside (of 1,280 features).
MAX_DOMAIN_DIRECTIONS = 64


def domain_directions(data: Rows, mask: np.ndarray, studio_rows: np.ndarray) -> np.ndarray | None:
    """Directions (orthonormal rows) in which this shop's counter photos differ from the
    catalogue photos of the same products, from the rows in ``mask``: per product with
    both kinds, its mean normalised counter view minus its mean catalogue view; their
    principal directions, at most one per such product and MAX_DOMAIN_DIRECTIONS.

    A head that ignores them compares a catalogue-only product's prototype with a counter
    photo on what catalogue and counter photos share. Fruit mixed shop (25 products with
    3 counter photos + 25 catalogue-only, 5 seeds, test list): 60.0 / 16.4 % → 59.5 /
    20.0 % (counter / catalogue-only products); every product with its catalogue photo
    and 1 / 3 / 10 counter photos (train-list photos not used): 50.3 → 53.8, 71.3 → 72.4,
    85.8 → 85.8 %. None with fewer than two such products."""
    diffs = []
    for c in np.unique(data.y[mask]):
        rows = mask & (data.y == c)
        cat, counter = rows & studio_rows, rows & ~studio_rows
        if cat.any() and counter.any():
            diffs.append(
                normalise_features(data.x[counter]).mean(0)
                - normalise_features(data.x[cat]).mean(0)
            )
    if len(diffs) < 2:
        return None
    _, _, vt = np.linalg.svd(np.stack(diffs), full_matrices=False)
    return vt[: min(len(diffs), MAX_DOMAIN_DIRECTIONS)].astype(np.float32)


# Offsets are tried on an even grid up to past the largest margin the pretenders lose by,
# and chosen on the objective averaged over a few neighbours: the raw maximum of ~100
# held-back photos chases noise. Fruit mixed shop, 5 seeds, test list: the raw maximum
# gave counter 58.3 / catalogue-only 21.3 % but 42.3 % for the counter products in the
# worst seed (nearest-class-mean: 58.6); averaged over 5 of 60 steps 62.9 / 15.9 %, worst
# 53.6 %.
OFFSET_STEPS = 60
OFFSET_SMOOTHING = 5


def offsets_to_try(logits: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """An even grid of offsets for the catalogue-only columns, from 0 to a little past the
    margin by which 95 % of the held-back photos' true products lose."""
    rows = np.arange(len(truth))
    true = logits[rows, truth]
    rest = logits.copy()
    rest[rows, truth] = -np.inf
    gap = rest.max(axis=1) - true
    gap = gap[gap > 0]
    top = float(np.quantile(gap, 0.95)) * 1.2 if len(gap) else 0.0
    return np.linspace(0.0, top, OFFSET_STEPS) if top > 0 else np.zeros(1)


def catalogue_round(
    dataset: Dataset,
    data: Rows,
    n: int,
    o: TrainOptions,
    studio_rows: np.ndarray,
    look: ShopLook,
    counter_mix: float,
    only: np.ndarray,
    use_frames: bool,
    negatives: np.ndarray | None = None,
    rep: Reporter | None = None,
) -> CatalogueRound | None:
    """A mixed shop's catalogue-only products must compete with products that have
    counter photos, whose logits on a counter photo are larger. Evidence from the shop:
    products with both a catalogue photo and counter photos take turns, a fifth at a time
    (``training_cost.pretend_plan``: until 600 of their photos are held back; halves in
    a shop of over 3,000 photos), to *pretend* to have only their catalogue photo (all
    their counter photos held back); the other products have one counter photo each held back.
    One fit on the rest (without the domain directions those rows show) scores every
    (mix, offset) for the pretend products' columns; the objective weighs the two groups'
    accuracies by the shop's share of catalogue-only products. None when fewer than two
    products have both."""
    is_cat = np.zeros(len(dataset.samples), bool)
    is_cat[data.image[studio_rows]] = True
    labels = dataset.labels
    photos: dict[int, list[int]] = {}
    for i, s in enumerate(dataset.samples):
        photos.setdefault(labels.index(s.product_id), []).append(i)
    both = [c for c, imgs in photos.items() if any(is_cat[imgs]) and not all(is_cat[imgs])]
    if len(both) < 2:
        return None
    rng = np.random.default_rng(o.seed + 7)
    order = [int(c) for c in rng.permutation(both)]
    pretend_photos = sum(int((~is_cat[photos[c]]).sum()) for c in both)
    parts, n_rounds = pretend_plan(len(dataset.samples), len(order), pretend_photos)
    groups = [set(order[r::parts]) for r in range(n_rounds)]
    quick = TrainOptions(**{**asdict(o), "epochs": quick_epochs(o)})
    share = len(only) / n  # of the shop's products: how much the pretenders weigh
    # per mix: [(logits, truth, pretend-group columns, is a pretend photo)] of each round
    # the others keep the mix leave-one-photo-out chose: letting this round move them too
    # (fruit mixed shop) overfitted its few photos: counter 58.1 %, catalogue-only 9.4 %
    pairs = [(counter_mix, m) for m in CATALOGUE_MIXES]
    seen: dict[tuple[float, float], list[Round]] = {k: [] for k in pairs}
    for r, pretend in enumerate(groups):
        held_pretend = [i for c in pretend for i in photos[c] if not is_cat[i]]
        held_counter = []
        for c, imgs in photos.items():
            counter_imgs = [i for i in imgs if not is_cat[i]]
            if c not in pretend and len(imgs) >= 2 and counter_imgs:
                held_counter.append(int(rng.choice(counter_imgs)))
        train_mask = ~np.isin(data.image, held_pretend + held_counter)
        _, parts = fit_parts(
            data.x[train_mask],
            data.y[train_mask],
            n,
            quick,
            None if rep is None else rep.sub(r / n_rounds, (r + 1) / n_rounds),
            seed_offset=97 + r,
            centre=centre_of(data, train_mask, studio_rows, look, use_frames)[0],
            negatives=negatives,
            phase=Phase.VALIDATING,
            prefix=f"catalogue-only check {r + 1} of {n_rounds}: ",
            set_aside=domain_directions(data, train_mask, studio_rows),
        )
        if parts is None:
            return None
        test = np.isin(data.image, held_pretend + held_counter) & (data.view == 0)
        is_p = np.isin(data.image[test], held_pretend)
        group = np.zeros(n, bool)
        group[list(pretend)] = True
        group[only] = True  # the real catalogue-only products take the same columns
        for cm, m in pairs:
            mix = np.where(group, m, cm).astype(np.float32)
            seen[cm, m].append((parts.predict(data.x[test], mix, o), data.y[test], group, is_p))
    best = best_offset(seen, share)
    _, (cm, m), off, acc_p, acc_c = best
    n_photos = sum(int(p.sum()) for _, _, _, p in seen[cm, m])
    scheme = (
        f"catalogue-only products: mix {m:g}, offset {off:g}, the others mix {cm:g} (chosen "
        f"on {len(both)} products pretending, a few at a time, to have only their catalogue "
        f"photo: {acc_p:.0%} of {n_photos} counter photos; the others {acc_c:.0%})"
    )
    held = [((lg + np.where(g, off, 0.0))[p], y[p]) for lg, y, g, p in seen[cm, m]]
    return CatalogueRound(
        m,
        off,
        acc_p,
        n_photos,
        scheme,
        cm,
        np.concatenate([lg for lg, _ in held]).astype(np.float32),
        np.concatenate([y for _, y in held]),
    )


Round = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def best_offset(
    seen: dict[tuple[float, float], list[Round]], share: float
) -> tuple[float, tuple[float, float], float, float, float]:
    """(objective, (counter mix, catalogue mix), offset, pretend accuracy, the others'
    accuracy) of the best candidate: ``seen`` holds, per mix pair, each round's (logits,
    truth, columns that take the offset, is a pretend photo). The objective is the shop's
    expected share of photos right, ``share`` of them catalogue-only products', averaged
    over OFFSET_SMOOTHING neighbouring offsets."""
    best: tuple[float, tuple[float, float], float, float, float] | None = None
    for key, rounds in seen.items():  # the leave-one-photo-out counter mix first: a tie keeps it
        offsets, acc_p, acc_c = offset_curve(rounds)
        smooth = smoothed(share * acc_p + (1 - share) * acc_c, OFFSET_SMOOTHING)
        i = int(np.argmax(smooth))  # the first maximum: ties keep the smaller offset
        # ties across mixes: the counter mix leave-one-photo-out chose, the prototype
        if best is None or smooth[i] > best[0] + 1e-9:
            best = (float(smooth[i]), key, float(offsets[i]), float(acc_p[i]), float(acc_c[i]))
    assert best is not None
    return best


def offset_curve(rounds: list[Round]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Along :func:`offsets_to_try`'s grid for one mix pair's rounds: (offsets, the
    pretend photos' top-1, the other held-back photos' top-1, which is the pretend one's
    where no other photo was held back)."""
    offsets = offsets_to_try(
        np.concatenate([lg[p] for lg, _, _, p in rounds]),
        np.concatenate([y[p] for _, y, _, p in rounds]),
    )
    hits = [hits_along(lg, y, group, offsets) for lg, y, group, _ in rounds]
    right_p = np.concatenate([h[:, p] for h, (_, _, _, p) in zip(hits, rounds, strict=True)], 1)
    right_c = np.concatenate([h[:, ~p] for h, (_, _, _, p) in zip(hits, rounds, strict=True)], 1)
    acc_p = right_p.mean(1)
    acc_c = right_c.mean(1) if right_c.shape[1] else acc_p
    return offsets, acc_p, acc_c


def hits_along(
    logits: np.ndarray, truth: np.ndarray, group: np.ndarray, offsets: np.ndarray
) -> np.ndarray:
    """(offsets, photos): whether ``(logits + offset on the group's columns).argmax(1)``
    is the truth, for every offset at once. Each photo's highest other logit in and out
    of the group, before and after its true column (argmax takes the first of equals),
    decide it; adding the offset to all of a product's logits was 60 passes over photos x
    products: 20 s without a report at 5,000 products (bench/scale.py --mixed)."""
    rows = np.arange(len(truth))
    cols = np.arange(logits.shape[1])[None, :]
    before, other = cols < truth[:, None], cols != truth[:, None]
    g = group[None, :]

    def top(where: np.ndarray) -> np.ndarray:  # float32 max, then as float64 (exact)
        return np.where(where, logits, -np.inf).max(1).astype(np.float64)

    g_before, g_after = top(g & before), top(g & ~before & other)
    n_before, n_after = top(~g & before), top(~g & ~before & other)
    off = np.asarray(offsets, np.float64)[:, None]
    true = logits[rows, truth].astype(np.float64) + np.where(group[truth], off, 0.0)
    return (true > np.maximum(g_before + off, n_before)) & (
        true >= np.maximum(g_after + off, n_after)
    )


def smoothed(values: np.ndarray, k: int) -> np.ndarray:
    """``values`` averaged over ``k`` neighbours (at most all of them), the ends
    repeated: the raw maximum of ~100 held-back photos chases noise."""
    k = min(k, len(values))
    out = np.convolve(np.pad(values, (k // 2, k - 1 - k // 2), mode="edge"), np.ones(k) / k)
    return out[k - 1 : k - 1 + len(values)]
