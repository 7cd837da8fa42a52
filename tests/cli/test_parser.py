"""Arguments as scripts type them (a CLI audit: ``--outt`` pointed at the top-level help,
which does not list ``--out``; ``--ou`` and ``--e 1`` were silently taken for ``--out``
and ``--epochs``; no help named the environment variables or the exit codes)."""

from __future__ import annotations

from app.cli.login import PASSWORD_ENV
from app.core.errors import ExitCode
from app.core.paths import BASE_WEIGHTS_ENV, HOME_ENV


def test_a_mistyped_option_names_the_commands_help_and_the_likely_option(cli, tmp_path):
    out = cli.run("train", str(tmp_path), "--outt", str(tmp_path / "m"))
    assert out.returncode == 1
    assert out.stderr.strip() == (
        f"Error: unrecognized arguments: --outt {tmp_path / 'm'}; did you mean --out? "
        "(see dukahub-trainer train --help)"
    )


def test_an_abbreviated_option_is_refused(cli, tmp_path):
    out = cli.run("train", str(tmp_path), "--ou", str(tmp_path / "m"), "--e", "1")
    assert out.returncode == 1
    assert "unrecognized arguments: --ou" in out.stderr and "did you mean --out?" in out.stderr


def test_the_help_names_the_environment_and_the_exit_codes(cli):
    out = cli.run("--help")
    assert out.returncode == 0
    for name in (HOME_ENV, PASSWORD_ENV, BASE_WEIGHTS_ENV, "REQUESTS_CA_BUNDLE"):
        assert name in out.stdout
    for code in ExitCode:
        assert f"{int(code)} " in out.stdout.split("exit codes:")[1]
