"""Trained results and model folders for GUI tests that need a model on screen, not a training."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from app.core.model import TrainResult


def fake_model(folder: Path, tm_export: Path, labels: list[str], **meta: object) -> Path:
    """A valid export (real TF.js files) with our metadata, where training would put it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("model.json", "weights.bin"):
        shutil.copy(tm_export / name, folder / name)
    full = {
        "labels": labels,
        "labelNames": labels,
        "trainedAt": "2026-11-27T10:00:00Z",
        "imageCount": 7,
        "channelId": "",
        **meta,
    }
    (folder / "metadata.json").write_text(json.dumps(full))
    return folder


def train_result(**overrides: Any) -> TrainResult:
    """A two-product result (banana 100 %, kiwi 80 %) to put on the Train screen."""
    fields: dict[str, Any] = {
        "labels": ["banana", "kiwi"],
        "names": {},
        "val_accuracy": 0.9,
        "per_product": {"banana": 1.0, "kiwi": 0.8},
        "confusions": [],
        "history": [{"epoch": 1.0, "loss": 0.5, "acc": 0.9}],
        "needs_more_photos": [],
        "image_count": 6,
        "product_count": 2,
        "duration_s": 5.0,
        "validation": "leave-one-photo-out",
        "held_back": 6,
    }
    fields.update(overrides)
    return TrainResult(**fields)
