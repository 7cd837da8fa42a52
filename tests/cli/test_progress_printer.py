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


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_narrow_terminal_the_line_fits_its_width(monkeypatch) -> None:
    """A CLI audit: lines were cut at 120 letters whatever the width, so on a 20-column
    terminal each wrapped and only its last row was erased (8 stale pieces stayed)."""
    monkeypatch.setenv("COLUMNS", "20")
    monkeypatch.delenv("TERM", raising=False)
    out = Terminal()
    StderrProgress(out)(Progress("features", 0.35, "64 of 150 photo variations"))
    assert out.getvalue() == "\r\x1b[2K[ 35%] features: 64"  # 19 letters: no wrap


def test_a_dumb_terminal_gets_no_escape_codes(monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("TERM", "dumb")
    out = Terminal()
    show = StderrProgress(out)
    show(Progress("features", 0.35, "64 of 150 photo variations"))
    show._last_t = 0.0  # as if a moment had passed
    show(Progress("training", 0.9, "pass 3"))
    show.done()
    assert "\x1b" not in out.getvalue()
    first, second, cleared = out.getvalue().split("\r")[1:4]
    assert second.startswith("[ 90%] training: pass 3") and len(second) == len(first)
    assert cleared.strip() == ""


def test_windows_consoles_get_no_escape_codes() -> None:
    """Windows' console shows escape codes as "←[2K" unless a program switches them on
    (a portability audit): there the line is overwritten with spaces, as for TERM=dumb."""
    from app.cli.progress import no_escape_codes

    assert no_escape_codes({}, "nt") and no_escape_codes({"TERM": "xterm-256color"}, "nt")
    assert no_escape_codes({"TERM": "dumb"}, "posix")
    assert not no_escape_codes({"TERM": "xterm-256color"}, "posix") and not no_escape_codes(
        {}, "posix"
    )
