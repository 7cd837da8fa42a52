"""The one reader of the time stamps models and the shop write, and the one "ago".

``trainedAt`` (our exports), ``timeStamp`` (Teachable Machine), a manifest's
``createdAt`` and Vendure's ``updatedAt`` are ISO 8601, usually in UTC with a ``Z``.
One without a zone is read as UTC too, everywhere: reading it as local time in one
place and UTC in another made a model's age differ by the time zone between screens.
"""

from __future__ import annotations

import datetime as dt


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
    this moment) ``t`` was; a ``t`` in the future reads ``just now``."""
    seconds = max(0.0, ((now or dt.datetime.now(dt.timezone.utc)) - t).total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"
