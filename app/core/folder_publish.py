"""Publishing to a folder: the plugin's versioned layout, for shops without the plugin.

Some shops serve their assets folder themselves, or copy it to the server by hand.
They get the same layout the Vendure plugin keeps (``ml-model-storage.ts``), so the
tills load ``<folder>/<channelId>/latest/model.json`` either way and a later switch to
the plugin keeps the history::

    <folder>/<channelId>/.versions/<version>/{model.json,weights.bin,metadata.json,manifest.json}
    <folder>/<channelId>/latest/                 a copy of the served version
    <folder>/<channelId>/.tmp/                   work in progress
    <folder>/<channelId>/.lock                   held while a publish or rollback runs

``latest`` is a real folder (not the plugin's symlink) so that copying the folder by
hand, to Windows or a USB stick, keeps working. It is replaced whole with the atomic
folder swap of :mod:`app.core.export` (``renameat2(RENAME_EXCHANGE)`` on Linux), so a
till reading it sees the old three files or the new three, never a mix. Its
``manifest.json`` (the plugin's format plus ``version``) says which version it is.
Earlier versions stay in ``.versions`` for rollback; the newest ``keep`` are kept.
A version is served (published, rolled back to) only when its manifest lists the three
files and they match it; ``status`` lists only versions that could be served, and a
publish that fails before its version is served removes that version. Publishes and
rollbacks of one channel folder take turns (``.lock``, an OS lock, as the plugin
serialises them per channel): one that waits longer than ``wait_s`` changes nothing
and says so (:class:`FolderBusy`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import secrets
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ModelFilesError, TrainerError
from .locks import LockBusy, exclusive_lock
from .modelfiles import FILES, WEIGHTS_SHA256, read_model_files
from .outdir import swap_into_place
from .progress import ProgressHook, Reporter, check_cancel
from .readers import parse_json, read_json

MANIFEST = "manifest.json"
KEEP_VERSIONS = 10
VERSION_RE = re.compile(r"^\d{8}T\d{9}Z-[0-9a-f]{6}$")  # the plugin's version names
CHANNEL_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # the plugin's channel folder names
LOCK_WAIT_S = 120.0  # a publish takes seconds; one waiting longer is told, not queued forever


class FolderPublishError(TrainerError):
    """Publishing to (or rolling back in) a folder failed; what was served stays served."""


class FolderBusy(FolderPublishError):
    """Another publish or rollback of the channel folder held it for the whole wait."""


def check_channel_id(text: str) -> str:
    """The one check of a shop channel id (``train --channel-id``, the folder layout,
    metadata.json): the plugin's channel folder names, so it is never a path."""
    channel_id = str(text).strip()
    if not CHANNEL_RE.fullmatch(channel_id):
        raise FolderPublishError(
            f"“{channel_id}” is not a shop channel id (letters, digits, - and _ only), "
            "e.g. 1 for the default channel."
        )
    return channel_id


def channel_id_arg(text: str) -> str:
    """argparse type for ``--channel-id``: refused at parse time, with :func:`check_channel_id`."""
    try:
        return check_channel_id(text)
    except FolderPublishError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


@dataclass(frozen=True)
class FolderPublishResult:
    version: str
    channel_id: str
    latest: Path  # the folder the tills load from
    metadata: dict[str, Any]
    reused: bool  # the same files were already served: nothing was written


def new_version_name(at: dt.datetime | None = None) -> str:
    """``20261125T225342123Z-1a2b3c``: UTC to the millisecond, sortable (the plugin's names)."""
    t = (at or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    return t.strftime("%Y%m%dT%H%M%S") + f"{t.microsecond // 1000:03d}Z-" + secrets.token_hex(3)


def channel_dir(root: Path | str, channel_id: str) -> Path:
    return Path(root).expanduser().resolve() / check_channel_id(channel_id)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_durably(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    """A manifest of the plugin's shape (each file entry an object with a name, a size
    and a sha256), or None: missing, not JSON, or damaged."""
    try:
        raw = read_json(folder / MANIFEST)
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict) or raw.get("format") != 1:
        return None
    files = raw.get("files")
    if not isinstance(files, list) or not all(_is_entry(f) for f in files):
        return None
    return raw


def _is_entry(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("name"), str)
        and isinstance(entry.get("size"), int)
        and isinstance(entry.get("sha256"), str)
    )


