"""A shop catalogue with odd data, through the real CLI against a real Vendure.

Found by an audit: a product name holding a newline printed as a second ``Error:``
line (and a terminal's colour codes or a direction override went out as they are); a
name of spaces printed as nothing; ``sync`` trained a product on a photo filed under
another product too without a word; and "need two products" never named the products
disabled in the shop.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image
from vendure_server.fixtures import GROCERY, VendureServer, add_channel

if TYPE_CHECKING:
    from conftest import Cli

pytestmark = pytest.mark.slow

NEWLINE_NAME = "Line1\nError: injected line"
COLOURED_NAME = "\x1b[31mRed\x1b[0m"


def photos(folder: str, n: int) -> list[Path]:
    return sorted((GROCERY / "train" / "Fruit" / folder).glob("*.jpg"))[:n]


def run(cli: Cli, vendure: VendureServer, *args: str):
    argv = [*args, "--server", vendure.url, "--username", vendure.admin_user]
    return cli.run(*argv, env={"DUKAHUB_TRAINER_PASSWORD": vendure.admin_password}, timeout=600)


def test_a_name_prints_as_one_line_of_text() -> None:
    from app.core.names import readable_name

    assert readable_name(NEWLINE_NAME, "7") == "Line1 Error: injected line"
    assert readable_name(COLOURED_NAME, "7") == "Red"
    assert readable_name("موز \u202eevil", "7") == "موز evil"
    assert readable_name("   ", "7") == readable_name("\u200b", "7") == "7"
    assert readable_name("Ünïcode 🍌 1 kg", "7") == "Ünïcode 🍌 1 kg"


def test_names_that_differ_only_in_capitals_are_not_called_the_same() -> None:
    from app.core.dataset import DatasetReport

    report = DatasetReport(same_names=[("6", "7")])
    (line,) = report.summary_lines({"6": "Avocado", "7": "AVOCADO"})
    assert line.startswith("Two products are called Avocado and AVOCADO (ids 6 and 7): ")
    assert "tell them apart only by capitals" in line


def test_sync_says_what_train_says_of_the_photos_each_on_one_line(
    cli: Cli, vendure: VendureServer, tmp_path: Path
) -> None:
    api, ch = add_channel(vendure, "odd-names")
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (8, 8), (200, 30, 30)).save(tiny)
    for name, folder in (("Banana", "Banana"), ("Kiwi", "Kiwi")):
        api.create_product(name, [a["id"] for a in api.upload_assets(photos(folder, 2))])
    for name in (NEWLINE_NAME, COLOURED_NAME, "   "):
        api.create_product(name, [a["id"] for a in api.upload_assets([tiny], mime="image/png")])
    shared = api.upload_assets(photos("Lemon", 1))[0]["id"]  # one photo filed under two
    api.create_product("Sugar 1kg", [shared])
    api.create_product("Salt 500g", [shared])

    out = run(cli, vendure, "sync", "--channel", ch.code)

    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.count("\n") == 1 and out.stdout.startswith(f"{ch.code}: published: ")
    assert "not trained: Line1 Error: injected line (" in out.stdout
    for text in (out.stdout, out.stderr):
        assert "\x1b" not in text and "\u202e" not in text
        assert not any(line.startswith("Error: injected") for line in text.splitlines())
    assert "note: The same photo (" in out.stderr
    assert "is filed under two products: Sugar 1kg and Salt 500g" in out.stderr


def test_too_few_products_names_those_disabled_in_the_shop(
    cli: Cli, vendure: VendureServer, tmp_path: Path
) -> None:
    api, ch = add_channel(vendure, "one-left")
    api.create_product("Banana", [a["id"] for a in api.upload_assets(photos("Banana", 3))])
    kiwi = api.create_product("Kiwi", [a["id"] for a in api.upload_assets(photos("Kiwi", 2))])
    api.gql(
        "mutation($i:UpdateProductInput!){updateProduct(input:$i){id}}",
        {"i": {"id": kiwi, "enabled": False}},
    )

    out = run(cli, vendure, "train", "--channel", ch.code, "--out", str(tmp_path / "m"))

    assert out.returncode == 1
    error = out.stderr.splitlines()[-1]
    assert error.startswith("Error: Need photos of at least two products"), out.stderr
    assert error.endswith("; 1 more disabled in the shop (Kiwi): enable them there to train them.")


def _one_kiwi_photo_gone(vendure: VendureServer, code: str) -> str:
    """A channel of Banana (2 photos) and Kiwi (3), one of Kiwi's files gone: HTTP 404."""
    api, ch = add_channel(vendure, code)
    api.create_product("Banana", [a["id"] for a in api.upload_assets(photos("Banana", 2))])
    kiwi = api.upload_assets(photos("Kiwi", 3))
    api.create_product("Kiwi", [a["id"] for a in kiwi])
    source = kiwi[2]["source"].split("/assets/", 1)[-1]
    (vendure.asset_dir / source).unlink()  # the shop lost the file
    return ch.code


def test_train_lists_a_photo_not_downloaded_beside_the_others_not_used(
    cli: Cli, vendure: VendureServer, tmp_path: Path
) -> None:
    code = _one_kiwi_photo_gone(vendure, "one-gone")

    out = run(cli, vendure, "train", "--channel", code, "--out", str(tmp_path / "m"))

    assert out.returncode == 0, out.stderr[-3000:]
    (line,) = [x for x in out.stdout.splitlines() if x.startswith("Photo not used (Kiwi)")]
    assert "not downloaded: " in line and "404" in line


def test_sync_names_a_photo_not_downloaded_once_on_screen_and_in_its_log(
    cli: Cli, vendure: VendureServer, tmp_path: Path
) -> None:
    """An unattended sync's log is what its owner reads later: the photo the shop lost
    was logged twice there, once as a warning and again as the note printed."""
    from app.core import paths
    from app.core.logs import LOG_FILE

    code = _one_kiwi_photo_gone(vendure, "sync-one-gone")
    log = paths.log_dir() / LOG_FILE
    before = log.read_text(encoding="utf-8") if log.exists() else ""

    out = run(cli, vendure, "sync", "--channel", code)

    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stderr.count("Photo not downloaded: ") == 1, out.stderr
    logged = log.read_text(encoding="utf-8").removeprefix(before)
    assert logged.count("Photo not downloaded: ") == 1, logged
    assert "404" in logged
