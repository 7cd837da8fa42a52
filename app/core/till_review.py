"""Photos from the till, reviewed: which frames the owner took in or dropped, per shop.

The plugin keeps the till's frames in a buffer on the server (its quota drops the
oldest; :mod:`app.core.shop.feedback` reads them). What the owner decided is kept here,
beside the photos it describes, in ``<channel dir>/till-review.json``::

    {"format": 1, "cursor": "<feedback id>" | null,
     "accepted": [id…], "dropped": [id…], "undeleted": [id…]}

* ``cursor``: every frame up to it was decided (or is gone from the server), so the app
  only ever asks for frames after it — a dropped frame is never offered again;
* ``accepted`` / ``dropped``: frames decided after the cursor (the owner may take a
  later frame before an earlier one); once the cursor passes them they are forgotten;
* ``undeleted``: decided frames the server still keeps because deleting them failed;
  the next review deletes them.

An accepted frame is an added photo of its product (:meth:`ChannelStore.add_till_photo`):
``added/<product>/till-<served version>-<feedback id>.jpg`` — where it came from and,
in the id, when the till sent it. Every later training, ``status`` and ``sync`` use it
like any photo the owner added (the catalogue fingerprint hashes it).
Feedback ids sort by age and only grow per channel (the plugin's promise), which is
what makes one cursor enough.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import paths
from .catalogue import Catalogue
from .readers import expect, is_str_list, load_app_file

TILL = "till"  # the origin at the start of an accepted frame's file name
REVIEW_FILE = "till-review.json"
FORMAT = 1
FEEDBACK_ID = re.compile(r"\d{8}T\d{9}Z-[0-9a-f]{6}")  # the plugin's ids
_STEM = re.compile(rf"{TILL}-(.*)-({FEEDBACK_ID.pattern})")
_VERSION_CHARS = 40  # of the served version in a file name (the id is kept whole)
LOCK_WAIT_S = 30.0  # another process recording its review: a few file writes

# why an accepted photo from the till is not trained on
PRODUCT_LEFT_OUT = "its product is left out of training"
PHOTO_UNTICKED = "the photo is unticked"
PRODUCT_GONE = "its product is no longer in the shop"


def till_photo_stem(model_version: str, feedback_id: str) -> str:
    """``till-<served version>-<feedback id>``, safe as a file name on every system."""
    if not FEEDBACK_ID.fullmatch(feedback_id):
        raise ValueError(f"not a feedback id: {feedback_id!r}")
    version = "".join(c if c.isalnum() or c in "-_" else "_" for c in model_version)
    return f"{TILL}-{version[:_VERSION_CHARS] or '_'}-{feedback_id}"


def till_photo_id(path: Path | str) -> str | None:
    """The feedback id of a photo accepted from the till (None: any other photo)."""
    m = _STEM.fullmatch(Path(path).stem)
    return m.group(2) if m else None


@dataclass
class ReviewState:
    cursor: str | None = None
    accepted: set[str] = field(default_factory=set)
    dropped: set[str] = field(default_factory=set)
    undeleted: set[str] = field(default_factory=set)

    def decided(self, feedback_id: str) -> bool:
        if self.cursor is not None and feedback_id <= self.cursor:
            return True
        return feedback_id in self.accepted or feedback_id in self.dropped

    def settle(self, listed: Sequence[str], decided_before: Collection[str] = ()) -> None:
        """Moves the cursor as far as it may go, given ``listed``: every id the server
        kept after the cursor when it was asked, oldest first, and ``decided_before``:
        the ids decided before it was asked.

        Ids only grow, so a frame older than one listed, or than one decided before the
        list was asked for, existed when the list was made: it is in the list or gone
        for good. The cursor may therefore pass every decided id before the first
        undecided one listed — or, when all are decided, every listed id and every id
        decided before — and the ids it passes are forgotten. A review recorded while
        the list was read (another process's) stays until a later list covers it.
        """
        decided = self.accepted | self.dropped
        undecided = [f for f in listed if f not in decided]
        if undecided:
            passable = [f for f in (*decided, *listed) if f < undecided[0]]
        else:
            last = listed[-1] if listed else ""
            passable = [*listed, *(f for f in decided if f <= last or f in decided_before)]
        self.cursor = max([*passable, *([self.cursor] if self.cursor else [])], default=None)
        if self.cursor is not None:
            cursor = self.cursor
            self.accepted = {f for f in self.accepted if f > cursor}
            self.dropped = {f for f in self.dropped if f > cursor}

    def as_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "cursor": self.cursor,
            "accepted": sorted(self.accepted),
            "dropped": sorted(self.dropped),
            "undeleted": sorted(self.undeleted),
        }


def _shape(raw: Any) -> ReviewState:
    expect(isinstance(raw, dict) and raw.get("format") == FORMAT, "not a review of format 1")
    cursor = raw.get("cursor")
    expect(cursor is None or bool(FEEDBACK_ID.fullmatch(str(cursor))), "the cursor is no id")
    lists = {}
    for key in ("accepted", "dropped", "undeleted"):
        ids = raw.get(key, [])
        expect(is_str_list(ids) and all(FEEDBACK_ID.fullmatch(i) for i in ids), f"bad “{key}”")
        lists[key] = set(ids)
    return ReviewState(cursor, **lists)


class TillReview:
    """The review state of one shop channel's photos from the till, on disk."""

    def __init__(self, root: Path) -> None:
        self.path = Path(root) / REVIEW_FILE

    def state(self) -> ReviewState:
        return load_app_file(
            self.path,
            what="the photos from the till you accepted or dropped",
            check=_shape,
            default=ReviewState,
        )

    @contextmanager
    def updating(self) -> Iterator[ReviewState]:
        """The state to change in the block, saved at its end, under a lock: the app and
        a scheduled ``sync`` may record their reviews at the same time."""
        from .locks import exclusive_lock

        with exclusive_lock(self.path.with_suffix(".lock"), wait_s=LOCK_WAIT_S):
            state = self.state()
            before = state.as_json()
            yield state
            if state.as_json() != before:  # a no-op sync writes nothing
                paths.atomic_write_bytes(self.path, json.dumps(state.as_json(), indent=1).encode())


@dataclass(frozen=True)
class TillUse:
    """The photos from the till a training is given, and each accepted one it is not."""

    used: int
    left_out: tuple[tuple[Path, str], ...] = ()  # (photo, why)

    def left_out_words(self) -> str:
        """ "2 not used: its product is left out of training (1), the photo is unticked
        (1)" or ""."""
        if not self.left_out:
            return ""
        counts = Counter(why for _, why in self.left_out)
        return f"{len(self.left_out)} not used: " + ", ".join(
            f"{why} ({n})" for why, n in counts.most_common()
        )


def till_photo_use(
    catalogue: Catalogue,
    added: Mapping[str, Sequence[Path]],
    skipped: Iterable[tuple[Path, str]] = (),
) -> TillUse:
    """``catalogue``: with the owner's edits (:meth:`ChannelStore.apply`); ``added``:
    the store's added photos per product; ``skipped``: photos the photo check left out
    (path, why), e.g. unreadable or the same as another."""
    why_skipped = {str(p): why for p, why in skipped}
    used, left_out = 0, []
    in_shop = set()
    for product in catalogue.products:
        in_shop.add(product.id)
        for image in product.images:
            if till_photo_id(image.path) is None:
                continue
            why = (
                PRODUCT_LEFT_OUT
                if not product.included
                else PHOTO_UNTICKED
                if not image.included
                else why_skipped.get(str(image.path))
            )
            if why is None:
                used += 1
            else:
                left_out.append((image.path, why))
    for pid, photos in added.items():
        if pid not in in_shop:
            left_out += [(p, PRODUCT_GONE) for p in photos if till_photo_id(p) is not None]
    return TillUse(used, tuple(left_out))
