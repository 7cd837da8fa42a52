"""``publish``, ``status`` and ``rollback`` with ``--to-folder``, through the real CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from model_standins import fake_model

from app.core.folder_publish import folder_status
from app.core.wording import format_when

if TYPE_CHECKING:
    from conftest import Cli

LABELS = ["1", "2", "3", "4", "5"]


def make_model(dest: Path, tm_export: Path, trained: str) -> Path:
    """A real TF.js export for channel 2, trained on 2026-01-``trained``."""
    return fake_model(
        dest, tm_export, LABELS, channelId="2", trainedAt=f"2026-01-{trained}T00:00:00Z"
    )


def _cli(cli: Cli, *args: str, home: Path) -> subprocess.CompletedProcess:
    return cli.run(*args, env={"DUKAHUB_TRAINER_HOME": str(home)}, timeout=120)


def test_cli_publish_status_rollback_to_folder(cli: Cli, tmp_path: Path, tm_export: Path) -> None:
    a = make_model(tmp_path / "a", tm_export, trained="01")
    b = make_model(tmp_path / "b", tm_export, trained="02")
    shop = tmp_path / "assets"
    home = tmp_path / "home"
    r = _cli(cli, "publish", str(a), "--to-folder", str(shop), home=home)
    assert r.returncode == 0, r.stderr
    assert "Published version" in r.stdout and "latest" in r.stdout
    first = folder_status(shop, "2")["current"]["version"]
    assert _cli(cli, "publish", str(b), "--to-folder", str(shop), home=home).returncode == 0

    r = _cli(cli, "status", "--to-folder", str(shop), "--channel-id", "2", home=home)
    assert r.returncode == 0, r.stderr
    trained = format_when({"trainedAt": "2026-01-02T00:00:00Z"})  # this computer's time
    assert first in r.stdout and f"(trained {trained}, 5 products)" in r.stdout

    r = _cli(cli, "rollback", first, "--to-folder", str(shop), "--channel-id", "2", home=home)
    assert r.returncode == 0, r.stderr
    assert f"now serves version {first}" in r.stdout
    assert folder_status(shop, "2")["current"]["version"] == first

    # the same for a script, without parsing English (a CLI audit)
    r = _cli(cli, "status", "--to-folder", str(shop), "--channel-id", "2", "--json", home=home)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["channel"] == "2" and doc["location"] == str(shop / "2" / "latest")
    assert doc["served"] == {
        "version": first,
        "trainedAt": "2026-01-01T00:00:00Z",
        "products": 5,
        "current": True,
    }
    assert [v["current"] for v in doc["versions"]].count(True) == 1 and len(doc["versions"]) == 2
    assert doc["servedProblem"] is None and doc["unservable"] == []

    # errors: one line, exit 1
    r = _cli(cli, "rollback", "nonsense", "--to-folder", str(shop), "--channel-id", "2", home=home)
    assert r.returncode == 1 and r.stderr.strip().startswith("Error: ")
    assert len(r.stderr.strip().splitlines()) == 1
    r = _cli(cli, "status", "--to-folder", str(shop), home=home)
    assert r.returncode == 1 and "--channel-id" in r.stderr
    r = _cli(cli, "status", home=home)  # neither a server nor a folder
    assert r.returncode == 1 and "--to-folder" in r.stderr


def test_publish_and_rollback_say_their_result_as_json_for_a_script(
    cli: Cli, tmp_path: Path, tm_export: Path
) -> None:
    """A deploy script checked the version it published by parsing "Published version
    … (5 products) in …"; only ``status`` had ``--json``."""
    a = make_model(tmp_path / "a", tm_export, trained="01")
    b = make_model(tmp_path / "b", tm_export, trained="02")
    shop, home = tmp_path / "assets", tmp_path / "home"
    r = _cli(cli, "publish", str(a), "--to-folder", str(shop), "--json", home=home)
    assert r.returncode == 0, r.stderr
    first = json.loads(r.stdout)
    served = folder_status(shop, "2")["current"]["version"]
    assert first == {
        "channel": "2",  # the model's own: no --channel-id given
        "version": served,
        "products": 5,
        "location": str(shop / "2" / "latest"),
        "reused": False,
    }
    r = _cli(cli, "publish", str(a), "--to-folder", str(shop), "--json", home=home)
    assert json.loads(r.stdout) == {**first, "reused": True}  # already served
    args = ("--to-folder", str(shop), "--channel-id", "2", "--json")
    assert _cli(cli, "publish", str(b), *args, home=home).returncode == 0

    r = _cli(cli, "rollback", first["version"], *args, home=home)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {
        "channel": "2",
        "served": {
            "version": first["version"],
            "trainedAt": "2026-01-01T00:00:00Z",
            "products": 5,
            "current": True,
        },
    }
    r = _cli(cli, "rollback", "nonsense", *args, home=home)  # errors stay one line, exit 1
    assert r.returncode == 1 and r.stdout == "" and r.stderr.startswith("Error: ")


def test_status_of_a_model_copied_in_by_hand_does_not_say_nothing_is_published(
    cli: Cli, tmp_path: Path, tm_export: Path
) -> None:
    """The tills load a model copied into latest/ by hand; status said "no model
    published yet" above its warning."""
    import shutil

    shop = tmp_path / "assets"
    shutil.copytree(make_model(tmp_path / "a", tm_export, trained="01"), shop / "2" / "latest")
    r = _cli(cli, "status", "--to-folder", str(shop), "--channel-id", "2", home=tmp_path / "h")
    assert r.returncode == 0, r.stderr
    assert "no model published yet" not in r.stdout, r.stdout
    assert "no version published by this app (see below)" in r.stdout
    assert "Warning: latest/ holds files" in r.stdout, r.stdout


def test_status_of_a_folder_that_does_not_exist_says_so(cli: Cli, tmp_path: Path) -> None:
    """A mistyped (or unmounted) folder read "no model published yet", exit 0."""
    gone = tmp_path / "asets"
    r = _cli(cli, "status", "--to-folder", str(gone), "--channel-id", "2", home=tmp_path / "h")
    assert r.returncode == 1 and r.stderr.startswith(f"Error: {gone} does not exist"), r.stderr
    assert not gone.exists()  # nothing made by asking
