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
and says so (:class:`FolderBusy`). A model someone put in ``latest`` by hand is kept as
a version before it is replaced (the plugin does the same); other files there are
refused, never deleted. The folders get the umask's mode, so a web server running as
another user can read them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import Cancelled, ExportError, ModelFilesError
from .faults import os_reason
from .folder_versions import (
    CHANNEL_RE,
    LOCK_WAIT_S,
    MANIFEST,
    VERSION_RE,
    FolderBusy,
    FolderPublishError,
    channel_dir,
    check_channel_id,
    check_version,
    describe_version,
    folder_status,
    foreign_files,
    manifest_hashes,
    new_version_name,
    read_manifest,
    served_version,
    serves_something,
    sha256_hex,
    version_names,
    version_problem,
)
from .locks import LockBusy, exclusive_lock
from .model_format import FILES
from .modelfiles import read_model_files
from .outdir import check_target, folder_mode, replace_waiting, swap_into_place
from .paths import resolved, write_durably
from .progress import Phase, ProgressHook, Reporter, check_cancel
from .wording import some_names, upper_first

__all__ = [  # the layout's names, imported from here before folder_versions split off
    "CHANNEL_RE",
    "MANIFEST",
    "VERSION_RE",
    "FolderBusy",
    "FolderPublishError",
    "FolderPublishResult",
    "KEEP_VERSIONS",
    "LOCK_WAIT_S",
    "channel_dir",
    "check_channel_id",
    "folder_status",
    "new_version_name",
    "publish_to_folder",
    "rollback_folder",
    "save_copy",
    "served_version",
]

KEEP_VERSIONS = 10


@dataclass(frozen=True)
class FolderPublishResult:
    version: str
    channel_id: str
    latest: Path  # the folder the tills load from
    metadata: dict[str, Any]
    reused: bool  # the same files were already served: nothing was written


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


def _work_dir(chdir: Path, prefix: str) -> Path:
    """A new folder in ``.tmp`` with the mode a served folder needs (``mkdtemp`` makes
    0700: a web server running as another user answered 404 for the whole model)."""
    tmp_root = chdir / ".tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=tmp_root))
    os.chmod(tmp, folder_mode(tmp_root / "never"))
    return tmp


