"""Shared fixtures: every test runs with the app's home folder in a temp dir, and the
real command line runs through one runner (:class:`Cli`, the ``cli`` fixture)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PRETRAINED = (
    SHARED / "pretrained" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"
)
GROCERY = SHARED / "datasets" / "grocery-fruit-veg"
PACKAGED = SHARED / "datasets" / "freiburg-groceries-packaged"
TM_EXPORT = SHARED / "reference" / "teachable-machine-export"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("VENDURE_DISABLE_TELEMETRY", "true")

from vendure_server.fixtures import vendure  # noqa: E402,F401  (real Vendure, issue 3)


def need(path: Path, what: str) -> Path:
    """Shared data is required in CI; locally its absence skips with a clear reason."""
    if not path.exists():
        msg = f"{what} not found at {path} (see ../shared/README.md)"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    return path


# Run inside the CLI's own process instead of ``-m app`` to say whether it imported
# TensorFlow (a no-op ``sync`` must not).
_REPORT_TF = (
    "import sys\nfrom app.cli import main\nrc = main(sys.argv[1:])\n"
    "print('TF-IMPORTED' if 'tensorflow' in sys.modules else 'TF-NOT-IMPORTED', "
    "file=sys.stderr)\nsys.exit(rc)\n"
)


class Cli:
    """The real command line, ``python -m app ARGS``, as a subprocess: the one runner.

    Each run gets this process's environment — so the test's app home
    (``DUKAHUB_TRAINER_HOME``, set by ``isolated_home``) — plus ``env``, minus ``unset``;
    it starts in the repository, with no standard input, so a password prompt can never
    hang a test. ``encoding``: how its output is decoded (default the locale's; give the
    one a ``PYTHONIOENCODING`` sets).
    """

    def __init__(self, env: dict[str, str] | None = None, unset: Iterable[str] = ()) -> None:
        self._env = dict(env or {})
        self._unset = tuple(unset)

    def with_env(self, unset: Iterable[str] = (), **env: str) -> Cli:
        """A runner that adds ``env`` (and drops ``unset``) on every run."""
        return Cli({**self._env, **env}, (*self._unset, *unset))

    def environment(self, env: dict[str, str] | None = None, unset: Iterable[str] = ()) -> dict:
        merged = {**os.environ, **self._env, **(env or {})}
        for name in (*self._unset, *unset):
            merged.pop(name, None)
        return merged

    def run(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        unset: Iterable[str] = (),
        timeout: float = 600,
        encoding: str | None = None,
        umask: int | None = None,
        report_tensorflow: bool = False,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess:
        """Runs to the end; ``report_tensorflow`` adds ``TF-IMPORTED`` or
        ``TF-NOT-IMPORTED`` as the last line of stderr; ``umask``: the process's;
        ``cwd``: the folder it runs in (the checkout's, on the module path either way)."""
        head = ["-c", _REPORT_TF] if report_tensorflow else ["-m", "app"]
        environment = self.environment(env, unset)
        if cwd is not None:
            environment["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(REPO), environment.get("PYTHONPATH", "")) if p
            )
        return subprocess.run(
            [sys.executable, *head, *args],
            cwd=cwd or REPO,
            capture_output=True,
            text=True,
            encoding=encoding,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            env=environment,
            preexec_fn=(lambda: os.umask(umask)) if umask is not None else None,
        )

    def start(
        self, *args: str, env: dict[str, str] | None = None, unset: Iterable[str] = ()
    ) -> subprocess.Popen[str]:
        """A running CLI with its stdout and stderr piped (text); Ctrl-C reaches it even
        when the test runs with SIGINT ignored."""
        return subprocess.Popen(
            [sys.executable, "-m", "app", *args],
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.environment(env, unset),
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )


@pytest.fixture(scope="session")
def cli() -> Cli:
    """The real CLI as a subprocess (see :class:`Cli`)."""
    return Cli()


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("DUKAHUB_TRAINER_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def base_weights() -> Path:
    return need(PRETRAINED, "Pretrained MobileNetV2 weights")


@pytest.fixture(scope="session")
def grocery() -> Path:
    return need(GROCERY, "Grocery dataset")


@pytest.fixture(scope="session")
def packaged() -> Path:
    """Packaged goods (Freiburg groceries): the second product domain (issue 15)."""
    return need(PACKAGED, "Packaged goods dataset")


@pytest.fixture(scope="session")
def tm_export() -> Path:
    return need(TM_EXPORT, "Teachable Machine reference export")
