"""The one reader of the time stamps models and the shop write, and the one "ago".

``trainedAt`` (our exports), ``timeStamp`` (Teachable Machine), a manifest's
``createdAt`` and Vendure's ``updatedAt`` are ISO 8601, usually in UTC with a ``Z``.
One without a zone is read as UTC too, everywhere: reading it as local time in one
place and UTC in another made a model's age differ by the time zone between screens.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable


def parse_utc(stamp: object) -> dt.datetime | None:
    """An aware datetime (UTC when the stamp names no zone), or None for anything else."""
    if not isinstance(stamp, str):
        return None
    try:
        t = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def age_words(t: dt.datetime, now: dt.datetime | None = None) -> str:
    """``2 days ago``, ``1 hour ago``, ``just now``: how long before ``now`` (default:
    this moment) ``t`` was. A ``t`` more than two minutes after ``now`` is said as such
    (``3 days after this computer's clock — is it right?``): "just now" hid a clock that
    was days wrong, which ``sync --debounce`` and the versions' order depend on."""
    seconds = ((now or dt.datetime.now(dt.timezone.utc)) - t).total_seconds()
    if seconds < -120:
        return f"{_span(-seconds)} after this computer's clock — is it right?"
    return "just now" if seconds < 60 else f"{_span(seconds)} ago"


def _span(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return "under a minute"


def stamp_after(names: Iterable[str], digits: int, at: dt.datetime | None = None) -> str:
    """UTC now as ``20261125T225342`` + ``digits`` of the second + ``Z``, and later than
    the stamp each of ``names`` begins with (names that begin with none are passed over).

    Folder versions and the local model history are named so and ordered — and pruned —
    by name. A clock set back (a flat CMOS battery, a clock a day ahead put right) named
    a new entry older than the last ones, and the next prune deleted the newest model
    while ten stale ones stayed. An entry named after the newest is a unit after it.
    """
    unit_us = 10 ** (6 - digits)
    t = (at or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    t -= dt.timedelta(microseconds=t.microsecond % unit_us)
    stamps = [s for s in (_stamp_of(n, digits) for n in names) if s is not None]
    if stamps and t <= max(stamps):
        t = max(stamps) + dt.timedelta(microseconds=unit_us)
    return t.strftime("%Y%m%dT%H%M%S") + f"{t.microsecond:06d}"[:digits] + "Z"


def _stamp_of(name: str, digits: int) -> dt.datetime | None:
    head, frac = name[:15], name[15 : 15 + digits]
    if name[15 + digits : 16 + digits] != "Z" or not frac.isdigit():
        return None
    try:
        t = dt.datetime.strptime(head, "%Y%m%dT%H%M%S").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return None
    return t + dt.timedelta(microseconds=int(frac) * 10 ** (6 - digits))
