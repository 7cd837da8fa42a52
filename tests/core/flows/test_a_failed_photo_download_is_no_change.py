"""A photo that could not be downloaded is not "a change" at the next status or sync.

A model records what it was trained on (``catalogFingerprint``); ``status`` and ``sync``
compare that with the product list, which names every photo. ``sync`` used to record
the listed photos and ``train --server`` (and the Train screen) only the downloaded
ones, so after one failed download the next ``status`` said "1 changed photo" about a
model trained on the catalogue as it is. The train task records the listed photos for
every caller now; here one photo's file is gone from the real Vendure's assets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from vendure_server.fixtures import FRUIT, GROCERY, VendureServer, add_channel

from app.core import fingerprint
from app.core.flows.login import log_in
from app.core.flows.open_source import open_source, shop_source

if TYPE_CHECKING:
    from conftest import Cli

pytestmark = pytest.mark.slow
CODE = "one-photo-gone"


@pytest.fixture(scope="module")
def channel(vendure: VendureServer, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two products of three photos; one of Banana's files is gone from the server."""
    api, ch = add_channel(vendure, CODE)
    ids, gone = {}, None
    for name in ("Golden Delicious", "Banana"):
        photos = sorted((GROCERY / "train" / FRUIT[name]).glob("*.jpg"))[:3]
        assets = api.upload_assets(photos)
        ids[name] = api.create_product(name, [a["id"] for a in assets])
        if name == "Banana":
            gone = assets[-1]
    assert gone is not None
    ids["Banana bunch"] = api.create_product("Banana bunch", [gone["id"]])  # shares it
    manual = tmp_path_factory.mktemp("manual") / "manual.pdf"
    manual.write_bytes(b"%PDF-1.4\n%%EOF\n")
    pdf = api.upload_assets([manual], mime="application/pdf")
    ids["Kiwi manual"] = api.create_product("Kiwi manual", [pdf[0]["id"]])  # no photo at all
    served = urlsplit(gone["source"]).path.removeprefix("/assets/")  # the asset route
    (vendure.asset_dir / served).unlink()
    return {"ids": ids, "gone": gone, "channel": ch}


def test_opening_the_channel_lists_the_photo_it_could_not_download(
    vendure: VendureServer, channel: dict
) -> None:
    client = log_in(vendure.url, vendure.admin_user, lambda: vendure.admin_password)
    client.select_channel(CODE)
    opened = open_source(shop_source(client), client=client)
    client.close()
    banana, bunch = channel["ids"]["Banana"], channel["ids"]["Banana bunch"]
    # named for each product that shows it (it was only the first one)
    failed = [f for f in opened.failed if "HTTP 404" in f.reason]
    assert sorted(f.product_id for f in failed) == sorted([banana, bunch])
    assert {str(f).split(":")[0] for f in failed} == {"Banana", "Banana bunch"}
    downloaded = fingerprint.of_catalogue(opened.catalogue)
    recorded = fingerprint.of_catalogue(opened.trained_on)
    assert len(downloaded[banana]) == 2 and len(recorded[banana]) == 3
    assert f"asset:{channel['gone']['id']}:" in " ".join(recorded[banana])


def test_sync_says_which_products_it_could_not_train(
    cli: Cli, vendure: VendureServer, channel: dict, base_weights: Path
) -> None:
    """An unattended sync said "(2 products)" for a 4-product channel, the why only in
    its log."""
    conn = ["--server", vendure.url, "--channel", CODE, "--username", vendure.admin_user]
    env = {"DUKAHUB_TRAINER_PASSWORD": vendure.admin_password}
    r = cli.run("sync", *conn, "--base-weights", str(base_weights), env=env)
    assert r.returncode == 0, r.stderr
    assert "published version" in r.stdout and "(2 products)" in r.stdout
    assert "; not trained: Banana bunch (none of its 1 photo(s) could be downloaded" in r.stdout
    assert "Kiwi manual (none of its 1 photo(s) could be downloaded from the shop " in r.stdout


def test_after_a_failed_download_status_says_up_to_date(
    cli: Cli, vendure: VendureServer, channel: dict, base_weights: Path
) -> None:
    conn = ["--server", vendure.url, "--channel", CODE, "--username", vendure.admin_user]
    env = {"DUKAHUB_TRAINER_PASSWORD": vendure.admin_password}
    fast = ["--epochs", "2", "--no-validate", "--base-weights", str(base_weights)]
    trained = cli.run("train", *conn, *fast, "--json", env=env)
    assert trained.returncode == 0, trained.stderr
    assert "note: photo not downloaded: Banana: " in trained.stderr
    summary = json.loads(trained.stdout)
    gone = [s for s in summary["skipped"] if s["reason"].startswith("not downloaded: HTTP 404")]
    ids = channel["ids"]
    assert sorted(s["product"] for s in gone) == sorted([ids["Banana"], ids["Banana bunch"]])
    why = {n["product"]: n["reason"] for n in summary["notTrained"]}
    assert why[ids["Banana bunch"]].startswith(
        "none of its 1 photo(s) could be downloaded from the shop (HTTP 404"
    )
    assert why[ids["Kiwi manual"]] == (
        "none of its 1 photo(s) could be downloaded from the shop (application/pdf, not a photo)"
    )  # it was "it has no photos", and the PDF was never mentioned
    out = Path(summary["out"])
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["imageCount"] == 5  # trained on what could be downloaded
    recorded = fingerprint.from_metadata(meta)
    assert recorded is not None and len(recorded[channel["ids"]["Banana"]]) == 3  # listed

    published = cli.run("publish", str(out), *conn, env=env)
    assert published.returncode == 0, published.stderr
    status = cli.run("status", *conn, env=env)
    assert status.returncode == 0, status.stderr
    assert "The model your shop serves (trained just now) is up to date." in status.stdout
    assert "The model on this computer (trained just now) is up to date." in status.stdout
    assert "changed photo" not in status.stdout