def _hashes(manifest: dict[str, Any] | None) -> dict[str, str]:
    return {
        str(f.get("name")): str(f.get("sha256"))
        for f in (manifest or {}).get("files", [])
        if isinstance(f, dict)
    }


def served_version(chdir: Path) -> str | None:
    """The version ``latest`` holds, from its manifest; None when nothing is served."""
    m = _read_manifest(chdir / "latest")
    v = (m or {}).get("version")
    return v if isinstance(v, str) and VERSION_RE.fullmatch(v) else None


def _version_names(chdir: Path) -> list[str]:
    try:
        names = [p.name for p in (chdir / ".versions").iterdir() if p.is_dir()]
    except OSError:
        return []
    return sorted((n for n in names if VERSION_RE.fullmatch(n)), reverse=True)


def _version_problem(vdir: Path, manifest: dict[str, Any] | None, *, full: bool) -> str | None:
    """Why a stored version cannot be served, completing "Model version X …"; None: it can.

    Its manifest must list each of the three files once, and each must have the listed
    size; ``full`` (before serving it) also compares every byte (sha256) and weights.bin
    with metadata.json's ``weightsSha256``. ``status`` uses the sizes alone.
    """
    if manifest is None:
        return "has no readable manifest.json"
    entries = [f for f in manifest["files"] if isinstance(f, dict)]
    listed = {str(f.get("name")): f for f in entries}
    missing = [n for n in FILES if n not in listed]
    if missing or len(manifest["files"]) != len(FILES):
        what = ", ".join(missing) or "each model file once"
        return f"is incomplete (its manifest.json does not list {what})"
    data: dict[str, bytes] = {}
    for name in FILES:
        p = vdir / name
        try:
            if full:
                data[name] = p.read_bytes()
            size = len(data[name]) if full else p.stat().st_size
        except OSError:
            return f"is incomplete ({name} is missing)"
        want = listed[name].get("size")
        if size != want:
            return f"is incomplete ({name} holds {size} bytes, its manifest says {want})"
        if full and _sha256(data[name]) != listed[name].get("sha256"):
            return f"was changed on disk ({name} differs from its manifest)"
    if full:
        try:
            meta = parse_json(data["metadata.json"])
        except ValueError:
            return "was changed on disk (metadata.json is not JSON)"
        checksum = meta.get(WEIGHTS_SHA256) if isinstance(meta, dict) else None
        if checksum is not None and checksum != _sha256(data["weights.bin"]):
            return f"was changed on disk (weights.bin does not match its {WEIGHTS_SHA256})"
    return None


def _check_version(vdir: Path) -> dict[str, Any]:
    """The manifest of a stored version whose three files are all there and unchanged."""
    manifest = _read_manifest(vdir)
    problem = _version_problem(vdir, manifest, full=True)
    if problem is not None or manifest is None:
        raise FolderPublishError(f"Model version {vdir.name} {problem} and cannot be served.")
    try:  # files that match a consistent manifest can still be a broken model
        read_model_files(vdir)
    except ModelFilesError as exc:
        raise FolderPublishError(
            f"Model version {vdir.name} is damaged ({exc}) and cannot be served."
        ) from None
    return manifest


@contextmanager
def _channel_turn(chdir: Path, wait_s: float, on_wait: Any = None) -> Iterator[None]:
    """This process's turn at the channel folder (its ``.lock``), waiting up to ``wait_s``
    for another publish or rollback; :class:`FolderBusy` (nothing changed) after that."""
    with ExitStack() as held:
        try:
            held.enter_context(
                exclusive_lock(chdir / ".lock", wait_s=wait_s, on_wait=on_wait, mode=0o666)
            )
        except LockBusy as exc:
            raise FolderBusy(
                f"Another publish or rollback of channel {chdir.name} in {chdir.parent} is "
                f"still running after {exc.waited_s:.0f} s; nothing was changed. Try again, "
                "or wait longer with --lock-wait SECONDS."
            ) from None
        yield


