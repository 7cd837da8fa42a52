"""A mixed shop: some products have counter photos, others only their catalogue photo.

The catalogue-only products must compete with products whose columns were learnt from
counter photos. The shop's own products that have both kinds of photo are the evidence
(see :func:`catalogue_round`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .dataset import Dataset
from .head import Rows, fit_parts
from .model import TrainOptions
from .progress import Reporter
from .shop_look import ShopLook, centre_of
from .training_cost import quick_epochs


@dataclass
class CatalogueRound:
    """How a mixed shop's catalogue-only products are scored (see ``catalogue_round``)."""

    mix: float  # their columns' fine-tuned share (0: their prototype alone)
    offset: float  # added to their logits, so they compete with counter products
    accuracy: float  # pretend-catalogue-only products' held-back counter photos right
    photos: int  # how many such photos measured it
    scheme: str
    counter_mix: float = 1.0  # the other products' mix, chosen with the same evidence


CATALOGUE_MIXES = (0.0, 0.5, 1.0)


def offsets_to_try(logits: np.ndarray, truth: np.ndarray, steps: int = 16) -> list[float]:
    """Offsets worth trying for the catalogue-only columns: 0, and the margins by which
    the held-back photos' true products lose (their quantiles), just past each."""
    rows = np.arange(len(truth))
    true = logits[rows, truth]
    rest = logits.copy()
    rest[rows, truth] = -np.inf
    gap = rest.max(axis=1) - true
    gap = gap[gap > 0]
    if not len(gap):
        return [0.0]
    qs = np.quantile(gap, np.linspace(0.05, 0.95, steps)) + 1e-3
    return [0.0] + sorted({round(float(q), 3) for q in qs})


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
    products with both a catalogue photo and counter photos are split in two; one half
    *pretends* to have only its catalogue photo (all its counter photos held back), the
    other products have one counter photo each held back. One fit on the rest scores every
    (mix, offset) for the pretend products' columns; the objective weighs the two halves'
    accuracies by the shop's share of catalogue-only products; then the halves swap.
    None when fewer than two products have both."""
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
    halves = [set(order[: len(order) // 2]), set(order[len(order) // 2 :])]
    quick = TrainOptions(**{**asdict(o), "epochs": quick_epochs(o)})
    share = len(only) / n  # of the shop's products: how much the pretend half weighs
    # per mix: [(logits, truth, pretend-group columns, is a pretend photo)] of each round
    # the others keep the mix leave-one-photo-out chose: letting this round move them too
    # (fruit mixed shop) overfitted its few photos: counter 58.1 %, catalogue-only 9.4 %
    pairs = [(counter_mix, m) for m in CATALOGUE_MIXES]
    seen: dict[tuple[float, float], list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]] = {
        k: [] for k in pairs
    }
    for r, pretend in enumerate(halves):
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
            None if rep is None else rep.sub(r / 2, (r + 1) / 2),
            seed_offset=97 + r,
            centre=centre_of(data, train_mask, studio_rows, look, use_frames)[0],
            negatives=negatives,
            phase="validating",
            prefix=f"catalogue-only check {r + 1} of 2: ",
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
    best: tuple[float, tuple[float, float], float, float, float] | None = None
    for key in pairs:  # the leave-one-photo-out counter mix first: a tie keeps it
        rounds = seen[key]
        pretend_logits = np.concatenate([lg[p] for lg, _, _, p in rounds])
        pretend_truth = np.concatenate([y[p] for _, y, _, p in rounds])
        for off in offsets_to_try(pretend_logits, pretend_truth):
            right_p, right_c = [], []
            for lg, y, group, p in rounds:
                hit = (lg + np.where(group, off, 0.0)).argmax(1) == y
                right_p.append(hit[p])
                right_c.append(hit[~p])
            acc_p = float(np.concatenate(right_p).mean())
            counter_hits = np.concatenate(right_c)
            acc_c = float(counter_hits.mean()) if len(counter_hits) else acc_p
            score = share * acc_p + (1 - share) * acc_c
            # ties: the counter mix leave-one-photo-out chose, the prototype, no offset
            if best is None or score > best[0] + 1e-9:
                best = (score, key, off, acc_p, acc_c)
    assert best is not None
    _, (cm, m), off, acc_p, acc_c = best
    n_photos = sum(int(p.sum()) for _, _, _, p in seen[cm, m])
    scheme = (
        f"catalogue-only products: mix {m:g}, offset {off:g}, the others mix {cm:g} (chosen "
        f"on {len(both)} products pretending, half at a time, to have only their catalogue "
        f"photo: {acc_p:.0%} of {n_photos} counter photos; the others {acc_c:.0%})"
    )
    return CatalogueRound(m, off, acc_p, n_photos, scheme, cm)
