"""Command line: ``python -m app`` opens the app; subcommands script the same core.

Exit codes: 0 success, 1 a problem the user can fix — a bad argument, a full disk,
an unreadable folder… — as one ``Error: …`` line on stderr and no traceback (OS and
TensorFlow failures included), 130 interrupted (Ctrl-C or ``kill``).
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import math
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TextIO

from . import __version__
from .core.errors import Cancelled, TrainerError
from .core.progress import Progress


class StderrProgress:
    """One updating line on a terminal; a line per phase step when piped (CI logs)."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._last_phase = ""
        self._last_bucket = -1
        self._last_t = 0.0

    def __call__(self, p: Progress) -> None:
        pct = int(p.fraction * 100)
        eta = f" · about {p.eta_s:.0f}s left" if p.eta_s is not None and p.eta_s > 1 else ""
        line = f"[{pct:3d}%] {p.phase}: {p.message}{eta}"
        if self.tty:
            now = time.monotonic()
            if now - self._last_t < 0.1 and p.fraction < 1:
                return
            self._last_t = now
            self.stream.write("\r\x1b[2K" + line[:120])
            self.stream.flush()
            return
        bucket = pct // 10
        if p.phase != self._last_phase or bucket != self._last_bucket:
            self._last_phase, self._last_bucket = p.phase, bucket
            print(line, file=self.stream, flush=True)

    def done(self) -> None:
        if self.tty:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()


class _Parser(argparse.ArgumentParser):
    """A bad argument ends like any bad input: one ``Error:`` line, exit code 1."""

    def error(self, message: str) -> NoReturn:
        self.exit(1, f"Error: {message} (see {self.prog} --help)\n")


def whole_number(lo: int, hi: int | None = None) -> Callable[[str], int]:
    """argparse type: an int in [lo, hi], refused at parse time with the range."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
        if value < lo or (hi is not None and value > hi):
            span_ = f"from {lo} to {hi}" if hi is not None else f"at least {lo}"
            raise argparse.ArgumentTypeError(f"must be a whole number {span_}, not {value}")
        return value

    return parse


def number_at_least(lo: float) -> Callable[[str], float]:
    """argparse type: a finite float ≥ lo."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
        if not math.isfinite(value) or value < lo:
            raise argparse.ArgumentTypeError(f"must be a number of at least {lo:g}, not {text}")
        return value

    return parse


