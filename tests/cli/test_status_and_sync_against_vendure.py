"""`status`, `train --server` and `sync` against a real Vendure, through the real CLI.

One channel of its own ("sync"), changed step by step the way a shop changes: a new
product, a replaced photo, a deleted product, the owner's added photos and ticks.
Each step checks what `status` says and what the shop then serves.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests
from vendure_server.fixtures import FRUIT, GROCERY, VendureServer, add_channel

from app.core import sync
from app.core.sources import Source
from app.core.store import ChannelStore

if TYPE_CHECKING:
    from conftest import Cli


pytestmark = pytest.mark.slow

CODE = "sync"


def photos(folder: str, n: int, skip: int = 0) -> list[Path]:
    return sorted((GROCERY / "train" / folder).glob("*.jpg"))[skip : skip + n]


@pytest.fixture(scope="module")
def shop(vendure: VendureServer) -> dict:
    """A channel with three products of three photos each (superadmin can publish)."""
    api, ch = add_channel(vendure, CODE)
    ids = {}
    for name in ("Golden Delicious", "Granny Smith", "Banana"):
        assets = api.upload_assets(photos(FRUIT[name], 3))
        ids[name] = api.create_product(name, [a["id"] for a in assets])
    return {"api": api, "channel": ch, "ids": ids}


def sync_cli(
    cli: Cli,
    vendure: VendureServer,
    *args: str,
    check_tf: bool = False,
    base_weights: Path | None = None,
) -> subprocess.CompletedProcess:
    """A command against the test server as its admin; optionally reports whether
    TensorFlow was imported (the last stderr line)."""
    argv = [*args, "--server", vendure.url, "--username", vendure.admin_user]
    if base_weights is not None:
        argv += ["--base-weights", str(base_weights)]
    env = {"DUKAHUB_TRAINER_PASSWORD": vendure.admin_password}
    return cli.run(*argv, env=env, report_tensorflow=check_tf, timeout=600)


def served_meta(vendure: VendureServer) -> dict | None:
    cid = vendure.channels[CODE].id
    r = requests.get(f"{vendure.url}/assets/ml-models/{cid}/latest/metadata.json", timeout=10)
    return r.json() if r.status_code == 200 else None


def served_bytes(vendure: VendureServer) -> dict[str, bytes]:
    cid = vendure.channels[CODE].id
    base = f"{vendure.url}/assets/ml-models/{cid}/latest/"
    return {
        n: requests.get(base + n, timeout=10).content
        for n in ("model.json", "weights.bin", "metadata.json")
    }


def test_sync_keeps_the_served_model_current(
    cli: Cli, vendure: VendureServer, shop: dict, base_weights: Path, tmp_path: Path
) -> None:
    api, ids = shop["api"], shop["ids"]

    st = sync_cli(cli, vendure, "status", "--channel", CODE)
    assert st.returncode == 0, st.stderr
    assert "serves no model yet" in st.stdout

    # first sync: nothing served yet → train, publish, verify
    first = sync_cli(cli, vendure, "sync", "--channel", CODE, base_weights=base_weights)
    assert first.returncode == 0, first.stderr
    assert f"{CODE}: published:" in first.stdout
    meta = served_meta(vendure)
    assert meta is not None and sorted(meta["labels"]) == sorted(ids.values())
    assert meta["imageCount"] == 9
    assert set(meta["catalogFingerprint"]["products"]) == set(ids.values())

    # nothing changed: up to date, quickly, without TensorFlow
    st = sync_cli(cli, vendure, "status", "--channel", CODE)
    assert "is up to date" in st.stdout, st.stdout
    noop = sync_cli(cli, vendure, "sync", "--channel", CODE, check_tf=True)
    assert noop.returncode == 0, noop.stderr
    assert "up to date" in noop.stdout and "TF-NOT-IMPORTED" in noop.stderr
    # a monitor reads the result without parsing English (a CLI audit)
    noop = sync_cli(cli, vendure, "sync", "--channel", CODE, "--json")
    doc = json.loads(noop.stdout)
    assert doc == {
        "channel": CODE,
        "status": "up to date",
        "message": doc["message"],
        "exitCode": 0,
        "version": meta["version"],
        "trained": False,
        "notes": [],
    }
    assert doc["message"] and noop.stdout.count("\n") == 1

    # a new product with photos on the server: status names it; debounce waits
    kiwi = api.create_product("Kiwi", [a["id"] for a in api.upload_assets(photos("Fruit/Kiwi", 3))])
    st = sync_cli(cli, vendure, "status", "--channel", CODE)
    assert "1 new product since the model your shop serves" in st.stdout, st.stdout
    # the same for a script (a CLI audit: it had to parse these English sentences)
    doc = json.loads(sync_cli(cli, vendure, "status", "--channel", CODE, "--json").stdout)
    assert doc["channel"] == CODE and doc["location"].endswith("/latest/")
    assert doc["served"]["current"] and doc["served"]["products"] == len(ids)
    assert doc["sinceServed"]["newProducts"] == [kiwi] and not doc["sinceServed"]["upToDate"]
    before = served_bytes(vendure)
    wait = sync_cli(cli, vendure, "sync", "--channel", CODE, "--debounce", "60", check_tf=True)
    assert wait.returncode == sync.EXIT_WAITING, wait.stderr
    assert "waiting" in wait.stdout and "TF-NOT-IMPORTED" in wait.stderr
    wait = sync_cli(cli, vendure, "sync", "--channel", CODE, "--debounce", "60", "--json")
    assert wait.returncode == sync.EXIT_WAITING
    doc = json.loads(wait.stdout)
    assert doc["status"] == "waiting" and doc["exitCode"] == sync.EXIT_WAITING
    assert served_bytes(vendure) == before

    # one replaced photo and one deleted product, in the same run
    new_asset = api.upload_assets(photos(FRUIT["Banana"], 1, skip=5))[0]["id"]
    old = api.gql("query($id:ID!){product(id:$id){assets{id}}}", {"id": ids["Banana"]})["product"][
        "assets"
    ]
    keep = [a["id"] for a in old][1:] + [new_asset]
    api.gql(
        "mutation($i:UpdateProductInput!){updateProduct(input:$i){id}}",
        {"i": {"id": ids["Banana"], "assetIds": keep, "featuredAssetId": keep[0]}},
    )
    api.gql("mutation($id:ID!){deleteProduct(id:$id){result}}", {"id": ids["Granny Smith"]})
    st = sync_cli(cli, vendure, "status", "--channel", CODE)
    assert "1 new product, 1 removed, 1 changed photo since the model your shop serves" in (
        st.stdout
    ), st.stdout

    second = sync_cli(cli, vendure, "sync", "--channel", CODE, base_weights=base_weights)
    assert second.returncode == 0, second.stderr
    meta = served_meta(vendure)
    assert sorted(meta["labels"]) == sorted([ids["Golden Delicious"], ids["Banana"], kiwi])
    assert "is up to date" in sync_cli(cli, vendure, "status", "--channel", CODE).stdout

    # the owner's edits (an added counter photo, an unticked product) are part of it
    server = Source.shop(vendure.url, CODE).server
    store = ChannelStore(server, CODE)
    store.add_files(kiwi, photos("Fruit/Kiwi", 1, skip=10))
    store.set_product_included(ids["Golden Delicious"], False)
    st = sync_cli(cli, vendure, "status", "--channel", CODE)
    assert "1 removed, 1 changed photo since the model your shop serves" in st.stdout, st.stdout

    out = tmp_path / "model"
    trained = sync_cli(
        cli, vendure, "train", "--channel", CODE, "--out", str(out), "--json",
        base_weights=base_weights,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    summary = json.loads(trained.stdout)
    local = json.loads((out / "metadata.json").read_text())
    assert sorted(local["labels"]) == sorted([ids["Banana"], kiwi])
    assert summary["images"] == local["imageCount"] == 7  # 3 banana + 3 kiwi + 1 added

    third = sync_cli(cli, vendure, "sync", "--channel", CODE, base_weights=base_weights)
    assert third.returncode == 0, third.stderr
    meta = served_meta(vendure)
    assert sorted(meta["labels"]) == sorted([ids["Banana"], kiwi]) and meta["imageCount"] == 7
    again = sync_cli(cli, vendure, "sync", "--channel", CODE, check_tf=True)
    assert "up to date" in again.stdout and "TF-NOT-IMPORTED" in again.stderr

    # counter frames taken in the app are a change: sync trains them in
    store.counter_frames.add_files(photos("Fruit/Kiwi", 4, skip=20))
    st = sync_cli(cli, vendure, "status", "--channel", CODE)
    assert "New counter frames since the model your shop serves" in st.stdout, st.stdout
    fourth = sync_cli(cli, vendure, "sync", "--channel", CODE, base_weights=base_weights)
    assert fourth.returncode == 0 and f"{CODE}: published: New counter frames" in fourth.stdout
    assert len(served_meta(vendure)["catalogFingerprint"]["look"]["counterFrames"]) == 4

    # a rollback by hand stays: sync does not serve the model it replaced again
    earlier = re.search(r"published version (\S+) ", third.stdout)
    assert earlier is not None, third.stdout
    rolled = sync_cli(cli, vendure, "rollback", earlier[1], "--channel", CODE)
    assert rolled.returncode == 0, rolled.stderr
    served = served_bytes(vendure)
    kept = sync_cli(cli, vendure, "sync", "--channel", CODE, check_tf=True)
    assert kept.returncode == 0, kept.stderr
    assert f"{CODE}: kept: New counter frames since the served model" in kept.stdout, kept.stdout
    assert "does not publish it again" in kept.stdout and "TF-NOT-IMPORTED" in kept.stderr
    assert served_bytes(vendure) == served

    # a deletion leaves no change stamp: the debounce counts from when sync first saw it
    api.gql("mutation($id:ID!){deleteProduct(id:$id){result}}", {"id": kiwi})
    wait = sync_cli(cli, vendure, "sync", "--channel", CODE, "--debounce", "0.3", check_tf=True)
    assert wait.returncode == sync.EXIT_WAITING, wait.stdout + wait.stderr
    assert "1 removed" in wait.stdout and "TF-NOT-IMPORTED" in wait.stderr


def test_a_second_sync_of_the_channel_is_refused_while_one_runs(
    cli: Cli, vendure: VendureServer, shop: dict
) -> None:
    source = Source.shop(vendure.url, CODE, vendure.channels[CODE].id)
    with sync.channel_lock(source):
        busy = sync_cli(cli, vendure, "sync", "--channel", CODE, check_tf=True)
    assert busy.returncode == sync.EXIT_BUSY, busy.stderr
    assert f"{CODE}: busy:" in busy.stdout and "TF-NOT-IMPORTED" in busy.stderr
    with sync.channel_lock(source):  # released again: the lock is free
        pass


def serve_a_first_model(cli: Cli, vendure: VendureServer, base_weights: Path) -> None:
    """A test run alone finds nothing served yet: a first sync serves a model."""
    if served_meta(vendure) is None:
        done = sync_cli(cli, vendure, "sync", "--channel", CODE, base_weights=base_weights)
        assert done.returncode == 0, done.stderr


def sync_until(
    cli: Cli, vendure: VendureServer, base_weights: Path, reached: Callable[[str], bool]
) -> tuple[subprocess.Popen[str], list[str]]:
    """A sync started in the background, its stderr read up to the first line ``reached``
    says yes to (progress lines, one per phase step when piped); the lines read."""
    argv = ["sync", "--channel", CODE, "--server", vendure.url,
            "--username", vendure.admin_user, "--base-weights", str(base_weights)]  # fmt: skip
    proc = cli.start(*argv, env={"DUKAHUB_TRAINER_PASSWORD": vendure.admin_password})
    seen: list[str] = []
    deadline = time.monotonic() + 300
    assert proc.stderr is not None
    for line in proc.stderr:
        seen.append(line)
        if reached(line):
            break
        assert time.monotonic() < deadline, seen
    return proc, seen


def test_a_killed_sync_leaves_the_served_model_and_the_next_one_completes(
    cli: Cli, vendure: VendureServer, shop: dict, base_weights: Path
) -> None:
    api = shop["api"]
    serve_a_first_model(cli, vendure, base_weights)
    lime = api.create_product("Lime", [a["id"] for a in api.upload_assets(photos("Fruit/Lime", 3))])
    before = served_bytes(vendure)

    proc, seen = sync_until(
        cli,
        vendure,
        base_weights,
        lambda s: any(w in s for w in ("training", "features", "preparing")),
    )
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, seen
    assert served_bytes(vendure) == before  # untouched

    done = sync_cli(cli, vendure, "sync", "--channel", CODE, base_weights=base_weights)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "published" in done.stdout
    assert lime in served_meta(vendure)["labels"]


@pytest.mark.parametrize(
    ("sig", "skip"), [(signal.SIGINT, 0), (signal.SIGTERM, 3)], ids=["ctrl-c", "kill"]
)
def test_an_interrupted_sync_stops_its_training_and_leaves_the_served_model(
    cli: Cli, vendure: VendureServer, shop: dict, base_weights: Path, sig: signal.Signals, skip: int
) -> None:
    """Raised wherever the main thread was, an interrupt while TensorFlow loaded could be
    swallowed (the training went on) or abort the process (see app.cli.interrupt); while
    it trains, sync now stops at its next check and says it was interrupted."""
    api = shop["api"]
    serve_a_first_model(cli, vendure, base_weights)
    kiwi = photos("Fruit/Kiwi", 3, skip=skip)
    api.create_product(f"Kiwi {sig.name}", [a["id"] for a in api.upload_assets(kiwi)])
    before = served_bytes(vendure)
    # TensorFlow's import comes next
    proc, seen = sync_until(cli, vendure, base_weights, lambda s: "Loading the recognition" in s)
    proc.send_signal(sig)
    proc.wait(timeout=120)
    assert proc.stderr is not None
    stderr = "".join(seen) + proc.stderr.read()
    assert proc.returncode == 130, stderr
    assert "Interrupted; nothing was changed." in stderr, stderr
    assert "Traceback" not in stderr and "terminate called" not in stderr, stderr
    assert served_bytes(vendure) == before


def test_all_channels_syncs_each_and_a_failure_does_not_stop_the_others(
    cli: Cli, vendure: VendureServer, base_weights: Path, tm_export: Path
) -> None:
    """A user with three channels: one trains and publishes; one serves a model but has
    no photos left (a failure); one new and empty (nothing to train: it failed every
    timer tick, exit 1)."""
    from model_standins import fake_model

    api_a, good = add_channel(vendure, "all-a")
    for name in ("Golden Delicious", "Banana"):
        api_a.create_product(name, [a["id"] for a in api_a.upload_assets(photos(FRUIT[name], 2))])
    api_b, bad = add_channel(vendure, "all-b")
    api_b.create_product("Gift card", [])
    served = vendure.asset_dir / "ml-models" / bad.id / "latest"
    fake_model(served, tm_export, ["1", "2", "3", "4", "5"], channelId=bad.id)
    api_c, empty = add_channel(vendure, "all-c")
    api_c.create_product("Gift card", [])
    admin = vendure.admin()
    role = admin.gql(
        "mutation($i:CreateRoleInput!){createRole(input:$i){id}}",
        {
            "i": {
                "code": "all-channels-trainer",
                "description": "sync --all-channels",
                "permissions": ["ReadCatalog", "UploadMlModel"],
                "channelIds": [good.id, bad.id, empty.id],
            }
        },
    )["createRole"]["id"]
    admin.gql(
        "mutation($i:CreateAdministratorInput!){createAdministrator(input:$i){id}}",
        {
            "i": {
                "firstName": "All",
                "lastName": "Channels",
                "emailAddress": "all@shop.test",
                "password": "all-channels-pw",
                "roleIds": [role],
            }
        },
    )
    res = cli.run(
        "sync", "--all-channels", "--server", vendure.url, "--username", "all@shop.test",
        "--base-weights", str(base_weights), env={"DUKAHUB_TRAINER_PASSWORD": "all-channels-pw"},
    )  # fmt: skip
    lines = res.stdout.strip().splitlines()
    assert res.returncode == sync.EXIT_FAILED, res.stderr
    assert any(x.startswith("all-a: published:") for x in lines), res.stdout
    assert any(x.startswith("all-b: failed: Need photos") for x in lines), res.stdout
    assert any(x.startswith("all-c: nothing to train: Need photos") for x in lines), res.stdout
    # each channel's progress is its own, named (a later one's first report was lost)
    assert any(x.startswith("all-a: [") for x in res.stderr.splitlines()), res.stderr
    assert any(x.startswith("all-c: [") for x in res.stderr.splitlines()), res.stderr
    assert "Traceback" not in res.stderr
    r = requests.get(f"{vendure.url}/assets/ml-models/{good.id}/latest/metadata.json", timeout=10)
    assert r.status_code == 200 and len(r.json()["labels"]) == 2


def test_a_one_off_login_keeps_the_remembered_session_and_replaces_a_dead_one(
    cli: Cli, vendure: VendureServer
) -> None:
    """The session a scheduled ``sync`` runs on ("Keep me logged in") survives a command
    run once as another user (it was deleted: the next night's sync failed), and a dead
    one gives way to the user and password given in the same run (it was an error)."""
    from app.core.shop import ShopClient, sessions

    trainer, trainer_pw = vendure.users["trainer"]
    ShopClient(vendure.url).login(trainer, trainer_pw, remember=True)
    server = ShopClient(vendure.url).server_url
    other, other_pw = vendure.users["veg_trainer"]
    once = cli.run(
        "status", "--server", vendure.url, "--channel", "veg", "--username", other,
        env={"DUKAHUB_TRAINER_PASSWORD": other_pw},
    )  # fmt: skip
    assert once.returncode == 0, once.stderr
    kept = sessions.load(server)
    assert kept is not None and kept.username == trainer

    requests.post(  # the remembered session ends on the server
        vendure.api,
        json={"query": "mutation{logout{success}}"},
        headers={"Authorization": f"Bearer {kept.token}"},
        timeout=10,
    )
    again = cli.run(
        "status", "--server", vendure.url, "--channel", "fruit", "--username", trainer,
        env={"DUKAHUB_TRAINER_PASSWORD": trainer_pw},
    )  # fmt: skip
    assert again.returncode == 0, again.stderr


def test_all_channels_goes_on_after_a_disk_fault_in_one_channel(
    vendure: VendureServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """A full disk (or a lack of memory, a TensorFlow fault) in one channel stopped every
    later channel: no result line, a plain ``Error:``. In-process, the sync of each
    channel stood in for by a double whose first channel meets a full disk."""
    import importlib

    from app.cli import sync as cli_sync
    from app.core.errors import ExitCode
    from app.core.flows.keep_current import SyncOutcome

    seen: list[str] = []

    def sync_channel(client, options, **_kw) -> SyncOutcome:  # noqa: ANN001
        code = client.require_channel().code
        seen.append(code)
        if len(seen) == 1:
            raise OSError(28, "No space left on device", "/home/o/.cache/features")
        return SyncOutcome(code, "up to date", "nothing changed", ExitCode.OK)

    monkeypatch.setattr(cli_sync, "sync_channel", sync_channel)
    user, password = vendure.users["trainer"]
    monkeypatch.setenv("DUKAHUB_TRAINER_PASSWORD", password)
    main = importlib.import_module("app.cli.main")
    argv = ["sync", "--all-channels", "--server", vendure.url, "--username", user]
    assert main.main(argv) == ExitCode.FAILED
    out = capsys.readouterr().out.splitlines()
    assert len(seen) >= 2 and len(out) == len(seen), out
    assert out[0].startswith(f"{seen[0]}: failed: /home/o/.cache/features: there is not enough")
    assert all(line.endswith("up to date: nothing changed") for line in out[1:])


def test_all_channels_of_a_superadmin_leaves_out_the_default_channel(
    vendure: VendureServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """A superadmin may publish to the default channel, which lists every channel's
    products: ``--all-channels`` trained them all into one model and published it there.
    In-process, each channel's sync stood in for by a double."""
    import importlib

    from app.cli import sync as cli_sync
    from app.core.errors import ExitCode
    from app.core.flows.keep_current import SyncOutcome

    seen: list[str] = []

    def sync_channel(client, options, **_kw) -> SyncOutcome:  # noqa: ANN001
        seen.append(client.require_channel().code)
        return SyncOutcome(seen[-1], "up to date", "nothing changed", ExitCode.OK)

    monkeypatch.setattr(cli_sync, "sync_channel", sync_channel)
    monkeypatch.setenv("DUKAHUB_TRAINER_PASSWORD", vendure.admin_password)
    main = importlib.import_module("app.cli.main")
    argv = ["sync", "--all-channels", "--server", vendure.url, "--username", vendure.admin_user]
    assert main.main(argv) == ExitCode.OK
    out = capsys.readouterr().out.splitlines()
    assert "__default_channel__" not in seen and {"fruit", "veg", "bulk"} <= set(seen), seen
    assert out[0] == (
        "__default_channel__: skipped: the default channel lists the products of every "
        "channel; sync it alone with --channel __default_channel__"
    ), out
    assert len(out) == len(seen) + 1, out


def test_sync_without_the_permission_to_publish_says_so(cli: Cli, vendure: VendureServer) -> None:
    """It blamed the photos from the till, which the owner never chose."""
    user, password = vendure.users["viewer"]
    p = cli.run(
        "sync", "--server", vendure.url, "--channel", "fruit", "--username", user,
        env={"DUKAHUB_TRAINER_PASSWORD": password},
    )  # fmt: skip
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert (
        p.stderr.strip()
        .splitlines()[-1]
        .startswith("Error: Your user is not allowed to publish models in channel “fruit”")
    ), p.stderr


def test_channels_after_the_time_limit_ran_out_are_not_tried(
    vendure: VendureServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """Each channel after the one the limit stopped was reported "failed: The sync
    stopped at its time limit … while opening channel b", as if each had been tried."""
    import importlib

    from app.cli import sync as cli_sync
    from app.core.errors import ExitCode

    def sync_channel(client, options, *, cancel, **_kw):  # noqa: ANN001, ANN202
        cancel.wait(30)  # a long training: the run's limit passes meanwhile
        from app.core.errors import Cancelled

        raise Cancelled("cancelled")

    monkeypatch.setattr(cli_sync, "sync_channel", sync_channel)
    user, password = vendure.users["trainer"]
    monkeypatch.setenv("DUKAHUB_TRAINER_PASSWORD", password)
    main = importlib.import_module("app.cli.main")
    argv = ["sync", "--all-channels", "--server", vendure.url, "--username", user]
    assert main.main([*argv, "--time-limit", "0.05"]) == ExitCode.FAILED
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3, out  # the trainer's three channels
    assert ": failed: " in out[0] and "time limit" in out[0]
    assert all(": not tried: the run's time limit (0.05 min) ran out" in x for x in out[1:])


def test_a_password_file_logs_in_without_the_environment(
    cli: Cli, vendure: VendureServer, tmp_path: Path
) -> None:
    """A CLI audit: the only way without a terminal was $DUKAHUB_TRAINER_PASSWORD, which
    ``ps e`` and every child process see; a systemd credential is a file."""
    user, password = vendure.admin_user, vendure.admin_password
    secret = tmp_path / "shop-password"
    secret.write_text(f"{password}\n")
    args = ("status", "--server", vendure.url, "--channel", "fruit", "--username", user)
    p = cli.run(*args, "--password-file", str(secret), unset=["DUKAHUB_TRAINER_PASSWORD"])
    assert p.returncode == 0, p.stderr
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password\n")
    p = cli.run(*args, "--password-file", str(wrong), env={"DUKAHUB_TRAINER_PASSWORD": password})
    assert p.returncode == 1 and "Traceback" not in p.stderr  # the file, not the variable
    p = cli.run(*args, "--password-file", str(tmp_path / "missing"))
    assert p.returncode == 1
    assert p.stderr.strip() == (
        f"Error: Cannot read the password file {tmp_path / 'missing'}: No such file or directory."
    )
