"""Photos from the till through the real command line, against the real Vendure:
``till-photos list|drop|stats`` and ``sync --till-photos accept`` (a shop that trusts
its cashiers), which trains on every frame waiting; a no-op sync after it is up to date
without TensorFlow. Bad input ends with one ``Error:`` line before any login.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests
from till_standins import add_cashier, sale_line, send_frames
from vendure_server.fixtures import FRUIT, GROCERY, SeededChannel, VendureServer, add_channel

if TYPE_CHECKING:
    from conftest import Cli

pytestmark = pytest.mark.slow

CODE = "till-cli"
VA = "20260301T080000000Z-cccccc"


def photos(name: str, n: int, skip: int = 0) -> list[Path]:
    return sorted((GROCERY / "train" / FRUIT[name]).glob("*.jpg"))[skip : skip + n]


@pytest.fixture(scope="module")
def shop(vendure: VendureServer) -> tuple[SeededChannel, dict[str, str], list[str], tuple]:
    """Two products of two photos; three frames from the till."""
    api, ch = add_channel(vendure, CODE)
    ids = {
        name: api.create_product(name, [a["id"] for a in api.upload_assets(photos(name, 2))])
        for name in ("Golden Delicious", "Banana")
    }
    g, b = ids["Golden Delicious"], ids["Banana"]
    cashier = add_cashier(vendure, [ch.id], CODE)
    frames = [
        (photos("Golden Delicious", 1, 8)[0], sale_line(g, [(g, 0.7), (b, 0.2)], VA)),
        (photos("Golden Delicious", 1, 9)[0], sale_line(g, [(b, 0.5), (g, 0.4)], VA)),
        (photos("Banana", 1, 8)[0], sale_line(b, [(b, 0.9)], VA)),
    ]
    sent = [r["id"] for r in send_frames(vendure, cashier, ch.token, frames)]
    return ch, ids, sent, cashier


def run(cli: Cli, vendure: VendureServer, *args: str, check_tf: bool = False, **kw):
    argv = [*args, "--server", vendure.url, "--channel", CODE, "--username", vendure.admin_user]
    env = {"DUKAHUB_TRAINER_PASSWORD": vendure.admin_password}
    return cli.run(*argv, env=env, report_tensorflow=check_tf, timeout=600, **kw)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("sync", "--till-photos", "maybe"), "argument --till-photos: invalid choice: 'maybe'"),
        (("till-photos", "accept"), "till-photos accept needs photo ids, --product ID or --all"),
        (("till-photos", "drop", "--all", "--product", "7"), "needs photo ids, --product ID or"),
        (("till-photos", "list", "--all"), "till-photos list takes no photo ids, --product"),
        (("till-photos", "accept", "../etc"), "“../etc” is not the id of a photo from the till"),
        (("till-photos", "stats", "--days", "0"), "must be a whole number from 1 to 3650"),
        (("till-photos", "stats", "--json"), "--json goes with till-photos list"),
    ],
)
def test_bad_input_is_one_error_line_before_any_login(
    cli: Cli, args: tuple[str, ...], says: str
) -> None:
    # an address nothing listens on: reaching the login would fail differently
    out = cli.run(*args, "--server", "http://127.0.0.1:9", "--channel", CODE)
    assert out.returncode == 1, out
    assert out.stderr.startswith("Error: ") and says in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and out.stdout == ""


def test_sync_accept_trains_on_every_frame_waiting_then_a_no_op_is_up_to_date(
    cli: Cli, vendure: VendureServer, shop: tuple, base_weights: Path
) -> None:
    ch, ids, sent, cashier = shop
    listed = run(cli, vendure, "till-photos", "list")
    assert listed.returncode == 0, listed.stderr
    assert f"{CODE}: 3 new photos from the till to review." in listed.stdout
    assert "Golden Delicious" in listed.stdout and "said Banana (50 %)" in listed.stdout
    assert all(i in listed.stdout for i in sent)
    as_json = json.loads(run(cli, vendure, "till-photos", "list", "--json").stdout)
    assert [p["id"] for p in as_json["photos"]] == sent and as_json["waiting"] == 3

    synced = run(
        cli, vendure, "sync", "--till-photos", "accept", "--base-weights", str(base_weights)
    )
    assert synced.returncode == 0, synced.stderr
    assert f"{CODE}: published:" in synced.stdout
    assert "Photos from the till: 3 in the training (3 accepted now)." in synced.stdout
    meta = requests.get(
        f"{vendure.url}/assets/ml-models/{ch.id}/latest/metadata.json", timeout=10
    ).json()
    assert meta["imageCount"] == 4 + 3  # the catalogue's photos and every frame

    # nothing changed: both modes up to date at once, without TensorFlow
    for mode in ("accept", "review"):
        t0 = time.monotonic()
        noop = run(cli, vendure, "sync", "--till-photos", mode, check_tf=True)
        took = time.monotonic() - t0
        assert noop.returncode == 0, noop.stderr
        assert "up to date" in noop.stdout and "TF-NOT-IMPORTED" in noop.stderr, noop
        assert "Photos from the till: 3 in the training." in noop.stdout
        print(f"no-op sync --till-photos {mode}: {took:.2f} s")
    assert (
        "No new photos from the till to review." in run(cli, vendure, "till-photos", "list").stdout
    )

    # a frame the owner drops is never listed again; the statistics keep counting it
    late = send_frames(
        vendure,
        cashier,
        ch.token,
        [(photos("Banana", 1, 10)[0], sale_line(ids["Banana"], [(ids["Banana"], 0.8)], VA))],
    )[0]["id"]
    assert late in run(cli, vendure, "till-photos", "list").stdout
    dropped = run(cli, vendure, "till-photos", "drop", late)
    assert dropped.returncode == 0 and "Dropped 1 photo from the till." in dropped.stdout
    assert late not in run(cli, vendure, "till-photos", "list").stdout
    stats = run(cli, vendure, "till-photos", "stats")
    assert stats.returncode == 0, stats.stderr
    assert stats.stdout.startswith("The served model has no sales from the till this week.")
    assert f"{VA}: 4 sales, top-1 right 3, top-3 right 4, corrected 1" in stats.stdout
