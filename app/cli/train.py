"""``train``: a folder, the sample shop or a shop channel → the three files."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import Cancelled, TrainerError
from ..core.flows.train import (
    DEFAULT_OPTIONS,
    EPOCHS_MAX,
    EPOCHS_MIN,
    FILES,
    MODEL_ALPHAS,
    QUANTIZE,
    SEED_MAX,
    TM_IMAGE_SIZE,
    TrainOptions,
    TrainOutcome,
    TrainRequest,
    train,
)
from ..core.wording import file_shown, mixed_shop_words, never_sure, renamed_channel, weak_line
from .arguments import (
    add_base_weights,
    add_password_file,
    add_timeout,
    channel_id,
    user_path,
    whole_number,
)
from .interrupt import INTERRUPTED, TOO_LATE, cooperative
from .login import login_from_args
from .progress import StderrProgress

if TYPE_CHECKING:  # loaded by the command that uses them: `sync` and the parser do not
    from ..core.flows.open_source import OpenedSource


def add_parser(sub: Any) -> None:
    cmd = sub.add_parser("train", help="train a model from a folder or a shop channel")
    cmd.add_argument(
        "images_dir", nargs="?", type=user_path, help="one sub-folder of photos per product"
    )
    cmd.add_argument(
        "--out",
        type=user_path,
        help="folder to write the three files to (default: the app's model folder of "
        "this shop or folder)",
    )
    add_base_weights(cmd)
    cmd.add_argument(
        "--channel-id",
        default=None,
        type=channel_id,
        help="Vendure channel ID written to metadata",
    )
    cmd.add_argument(
        "--alpha",
        type=float,
        choices=MODEL_ALPHAS,
        default=DEFAULT_OPTIONS.alpha,
        help=f"MobileNetV2 width (default {DEFAULT_OPTIONS.alpha:g})",
    )
    cmd.add_argument(
        "--epochs",
        type=whole_number(EPOCHS_MIN, EPOCHS_MAX),
        default=DEFAULT_OPTIONS.epochs,
        help=f"{EPOCHS_MIN}-{EPOCHS_MAX} (default {DEFAULT_OPTIONS.epochs})",
    )
    cmd.add_argument("--seed", type=whole_number(0, SEED_MAX), default=DEFAULT_OPTIONS.seed)
    cmd.add_argument("--quantize", choices=QUANTIZE, default=QUANTIZE[0])
    cmd.add_argument("--no-augment", action="store_true", help="train on the photos as they are")
    cmd.add_argument(
        "--plain",
        action="store_true",
        help="the plain reference, Teachable Machine's recipe: 224-px input, linear softmax "
        "head, no augmentation, no validation",
    )
    cmd.add_argument("--no-validate", action="store_true", help="skip the validation rounds")
    cmd.add_argument(
        "--not-products",
        type=user_path,
        metavar="DIR",
        help="photos that show none of your products (the empty counter, a hand, a bag): "
        "the till learns to ask instead of guessing (default: the app's for this shop)",
    )
    cmd.add_argument(
        "--counter-frames",
        type=user_path,
        metavar="FRAMES_DIR",
        help="a flat folder of unlabelled photos of your counter (any products on it): "
        "they teach the model your shop's light, camera and background (default: the "
        "frames the app keeps for this shop)",
    )
    cmd.add_argument("--json", action="store_true", help="print the summary as JSON")
    cmd.add_argument("--server", help="train from this shop server's channel catalogue")
    cmd.add_argument("--channel", help="channel code (with --server)")
    cmd.add_argument("--username", help="user name (with --server; not needed when remembered)")
    add_password_file(cmd)
    cmd.add_argument(
        "--sample", action="store_true", help="train on the sample shop shipped with the app"
    )
    cmd.add_argument("--insecure", action="store_true", help="allow plain http:// (with --server)")
    add_timeout(cmd)  # the catalogue's download waited on the default limit alone
    cmd.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..core.flows.check_photos import photos_in_folder

    if args.plain and (args.counter_frames or args.not_products):
        raise TrainerError(
            "--plain trains the plain reference, which uses neither the shop's look nor "
            "photos that show no product: leave out --counter-frames and --not-products"
        )
    t0 = time.monotonic()
    progress = StderrProgress()
    cancel = cooperative()  # Ctrl-C stops at the next check, as the app's Cancel does
    # the given folders are refused before any download
    frames = (
        photos_in_folder(args.counter_frames, "--counter-frames") if args.counter_frames else None
    )
    empty = photos_in_folder(args.not_products, "--not-products") if args.not_products else None
    opened = _open(args, progress, cancel)
    options = TrainOptions(
        alpha=args.alpha,
        epochs=args.epochs,
        seed=args.seed,
        augment=not (args.no_augment or args.plain),
        base_weights=args.base_weights,
        validate=not (args.no_validate or args.plain),
        head="linear" if args.plain else "cosine",
        image_size=TM_IMAGE_SIZE if args.plain else DEFAULT_OPTIONS.image_size,
    )
    request = TrainRequest(
        opened,
        options,
        out_dir=args.out,
        channel_id=args.channel_id,
        quantize=args.quantize,
        counter_frames=None if frames is None else frames.photos,
        not_product_photos=None if empty is None else empty.photos,
    )
    try:
        outcome = train(request, on_progress=progress, cancel=cancel)
    except Cancelled:  # Ctrl-C or kill, which stop at the next check
        raise Cancelled(f"\n{INTERRUPTED}") from None
    progress.done()
    if cancel.is_set():  # too late to stop: the new model was being written
        print(TOO_LATE, file=sys.stderr)
    names = opened.catalogue.names()
    for line in outcome.report.summary_lines(names):
        print(f"note: {line}", file=sys.stderr)
    frames_skipped = [] if frames is None else [(str(p), why) for p, why in frames.skipped]
    empty_skipped = [] if empty is None else [(str(p), why) for p, why in empty.skipped]
    used_frames = len(request.counter_frames or opened.store.counter_frames.paths())
    summary = _summary(outcome, names, frames_skipped, empty_skipped, time.monotonic() - t0)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    _print_summary(outcome, names, summary, frames_skipped, used_frames)
    return 0


def _open(
    args: argparse.Namespace, progress: StderrProgress, cancel: threading.Event
) -> OpenedSource:
    """The source the arguments name: ``--sample``, ``--server`` or a folder."""
    from ..core.flows.open_source import folder_source, open_source, sample_shop, shop_source

    if args.sample:  # the six fruits shipped with the app: try it without photos or a server
        if args.images_dir is not None or args.server or args.channel:
            raise TrainerError(
                "--sample trains on the sample shop: give no folder, --server or --channel"
            )
        return open_source(sample_shop())
    if args.server:
        if args.images_dir is not None:
            raise TrainerError("Give either an image folder or --server, not both")
        if not args.channel:
            raise TrainerError("--server needs --channel")
        client = login_from_args(args)
        try:
            client.select_channel(args.channel)
            opened = open_source(
                shop_source(client), client=client, on_progress=progress, cancel=cancel
            )
        finally:
            client.close()
        renamed = renamed_channel(opened.source.renamed_from, opened.source.channel_code)
        if renamed:
            print(f"note: {renamed}", file=sys.stderr)
        for failure in opened.failed:
            print(f"note: photo not downloaded: {failure}", file=sys.stderr)
        return opened
    if args.channel:  # it was ignored: the model then named no channel at all
        raise TrainerError(
            "--channel names a shop channel and needs --server; for the channel id "
            "metadata.json names, give --channel-id ID"
        )
    if args.images_dir is None:
        raise TrainerError("Give an image folder (one sub-folder per product) or --server")
    return open_source(folder_source(args.images_dir))


def _summary(
    outcome: TrainOutcome,
    names: dict[str, str],
    frames_skipped: list[tuple[str, str]],
    empty_skipped: list[tuple[str, str]],
    seconds: float,
) -> dict[str, Any]:
    """``--json``: every figure, and every photo and product not used, with why."""
    r, out = outcome.result, outcome.model_dir
    return {
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
        "totalSeconds": round(seconds, 2),
        "modelBytes": sum(f.stat().st_size for f in out.iterdir()),
        "notes": outcome.report.summary_lines(names),
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
        "notProducts": {  # the shop's photos of its empty counter (--not-products, or kept)
            "used": r.not_products,
            "skipped": [
                {"file": f, "reason": why} for f, why in empty_skipped + r.not_products_skipped
            ],
        },
    }


def _print_summary(
    outcome: TrainOutcome,
    all_names: dict[str, str],
    summary: dict[str, Any],
    frames_skipped: list[tuple[str, str]],
    frames_given: int,
) -> None:
    r = outcome.result
    names = r.names
    print(
        f"Trained {r.product_count} products on {r.image_count} photos in {r.duration_s:.1f}s"
        f" ({outcome.device})."
    )
    if r.val_accuracy is not None:
        print(f"Validation accuracy: {r.val_accuracy:.0%} ({r.validation}).")
        if mixed := mixed_shop_words([(s.trained_from, s.expected) for s in r.standings]):
            print(mixed)
    else:
        print(f"Validation: {r.validation}.")
    weak = [(p, a) for p, a in r.per_product.items() if a is not None and a < 1.0]
    for p, a in sorted(weak, key=lambda t: t[1])[:5]:
        print(f"  {names.get(p, p)}: {a:.0%}")
    for a, b, c in r.confusions[:3]:
        print(f"  often confused: {names.get(a, a)} → {names.get(b, b)} ({c}×)")
    if r.val_accuracy is not None or r.needs_more_photos:  # none measured: no verdict
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
    elif a is not None and a.measured:
        print(never_sure(f"{a.target:.0%}"))
    elif a is not None:
        print(
            f"The till adds a product by itself only at {a.threshold:.0%} or more, and "
            "otherwise asks the cashier: too few held-back photos to measure when it can be sure."
        )
    if r.counter_frames:
        when = r.counter_frames_newest
        print(f"Shop's look: from {r.counter_frames} counter frame(s), newest {when}.")
    elif frames_given > len(r.frames_skipped):
        print("Counter frames: not used (held-back counter photos did better without them).")
    elif r.trained_on != "counter":
        print(
            "Tip: about 20 photos of your counter with any products on it (--counter-frames, "
            "or 'Show me your counter' in the app) teach the model your shop's look."
        )
    for pid, why in r.trained_as_is:
        print(f"Catalogue photo trained as it is: {names.get(pid, pid)} — {why}.")
    for f, why in frames_skipped + r.frames_skipped:
        print(f"Counter frame not used: {file_shown(Path(f).name)} — {why}.")
    if r.not_products:
        print(f"Not a product: {r.not_products} photo(s) of your empty counter.")
    for item in summary["notProducts"]["skipped"]:
        shown = file_shown(Path(item["file"]).name)
        print(f"Empty-counter photo not used: {shown} — {item['reason']}.")
    for item in summary["notTrained"]:
        print(f"Not trained: {all_names.get(item['product'], item['product'])} — {item['reason']}.")
    for s in outcome.report.skipped_photos():
        who = all_names.get(s.product, s.product)
        print(f"Photo not used: {s.shown} ({who}) — {s.reason}.")
    for pid, why in outcome.report.not_downloaded:  # its product still trained on the rest
        if pid not in outcome.report.no_images:
            print(f"Photo not used ({all_names.get(pid, pid)}) — not downloaded: {why}.")
    size = summary["modelBytes"]
    print(f"Wrote {outcome.model_dir} ({size / 1e6:.2f} MB: {', '.join(FILES)}).")
