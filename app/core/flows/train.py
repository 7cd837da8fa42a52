"""Train: an opened source's photos → a checked set → a model → the three files.

The one way a training runs for the app, ``train`` and ``sync``: the target and the
options are refused before any photo is read (:func:`app.core.pipeline.preflight`),
the photos are checked once, and the export records every photo the source lists
(:attr:`.open_source.OpenedSource.trained_on`). While training, the progress carries
the time left, measured on this computer (:class:`app.core.eta.TrainingEta`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..eta import TrainingEta, describe_left
from ..input_size import TM_IMAGE_SIZE
from ..model import (
    EPOCHS_MAX,
    EPOCHS_MIN,
    MODEL_ALPHAS,
    SEED_MAX,
    UNMEASURED_THRESHOLD,
    Acceptance,
    TrainOptions,
    TrainResult,
)
from ..model_format import DEFAULT_QUANTIZE, FILES, QUANTIZE
from ..pipeline import TrainOutcome
from ..progress import Progress, ProgressHook, span
from .check_photos import PhotoCheck, check_photos
from .open_source import OpenedSource

if TYPE_CHECKING:
    from ..dataset import Dataset
    from ..training_cost import ShopShape

__all__ = [  # the options an owner chooses, and their ranges, come from their homes
    "DEFAULT_OPTIONS",
    "Acceptance",
    "DEFAULT_QUANTIZE",
    "EPOCHS_MAX",
    "EPOCHS_MIN",
    "FILES",
    "MODEL_ALPHAS",
    "QUANTIZE",
    "SEED_MAX",
    "TM_IMAGE_SIZE",
    "TrainOptions",
    "TrainOutcome",
    "TrainRequest",
    "TrainResult",
    "UNMEASURED_THRESHOLD",
    "check_channel_id",
    "describe_left",
    "estimate_seconds",
    "load_engine",
    "train",
    "training_eta",
    "weights_to_download",
]

DEFAULT_OPTIONS = TrainOptions()


@dataclass(frozen=True)
class TrainRequest:
    """One training of an opened source; the defaults are what the app does."""

    opened: OpenedSource
    options: TrainOptions = field(default_factory=TrainOptions)
    out_dir: Path | None = None  # default: the source's own model folder
    channel_id: str | None = None  # metadata's channelId; default: the catalogue's
    quantize: str = DEFAULT_QUANTIZE
    counter_frames: Sequence[Path] | None = None  # default: the frames kept for the source
    not_product_photos: Sequence[Path] | None = None  # default: the source's empty counter
    check: PhotoCheck | None = None  # an earlier check of ``opened.catalogue``

    @property
    def target(self) -> Path:
        return self.out_dir if self.out_dir is not None else self.opened.source.model_dir()


def train(
    request: TrainRequest,
    *,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
) -> TrainOutcome:
    """Check → train → export; ``Cancelled`` before the export leaves nothing behind."""
    from ..pipeline import preflight, train_and_export

    opened, options = request.opened, request.options
    preflight(opened.catalogue, options, request.target, request.quantize, request.channel_id)
    check = request.check or check_photos(
        opened.catalogue, on_progress=span(on_progress, 0.0, 0.03), cancel=cancel
    )
    store = opened.store
    frames = request.counter_frames
    empty = request.not_product_photos
    eta = training_eta(check.dataset, options)
    outcome = train_and_export(
        opened.catalogue,
        options,
        request.target,
        channel_id=request.channel_id,
        quantize=request.quantize,
        dataset=check.dataset,
        fingerprint_of=opened.trained_on,
        counter_frames=store.counter_frames.paths() if frames is None else frames,
        not_product_photos=store.not_product_photos() if empty is None else empty,
        on_progress=_with_time_left(on_progress, eta),
        cancel=cancel,
    )
    if eta.seconds_per_view is None:
        return outcome
    from ..training_cost import default_base_rate

    rate = default_base_rate(eta.seconds_per_view, options.alpha, options.image_size)
    return replace(outcome, seconds_per_view=rate)


def check_channel_id(text: str) -> str:
    """A shop channel id as the plugin's channel folders name it (else
    ``FolderPublishError`` says why): metadata's channelId, checked before any work."""
    from ..folder_versions import check_channel_id as check  # not at the app's start-up

    return check(text)


def estimate_seconds(
    shape: ShopShape, options: TrainOptions, seconds_per_view: float | None
) -> float:
    """How long a training of this shop (:attr:`TrainingScope.shape`) takes on this
    computer (``seconds_per_view``: :attr:`TrainOutcome.seconds_per_view` of an earlier
    one), once the engine is loaded (the app asks only then); cheap, for the owner
    before they start. A feature model an earlier training loaded is not counted again."""
    from ..features import features_ready
    from ..training_cost import estimate_seconds as estimate

    loaded = features_ready(options.alpha, options.base_weights, options.image_size)
    return float(estimate(shape, options, seconds_per_view, loaded))


def weights_to_download(alpha: float, chosen: Path | None) -> str | None:
    """The pretrained weights file a first training at model size ``alpha`` would
    download (none on this computer, none ``chosen``); None when it needs no download.
    No network: the app marks such sizes, which are the ones that fail offline."""
    from ..features import weights_filename, weights_need_download

    return weights_filename(alpha) if weights_need_download(alpha, chosen) else None


def load_engine() -> None:
    """Import what training, testing and publishing run on (TensorFlow, the shop
    client), so the owner's first click does not wait for it: the app does this in
    the background once its window is up."""
    from .. import modelfiles, shop, trainer  # noqa: F401
    from ..tf_runtime import tf_modules

    tf_modules()


def training_eta(dataset: Dataset, options: TrainOptions) -> TrainingEta:
    """The time left of a training of ``dataset``, from the one time model
    (:mod:`app.core.training_cost`) and the speed measured as it runs."""
    from .. import training_cost as cost
    from ..photo_kinds import shape_of

    shape = shape_of(dataset)
    views = cost.planned_views(shape, options)
    passes = cost.head_passes(shape, options)
    fits = cost.validation_fits(shape, options)

    def after_features(v: int, seconds_per_view: float | None) -> float:
        per_view = (
            cost.default_base_rate(seconds_per_view, options.alpha, options.image_size)
            if seconds_per_view
            else None
        )
        return cost.seconds_after_features(v, per_view, shape.products, passes, fits)

    return TrainingEta(views, after_features)


def _with_time_left(on_progress: ProgressHook | None, eta: TrainingEta) -> ProgressHook | None:
    """The whole run's time left on each report, once the training can tell it."""
    if on_progress is None:
        return None
    hook = on_progress

    def report(p: Progress) -> None:
        left = eta.update(p, time.monotonic())
        hook(p if left is None else replace(p, eta_s=left))

    return report
