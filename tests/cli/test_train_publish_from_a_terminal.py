"""The whole loop from a terminal, against the real Vendure test server:
train from the channel's catalogue, publish, read back what the POS will load."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import requests
from vendure_server.fixtures import VendureServer

from app.core.wording import format_when

if TYPE_CHECKING:
    from conftest import Cli


def _app(cli: Cli, *args: str, password: str) -> subprocess.CompletedProcess:
    return cli.run(*args, env={"DUKAHUB_TRAINER_PASSWORD": password}, timeout=600)


def test_train_from_channel_publish_and_status(
    cli: Cli, vendure: VendureServer, base_weights: Path, tmp_path: Path
) -> None:
    user, password = vendure.users["trainer"]
    fruit = vendure.channels["fruit"]
    conn = ["--server", vendure.url, "--channel", "fruit", "--username", user]
    out = tmp_path / "model"

    r = _app(
        cli,
        "train",
        *conn,
        "--out",
        str(out),
        "--base-weights",
        str(base_weights),
        "--epochs",
        "5",
        password=password,
    )
    assert r.returncode == 0, r.stderr
    meta = json.loads((out / "metadata.json").read_text())
    with_images = {pid for pid, n in fruit.images.items() if n > 0}
    assert meta["channelId"] == fruit.id
    assert set(meta["labels"]) == with_images  # labels are the channel's product IDs
    assert meta["labelNames"] == [fruit.products[p] for p in meta["labels"]]
    no_image = set(fruit.products) - with_images
    assert no_image and all(fruit.products[p] in r.stderr for p in no_image)  # reported

    r = _app(cli, "publish", str(out), *conn, password=password)
    assert r.returncode == 0, r.stderr
    base = f"{vendure.url}/assets/ml-models/{fruit.id}/latest"
    for name in ("model.json", "weights.bin", "metadata.json"):
        got = requests.get(f"{base}/{name}", timeout=10)
        assert got.status_code == 200 and got.content == (out / name).read_bytes()

    r = _app(cli, "status", *conn, password=password)
    assert r.returncode == 0, r.stderr
    assert format_when(meta) in r.stdout  # in this computer's time zone, as the app says

    r = _app(cli, "train", *conn, "--out", str(tmp_path / "x"), password="wrong")
    assert r.returncode == 1 and r.stderr.strip().splitlines()[-1].startswith("Error: Wrong")
    assert not (tmp_path / "x").exists()
