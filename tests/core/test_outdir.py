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

    with pytest.raises(KeyboardInterrupt):
        swap_into_place(new, target, keep)
    assert (target / "model.json").read_text() == "new"
    assert (kept / "model.json").read_text() == "old"
