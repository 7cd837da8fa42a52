"""One training pipeline for the app and every CLI command.

source (:mod:`app.core.sources`) + the owner's edits (:class:`ChannelStore`) +
options → photo check (:class:`Dataset`, built once and reused) → trained model →
atomic export with the catalogue fingerprint → :class:`TrainOutcome`.

The GUI's Products check, its Train button, ``train`` and ``sync`` all go through
here, so a nightly CLI run trains on exactly the photos the owner sees in the app.
TensorFlow is imported only inside :func:`train_and_export`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import fingerprint, paths
from .catalogue import Catalogue
from .progress import ProgressHook, check_cancel, span
from .store import ChannelStore

__all__ = ["TrainOutcome", "check_photos", "preflight", "train_and_export", "with_edits"]

if TYPE_CHECKING:  # dataset pulls in numpy: not at the window's start-up
    from .dataset import Dataset, DatasetReport
    from .model import TrainOptions, TrainResult
    from .sources import Source

log = logging.getLogger(__name__)


def with_edits(base: Catalogue, source: Source, store: ChannelStore | None = None) -> Catalogue:
    """The catalogue as the trainer sees it: the owner's added photos and ticks applied."""
    return source.with_edits(base, store)


def check_photos(
    catalogue: Catalogue,
    *,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
) -> Dataset:
    """The photo check the Products screen shows; pass its result on to training."""
    from .dataset import build_dataset

    return build_dataset(catalogue, on_progress=on_progress, cancel=cancel)


@dataclass
class TrainOutcome:
    """What one run produced; returned to the GUI and printed by the CLI."""

    result: TrainResult
    model_dir: Path
    report: DatasetReport
    counts: dict[str, int]
    fingerprint: fingerprint.Fingerprint = field(default_factory=dict)
    device: str = "CPU"  # where TensorFlow trained ("GPU (…)" in the GPU container)
    # seconds per photo variation measured while training (at model size 0.35; None when
    # no photo was studied): the next estimate on this computer starts from it
    seconds_per_view: float | None = None


def preflight(
    catalogue: Catalogue,
    options: TrainOptions,
    out_dir: Path,
    quantize: str,
    channel_id: str | None = None,
) -> Path:
    """What can be refused before any work, for the CLI and the GUI alike: option
    values, the channel id metadata.json will name (``channel_id``, else the
    catalogue's), a missing base weights file, and an export target that could not be
    written (see :func:`app.core.outdir.check_out_dir`). Returns the resolved target.
    """
    from .errors import BaseWeightsError, ExportError, InvalidOptions
    from .export import QUANTIZE
    from .folder_publish import check_channel_id
    from .local_history import rescuer
    from .outdir import check_out_dir, expected_export_bytes

    options.check()
    channel = catalogue.channel_id if channel_id is None else channel_id
    if channel:
        check_channel_id(channel)  # the check publishing uses: never a path in metadata
    if quantize not in QUANTIZE:
        raise InvalidOptions(
            f"Weight precision must be one of {', '.join(QUANTIZE)}, not {quantize!r}."
        )
    if options.base_weights is not None and not Path(options.base_weights).expanduser().is_file():
        given = Path(options.base_weights).expanduser()
        what = "is a folder, not a weights file" if given.is_dir() else "not found"
        raise BaseWeightsError(f"Base weights file {what}: {options.base_weights}")
    photos = Path(catalogue.source) if catalogue.source else None
    target = paths.resolved(out_dir)
    has_photos = photos is not None and photos.is_dir()
    if has_photos and paths.same_or_inside(target, paths.resolved(photos)):
        # the next training would read the model's own files as a product's photos
        raise ExportError(
            f"The model cannot be written inside the photo folder {photos} ({out_dir}): "
            "choose a folder outside it."
        )
    cache = paths.cache_dir().resolve()
    if paths.same_or_inside(target, cache):  # the app clears it: a model there was swept
        raise ExportError(
            f"The model cannot be written inside the app's cache {cache} ({out_dir}), which "
            "the app clears: choose another folder."
        )
    n_products = max(2, len(catalogue.active()))
    need = expected_export_bytes(options.alpha, n_products, quantize)
    return check_out_dir(out_dir, need, rescuer(target))


def train_and_export(
    catalogue: Catalogue,
    options: TrainOptions,
    out_dir: Path,
    *,
    channel_id: str | None = None,
    quantize: str = "none",
    dataset: Dataset | None = None,
    fingerprint_of: Catalogue | None = None,
    counter_frames: Sequence[Path] = (),
    not_product_photos: Sequence[Path] = (),
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
) -> TrainOutcome:
    """Photo check (unless ``dataset`` from an earlier check is given) → train → export.

    ``fingerprint_of`` is the catalogue to record as "trained on" when it differs from
    ``catalogue``: for a shop, every listed photo, including any whose download failed,
    so the next ``sync`` does not see a change that is not one. ``counter_frames``:
    unlabelled photos of the shop's counter (``app.core.counter_frames``);
    ``not_product_photos``: its empty counter (``app.core.not_products``). The export is
    atomic and happens last, so a cancel before it leaves nothing behind.
    """
    from .export import export_model
    from .tf_runtime import compute_device
    from .trainer import train

    out_dir = preflight(catalogue, options, Path(out_dir), quantize, channel_id)
    if dataset is None:
        dataset = check_photos(catalogue, on_progress=span(on_progress, 0.0, 0.03), cancel=cancel)
    digests = {s.path: s.digest for s in dataset.samples}
    fp = fingerprint.of_catalogue(fingerprint_of or catalogue, digests)
    look = fingerprint.of_look(counter_frames, not_product_photos)
    model = train(
        dataset,
        options,
        on_progress=span(on_progress, 0.03, 0.95),
        cancel=cancel,
        counter_frames=counter_frames,
        not_product_photos=not_product_photos,
    )
    device = compute_device()
    log.info(
        "Trained %d products on %d photos on %s in %.1f s",
        model.result.product_count,
        model.result.image_count,
        device,
        model.result.duration_s,
    )
    check_cancel(cancel)  # the last point where stopping leaves nothing behind
    out = export_model(
        model,
        Path(out_dir),
        channel_id=catalogue.channel_id if channel_id is None else channel_id,
        quantize=quantize,
        extra_metadata={fingerprint.METADATA_KEY: fingerprint.to_metadata(fp, look)},
        on_progress=span(on_progress, 0.95, 1.0),
        cancel=cancel,
    )
    for cache in (paths.feature_cache_dir(), paths.image_cache_dir()):  # once a day
        paths.sweep_unused(cache)
    return TrainOutcome(
        result=model.result,
        model_dir=Path(out),
        report=dataset.report,
        counts=dataset.counts(),
        fingerprint=fp,
        device=device,
    )
