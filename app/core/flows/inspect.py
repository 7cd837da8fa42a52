"""Inspect a model folder: validate the three files and read what the model records."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..model_format import FILES

__all__ = ["ModelReport", "inspect_model"]

# What ``inspect`` shows beyond the seed fields, in this order, when the model has it.
SHOWN_FIELDS = (
    "baseModel",
    "quantization",
    "validationAccuracy",
    "acceptThreshold",
    "acceptPrecision",
    "acceptCoverage",
    "counterFrames",
    "modelName",
    "timeStamp",
)


@dataclass(frozen=True)
class ModelReport:
    model_dir: Path
    metadata: dict[str, Any]  # metadata.json, validated
    file_sizes: list[tuple[str, int]]  # the three files, in their order
    fields: list[tuple[str, Any]]  # the recorded facts worth showing, in order
    labels: list[tuple[str, str]]  # (label, name)
    missing_seed_fields: list[str]  # Dukahub fields the model lacks
    from_teachable_machine: bool


def inspect_model(model_dir: Path) -> ModelReport:
    """Validates the folder (:class:`~app.core.errors.ModelFilesError` if it is not a
    usable model) and lists what it says about itself."""
    from ..modelfiles import SEED_FIELDS, missing_seed_fields, validate_model_dir

    meta = validate_model_dir(model_dir)
    keys = [f for f in SEED_FIELDS if f != "labels"] + list(SHOWN_FIELDS)
    names = meta.get("labelNames") or meta["labels"]
    return ModelReport(
        model_dir=model_dir,
        metadata=meta,
        file_sizes=[(n, (model_dir / n).stat().st_size) for n in FILES],
        fields=[(k, meta[k]) for k in keys if k in meta],
        labels=list(zip(meta["labels"], names, strict=False)),
        missing_seed_fields=missing_seed_fields(meta),
        from_teachable_machine="tmVersion" in meta,
    )
