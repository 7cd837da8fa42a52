"""``publish``, ``status`` and ``rollback``: a shop channel, or ``--to-folder DIR``.

One command per job with one set of words for both targets
(:class:`app.core.flows.publish.PublishTarget`); the shop's ``status`` adds what
changed since the served model. A folder that stays taken by another publish or
rollback for the whole ``--lock-wait`` ends with exit code 4, as ``sync``'s busy
channel.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import ExitCode, InvalidOptions, TrainerError
from ..core.flows.changes import channel_status
from ..core.flows.login import ShopClient
from ..core.flows.publish import FolderBusy, FolderTarget, ModelVersion, Published, ShopTarget
from ..core.wording import format_when, renamed_channel
from .arguments import add_connection, add_folder, user_path
from .login import channel_from_args
from .progress import StderrProgress

if TYPE_CHECKING:
    from ..core.flows.changes import Changes

SERVER_ARGS = ("--server", "--channel")  # what a shop target needs; --to-folder replaces them


def add_parsers(sub: Any) -> None:
    cmd = sub.add_parser("publish", help="upload an exported model to a shop channel")
    cmd.add_argument("model_dir", metavar="MODEL_DIR", type=user_path)
    add_connection(cmd)
    add_folder(cmd, lock_wait=True)
    cmd.add_argument("--json", action="store_true", help="the result as one JSON object on stdout")
    cmd.set_defaults(func=run_publish)

    cmd = sub.add_parser("status", help="show the model a channel serves and its versions")
    add_connection(cmd)
    add_folder(cmd, lock_wait=False)
    cmd.add_argument("--json", action="store_true", help="the same as one JSON object on stdout")
    cmd.set_defaults(func=run_status)

    cmd = sub.add_parser("rollback", help="serve an earlier model version again")
    cmd.add_argument("version", metavar="VERSION")
    add_connection(cmd)
    add_folder(cmd, lock_wait=True)
    cmd.add_argument("--json", action="store_true", help="the result as one JSON object on stdout")
    cmd.set_defaults(func=run_rollback)


def run_publish(args: argparse.Namespace) -> int:
    _one_target("publish", args)
    progress = StderrProgress()
    if args.to_folder is not None:
        target = FolderTarget(args.to_folder, args.folder_channel_id, args.lock_wait)
        try:
            r = target.publish(args.model_dir, on_progress=progress)
        except FolderBusy as exc:
            return _busy(exc)
        progress.done()
        again = " (already served: nothing copied)" if r.reused else ""
        if args.json:
            return _published_json(r, args.folder_channel_id)
        print(f"Published version {r.version} ({r.products} products) in {r.location}{again}")
        return ExitCode.OK
    client = _shop("publish", args)
    r = ShopTarget(client).publish(args.model_dir, on_progress=progress)
    progress.done()
    if args.json:
        return _published_json(r, args.channel)
    again = " (already served: not uploaded again)" if r.reused else ""
    print(f"Published version {r.version} ({r.products} products) at {r.location}{again}")
    return ExitCode.OK


def _published_json(r: Published, channel: str | None) -> int:
    """``publish --json``: what a deploy script checks, without parsing English;
    ``channel`` as given (a folder's publish may take the model's own channel id)."""
    doc = {"channel": channel or r.metadata.get("channelId"), "version": r.version}
    _print_json({**doc, "products": r.products, "location": r.location, "reused": r.reused})
    return ExitCode.OK


def run_status(args: argparse.Namespace) -> int:
    _one_target("status", args)
    if args.to_folder is not None:
        channel = _folder_channel(args)
        if not Path(args.to_folder).exists():  # a publish makes it; status only reads
            raise InvalidOptions(
                f"{args.to_folder} does not exist (mistyped, or a disk not mounted?): no "
                "model was ever published there."
            )
        target = FolderTarget(args.to_folder, channel)
        st, chdir = target.status(), target.channel_dir
        if args.json:
            _print_json(
                {
                    "channel": channel,
                    "location": str(chdir / "latest"),
                    "served": _version_json(st.current) if st.current else None,
                    "servedProblem": st.served_problem,
                    "versions": [_version_json(v) for v in st.versions],
                    "unservable": [
                        {"version": u.version, "reason": u.reason} for u in st.unservable
                    ],
                }
            )
            return ExitCode.OK
        cur = st.current
        if cur is None and st.served_problem:  # files copied into latest/ by hand
            print(f"Channel {channel} in {chdir}: no version published by this app (see below).")
        elif cur is None:
            print(f"Channel {channel} in {chdir}: no model published yet.")
        else:
            print(
                f"Channel {channel} serves version {cur.version} (trained "
                f"{_when(cur.trained_at)}, {cur.products_text}) from {chdir / 'latest'}"
            )
        if st.served_problem:
            print(f"   Warning: {st.served_problem}.")
        _versions(st.versions)
        for u in st.unservable:
            print(f"   not listed: version {u.version} {u.reason}, so it cannot be served")
        return ExitCode.OK
    s = channel_status(_shop("status", args))  # the product list only: no photo downloaded
    if args.json:
        served = next((v for v in s.stored.versions if v.current), None)
        _print_json(
            {
                "channel": s.channel_code,
                "channelId": s.channel_id,
                "location": s.latest_url,
                "served": _version_json(served) if served else None,
                "versions": [_version_json(v) for v in s.stored.versions],
                "sinceServed": _changes_json(s.changes.served),
                "sinceLocal": _changes_json(s.changes.local),
                "renamedFrom": s.changes.source.renamed_from,
            }
        )
        return ExitCode.OK
    meta = s.changes.served_metadata
    if meta is None:
        print(f"Channel {s.channel_code} (id {s.channel_id}): no model published yet.")
    else:
        print(
            f"Channel {s.channel_code} (id {s.channel_id}) serves a model trained "
            f"{format_when(meta)} for {len(meta.get('labels', []))} products: "
            f"{s.latest_url}"
        )
    _versions(s.stored.versions)
    print(s.changes.describe_served())
    print(s.changes.describe_local())
    renamed = renamed_channel(s.changes.source.renamed_from, s.channel_code)
    if renamed:
        print(renamed)
    return ExitCode.OK


def run_rollback(args: argparse.Namespace) -> int:
    _one_target("rollback", args)
    if args.to_folder is not None:
        channel = _folder_channel(args)
        progress = StderrProgress()  # says a wait for another publish or rollback
        try:
            target = FolderTarget(args.to_folder, channel, args.lock_wait)
            v = target.rollback(args.version, on_progress=progress)
        except FolderBusy as exc:
            return _busy(exc)
        finally:
            progress.done()
    else:
        channel = args.channel
        v = ShopTarget(_shop("rollback", args)).rollback(args.version)
    if args.json:
        _print_json({"channel": channel, "served": _version_json(v)})
        return ExitCode.OK
    print(f"Channel {channel} now serves version {v.version} (trained {_when(v.trained_at)}).")
    return ExitCode.OK


def _print_json(doc: dict[str, Any]) -> None:
    """``--json``: for scripts and monitoring, which read the served version without
    parsing English (a CLI audit)."""
    print(json.dumps(doc, indent=2, ensure_ascii=False))


def _version_json(v: ModelVersion) -> dict[str, Any]:
    return {
        "version": v.version,
        "trainedAt": v.trained_at,
        "products": v.products,
        "current": v.current,
    }


def _changes_json(c: Changes | None) -> dict[str, Any] | None:
    """What changed in the catalogue since a model (None: there is no such model)."""
    if c is None:
        return None
    return {
        "upToDate": c.up_to_date,
        "newProducts": c.new_products,
        "removedProducts": c.removed_products,
        "changedProducts": c.changed_products,
        "changedPhotos": c.changed_photos,
        "unknown": c.unknown,
    }


def _versions(versions: list[ModelVersion]) -> None:
    for v in versions:
        mark = "*" if v.current else " "
        print(f" {mark} {v.version}  trained {_when(v.trained_at)}  {v.products_text}")


def _when(stamp: str | None) -> str:
    """A version's training time in this computer's time zone, as the app shows it (the
    UTC stamp read a day off far from UTC: 16:03Z is 06:03 the next day in Kiritimati)."""
    return format_when({"trainedAt": stamp}) if stamp else "?"


def _one_target(command: str, args: argparse.Namespace) -> None:
    """A folder or a shop, never both: the shop's arguments were silently ignored."""
    given = [a for a in SERVER_ARGS if getattr(args, a.lstrip("-"))]
    if args.to_folder is not None and given:
        raise TrainerError(
            f"{command}: give either --to-folder DIR or {'/'.join(SERVER_ARGS)}, not both "
            f"({', '.join(given)} given)"
        )


def _shop(command: str, args: argparse.Namespace) -> ShopClient:
    """The shop channel the arguments name, logged in."""
    missing = [a for a in SERVER_ARGS if not getattr(args, a.lstrip("-"))]
    if missing:
        raise TrainerError(f"{command} needs {', '.join(missing)} (or --to-folder DIR)")
    return channel_from_args(args)


def _folder_channel(args: argparse.Namespace) -> str:
    if not args.folder_channel_id:
        raise TrainerError("--to-folder needs --channel-id ID (the folder per channel)")
    return str(args.folder_channel_id)


def _busy(exc: FolderBusy) -> int:
    """The folder stayed taken: one line, and ``sync``'s exit code for a busy channel."""
    print(f"Error: {exc}", file=sys.stderr)
    return ExitCode.BUSY