def _serve(chdir: Path, version: str) -> None:
    """Make ``latest`` a copy of ``version``: copied beside it, then swapped in whole."""
    src = chdir / ".versions" / version
    tmp_root = chdir / ".tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="latest-", dir=tmp_root))
    try:
        for name in (*FILES, MANIFEST):
            _write_durably(tmp / name, (src / name).read_bytes())
        swap_into_place(tmp, chdir / "latest")  # the old `latest` ends up in tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _describe(chdir: Path, version: str, current: str | None) -> dict[str, Any]:
    vdir = chdir / ".versions" / version
    manifest = _read_manifest(vdir) or {}
    damaged = None
    try:
        meta = read_json(vdir / "metadata.json")
    except (OSError, ValueError) as exc:
        meta, damaged = {}, f"metadata.json cannot be read: {exc}"
    if not isinstance(meta, dict):
        meta, damaged = {}, "metadata.json is not a JSON object"
    labels = meta.get("labels")
    if damaged is None and not (
        isinstance(labels, list) and all(isinstance(x, str) for x in labels)
    ):
        damaged = "metadata.json has no list of labels"
    trained = meta.get("trainedAt")
    return {
        "version": version,
        "trainedAt": trained if isinstance(trained, str) else None,
        "createdAt": manifest.get("createdAt"),
        "current": version == current,
        "files": manifest.get("files", []),
        "metadata": meta,
        "products": len(labels) if damaged is None else None,
        "damaged": damaged,  # None, or why the version's metadata cannot be used
    }


def folder_status(root: Path | str, channel_id: str) -> dict[str, Any]:
    """``{"current": version | None, "versions": [...], "incomplete": [...]}``, newest
    first (as the plugin's). ``versions`` are those that could be served; a stored
    version that could not (cut short, files missing from its manifest) is never listed
    there but in ``incomplete``, as ``{"version", "reason"}``."""
    chdir = channel_dir(root, channel_id)
    current = served_version(chdir)
    versions, incomplete = [], []
    for v in _version_names(chdir):
        vdir = chdir / ".versions" / v
        problem = _version_problem(vdir, _read_manifest(vdir), full=False)
        if problem is None:
            versions.append(_describe(chdir, v, current))
        else:
            incomplete.append({"version": v, "reason": problem})
    return {
        "current": next((v for v in versions if v["current"]), None),
        "versions": versions,
        "incomplete": incomplete,
    }


def _prune(chdir: Path, keep: int, served: str) -> None:
    for name in _version_names(chdir)[keep:]:
        if name != served:
            shutil.rmtree(chdir / ".versions" / name, ignore_errors=True)


def _store_version(
    chdir: Path,
    data: dict[str, bytes],
    hashes: dict[str, str],
    rep: Reporter,
    cancel: threading.Event | None,
) -> str:
    """The three files and their manifest as a new version in ``.versions`` (written in
    ``.tmp`` and renamed in whole); its name."""
    (chdir / ".versions").mkdir(parents=True, exist_ok=True)
    (chdir / ".tmp").mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="upload-", dir=chdir / ".tmp"))
    try:
        for i, name in enumerate(FILES):
            check_cancel(cancel)
            rep("uploading", 0.1 + 0.6 * i / len(FILES), f"Copying {name}")
            _write_durably(tmp / name, data[name])
        version = new_version_name()
        manifest = {
            "format": 1,
            "createdAt": dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z"),
            "files": [{"name": n, "size": len(data[n]), "sha256": hashes[n]} for n in FILES],
            "version": version,
        }
        _write_durably(tmp / MANIFEST, json.dumps(manifest).encode("utf-8"))
        check_cancel(cancel)  # the last point where stopping changes nothing
        os.replace(tmp, chdir / ".versions" / version)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return version


