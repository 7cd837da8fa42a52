"""A shop channel and a folder answer publish, status, rollback and versions alike.

Both are driven through the same steps (:func:`publish_two_and_roll_back`) on the
:class:`PublishTarget` protocol, and both return the same types: which version is
served, which are stored, what a publish or a rollback did.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from model_standins import fake_model
from vendure_server.fixtures import VendureServer, add_channel

from app.core.flows.login import log_in
from app.core.flows.publish import (
    FolderPublishError,
    FolderTarget,
    ModelVersion,
    Published,
    PublishTarget,
    ShopTarget,
    TargetStatus,
    model_file_hashes,
    serves_these_files,
)


def _model(dest: Path, tm_export: Path, labels: list[str], channel: str, day: str) -> Path:
    return fake_model(
        dest, tm_export, labels, channelId=channel, trainedAt=f"2026-01-{day}T00:00:00Z"
    )


def publish_two_and_roll_back(target: PublishTarget, first: Path, second: Path) -> None:
    a = target.publish(first)
    assert isinstance(a, Published) and not a.reused and a.products == 5
    again = target.publish(first)  # already served: nothing uploaded or copied
    assert again.reused and again.version == a.version
    b = target.publish(second)
    assert not b.reused and b.version != a.version

    status = target.status()
    assert isinstance(status, TargetStatus)
    assert status.current is not None and status.current.version == b.version
    assert [v.version for v in status.versions[:2]] == [b.version, a.version]
    assert all(isinstance(v, ModelVersion) for v in status.versions)
    newest, older = status.versions[0], status.versions[1]
    assert newest.current and not older.current
    assert (newest.trained_at, older.trained_at) == ("2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z")
    assert newest.products == 5 and newest.products_text == "5 products"
    assert newest.metadata["trainedAt"] == "2026-01-02T00:00:00Z"
    assert {f.name for f in newest.files} >= {"model.json", "weights.bin", "metadata.json"}
    assert [v.version for v in target.versions()] == [v.version for v in status.versions]

    back = target.rollback(a.version)
    assert isinstance(back, ModelVersion) and back.version == a.version
    assert back.trained_at == "2026-01-01T00:00:00Z"
    now = target.status().current
    assert now is not None and now.version == a.version


def test_a_folder_target(tmp_path: Path, tm_export: Path) -> None:
    labels = ["1", "2", "3", "4", "5"]
    first = _model(tmp_path / "a", tm_export, labels, "2", "01")
    second = _model(tmp_path / "b", tm_export, labels, "2", "02")
    target = FolderTarget(tmp_path / "assets", "2")
    assert target.status() == TargetStatus(None, [], [])
    publish_two_and_roll_back(target, first, second)
    assert target.channel_dir == (tmp_path / "assets" / "2").resolve()
    assert (target.channel_dir / "latest" / "metadata.json").is_file()
    assert target.location == str(target.channel_dir / "latest")
    served = target.status().current
    assert served is not None
    assert target.served_metadata() == served.model_metadata
    assert served.model_metadata["trainedAt"] == "2026-01-01T00:00:00Z"  # rolled back to a
    assert serves_these_files(served.hashes, first)
    assert not serves_these_files(served.hashes, second)
    assert model_file_hashes(first) == served.hashes


def test_a_folder_target_names_what_it_cannot_serve(tmp_path: Path, tm_export: Path) -> None:
    labels = ["1", "2", "3", "4", "5"]
    target = FolderTarget(tmp_path / "assets", "2")
    kept = target.publish(_model(tmp_path / "a", tm_export, labels, "2", "01")).version
    cut = target.publish(_model(tmp_path / "b", tm_export, labels, "2", "02")).version
    weights = target.channel_dir / ".versions" / kept / "weights.bin"
    weights.write_bytes(weights.read_bytes()[:100])
    _damage_metadata(target.channel_dir / ".versions" / cut)
    status = target.status()
    assert [(u.version, "weights.bin holds" in u.reason) for u in status.unservable] == [
        (kept, True)
    ]
    damaged = next(v for v in status.versions if v.version == cut)
    assert damaged.products is None and damaged.products_text.startswith("? products (damaged")
    with pytest.raises(FolderPublishError, match="channel id"):
        FolderTarget(tmp_path / "assets").status()  # a publish may omit it; status may not


def _damage_metadata(version: Path) -> None:
    """``"labels": 5`` in a stored version's metadata.json, its manifest updated to match
    (so the files are whole, and only what they say is wrong)."""
    data = json.dumps({**json.loads((version / "metadata.json").read_text()), "labels": 5})
    (version / "metadata.json").write_text(data)
    manifest = json.loads((version / "manifest.json").read_text())
    for entry in manifest["files"]:
        if entry["name"] == "metadata.json":
            entry.update(size=len(data.encode()), sha256=hashlib.sha256(data.encode()).hexdigest())
    (version / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.slow
def test_a_shop_target(vendure: VendureServer, tm_export: Path, tmp_path: Path) -> None:
    api, ch = add_channel(vendure, "targets")
    labels = [api.create_product(f"Product {n}", []) for n in range(5)]
    client = log_in(vendure.url, vendure.admin_user, lambda: vendure.admin_password)
    client.select_channel("targets")
    first = _model(tmp_path / "a", tm_export, labels, ch.id, "01")
    second = _model(tmp_path / "b", tm_export, labels, ch.id, "02")
    target = ShopTarget(client)
    assert target.status() == TargetStatus(None, [], [])
    publish_two_and_roll_back(target, first, second)
    latest = target.publish(first)  # the served one: its url is where the tills read it
    assert latest.reused and latest.location == client.latest_url() == target.location
    served = target.served_metadata()  # read as the tills read it
    assert served is not None and served["trainedAt"] == "2026-01-01T00:00:00Z"
    client.close()
