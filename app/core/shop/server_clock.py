"""How far the server's clock is from this computer's, from the ``Date`` of its answers.

The server stamps its changes (``updatedAt``) on its own clock; ``sync --debounce``
measures their age on this computer's. With the laptop's clock 3 hours behind, a change
made 2 minutes before read as one 3 hours ahead and ``--debounce 30`` waited 3.5 hours;
with it an hour ahead, a burst of edits was never waited for.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils

import requests

SAME_CLOCK_S = 5.0


class ServerClock:
    """The last answer's ``Date`` against this computer's clock (second resolution:
    nothing here needs finer)."""

    def __init__(self) -> None:
        self._gap_s: float | None = None  # the server's clock minus ours; None: not said

    def note(self, resp: requests.Response) -> None:
        """Only an Admin API answer (a POST) says the server's time: a photo or
        ``metadata.json`` may come from a cache, whose ``Date`` is when it was stored."""
        if resp.request is None or resp.request.method != "POST":
            return
        with contextlib.suppress(TypeError, ValueError, IndexError, OverflowError):
            sent = email.utils.parsedate_to_datetime(resp.headers.get("Date", ""))
            if sent.tzinfo is not None:
                gap = (sent - dt.datetime.now(dt.timezone.utc)).total_seconds()
                # whole seconds and the answer's way here: a few seconds apart is the same
                self._gap_s = gap if abs(gap) > SAME_CLOCK_S else 0.0

    def on_our_clock(self, t: dt.datetime) -> dt.datetime:
        """A time the server stamped, on this computer's clock; as it is until an answer
        has said the server's time."""
        gap = self._gap_s
        return t if gap is None else t - dt.timedelta(seconds=gap)
