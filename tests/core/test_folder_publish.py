"""Publish to a folder: the plugin's versioned layout, rollback, status, a copy."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from app.core.errors import Cancelled, TrainerError
from app.core.folder_publish import (
    FolderPublishError,
    folder_status,
    publish_to_folder,
    rollback_folder,
    save_copy,
)
from app.core.modelfiles import FILES, TRAINER_NAME, read_model_files

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
        "trainer": {"name": TRAINER_NAME, "version": "test"},
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


def test_a_folder_keeps_ten_versions_by_default(tmp_path: Path, tm_export: Path) -> None:
    """The plugin keeps ten; the folder's default was never checked (tests pass keep=)."""
    shop = tmp_path / "assets"
    versions = []
    for i in range(11):
        m = make_model(tmp_path / f"m{i}", tm_export, trained=f"{i + 1:02d}")
        versions.append(publish_to_folder(m, shop).version)
    kept = [v["version"] for v in folder_status(shop, "2")["versions"]]
    assert kept == versions[::-1][:10]


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
    # the owner's Teachable Machine export (the same three names, not ours) was replaced
    # and lost (a data-loss audit): refused as train --out refuses it, left as it was
    tm = tmp_path / "my-tm-model"
    shutil.copytree(tm_export, tm)
    before = {p.name: p.read_bytes() for p in tm.iterdir()}
    with pytest.raises(FolderPublishError, match="not a previous export of this trainer"):
        save_copy(a, tm)
    assert {p.name: p.read_bytes() for p in tm.iterdir()} == before
    assert save_copy(tm_export, tm) == tm  # the same model again: nothing to replace
    assert {p.name: p.read_bytes() for p in tm.iterdir()} == before
    # another tool's export, named so in its metadata, is not ours either
    meta = json.loads((tm / "metadata.json").read_text())
    (tm / "metadata.json").write_text(json.dumps({**meta, "trainer": {"name": "other-tool"}}))
    with pytest.raises(FolderPublishError, match="not a previous export of this trainer"):
        save_copy(a, tm)


def test_folder_publishing_imports_without_qt() -> None:
    code = "import sys; sys.modules['PySide6'] = None; import app.core.folder_publish; print('ok')"
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_the_served_folders_are_readable_by_a_web_server_of_another_user(
    tmp_path: Path, tm_export: Path
) -> None:
    """mkdtemp makes 0700: a web server running as another user answered 404."""
    shop = tmp_path / "assets"
    old = os.umask(0o022)
    try:
        v = publish_to_folder(make_model(tmp_path / "a", tm_export), shop).version
        copy = save_copy(tmp_path / "a", tmp_path / "usb" / "model")
    finally:
        os.umask(old)
    for folder in (shop / "2" / "latest", shop / "2" / ".versions" / v, copy):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o755, folder
        for name in FILES:
            assert stat.S_IMODE((folder / name).stat().st_mode) & 0o044 == 0o044


def test_a_model_served_by_hand_is_kept_and_other_files_are_never_deleted(
    tmp_path: Path, tm_export: Path
) -> None:
    shop = tmp_path / "assets"
    latest = shop / "2" / "latest"
    by_hand = make_model(latest, tm_export, trained="01")  # copied in before this app
    assert folder_status(shop, "2")["served_problem"].startswith("latest/ holds files")
    b = publish_to_folder(make_model(tmp_path / "b", tm_export, trained="02"), shop)
    st = folder_status(shop, "2")
    assert st["current"]["version"] == b.version and st["served_problem"] is None
    kept = [v["version"] for v in st["versions"] if not v["current"]]
    assert len(kept) == 1  # the model served by hand, now a version that can be served again
    rollback_folder(shop, "2", kept[0])
    assert read_model_files(by_hand).metadata["trainedAt"].startswith("2026-01-01")

    (latest / "notes.txt").write_text("the owner's")
    before = {p.name: p.read_bytes() for p in latest.iterdir()}
    refused = (
        "latest/ holds files this app did not put there (notes.txt): the next publish is "
        "refused until they are moved out of it"
    )
    assert folder_status(shop, "2")["served_problem"] == refused  # said before, not only by it
    by_hand_too = make_model(shop / "3" / "latest", tm_export, trained="01")
    (by_hand_too / "notes.txt").write_text("the owner's")  # "keeps it as a version" was wrong
    assert folder_status(shop, "3")["served_problem"] == refused
    for act in (
        lambda: publish_to_folder(tmp_path / "b", shop),
        lambda: rollback_folder(shop, "2", b.version),
    ):
        with pytest.raises(FolderPublishError, match=r"did not put there \(notes.txt\)"):
            act()
        assert {p.name: p.read_bytes() for p in latest.iterdir()} == before  # nothing changed

    (latest / "notes.txt").unlink()
    (latest / "manifest.json").unlink()
    (latest / "weights.bin").unlink()  # not a whole model: refused, not deleted
    with pytest.raises(FolderPublishError, match="not a whole model"):
        publish_to_folder(tmp_path / "b", shop)
    assert sorted(p.name for p in latest.iterdir()) == ["metadata.json", "model.json"]


