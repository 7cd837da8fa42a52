"""How the served model does at the till: production accuracy per served version.

Every frame the POS sends carries the model's top three and the served version; the
plugin counts, per version and UTC day, how often the top-1 was the cashier's choice
(:func:`app.core.shop.feedback.feedback_stats`). Here that becomes the owner's words:
"The served model was right on 412 of 480 sales this week, 86 %." The frames
themselves are :mod:`app.core.flows.till_photos`'.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import InvalidOptions
from ..shop.feedback import VersionStats, feedback_stats
from ..wording import period_words, till_accuracy_text

if TYPE_CHECKING:
    from ..shop import ShopClient

__all__ = ["TillAccuracy", "VersionAccuracy", "VersionStats", "till_accuracy"]


@dataclass(frozen=True)
class VersionAccuracy:
    """How one served version did at the till."""

    stats: VersionStats
    served: bool  # the version the tills load now
    text: str  # "The served model was right on 412 of 480 sales this week, 86 %."


@dataclass(frozen=True)
class TillAccuracy:
    """Production accuracy per served version, from the cashiers' choices."""

    period: str  # "this week"
    since: dt.datetime | None  # the first UTC day counted (None: all)
    versions: tuple[VersionAccuracy, ...]  # the version seen most recently first
    served_version: str | None

    @property
    def headline(self) -> str:
        served = next((v for v in self.versions if v.served), None)
        if served is not None:
            return served.text
        return till_accuracy_text(0, 0, self.period)


def till_accuracy(
    client: ShopClient,
    *,
    days: int | None = 7,
    served_version: str | None = None,
    now: dt.datetime | None = None,
) -> TillAccuracy:
    """Per served version, how often the model's top-1 was the cashier's choice over the
    last ``days`` whole days of this computer's calendar, today included (None: all the
    plugin counted): by UTC days, "today" in Los Angeles began at 16:00 the day before
    and left out the afternoon's sales. ``served_version``: the version the tills load
    now (None: asked of the shop)."""
    if days is not None and days < 1:
        raise InvalidOptions(f"The days to count must be at least 1, not {days}.")
    now = now or dt.datetime.now(dt.timezone.utc)
    since = None
    if days is not None:  # local midnight, with the offset of that day (summer time)
        first_day = now.astimezone().date() - dt.timedelta(days=days - 1)
        since = dt.datetime.combine(first_day, dt.time()).astimezone()
    if served_version is None:
        from .publish import ShopTarget

        current = ShopTarget(client).status().current
        served_version = current.version if current is not None else None
    period = period_words(days)
    versions = tuple(
        VersionAccuracy(
            s,
            s.model_version == served_version,
            till_accuracy_text(
                s.top1_right,
                s.photos,
                period,
                "the served model"
                if s.model_version == served_version
                else f"version {s.model_version}",
            ),
        )
        for s in feedback_stats(client, since)
    )
    return TillAccuracy(period, since, versions, served_version)
