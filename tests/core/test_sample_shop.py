"""The sample shop ships with the app (≤ 2 MB, MIT attribution) and trains from the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from app.core.catalogue import catalogue_from_folder
from app.core.folder_publish import folder_status
from app.core.sample_shop import sample_shop_dir, sample_test_photos_dir, shipped_dir

if TYPE_CHECKING:
    from conftest import Cli


def test_shipped_sample_is_small_attributed_and_trainable() -> None:
    src = shipped_dir()
    files = [p for p in src.rglob("*") if p.is_file()]
    tests = sample_test_photos_dir()
    assert tests is not None
    files += [p for p in tests.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) <= 2_000_000
    assert "MIT License" in (src / "LICENSE").read_text()
    assert "Marcus Klasson" in (src / "README.md").read_text()
    cat = catalogue_from_folder(src)
    assert len(cat.products) == 6
    assert all(len(p.images) >= 3 for p in cat.products)
    assert len(list(tests.glob("*.jpg"))) == 6


def test_sample_shop_dir_is_a_stable_writable_copy(isolated_home: Path) -> None:
    d = sample_shop_dir()
    assert d.is_relative_to(isolated_home) and (d / "Lemon").is_dir()
    (d / "Lemon" / "added.jpg").write_bytes((d / "Lemon" / "lemon-1.jpg").read_bytes())
    assert sample_shop_dir() == d and (d / "Lemon" / "added.jpg").exists()  # not re-copied


@pytest.mark.slow
def test_cli_train_sample_then_publish_to_folder(
    cli: Cli, tmp_path: Path, base_weights: Path
) -> None:
    """A new user's way without a server: train --sample → publish --to-folder."""
    home = {"DUKAHUB_TRAINER_HOME": str(tmp_path / "home")}
    out = tmp_path / "model"
    r = cli.run(
        *["train", "--sample", "--out", str(out), "--epochs", "4", "--json"],
        *["--base-weights", str(base_weights), "--channel-id", "1"],
        env=home,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["products"] == 6 and summary["images"] == 30
    r = cli.run("publish", str(out), "--to-folder", str(tmp_path / "assets"), env=home, timeout=120)
    assert r.returncode == 0, r.stderr
    assert folder_status(tmp_path / "assets", "1")["current"] is not None
    r = cli.run("train", "--sample", str(tmp_path), env=home, timeout=120)
    assert r.returncode == 1 and r.stderr.startswith("Error: ")
