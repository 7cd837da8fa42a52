"""Progress through a step that cannot say how far it is (issue 22): the TF.js
conversion of an export reports "writing the model files… N s" every few seconds from
a timer thread, and stops when the conversion returns or fails. The timer is made fast
here; the export is a real one (a three-product head on the real base model)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from app.core import heartbeat
from app.core.errors import Cancelled
from app.core.heartbeat import Heartbeat
from app.core.progress import Phase


def test_beats_while_the_step_runs_and_never_after() -> None:
    seen: list[float] = []
    with Heartbeat(seen.append, every_s=0.02) as beat:
        time.sleep(0.2)
    n = len(seen)
    assert n >= 3 and beat.beats == n
    assert seen == sorted(seen) and seen[0] >= 0.02  # seconds so far, growing
    time.sleep(0.1)
    assert len(seen) == n  # the block ended: no report after it


def test_a_cancel_in_a_report_ends_the_beats_and_a_failure_ends_the_thread() -> None:
    calls: list[float] = []

    def cancelled(secs: float) -> None:
        calls.append(secs)
        raise Cancelled("Cancelled.")

    with Heartbeat(cancelled, every_s=0.01):
        time.sleep(0.1)
    assert len(calls) == 1
    before = threading.active_count()
    with pytest.raises(RuntimeError), Heartbeat(lambda s: None, every_s=0.01):
        raise RuntimeError("the conversion failed")
    assert threading.active_count() <= before


def test_export_reports_while_the_conversion_runs(
    base_weights: Path, tmp_path: Path, monkeypatch
) -> None:
    from app.core import export
    from app.core.export import export_model
    from app.core.head import build_head
    from app.core.model import TrainedModel, TrainOptions, TrainResult

    monkeypatch.setattr(heartbeat, "EVERY_S", 0.05)
    real = export.write_tfjs

    def write_tfjs(*args, **kwargs):
        real(*args, **kwargs)
        time.sleep(0.2)  # at least a few beats, however fast this machine converts

    monkeypatch.setattr(export, "write_tfjs", write_tfjs)
    labels = ["a", "b", "c"]
    result = TrainResult(labels, dict.fromkeys(labels, ""), None, {}, [], [], [], 3, 3, 0.0, "")
    options = TrainOptions(base_weights=base_weights)
    model = TrainedModel(build_head(1280, 3), base_weights, options, result, "1")
    reports = []
    export_model(model, tmp_path / "model", on_progress=reports.append)
    said = [p.message for p in reports]
    beats = [i for i, m in enumerate(said) if m.startswith("Writing the model files… ")]
    assert len(beats) >= 3 and said[beats[0]].endswith(" s")
    assert all(reports[i].phase is Phase.EXPORTING for i in beats)
    assert all(reports[i].fraction == pytest.approx(0.1) for i in beats)  # no made-up share
    assert max(beats) < said.index("Checking the files")  # none after the conversion
    assert said[-1].startswith("Saved to") and reports[-1].fraction == 1.0
    assert (tmp_path / "model" / "weights.bin").stat().st_size > 0


def test_a_fit_reports_after_its_last_pass_until_it_returns(monkeypatch) -> None:
    """TensorFlow can take many seconds after a head's last pass before ``fit`` returns
    (18 s in a validation round at 5,000 products): the callback beats from the end of
    the passes until ``settle`` (called when ``fit`` returns), never after."""
    from app.core.head import KerasProgress
    from app.core.progress import Reporter

    monkeypatch.setattr(heartbeat, "EVERY_S", 0.02)
    seen: list[tuple[str, float, str]] = []
    reporter = Reporter(lambda p: seen.append((p.phase, p.fraction, p.message)))
    cb = KerasProgress.make(reporter, 15, None, Phase.VALIDATING, "round 1 of 1: ")
    cb.on_train_end()
    time.sleep(0.2)
    cb.settle()
    n = len(seen)
    assert n >= 3
    assert all(
        ph == Phase.VALIDATING and m.startswith("round 1 of 1: finishing") for ph, _, m in seen
    )
    time.sleep(0.1)
    assert len(seen) == n
    cb.settle()  # twice is harmless (fit failed after the end, say)