def test_damaged_served_files_are_reported_and_repaired(tmp_path: Path, tm_export: Path) -> None:
    shop = tmp_path / "assets"
    a = make_model(tmp_path / "a", tm_export)
    first = publish_to_folder(a, shop)
    weights = shop / "2" / "latest" / "weights.bin"
    weights.write_bytes(weights.read_bytes()[:1000])
    st = folder_status(shop, "2")
    assert st["current"]["version"] == first.version
    assert "weights.bin holds 1000 bytes" in st["served_problem"]
    again = publish_to_folder(a, shop)  # not "already served": the stored copy repairs it
    assert again.version == first.version and not again.reused
    assert weights.read_bytes() == (a / "weights.bin").read_bytes()
    assert folder_status(shop, "2")["served_problem"] is None

    stored = shop / "2" / ".versions" / first.version / "weights.bin"
    stored.write_bytes(stored.read_bytes()[:1000])  # the served version's stored copy
    st = folder_status(shop, "2")
    assert st["current"]["version"] == first.version  # still what the tills load
    assert st["current"]["products"] == 5 and st["served_problem"] is None
    assert [v["version"] for v in st["incomplete"]] == [first.version]
    fresh = publish_to_folder(a, shop)  # a new stored copy, so it can be served again later
    assert fresh.version != first.version and not fresh.reused
    assert folder_status(shop, "2")["current"]["version"] == fresh.version


def test_leftovers_of_a_killed_publish_are_removed_by_the_next(
    tmp_path: Path, tm_export: Path
) -> None:
    shop = tmp_path / "assets"
    publish_to_folder(make_model(tmp_path / "a", tm_export), shop)
    left = shop / "2" / ".tmp" / "latest-killed"
    left.mkdir()
    (left / "weights.bin").write_bytes(b"x" * 1000)
    publish_to_folder(make_model(tmp_path / "b", tm_export, trained="02"), shop)
    assert not list((shop / "2" / ".tmp").iterdir())


