"""Few-shot product recognition on a frozen MobileNetV2.

Design (see README, "How training works"):

* Features: MobileNetV2 (ImageNet, frozen) + global average pooling, exactly
  Teachable Machine's base, computed once per photo and per augmented view and
  cached (:mod:`app.core.features`). Products with few photos get more
  augmented views, so every product weighs about the same in training.
* Head: ``LayerNormalization`` (no learned scale/centre) then one ``Dense``
  softmax layer: a mix of each product's prototype (its mean normalised feature,
  a nearest-class-mean classifier centred on where shop photos sit) and a copy
  fine-tuned on all views with label smoothing, prototypes added back. How far
  it moves from the prototypes follows the evidence: leave-one-photo-out picks
  the mix when it can; otherwise counter photos keep the fine-tuned head and
  catalogue (studio) photos stay on the prototypes, so catalogue-only training
  is a nearest-class-mean on composited views and never learns "studio".
* Validation: leave-one-photo-out rounds over products with two or more
  photos; products with a single photo are trained on and reported as "not
  measurable", never silently dropped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .dataset import Dataset
from .errors import Cancelled
from .features import FeatureStore, extract_for, resolve_base_weights
from .head import DEFAULT_MIX, FEATURE_DTYPE, Rows, fit_head, prototypes
from .head_fit import warm_up
from .mixed_shop import catalogue_round, domain_directions
from .model import TrainedModel, TrainOptions, TrainResult
from .not_products import negative_features
from .photo_advice import standings
from .photo_kinds import check_studio_looks, hint, is_catalogue_photo, trained_as_is, trained_on_of
from .progress import Phase, ProgressHook, Reporter, check_cancel
from .shop_look import ShopLook, centre_of, frame_features, shop_prior
from .tf_runtime import tf_modules
from .validation import Validation, calibrate, validate
from .wording import weak_products

log = logging.getLogger(__name__)


def train(
    dataset: Dataset,
    options: TrainOptions | None = None,
    *,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
    store: FeatureStore | None = None,
    counter_frames: Sequence[Path] = (),
    not_product_photos: Sequence[Path] = (),
) -> TrainedModel:
    """Extract (cached) features, validate, fit the head on everything.

    ``counter_frames``: unlabelled photos of this shop's counter (any products, or
    none): they say where this shop's photos sit in feature space (:class:`ShopLook`).
    A frame that cannot be used is reported in ``TrainResult.frames_skipped``.
    ``not_product_photos``: the shop's photos of its empty counter, trained (with drawn
    scenes) as "not a product" (:mod:`app.core.not_products`).
    """
    o = options or TrainOptions()
    t0 = time.monotonic()
    rep = Reporter(on_progress, cancel)
    rep(Phase.PREPARING, 0.0, "Loading the recognition engine")
    weights = resolve_base_weights(
        o.alpha,
        o.base_weights,
        size=o.image_size,
        download=o.download_weights,
        on_progress=rep.sub(0, 0.05),
    )
    tf_modules()
    check_cancel(cancel)
    if o.head == "cosine":  # traced while the features are computed, not after them
        # (building the export's Keras base model there too was measured slower: the two
        # cores are busy with the features, and it then delayed them)
        threading.Thread(
            target=warm_up, args=(np.dtype(FEATURE_DTYPE).name,), name="warm-fit", daemon=True
        ).start()

    counts = dataset.counts()
    cap = o.view_cap(list(counts.values()))  # a large catalogue: fewer views per photo
    items = [(s.path, s.digest, o.views_for(counts[s.product_id], cap)) for s in dataset.samples]
    feats, failed = extract_for(items, weights, o, store, rep.sub(0.05, 0.75))
    dataset = dataset.drop(failed)  # raises DatasetError if fewer than two products remain
    labels = dataset.labels
    index = {p: i for i, p in enumerate(labels)}
    rows_x, rows_y, rows_img, rows_view = [], [], [], []
    for i, s in enumerate(dataset.samples):
        f = feats[s.digest]
        rows_x.append(f)
        rows_y.append(np.full(len(f), index[s.product_id]))
        rows_img.append(np.full(len(f), i))
        rows_view.append(np.arange(len(f)))
    data = Rows(
        np.concatenate(rows_x, dtype=FEATURE_DTYPE),
        np.concatenate(rows_y),
        np.concatenate(rows_img),
        np.concatenate(rows_view),
    )
    del feats, rows_x  # the float32 copies: only the compact one stays
    n = len(labels)

    check_studio_looks(
        dataset.samples,
        (store or FeatureStore()).root,
        lambda done, total: rep(
            Phase.FEATURES, 0.75, f"Catalogue photo or counter photo: {done} of {total}"
        ),
    )
    trained_on, studio_products = trained_on_of(dataset)
    views = {digest: v for _, digest, v in items}
    as_is = trained_as_is(dataset.samples, (store or FeatureStore()).root, views)
    studio_rows = np.array([is_catalogue_photo(s) for s in dataset.samples])[data.image]
    ours = o.head == "cosine"  # the plain reference is neither centred nor shown the frames
    frames = frame_features(
        counter_frames if ours else (), weights, o, store, rep.sub(0.74, 0.75), data.x.shape[1]
    )
    prior = shop_prior(o.alpha, o.image_size)
    look = ShopLook.of(frames.z, prior)
    use_negatives = o.not_products and ours
    negs = None
    if use_negatives:
        shown = {s.digest: dataset.names.get(s.product_id, s.product_id) for s in dataset.samples}
        negs = negative_features(weights, o, store, not_product_photos, shown)
    negatives = None if negs is None else negs.train
    default_mix = DEFAULT_MIX[trained_on] if o.head == "cosine" else 1.0
    v = Validation(None, dict.fromkeys(labels, None), {}, "not measured", mix=default_mix)
    # Catalogue photos held out from catalogue photos say nothing about the shop
    # counter: there the prototype head stays whatever such a validation prefers.
    if o.validate:
        choose = trained_on != "catalogue"
        v = validate(
            dataset,
            data,
            n,
            o,
            rep.sub(0.75, 0.83),
            default_mix,
            choose,
            studio_rows,
            look,
            negatives,
            None if negs is None else negs.held,
        )
    val_acc, per_product, confusions, scheme = v.accuracy, v.per_product, v.confusions, v.scheme
    mix, mix_scores, use_frames = v.mix, v.scores, v.use_frames
    if o.head == "cosine":
        chosen = mix_scores and trained_on != "catalogue"
        how = "chosen by leave-one-photo-out" if chosen else f"default for {trained_on} photos"
        scheme += f"; head mix {mix:g} ({how})"

    history: list[dict[str, float]] = []
    centre, centred_on = centre_of(data, np.ones(len(data.x), bool), studio_rows, look, use_frames)
    centred_on = centred_on if ours else ""
    if centred_on:
        scheme += f"; centred on {centred_on}"
    mixes, offsets = np.full(n, mix, np.float32), np.zeros(n, np.float32)
    set_aside = None
    if o.head == "cosine":
        set_aside = domain_directions(data, np.ones(len(data.x), bool), studio_rows)
    if set_aside is not None:
        scheme += (
            f"; {len(set_aside)} directions in which counter photos differ from catalogue "
            "photos of the same products set aside"
        )
    cat = None
    if o.validate and o.head == "cosine" and trained_on == "mixed" and studio_products:
        only = np.array([labels.index(p) for p in studio_products])
        cat = catalogue_round(
            dataset,
            data,
            n,
            o,
            studio_rows,
            look,
            mix,
            only,
            use_frames,
            negatives,
            rep.sub(0.83, 0.85),
        )
        if cat is not None:
            mixes[:] = cat.counter_mix
            mixes[only], offsets[only] = cat.mix, cat.offset
            scheme += f"; {cat.scheme}"
    head = fit_head(
        data.x,
        data.y,
        n,
        o,
        rep.sub(0.85, 1.0),
        history,
        mix=mixes,
        centre=centre,
        offset=offsets,
        negatives=negatives,
        set_aside=set_aside,
    )
    if cancel is not None and cancel.is_set():
        raise Cancelled("Training cancelled.")
    more = None if cat is None or cat.held_truth is None else (cat.held_logits, cat.held_truth)
    temperature, accept = calibrate(v, o, more)
    if temperature != 1.0:  # folded into the exported softmax layer: the POS changes nothing
        dense = head.get_layer("products")
        kernel, bias = dense.get_weights()
        dense.set_weights([kernel / temperature, bias / temperature])

    counts = dataset.counts()
    ranked = standings(
        labels,
        counter_photo_counts(dataset),
        studio_products,
        per_product,
        val_acc,
        None if cat is None else cat.accuracy,
        nearest_other(data, n, labels),
    )
    weak = set(weak_products(labels, per_product, dict(counts)))
    needs_more = [s.product for s in ranked if s.product in weak]
    result = TrainResult(
        labels=labels,
        names={p: dataset.names.get(p, p) for p in labels},
        val_accuracy=val_acc,
        per_product=per_product,
        confusions=sorted(((a, b, c) for (a, b), c in confusions.items()), key=lambda t: -t[2]),
        history=history,
        needs_more_photos=needs_more,
        image_count=len(dataset.samples),
        product_count=n,
        duration_s=time.monotonic() - t0,
        validation=scheme,
        held_back=v.held_back,
        report_lines=dataset.report.summary_lines(dataset.names),
        options={k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(o).items()},
        trained_on=trained_on,
        trained_on_hint=hint(trained_on, studio_products, dataset.names),
        head_mix=mix,
        mix_scores=mix_scores,
        counter_frames=len(frames.z) if use_frames else 0,
        counter_frames_newest=frames.newest if use_frames else "",
        frames_skipped=frames.skipped,
        centred_on=centred_on,
        not_products=0 if negs is None else negs.used,
        not_products_skipped=[] if negs is None else negs.skipped,
        trained_as_is=as_is,
        catalogue_only_accuracy=None if cat is None else cat.accuracy,
        catalogue_only_photos=None if cat is None else cat.photos,
        temperature=temperature,
        accept=accept,
        standings=ranked,
    )
    return TrainedModel(head, weights, o, result, dataset.channel_id)


def counter_photo_counts(dataset: Dataset) -> dict[str, int]:
    """Photos per product that are not catalogue shots."""
    out = dict.fromkeys(dataset.labels, 0)
    for s in dataset.samples:
        if not is_catalogue_photo(s):
            out[s.product_id] += 1
    return out


def nearest_other(data: Rows, n: int, labels: list[str]) -> dict[str, float]:
    """Each product's cosine to its nearest other product (prototypes of all views): the
    closer, the likelier it is confused, the sooner its counter photos pay."""
    if n < 2:
        return dict.fromkeys(labels, 0.0)
    p = prototypes(data.x, data.y, n)
    nearest = np.empty(n, np.float32)
    for s in range(0, n, 1024):  # products x products at once would be 100 MB at 5,000
        sims = p[s : s + 1024] @ p.T
        sims[np.arange(len(sims)), np.arange(s, s + len(sims))] = -1.0
        nearest[s : s + 1024] = sims.max(axis=1)
    return {lab: float(v) for lab, v in zip(labels, nearest, strict=True)}
