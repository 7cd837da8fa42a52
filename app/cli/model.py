"""``predict``, ``inspect`` and ``teach``: the commands that work on an exported model."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import AlreadyNamed, Cancelled
from ..core.wording import file_shown, share_beside, threshold_words
from .arguments import add_base_weights, user_path, whole_number
from .interrupt import INTERRUPTED, TOO_LATE, cooperative
from .progress import StderrProgress

if TYPE_CHECKING:
    from ..core.flows.recognise import Recognition


def add_predict(sub: Any) -> None:
    cmd = sub.add_parser("predict", help="run an exported model on images")
    cmd.add_argument("model_dir", type=user_path)
    cmd.add_argument("images", nargs="+", type=user_path)
    cmd.add_argument("--top", type=whole_number(1), default=3)
    cmd.add_argument("--json", action="store_true", help="one JSON object per photo, one a line")
    cmd.set_defaults(func=run_predict)


def add_inspect(sub: Any) -> None:
    cmd = sub.add_parser("inspect", help="validate a model folder and print its metadata")
    cmd.add_argument("model_dir", type=user_path)
    cmd.add_argument("--json", action="store_true")
    cmd.set_defaults(func=run_inspect)


def add_teach(sub: Any) -> None:
    cmd = sub.add_parser(
        "teach",
        help="update a model in place from photos of one product (no full training)",
        description="Teaches the exported model these photos of one product at once, as a "
        "correction at the till does: the product layer is updated and the three files are "
        "written through the same validation and atomic swap as train. Dark, blank or "
        "blurred photos are refused with a reason. Train or sync runs the full training "
        "with validation later; to keep the photos for it, add them to the product.",
    )
    cmd.add_argument("model_dir", type=user_path, metavar="MODEL_DIR")
    cmd.add_argument("--product", required=True, metavar="ID", help="the product the photos show")
    cmd.add_argument("photos", nargs="+", type=user_path, metavar="PHOTO")
    add_base_weights(cmd)
    cmd.set_defaults(func=run_teach)


# Each command imports its task when it runs: the parser, and so every other command
# (a no-op `sync` on a timer), does not load what only these three use.
def run_predict(args: argparse.Namespace) -> int:
    """One line (or JSON object) per photo on stdout; an unreadable photo is skipped
    with its reason on stderr (with ``--json``, also as ``{"file", "skipped"}`` on
    stdout, so a script sees every photo it gave) and makes the exit code 1. Each line
    goes out as its photo is done. Ctrl-C and ``kill`` stop it at the next photo: raised
    anywhere, one that came while TensorFlow loaded was swallowed (the run went on and
    ended 0) or crashed the process, as ``train``'s once did (:mod:`.interrupt`)."""
    from ..core.flows.recognise import load_model, recognise_files

    cancel = cooperative()
    try:
        loaded = load_model(args.model_dir, cancel=cancel)
        threshold = loaded.accept_threshold
        status = 0
        for r in recognise_files(loaded, args.images, top=args.top, cancel=cancel):
            status |= _print_recognition(r, threshold, args.json)
    except Cancelled:
        raise Cancelled(f"\n{INTERRUPTED}") from None
    if cancel.is_set():  # the signal came after the last photo's check
        raise Cancelled(f"\n{INTERRUPTED}")
    return status


def _print_recognition(r: Recognition, threshold: float, as_json: bool) -> int:
    """One photo's line on stdout, flushed so a pipe reads it at once; a skipped photo's
    reason on stderr too, and 1."""
    if r.decision is None:
        print(f"{file_shown(r.path)}: skipped: {r.error}", file=sys.stderr)
        if as_json:
            print(json.dumps({"file": str(r.path), "skipped": r.error}, ensure_ascii=False))
    elif as_json:
        top = [{"label": m.label, "name": m.name, "p": m.probability} for m in r.matches]
        said = {"sure": r.decision.sure, "acceptThreshold": threshold, "decision": r.said}
        print(json.dumps({"file": str(r.path), "top": top} | said, ensure_ascii=False))
    else:
        shown = ", ".join(
            f"{m.shown_label}{f' ({m.name})' if m.name != m.shown_label else ''} "
            f"{share_beside(m.probability, threshold)}"
            for m in r.matches
        )
        print(f"{file_shown(r.path)}: {shown} — {r.said} ({threshold_words(threshold)})")
    sys.stdout.flush()
    return 1 if r.decision is None else 0


def run_inspect(args: argparse.Namespace) -> int:
    from ..core.flows.inspect import inspect_model

    report = inspect_model(args.model_dir)
    if args.json:
        print(json.dumps(report.metadata, indent=2, ensure_ascii=False))
        return 0
    print(f"{args.model_dir}: valid TF.js layers model")
    for name, size in report.file_sizes:
        print(f"  {name:14s} {size:>10,d} bytes")
    for key, value in report.fields:
        print(f"  {key}: {value}")
    print(f"  labels ({len(report.labels)}):")
    for lab, nm in report.shown_labels:
        print(f"    {lab}" + (f"  {nm}" if nm != lab else ""))
    if report.missing_seed_fields:
        origin = "a Teachable Machine export" if report.from_teachable_machine else "this model"
        print(f"  note: {origin} lacks Dukahub fields: {', '.join(report.missing_seed_fields)}")
    return 0


def run_teach(args: argparse.Namespace) -> int:
    from ..core.flows.teach import PhotosRefused, TeachRequest, teach_photos

    request = TeachRequest(args.model_dir, args.product, list(args.photos), args.base_weights)
    cancel = cooperative()  # as train: raised anywhere, Ctrl-C was lost in TensorFlow's load
    progress = StderrProgress()
    try:
        outcome = teach_photos(request, on_progress=progress, cancel=cancel)
    except PhotosRefused as exc:
        _refused(exc.refused)
        raise
    except AlreadyNamed as exc:  # nothing to teach: not a failure
        progress.done()
        print(f"Not taught: {exc}.")
        return 0
    except Cancelled:
        raise Cancelled(f"\n{INTERRUPTED}") from None
    progress.done()
    if cancel.is_set():  # too late to stop: the updated model was being written
        print(TOO_LATE, file=sys.stderr)
    _refused(outcome.refused)
    result = outcome.result
    photos = f"{result.photos} photo{'s' if result.photos != 1 else ''}"
    print(
        f"Taught {outcome.label} from {photos} in {result.seconds:.1f} s; "
        f"the first photo was {outcome.before}, now {outcome.after}."
    )
    print(
        f"{result.taught_products} product{'s' if result.taught_products != 1 else ''} "
        "taught since the full training. The photos are not kept: add them to the product "
        "(its photo folder, or the app's Products screen) so that the next training, which "
        "replaces this model, learns them too."
    )
    return 0


def _refused(refused: list[tuple[Path, str]]) -> None:
    for path, why in refused:
        print(f"{path}: refused: {why}", file=sys.stderr)
