"""The last few local models: kept by every export, listed with reasons, used again."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from model_standins import fake_model

from app.core.catalogue import catalogue_from_folder
from app.core.dataset import build_dataset
from app.core.errors import Cancelled
from app.core.export import export_model
from app.core.local_history import (
    KEEP,
    HistoryError,
    history_dir,
    keep_previous,
    list_history,
    use_again,
)
from app.core.model import TrainOptions
from app.core.modelfiles import FILES, TRAINER_NAME
from app.core.progress import Progress
from app.core.trainer import train
from app.core.wording import model_facts

LABELS = ["Banana", "Kiwi", "Lemon", "Lime", "Orange"]  # the TM export's five outputs
OURS = {"trainer": {"name": TRAINER_NAME, "version": "test"}}


def files_of(folder: Path) -> dict[str, bytes]:
    return {n: (folder / n).read_bytes() for n in FILES}


def channels(model_dir: Path) -> list[str]:
    return [m.metadata["channelId"] for m in list_history(model_dir).models]


@pytest.fixture(scope="module")
def trained(grocery: Path, base_weights: Path, tmp_path_factory):
    """One real training on three products of three photos each (exported many times)."""
    shop = tmp_path_factory.mktemp("shop")
    for pid, rel in {
        "banana": "Fruit/Banana",
        "kiwi": "Fruit/Kiwi",
        "lemon": "Fruit/Lemon",
    }.items():
        (shop / pid).mkdir()
        for p in sorted((grocery / "train" / rel).glob("*.jpg"))[:3]:
            os.symlink(p, shop / pid / p.name)
    mp = pytest.MonkeyPatch()
    mp.setenv("DUKAHUB_TRAINER_HOME", str(tmp_path_factory.mktemp("home")))
    model = train(
        build_dataset(catalogue_from_folder(shop)),
        TrainOptions(base_weights=base_weights, epochs=2),
    )
    yield model
    mp.undo()


def test_every_export_keeps_the_last_five_and_use_again_swaps_them(trained, tmp_path) -> None:
    out = tmp_path / "model"
    export_model(trained, out, channel_id="1")
    assert not history_dir(out).exists()  # nothing replaced yet, nothing kept
    first = files_of(out)
    export_model(trained, out, channel_id="2")
    hist = list_history(out)
    assert [m.metadata["channelId"] for m in hist.models] == ["1"] and hist.skipped == []
    assert files_of(hist.models[0].path) == first  # the previous model, byte for byte
    assert sorted(p.name for p in tmp_path.iterdir()) == [".model.history", ".model.lock", "model"]

    for ch in "34567":
        export_model(trained, out, channel_id=ch)
    assert json.loads((out / "metadata.json").read_text())["channelId"] == "7"
    assert channels(out) == ["6", "5", "4", "3", "2"]  # the last five; "1" dropped first
    assert len(list(history_dir(out).iterdir())) == KEEP

    # the same facts the Publish screen's versions show
    meta = list_history(out).models[0].metadata
    held = meta["heldBackPhotos"]
    assert model_facts(meta)[1:] == [
        "3",
        "9",
        f"{100 * meta['validationAccuracy']:.0f} % ("
        f"{round(meta['validationAccuracy'] * held)} of {held})",
    ]

    # use the model of channel 3 again: moved back (same inode, not a copy), 7 kept
    entry = next(m for m in list_history(out).models if m.metadata["channelId"] == "3")
    before = files_of(entry.path)
    inode = (entry.path / "weights.bin").stat().st_ino
    current = files_of(out)
    events: list[Progress] = []
    assert use_again(out, entry.name, on_progress=events.append) == out.resolve()
    assert files_of(out) == before and (out / "weights.bin").stat().st_ino == inode
    assert channels(out) == ["7", "6", "5", "4", "2"]  # nothing lost, still five
    assert files_of(list_history(out).models[0].path) == current
    assert events[-1].fraction == 1.0 and "again" in events[-1].message


def test_a_failed_export_leaves_model_and_history_as_they_were(trained, tmp_path) -> None:
    out = tmp_path / "model"
    export_model(trained, out, channel_id="1")
    export_model(trained, out, channel_id="2")
    model_before = files_of(out)
    hist_before = {p.name: files_of(p) for p in history_dir(out).iterdir()}
    cancel = threading.Event()

    def stop_at_the_check(p: Progress) -> None:  # the last moment before the swap
        if p.message == "Checking the files":
            cancel.set()

    with pytest.raises(Cancelled):
        export_model(trained, out, channel_id="3", on_progress=stop_at_the_check, cancel=cancel)
    assert files_of(out) == model_before
    assert {p.name: files_of(p) for p in history_dir(out).iterdir()} == hist_before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".model.history", ".model.lock", "model"]


def test_half_written_and_foreign_entries_are_skipped_with_a_reason(
    tmp_path: Path, tm_export: Path
) -> None:
    out = fake_model(tmp_path / "model", tm_export, LABELS, channelId="9", **OURS)
    hist = history_dir(out)
    good = fake_model(hist / "20261201T100000000000Z-aaaaaa", tm_export, LABELS, **OURS)
    half = hist / "20261202T100000000000Z-bbbbbb"
    half.mkdir()
    (half / "model.json").write_bytes((tm_export / "model.json").read_bytes())
    teachable = fake_model(hist / "20261203T100000000000Z-cccccc", tm_export, LABELS)
    (hist / "my notes").mkdir()
    (hist / "readme.txt").write_text("mine")

    listed = list_history(out)
    assert [m.path for m in listed.models] == [good]
    reasons = {s.name: s.reason for s in listed.skipped}
    assert reasons[half.name] == f"weights.bin is missing in {half}"
    assert reasons[teachable.name] == "not a model trained by this app"
    assert reasons["my notes"] == reasons["readme.txt"] == "not an earlier model kept by this app"

    model_before = files_of(out)
    with pytest.raises(HistoryError, match="cannot be used again: weights.bin is missing"):
        use_again(out, half.name)
    with pytest.raises(HistoryError, match="no earlier model"):
        use_again(out, "my notes")  # not a name of ours: never swapped in
    with pytest.raises(HistoryError, match="no earlier model"):
        use_again(out, "20261204T100000000000Z-dddddd")
    assert files_of(out) == model_before and half.is_dir()

    use_again(out, good.name)  # the good one still works; the current one is kept
    assert json.loads((out / "metadata.json").read_text())["channelId"] == ""
    assert [m.metadata["channelId"] for m in list_history(out).models] == ["9"]
    assert (hist / "my notes").is_dir() and (hist / "readme.txt").read_text() == "mine"


def test_use_again_refuses_to_replace_a_folder_of_someone_elses(
    tmp_path: Path, tm_export: Path
) -> None:
    out = tmp_path / "model"
    good = fake_model(history_dir(out) / "20261201T100000000000Z-aaaaaa", tm_export, LABELS, **OURS)
    out.mkdir()
    (out / "thesis.docx").write_text("precious")
    with pytest.raises(HistoryError, match="other files"):
        use_again(out, good.name)
    assert (out / "thesis.docx").read_text() == "precious" and good.is_dir()
    (out / "thesis.docx").unlink()
    out.rmdir()
    use_again(out, good.name)  # no local model at all: the earlier one becomes it
    assert files_of(out)["metadata.json"] and list_history(out).models == []


def test_a_long_model_folder_name_gets_a_short_distinct_history(tmp_path: Path) -> None:
    a, b = tmp_path / ("x" * 200 + "a"), tmp_path / ("x" * 200 + "b")
    assert history_dir(a) != history_dir(b)
    assert len(history_dir(a).name.encode()) < 100 and history_dir(a).parent == tmp_path


def test_without_an_atomic_exchange_the_previous_model_is_still_kept(
    tmp_path: Path, tm_export: Path, monkeypatch
) -> None:
    """Where renameat2 is missing (not Linux) the swap renames twice; the history is kept."""
    import app.core.outdir as outdir

    monkeypatch.setattr(outdir, "_exchange", lambda a, b: False)
    out = fake_model(tmp_path / "model", tm_export, LABELS, channelId="1", **OURS)
    entry = fake_model(
        history_dir(out) / "20261201T100000000000Z-aaaaaa", tm_export, LABELS, channelId="2", **OURS
    )
    use_again(out, entry.name)
    assert json.loads((out / "metadata.json").read_text())["channelId"] == "2"
    assert channels(out) == ["1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".model.history", ".model.lock", "model"]


def test_a_previous_model_that_cannot_be_kept_is_said_not_only_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``.<model>.history`` is the owner's file: the previous model is removed, and the
    owner was told nothing (a log line only)."""
    from app.core.local_history import history_dir, keep_previous

    model_dir = tmp_path / "model"
    old = tmp_path / ".model.old"
    old.mkdir()
    (old / "model.json").write_text("{}")
    history_dir(model_dir).write_text("my notes")
    with caplog.at_level("WARNING", logger="app.notices"):
        assert keep_previous(old, model_dir) is None
    said = [r.getMessage() for r in caplog.records if r.name == "app.notices"]
    assert any("could not be kept" in m and "removed" in m for m in said), said
    assert history_dir(model_dir).read_text() == "my notes"


