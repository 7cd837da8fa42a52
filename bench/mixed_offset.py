"""How a mixed shop's catalogue-only offset is chosen: rules compared on both domains.

The pretend rounds (:func:`app.core.mixed_shop.catalogue_round`) score every (mix,
offset) on ~100 held-back counter photos; README records one seed whose choice put the
products the owner photographed 22 points below nearest-class-mean. This runs the app's
trainer on ``bench/domains.py``'s mixed shop (every product its catalogue photo, half
also 3 counter photos) for many seeds, keeps what the rounds saw and the final head's
parts, and scores each rule's choice on the test list (fruit also on its val list, where
choices are made): the mean, and the worst seed, of each half, and how far the counter
products fell below nearest-class-mean in the worst seed. "oracle offset" is the shipped
mixes with the offset best on the scored photos themselves: a bound, not a rule.

Rules (see each function): the shipped smoothed maximum; a wider smoothing; only offsets
that keep the counter products' held-back top-1 within 5 points of offset 0; the median
offset over 50 bootstrap resamples; the true product's softmax probability instead of a
hit; the offset where the pretend photos missed by the catalogue-only group (times 1,
1/2, 1/5) equal the other photos pulled into it; the largest offset that pulls at most
8 % of them; the offset that lifts a catalogue-only column's score of its own photos to
the other columns' level; the median of the shipped, the 1/2 and the 1/5 offsets.

    python bench/mixed_offset.py --seeds 0 1 2 3 4 5 6 7 8 9 10 11 --save runs.pkl  # ~6 min
    python bench/mixed_offset.py --load runs.pkl --val   # fruit scored on its val list
"""

from __future__ import annotations

import argparse
import pickle
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.core import head as head_module  # noqa: E402
from app.core import mixed_shop  # noqa: E402
from app.core.catalogue import Catalogue, ImageRef, Product  # noqa: E402
from app.core.dataset import build_dataset  # noqa: E402
from app.core.features import FeatureStore  # noqa: E402
from app.core.head import normalise_features, prototypes  # noqa: E402
from app.core.model import TrainOptions  # noqa: E402
from app.core.trainer import train  # noqa: E402
from bench.benchmark import WEIGHTS, read_list  # noqa: E402
from bench.domains import DOMAINS, load_domain, setups, view0  # noqa: E402

Choice = tuple[float, float, float]  # counter mix, catalogue mix, offset
Rule = Callable[[dict, float], Choice]


def shipped(seen: dict, share: float) -> Choice:
    _, (cm, m), off, _, _ = mixed_shop.best_offset(seen, share)
    return cm, m, off


def guarded(drop: float, k: int = 5) -> Rule:
    """The shipped objective, but only offsets where the counter products' held-back
    accuracy stays within ``drop`` of its value at offset 0."""

    def rule(seen: dict, share: float) -> Choice:
        best = None
        for key in seen:
            offs, ap, ac = mixed_shop.offset_curve(seen[key])
            obj = mixed_shop.smoothed(share * ap + (1 - share) * ac, k)
            ok = mixed_shop.smoothed(ac, k) >= ac[0] - drop - 1e-9
            obj = np.where(ok, obj, -1)
            i = int(np.argmax(obj))
            if best is None or obj[i] > best[0] + 1e-9:
                best = (obj[i], key, offs[i])
        assert best is not None
        return best[1][0], best[1][1], float(best[2])

    return rule


def bagged(n_boot: int = 50) -> Rule:
    """The median offset of the shipped rule over bootstrap resamples of the rounds'
    held-back photos (mix pair chosen as shipped)."""

    def rule(seen: dict, share: float) -> Choice:
        cm, m, _ = shipped(seen, share)
        rng = np.random.default_rng(0)
        rounds = seen[cm, m]
        offs_all = []
        for _ in range(n_boot):
            sub = []
            for lg, y, g, p in rounds:
                idx = rng.integers(0, len(y), len(y))
                sub.append((lg[idx], y[idx], g, p[idx]))
            _, _, off, _, _ = mixed_shop.best_offset({(cm, m): sub}, share)
            offs_all.append(off)
        return cm, m, float(np.median(offs_all))

    return rule


def wide(k: int) -> Rule:
    def rule(seen: dict, share: float) -> Choice:
        return guarded(9.0, k)(seen, share)

    return rule


def gate_scores(rounds: list) -> tuple[np.ndarray, np.ndarray]:
    """Per held-back photo, its best catalogue-only-group logit minus its best other one:
    pretend photos' and the others'. The offset is a threshold on this score."""
    sp, sc = [], []
    for lg, _, group, p in rounds:
        s = lg[:, group].max(1) - lg[:, ~group].max(1)
        sp.append(s[p])
        sc.append(s[~p])
    return np.concatenate(sp), np.concatenate(sc)


