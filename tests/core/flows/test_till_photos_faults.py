"""Photos from the till when something goes wrong, against the real Vendure.

What an audit of the review found: a frame damaged on the server, a mistyped id, a drop
while another run takes frames in, Ctrl-C in the middle, and a model that said a product
with no frames waiting. Each test has a channel of its own, with frames sent by the
stand-in POS.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from till_standins import add_cashier, sale_line, send_frames
from vendure_server.fixtures import FRUIT, GROCERY, VendureServer, add_channel

from app.core.errors import Cancelled, InvalidOptions
from app.core.flows import till_photos as flow
from app.core.flows.login import ShopClient, log_in
from app.core.flows.open_source import shop_source
from app.core.flows.till_photos import (
    ALREADY_REVIEWED,
    DAMAGED,
    NOT_ON_SERVER,
    accept_till_photos,
    drop_till_photos,
    pending_till_photos,
)
from app.core.progress import Progress

pytestmark = pytest.mark.slow

VERSION = "20260101T080000000Z-aaaaaa"


def photo(name: str, i: int) -> Path:
    return sorted((GROCERY / "train" / FRUIT[name]).glob("*.jpg"))[i]


@dataclass
class Till:
    vendure: VendureServer
    code: str
    token: str
    cashier: tuple[str, str]
    ids: dict[str, str]  # product name -> id
    sent: list[str]  # feedback ids, oldest first

    def owner(self) -> ShopClient:
        client = log_in(
            self.vendure.url, self.vendure.admin_user, lambda: self.vendure.admin_password
        )
        client.select_channel(self.code)
        return client

    def frame_file(self, feedback_id: str, channel_id: str) -> Path:
        return (
            self.vendure.asset_dir.parent / "ml-feedback" / channel_id / "frames"
        ) / f"{feedback_id}.jpg"

    def send(self, frames: list[tuple[Path, dict]]) -> list[str]:
        ids = [r["id"] for r in send_frames(self.vendure, self.cashier, self.token, frames)]
        self.sent += ids
        return ids


def till(vendure: VendureServer, code: str, frames: int) -> tuple[Till, str]:
    """Golden Delicious, Banana and Kiwi (no photos); ``frames`` Banana frames the
    model took for Kiwi. Returns the till and the channel id."""
    api, ch = add_channel(vendure, code)
    ids = {name: api.create_product(name, []) for name in ("Golden Delicious", "Banana", "Kiwi")}
    t = Till(vendure, code, ch.token, add_cashier(vendure, [ch.id], code), ids, [])
    b, k = ids["Banana"], ids["Kiwi"]
    t.send(
        [(photo("Banana", i), sale_line(b, [(k, 0.6), (b, 0.3)], VERSION)) for i in range(frames)]
    )
    return t, ch.id


def test_a_frame_damaged_on_the_server_is_dropped_and_the_others_are_taken_in(
    vendure: VendureServer,
) -> None:
    """One damaged frame failed the whole `accept --all` and every `sync --till-photos
    accept` with "try again", which could never help."""
    t, channel_id = till(vendure, "till-damaged", 3)
    jpg = t.frame_file(t.sent[0], channel_id)
    data = bytearray(jpg.read_bytes())
    data[len(data) // 2] ^= 0xFF
    jpg.write_bytes(bytes(data))
    client = t.owner()
    done = accept_till_photos(client, pending_till_photos(client).photos)
    assert [i.id for i, _ in done.stored] == t.sent[1:]
    assert [(i.id, why) for i, why in done.dropped] == [(t.sent[0], DAMAGED)]
    assert pending_till_photos(client).count == 0


def test_a_frame_whose_image_is_gone_is_dropped_not_listed_for_ever(
    vendure: VendureServer,
) -> None:
    """Listed, but its image missing on the server: skipped on every accept and listed
    as waiting until the owner dropped it by hand."""
    t, channel_id = till(vendure, "till-gone", 2)
    t.frame_file(t.sent[1], channel_id).unlink()
    client = t.owner()
    done = accept_till_photos(client, pending_till_photos(client).photos)
    assert [i.id for i, _ in done.stored] == t.sent[:1]
    assert [(i.id, why) for i, why in done.dropped] == [(t.sent[1], NOT_ON_SERVER)]
    assert pending_till_photos(client).count == 0


def test_a_mistyped_id_is_refused_and_hides_no_later_frame(vendure: VendureServer) -> None:
    """`drop 2027…` (for 2026…) said "Dropped 1 photo" and moved the review past every
    frame sent until 2027: new frames were never listed."""
    t, _ = till(vendure, "till-typo", 1)
    client = t.owner()
    real = t.sent[0]
    typo = "2099" + real[4:]
    with pytest.raises(InvalidOptions, match=f"no photo from the till with the id {typo}"):
        drop_till_photos(client, [typo])
    assert drop_till_photos(client, [real]).dropped == (real,)
    # an id older than the newest frame the server lists is one it dropped: no error
    assert drop_till_photos(client, ["20200101T000000000Z-abcdef"]).dropped
    (new,) = t.send([(photo("Kiwi", 0), sale_line(t.ids["Kiwi"], [(t.ids["Kiwi"], 0.9)], VERSION))])
    assert [p.id for p in pending_till_photos(client).photos] == [new]


def test_a_drop_while_frames_are_taken_in_wins(vendure: VendureServer) -> None:
    """A frame dropped (for privacy, say) while another run took frames in was trained
    on all the same, though "Dropped 2 photos" had been said."""
    t, _ = till(vendure, "till-race", 3)
    client = t.owner()
    pending = pending_till_photos(client)
    first, _, third = pending.photos

    def other_run_drops(p: Progress) -> None:  # while frame 2 of 3 is taken in
        if p.message.startswith("Photo 2 of 3"):
            drop_till_photos(t.owner(), [first, third])

    done = accept_till_photos(client, pending.photos, on_progress=other_run_drops)
    assert [i.id for i, _ in done.stored] == [t.sent[1]]
    assert {(i.id, why) for i, why in done.skipped} >= {(first.id, ALREADY_REVIEWED)}
    store = shop_source(client).store()
    kept = [p.name for photos in store.added_images().values() for p in photos]
    assert len(kept) == 1 and t.sent[1] in kept[0]
    state = store.till.state()
    assert first.id not in state.accepted and third.id not in state.accepted


def test_ctrl_c_while_frames_are_taken_in_says_how_many_were(vendure: VendureServer) -> None:
    """Interrupted, the CLI said "nothing was changed" with 298 photos taken in."""
    t, _ = till(vendure, "till-stop", 3)
    client = t.owner()
    cancel = threading.Event()

    def stop_while_the_second_is_read(p: Progress) -> None:
        if p.message.startswith("Photo 2 of 3"):
            cancel.set()  # that photo is taken in; the next report stops

    pending = pending_till_photos(client)
    with pytest.raises(Cancelled, match=r"Stopped: 2 photos from the till taken in; 1 waits"):
        accept_till_photos(
            client, pending.photos, on_progress=stop_while_the_second_is_read, cancel=cancel
        )
    assert shop_source(client).store().till.state().accepted == set(t.sent[:2])
    assert [p.id for p in pending_till_photos(client).photos] == t.sent[2:]


def test_what_the_model_said_is_named_though_that_product_has_no_frames(
    vendure: VendureServer,
) -> None:
    """Banana frames the model took for Kiwi, and no Kiwi frame waits: the list said
    "said 7 (60 %)", the raw product id."""
    t, _ = till(vendure, "till-names", 1)
    pending = pending_till_photos(t.owner())
    assert pending.said(pending.photos[0]) == "Kiwi (60 %)"


def test_a_shop_lost_halfway_through_an_accept_says_what_was_taken_in(
    vendure: VendureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`accept --all` whose connection dropped at the second frame said only "Error:
    Cannot reach …", though the first frame was taken in (and the app's Products screen
    kept showing the product without it)."""
    from app.core.errors import ShopError

    t, _ = till(vendure, "till-halfway", 3)
    client = t.owner()
    real = flow.download_image
    calls: list[str] = []

    def download(client_, item):  # noqa: ANN001, ANN202
        calls.append(item.id)
        if len(calls) == 2:
            raise ShopError("Cannot reach the shop (connection reset).")
        return real(client_, item)

    monkeypatch.setattr(flow, "download_image", download)
    with pytest.raises(ShopError) as err:
        accept_till_photos(client, pending_till_photos(client).photos)
    assert str(err.value) == (
        "Cannot reach the shop (connection reset). Before that, 1 photo from the till taken "
        "in; 2 wait for review."
    )
    monkeypatch.setattr(flow, "download_image", real)
    assert [p.id for p in pending_till_photos(client).photos] == t.sent[1:]


def test_a_drop_of_frames_another_run_took_in_meanwhile_wins(vendure: VendureServer) -> None:
    """The review dialog open while a sync accepted everything: "Drop" said "Dropped 0
    photos … never offered again" and the frames stayed training photos."""
    t, _ = till(vendure, "till-drop-late", 2)
    client = t.owner()
    done = accept_till_photos(client, pending_till_photos(client).photos)
    assert len(done.stored) == 2
    store = shop_source(client).store()
    dropped = drop_till_photos(client, [t.sent[0]])
    assert dropped.dropped == (t.sent[0],)
    kept = [p.name for paths in store.added_images().values() for p in paths]
    assert len(kept) == 1 and t.sent[1] in kept[0]
    assert t.sent[0] in store.till.state().dropped
    assert t.sent[0] not in store.till.state().accepted
