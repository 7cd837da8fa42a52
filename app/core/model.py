"""What a training produces: its options, its result, and the trained model itself.

Data only (plus building the full Keras model for export and prediction), so the
trainer produces these and the exporter consumes them without importing each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class TrainOptions:
    alpha: float = 0.35
    epochs: int = 30
    seed: int = 0
    augment: bool = True
    base_weights: Path | None = None
    image_size: int = 224
    views_target: int = 24  # augmented views per product, spread over its photos
    max_views: int = 24  # per photo (a single-photo product gets 24 views)
    validate: bool = True
    head: str = "cosine"  # "cosine" (ours) or "linear" (the plain reference)
    learning_rate: float = 1e-3
    label_smoothing: float = 0.1
    init_scale: float = 0.3
    proto_blend: float = 1.0  # add this much of the nearest-class-mean classifier after fitting
    download_weights: bool = True

    def views_for(self, n_photos: int) -> int:
        if not self.augment:
            return 1
        return int(min(self.max_views, max(3, math.ceil(self.views_target / max(1, n_photos)))))


@dataclass
class TrainResult:
    labels: list[str]
    names: dict[str, str]
    val_accuracy: float | None
    per_product: dict[str, float | None]
    confusions: list[tuple[str, str, int]]  # (true, predicted, count), most frequent first
    history: list[dict[str, float]]
    needs_more_photos: list[str]
    image_count: int
    product_count: int
    duration_s: float
    validation: str
    report_lines: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)


class TrainedModel:
    """A trained head plus what export needs; the base model is shared and frozen."""

    def __init__(
        self, head: Any, weights: Path, options: TrainOptions, result: TrainResult, channel_id: str
    ) -> None:
        self.head = head
        self.weights = weights
        self.options = options
        self.result = result
        self.channel_id = channel_id

    def full_model(self) -> Any:
        from .features import base_model, tf_modules

        _, keras = tf_modules()
        size = self.options.image_size
        features = base_model(self.weights, self.options.alpha, size)
        model = keras.Sequential(
            [keras.Input((size, size, 3)), features, self.head], name="product_recogniser"
        )
        return model

    def predict_rgb(self, images: list[np.ndarray]) -> np.ndarray:
        from .images import preprocess

        x = np.stack([preprocess(im, self.options.image_size) for im in images])
        return np.asarray(self.full_model().predict_on_batch(x))