def test_a_clock_set_back_keeps_the_models_just_replaced(
    trained, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """History entries are named by the clock and pruned by name: with six exports made
    while the clock was a day ahead, the next ones (clock put right) named the replaced
    models older than the stale five, and the prune deleted them at once."""
    import datetime as dt

    from wall_clock import shift_clock

    from app.core import timestamps

    out = tmp_path / "model"
    shift_clock(monkeypatch, timestamps, dt.timedelta(days=1))
    for ch in "123456":
        export_model(trained, out, channel_id=ch)
    shift_clock(monkeypatch, timestamps, dt.timedelta(0))
    for ch in "78":
        export_model(trained, out, channel_id=ch)
    assert channels(out) == ["7", "6", "5", "4", "3"]  # "6" and "7" were lost


def test_a_model_a_killed_run_left_on_its_way_to_the_history_is_kept(
    trained, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An audit of the app killed mid-work: killed between the swap and the move into the
    history, the replaced model stayed in a temp folder beside the model, and the next
    training's sweep deleted it ("removed a stale temp folder"): one earlier model lost
    without a word. The sweep now keeps it; a copy of a model kept already still goes."""
    import shutil
    import time

    import app.core.export as export_module

    out = tmp_path / "model"
    export_model(trained, out, channel_id="1")
    first = files_of(out)
    dead = 4_000_000  # no such process
    left = tmp_path / f".model.tmp-{dead}-a1b2c3d4"

    def killed_before_keeping(old: Path, model_dir: Path) -> None:
        old.rename(left)  # where the kill left it: the temp folder's name, its owner gone

    monkeypatch.setattr(export_module, "keep_previous", killed_before_keeping)
    export_model(trained, out, channel_id="2", quantize="float16")
    monkeypatch.undo()
    assert files_of(left) == first and not history_dir(out).exists()
    copy = tmp_path / f".model.tmp-{dead}-e5f6a7b8"
    shutil.copytree(out, copy)  # a finished export of the model in place: nothing new
    hour_ago = time.time() - 3600
    for folder in (left, copy):
        os.utime(folder, (hour_ago, hour_ago))

    export_model(trained, out, channel_id="3")  # the next training sweeps
    assert channels(out) == ["2", "1"]  # "1" kept as an earlier model, not deleted
    assert files_of(list_history(out).models[1].path) == first
    assert not left.exists() and not copy.exists()


def test_a_swap_killed_between_its_two_renames_loses_no_model(
    tmp_path: Path, tm_export: Path, monkeypatch
) -> None:
    """Without an atomic exchange (macOS, Windows, NFS) the swap renames twice; killed
    after the first, the model before sat in ``.<model>.old``, and the next export's
    swap deleted it without a word (a data-loss audit)."""
    import app.core.outdir as outdir

    monkeypatch.setattr(outdir, "_exchange", lambda a, b: False)
    # the state a kill leaves: no model in place, the one before beside it
    fake_model(tmp_path / ".model.old", tm_export, LABELS, channelId="1", **OURS)
    out = tmp_path / "model"
    new = fake_model(tmp_path / "new", tm_export, LABELS, channelId="2", **OURS)
    outdir.swap_into_place(new, out, lambda old: keep_previous(old, out))
    assert json.loads((out / "metadata.json").read_text())["channelId"] == "2"
    assert channels(out) == ["1"]
    # killed later, after the second rename: the one before that is kept too
    fake_model(tmp_path / ".model.old", tm_export, LABELS, channelId="0", **OURS)
    new = fake_model(tmp_path / "new", tm_export, LABELS, channelId="3", **OURS)
    outdir.swap_into_place(new, out, lambda old: keep_previous(old, out))
    assert json.loads((out / "metadata.json").read_text())["channelId"] == "3"
    assert sorted(channels(out)) == ["0", "1", "2"]
    assert not (tmp_path / ".model.old").exists()


def test_folders_held_a_moment_by_another_program_are_still_swapped_and_kept(
    tmp_path: Path, tm_export: Path, monkeypatch
) -> None:
    """Windows: a virus scanner or the search indexer holding a file just written makes
    a folder's rename fail for a moment. The swap failed, or the model before was not
    kept (a portability audit); each rename is now tried again for about two seconds."""
    import app.core.outdir as outdir

    monkeypatch.setattr(outdir, "_exchange", lambda a, b: False)
    out = fake_model(tmp_path / "model", tm_export, LABELS, channelId="1", **OURS)
    new = fake_model(tmp_path / "new", tm_export, LABELS, channelId="2", **OURS)
    real, refused = os.replace, []

    def held_at_first(src, dst):  # noqa: ANN001, ANN202
        if Path(src).is_dir() and refused.count(str(src)) < 2:
            refused.append(str(src))
            raise PermissionError(13, "Access is denied", str(src))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", held_at_first)
    outdir.swap_into_place(new, out, lambda old: keep_previous(old, out))
    assert json.loads((out / "metadata.json").read_text())["channelId"] == "2"
    assert channels(out) == ["1"] and len(set(refused)) >= 3, refused