def publish_to_folder(
    model_dir: Path | str,
    root: Path | str,
    channel_id: str | None = None,
    *,
    keep: int = KEEP_VERSIONS,
    wait_s: float = LOCK_WAIT_S,
    on_progress: ProgressHook | None = None,
    cancel: threading.Event | None = None,
) -> FolderPublishResult:
    """Store the model as a new version under ``root/<channelId>`` and serve it.

    ``channel_id`` defaults to the model's own ``channelId``; a model trained for one
    channel is never published under another (the plugin refuses that too). Waits up to
    ``wait_s`` for another publish or rollback of the channel folder to finish.
    """
    rep = Reporter(on_progress, cancel)
    rep("exporting", 0.0, "Checking the model files")
    files = read_model_files(model_dir)  # the one validator; these bytes are what we copy
    own = str(files.metadata.get("channelId") or "").strip()
    chosen = str(channel_id or "").strip() or own
    if not chosen:
        raise FolderPublishError(
            "This model does not say which shop channel it is for: give the channel id "
            "(1 for a shop's default channel)."
        )
    chdir = channel_dir(root, chosen)  # a valid folder name before anything else
    if own and own != chosen:
        raise FolderPublishError(
            f"This model was trained for channel {own}, not {chosen}; publish it under {own} "
            "or train it for that channel."
        )
    hashes = {n: _sha256(b) for n, b in files.files.items()}
    waiting = "Waiting for another publish to this channel folder to finish"
    try:
        with _channel_turn(chdir, wait_s, lambda: rep("uploading", 0.05, waiting)):
            served = served_version(chdir)
            if served is not None:
                old = _hashes(_read_manifest(chdir / ".versions" / served))
                if all(old.get(n) == h for n, h in hashes.items()):
                    return FolderPublishResult(
                        served, chosen, chdir / "latest", files.metadata, True
                    )
            version = _store_version(chdir, files.files, hashes, rep, cancel)
            rep("uploading", 0.8, "Switching the served model")
            try:
                _serve(chdir, version)
            except BaseException:
                if served_version(chdir) != version:  # never served: not kept either
                    shutil.rmtree(chdir / ".versions" / version, ignore_errors=True)
                raise
            _prune(chdir, keep, version)
    except OSError as exc:
        raise FolderPublishError(
            f"Could not publish to {chdir}: {exc.strerror or exc}. What was served before "
            "is still served."
        ) from None
    rep("verifying", 1.0, "Published")
    return FolderPublishResult(version, chosen, chdir / "latest", files.metadata, False)


def rollback_folder(
    root: Path | str, channel_id: str, version: str, *, wait_s: float = LOCK_WAIT_S
) -> dict[str, Any]:
    """Serve an earlier stored version again (checked against its manifest first)."""
    if not VERSION_RE.fullmatch(version):
        raise FolderPublishError(f"“{version}” is not a model version name.")
    chdir = channel_dir(root, channel_id)
    vdir = chdir / ".versions" / version
    if not vdir.is_dir():
        raise FolderPublishError(f"Model version {version} does not exist in {chdir}.")
    try:
        with _channel_turn(chdir, wait_s):
            _check_version(vdir)
            _serve(chdir, version)
    except OSError as exc:
        raise FolderPublishError(
            f"Could not switch versions in {chdir}: {exc.strerror or exc}. "
            "The current model stays served."
        ) from None
    return _describe(chdir, version, version)


