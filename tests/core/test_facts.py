"""Each fact that matters has one home, and everything else reads it from there.

The three model file names, the photo suffix list, the weight precisions and the
default training options were each typed in several places; a change to one copy
left the others behind. Here each is pinned to its home, and the code is searched for
copies typed again.
"""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

import app
from app.cli.parser import build_parser
from app.core import catalogue, export, model_format, modelfiles, paths
from app.core.flows import train as train_flow
from app.core.model import TrainOptions

APP = Path(app.__file__).parent


def _sources(*parts: str) -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for part in parts for p in (APP / part).rglob("*.py")}


def _string_tuples(source: str) -> list[tuple[str, ...]]:
    """Every tuple, list or set literal of two or more strings in a module."""
    found = []
    for node in ast.walk(ast.parse(source)):
        strings = isinstance(node, (ast.Tuple, ast.List, ast.Set)) and all(
            isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts
        )
        if strings and len(node.elts) >= 2:
            found.append(tuple(e.value for e in node.elts))
    return found


def test_the_three_model_files_are_named_in_one_place() -> None:
    assert model_format.FILES == ("model.json", "weights.bin", "metadata.json")
    assert modelfiles.FILES is model_format.FILES and export.FILES is model_format.FILES
    assert train_flow.FILES is model_format.FILES
    copies = [
        str(path.relative_to(APP.parent))
        for path, text in _sources("core", "cli", "gui").items()
        if path.name != "model_format.py"
        and any(set(model_format.FILES) <= set(t) for t in _string_tuples(text))
    ]
    assert not copies, f"the three file names typed again in {copies}"


def test_the_weight_precisions_are_listed_in_one_place() -> None:
    assert model_format.QUANTIZE == ("none", "float16", "uint8")
    assert export.QUANTIZE is model_format.QUANTIZE and train_flow.QUANTIZE is model_format.QUANTIZE
    assert paths.Settings().quantize == model_format.DEFAULT_QUANTIZE == "none"
    copies = [
        str(path.relative_to(APP.parent))
        for path, text in _sources("core", "cli").items()
        if path.name != "model_format.py"
        and any(set(model_format.QUANTIZE) <= set(t) for t in _string_tuples(text))
    ]
    assert not copies, f"the weight precisions typed again in {copies}"
    for command in ("train", "sync"):
        action = _option(command, "--quantize")
        assert tuple(action.choices) == model_format.QUANTIZE and action.default == "none"


def test_the_photo_suffixes_are_listed_in_one_place() -> None:
    assert {".jpg", ".jpeg", ".png", ".webp", ".jfif"} <= catalogue.IMAGE_SUFFIXES
    assert {".heic", ".dng"} <= catalogue.UNSUPPORTED_IMAGE_SUFFIXES
    assert catalogue.IMAGE_SUFFIXES.isdisjoint(catalogue.UNSUPPORTED_IMAGE_SUFFIXES)
    assert (
        set(catalogue.IMAGE_FORMATS)
        == catalogue.IMAGE_SUFFIXES | catalogue.UNSUPPORTED_IMAGE_SUFFIXES
    )
    # no other module lists suffixes (a literal ".jpg", ".jpeg" pair, or "*.jpg *.jpeg")
    pattern = re.compile(r"""[("'\s]\*?\.jpg["' ,*]+\.jpeg""")
    copies = [
        str(path.relative_to(APP.parent))
        for path, text in _sources("core", "cli", "gui").items()
        if path.name != "catalogue.py" and pattern.search(text)
    ]
    assert not copies, f"photo suffixes typed again in {copies}"


def _option(command: str, flag: str) -> argparse.Action:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return next(a for a in sub.choices[command]._actions if flag in a.option_strings)


def test_the_default_options_come_from_trainoptions() -> None:
    defaults = TrainOptions()
    assert defaults == train_flow.DEFAULT_OPTIONS
    assert _option("train", "--alpha").default == defaults.alpha == 0.35
    assert _option("train", "--epochs").default == defaults.epochs == 30
    assert _option("train", "--seed").default == defaults.seed == 0
    assert _option("sync", "--seed").default == defaults.seed
    # the app's settings start where the trainer does (paths cannot import app.core.model)
    settings = paths.Settings()
    assert (settings.alpha, settings.epochs, settings.augment, settings.seed) == (
        defaults.alpha,
        defaults.epochs,
        defaults.augment,
        defaults.seed,
    )
    assert settings.accept_target == defaults.accept_target


def test_model_age_is_read_as_utc_everywhere() -> None:
    from app.core import wording
    from app.core.timestamps import parse_utc

    naive, zoned = "2026-11-27T10:00:00", "2026-11-27T10:00:00Z"
    assert parse_utc(naive) == parse_utc(zoned)
    assert wording.trained_at({"trainedAt": naive}) == parse_utc(zoned)
    later = parse_utc("2026-11-29T10:00:00Z")
    assert wording.ago({"trainedAt": naive}, later) == "2 days ago"
    parsers = {
        str(path.relative_to(APP.parent))
        for path, text in _sources("core", "cli").items()
        if "fromisoformat(" in text and path.name != "timestamps.py"
    }
    assert not parsers, f"time stamps parsed outside app.core.timestamps: {parsers}"


def test_a_speed_measured_at_224_pixels_is_not_read_as_a_256_pixel_one() -> None:
    """The Train screen's first estimate uses the speed the last training measured here,
    per view at the default input. Measured at 224 pixels (before 0.2.0) it is 24 % too
    fast for 256: that figure is not read as one (the first training measures again)."""
    import json

    paths.Settings.path().parent.mkdir(parents=True, exist_ok=True)
    paths.Settings.path().write_text(json.dumps({"seconds_per_view": 0.002, "epochs": 40}))
    loaded = paths.Settings.load()
    assert loaded.seconds_per_view_256 == 0.0 and loaded.epochs == 40
    loaded.seconds_per_view_256 = 0.0031
    loaded.save()
    assert paths.Settings.load().seconds_per_view_256 == 0.0031
