"""The one progress printer: stderr, a line per step when piped, the time left when the
task knows it (a training), never on a finished step."""

from __future__ import annotations

import io

from app.cli import StderrProgress
from app.core.progress import Progress


def test_piped_progress_is_one_line_per_step_and_tenth() -> None:
    out = io.StringIO()
    show = StderrProgress(out)
    for f in (0.0, 0.01, 0.05, 0.12, 0.13):
        show(Progress("downloading", f, "Product photos"))
    show(Progress("features", 0.13, "photo variations"))
    assert out.getvalue().splitlines() == [
        "[  0%] downloading: Product photos",
        "[ 12%] downloading: Product photos",
        "[ 13%] features: photo variations",
    ]


def test_the_time_left_is_shown_while_training_and_not_when_done() -> None:
    out = io.StringIO()
    show = StderrProgress(out)
    show(Progress("features", 0.35, "64 of 150 photo variations", eta_s=10.4))
    show(Progress("training", 0.9, "pass 3 of 30", eta_s=0.6))  # under a second: not said
    show(Progress("exporting", 1.0, "Saved", eta_s=5.0))  # finished: whatever the plan said
    assert out.getvalue().splitlines() == [
        "[ 35%] features: 64 of 150 photo variations · about 10s left",
        "[ 90%] training: pass 3 of 30",
        "[100%] exporting: Saved",
    ]
    show.done()  # not a terminal: nothing to clear
    assert out.getvalue().count("\n") == 3
