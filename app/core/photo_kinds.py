"""What each photo is: a catalogue (studio) shot or a counter photo, and whether a
catalogue shot's cut-out can be trusted. The trainer treats the two kinds differently
(composited views, prototypes, the mixed-shop round), and the owner is told which
products were trained from what. Both checks are remembered per photo content beside
the feature cache, so a retrain decodes nothing again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from . import studio
from .catalogue import FROM_SHOP
from .dataset import Dataset, Sample
from .errors import ImageError
from .images import load_rgb
from .paths import atomic_write_bytes
from .training_cost import ShopShape
from .views import FEATURE_VERSION

log = logging.getLogger(__name__)

_STUDIO_LOOK: dict[str, bool] = {}


def is_catalogue_photo(sample: Sample) -> bool:
    """A catalogue shot: the studio look (plain light border,
    :func:`app.core.studio.studio_background`), whatever the source — a shop-server
    catalogue image that is really a counter photo trains like one, and the studio
    look is what fine-tuning would learn. Memoised per content; the check decodes a
    small draft of the photo (JPEG decodes at 1/8 scale)."""
    if sample.digest not in _STUDIO_LOOK:
        try:
            rgb = load_rgb(sample.path, max_side=128)
        except ImageError:
            return False
        _STUDIO_LOOK[sample.digest] = studio.studio_background(rgb) is not None
    return _STUDIO_LOOK[sample.digest]


STUDIO_LOOK_FILE = "studio-look.json"
STUDIO_LOOK_CHUNK = 1000
# the cut-out rules change with the views: a memo from older rules is not read
CUTOUT_CHECK_FILE = f"cutout-check-v{FEATURE_VERSION}.json"


def trained_as_is(
    samples: list[Sample], root: Path, views: dict[str, int] | None = None
) -> list[tuple[str, str]]:
    """(product, why) for each catalogue photo whose cut-out is not trusted, so its views
    are the photo as it is (:func:`app.core.views.view_of`): the owner is told. The
    check decodes the photo as feature extraction does; remembered beside the cache.
    ``views``: each photo's views; a photo trained on itself alone (a large catalogue's
    view budget) uses no cut-out, so none is checked: at 5,000 products that check
    decoded every catalogue photo again after the features, 30 s without a report."""
    from .views import known_cut, studio_cut

    path = root / CUTOUT_CHECK_FILE
    known = _read_memo(path, str)
    out, changed = [], False
    for s in samples:
        if not is_catalogue_photo(s) or (views is not None and views.get(s.digest, 2) < 2):
            continue
        if s.digest not in known:
            cut = known_cut(s.digest)  # extraction has just looked, unless it was cached
            if cut is None:
                try:
                    cut = studio_cut(load_rgb(s.path), s.digest)
                except ImageError:
                    continue
            known[s.digest] = cut.problem if cut.kind == "as-is" else ""
            changed = True
        if known[s.digest]:
            out.append((s.product_id, known[s.digest]))
    if changed:
        _write_memo(path, known)
    return out


def _read_memo(path: Path, kind: type) -> dict[str, Any]:
    """A per-photo memo beside the feature cache (digest -> value of ``kind``); a missing
    or damaged one is empty: it only costs the work again."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in raw.items() if isinstance(v, kind)} if isinstance(raw, dict) else {}


def _write_memo(path: Path, memo: dict[str, Any]) -> None:
    try:
        atomic_write_bytes(path, json.dumps(memo).encode("utf-8"))
    except OSError as exc:  # only costs the work again next time
        log.warning("%s not written: %s", path.name, exc)


def check_studio_looks(
    samples: list[Sample], root: Path, on_done: Callable[[int, int], None] | None = None
) -> None:
    """Fill the studio-look memo for ``samples``: from ``root/studio-look.json`` (beside
    the feature cache: a retrain decodes nothing again), else by a small decode in two
    threads (about 2 ms a photo), then saved back. ``on_done(done, total)`` every
    STUDIO_LOOK_CHUNK photos: 10,000 photos took 8 s, which were a silence."""
    todo = [s for s in samples if s.digest not in _STUDIO_LOOK]
    if not todo:
        return
    path = root / STUDIO_LOOK_FILE
    known = _read_memo(path, bool)
    _STUDIO_LOOK.update(known)
    todo = [s for s in todo if s.digest not in _STUDIO_LOOK]
    if not todo:
        return
    with ThreadPoolExecutor(2, thread_name_prefix="studio-look") as pool:
        for start in range(0, len(todo), STUDIO_LOOK_CHUNK):
            list(pool.map(is_catalogue_photo, todo[start : start + STUDIO_LOOK_CHUNK]))
            if on_done is not None:
                on_done(min(len(todo), start + STUDIO_LOOK_CHUNK), len(todo))
    known.update({s.digest: _STUDIO_LOOK[s.digest] for s in todo if s.digest in _STUDIO_LOOK})
    _write_memo(path, known)


def likely_catalogue(sample: Sample) -> bool:
    """Whether a photo is a catalogue shot, without decoding it (for an estimate, before
    training looks): what this process already saw, else where it came from."""
    known = _STUDIO_LOOK.get(sample.digest)
    return sample.origin == FROM_SHOP if known is None else known


def shape_of(dataset: Dataset) -> ShopShape:
    """The shop's shape for the time model: photos and likely catalogue shots per product."""
    photos = dict.fromkeys(dataset.labels, 0)
    catalogue = dict.fromkeys(dataset.labels, 0)
    for s in dataset.samples:
        photos[s.product_id] += 1
        catalogue[s.product_id] += likely_catalogue(s)
    return ShopShape.of(list(photos.values()), list(catalogue.values()))


def trained_on_of(dataset: Dataset) -> tuple[str, list[str]]:
    """What the photos are — "catalogue" (every one a catalogue shot), "counter" (none)
    or "mixed" — and the products whose photos are all catalogue shots."""
    flags: dict[str, list[bool]] = {}
    for s in dataset.samples:
        flags.setdefault(s.product_id, []).append(is_catalogue_photo(s))
    studio_only = [p for p, f in flags.items() if all(f)]
    if len(studio_only) == len(flags):
        return "catalogue", studio_only
    if not any(any(f) for f in flags.values()):
        return "counter", []
    return "mixed", studio_only


def hint(trained_on: str, studio_products: list[str], names: dict[str, str]) -> str:
    """The owner's cheapest fix, in a sentence (empty when there is none to give)."""
    if trained_on == "catalogue":
        return (
            "Catalogue photos only — add 2–3 counter photos of each product for the biggest gain."
        )
    if studio_products:
        shown = ", ".join(names.get(p, p) for p in studio_products[:3])
        more = f" and {len(studio_products) - 3} more" if len(studio_products) > 3 else ""
        return (
            f"{len(studio_products)} product(s) have catalogue photos only ({shown}{more}) — "
            "2–3 counter photos of each would help most."
        )
    return ""
