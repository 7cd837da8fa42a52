"""The whole loop from a terminal, against the real Vendure test server:
train from the channel's catalogue, publish, read back what the POS will load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import requests
from vendure_server.fixtures import VendureServer


def _app(*args: str, password: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "DUKAHUB_TRAINER_PASSWORD": password},
    )


def test_train_from_channel_publish_and_status(
    vendure: VendureServer, base_weights: Path, tmp_path: Path
) -> None:
    user, password = vendure.users["trainer"]
    fruit = vendure.channels["fruit"]
    conn = ["--server", vendure.url, "--channel", "fruit", "--username", user]
    out = tmp_path / "model"

    r = _app(
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

    r = _app("publish", str(out), *conn, password=password)
    assert r.returncode == 0, r.stderr
    base = f"{vendure.url}/assets/ml-models/{fruit.id}/latest"
    for name in ("model.json", "weights.bin", "metadata.json"):
        got = requests.get(f"{base}/{name}", timeout=10)
        assert got.status_code == 200 and got.content == (out / name).read_bytes()

    r = _app("status", *conn, password=password)
    assert r.returncode == 0, r.stderr
    assert meta["trainedAt"] in r.stdout

    r = _app("train", *conn, "--out", str(tmp_path / "x"), password="wrong")
    assert r.returncode == 1 and r.stderr.strip().splitlines()[-1].startswith("Error: Wrong")
    assert not (tmp_path / "x").exists()
