"""Command line: ``python -m app`` opens the app; subcommands script the same core.

Parses and prints only: every command calls the owner's tasks in
:mod:`app.core.flows` (and the support modules the import-linter contract in
``pyproject.toml`` names). Exit codes: 0 success, 1 a problem the user can fix — a bad
argument, a full disk, an unreadable folder… — as one ``Error: …`` line on stderr and
no traceback (OS and TensorFlow failures included), 130 interrupted (Ctrl-C or
``kill``); ``sync`` adds 3 and 4 (:class:`app.core.errors.ExitCode`).

* :mod:`.main`     — the entry point: streams, the app without a command, errors → exit codes
* :mod:`.parser`   — the commands and their arguments (argparse), in ``--help`` order
* :mod:`.arguments` — argument types and the option groups several commands share
* :mod:`.progress` — the one progress printer (stderr; the time left while training)
* :mod:`.login`    — a shop login from the arguments, a remembered session or a prompt
* :mod:`.train`    — ``train``
* :mod:`.model`    — ``predict``, ``inspect``, ``teach``
* :mod:`.publish`  — ``publish``, ``status``, ``rollback`` (a shop, or ``--to-folder``)
* :mod:`.sync`     — ``sync`` (``--till-photos review|accept``)
* :mod:`.till_photos` — ``till-photos list|accept|drop|stats``: photos from the till
"""

from __future__ import annotations

from .main import main
from .progress import StderrProgress

__all__ = ["StderrProgress", "main"]
