"""The exit codes of every command, and which one wins when channels end differently."""

from __future__ import annotations

from app.core import sync
from app.core.errors import ExitCode


def test_the_exit_codes_are_those_the_readme_names() -> None:
    assert [int(c) for c in ExitCode] == [0, 1, 3, 4, 130, 141]
    assert (sync.EXIT_OK, sync.EXIT_FAILED, sync.EXIT_WAITING, sync.EXIT_BUSY) == (0, 1, 3, 4)


def test_a_failure_outranks_busy_which_outranks_waiting_which_outranks_success() -> None:
    ok, failed, waiting, busy = ExitCode.OK, ExitCode.FAILED, ExitCode.WAITING, ExitCode.BUSY
    assert ExitCode.worst() == ok
    assert ExitCode.worst(ok, waiting) == waiting
    assert ExitCode.worst(waiting, busy, ok) == busy
    assert ExitCode.worst(busy, failed, waiting) == failed
    assert ExitCode.worst(failed, ok) == failed
    assert ExitCode.worst(ok, 2) == failed  # an unknown code counts as a failure
