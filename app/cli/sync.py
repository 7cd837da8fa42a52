"""``sync``: keep one channel's served model current, or every channel's."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from ..core.errors import Cancelled, ExitCode, TrainerError
from ..core.faults import describe
from ..core.flows.keep_current import (
    DEFAULT_CHANNEL_CODE,
    REVIEW,
    TILL_PHOTOS_MODES,
    TIME_LIMIT_MINUTES,
    SyncBusy,
    SyncClock,
    SyncOutcome,
    sync_channel,
    sync_targets,
)
from ..core.flows.train import QUANTIZE, SEED_MAX, TrainOptions
from . import interrupt
from .arguments import (
    add_base_weights,
    add_password_file,
    add_timeout,
    number_above,
    number_at_least,
    whole_number,
)
from .login import login_from_args
from .progress import StderrProgress


def add_parser(sub: Any) -> None:
    cmd = sub.add_parser(
        "sync",
        help="train and publish if the catalogue changed since the served model",
        description="Keeps a channel's served model current: does nothing (quickly, without "
        "loading TensorFlow) when the catalogue and your edits are unchanged since the served "
        "model; otherwise downloads, trains, publishes and verifies. Photos from the till "
        "you accepted count as changes. Exit codes: "
        f"{ExitCode.OK:d} published or up to date, {ExitCode.FAILED:d} failed, "
        f"{ExitCode.WAITING:d} waiting for --debounce, {ExitCode.BUSY:d} another sync of the "
        f"channel is running, {ExitCode.INTERRUPTED:d} interrupted.",
    )
    cmd.add_argument("--server", required=True, help="shop server address")
    target = cmd.add_mutually_exclusive_group(required=True)
    target.add_argument("--channel", help="channel code")
    target.add_argument(
        "--all-channels",
        action="store_true",
        help="every channel you may publish to, one after the other (Vendure's default "
        "channel only where it is the only one: it lists every channel's products)",
    )
    cmd.add_argument("--username", help="not needed with a remembered session (Keep me logged in)")
    add_password_file(cmd)
    cmd.add_argument("--insecure", action="store_true", help="allow plain http:// to another host")
    cmd.add_argument(
        "--debounce",
        type=number_at_least(0),
        default=0.0,
        metavar="MINUTES",
        help="skip the run while the newest change is younger than this",
    )
    cmd.add_argument(
        "--till-photos",
        choices=TILL_PHOTOS_MODES,
        default=REVIEW,
        help="photos the tills sent: review (default) trains only on those you accepted "
        "(the app's Products screen, or till-photos accept); accept takes every waiting "
        "one in first, for a shop that trusts its cashiers. The result line says how many "
        "it used",
    )
    add_base_weights(cmd)
    cmd.add_argument("--quantize", choices=QUANTIZE, default=QUANTIZE[0])
    cmd.add_argument("--seed", type=whole_number(0, SEED_MAX), default=TrainOptions.seed)
    cmd.add_argument(
        "--time-limit",
        type=number_above(0, 7 * 24 * 60),  # a week; far more overflowed the timer
        default=TIME_LIMIT_MINUTES,
        metavar="MINUTES",
        help="stop the whole run after this long, saying which step it was on "
        f"(default {TIME_LIMIT_MINUTES:g}); the served model stays as it was",
    )
    add_timeout(cmd)
    cmd.add_argument(
        "--json",
        action="store_true",
        help="each channel's result as one JSON object a line on stdout (channel, status, "
        "message, exitCode, version, trained, notes) instead of its result line",
    )
    cmd.set_defaults(func=run)


def say(
    args: argparse.Namespace,
    channel: str,
    status: str,
    message: str,
    code: ExitCode,
    out: SyncOutcome | None = None,
) -> None:
    """A channel's result: its line (``channel: status: message``), or with ``--json``
    one object, so a monitor reads the status without parsing English; logged as the
    line either way."""
    line = f"{channel}: {status}: {message}"
    if args.json:
        doc = {"channel": channel, "status": status, "message": message, "exitCode": int(code)}
        if out is not None:
            doc |= {"version": out.version, "trained": out.trained, "notes": list(out.notes)}
        print(json.dumps(doc, ensure_ascii=False), flush=True)
    else:
        print(line, flush=True)
    logging.getLogger("app.sync").info("%s", line)


def run(args: argparse.Namespace) -> int:
    """One result line per channel on stdout; the exit code is the worst outcome."""
    options = TrainOptions(seed=args.seed, base_weights=args.base_weights)
    # the whole run ends by --time-limit: each request by then, each step at its next check
    with SyncClock(args.time_limit * 60) as clock:
        with clock.guard(f"logging in to {args.server}"):
            client = login_from_args(args, stop_at=clock.stop_at)
        try:
            if args.all_channels:
                with clock.guard("listing your channels"):
                    codes, left_out = sync_targets(client.channels())
                if not codes:
                    raise TrainerError(
                        f"Your user may not publish to any channel on {args.server}."
                    )
                for code in left_out:
                    why = (
                        "the default channel lists the products of every channel; sync it "
                        f"alone with --channel {DEFAULT_CHANNEL_CODE}"
                    )
                    say(args, code, "skipped", why, ExitCode.OK)
            else:
                codes = [args.channel]
            worst = ExitCode.OK
            for code in codes:
                if worst != ExitCode.OK and clock.expired:  # the run's limit, used up
                    why = f"the run's time limit ({args.time_limit:g} min) ran out"
                    say(args, code, "not tried", why, ExitCode.FAILED)
                    continue
                # one printer a channel, named: a later channel's first report was lost
                # when it repeated the previous channel's last phase
                progress = StderrProgress(prefix=f"{code}: " if args.all_channels else "")
                try:
                    with clock.guard(f"opening channel {code}"):
                        client.select_channel(code)
                        out = sync_channel(
                            client,
                            options,
                            debounce_minutes=args.debounce,
                            quantize=args.quantize,
                            till_photos=args.till_photos,
                            # Ctrl-C while it trains: stop at the next check (see interrupt)
                            on_progress=interrupt.cooperative_in(
                                clock.cancel, clock.hook(progress)
                            ),
                            cancel=clock.cancel,
                        )
                    progress.done()
                    for note in out.notes:  # as `train` says them, before its result line
                        named = f"{code}: note: {note}" if args.all_channels else f"note: {note}"
                        print(named, file=sys.stderr)
                        logging.getLogger("app.sync").info("%s: note: %s", code, note)
                    said = (out.status, out.message, out.exit_code, out)
                except SyncBusy as exc:
                    said = ("busy", str(exc), ExitCode.BUSY, None)
                except TrainerError as exc:
                    if interrupt.asked():  # the training stopped for Ctrl-C: not a failure
                        raise KeyboardInterrupt from None
                    if not args.all_channels or isinstance(exc, Cancelled):
                        raise
                    progress.done()
                    said = ("failed", str(exc), ExitCode.FAILED, None)
                except Exception as exc:  # a disk, memory or TensorFlow fault: one channel's
                    reason = describe(exc) if args.all_channels else None
                    if reason is None:  # a bug, or one channel only: as any command's
                        raise
                    progress.done()
                    said = ("failed", reason, ExitCode.FAILED, None)
                say(args, code, *said)
                worst = ExitCode.worst(worst, said[2])
            return worst
        finally:
            client.close()