def number_above(lo: float) -> Callable[[str], float]:
    """argparse type: a finite float > lo."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
        if not math.isfinite(value) or value <= lo:
            raise argparse.ArgumentTypeError(f"must be a number above {lo:g}, not {text}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    from .core.folder_publish import channel_id_arg
    from .core.model import EPOCHS_MAX, EPOCHS_MIN, MODEL_ALPHAS, SEED_MAX
    from .core.shop_cli import add_timeout_argument
    from .core.sync import TIME_LIMIT_MINUTES

    seed = whole_number(0, SEED_MAX)
    ap = _Parser(
        prog="dukahub-trainer",
        description="Teach a Dukahub point-of-sale camera to recognise your products. "
        "Run without a command to open the app.",
    )
    ap.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    t = sub.add_parser("train", help="train a model from a folder or a shop channel")
    t.add_argument("images_dir", nargs="?", type=Path, help="one sub-folder of photos per product")
    t.add_argument(
        "--out",
        type=Path,
        help="folder to write the three files to (default: the app's model folder of "
        "this shop or folder)",
    )
    t.add_argument("--base-weights", type=Path, help="local MobileNetV2 ImageNet .h5 weights")
    t.add_argument(
        "--channel-id",
        default=None,
        type=channel_id_arg,
        help="Vendure channel ID written to metadata",
    )
    t.add_argument(
        "--alpha",
        type=float,
        choices=MODEL_ALPHAS,
        default=0.35,
        help="MobileNetV2 width (default 0.35)",
    )
    t.add_argument(
        "--epochs",
        type=whole_number(EPOCHS_MIN, EPOCHS_MAX),
        default=30,
        help=f"{EPOCHS_MIN}-{EPOCHS_MAX} (default 30)",
    )
    t.add_argument("--seed", type=seed, default=0)
    t.add_argument("--quantize", choices=["none", "float16", "uint8"], default="none")
    t.add_argument("--no-augment", action="store_true", help="train on the photos as they are")
    t.add_argument(
        "--plain",
        action="store_true",
        help="the plain reference: linear softmax head, no augmentation, no validation",
    )
    t.add_argument("--no-validate", action="store_true", help="skip the validation rounds")
    t.add_argument(
        "--not-products",
        type=Path,
        metavar="DIR",
        help="photos that show none of your products (the empty counter, a hand, a bag): "
        "the till learns to ask instead of guessing (default: the app's for this shop)",
    )
    t.add_argument(
        "--counter-frames",
        type=Path,
        metavar="FRAMES_DIR",
        help="a flat folder of unlabelled photos of your counter (any products on it): "
        "they teach the model your shop's light, camera and background (default: the "
        "frames the app keeps for this shop)",
    )
    t.add_argument("--json", action="store_true", help="print the summary as JSON")
    t.add_argument("--server", help="train from this shop server's channel catalogue")
    t.add_argument("--channel", help="channel code (with --server)")
    t.add_argument("--username", help="user name (with --server; not needed when remembered)")
    t.add_argument(
        "--sample", action="store_true", help="train on the sample shop shipped with the app"
    )
    t.add_argument("--insecure", action="store_true", help="allow plain http:// (with --server)")

    p = sub.add_parser("predict", help="run an exported model on images")
    p.add_argument("model_dir", type=Path)
    p.add_argument("images", nargs="+", type=Path)
    p.add_argument("--top", type=whole_number(1), default=3)
    p.add_argument("--json", action="store_true", help="one JSON object per photo, one a line")

    y = sub.add_parser(
        "sync",
        help="train and publish if the catalogue changed since the served model",
        description="Keeps a channel's served model current: does nothing (quickly, without "
        "loading TensorFlow) when the catalogue and your edits are unchanged since the served "
        "model; otherwise downloads, trains, publishes and verifies. Exit codes: 0 published "
        "or up to date, 1 failed, 3 waiting for --debounce, 4 another sync of the channel is "
        "running, 130 interrupted.",
    )
    y.add_argument("--server", required=True, help="shop server address")
    target = y.add_mutually_exclusive_group(required=True)
    target.add_argument("--channel", help="channel code")
    target.add_argument(
        "--all-channels",
        action="store_true",
        help="every channel you may publish to, one after the other",
    )
    y.add_argument("--username", help="not needed with a remembered session (Keep me logged in)")
    y.add_argument("--insecure", action="store_true", help="allow plain http:// to another host")
    y.add_argument(
        "--debounce",
        type=number_at_least(0),
        default=0.0,
        metavar="MINUTES",
        help="skip the run while the newest change is younger than this",
    )
    y.add_argument("--base-weights", type=Path, help="local MobileNetV2 ImageNet .h5 weights")
    y.add_argument("--quantize", choices=["none", "float16", "uint8"], default="none")
    y.add_argument("--seed", type=seed, default=0)
    y.add_argument(
        "--time-limit",
        type=number_above(0),
        default=TIME_LIMIT_MINUTES,
        metavar="MINUTES",
        help="stop the whole run after this long, saying which step it was on "
        f"(default {TIME_LIMIT_MINUTES:g}); the served model stays as it was",
    )
    add_timeout_argument(y)

    i = sub.add_parser("inspect", help="validate a model folder and print its metadata")
    i.add_argument("model_dir", type=Path)
    i.add_argument("--json", action="store_true")

    e = sub.add_parser(
        "teach",
        help="update a model in place from photos of one product (no full training)",
        description="Teaches the exported model these photos of one product at once, as a "
        "correction at the till does: the product layer is updated and the three files are "
        "written through the same validation and atomic swap as train. Dark, blank or "
        "blurred photos are refused with a reason. Train or sync runs the full training "
        "with validation later; to keep the photos for it, add them to the product.",
    )
    e.add_argument("model_dir", type=Path, metavar="MODEL_DIR")
    e.add_argument("--product", required=True, metavar="ID", help="the product the photos show")
    e.add_argument("photos", nargs="+", type=Path, metavar="PHOTO")
    e.add_argument("--base-weights", type=Path, help="local MobileNetV2 ImageNet .h5 weights")
    e.set_defaults(func=cmd_teach)

    try:
        from .core.shop_cli import add_shop_arguments
    except ImportError:  # pragma: no cover - the shop client is part of the package
        pass
    else:
        add_shop_arguments(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    # output never fails a command: what the terminal or log cannot encode (an emoji in
    # a cp1252 log) is written as "?", so a model that was written is reported as written
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")
    raw = sys.argv[1:] if argv is None else argv
    if not raw:  # the app: skip the parser, whose shop commands import requests
        from .gui.main import run_gui

        return run_gui(sys.argv[:1] if argv is None else ["dukahub-trainer"])
    args = build_parser().parse_args(raw)
    if args.command is None:
        from .gui.main import run_gui

        return run_gui(sys.argv[:1] if argv is None else ["dukahub-trainer"])
    handler = (
        getattr(args, "func", None)
        or {
            "train": cmd_train,
            "predict": cmd_predict,
            "inspect": cmd_inspect,
            "sync": cmd_sync,
        }[args.command]
    )
    try:
        from .core.logs import setup_logging

        setup_logging()  # scheduled runs (sync) leave a record in the app's log
        _show_notices()
        # ``kill`` unwinds like Ctrl-C, so temp folders are removed on the way out
        signal.signal(signal.SIGTERM, _interrupt)
        from .core import paths
        from .core.outdir import use_private_tempdir

        # every library temp file in a folder of ours: a ``kill -9`` leaves nothing in
        # /tmp, and the next run sweeps what it left
        use_private_tempdir(paths.cache_dir() / "tmp")
        return int(handler(args))
    except Cancelled as exc:  # an outcome: its message says what was kept
        print(str(exc) or "Cancelled.", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("\nInterrupted; nothing was changed.", file=sys.stderr)
        return 130
    except TrainerError as exc:
        print(f"Error: {exc}{_advice(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # a full disk, a read-only folder: by type, one line
        from .core.faults import describe

        message = describe(exc)
        if message is None:
            raise  # a bug: the traceback is the useful report
        # the details for the log file; info, so no last-resort printer repeats it here
        logging.getLogger(__name__).info("%s failed", args.command, exc_info=exc)
        print(f"Error: {message}", file=sys.stderr)
        return 1


def _advice(exc: TrainerError) -> str:
    """What the command line offers beyond the error's own words (the app, its buttons)."""
    from .core.errors import WeightsUnavailable
    from .core.paths import BASE_WEIGHTS_ENV

    if isinstance(exc, WeightsUnavailable):
        return (
            " A copy of that file can also be given with --base-weights FILE or the "
            f"environment variable {BASE_WEIGHTS_ENV}."
        )
    return ""


