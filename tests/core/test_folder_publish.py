"""Publish to a folder: the plugin's versioned layout, rollback, status, a copy."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from app.core.errors import TrainerError
from app.core.folder_publish import (
    FolderPublishError,
    folder_status,
    publish_to_folder,
    rollback_folder,
    save_copy,
)
from app.core.modelfiles import FILES, read_model_files

if TYPE_CHECKING:
    pass


REPO = Path(__file__).resolve().parents[2]


def make_model(dest: Path, tm_export: Path, channel: str = "2", trained: str = "01") -> Path:
    """A real TF.js export (Teachable Machine's files) with our metadata."""
    dest.mkdir(parents=True)
    for name in ("model.json", "weights.bin"):
        shutil.copy(tm_export / name, dest / name)
    meta = {
        "channelId": channel,
        "labels": ["1", "2", "3", "4", "5"],
        "trainedAt": f"2026-01-{trained}T00:00:00Z",
    }
    (dest / "metadata.json").write_text(json.dumps(meta))
    return dest


def test_publish_twice_then_rollback(tmp_path: Path, tm_export: Path) -> None:
    a = make_model(tmp_path / "a", tm_export, trained="01")
    b = make_model(tmp_path / "b", tm_export, trained="02")
    shop = tmp_path / "assets"

    first = publish_to_folder(a, shop)  # channel from the model's metadata
    assert first.channel_id == "2" and not first.reused
    latest = shop / "2" / "latest"
    assert first.latest == latest.resolve()
    assert read_model_files(latest).metadata["trainedAt"].startswith("2026-01-01")
    again = publish_to_folder(a, shop)
    assert again.reused and again.version == first.version  # same bytes: nothing new

    second = publish_to_folder(b, shop, "2")
    assert second.version != first.version
    assert read_model_files(latest).metadata["trainedAt"].startswith("2026-01-02")
    for name in FILES:  # byte for byte the model's files
        assert (latest / name).read_bytes() == (b / name).read_bytes()
    st = folder_status(shop, "2")
    assert [v["version"] for v in st["versions"]] == [second.version, first.version]
    assert st["current"]["version"] == second.version
    assert [v["current"] for v in st["versions"]] == [True, False]

    back = rollback_folder(shop, "2", first.version)
    assert back["version"] == first.version and back["current"]
    assert read_model_files(latest).metadata["trainedAt"].startswith("2026-01-01")
    assert folder_status(shop, "2")["current"]["version"] == first.version
    # no half-written leftovers beside the served folder
    assert [
        p.name for p in (shop / "2").iterdir() if p.name not in {".versions", ".tmp", ".lock"}
    ] == ["latest"]
    assert not list((shop / "2" / ".tmp").iterdir())


def test_refuses_what_would_serve_the_wrong_model(tmp_path: Path, tm_export: Path) -> None:
    a = make_model(tmp_path / "a", tm_export, channel="2")
    shop = tmp_path / "assets"
    with pytest.raises(FolderPublishError, match="trained for channel 2"):
        publish_to_folder(a, shop, "3")
    with pytest.raises(FolderPublishError, match="not a shop channel id"):
        publish_to_folder(a, shop, "../x")
    nochannel = make_model(tmp_path / "n", tm_export, channel="")
    with pytest.raises(FolderPublishError, match="give the channel id"):
        publish_to_folder(nochannel, shop)
    assert publish_to_folder(nochannel, shop, "1").channel_id == "1"

    v = publish_to_folder(a, shop).version
    b = make_model(tmp_path / "b", tm_export, trained="02")
    publish_to_folder(b, shop)
    stored = shop / "2" / ".versions" / v / "weights.bin"
    stored.write_bytes(stored.read_bytes()[:-4] + b"\0\0\0\0")  # changed on disk
    with pytest.raises(FolderPublishError, match="changed on disk"):
        rollback_folder(shop, "2", v)
    assert folder_status(shop, "2")["current"]["trainedAt"].startswith("2026-01-02")  # kept
    with pytest.raises(FolderPublishError, match="does not exist"):
        rollback_folder(shop, "2", "20260101T000000000Z-abcdef")
    broken = make_model(tmp_path / "broken", tm_export)
    (broken / "weights.bin").write_bytes(b"x")
    with pytest.raises(TrainerError):
        publish_to_folder(broken, shop)


def test_old_versions_are_pruned_but_the_served_one_kept(tmp_path: Path, tm_export: Path) -> None:
    shop = tmp_path / "assets"
    versions = []
    for i in range(4):
        m = make_model(tmp_path / f"m{i}", tm_export, trained=f"0{i + 1}")
        versions.append(publish_to_folder(m, shop, keep=2).version)
    kept = [v["version"] for v in folder_status(shop, "2")["versions"]]
    assert kept == [versions[3], versions[2]]


def test_save_copy(tmp_path: Path, tm_export: Path) -> None:
    a = make_model(tmp_path / "a", tm_export)
    out = save_copy(a, tmp_path / "usb" / "model")
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    b = make_model(tmp_path / "b", tm_export, trained="02")
    save_copy(b, out)  # replaces an earlier copy whole
    assert read_model_files(out).metadata["trainedAt"].startswith("2026-01-02")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "letter.txt").write_text("keep me")
    with pytest.raises(FolderPublishError, match="other files"):
        save_copy(a, tmp_path / "docs")


def test_folder_publishing_imports_without_qt() -> None:
    code = "import sys; sys.modules['PySide6'] = None; import app.core.folder_publish; print('ok')"
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
