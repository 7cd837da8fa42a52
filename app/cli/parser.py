"""The commands and their arguments, in the order ``--help`` lists them."""

from __future__ import annotations

import argparse
from typing import NoReturn

from .. import __version__
from . import model, publish, sync, till_photos, train


class Parser(argparse.ArgumentParser):
    """A bad argument ends like any bad input: one ``Error:`` line, exit code 1."""

    def error(self, message: str) -> NoReturn:
        # our own argument types end their messages with a full stop; argparse's do not
        self.exit(1, f"Error: {message.rstrip('.')} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    ap = Parser(
        prog="dukahub-trainer",
        description="Teach a Dukahub point-of-sale camera to recognise your products. "
        "Run without a command to open the app.",
    )
    ap.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    train.add_parser(sub)
    model.add_predict(sub)
    sync.add_parser(sub)
    model.add_inspect(sub)
    model.add_teach(sub)
    publish.add_parsers(sub)
    till_photos.add_parser(sub)
    return ap