def eer(weight: float | None = None) -> Rule:
    """The offset where the share of pretend photos left out of their group equals the
    share of the others' photos pulled into it (weighted: ``weight`` x missed)."""

    def rule(seen: dict, share: float) -> Choice:
        cm, m, _ = shipped(seen, share)
        sp, sc = gate_scores(seen[cm, m])
        w = 1.0 if weight is None else weight
        grid = np.sort(np.concatenate([-sp, -sc, [0.0]]))
        grid = grid[grid >= 0] if (grid >= 0).any() else np.zeros(1)
        cost = [abs(w * np.mean(sp + g <= 0) - np.mean(sc + g > 0)) for g in grid]
        return cm, m, float(grid[int(np.argmin(cost))])

    return rule


def soft(tau: float) -> Rule:
    """The shipped objective with each photo's hit replaced by its true product's
    softmax probability at temperature ``tau``: smooth in the offset, so its maximum
    moves less with which few photos were held back."""

    def rule(seen: dict, share: float) -> Choice:
        best = None
        for key, rounds in seen.items():
            lg = np.concatenate([r[0][r[3]] for r in rounds])
            y = np.concatenate([r[1][r[3]] for r in rounds])
            for off in mixed_shop.offsets_to_try(lg, y):
                pp, pc = [], []
                for lgr, yr, group, p in rounds:
                    z = (lgr + np.where(group, off, 0.0)) / tau
                    z = z - z.max(1, keepdims=True)
                    prob = np.exp(z)
                    prob = prob[np.arange(len(yr)), yr] / prob.sum(1)
                    pp.append(prob[p])
                    pc.append(prob[~p])
                obj = share * np.concatenate(pp).mean() + (1 - share) * np.concatenate(pc).mean()
                if best is None or obj > best[0] + 1e-9:
                    best = (obj, key, float(off))
        assert best is not None
        return best[1][0], best[1][1], best[2]

    return rule


def pulled_at_most(alpha: float) -> Rule:
    """The largest offset at which at most ``alpha`` of the held-back photos of products
    with counter photos are pulled into the catalogue-only group."""

    def rule(seen: dict, share: float) -> Choice:
        cm, m, _ = shipped(seen, share)
        _, sc = gate_scores(seen[cm, m])
        # pulled when sc + off > 0: the (1 - alpha) quantile of -sc... of sc
        off = max(0.0, -float(np.quantile(sc, 1 - alpha)))
        return cm, m, off

    return rule


def level_match(q: float = 0.5, share_of: float = 1.0) -> Rule:
    """The offset that lifts a catalogue-only column's score of its own product's counter
    photos to the level at which the other columns score theirs (the ``q`` quantile of
    each; ``share_of`` that gap)."""

    def rule(seen: dict, share: float) -> Choice:
        cm, m, _ = shipped(seen, share)
        tp, tc = [], []
        for lg, y, _, p in seen[cm, m]:
            true = lg[np.arange(len(y)), y]
            tp.append(true[p])
            tc.append(true[~p])
        gap = float(np.quantile(np.concatenate(tc), q) - np.quantile(np.concatenate(tp), q))
        return cm, m, max(0.0, share_of * gap)

    return rule


def median_of(*rules: Rule) -> Rule:
    def rule(seen: dict, share: float) -> Choice:
        cm, m, _ = shipped(seen, share)
        return cm, m, float(np.median([r(seen, share)[2] for r in rules]))

    return rule


RULES: dict[str, Rule] = {
    "shipped": shipped,
    "smoothed over 11 steps": wide(11),
    "counter within 5 points": guarded(0.05),
    "bootstrap median": bagged(),
    "soft hits (T 0.5)": soft(0.5),
    "missed = pulled": eer(),
    "missed / 2 = pulled": eer(0.5),
    "missed / 5 = pulled": eer(0.2),
    "pulled at most 8 %": pulled_at_most(0.08),
    "own-column level": level_match(),
    "median of three": median_of(shipped, eer(0.5), eer(0.2)),
}


@dataclass
class Run:
    """One mixed shop trained by the app: what its pretend rounds saw, its final head's
    parts and the test photos it is scored on."""

    domain: str
    seed: int
    seen: dict
    share: float
    parts: object
    options: TrainOptions
    xt: np.ndarray
    truth: np.ndarray
    with_counter: np.ndarray  # per test photo: its product has counter photos
    only: np.ndarray  # per column: a catalogue-only product
    protos: np.ndarray  # nearest-class-mean's prototypes (the photos as the POS sees them)
    val: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # fruit: the val list's