def test_an_interrupt_says_what_was_done(
    tmp_path: Path, tm_export: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C waits through the switch and acts after it (deferred_interrupts): the
    command said "nothing was changed" when the new model was served."""
    import app.core.folder_publish as fp

    shop = tmp_path / "assets"
    first = publish_to_folder(make_model(tmp_path / "a", tm_export), shop)
    b = make_model(tmp_path / "b", tm_export, trained="02")
    real_swap, real_store = fp.swap_into_place, fp._store_version

    def swap_then_interrupt(*args: object, **kw: object) -> None:
        real_swap(*args, **kw)  # type: ignore[arg-type]
        raise KeyboardInterrupt

    def store_then_interrupt(*args: object, **kw: object) -> None:
        real_store(*args, **kw)  # type: ignore[arg-type]
        raise KeyboardInterrupt

    monkeypatch.setattr(fp, "_store_version", store_then_interrupt)
    with pytest.raises(KeyboardInterrupt):  # stored, never served: nothing was changed
        publish_to_folder(b, shop)
    st = folder_status(shop, "2")
    assert st["current"]["version"] == first.version
    assert [v["version"] for v in st["versions"]] == [first.version]  # no orphan version

    monkeypatch.setattr(fp, "_store_version", real_store)
    monkeypatch.setattr(fp, "swap_into_place", swap_then_interrupt)
    with pytest.raises(Cancelled, match="now serves") as info:
        publish_to_folder(b, shop)
    second = folder_status(shop, "2")["current"]["version"]
    assert second != first.version and second in str(info.value)
    with pytest.raises(Cancelled, match=f"now serves version {first.version}"):
        rollback_folder(shop, "2", first.version)
    assert folder_status(shop, "2")["current"]["version"] == first.version


def test_status_of_a_path_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(FolderPublishError, match="is not a folder"):
        folder_status(tmp_path / "afile", "1")


def test_a_lock_file_that_is_a_link_is_not_followed(tmp_path: Path, tm_export: Path) -> None:
    """A ``.lock`` linked to another file (a shared folder others can write) had that
    file emptied and overwritten with a process id."""
    shop = tmp_path / "assets"
    (shop / "2").mkdir(parents=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("the owner's notes")
    (shop / "2" / ".lock").symlink_to(victim)
    with pytest.raises(TrainerError, match="Nothing was published"):
        publish_to_folder(make_model(tmp_path / "m", tm_export), shop)
    assert victim.read_text() == "the owner's notes"
    assert not (shop / "2" / "latest").exists()


def test_a_model_served_by_hand_among_many_versions_survives_the_publish_that_keeps_it(
    tmp_path: Path, tm_export: Path
) -> None:
    """Unzipped into latest/ (old file times) where versions were already stored: "Keeping
    the model served before as a version", then the same publish's pruning deleted it."""
    import os
    import shutil

    shop = tmp_path / "assets"
    for i in range(2):
        publish_to_folder(
            make_model(tmp_path / f"m{i}", tm_export, trained=f"0{i + 1}"), shop, keep=2
        )
    latest = shop / "2" / "latest"
    shutil.rmtree(latest)
    make_model(latest, tm_export, trained="09")
    for f in latest.iterdir():
        os.utime(f, (0, 946684800))  # 2000-01-01
    new = publish_to_folder(make_model(tmp_path / "n", tm_export, trained="10"), shop, keep=2)
    versions = folder_status(shop, "2")["versions"]
    assert [v["version"] for v in versions][0] == new.version and len(versions) == 2
    rollback_folder(shop, "2", versions[1]["version"])  # the one served by hand, kept
    assert read_model_files(latest).metadata["trainedAt"].startswith("2026-01-09")


def test_a_rollback_that_waits_says_so_and_names_a_version_pruned_meanwhile(
    tmp_path: Path, tm_export: Path
) -> None:
    """Found by an audit: a rollback waiting for a publish said nothing, and when that
    publish pruned the version it waited to serve, it blamed damage ("has no readable
    manifest.json") instead."""
    import threading

    from app.core.locks import exclusive_lock

    shop = tmp_path / "assets"
    old = publish_to_folder(make_model(tmp_path / "a", tm_export, trained="01"), shop)
    publish_to_folder(make_model(tmp_path / "b", tm_export, trained="02"), shop)
    chdir = shop / "2"
    said: list[str] = []
    outcome: list[BaseException | None] = []

    def roll_back() -> None:
        try:
            rollback_folder(
                shop, "2", old.version, wait_s=30, on_progress=lambda p: said.append(p.message)
            )
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            outcome.append(exc)

    with exclusive_lock(chdir / ".lock"):  # a publish holds the channel folder
        thread = threading.Thread(target=roll_back)
        thread.start()
        deadline = time.monotonic() + 10
        while not said and time.monotonic() < deadline:
            time.sleep(0.05)
        shutil.rmtree(chdir / ".versions" / old.version)  # that publish prunes it
    thread.join(30)

    assert said and said[0].startswith("Waiting for another publish or rollback")
    (exc,) = outcome
    assert isinstance(exc, FolderPublishError)
    assert "is no longer in" in str(exc) and "a publish that ran meanwhile removed it" in str(exc)


def test_status_does_not_call_a_version_being_pruned_unservable(
    tmp_path: Path, tm_export: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.core import folder_versions

    shop = tmp_path / "assets"
    pruned = publish_to_folder(make_model(tmp_path / "a", tm_export, trained="01"), shop)
    publish_to_folder(make_model(tmp_path / "b", tm_export, trained="02"), shop)
    vdir = shop / "2" / ".versions" / pruned.version
    (vdir / "manifest.json").unlink()  # a publish's pruning is half-way through it
    monkeypatch.setattr(folder_versions.time, "sleep", lambda s: shutil.rmtree(vdir))

    assert folder_status(shop, "2")["incomplete"] == []

    damaged = publish_to_folder(make_model(tmp_path / "c", tm_export, trained="03"), shop)
    (shop / "2" / ".versions" / damaged.version / "manifest.json").unlink()
    monkeypatch.setattr(folder_versions.time, "sleep", lambda s: None)  # it stays: damaged
    assert [v["version"] for v in folder_status(shop, "2")["incomplete"]] == [damaged.version]


def test_a_clock_set_back_never_prunes_the_newest_model(
    tmp_path: Path, tm_export: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Versions are named by the clock and pruned by name: after publishes with the clock
    a day ahead, the next ones (the clock put right) were named older, so each publish
    pruned the one before it while the stale ones stayed; a model served by hand and
    kept as a version was pruned by the very publish that kept it."""
    import datetime as dt

    from wall_clock import shift_clock

    from app.core import timestamps

    shop = tmp_path / "assets"
    shift_clock(monkeypatch, timestamps, dt.timedelta(days=1))
    for i in range(3):
        publish_to_folder(make_model(tmp_path / f"ahead{i}", tm_export, trained=f"0{i + 1}"), shop)
    shift_clock(monkeypatch, timestamps, dt.timedelta(0))
    fourth = publish_to_folder(make_model(tmp_path / "m4", tm_export, trained="04"), shop, keep=3)
    fifth = publish_to_folder(make_model(tmp_path / "m5", tm_export, trained="05"), shop, keep=3)
    versions = [v["version"] for v in folder_status(shop, "2")["versions"]]
    assert versions[:2] == [fifth.version, fourth.version] and len(versions) == 3
    assert folder_status(shop, "2")["current"]["version"] == fifth.version

    latest = shop / "2" / "latest"  # the owner serves a model by hand, then publishes
    shutil.rmtree(latest)
    make_model(latest, tm_export, trained="06")
    sixth = publish_to_folder(make_model(tmp_path / "m7", tm_export, trained="07"), shop, keep=3)
    st = folder_status(shop, "2")
    assert [v["version"] for v in st["versions"]][0] == sixth.version
    by_hand = st["versions"][1]["version"]
    rollback_folder(shop, "2", by_hand)  # kept, as README promises
    assert read_model_files(latest).metadata["trainedAt"].startswith("2026-01-06")
