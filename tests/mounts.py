"""Mounts for fault tests (a read-only bind, a small tmpfs for a full disk): they need
root, as CI has; without it they skip locally and fail under ``CI=true``."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@contextmanager
def mounted(target: Path, *mount_args: str) -> Iterator[None]:
    """``mount … target`` for the block; skips locally (fails in CI) where not allowed."""
    target.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", *mount_args, str(target)], capture_output=True, text=True)
    if r.returncode != 0:
        msg = f"cannot mount ({' '.join(mount_args)}): {r.stderr.strip()} (needs root)"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    try:
        yield
    finally:
        subprocess.run(["umount", str(target)], capture_output=True)
        if os.path.ismount(target):
            subprocess.run(["umount", "-l", str(target)], capture_output=True)