def _sweep_tmp(chdir: Path) -> None:
    """Remove what killed publishes left in ``.tmp`` (a model's size each). Called with
    the channel's turn held, so no other publish or rollback is writing there."""
    try:
        entries = list((chdir / ".tmp").iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _serve(chdir: Path, version: str) -> None:
    """Make ``latest`` a copy of ``version``: copied beside it, then swapped in whole."""
    src = chdir / ".versions" / version
    tmp = _work_dir(chdir, "latest-")
    try:
        for name in (*FILES, MANIFEST):
            write_durably(tmp / name, (src / name).read_bytes())
        swap_into_place(tmp, chdir / "latest")  # the old `latest` ends up in tmp
    finally:
        if tmp.is_symlink() or tmp.is_file():  # `latest` was a link (the plugin's) or a file
            tmp.unlink(missing_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)


def _keep_foreign_latest(chdir: Path, rep: Reporter, cancel: threading.Event | None) -> None:
    """Before ``latest`` is replaced: a model served there by hand (copied in, a
    Teachable Machine export) is kept as a version first, as the plugin does, so it can
    be rolled back to. Files that are not a model, or files beside a model, are refused:
    replacing ``latest`` deleted them."""
    latest = chdir / "latest"
    if latest.is_symlink() or not latest.exists():
        return  # nothing there, or the plugin's link: its target stays
    if not latest.is_dir():
        raise FolderPublishError(
            f"{latest} is a file, not the folder the tills load from; move it away, then "
            "try again. Nothing was changed."
        )
    names = sorted(p.name for p in latest.iterdir())
    if extra := foreign_files(chdir):
        raise FolderPublishError(
            f"{latest} holds files this app did not put there ({some_names(extra)}), which "
            "replacing it would delete; move them out of it, then try again. Nothing was "
            "changed."
        )
    if not names or served_version(chdir) is not None:
        return
    try:
        files = read_model_files(latest)
    except ModelFilesError as exc:
        raise FolderPublishError(
            f"{latest} holds files that are not a whole model ({exc}), which replacing it "
            "would delete; move them away, then try again. Nothing was changed."
        ) from None
    hashes = {n: sha256_hex(b) for n, b in files.files.items()}
    for v in version_names(chdir):
        vdir = chdir / ".versions" / v
        manifest = read_manifest(vdir)
        if manifest_hashes(manifest) == hashes and not version_problem(vdir, manifest, full=False):
            return  # kept by an earlier publish that then failed
    # named now, as it is kept now: named by its files' (older) time it sorted last and
    # the same publish's pruning deleted it, after "Keeping the model served before"
    rep(Phase.UPLOADING, 0.05, "Keeping the model served before as a version")
    _store_version(chdir, new_version_name(chdir), files.files, hashes, rep, cancel)


def _reusable(chdir: Path, served: str | None, hashes: dict[str, str]) -> str | None:
    """ "as is" when ``latest`` holds these very files and their stored version is
    intact; "serve again" when only ``latest`` lost them (its stored copy repairs it);
    None: store a new version (nothing served, other files, or a damaged stored copy,
    which could no longer be rolled back to)."""
    if served is None:
        return None
    vdir = chdir / ".versions" / served
    manifest = read_manifest(vdir)
    stored = manifest_hashes(manifest)
    if any(stored.get(n) != h for n, h in hashes.items()):
        return None
    if version_problem(vdir, manifest, full=True) is not None:
        return None
    latest = chdir / "latest"  # the very check status warns by: the two always agree
    served_files = read_manifest(latest)
    intact = manifest_hashes(served_files) == stored
    intact = intact and version_problem(latest, served_files, full=True) is None
    return "as is" if intact else "serve again"


def _prune(chdir: Path, keep: int, served: str) -> None:
    for name in version_names(chdir)[keep:]:
        if name != served:
            shutil.rmtree(chdir / ".versions" / name, ignore_errors=True)


def _store_version(
    chdir: Path,
    version: str,
    data: dict[str, bytes],
    hashes: dict[str, str],
    rep: Reporter,
    cancel: threading.Event | None,
) -> None:
    """The three files and their manifest as ``.versions/<version>`` (written in
    ``.tmp`` and renamed in whole)."""
    (chdir / ".versions").mkdir(parents=True, exist_ok=True)
    tmp = _work_dir(chdir, "upload-")
    try:
        for i, name in enumerate(FILES):
            check_cancel(cancel)
            rep(Phase.UPLOADING, 0.1 + 0.6 * i / len(FILES), f"Copying {name}")
            write_durably(tmp / name, data[name])
        manifest = {
            "format": 1,
            "createdAt": dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z"),
            "files": [{"name": n, "size": len(data[n]), "sha256": hashes[n]} for n in FILES],
            "version": version,
        }
        write_durably(tmp / MANIFEST, json.dumps(manifest).encode("utf-8"))
        check_cancel(cancel)  # the last point where stopping changes nothing
        replace_waiting(tmp, chdir / ".versions" / version)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _switched(channel_id: str, version: str) -> Cancelled:
    """Ctrl-C or ``kill`` during the switch acts once it is done (the swap defers it):
    the command must say what happened, not "nothing was changed"."""
    return Cancelled(
        f"Interrupted after the switch: channel {channel_id} now serves version {version}."
    )


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
    rep(Phase.EXPORTING, 0.0, "Checking the model files")
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
    hashes = {n: sha256_hex(b) for n, b in files.files.items()}
    waiting = "Waiting for another publish to this channel folder to finish"
    try:
        with _channel_turn(chdir, wait_s, lambda: rep(Phase.UPLOADING, 0.05, waiting)):
            _sweep_tmp(chdir)
            served = served_version(chdir)
            reuse = _reusable(chdir, served, hashes)
            if reuse == "as is":
                assert served is not None
                return FolderPublishResult(served, chosen, chdir / "latest", files.metadata, True)
            _keep_foreign_latest(chdir, rep, cancel)
            if reuse == "serve again":  # `latest` was changed on disk: the stored copy repairs it
                assert served is not None
                version = served
                rep(Phase.UPLOADING, 0.8, "Repairing the served model")
                try:
                    _serve(chdir, version)
                except KeyboardInterrupt:
                    raise _switched(chosen, version) from None
                rep(Phase.VERIFYING, 1.0, "Published")
                return FolderPublishResult(version, chosen, chdir / "latest", files.metadata, False)
            version = new_version_name(chdir)
            try:
                _store_version(chdir, version, files.files, hashes, rep, cancel)
                rep(Phase.UPLOADING, 0.8, "Switching the served model")
                _serve(chdir, version)
            except BaseException as exc:
                if served_version(chdir) == version:  # the switch was done, then interrupted
                    _prune(chdir, keep, version)
                    if isinstance(exc, KeyboardInterrupt):
                        raise _switched(chosen, version) from None
                    raise
                shutil.rmtree(chdir / ".versions" / version, ignore_errors=True)
                raise
            _prune(chdir, keep, version)
    except OSError as exc:
        before = (
            "What was served before is still served."
            if serves_something(chdir)
            else "Nothing was published."
        )
        raise FolderPublishError(
            f"Could not publish to {chdir}: {exc.strerror or exc}. {before}"
        ) from None
    rep(Phase.VERIFYING, 1.0, "Published")
    return FolderPublishResult(version, chosen, chdir / "latest", files.metadata, False)


def rollback_folder(
    root: Path | str,
    channel_id: str,
    version: str,
    *,
    wait_s: float = LOCK_WAIT_S,
    on_progress: ProgressHook | None = None,
) -> dict[str, Any]:
    """Serve an earlier stored version again (checked against its manifest first)."""
    if not VERSION_RE.fullmatch(version):
        raise FolderPublishError(f"“{version}” is not a model version name.")
    chdir = channel_dir(root, channel_id)
    vdir = chdir / ".versions" / version
    if not vdir.is_dir():
        raise FolderPublishError(f"Model version {version} does not exist in {chdir}.")
    rep = Reporter(on_progress, None)
    waiting = "Waiting for another publish or rollback of this channel folder to finish"
    try:
        with _channel_turn(chdir, wait_s, lambda: rep(Phase.UPLOADING, 0.05, waiting)):
            if not vdir.is_dir():  # the publish waited for kept only the newest versions
                raise FolderPublishError(
                    f"Model version {version} is no longer in {chdir}: a publish that ran "
                    "meanwhile removed it (it keeps the newest versions). Nothing was changed."
                )
            _sweep_tmp(chdir)
            check_version(vdir)
            _keep_foreign_latest(chdir, Reporter(None, None), None)
            try:
                _serve(chdir, version)
            except KeyboardInterrupt:
                if served_version(chdir) == version:
                    raise _switched(channel_id, version) from None
                raise
    except OSError as exc:
        raise FolderPublishError(
            f"Could not switch versions in {chdir}: {exc.strerror or exc}. "
            "The current model stays served."
        ) from None
    return describe_version(chdir, version, version)


def _same_files(folder: Path, files: dict[str, bytes]) -> bool:
    try:
        return all((folder / n).read_bytes() == b for n, b in files.items())
    except OSError:
        return False


def save_copy(model_dir: Path | str, dest: Path | str) -> Path:
    """Copy the three files into ``dest`` (a new folder, or one holding an earlier copy).

    Written beside ``dest`` and swapped in whole, like an export, so an interrupted copy
    never leaves a mix of two models.
    """
    files = read_model_files(model_dir)
    out = resolved(dest)
    if out == resolved(files.dir):
        return out
    if out.is_dir() and _same_files(out, files.files):  # the same model again (one not ours)
        return out
    try:  # train --out's rule: a Teachable Machine export there was replaced, and lost
        check_target(out)
    except ExportError as exc:
        raise FolderPublishError(f"{upper_first(str(exc))}.") from None
    except OSError as exc:
        raise FolderPublishError(f"Could not copy the model to {out}: {os_reason(exc)}") from None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
        os.chmod(tmp, folder_mode(out))
        try:
            for name in FILES:
                write_durably(tmp / name, files.files[name])
            swap_into_place(tmp, out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError as exc:
        why = exc.strerror or exc
        raise FolderPublishError(f"Could not copy the model to {out}: {why}") from None
    return out
