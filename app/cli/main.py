"""The entry point (``dukahub-trainer``, ``python -m app``): the app without a command,
else one command, its failures turned into one line and an exit code by type."""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import sys

from ..core.errors import (
    Cancelled,
    ExitCode,
    InsecureServerUrl,
    TrainerError,
    WeightsUnavailable,
)
from . import interrupt, streams


def main(argv: list[str] | None = None) -> int:
    """The program (``argv`` None: ``sys.argv``), or one command in-process (tests)."""
    if argv is None:
        streams.reopen_closed()
    code = _main(argv)
    if argv is None and code == ExitCode.INTERRUPTED and "tensorflow" in sys.modules:
        _end_now(code)
    return code


def _end_now(code: int) -> None:
    """An interrupted run that loaded TensorFlow ends here, its clean-up done: at the
    interpreter's own exit, a TensorFlow thread still starting up aborted the process
    ("terminate called after throwing an instance of ''", exit 134) in 3 of 6 runs
    interrupted 3.5 s into a training, after "Interrupted; nothing was changed."."""
    import atexit
    import os

    atexit._run_exitfuncs()  # the private temp folder, as a normal exit removes it
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def _main(argv: list[str] | None) -> int:
    # output never fails a command: what the terminal or log cannot encode (an emoji in
    # a cp1252 log) is written as "?", so a model that was written is reported as written
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")
    raw = sys.argv[1:] if argv is None else argv
    if not raw:  # the app: skip the parser, whose shop commands import requests
        return _app(argv)
    from .parser import build_parser

    args = build_parser().parse_args(raw)
    if args.command is None:
        return _app(argv)
    with streams.guarded():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    """One command, its failures turned into one line and an exit code by type."""
    try:
        # ``kill`` unwinds like Ctrl-C, so temp folders are removed on the way out;
        # ``train`` stops at its next check instead (interrupt.cooperative)
        with interrupt.installed():
            from ..core.flows.command import start_command

            start_command(notes_to=sys.stderr)  # the log file, notes, a private temp folder
            code = int(args.func(args))
            sys.stdout.flush()  # a write failure is this command's last word, not Python's
            return code
    except BrokenPipeError:  # `inspect … | head -1`: the reader left; not a failure to report
        _silence_stdout()
        return ExitCode.BROKEN_PIPE
    except Cancelled as exc:  # an outcome: its message says what was kept
        print(str(exc) or "Cancelled.", file=sys.stderr)
        _log_end(args.command, str(exc).strip() or "cancelled")
        return ExitCode.INTERRUPTED
    except KeyboardInterrupt:
        line = interrupt.interrupted_line()
        print(f"\n{line}", file=sys.stderr)
        _log_end(args.command, line)
        return ExitCode.INTERRUPTED
    except TrainerError as exc:
        line = f"Error: {exc}{_advice(exc)}"
        print(line, file=sys.stderr)
        _log_end(args.command, line)
        return ExitCode.FAILED
    except Exception as exc:  # a full disk, a read-only folder: by type, one line
        from ..core.faults import describe

        message = describe(exc)
        if message is None:
            raise  # a bug: the traceback is the useful report
        # the details for the log file; info, so no last-resort printer repeats it here
        logging.getLogger(__name__).info("%s failed", args.command, exc_info=exc)
        print(f"Error: {message}", file=sys.stderr)
        return ExitCode.FAILED


def _log_end(command: str, line: str) -> None:
    """The failure's line in the log file too: a ``sync`` run by a timer or the Task
    Scheduler, whose stderr nobody reads, failed every night without a trace there.
    Info, so the notes printer (warnings and up) does not repeat it on the terminal."""
    logging.getLogger(__name__).info("%s ended: %s", command, line)


def _silence_stdout() -> None:
    """Python flushes stdout again at exit, into the same closed pipe: point it at the
    null device first, so no "Exception ignored … BrokenPipeError" follows."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _app(argv: list[str] | None) -> int:
    from ..gui.main import run_gui

    return run_gui(sys.argv[:1] if argv is None else ["dukahub-trainer"])


def _advice(exc: TrainerError) -> str:
    """What the command line offers beyond the error's own words (the app, its buttons)."""
    from ..core.paths import BASE_WEIGHTS_ENV

    if isinstance(exc, WeightsUnavailable):
        return (
            " A copy of that file can also be given with --base-weights FILE or the "
            f"environment variable {BASE_WEIGHTS_ENV}."
        )
    if isinstance(exc, InsecureServerUrl):  # the app asks; here it is an option
        return " To go ahead on a network you trust, add --insecure."
    return ""
