"""The commands and their arguments, in the order ``--help`` lists them."""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Sequence
from typing import Any, NoReturn

from .. import __version__
from ..core.errors import ExitCode
from ..core.paths import BASE_WEIGHTS_ENV, HOME_ENV
from . import model, publish, sync, till_photos, train
from .login import PASSWORD_ENV

EPILOG = f"""environment:
  {HOME_ENV}  the app's folders (settings, models, photos, logs)
  {PASSWORD_ENV}  the shop password, for commands run without a terminal
  {BASE_WEIGHTS_ENV}  the pretrained weights file, instead of a download
  REQUESTS_CA_BUNDLE  the certificate file of a shop with a certificate of its own

exit codes: {ExitCode.OK} done, {ExitCode.FAILED} failed (one "Error:" line), \
{ExitCode.WAITING} sync waits for the changes to settle,
  {ExitCode.BUSY} another publish or sync holds the channel, \
{ExitCode.INTERRUPTED} interrupted (Ctrl-C, kill, hang-up),
  {ExitCode.BROKEN_PIPE} the reader of the output left"""


class Parser(argparse.ArgumentParser):
    """A bad argument ends like any bad input: one ``Error:`` line, exit code 1. No
    abbreviated options (``--ou`` for ``--out``): a script using one breaks the day a
    new option shares the start. An unknown option names the command's own help and
    the option it most likely meant (``--outt``: ``--out``)."""

    commands: dict[str, argparse.ArgumentParser]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self.commands = {}

    def error(self, message: str) -> NoReturn:
        # our own argument types end their messages with a full stop; argparse's do not
        self.exit(1, f"Error: {message.rstrip('.')} (see {self.prog} --help)\n")

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        parsed, extras = self.parse_known_args(args, namespace)
        if not extras:
            return parsed
        command = self.commands.get(getattr(parsed, "command", None) or "", self)
        known = list(command._option_string_actions)
        hint = next(
            (
                f"; did you mean {close[0]}?"
                for word in extras
                if word.startswith("--")
                and (close := difflib.get_close_matches(word.split("=")[0], known, n=1))
            ),
            "",
        )
        command.error(f"unrecognized arguments: {' '.join(extras)}{hint}")


def build_parser() -> argparse.ArgumentParser:
    ap = Parser(
        prog="dukahub-trainer",
        description="Teach a Dukahub point-of-sale camera to recognise your products. "
        "Run without a command to open the app.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    ap.commands = sub.choices
    train.add_parser(sub)
    model.add_predict(sub)
    sync.add_parser(sub)
    model.add_inspect(sub)
    model.add_teach(sub)
    publish.add_parsers(sub)
    till_photos.add_parser(sub)
    return ap
