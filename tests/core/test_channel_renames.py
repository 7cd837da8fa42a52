"""A channel whose code an administrator changed keeps the owner's photos and model.

The owner's edits and the local model are kept under the channel's code; Vendure lets
an administrator change it while the channel's id stays. Before, the next opening under
the new code found an empty channel: the counter photos were no longer trained on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from vendure_server.fixtures import GROCERY, VendureServer, add_channel

from app.core import paths
from app.core.channel_renames import follow_rename
from app.core.flows.login import log_in
from app.core.flows.open_source import shop_source
from app.core.locks import exclusive_lock
from app.core.sources import ShopSource, sync_file
from app.core.wording import renamed_channel

if TYPE_CHECKING:
    from conftest import Cli

SERVER = "https://shop.example"


def photo(n: int = 0) -> Path:
    return sorted((GROCERY / "train" / "Fruit" / "Apple" / "Golden-Delicious").glob("*.jpg"))[n]


def opened(code: str, channel_id: str = "7", server: str = SERVER) -> ShopSource:
    return follow_rename(ShopSource.at(server, code, channel_id))


def keep_something(source: ShopSource) -> None:
    """A photo added, a product unticked and a model trained, under ``source``'s code."""
    store = source.store()
    store.add_files("11", [photo()])
    store.set_product_included("12", False)
    source.model_dir().mkdir(parents=True)
    (source.model_dir() / "metadata.json").write_text(json.dumps({"channelId": "7"}))


def test_a_renamed_channel_keeps_its_photos_ticks_and_model(isolated_home: Path) -> None:
    keep_something(opened("duka"))

    now = opened("duka-kahawa")

    assert now.renamed_from == "duka"
    store = now.store()
    assert [p.name for p in store.added_images()["11"]] == [photo().name]
    assert store.excluded_products == {"12"}
    assert (now.model_dir() / "metadata.json").is_file()
    assert not paths.channel_path(SERVER, "duka").exists()
    assert "“duka-kahawa” was called “duka” before" in renamed_channel("duka", "duka-kahawa")
    assert opened("duka-kahawa").renamed_from == ""  # said once; nothing left to move


def test_a_damaged_record_of_codes_is_set_aside_not_overwritten(isolated_home: Path) -> None:
    """``codes.json`` is what a later rename is followed by: a damaged one was written
    over with only the channel opened now (a data-loss audit); now it is kept beside, as
    every app file is, and said."""
    opened("duka")
    record = paths.data_dir() / "channels" / "codes.json"
    record.write_text('{"https://shop.example|7": "duka", "https://shop.example|8": "du')
    opened("duka")
    aside = [p for p in record.parent.iterdir() if p.name.startswith("codes.json.damaged-")]
    assert len(aside) == 1 and aside[0].read_text().endswith('"du'), aside
    assert json.loads(record.read_text()) == {"https://shop.example|7": "duka"}


def test_what_the_new_code_already_holds_is_never_overwritten(isolated_home: Path) -> None:
    ShopSource.at(SERVER, "new", "").store().add_files("21", [photo(1)])  # before ids were kept
    keep_something(opened("old"))

    now = opened("new")

    assert now.renamed_from == ""
    assert list(now.store().added_images()) == ["21"]
    assert list(ShopSource.at(SERVER, "old", "7").store().added_images()) == ["11"]
    assert opened("new").renamed_from == ""  # the new code is the channel's from now on


def test_a_running_sync_of_the_earlier_code_keeps_its_folders_until_it_ends(
    isolated_home: Path,
) -> None:
    old = opened("old")
    keep_something(old)

    with exclusive_lock(sync_file(old, ".lock")):
        assert opened("new").renamed_from == ""
        assert list(old.store().added_images()) == ["11"]

    assert opened("new").renamed_from == "old"


def test_the_same_channel_id_on_another_server_is_another_channel(isolated_home: Path) -> None:
    keep_something(opened("duka"))

    elsewhere = opened("duka-2", server="https://other.example")

    assert elsewhere.renamed_from == ""
    assert elsewhere.store().added_images() == {}
    assert list(opened("duka").store().added_images()) == ["11"]


@pytest.mark.slow
def test_a_code_changed_on_a_real_vendure_keeps_the_owners_photos(
    vendure: VendureServer, cli: Cli, isolated_home: Path
) -> None:
    api, ch = add_channel(vendure, "renamed-before")
    client = log_in(vendure.url, vendure.admin_user, lambda: vendure.admin_password)
    client.select_channel(ch.code)
    shop_source(client).store().add_files("11", [photo()])

    api.channel_token = ""
    res = api.gql(
        "mutation($i:UpdateChannelInput!){updateChannel(input:$i){__typename}}",
        {"i": {"id": ch.id, "code": "renamed-after"}},
    )["updateChannel"]
    assert res["__typename"] == "Channel", res
    vendure.channels["renamed-after"] = vendure.channels.pop(ch.code)
    argv = ["--server", vendure.url, "--username", vendure.admin_user]
    env = {"DUKAHUB_TRAINER_PASSWORD": vendure.admin_password}

    said = cli.run("sync", *argv, "--channel", "renamed-after", env=env)

    assert said.returncode == 0, said.stderr
    assert said.stdout.startswith("renamed-after: nothing to train: "), said.stdout
    assert "“renamed-after” was called “renamed-before” before" in said.stdout
    client = log_in(vendure.url, vendure.admin_user, lambda: vendure.admin_password)
    client.select_channel("renamed-after")
    now = shop_source(client)
    assert (now.channel_code, now.channel_id, now.renamed_from) == ("renamed-after", ch.id, "")
    assert list(now.store().added_images()) == ["11"]
    again = cli.run("status", *argv, "--channel", "renamed-after", env=env)
    assert again.returncode == 0, again.stderr
    assert "was called" not in again.stdout  # said once

    api.gql(  # changed again; the owner's first command after it is till-photos
        "mutation($i:UpdateChannelInput!){updateChannel(input:$i){__typename}}",
        {"i": {"id": ch.id, "code": "renamed-third"}},
    )
    vendure.channels["renamed-third"] = vendure.channels.pop("renamed-after")
    listed = cli.run("till-photos", "list", *argv, "--channel", "renamed-third", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    note = "note: Channel “renamed-third” was called “renamed-after” before: the photos"
    assert note in listed.stderr, listed.stderr  # it moved them without a word
    assert isinstance(json.loads(listed.stdout), dict)
