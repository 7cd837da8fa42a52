"""Test a model: load the exported files and recognise photos as the till would.

Recognition runs on the three exported files themselves (the bytes the POS loads), and
each photo ends with the till's decision: add the top product by itself, or ask
(:func:`app.core.calibration.decide`, at the model's own accept threshold). A photo
that cannot be read is a result too, saying why.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ImageError
from ..names import one_line, readable_name
from ..progress import Phase, Progress, ProgressHook, check_cancel

if TYPE_CHECKING:
    import numpy as np

    from ..calibration import Decision
    from ..modelfiles import ExportedModel

__all__ = [
    "LoadedModel",
    "Match",
    "Recognition",
    "load_model",
    "recognise",
    "recognise_files",
    "till_says",
]

TOP_K = 3  # the till weighs the three most likely products


@dataclass(frozen=True)
class LoadedModel:
    """An exported model ready to run, with the names its labels stand for."""

    model: ExportedModel
    names: dict[str, str]  # label -> product name (the label where none is recorded)

    @property
    def labels(self) -> list[str]:
        return self.model.labels

    @property
    def accept_threshold(self) -> float:
        return self.model.accept_threshold

    @property
    def metadata(self) -> dict[str, Any]:
        return self.model.metadata


@dataclass(frozen=True)
class Match:
    label: str
    name: str  # one line of text (:func:`~app.core.names.readable_name`)
    probability: float

    @property
    def shown_label(self) -> str:
        """The label on one line: a model's labels are whatever its folder names were."""
        return one_line(self.label)


@dataclass(frozen=True)
class Recognition:
    """One photo: what the model said and what the till does with it."""

    path: Path
    matches: list[Match]  # most likely first
    decision: Decision | None  # None: the photo could not be read
    said: str  # the till's words: "Sure: Banana" or "Not sure — Banana? Lime? …"
    error: str = ""  # why the photo could not be read
    image: np.ndarray | None = None  # the decoded photo, when asked for


def load_model(
    model_dir: Path,
    *,
    warm_up: bool = False,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
) -> LoadedModel:
    """Validates and loads the three files (TensorFlow loads here); ``warm_up`` runs one
    blank picture through it, so the first real one is not slow."""
    from ..modelfiles import ExportedModel

    if on_progress is not None:
        on_progress(Progress(Phase.LOADING, 0.0, f"model from {model_dir}"))
    check_cancel(cancel)
    model = ExportedModel.load(model_dir)
    if warm_up:
        import numpy as np

        check_cancel(cancel)
        model.predict([np.zeros((model.image_size, model.image_size, 3), np.uint8)])
    if on_progress is not None:
        on_progress(Progress(Phase.LOADING, 1.0, "model ready"))
    names = model.metadata.get("labelNames") or model.labels
    pairs = zip(model.labels, names, strict=False)
    return LoadedModel(model, {lab: readable_name(str(nm), str(lab)) for lab, nm in pairs})


def recognise(
    loaded: LoadedModel, image: np.ndarray, top: int = TOP_K
) -> tuple[list[Match], Decision]:
    """One picture (HxWx3 RGB): its ``top`` matches and the till's decision, which
    always weighs at least :data:`TOP_K` products."""
    from ..calibration import decide

    ranked = loaded.model.top_k(image, max(TOP_K, min(top, len(loaded.labels))))
    decision = decide(ranked, loaded.accept_threshold)
    names = loaded.names
    matches = [Match(str(lab), names.get(lab, lab), float(p)) for lab, p in ranked[:top]]
    return matches, decision


def recognise_files(
    loaded: LoadedModel,
    paths: Sequence[Path],
    *,
    top: int = TOP_K,
    keep_images: bool = False,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[Recognition]:
    """Each photo file in turn, as each is done; ``keep_images`` keeps the decoded
    pictures (to show). One at a time: ``predict`` prints each line at once (300 photos
    piped into ``head -1`` waited for all 300, and a ``kill`` part-way lost every answer
    already made)."""
    from ..calibration import describe
    from ..photo_check import read_photo

    for i, path in enumerate(paths):
        check_cancel(cancel)
        if on_progress is not None:
            on_progress(
                Progress(Phase.PREPARING, i / len(paths), f"{i + 1}/{len(paths)} {path.name}")
            )
        try:
            rgb = read_photo(path)
        except ImageError as exc:
            yield Recognition(path, [], None, "", str(exc))
            continue
        matches, decision = recognise(loaded, rgb, top)
        said = describe(decision, loaded.names)
        yield Recognition(path, matches, decision, said, image=rgb if keep_images else None)
    if on_progress is not None:
        on_progress(Progress(Phase.PREPARING, 1.0, f"{len(paths)} images"))


def till_says(decision: Decision, names: Mapping[str, str]) -> str:
    """The till's words for ``decision`` with the names the caller shows (the shop's
    names now, say): "Sure: Banana" or "Not sure — Banana? Lime? Lemon?"."""
    from ..calibration import describe

    return describe(decision, dict(names))
