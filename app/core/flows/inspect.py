"""Inspect a model folder: validate the three files and read what the model records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..input_size import TM_IMAGE_SIZE
from ..model_format import FILES
from ..names import one_line, readable_name

if TYPE_CHECKING:
    from ..model import TrainResult

__all__ = [
    "ModelReport",
    "SavedTraining",
    "inspect_model",
    "local_metadata",
    "photo_counts",
    "saved_training",
]

# What ``inspect`` shows beyond the seed fields, in this order, when the model has it.
SHOWN_FIELDS = (
    "baseModel",
    "quantization",
    "validationAccuracy",
    "acceptThreshold",
    "acceptPrecision",
    "acceptCoverage",
    "counterFrames",
    "taught",  # corrections at the counter since the training: not in the served model?
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
    image_size: int = TM_IMAGE_SIZE  # the square picture size the model takes

    @property
    def label_ids(self) -> list[str]:
        return [label for label, _ in self.labels]

    @property
    def shown_labels(self) -> list[tuple[str, str]]:
        """(label, name) each on one line of text, for a listing."""
        return [(one_line(lab), readable_name(str(nm), lab)) for lab, nm in self.labels]


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
        from_teachable_machine="tmVersion" in meta and "trainer" not in meta,
        image_size=int(meta.get("imageSize", TM_IMAGE_SIZE)),
    )


def local_metadata(model_dir: Path | None) -> dict[str, Any] | None:
    """metadata.json of the model in ``model_dir`` as it says (not validated: what it was
    trained on is all that is read); None when there is none to read."""
    from ..readers import read_json

    if model_dir is None:
        return None
    try:
        meta = read_json(model_dir / "metadata.json")
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def photo_counts(metadata: Mapping[str, Any]) -> dict[str, int]:
    """Photos per product a model learned from (the fingerprint it records; {} for a
    model without one)."""
    from ..fingerprint import from_metadata

    return {pid: len(ids) for pid, ids in (from_metadata(metadata) or {}).items()}


@dataclass(frozen=True)
class SavedTraining:
    """The results a training saved with its model (the curve is not saved)."""

    result: TrainResult
    counts: dict[str, int]  # photos per product
    trained_at: str  # metadata's trainedAt as written ("" when it has none)


def saved_training(model_dir: Path) -> SavedTraining | None:
    """What the last training of the model in ``model_dir`` found, read back from its
    metadata.json; None when there is none to read or it saved none (a Teachable
    Machine export, an older one)."""
    from ..model import result_from_metadata
    from ..readers import read_json

    try:
        meta = read_json(model_dir / "metadata.json")
    except (OSError, ValueError):
        return None
    result = result_from_metadata(meta) if isinstance(meta, dict) else None
    if result is None:
        return None
    return SavedTraining(result, photo_counts(meta), str(meta.get("trainedAt") or ""))