def save_copy(model_dir: Path | str, dest: Path | str) -> Path:
    """Copy the three files into ``dest`` (a new folder, or one holding an earlier copy).

    Written beside ``dest`` and swapped in whole, like an export, so an interrupted copy
    never leaves a mix of two models.
    """
    files = read_model_files(model_dir)
    out = Path(dest).expanduser().resolve()
    if out == files.dir.resolve():
        return out
    if out.exists() and not out.is_dir():
        raise FolderPublishError(f"{out} exists and is not a folder.")
    if out.is_dir():
        extra = sorted(p.name for p in out.iterdir() if p.name not in FILES)
        if extra:
            raise FolderPublishError(
                f"{out} already holds other files ({', '.join(extra[:3])}); choose an empty "
                "folder or one with an earlier copy of a model."
            )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
        try:
            for name in FILES:
                _write_durably(tmp / name, files.files[name])
            swap_into_place(tmp, out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError as exc:
        why = exc.strerror or exc
        raise FolderPublishError(f"Could not copy the model to {out}: {why}") from None
    return out


# -- command line ---------------------------------------------------------------------
def add_folder_arguments(subparsers: Any) -> None:
    """Gives ``publish``/``status``/``rollback`` a ``--to-folder DIR`` form.

    The shop commands stay as they are; with ``--to-folder`` the server options are not
    needed and the folder functions run instead. Errors are :class:`TrainerError`, so
    ``app.cli.main`` prints one ``Error: …`` line and exits 1.
    """
    for name in ("publish", "status", "rollback"):
        p = subparsers.choices.get(name)
        if p is None:
            continue
        p.add_argument(
            "--to-folder",
            type=Path,
            metavar="DIR",
            help="a folder instead of a shop server: DIR/<channelId>/latest/ is what tills load",
        )
        p.add_argument(
            "--channel-id",
            dest="folder_channel_id",
            type=channel_id_arg,
            metavar="ID",
            help="channel id of the folder layout (publish: defaults to the model's own)",
        )
        if name != "status":
            p.add_argument(
                "--lock-wait",
                type=_seconds,
                default=LOCK_WAIT_S,
                metavar="SECONDS",
                help="with --to-folder: how long to wait for another publish or rollback of "
                f"the channel folder (default {LOCK_WAIT_S:g}; then exit code 4, nothing "
                "changed)",
            )
        server_args = []
        for action in p._actions:
            if action.dest in ("server", "channel", "username") and action.required:
                action.required = False
                server_args.append(action.option_strings[0])
        shop_cmd = p.get_default("func")
        p.set_defaults(func=_either(name, shop_cmd, server_args))


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, not {text!r}") from None
    if not 0 <= value <= 86400:  # nan fails too
        raise argparse.ArgumentTypeError(f"must be from 0 to 86400 seconds, not {text}")
    return value


def _busy(run: Any) -> int:
    """Exit code 4 (as ``sync``'s busy channel) when the folder stayed taken; one line."""
    import sys

    try:
        return int(run())
    except FolderBusy as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 4


def _either(name: str, shop_cmd: Any, server_args: list[str]) -> Any:
    def run(args: Any) -> int:
        if args.to_folder is not None:
            return {"publish": _cmd_publish, "status": _cmd_status, "rollback": _cmd_rollback}[
                name
            ](args)
        missing = [a for a in server_args if not getattr(args, a.lstrip("-").replace("-", "_"))]
        if missing:
            raise TrainerError(f"{name} needs {', '.join(missing)} (or --to-folder DIR)")
        return int(shop_cmd(args))

    return run


def _cmd_publish(args: Any) -> int:
    import sys

    def show(p: Any) -> None:
        print(f"  {int(100 * p.fraction):3d}%  {p.message}", file=sys.stderr, flush=True)

    def run() -> int:
        r = publish_to_folder(
            args.model_dir,
            args.to_folder,
            args.folder_channel_id,
            wait_s=args.lock_wait,
            on_progress=show,
        )
        n = len(r.metadata.get("labels", []))
        again = " (already served: nothing copied)" if r.reused else ""
        print(f"Published version {r.version} ({n} products) in {r.latest}{again}")
        return 0

    return _busy(run)


def _need_channel(args: Any) -> str:
    if not args.folder_channel_id:
        raise FolderPublishError("--to-folder needs --channel-id ID (the folder per channel)")
    return str(args.folder_channel_id)


def _cmd_status(args: Any) -> int:
    channel = _need_channel(args)
    st = folder_status(args.to_folder, channel)
    chdir = channel_dir(args.to_folder, channel)
    cur = st["current"]
    if cur is None:
        print(f"Channel {channel} in {chdir}: no model published yet.")
    else:
        print(
            f"Channel {channel} serves version {cur['version']} (trained "
            f"{cur['trainedAt'] or '?'}, {_products(cur)}) from {chdir / 'latest'}"
        )
    for v in st["versions"]:
        mark = "*" if v["current"] else " "
        print(f" {mark} {v['version']}  trained {v['trainedAt'] or '?'}  {_products(v)}")
    for v in st["incomplete"]:
        print(f"   not listed: version {v['version']} {v['reason']}, so it cannot be served")
    return 0


def _products(v: dict[str, Any]) -> str:
    """ "12 products", or why a stored version's metadata cannot say."""
    if v["damaged"]:
        return f"? products (damaged: {v['damaged']})"
    return f"{v['products']} products"


def _cmd_rollback(args: Any) -> int:
    channel = _need_channel(args)

    def run() -> int:
        v = rollback_folder(args.to_folder, channel, args.version, wait_s=args.lock_wait)
        print(f"Channel {channel} now serves version {v['version']} (trained {v['trainedAt']}).")
        return 0

    return _busy(run)
