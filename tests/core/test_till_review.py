"""The review state of photos from the till (app.core.till_review) and the store's side:
the cursor never skips an undecided frame, decided ids are forgotten only once no list
can show them again, accepted frames are added photos named after where they came
from, and a scheduled ``sync --till-photos accept`` is no edit ``--debounce`` waits on.
No server here: tests/core/flows/test_till_photos.py runs the same against Vendure.
"""

from __future__ import annotations

import io
import json
import os

import numpy as np
import pytest
from PIL import Image

from app.core import sync, wording
from app.core.catalogue import Catalogue, ImageRef, Product
from app.core.store import ChannelStore
from app.core.till_review import (
    PHOTO_UNTICKED,
    PRODUCT_GONE,
    PRODUCT_LEFT_OUT,
    ReviewState,
    till_photo_id,
    till_photo_stem,
    till_photo_use,
)


def fid(n: int) -> str:
    return f"20261125T2253{n:05d}Z-a1b2c3"


def test_the_cursor_passes_only_decided_frames_and_forgets_what_no_list_can_show() -> None:
    s = ReviewState()
    listed = [fid(i) for i in range(1, 6)]
    s.accepted, s.dropped = {fid(1), fid(3)}, {fid(2), fid(5)}
    s.settle(listed)
    assert s.cursor == fid(3)  # fid(4) waits: nothing after it is passed
    assert s.accepted == set() and s.dropped == {fid(5)}
    assert [f for f in listed if not s.decided(f)] == [fid(4)]
    # decided frames deleted on the server are not listed again: the cursor still passes
    s.dropped |= {fid(4)}
    s.settle([fid(5), fid(7)])
    assert s.cursor == fid(5) and s.dropped == set()
    # a review newer than the list (another process's) is kept until a list covers it
    s.accepted = {fid(9)}
    s.settle([fid(7)])
    assert s.cursor == fid(5) and s.accepted == {fid(9)}
    s.dropped = {fid(7)}
    s.settle([fid(7)])
    assert s.cursor == fid(7) and s.accepted == {fid(9)}
    s.settle([])  # an empty list: only reviews recorded before it was asked for count
    assert s.cursor == fid(7) and s.accepted == {fid(9)}
    assert s.decided(fid(6)) and not s.decided(fid(8))
    s.settle([], decided_before={fid(9)})
    assert s.cursor == fid(9) and s.accepted == set()


def test_a_damaged_review_file_is_set_aside_and_the_review_starts_again(tmp_path) -> None:
    store = ChannelStore("https://shop.example", "kiosk")
    with store.till.updating() as state:
        state.cursor, state.dropped = fid(1), {fid(2)}
    again = ChannelStore("https://shop.example", "kiosk").till.state()  # after a restart
    assert (again.cursor, again.dropped) == (fid(1), {fid(2)})
    store.till.path.write_text(json.dumps({"format": 1, "cursor": "../../etc"}))
    assert store.till.state() == ReviewState()
    assert any(p.name.startswith("till-review.json.damaged-") for p in store.root.iterdir())


def jpeg(seed: int = 0) -> bytes:
    buf = io.BytesIO()
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


def test_an_accepted_frame_is_an_added_photo_named_after_where_it_came_from() -> None:
    store = ChannelStore("https://shop.example", "kiosk")
    body = jpeg()
    path = store.add_till_photo("p/1", body, "2026-01-01 08:00 v", fid(1), by_owner=True)
    assert path.name == f"till-2026-01-01_08_00_v-{fid(1)}.jpg"
    assert path.read_bytes() == body  # as the till sent it: not encoded again
    assert till_photo_id(path) == fid(1) and till_photo_id(path.with_name("till-x.jpg")) is None
    assert store.added_images() == {"p/1": [path]}
    # stored again after a run cut short before its review was recorded: one file
    assert store.add_till_photo("p/1", body, "2026-01-01 08:00 v", fid(1), by_owner=True) == path
    assert len(store.added_images()["p/1"]) == 1
    # a served version that is itself an id, and a long one, keep the frame's id whole
    assert till_photo_id(f"{till_photo_stem(fid(9), fid(2))}.jpg") == fid(2)
    assert till_photo_id(f"{till_photo_stem('v' * 300, fid(3))}.jpg") == fid(3)
    with pytest.raises(ValueError):
        till_photo_stem("v1", "../x")


def test_a_scheduled_accept_is_no_edit_that_debounce_waits_on() -> None:
    store = ChannelStore("https://shop.example", "kiosk")
    assert sync.newest_edit(store) is None
    store.add_till_photo("1", jpeg(1), "v1", fid(1), by_owner=False)
    assert sync.newest_edit(store) is None  # the shop's till, not its owner
    store.set_product_included("2", False)
    owner = sync.newest_edit(store)
    assert owner is not None
    os.utime(store.root / "edited.stamp", (1_000_000, 1_000_000))
    store.add_till_photo("1", jpeg(2), "v1", fid(2), by_owner=False)
    assert sync.newest_edit(store).timestamp() == 1_000_000
    store.add_till_photo("1", jpeg(3), "v1", fid(3), by_owner=True)  # the owner reviewed
    assert sync.newest_edit(store).timestamp() > 1_000_000


def test_a_store_from_before_the_stamp_keeps_its_time_when_the_till_adds() -> None:
    store = ChannelStore("https://shop.example", "old")
    (store.root / "added" / "1").mkdir(parents=True)
    os.utime(store.root / "added" / "1", (2_000_000, 2_000_000))
    os.utime(store.root / "added", (2_000_000, 2_000_000))
    assert sync.newest_edit(store).timestamp() == 2_000_000  # the folders' own times
    store.add_till_photo("2", jpeg(), "v1", fid(1), by_owner=False)
    assert sync.newest_edit(store).timestamp() == 2_000_000


def test_every_accepted_photo_not_trained_on_says_why(tmp_path) -> None:
    stem = till_photo_stem("v1", fid(1))
    photos = {n: tmp_path / f"{stem[:-1]}{n}.jpg" for n in range(1, 6)}
    catalogue = Catalogue(
        [
            Product("a", images=[ImageRef(photos[1]), ImageRef(photos[2], included=False)]),
            Product(
                "b", images=[ImageRef(photos[3]), ImageRef(tmp_path / "own.jpg")], included=False
            ),
            Product("c", images=[ImageRef(photos[4])]),
        ]
    )
    use = till_photo_use(
        catalogue, {"gone": [photos[5], tmp_path / "mine.jpg"]}, [(photos[4], "unreadable")]
    )
    assert use.used == 1
    assert dict((p.name, why) for p, why in use.left_out) == {
        photos[2].name: PHOTO_UNTICKED,
        photos[3].name: PRODUCT_LEFT_OUT,
        photos[4].name: "unreadable",
        photos[5].name: PRODUCT_GONE,
    }
    assert use.left_out_words().startswith("4 not used: ")


def test_the_words_for_the_till() -> None:
    assert (
        wording.till_accuracy_text(412, 480, wording.period_words(7))
        == "The served model was right on 412 of 480 sales this week, 86 %."
    )
    assert wording.till_accuracy_text(3, 4, "today") == (
        "The served model was right on 3 of 4 sales today: too few to judge yet."
    )
    assert wording.till_accuracy_text(0, 0, "this week", "version v1") == (
        "Version v1 has no sales from the till this week."
    )
    assert wording.period_words(30) == "in the last 30 days"
    assert wording.till_pending_text(37) == "37 new photos from the till to review."
    assert wording.till_pending_text(1) == "1 new photo from the till to review."
