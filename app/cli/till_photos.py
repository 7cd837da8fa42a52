"""``till-photos``: review the frames the POS sent, from a terminal or a script.

``list`` what waits for review (per product, with what the model said), ``accept`` or
``drop`` some (ids), all of a product (``--product``) or all (``--all``), and ``stats``:
how the served model did at the till. The same tasks as the app's Products and Model
screens (:mod:`app.core.flows.till_photos`); a shop that trusts its cashiers uses
``sync --till-photos accept`` instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..core.errors import Cancelled, ExitCode, TrainerError
from ..core.flows.login import ShopClient
from ..core.flows.open_source import shop_source
from ..core.flows.till_photos import (
    FeedbackItem,
    TillPending,
    accept_till_photos,
    check_feedback_ids,
    drop_till_photos,
    pending_till_photos,
)
from ..core.flows.till_stats import till_accuracy
from ..core.wording import renamed_channel
from .arguments import add_password_file, add_timeout, whole_number
from .interrupt import cooperative
from .login import channel_from_args
from .progress import StderrProgress

ACTIONS = ("list", "accept", "drop", "stats")


def add_parser(sub: Any) -> None:
    cmd = sub.add_parser(
        "till-photos",
        help="review the photos the tills sent: list, accept, drop, stats",
        description="Photos from the till: after a sale line the POS sends its camera frame "
        "with the product the cashier chose. Accepted photos become counter photos of that "
        "product on this computer (the next train or sync uses them); dropped ones are never "
        "offered again. Both are deleted on the server once kept here.",
    )
    cmd.add_argument("action", choices=ACTIONS, help="what to do")
    cmd.add_argument("ids", nargs="*", metavar="ID", help="accept/drop: these photos")
    cmd.add_argument("--product", metavar="ID", help="accept/drop: every photo of this product")
    cmd.add_argument("--all", action="store_true", help="accept/drop: every photo waiting")
    cmd.add_argument(
        "--days",
        type=whole_number(1, 3650),
        default=7,
        help="stats: whole days of this computer's calendar counted, today included (default 7)",
    )
    cmd.add_argument("--json", action="store_true", help="list: one JSON object on stdout")
    cmd.add_argument("--server", required=True, help="shop server address")
    cmd.add_argument("--channel", required=True, help="channel code")
    cmd.add_argument("--username", help="not needed with a remembered session")
    add_password_file(cmd)
    cmd.add_argument("--insecure", action="store_true", help="allow plain http:// to another host")
    add_timeout(cmd)
    cmd.set_defaults(func=run)


def _check(args: argparse.Namespace) -> None:
    """Bad combinations end before any login: one ``Error:`` line."""
    choices = [bool(args.ids), bool(args.product), args.all]
    if args.action in ("accept", "drop"):
        if sum(choices) != 1:
            raise TrainerError(
                f"till-photos {args.action} needs photo ids, --product ID or --all (one of them)"
            )
    elif any(choices):
        raise TrainerError(f"till-photos {args.action} takes no photo ids, --product or --all")
    if args.json and args.action != "list":
        raise TrainerError("--json goes with till-photos list")
    args.ids = check_feedback_ids(args.ids)


def run(args: argparse.Namespace) -> int:
    _check(args)
    client = channel_from_args(args)
    try:
        opened = shop_source(client)  # follows a code the administrator changed: said once
        renamed = renamed_channel(opened.renamed_from, opened.channel_code)
        if renamed:  # on stderr: stdout may be --json
            print(f"note: {renamed}", file=sys.stderr)
        if args.action == "stats":
            return _stats(client, args.days)
        if args.action == "drop" and args.ids:  # no need to list what waits
            out = drop_till_photos(client, args.ids)
            _dropped(len(out.dropped), len(args.ids) - len(out.dropped), out.not_deleted)
            return ExitCode.OK
        pending = pending_till_photos(client)
        if args.action == "list":
            _list(args.channel, pending, as_json=args.json)
            return ExitCode.OK
        chosen = _chosen(pending, args)
        if args.action == "drop":
            out = drop_till_photos(client, chosen)
            _dropped(len(out.dropped), 0, out.not_deleted)
            return ExitCode.OK
        progress = StderrProgress()
        # Ctrl-C stops at the next photo and says how many were taken in (interrupt)
        try:
            accepted = accept_till_photos(
                client, chosen, on_progress=progress, cancel=cooperative()
            )
        except Cancelled:
            progress.done()  # the progress line ends before the message
            raise
        progress.done()
        print(accepted.text)
        for item, path in accepted.stored:
            print(f"  {item.id} → {path}")
        for item, why in (*accepted.dropped, *accepted.skipped):
            print(f"  {item.id}: {why}")
        _not_deleted(accepted.not_deleted)
        return ExitCode.OK
    finally:
        client.close()


def _chosen(pending: TillPending, args: argparse.Namespace) -> list[FeedbackItem]:
    if args.all:
        return list(pending.photos)
    if args.product:
        chosen = [p for p in pending.photos if p.product_id == args.product]
        if not chosen:
            raise TrainerError(f"No photo of product {args.product} waits for review.")
        return chosen
    waiting = {p.id: p for p in pending.photos}
    missing = [i for i in args.ids if i not in waiting]
    if missing:
        raise TrainerError(f"Not waiting for review: {', '.join(missing)}; nothing was changed.")
    return [waiting[i] for i in args.ids]


def _list(channel: str, pending: TillPending, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(_as_json(pending), indent=1))
        return
    print(f"{channel}: {pending.text}")
    for group in pending.products:
        wrong = f", {group.corrections} the model got wrong" if group.corrections else ""
        n = len(group.photos)
        print(f"  {group.product_name} ({group.product_id}): {n} photo{'s' * (n != 1)}{wrong}")
        for item in group.photos:
            print(f"    {item.id}  version {item.model_version}: said {pending.said(item)}")
    for item, why in pending.not_usable:
        print(f"  {item.id}: cannot be accepted, {why} (drop it)")
    _not_deleted(pending.not_deleted)


def _as_json(pending: TillPending) -> dict[str, Any]:
    return {
        "waiting": pending.count,
        "photos": [
            {
                "id": p.id,
                "product": p.product_id,
                "productName": p.product_name,
                "modelVersion": p.model_version,
                "predictions": [[x.product_id, x.probability] for x in p.predictions],
                "receivedAt": p.received_at.isoformat(),
                "usable": p.product_name is not None,
            }
            for p in pending.photos
        ],
    }


def _stats(client: ShopClient, days: int) -> int:
    accuracy = till_accuracy(client, days=days)
    print(accuracy.headline)
    for v in accuracy.versions:
        s = v.stats
        mark = "*" if v.served else " "
        conf = "?" if s.average_confidence is None else f"{100 * s.average_confidence:.0f} %"
        print(
            f" {mark} {s.model_version}: {s.photos} sales, top-1 right {s.top1_right}, "
            f"top-3 right {s.top3_right}, corrected {s.corrections}, average confidence {conf}"
        )
    return ExitCode.OK


def _dropped(n: int, before: int, not_deleted: str) -> None:
    again = f" ({before} already reviewed)" if before else ""
    print(f"Dropped {n} photo{'s' * (n != 1)} from the till{again}.")
    _not_deleted(not_deleted)


def _not_deleted(why: str) -> None:
    if why:
        print(f"Still on the server (deleted at the next review): {why}")
