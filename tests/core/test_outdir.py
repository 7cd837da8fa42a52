"""The atomic swap of a model folder and interrupts (Ctrl-C, kill) that arrive during it."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from app.core.outdir import deferred_interrupts, swap_into_place


def test_an_interrupt_inside_waits_for_the_block_then_acts() -> None:
    done = []
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt), deferred_interrupts():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("after the signal")  # reached: nothing was raised in here
        assert done == ["after the signal"]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back
    finally:
        signal.signal(signal.SIGINT, before)


def test_ctrl_c_between_the_exchange_and_keeping_the_old_model_loses_nothing(
    tmp_path: Path,
) -> None:
    """Raised there, the old model (then in the temp folder) went with the temp folder."""
    target, new, kept = tmp_path / "model", tmp_path / ".model.tmp", tmp_path / "history"
    for folder, text in ((target, "old"), (new, "new")):
        folder.mkdir()
        (folder / "model.json").write_text(text)

    def keep(old: Path) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # the owner presses Ctrl-C right now
        old.rename(kept)

    # Python's own Ctrl-C handler, whatever this run started with (a run started in the
    # background inherits SIGINT ignored, and then nothing is raised)
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            swap_into_place(new, target, keep)
    finally:
        signal.signal(signal.SIGINT, before)
    assert (target / "model.json").read_text() == "new"
    assert (kept / "model.json").read_text() == "old"


def test_a_cancel_during_the_swap_of_a_model_is_too_late_not_a_failure(
    tmp_path: Path, tm_export: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C in a cooperative command (train, teach) sets the cancel event; set during
    the swap, the report after it raised Cancelled: "nothing was changed" over a model
    already replaced (and teach's memory of the photos never saved)."""
    import json
    import shutil
    import threading

    import app.core.export as export
    from app.core.modelfiles import FILES, TRAINER_NAME

    model = tmp_path / "model"
    model.mkdir()
    for name in ("model.json", "weights.bin"):
        shutil.copy(tm_export / name, model / name)
    meta = {
        "labels": ["1", "2", "3", "4", "5"],
        "trainedAt": "2026-01-01T00:00:00Z",
        "trainer": {"name": TRAINER_NAME},  # one of ours: replaced in place
    }
    (model / "metadata.json").write_text(json.dumps(meta))
    files = {name: (model / name).read_bytes() for name in FILES}
    files["metadata.json"] = json.dumps({**meta, "trainedAt": "2026-01-02T00:00:00Z"}).encode()
    cancel = threading.Event()
    real_swap = export.swap_into_place

    def swap_then_cancel(*args: object, **kw: object) -> None:
        real_swap(*args, **kw)  # type: ignore[arg-type]
        cancel.set()  # the deferred Ctrl-C acts here, as cooperative commands handle it

    monkeypatch.setattr(export, "swap_into_place", swap_then_cancel)
    export.replace_model_files(model, files, on_progress=lambda p: None, cancel=cancel)
    assert json.loads((model / "metadata.json").read_text())["trainedAt"].startswith("2026-01-02")
