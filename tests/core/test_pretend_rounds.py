"""A large mixed shop's catalogue round: fifths of the pretenders, but no more rounds
than it takes to hold back ENOUGH_HELD of their counter photos (each round is a fit of
the whole head: five were 18 s of a 1,000-product mixed shop's 70); past 3,000 photos
two halves, as before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.core import mixed_shop, training_cost
from app.core.dataset import Dataset, DatasetReport, Sample
from app.core.head import Rows
from app.core.model import TrainOptions
from app.core.shop_look import ShopLook


def _shop(only: int, pretenders: int, counter: int) -> tuple[Dataset, Rows, np.ndarray]:
    """``only`` catalogue-only products, then ``pretenders`` with a catalogue photo and
    ``counter`` counter photos each; one view a photo, random features."""
    labels = [f"p{i}" for i in range(only + pretenders)]
    samples, is_cat = [], []
    for i, pid in enumerate(labels):
        kinds = [True] + ([False] * counter if i >= only else [])
        for k, cat in enumerate(kinds):
            samples.append(Sample(pid, Path(f"{pid}-{k}.jpg"), f"{pid}-{k}"))
            is_cat.append(cat)
    rng = np.random.default_rng(0)
    y = np.array([labels.index(s.product_id) for s in samples])
    rows = Rows(
        rng.normal(size=(len(samples), 16)).astype(np.float32),
        y,
        np.arange(len(samples)),
        np.zeros(len(samples), int),
    )
    names = {p: p for p in labels}
    return Dataset(labels, names, samples, DatasetReport()), rows, np.array(is_cat)


@pytest.mark.parametrize(
    ("pretenders", "counter", "rounds"),
    [(25, 3, 5), (3, 3, 3), (300, 3, 4), (1000, 3, 2)],
)
def test_the_catalogue_round_tries_fifths_until_enough_photos_are_held_back(
    monkeypatch, pretenders: int, counter: int, rounds: int
) -> None:
    dataset, data, is_cat = _shop(10, pretenders, counter)
    held: list[set[int]] = []  # per round: the pretenders (their counter photos held back)

    class Parts:
        def predict(self, x, mix, o):  # noqa: ANN001 - the head's own interface
            return np.random.default_rng(len(x)).normal(size=(len(x), len(dataset.labels)))

    def fit(x, y, n, o, *a, **k):  # noqa: ANN001
        # a pretender trains on its catalogue photo alone; the others keep all but one
        held.append({c for c in range(10, len(dataset.labels)) if (y == c).sum() == 1})
        return None, Parts()

    monkeypatch.setattr(mixed_shop, "fit_parts", fit)
    n = len(dataset.labels)
    look = ShopLook.of(np.zeros((0, 16), np.float32), None)
    only = np.arange(10)
    r = mixed_shop.catalogue_round(dataset, data, n, TrainOptions(), is_cat, look, 0.5, only, False)
    assert r is not None and len(held) == rounds
    photos = 10 + pretenders * (1 + counter)
    parts, planned = training_cost.pretend_plan(photos, pretenders, pretenders * counter)
    assert planned == rounds and parts == (2 if photos > 3000 else min(5, pretenders))
    for group in held:  # each round: one part (a fifth, or one each if fewer; a half)
        assert len(group) in (pretenders // parts, -(-pretenders // parts))
    assert sum(len(g) for g in held) == len(set().union(*held))  # nobody twice


@pytest.mark.parametrize("ties", [False, True])
def test_the_offsets_are_scored_as_the_argmax_scores_them(ties: bool) -> None:
    """All offsets at once (a photo's highest other logits in and out of the group, before
    and after its true column) give what adding each offset and taking the argmax gave,
    equal logits included (argmax takes the first of equals)."""
    rng = np.random.default_rng(int(ties))
    for n_cls in (2, 7, 40):
        logits = rng.normal(size=(200, n_cls)).astype(np.float32)
        if ties:
            logits = np.round(logits * 2) / 2
        truth = rng.integers(0, n_cls, 200)
        group = rng.random(n_cls) < 0.5
        offsets = np.linspace(0.0, 2.0, 9)
        want = np.stack(
            [(logits + np.where(group, off, 0.0)).argmax(1) == truth for off in offsets]
        )
        np.testing.assert_array_equal(mixed_shop.hits_along(logits, truth, group, offsets), want)