def collect(seeds: list[int]) -> list[Run]:
    work = Path(tempfile.mkdtemp(prefix="mixed-offset-"))
    store = FeatureStore(work / "features")
    caught: dict[str, object] = {}
    real_best, real_weights = mixed_shop.best_offset, head_module.HeadParts.weights

    def spy_best(seen: dict, share: float):  # noqa: ANN202
        caught["seen"], caught["share"] = seen, share
        return real_best(seen, share)

    def spy_weights(self, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
        caught["parts"] = self  # the last call is the final head's
        return real_weights(self, *a, **k)

    mixed_shop.best_offset = spy_best
    head_module.HeadParts.weights = spy_weights
    runs = []
    try:
        for name in DOMAINS:
            d = load_domain(name, work)
            xt_all = view0([p for p, _ in d["test"]], store)
            yt_all = np.array([c for _, c in d["test"]])
            vl = read_list("val.txt") if name == DOMAINS[0] else []
            xv_all = view0([p for p, _ in vl], store) if vl else None
            yv_all = np.array([c for _, c in vl])
            for setup, seed, photos, counter, _ in setups(d, seeds, quick=True):
                if setup != "mixed shop":
                    continue
                classes = list(photos)
                cat = Catalogue([Product(c, c, [ImageRef(p) for p in photos[c]]) for c in classes])
                o = TrainOptions(base_weights=WEIGHTS, seed=seed)
                caught.clear()
                labels = list(train(build_dataset(cat), o, store=store).result.labels)
                keep = np.isin(yt_all, labels)
                xt, yt = xt_all[keep], yt_all[keep]
                truth = np.array([labels.index(c) for c in yt])
                with_counter = np.isin(yt, list(counter))
                xs = view0([p for c in labels for p in photos[c]], store)
                ys = np.array([i for i, c in enumerate(labels) for _ in photos[c]])
                protos = prototypes(xs, ys, len(labels))
                runs.append(
                    Run(
                        name,
                        seed,
                        caught["seen"],  # type: ignore[arg-type]
                        caught["share"],  # type: ignore[arg-type]
                        caught["parts"],
                        o,
                        xt,
                        truth,
                        with_counter,
                        np.array([c not in counter for c in labels]),
                        protos,
                    )
                )
                if xv_all is not None:
                    kv = np.isin(yv_all, labels)
                    runs[-1].val = (
                        xv_all[kv],
                        np.array([labels.index(c) for c in yv_all[kv]]),
                        np.isin(yv_all[kv], list(counter)),
                    )
                print(f"{name} seed {seed} trained", flush=True)
    finally:
        mixed_shop.best_offset, head_module.HeadParts.weights = real_best, real_weights
    return runs


def score(run: Run, choice: Choice) -> tuple[float, float]:
    """(counter products', catalogue-only products') top-1 on the test list."""
    cm, m, off = choice
    mix = np.where(run.only, m, cm).astype(np.float32)
    lg = run.parts.predict(run.xt, mix, run.options, np.where(run.only, off, 0.0))  # type: ignore[attr-defined]
    hit = lg.argmax(1) == run.truth
    return float(hit[run.with_counter].mean()), float(hit[~run.with_counter].mean())


def ncm(run: Run) -> tuple[float, float]:
    hit = (normalise_features(run.xt) @ run.protos.T).argmax(1) == run.truth
    return float(hit[run.with_counter].mean()), float(hit[~run.with_counter].mean())


def oracle(run: Run, seen: dict, share: float) -> Choice:
    """The shipped mixes with the offset that is best *on the test list* (a bound)."""
    cm, m, _ = shipped(seen, share)
    best = max(
        (share * b + (1 - share) * a, g)
        for g in np.linspace(0, 10, 101)
        for a, b in [score(run, (cm, m, g))]
    )
    return cm, m, float(best[1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=list(range(8)))
    ap.add_argument("--save", type=Path, help="keep the trained runs here (a pickle)")
    ap.add_argument("--load", type=Path, help="score the rules on runs kept by --save")
    ap.add_argument("--val", action="store_true", help="fruit runs scored on the val list")
    args = ap.parse_args()
    if args.load:
        runs = pickle.loads(args.load.read_bytes())
    else:
        runs = collect(args.seeds)
        if args.save:
            args.save.write_bytes(pickle.dumps(runs))
    if args.val:
        for r in runs:
            if r.val is not None:
                r.xt, r.truth, r.with_counter = r.val
    results: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for run in runs:
        rules = {**RULES, "oracle offset": lambda s, sh, r=run: oracle(r, s, sh)}
        for rule_name, rule in rules.items():
            choice = rule(run.seen, run.share)
            pair = score(run, choice)
            results.setdefault(run.domain, {}).setdefault(rule_name, []).append(pair)
            print(
                f"{run.domain} seed {run.seed} {rule_name}: mix {choice[0]:g}/{choice[1]:g} "
                f"offset {choice[2]:.2f} counter {100 * pair[0]:.1f} (NCM "
                f"{100 * ncm(run)[0]:.1f}) catalogue-only {100 * pair[1]:.1f}",
                flush=True,
            )
    print(
        "\n| rule | domain | counter: mean / worst / worst below NCM "
        "| catalogue-only: mean / worst |"
    )
    print("|---|---|---:|---:|")
    for name in DOMAINS:
        base = np.array([ncm(r) for r in runs if r.domain == name])
        print(
            f"| nearest-class-mean | {name} | {100 * base[:, 0].mean():.1f} / "
            f"{100 * base[:, 0].min():.1f} / 0 | {100 * base[:, 1].mean():.1f} / "
            f"{100 * base[:, 1].min():.1f} |"
        )
        for rule_name, pairs in results[name].items():
            a = np.array(pairs)
            below = float((base[:, 0] - a[:, 0]).max())
            print(
                f"| {rule_name} | {name} | {100 * a[:, 0].mean():.1f} / {100 * a[:, 0].min():.1f}"
                f" / {100 * below:.1f} | {100 * a[:, 1].mean():.1f} / {100 * a[:, 1].min():.1f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
