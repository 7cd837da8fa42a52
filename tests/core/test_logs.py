"""The log file's times say their offset from UTC (a time zone audit)."""

from __future__ import annotations

import logging
import time

import pytest

from app.core import logs


def test_log_times_carry_their_offset_so_the_hour_the_clocks_go_back_reads_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # local times without an offset ran 01:45, 01:00, 01:15 across the end of summer time
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    try:
        logs.setup_logging()
        handler = next(h for h in logging.getLogger().handlers if getattr(h, "_dukahub", False))
        stamps = []
        for at in (1793522700, 1793523600, 1793524500):  # 08:45, 09:00, 09:15 UTC, 1 Nov 2026
            record = logging.LogRecord("x", logging.INFO, "p", 1, "m", None, None)
            record.created = at
            stamps.append(handler.format(record).split(" INFO ")[0])
    finally:
        monkeypatch.undo()
        time.tzset()
    assert stamps == [
        "2026-11-01 01:45:00.000-07:00",
        "2026-11-01 01:00:00.000-08:00",
        "2026-11-01 01:15:00.000-08:00",
    ]


def test_a_log_another_process_holds_open_keeps_every_record(tmp_path, monkeypatch) -> None:
    """On Windows an open file cannot be renamed: with the app and a scheduled sync both
    holding the log, each record past its size tried to rotate, failed and was dropped
    (a portability audit: 23 of 60 kept). Every record now reaches the file."""
    import os

    from app.core.logs import _QuietFileHandler

    target = tmp_path / "trainer.log"
    real = os.rename

    def shared(src, dst):  # noqa: ANN001, ANN202
        if os.fspath(src) == os.fspath(target):
            raise PermissionError(13, "The process cannot access the file", os.fspath(src))
        return real(src, dst)

    monkeypatch.setattr(os, "rename", shared)
    handler = _QuietFileHandler(target, maxBytes=1_000, backupCount=3, encoding="utf-8")
    log = logging.getLogger("test.shared_log")
    log.addHandler(handler)
    log.propagate = False
    try:
        for i in range(60):
            log.warning("record %02d %s", i, "x" * 60)
    finally:
        log.removeHandler(handler)
        handler.close()
    text = "".join(p.read_text() for p in tmp_path.glob("trainer.log*"))
    assert [f"record {i:02d}" in text for i in range(60)] == [True] * 60
    monkeypatch.setattr(os, "rename", real)  # shared no more: it rotates again
    handler = _QuietFileHandler(target, maxBytes=1_000, backupCount=3, encoding="utf-8")
    log.addHandler(handler)
    try:
        log.warning("after %s", "y" * 60)
    finally:
        log.removeHandler(handler)
        handler.close()
    assert (tmp_path / "trainer.log.1").is_file()
