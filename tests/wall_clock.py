"""A wall clock set wrong for one module of the app, as a shop laptop's can be.

``shift_clock(monkeypatch, module, delta)`` gives ``module`` a ``dt`` whose
``datetime.now()`` is ``delta`` off; monotonic time, file times the kernel sets and every
other module keep the real clock (patching ``datetime`` everywhere broke TensorFlow).
"""

from __future__ import annotations

import datetime as dt
import types
from typing import Any

import pytest


def shift_clock(monkeypatch: pytest.MonkeyPatch, module: Any, delta: dt.timedelta) -> None:
    """``module.dt.datetime.now()`` reads ``delta`` off the real time from now on."""

    class Shifted(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> Shifted:  # type: ignore[override]
            real = dt.datetime.now(tz) + delta
            return cls.combine(real.date(), real.timetz() if tz else real.time())

    fake = types.ModuleType("datetime")
    fake.__dict__.update({k: getattr(dt, k) for k in dir(dt) if not k.startswith("__")})
    fake.datetime = Shifted  # type: ignore[attr-defined]
    assert module.dt is dt or isinstance(module.dt, types.ModuleType)
    monkeypatch.setattr(module, "dt", fake)
