"""Confidence the till can act on: calibrated probabilities and an accept threshold.

The trainer's held-back photos (leave-one-photo-out rounds) give logits of photos the
head never saw. A temperature fitted on them (lowest log-loss) is folded into the
exported softmax layer, so "0.9" means about 9 in 10 right on new photos; the accept
threshold is the lowest top-1 probability at which the held-back photos were right
at least ``target`` of the time. The POS adds a product by itself at or above it and
shows the top three below it. Plain NumPy (no TensorFlow, no Qt).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .model import ACCEPT_TARGET, NEVER_THRESHOLD, UNMEASURED_THRESHOLD, Acceptance

MIN_HELD_BACK = 20  # fewer held-back photos than this measure no threshold
# A threshold must accept at least this many held-back photos: 7 of 7 right is weak
# evidence (packaged goods, 3 photos per category: such thresholds were 57–72 % right
# on the test photos).
MIN_ACCEPTED = 10
# A product the model does not know (added to the shop yesterday, a look-alike variety)
# may be added by itself at most this often. Its photos are simulated by every held-back
# photo with its own product's column removed, so the threshold is at least the top-1
# probability that only this share of them reach.
MAX_UNKNOWN_ACCEPTED = 0.10
TEMPERATURES = np.geomspace(0.05, 20.0, 121)
CHUNK_ROWS = 1024


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def log_loss(logits: np.ndarray, truth: np.ndarray, t: float, smoothing: float = 0.0) -> float:
    """Mean cross-entropy of ``softmax(logits / t)`` against the true labels (smoothed:
    ``1 - smoothing`` on the true product, ``smoothing`` spread evenly), a chunk of rows
    at a time (5,000 held-back photos x 5,000 products is 100 MB a copy)."""
    total = 0.0
    for s in range(0, len(truth), CHUNK_ROWS):
        z = np.asarray(logits[s : s + CHUNK_ROWS], dtype=np.float32) / np.float32(t)
        top = z.max(axis=1, keepdims=True)
        lse = np.log(np.exp(z - top).sum(axis=1)) + top[:, 0]
        true = z[np.arange(len(z)), truth[s : s + CHUNK_ROWS]]
        nll = np.minimum(lse - true, -np.log(1e-12))
        total += float(((1.0 - smoothing) * nll + smoothing * (lse - z.mean(axis=1))).sum())
    return total / len(truth)


def fit_temperature(logits: np.ndarray, truth: np.ndarray) -> float:
    """The temperature T of ``TEMPERATURES`` minimising the log-loss of
    ``softmax(logits / T)``: one parameter, no optimiser to diverge.

    The log-loss is convex in 1/T (a log-sum-exp of linear functions minus a linear one),
    so along the grid it falls, then rises: a ternary search finds the grid's minimum in
    about 25 evaluations instead of 121 (at 5,000 products the full scan took about
    40 s without a word of progress). Of equal losses the lower temperature wins.

    The targets are smoothed by Laplace's rule, 1 / (photos + 2): held-back photos that
    were all right do not prove the model is never wrong. Unsmoothed, the loss kept
    falling to the grid's lowest temperature (0.05), probabilities reached 1.0, and a
    fruit the shop does not sell was "Sure: Kiwi" (a newcomer's 9-product shop, 27 of
    27 held-back photos right)."""
    if not len(truth):
        return 1.0
    memo: dict[int, float] = {}
    smoothing = 1.0 / (len(truth) + 2)

    def loss(i: int) -> float:
        if i not in memo:
            memo[i] = log_loss(logits, truth, float(TEMPERATURES[i]), smoothing)
        return memo[i]

    lo, hi = 0, len(TEMPERATURES) - 1
    while hi - lo > 2:
        m1, m2 = lo + (hi - lo) // 3, hi - (hi - lo) // 3
        if loss(m1) <= loss(m2) + 1e-12:
            hi = m2  # the (first) minimum is not right of m2
        else:
            lo = m1 + 1
    best = min(range(lo, hi + 1), key=lambda i: (loss(i), i))
    return float(TEMPERATURES[best])


def accept_threshold(
    top1: np.ndarray,
    correct: np.ndarray,
    target: float = ACCEPT_TARGET,
    weights: np.ndarray | None = None,
    floor: float = 0.0,
) -> Acceptance:
    """The lowest threshold whose accepted held-back photos are at least ``target`` right
    (counting from the most confident photo down, so the accepted set only grows), that
    accepts at least MIN_ACCEPTED of them and is at least ``floor``. With fewer than
    MIN_HELD_BACK photos a cautious unmeasured threshold; when no such threshold reaches
    the target, NEVER_THRESHOLD (the till then always asks)."""
    n = len(top1)
    w_all = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    photos = int((w_all >= 1).sum())  # the real held-back photos
    if photos < MIN_HELD_BACK:
        return Acceptance(UNMEASURED_THRESHOLD, None, None, target, False, photos)
    order = np.argsort(-top1, kind="stable")
    p, ok, w = top1[order], correct[order].astype(float), w_all[order]
    precision = np.cumsum(ok * w) / np.cumsum(w)
    accepted = np.cumsum(w >= 1)  # real photos accepted so far
    best = -1
    for i in range(n):
        # a threshold between ties would split equal photos: only at the last of a run
        if i + 1 < n and p[i + 1] == p[i]:
            continue
        if accepted[i] >= MIN_ACCEPTED and precision[i] >= target and p[i] >= floor:
            best = i
    if best < 0:  # not even the most confident photos reach the target: never
        return Acceptance(NEVER_THRESHOLD, 0.0, 0.0, target, True, photos)
    share = float(accepted[best]) / photos
    return Acceptance(float(p[best]), float(precision[best]), share, target, True, photos)


@dataclass(frozen=True)
class Decision:
    """What the POS does with one photo."""

    sure: bool  # add ``top[0]`` without asking
    top: Sequence[tuple[str, float]]  # (label, probability), most likely first
    threshold: float


def decide(top: Sequence[tuple[str, float]], threshold: float) -> Decision:
    return Decision(bool(top) and top[0][1] >= threshold, list(top), threshold)


def describe(decision: Decision, name_of: dict[str, str] | None = None) -> str:
    """The POS's words: "Sure: Oat milk 1 l" or "Not sure — Oat milk? Soy milk? …"."""
    names = name_of or {}

    def nm(label: str) -> str:
        return names.get(label, label)

    if decision.sure:
        return f"Sure: {nm(decision.top[0][0])}"
    return "Not sure — " + " ".join(f"{nm(lab)}?" for lab, _ in decision.top[:3])


def unknown_floor(unknown_top1: np.ndarray, share: float = MAX_UNKNOWN_ACCEPTED) -> float:
    """The lowest threshold at which at most ``share`` of the photos of products the model
    does not know (``unknown_top1``: their top-1 probabilities) would be accepted."""
    if not len(unknown_top1):
        return 0.0
    ranked = np.sort(unknown_top1)[::-1]
    k = int(np.floor(share * len(ranked)))  # this many may reach the threshold
    return float(ranked[k]) + 1e-6 if k < len(ranked) else 0.0
