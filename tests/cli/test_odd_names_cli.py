"""Odd names and paths through the real command line (an audit): a link that loops, the
folder the command runs in as ``--out``, a label with a newline, ``~`` after ``=``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from drawn_photos import drawn_photo, drawn_photos
from model_standins import fake_model

from app.core.modelfiles import TRAINER_NAME

if TYPE_CHECKING:
    from conftest import Cli

LABELS = ["kiwi\nError: model damaged", "apple\x1b[31m", "Lemon", "Lime", "Orange"]


def _shop(folder: Path) -> Path:
    for k, name in enumerate(("Kiwi", "Lemon")):
        drawn_photos(folder / name, 2, k)
    return folder


def _one_error_line(stderr: str, *words: str) -> None:
    lines = [ln for ln in stderr.splitlines() if ln.strip() and not ln.startswith("[")]
    assert len(lines) == 1 and lines[0].startswith("Error: "), stderr
    assert "Traceback" not in stderr and all(w in lines[0] for w in words), stderr


def test_the_folder_the_command_runs_in_is_refused_as_out_before_training(
    cli: Cli, tmp_path: Path
) -> None:
    # swapped out whole, it left the terminal in a removed folder: `ls` showed nothing
    # and the next train said "It does not exist"
    shop = _shop(tmp_path / "shop")
    here = tmp_path / "mymodel"
    here.mkdir()
    for out in (".", str(here)):
        r = cli.run("train", str(shop), "--out", out, cwd=here, report_tensorflow=True)
        assert r.returncode == 1
        assert r.stderr.splitlines()[-1] == "TF-NOT-IMPORTED"  # before any long work
        _one_error_line(r.stderr.rsplit("\n", 2)[0], "is the folder you are in", "cd ..")
    r = cli.run("train", str(shop), "--out", str(tmp_path), cwd=here, report_tensorflow=True)
    assert r.returncode == 1 and "is the folder you are in" in r.stderr  # a folder above
    assert here.is_dir() and not any(here.iterdir())


def test_teach_in_the_folder_it_runs_in_is_refused_before_the_engine_loads(
    cli: Cli, tmp_path: Path, tm_export: Path
) -> None:
    # "teach ." ended with a traceback: ValueError: PosixPath('.') has an empty name
    model = fake_model(tmp_path / "m", tm_export, LABELS, trainer={"name": TRAINER_NAME})
    photo = drawn_photo(tmp_path / "p.png", (200, 120, 40))
    before = {p.name: p.read_bytes() for p in model.iterdir()}
    r = cli.run("teach", ".", "--product", "Lemon", str(photo), cwd=model, report_tensorflow=True)
    assert r.returncode == 1 and r.stderr.splitlines()[-1] == "TF-NOT-IMPORTED"
    _one_error_line(r.stderr.rsplit("\n", 2)[0], "is the folder you are in")
    assert {p.name: p.read_bytes() for p in model.iterdir()} == before


def test_a_link_that_leads_back_to_itself_is_one_error_line_everywhere(
    cli: Cli, tmp_path: Path, tm_export: Path
) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to("loop")
    model = fake_model(tmp_path / "m", tm_export, LABELS)
    shop = _shop(tmp_path / "shop")
    for args in (
        ("train", str(loop), "--out", str(tmp_path / "out")),
        ("train", str(shop), "--out", str(loop)),
        ("publish", str(model), "--to-folder", str(loop), "--channel-id", "1"),
    ):
        r = cli.run(*args)
        assert r.returncode == 1, args
        _one_error_line(r.stderr, str(loop), "leads back to itself")


def test_predict_and_inspect_print_each_label_on_one_line(
    cli: Cli, tmp_path: Path, tm_export: Path
) -> None:
    # a label is whatever its folder was named: "kiwi\nError: model damaged" printed a
    # second line that read as an error, with the exit code 0
    model = fake_model(tmp_path / "m", tm_export, LABELS)
    photo = drawn_photo(tmp_path / "p.png", (200, 120, 40))
    r = cli.run("predict", str(model), str(photo), "--top", "5")
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 1 and "\x1b" not in r.stdout
    assert "kiwi Error: model damaged" in r.stdout
    r = cli.run("inspect", str(model))
    assert r.returncode == 0, r.stderr
    assert not any(ln.startswith("Error") for ln in r.stdout.splitlines())
    assert "    kiwi Error: model damaged" in r.stdout.splitlines() and "\x1b" not in r.stdout


def test_a_tilde_after_the_equals_sign_is_the_home_folder(
    cli: Cli, tmp_path: Path, tm_export: Path
) -> None:
    home = tmp_path / "home"
    fake_model(home / "model", tm_export, LABELS)
    r = cli.run("inspect", "~/model", env={"HOME": str(home)})
    assert r.returncode == 0, r.stderr
    r = cli.run(
        "train", str(tmp_path / "nowhere"), "--counter-frames=~/frames", env={"HOME": str(home)}
    )
    assert f"{home}/frames" in r.stderr and "~" not in r.stderr, r.stderr


def test_one_folder_by_another_name_is_still_refused(cli: Cli, tmp_path: Path) -> None:
    """macOS's disks ignore letter case, so ``~/Shop/model`` is inside ``~/shop``; the
    guards compared names only. A bind mount spells one folder two ways here, as macOS
    would: the photo folder and the folder the command runs in are refused by identity."""
    from mounts import mounted

    shop = _shop(tmp_path / "shop")
    here = tmp_path / "mymodel"
    here.mkdir()
    alias = tmp_path / "Shop"
    with mounted(alias, "--bind", str(shop)):
        r = cli.run("train", str(shop), "--out", str(alias / "model"), report_tensorflow=True)
        assert r.returncode == 1 and r.stderr.splitlines()[-1] == "TF-NOT-IMPORTED"
        _one_error_line(r.stderr.rsplit("\n", 2)[0], "inside the photo folder")
        assert not (shop / "model").exists()
    with mounted(alias, "--bind", str(here)):
        r = cli.run("train", str(shop), "--out", str(here), cwd=alias, report_tensorflow=True)
        assert r.returncode == 1 and r.stderr.splitlines()[-1] == "TF-NOT-IMPORTED"
        _one_error_line(r.stderr.rsplit("\n", 2)[0], "is the folder you are in")
    assert here.is_dir() and not any(here.iterdir())


def test_same_or_inside_sees_a_folder_by_either_name(tmp_path: Path) -> None:
    from mounts import mounted

    from app.core.paths import same_or_inside

    real, alias = tmp_path / "real", tmp_path / "alias"
    (real / "a" / "b").mkdir(parents=True)
    assert same_or_inside(real / "a" / "b", real) and same_or_inside(real, real)
    assert not same_or_inside(alias / "a", real)  # no such folder: names only
    with mounted(alias, "--bind", str(real)):
        assert same_or_inside(alias / "a" / "b", real) and same_or_inside(alias, real)
        assert same_or_inside(alias / "a" / "not-yet" / "model", real)  # to be made
        assert same_or_inside(real / "a", alias / "a")
        assert not same_or_inside(real, alias / "a")  # above it, not inside
        assert not same_or_inside(tmp_path, alias)
