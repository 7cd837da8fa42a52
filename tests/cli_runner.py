"""The real CLI as a subprocess, for tests: one runner, one timeout, one environment."""

from __future__ import annotations

import os
import subprocess
import sys


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 600,
    encoding: str | None = None,
) -> subprocess.CompletedProcess:
    """``python -m app ARGS`` with this test's app home (``DUKAHUB_TRAINER_HOME``) and no
    standard input, so a prompt can never hang a test. ``encoding``: how its output is
    decoded (default the locale's; give the one a ``PYTHONIOENCODING`` sets)."""
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        encoding=encoding,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
