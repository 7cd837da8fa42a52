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