def _interrupt(signum: int, frame: object) -> NoReturn:
    raise KeyboardInterrupt


def _show_notices() -> None:
    """Core's notes for the owner (a damaged app file set aside…) as ``note:`` lines on
    stderr; they reach the log file too."""
    from .core.readers import notices

    if not any(getattr(h, "_dukahub_notes", False) for h in notices.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("note: %(message)s"))
        handler._dukahub_notes = True  # type: ignore[attr-defined]
        notices.addHandler(handler)


def cmd_train(args: argparse.Namespace) -> int:
    from .core.catalog import catalog_from_folder
    from .core.model import TrainOptions
    from .core.pipeline import Source, train_and_export, with_edits

    t0 = time.monotonic()
    progress = StderrProgress()
    cancel = threading.Event()
    given_frames = _counter_frames(args.counter_frames)  # refused before any download
    empty = _photos_folder("--not-products", args.not_products) if args.not_products else None
    if args.sample:  # the six fruits shipped with the app: try it without photos or a server
        if args.images_dir is not None or args.server:
            raise TrainerError("--sample trains on the sample shop: give no folder or --server")
        from .core.sample_shop import sample_shop_dir

        args.images_dir = sample_shop_dir()
    if args.server:
        if args.images_dir is not None:
            raise TrainerError("Give either an image folder or --server, not both")
        if not args.channel:
            raise TrainerError("--server needs --channel")
        from .core.shop import fetch_catalog
        from .core.shop_cli import login_from_args

        client = login_from_args(args)
        try:
            client.select_channel(args.channel)
            fetched = fetch_catalog(client, on_progress=progress, cancel=cancel)
        finally:
            client.close()
        for failure in fetched.stats.failed:
            print(f"note: photo not downloaded: {failure}", file=sys.stderr)
        base = fetched.catalog
        source = Source.shop(client.server_url, args.channel, base.channel_id)
    else:
        if args.images_dir is None:
            raise TrainerError("Give an image folder (one sub-folder per product) or --server")
        source = Source.from_folder(args.images_dir)
        base = catalog_from_folder(source.folder)
    # the owner's added photos and ticks from the app apply here too
    store = source.store()
    catalog = with_edits(base, source, store)
    frames, frames_skipped = given_frames or (store.counter_frames.paths(), [])
    options = TrainOptions(
        alpha=args.alpha,
        epochs=args.epochs,
        seed=args.seed,
        augment=not (args.no_augment or args.plain),
        base_weights=args.base_weights,
        validate=not (args.no_validate or args.plain),
        head="linear" if args.plain else "cosine",
    )
    outcome = train_and_export(
        catalog,
        options,
        args.out if args.out is not None else source.model_dir(),
        channel_id=args.channel_id,
        quantize=args.quantize,
        counter_frames=frames,
        not_product_photos=store.not_product_photos() if empty is None else empty,
        on_progress=progress,
        cancel=cancel,
    )
    progress.done()
    for line in outcome.report.summary_lines(catalog.names()):
        print(f"note: {line}", file=sys.stderr)
    out = outcome.model_dir
    r = outcome.result
    size = sum(f.stat().st_size for f in out.iterdir())
    summary = {
        "out": str(out),
        "products": r.product_count,
        "images": r.image_count,
        "validationAccuracy": r.val_accuracy,
        "validation": r.validation,
        "perProduct": r.per_product,
        "confusions": r.confusions[:5],
        "needsMorePhotos": r.needs_more_photos,
        "trainedOn": r.trained_on,
        "trainedOnHint": r.trained_on_hint,
        "trainingSeconds": round(r.duration_s, 2),
        "totalSeconds": round(time.monotonic() - t0, 2),
        "modelBytes": size,
        "notes": outcome.report.summary_lines(catalog.names()),
        "skipped": outcome.report.skipped(),  # every photo not trained on, with why
        "notTrained": outcome.report.not_trained(),  # every product left out, with why
        "trainedAsIs": [{"product": p, "reason": why} for p, why in r.trained_as_is],
        "counterFrames": {
            "used": r.counter_frames,
            "newest": r.counter_frames_newest or None,
            "centredOn": r.centred_on,
            # every file of the frames folder not used, with why
            "skipped": [{"file": f, "reason": why} for f, why in frames_skipped + r.frames_skipped],
        },
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    names = r.names
    print(
        f"Trained {r.product_count} products on {r.image_count} photos in {r.duration_s:.1f}s"
        f" ({outcome.device})."
    )
    if r.val_accuracy is not None:
        print(f"Validation accuracy: {r.val_accuracy:.0%} ({r.validation}).")
    else:
        print(f"Validation: {r.validation}.")
    weak = [(p, a) for p, a in r.per_product.items() if a is not None and a < 1.0]
    for p, a in sorted(weak, key=lambda t: t[1])[:5]:
        print(f"  {names.get(p, p)}: {a:.0%}")
    for a, b, c in r.confusions[:3]:
        print(f"  often confused: {names.get(a, a)} → {names.get(b, b)} ({c}×)")
    from .core.wording import weak_line

    print(weak_line(r.needs_more_photos, names))
    if r.trained_on_hint:
        print(r.trained_on_hint)
    a = r.accept
    if a is not None and a.measured and a.coverage:
        print(
            f"The till may add a product by itself at {a.threshold:.0%} or more: "
            f"{a.coverage:.0%} of held-back photos, {a.precision:.0%} of them right "
            f"(aim {a.target:.0%})."
        )
    elif a is not None:
        print(
            f"The till adds a product by itself only at {a.threshold:.0%} or more, and "
            "otherwise asks the cashier: "
            + (
                "too few held-back photos to measure when it can be sure."
                if not a.measured
                else f"no level of confidence was {a.target:.0%} right on held-back photos."
            )
        )
    if r.counter_frames:
        when = r.counter_frames_newest
        print(f"Shop's look: from {r.counter_frames} counter frame(s), newest {when}.")
    elif len(frames) > len(r.frames_skipped):
        print("Counter frames: not used (held-back counter photos did better without them).")
    elif r.trained_on != "counter":
        print(
            "Tip: about 20 photos of your counter with any products on it (--counter-frames, "
            "or 'Show me your counter' in the app) teach the model your shop's look."
        )
    for pid, why in r.trained_as_is:
        print(f"Catalogue photo trained as it is: {names.get(pid, pid)} — {why}.")
    for f, why in frames_skipped + r.frames_skipped:
        print(f"Counter frame not used: {Path(f).name} — {why}.")
    all_names = catalog.names()
    for item in summary["notTrained"]:
        print(f"Not trained: {all_names.get(item['product'], item['product'])} — {item['reason']}.")
    for item in summary["skipped"]:
        who = all_names.get(item["product"], item["product"])
        print(f"Photo not used: {Path(item['file']).name} ({who}) — {item['reason']}.")
    print(f"Wrote {out} ({size / 1e6:.2f} MB: model.json, weights.bin, metadata.json).")
    return 0


def _counter_frames(folder: Path | None) -> tuple[list[Path], list[tuple[str, str]]] | None:
    """``--counter-frames``, checked before any work: a missing or empty folder is one
    line; a file there that is no photo is reported, not fatal. None: not given (the
    frames the app keeps for the shop are used)."""
    from .core.counter_frames import frames_in_folder

    if folder is None:
        return None
    if not folder.is_dir():
        raise TrainerError(f"--counter-frames: {folder} is not a folder")
    found = frames_in_folder(folder)
    if not found.frames:
        raise TrainerError(f"--counter-frames: no photos in {folder}")
    return found.frames, [(str(p), why) for p, why in found.skipped]


def _photos_folder(option: str, folder: Path) -> list[Path]:
    """The photos of a flat folder given to ``option``; one clear line if there are none."""
    from .core.counter_frames import frames_in_folder

    if not folder.is_dir():
        raise TrainerError(f"{option}: {folder} is not a folder")
    found = frames_in_folder(folder)
    if not found.frames:
        raise TrainerError(f"{option}: no photos in {folder}")
    for p, why in found.skipped:
        print(f"note: {option}: {p.name} not used — {why}", file=sys.stderr)
    return found.frames


def cmd_sync(args: argparse.Namespace) -> int:
    """One result line per channel on stdout; the exit code is the worst outcome."""
    from .core import sync
    from .core.errors import TrainerError as Failure
    from .core.model import TrainOptions
    from .core.shop_cli import login_from_args

    options = TrainOptions(seed=args.seed, base_weights=args.base_weights)
    # the whole run ends by --time-limit: each request by then, each step at its next check
    with sync.SyncClock(args.time_limit * 60) as clock:
        with clock.guard(f"logging in to {args.server}"):
            client = login_from_args(args, stop_at=clock.stop_at)
        try:
            if args.all_channels:
                with clock.guard("listing your channels"):
                    codes = [c.code for c in client.channels() if c.can_publish]
                if not codes:
                    raise TrainerError(
                        f"Your user may not publish to any channel on {args.server}."
                    )
            else:
                codes = [args.channel]
            progress = StderrProgress()
            worst = sync.EXIT_OK
            for code in codes:
                try:
                    with clock.guard(f"opening channel {code}"):
                        client.select_channel(code)
                        out = sync.sync_channel(
                            client,
                            options,
                            debounce_minutes=args.debounce,
                            quantize=args.quantize,
                            on_progress=clock.hook(progress),
                            cancel=clock.cancel,
                        )
                    progress.done()
                    line, code_ = f"{code}: {out.status}: {out.message}", out.exit_code
                except sync.SyncBusy as exc:
                    line, code_ = f"{code}: busy: {exc}", sync.EXIT_BUSY
                except Failure as exc:
                    if not args.all_channels or isinstance(exc, Cancelled):
                        raise
                    progress.done()
                    line, code_ = f"{code}: failed: {exc}", sync.EXIT_FAILED
                print(line, flush=True)
                logging.getLogger("app.sync").info("%s", line)
                worst = _worse(worst, code_)
            return worst
        finally:
            client.close()


def _worse(a: int, b: int) -> int:
    """Failure outranks a busy channel, which outranks waiting, which outranks success."""
    rank = {0: 0, 3: 1, 4: 2, 1: 3}
    return a if rank.get(a, 3) >= rank.get(b, 3) else b


def cmd_predict(args: argparse.Namespace) -> int:
    from .core.calibration import decide, describe
    from .core.errors import ImageError
    from .core.images import load_rgb
    from .core.modelfiles import ExportedModel

    model = ExportedModel.load(args.model_dir)
    names = dict(zip(model.labels, model.metadata.get("labelNames") or model.labels, strict=False))
    threshold = model.accept_threshold
    status = 0
    for path in args.images:
        try:
            rgb = load_rgb(path)
        except ImageError as exc:
            print(f"{path}: skipped: {exc}", file=sys.stderr)
            status = 1
            continue
        top = model.top_k(rgb, max(3, min(args.top, len(model.labels))))
        decision = decide(top, threshold)
        top = top[: args.top]
        if args.json:
            print(
                json.dumps(
                    {
                        "file": str(path),
                        "top": [{"label": lab, "name": names[lab], "p": p} for lab, p in top],
                        "sure": decision.sure,
                        "acceptThreshold": threshold,
                        "decision": describe(decision, names),
                    },
                    ensure_ascii=False,
                )
            )
            continue
        shown = ", ".join(
            f"{lab} ({names[lab]}) {p:.3f}" if names[lab] != lab else f"{lab} {p:.3f}"
            for lab, p in top
        )
        print(f"{path}: {shown} — {describe(decision, names)} (accept at {threshold:.2f})")
    return status


def cmd_inspect(args: argparse.Namespace) -> int:
    from .core.modelfiles import FILES, SEED_FIELDS, missing_seed_fields, validate_model_dir

    meta = validate_model_dir(args.model_dir)
    if args.json:
        print(json.dumps(meta, indent=2, ensure_ascii=False))
        return 0
    print(f"{args.model_dir}: valid TF.js layers model")
    for name in FILES:
        print(f"  {name:14s} {(args.model_dir / name).stat().st_size:>10,d} bytes")
    extra = (
        "baseModel",
        "quantization",
        "validationAccuracy",
        "acceptThreshold",
        "acceptPrecision",
        "acceptCoverage",
        "counterFrames",
        "modelName",
        "timeStamp",
    )
    for key in [f for f in SEED_FIELDS if f != "labels"] + list(extra):
        if key in meta:
            print(f"  {key}: {meta[key]}")
    names = meta.get("labelNames") or meta["labels"]
    print(f"  labels ({len(meta['labels'])}):")
    for lab, nm in zip(meta["labels"], names, strict=False):
        print(f"    {lab}" + (f"  {nm}" if nm != lab else ""))
    missing = missing_seed_fields(meta)
    if missing:
        origin = "a Teachable Machine export" if "tmVersion" in meta else "this model"
        print(f"  note: {origin} lacks Dukahub fields: {', '.join(missing)}")
    return 0


def cmd_teach(args: argparse.Namespace) -> int:
    from .core.errors import BaseWeightsError, ImageError
    from .core.images import load_rgb
    from .core.modelfiles import validate_model_dir
    from .core.teach import RefusedPhoto, teach

    meta = validate_model_dir(args.model_dir)  # before any photo is read or TF loaded
    missing = [p for p in args.photos if not p.is_file()]
    if missing:
        raise ImageError(f"Photo not found: {', '.join(map(str, missing))}")
    if args.base_weights is not None and not args.base_weights.is_file():
        raise BaseWeightsError(f"Base weights file not found: {args.base_weights}")
    images, used = [], []
    for path in args.photos:
        try:
            images.append(load_rgb(path))
            used.append(path)
        except ImageError as exc:
            print(f"{path}: refused: {str(exc).split(': ', 1)[-1]}", file=sys.stderr)
    if not images:
        raise RefusedPhoto("No photo could be used.", [])
    names = dict(zip(meta["labels"], meta.get("labelNames") or meta["labels"], strict=False))
    try:
        result = teach(args.model_dir, args.product, images, weights=args.base_weights)
    except RefusedPhoto as exc:
        for i, why in exc.reasons:
            print(f"{used[i]}: refused: {why}", file=sys.stderr)
        raise RefusedPhoto("No photo could be used.", exc.reasons) from None
    for i, why in result.refused:
        print(f"{used[i]}: refused: {why}", file=sys.stderr)
    name = names.get(args.product, args.product)
    label = args.product if name == args.product else f"{args.product} ({name})"
    before = names.get(result.before or "", result.before)
    after = names.get(result.after or "", result.after)
    photos = f"{result.photos} photo{'s' if result.photos != 1 else ''}"
    print(
        f"Taught {label} from {photos} in {result.seconds:.1f} s; "
        f"the first photo was {before}, now {after}."
    )
    print(
        f"{result.taught_products} product{'s' if result.taught_products != 1 else ''} "
        f"taught since the full training; Train or sync runs it with validation."
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
