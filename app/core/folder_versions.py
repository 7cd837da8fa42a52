"""A channel folder's stored versions: names, manifests, and when one may be served.

The layout is the Vendure plugin's (``ml-model-storage.ts``), see
:mod:`app.core.folder_publish`. A version is served only when its ``manifest.json``
lists the three files once each and they match it (sizes; before serving, every byte
and metadata's ``weightsSha256``). Read-only here, ``status`` included: publishing writes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import time
from pathlib import Path
from typing import Any

from .errors import ModelFilesError, TrainerError
from .model_format import FILES, WEIGHTS_SHA256, weights_match
from .paths import resolved
from .readers import parse_json, read_json
from .timestamps import stamp_after
from .wording import some_names

MANIFEST = "manifest.json"
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


def channel_dir(root: Path | str, channel_id: str) -> Path:
    return resolved(root) / check_channel_id(channel_id)


def new_version_name(chdir: Path | None = None, at: dt.datetime | None = None) -> str:
    """``20261125T225342123Z-1a2b3c``: UTC to the millisecond, sortable (the plugin's
    names), and after every version ``chdir`` holds or serves, whatever the clock says
    (:func:`~app.core.timestamps.stamp_after`): versions are ordered and pruned by name."""
    taken = [] if chdir is None else [*version_names(chdir), served_version(chdir) or ""]
    return stamp_after(taken, 3, at) + "-" + secrets.token_hex(3)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(folder: Path) -> dict[str, Any] | None:
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


def manifest_hashes(manifest: dict[str, Any] | None) -> dict[str, str]:
    return {
        str(f.get("name")): str(f.get("sha256"))
        for f in (manifest or {}).get("files", [])
        if isinstance(f, dict)
    }


def served_version(chdir: Path) -> str | None:
    """The version ``latest`` holds, from its manifest; None when nothing is served."""
    m = read_manifest(chdir / "latest")
    v = (m or {}).get("version")
    return v if isinstance(v, str) and VERSION_RE.fullmatch(v) else None


def version_names(chdir: Path) -> list[str]:
    try:
        names = [p.name for p in (chdir / ".versions").iterdir() if p.is_dir()]
    except OSError:
        return []
    return sorted((n for n in names if VERSION_RE.fullmatch(n)), reverse=True)


def version_problem(vdir: Path, manifest: dict[str, Any] | None, *, full: bool) -> str | None:
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
        if full and sha256_hex(data[name]) != listed[name].get("sha256"):
            return f"was changed on disk ({name} differs from its manifest)"
    if full:
        try:
            meta = parse_json(data["metadata.json"])
        except ValueError:
            return "was changed on disk (metadata.json is not JSON)"
        if isinstance(meta, dict) and not weights_match(meta, data["weights.bin"]):
            return f"was changed on disk (weights.bin does not match its {WEIGHTS_SHA256})"
    return None


def check_version(vdir: Path) -> dict[str, Any]:
    """The manifest of a stored version whose three files are all there and unchanged."""
    manifest = read_manifest(vdir)
    problem = version_problem(vdir, manifest, full=True)
    if problem is not None or manifest is None:
        raise FolderPublishError(f"Model version {vdir.name} {problem} and cannot be served.")
    from .modelfiles import read_model_files  # NumPy: only when a version is served

    try:  # files that match a consistent manifest can still be a broken model
        read_model_files(vdir)
    except ModelFilesError as exc:
        raise FolderPublishError(
            f"Model version {vdir.name} is damaged ({exc}) and cannot be served."
        ) from None
    return manifest


def describe_version(
    chdir: Path, version: str, current: str | None, folder: Path | None = None
) -> dict[str, Any]:
    """A stored version for status; ``folder``: read from there instead (``latest``, when
    the served version's stored copy is gone or damaged)."""
    vdir = folder or chdir / ".versions" / version
    manifest = read_manifest(vdir) or {}
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


def _being_removed(vdir: Path, settle_s: float = 0.2) -> bool:
    """Whether a stored version that reads as incomplete is being deleted (a publish's
    pruning, read without its lock): gone a moment later. ``status`` listed such a
    version as "cannot be served" while a publish ran."""
    time.sleep(settle_s)
    return not vdir.exists()


def foreign_files(chdir: Path) -> list[str]:
    """The names in ``latest`` that this app never puts there (the owner's notes beside a
    model): a publish, which replaces ``latest``, refuses to delete them."""
    latest = chdir / "latest"
    if latest.is_symlink() or not latest.is_dir():
        return []
    try:
        return sorted(p.name for p in latest.iterdir() if p.name not in (*FILES, MANIFEST))
    except OSError:
        return []


def serves_something(chdir: Path) -> bool:
    """Whether ``latest`` holds anything (ours or not)."""
    try:
        return any((chdir / "latest").iterdir())
    except OSError:
        return False


def folder_status(root: Path | str, channel_id: str) -> dict[str, Any]:
    """``{"current": version | None, "versions": [...], "incomplete": [...],
    "served_problem": str | None}``, newest first (as the plugin's). ``versions`` are
    those that could be served; a stored version that could not (cut short, files
    missing from its manifest) is never listed there but in ``incomplete``, as
    ``{"version", "reason"}``. ``current`` is what ``latest`` serves, read from there
    when its stored copy is not listed. ``served_problem``: why ``latest`` is not the
    model its manifest names (changed on disk), or that it holds files this app did not
    publish; None when neither."""
    chdir = channel_dir(root, channel_id)
    if chdir.parent.exists() and not chdir.parent.is_dir():
        raise FolderPublishError(f"{chdir.parent} is not a folder.")
    current = served_version(chdir)
    versions, incomplete = [], []
    for v in version_names(chdir):
        vdir = chdir / ".versions" / v
        problem = version_problem(vdir, read_manifest(vdir), full=False)
        if problem is None:
            versions.append(describe_version(chdir, v, current))
        elif not _being_removed(vdir):  # a publish keeping only the newest ones
            incomplete.append({"version": v, "reason": problem})
    latest = chdir / "latest"
    served = next((v for v in versions if v["current"]), None)
    if current is not None and served is None:
        served = describe_version(chdir, current, current, folder=latest)
    problem = None
    if current is not None:
        why = version_problem(latest, read_manifest(latest), full=True)
        if why is not None:
            problem = (
                f"latest/ {why}, so the tills may fail to load it: publish the model again "
                "or roll back to repair it"
            )
    elif serves_something(chdir) and not foreign_files(chdir):
        problem = (
            "latest/ holds files this app did not publish (copied in by hand?); the next "
            "publish keeps a whole model there as a version first"
        )
    if extra := foreign_files(chdir):  # said before the publish they stop, not by it
        problem = (f"{problem}; " if problem else "") + (
            f"latest/ holds files this app did not put there ({some_names(extra)}): the "
            "next publish is refused until they are moved out of it"
        )
    return {
        "current": served,
        "versions": versions,
        "incomplete": incomplete,
        "served_problem": problem,
    }
