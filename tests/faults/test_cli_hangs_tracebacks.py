"""Hangs and tracebacks of the fault run (issue 20, classes 1-6), through the real CLI.

Each case is ``python -m app …`` as a subprocess against real damaged files, a real
named pipe, or a hostile server on 127.0.0.1 (a thread of this test, bounded loops,
stopped by the test). Every failure must be exit code 1 with exactly one ``Error: ``
line and no traceback; a hang shows as the subprocess's timeout.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from app.core import paths
from app.core.errors import ServerTimeout
from app.core.readers import DAMAGED_TAG, BadJson, NotRegularFile, parse_json, read_regular
from app.core.sources import Source

if TYPE_CHECKING:
    from conftest import Cli


PASSWORD = {"DUKAHUB_TRAINER_PASSWORD": "not-a-real-password"}


def one_error(p, *expect: str) -> str:
    """Exit 1, exactly one ``Error: `` line containing each of ``expect``, no traceback."""
    out = p.stdout + p.stderr
    errors = [ln for ln in p.stderr.splitlines() if ln.startswith("Error: ")]
    assert p.returncode == 1, out
    assert len(errors) == 1, out
    assert "Traceback" not in out, out
    for text in expect:
        assert text in errors[0], errors[0]
    return errors[0]


# --- a hostile server ------------------------------------------------------------------


class _Hostile(http.server.BaseHTTPRequestHandler):
    """Answers every request the server's way: ``trickle`` (headers, then one byte a
    second), ``deep`` (``[`` × 100000) or ``huge`` (48 MB with no length)."""

    def do_POST(self) -> None:
        self._answer()

    def do_GET(self) -> None:
        self._answer()

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        server: HostileServer = self.server  # type: ignore[assignment]
        server.hits += 1
        try:
            if server.mode == "deep":
                body = b"[" * 100_000
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif server.mode == "huge":  # HTTP/1.0 without a length: ends when closed
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                for _ in range(48):
                    if server.stop.is_set():
                        break
                    self.wfile.write(b" " * (1 << 20))
            else:  # trickle: a valid start, then a byte a second, for at most 2 minutes
                self.send_response(200)
                self.send_header("Content-Type", self.server.content_type)
                self.send_header("Content-Length", "100000")
                self.end_headers()
                for _ in range(120):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    if server.stop.wait(1.0):
                        break
        except OSError:  # the client hung up: what a deadline does
            server.hung_up += 1

    def log_message(self, *args: object) -> None:
        pass


class HostileServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, mode: str, content_type: str = "application/json") -> None:
        super().__init__(("127.0.0.1", 0), _Hostile)
        self.mode, self.content_type = mode, content_type
        self.stop = threading.Event()
        self.hits = self.hung_up = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def hostile(mode: str, content_type: str = "application/json") -> Iterator[HostileServer]:
    srv = HostileServer(mode, content_type)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.stop.set()
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def _shop_args(command: str, url: str, *extra: str) -> list[str]:
    return [command, "--server", url, "--channel", "kiosk", "--username", "owner", *extra]


# --- 1: no overall deadline on server calls --------------------------------------------


@pytest.mark.parametrize("command", ["status", "train"])
def test_a_trickling_server_ends_a_command_at_its_deadline(cli: Cli, command: str) -> None:
    """``train --server`` takes ``--timeout`` as every command that talks to a shop does
    (it said "unrecognized arguments: --timeout", where README promised it)."""
    with hostile("trickle") as srv:
        t0 = time.monotonic()
        p = cli.run(*_shop_args(command, srv.url, "--timeout", "2"), env=PASSWORD, timeout=60)
        took = time.monotonic() - t0
    one_error(p, "did not finish answering within 2 s", "(log in)")
    assert took < 20, f"{command} took {took:.0f} s"


def test_a_trickling_server_ends_sync_at_its_time_limit_naming_the_step(cli: Cli) -> None:
    """--timeout stays at its default (60 s): the sync's own clock (3 s) ends the run."""
    with hostile("trickle") as srv:
        t0 = time.monotonic()
        p = cli.run(*_shop_args("sync", srv.url, "--time-limit", "0.05"), env=PASSWORD, timeout=60)
        took = time.monotonic() - t0
    error = one_error(p, "time limit (3 s, --time-limit)", "while logging in to", srv.url)
    assert "the served model is unchanged" in error
    assert took < 20, f"sync took {took:.0f} s"


def test_an_endless_answer_is_cut_at_the_size_cap(cli: Cli) -> None:
    with hostile("huge") as srv:
        p = cli.run(*_shop_args("status", srv.url), env=PASSWORD, timeout=60)
    one_error(p, "an answer larger than", "(log in)")


def test_a_trickling_photo_download_ends_at_its_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Photos get at least TRANSFER_DEADLINE_S (10 minutes); 2 s here."""
    from app.core.shop import photos
    from app.core.shop.transport import ShopClient

    monkeypatch.setattr(photos, "TRANSFER_DEADLINE_S", 2.0)
    with hostile("trickle", content_type="image/jpeg") as srv:
        client = ShopClient(srv.url, deadline=2)
        asset = photos.ListedAsset("7", "/assets/source/kiwi.jpg", None, "2026-01-01")
        t0 = time.monotonic()
        with pytest.raises(ServerTimeout, match="within 2 s"):
            photos.cached_image(client, photos.image_session(1), asset, None)
        assert time.monotonic() - t0 < 8
        assert srv.hits == 1  # no retry once the deadline has passed


# --- 2: things that are not regular files ----------------------------------------------


def test_a_named_pipe_as_a_photo_is_skipped_at_once(
    cli: Cli, tmp_path: Path, tm_export: Path
) -> None:
    fifo = tmp_path / "f.jpg"
    os.mkfifo(fifo)
    p = cli.run("predict", str(tm_export), str(fifo), timeout=180)
    assert p.returncode == 1, p.stdout + p.stderr
    # the training check's words, as train says them (one photo check)
    assert f"{fifo}: skipped: f.jpg: not a regular file (a named pipe)" in (p.stderr)
    assert "Traceback" not in p.stdout + p.stderr
    folder = tmp_path / "a folder.jpg"  # said as a folder (it was "a pipe, device or socket")
    folder.mkdir()
    p = cli.run("predict", str(tm_export), str(folder), timeout=180)
    assert "a folder.jpg: not a regular file (a folder)" in p.stderr, p.stderr


def test_a_named_pipe_as_a_model_file_is_refused_at_once(
    cli: Cli, tmp_path: Path, tm_export: Path
) -> None:
    model = tmp_path / "model"
    shutil.copytree(tm_export, model)
    (model / "weights.bin").unlink()
    os.mkfifo(model / "weights.bin")
    p = cli.run("inspect", str(model), timeout=60)
    one_error(p, "weights.bin cannot be read (not a regular file (a named pipe))")


def test_the_reader_refuses_pipes_and_devices_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for path, kind in ((fifo, "a named pipe"), (Path("/dev/zero"), "a character device")):
        with pytest.raises(NotRegularFile, match=kind):
            read_regular(path)


# --- 3: deeply nested JSON ------------------------------------------------------------


@pytest.mark.parametrize("name", ["model.json", "metadata.json"])
def test_deeply_nested_json_in_a_model_file_is_one_line(
    cli: Cli, tmp_path: Path, tm_export: Path, name: str
) -> None:
    model = tmp_path / "model"
    shutil.copytree(tm_export, model)
    (model / name).write_text("[" * 100_000)
    p = cli.run("inspect", str(model), timeout=60)
    one_error(p, f"{name} is not valid JSON: nested deeper than 100 levels")


def test_deeply_nested_json_from_a_server_is_one_line(cli: Cli) -> None:
    with hostile("deep") as srv:
        p = cli.run(*_shop_args("status", srv.url), env=PASSWORD, timeout=60)
    one_error(p, "is not a Vendure Admin API (log in)")


def test_the_json_reader_limits_depth_and_size() -> None:
    assert parse_json('{"a": "[[[[[[", "b": [[1]]}') == {"a": "[[[[[[", "b": [[1]]}
    with pytest.raises(BadJson, match="deeper than 100"):
        parse_json("[" * 101 + "]" * 101)
    with pytest.raises(BadJson, match="larger than"):
        parse_json(b"[]" * 10, max_bytes=8)
    assert parse_json(b'\xef\xbb\xbf{"x": 1}') == {"x": 1}  # a Windows editor's BOM


# --- 4: app files of the right JSON but the wrong shape --------------------------------


@pytest.fixture
def one_product(tmp_path: Path, grocery: Path) -> Path:
    """Fails the photo check (two products are needed) without loading TensorFlow."""
    root = tmp_path / "one"
    (root / "Kiwi").mkdir(parents=True)
    for p in sorted((grocery / "train/Fruit/Kiwi").glob("*.jpg"))[:2]:
        shutil.copyfile(p, root / "Kiwi" / p.name)
    return root


def _store_root(folder: Path) -> Path:
    return paths.channel_dir(*Source.from_folder(folder).store_key)


def test_damaged_app_files_are_set_aside_not_a_crash(
    cli: Cli, one_product: Path, tmp_path: Path, base_weights: Path, grocery: Path
) -> None:
    store = _store_root(one_product)
    (store / "selection.json").write_text("[1]")
    added = store / "added" / "Kiwi"
    added.mkdir(parents=True)
    shutil.copyfile(sorted((grocery / "train/Fruit/Kiwi").glob("*.jpg"))[2], added / "mine.jpg")
    (store / "added" / "index.json").write_text('["x"]')
    args = ["train", str(one_product), "--out", str(tmp_path / "out")]
    p = cli.run(*args, "--base-weights", str(base_weights), "--epochs", "2", timeout=120)
    one_error(p, "at least two products")
    notes = [ln for ln in p.stderr.splitlines() if ln.startswith("note: ") and DAMAGED_TAG in ln]
    assert len(notes) == 2, p.stderr
    assert any("selection.json" in n and "not a JSON object" in n for n in notes), notes
    assert any("index.json" in n for n in notes), notes
    # kept aside, byte for byte; the owner's photo is untouched
    (aside,) = store.glob(f"selection.json{DAMAGED_TAG}*")
    assert aside.read_text() == "[1]" and not (store / "selection.json").exists()
    (aside,) = (store / "added").glob(f"index.json{DAMAGED_TAG}*")
    assert aside.read_text() == '["x"]'
    assert (added / "mine.jpg").is_file()
    log = (paths.log_dir() / "trainer.log").read_text(encoding="utf-8")
    assert "selection.json" in log and DAMAGED_TAG in log


def test_a_named_pipe_as_an_app_file_is_set_aside(
    cli: Cli, one_product: Path, tmp_path: Path
) -> None:
    store = _store_root(one_product)
    os.mkfifo(store / "selection.json")
    p = cli.run("train", str(one_product), "--out", str(tmp_path / "out"), "--epochs", "2")
    one_error(p)
    assert "not a regular file (a named pipe)" in p.stderr
    assert list(store.glob(f"selection.json{DAMAGED_TAG}*"))


def test_settings_and_sessions_of_the_wrong_shape_are_set_aside() -> None:
    from app.core.shop import sessions

    settings = paths.Settings.path()
    settings.write_text('{"epochs": "many", "last_folder": "/shop"}')
    assert paths.Settings.load() == paths.Settings()  # defaults, no crash
    assert list(settings.parent.glob(f"settings.json{DAMAGED_TAG}*"))
    settings.write_text('{"epochs": 12, "alpha": 1, "future_key": [1]}')
    loaded = paths.Settings.load()
    assert (loaded.epochs, loaded.alpha) == (12, 1.0)  # the right shape is used as it is
    for bad in ('{"accept_target": NaN}', '{"alpha": Infinity}', '{"seed": 1' + "0" * 400 + "}"):
        settings.write_text(bad)  # Python's JSON reads them; the Train screen's fields broke
        assert paths.Settings.load() == paths.Settings(), bad

    index = sessions.sessions_path()
    index.write_text('{"https://shop.example": "token"}')
    assert sessions.load("https://shop.example") is None
    sessions.save("https://other.example", sessions.SavedSession("t", "me"))
    (aside,) = index.parent.glob(f"{index.name}{DAMAGED_TAG}*")  # not overwritten by save
    assert "token" in aside.read_text()


def test_an_app_file_held_for_a_moment_by_another_program_is_read_not_set_aside(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Windows: a virus scanner or backup holding settings.json for a moment made it
    "damaged" at once; its set-aside failed the same way, the defaults were used, and
    the next save wrote over the owner's settings (a data-loss audit). Reading is tried
    again for about two seconds; a file that stays unreadable is still set aside."""
    from app.core import readers

    settings = paths.Settings.path()
    settings.write_text('{"epochs": 12, "last_folder": "/shop"}')
    real, held = readers.read_regular, [2]

    def busy_then_free(path, *a, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
        if held[0]:
            held[0] -= 1
            raise PermissionError(13, "The process cannot access the file", str(path))
        return real(path, *a, **kw)

    monkeypatch.setattr(readers, "read_regular", busy_then_free)
    loaded = paths.Settings.load()
    assert (loaded.epochs, loaded.last_folder) == (12, "/shop") and held == [0]
    assert not list(settings.parent.glob(f"settings.json{DAMAGED_TAG}*"))
    held[0] = 99  # never free: the defaults, the file set aside as before
    assert paths.Settings.load() == paths.Settings()
    assert list(settings.parent.glob(f"settings.json{DAMAGED_TAG}*"))


# --- 5: damaged stored versions ---------------------------------------------------------


def _rewrite(version: Path, name: str, data: bytes) -> None:
    """Replaces one file of a stored version and its manifest entry, consistently."""
    (version / name).write_bytes(data)
    manifest = json.loads((version / "manifest.json").read_text())
    for entry in manifest["files"]:
        if entry["name"] == name:
            entry.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
    (version / "manifest.json").write_text(json.dumps(manifest))


def _variant(tm_export: Path, dest: Path, stamp: str) -> Path:
    shutil.copytree(tm_export, dest)
    meta = json.loads((dest / "metadata.json").read_text(encoding="utf-8"))
    meta["timeStamp"] = stamp
    (dest / "metadata.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return dest


def test_damaged_stored_versions_are_listed_and_refused(
    cli: Cli, tmp_path: Path, tm_export: Path
) -> None:
    folder = tmp_path / "assets"
    for n in range(2):  # two versions: the second is served, the first damaged below
        model = _variant(tm_export, tmp_path / f"model{n}", f"2026-01-0{n + 1}T00:00:00Z")
        p = cli.run("publish", str(model), "--to-folder", str(folder), "--channel-id", "1")
        assert p.returncode == 0, p.stdout + p.stderr
    meta = json.loads((tm_export / "metadata.json").read_text(encoding="utf-8"))
    versions = sorted((folder / "1" / ".versions").iterdir())
    assert len(versions) == 2
    old = versions[0]
    meta["labels"] = 5
    _rewrite(old, "metadata.json", json.dumps(meta).encode())
    p = cli.run("status", "--to-folder", str(folder), "--channel-id", "1")
    assert p.returncode == 0 and "Traceback" not in p.stdout + p.stderr, p.stdout + p.stderr
    line = next(ln for ln in p.stdout.splitlines() if old.name in ln)
    assert "? products (damaged: metadata.json has no list of labels)" in line, p.stdout
    served = (folder / "1" / "latest" / "metadata.json").read_bytes()
    p = cli.run("rollback", old.name, "--to-folder", str(folder), "--channel-id", "1")
    one_error(p, old.name, "is damaged", "cannot be served")
    assert (folder / "1" / "latest" / "metadata.json").read_bytes() == served

    manifest = json.loads((old / "manifest.json").read_text())
    manifest["files"] = [f["name"] for f in manifest["files"]]
    (old / "manifest.json").write_text(json.dumps(manifest))
    p = cli.run("rollback", old.name, "--to-folder", str(folder), "--channel-id", "1")
    one_error(p, old.name)
    p = cli.run("status", "--to-folder", str(folder), "--channel-id", "1")
    assert p.returncode == 0 and "Traceback" not in p.stdout + p.stderr, p.stdout + p.stderr


# --- 6: output that is not UTF-8 --------------------------------------------------------

CP1252 = {"PYTHONIOENCODING": "cp1252"}


def test_names_a_cp1252_log_cannot_hold_are_replaced(
    cli: Cli, tm_export: Path, tmp_path: Path
) -> None:
    """The reference export's labels are Korean: a cp1252 stream cannot hold them."""
    p = cli.run("inspect", str(tm_export), env=CP1252, encoding="cp1252", timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "labels (5):" in p.stdout and "?" in p.stdout
    missing = tmp_path / "🍎 model"
    p = cli.run("inspect", str(missing), env=CP1252, encoding="cp1252", timeout=60)
    one_error(p, "Model folder not found", "? model")


def test_training_a_product_named_with_an_emoji_succeeds_on_a_cp1252_log(
    cli: Cli, tmp_path: Path, grocery: Path, base_weights: Path
) -> None:
    shop = tmp_path / "shop"
    for name in ("Kiwi", "Banana", "Lime"):
        (shop / f"🍎 {name}").mkdir(parents=True)
        for src in sorted((grocery / "train/Fruit" / name).glob("*.jpg"))[:2]:
            shutil.copyfile(src, shop / f"🍎 {name}" / src.name)
    out = tmp_path / "out"
    args = ["train", str(shop), "--out", str(out), "--base-weights", str(base_weights)]
    p = cli.run(*args, "--epochs", "2", "--no-validate", env=CP1252, encoding="cp1252", timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Traceback" not in p.stdout + p.stderr
    assert "? Kiwi" in p.stdout and f"Wrote {out}" in p.stdout
    assert sorted(f.name for f in out.iterdir()) == ["metadata.json", "model.json", "weights.bin"]
    assert "stands out as weak" not in p.stdout  # --no-validate measured nothing to judge


def test_a_reader_that_leaves_early_is_no_error(cli: Cli, tm_export: Path) -> None:
    """`inspect model | head -1` printed "Error: Broken pipe" and exited 1."""
    import subprocess
    import sys

    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line
    try:
        p = subprocess.run(
            [sys.executable, "-m", "app", "inspect", str(tm_export)],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            cwd=Path(__file__).resolve().parents[2],
            env=cli.environment(None, ()),
        )
    finally:
        os.close(write)
    assert p.returncode == 141, p.stderr
    assert "Error" not in p.stderr and "Traceback" not in p.stderr, p.stderr
