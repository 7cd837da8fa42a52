"""One copy of the app per profile (issue 19): real processes, offscreen, bounded time."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from app.core import logs
from app.gui import single_instance
from app.gui.main import EXIT_AFTER_FIRST_PAINT_ENV

REPO = Path(__file__).resolve().parents[2]


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "DUKAHUB_TRAINER_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}
    env.pop(EXIT_AFTER_FIRST_PAINT_ENV, None)
    env.update(extra)
    return env


def _wait_for_log(home: Path, text: str, proc: subprocess.Popen, timeout_s: float) -> str:
    log_file = home / "logs" / logs.LOG_FILE
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = log_file.read_text(encoding="utf-8") if log_file.exists() else ""
        if text in body:
            return body
        assert proc.poll() is None, f"the first copy exited ({proc.returncode})"
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in the log after {timeout_s} s")


def test_a_second_copy_on_the_same_profile_brings_the_first_to_the_front(tmp_path: Path) -> None:
    home, other = tmp_path / "profile", tmp_path / "other-profile"
    first = subprocess.Popen(
        [sys.executable, "-m", "app"],
        env=_env(home),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_log(home, "listening for a second copy", first, timeout_s=60)
        second = subprocess.run(
            [sys.executable, "-m", "app"],
            env=_env(home, **{EXIT_AFTER_FIRST_PAINT_ENV: "1"}),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 0, second.stderr
        assert "FIRST_WINDOW" not in second.stdout  # no second window on the same profile
        assert "already open on this profile: its window was brought to the front" in (
            second.stderr
        )
        _wait_for_log(home, "bringing this window to the front", first, timeout_s=10)
        assert first.poll() is None  # the first copy carries on

        # Another profile is another shop: it opens its own window beside the first.
        third = subprocess.run(
            [sys.executable, "-m", "app"],
            env=_env(other, **{EXIT_AFTER_FIRST_PAINT_ENV: "1"}),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert third.returncode == 0, third.stderr
        assert "FIRST_WINDOW" in third.stdout
    finally:
        first.terminate()
        first.wait(timeout=30)


_HOLDER = """
import sys, time
from PySide6.QtCore import QCoreApplication, QLockFile
app = QCoreApplication([])
lock = QLockFile(sys.argv[1])
assert lock.tryLock(1000)
print("locked", flush=True)
time.sleep(120)
"""


def test_a_copy_that_does_not_answer_is_named_and_this_one_closes(qtbot) -> None:
    """The lock is held by a process that is not listening (stuck, or on another computer
    sharing the folder): the owner is told which process, and why this copy closes."""
    lock_path = single_instance.profile_folder() / single_instance.LOCK_NAME
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(lock_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        seen: list[str] = []

        def click_ok() -> None:
            box = next(
                (
                    w
                    for w in QApplication.topLevelWidgets()
                    if isinstance(w, QMessageBox) and w.objectName() == "already-open"
                ),
                None,
            )
            if box is None or not box.isVisible():
                QTimer.singleShot(50, click_ok)
                return
            seen.append(box.text())
            qtbot.mouseClick(box.button(QMessageBox.StandardButton.Ok), Qt.MouseButton.LeftButton)

        QTimer.singleShot(0, click_ok)
        t0 = time.monotonic()
        result = single_instance.claim()
        assert result == single_instance.CANNOT_START_EXIT
        assert time.monotonic() - t0 < 15
        (text,) = seen
        assert f"already open on this profile (process {holder.pid} on this computer)" in text
        assert "did not answer" in text and "this copy will close" in text
        assert str(single_instance.profile_folder()) in text
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_a_crashed_copy_leaves_no_lock_behind(qtbot) -> None:
    lock_path = single_instance.profile_folder() / single_instance.LOCK_NAME
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(lock_path)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "locked"
    holder.kill()  # no clean-up: the lock file stays with a dead process id
    holder.wait(timeout=10)
    assert lock_path.exists()
    guard = single_instance.claim()
    try:
        assert isinstance(guard, single_instance.InstanceGuard)
        assert guard.server.isListening()
    finally:
        guard.release()


def test_an_empty_or_garbled_lock_file_does_not_stop_every_start(qtbot) -> None:
    """Qt took a lock file that names no process as held by a copy that "did not
    answer", on every start; one still being written (younger than 10 s) is left."""
    lock_path = single_instance.profile_folder() / single_instance.LOCK_NAME
    for content in (b"", b"\x8f\x01garbage\n"):
        lock_path.write_bytes(content)
        os.utime(lock_path, (time.time() - 60, time.time() - 60))
        guard = single_instance.claim()
        try:
            assert isinstance(guard, single_instance.InstanceGuard), content
        finally:
            guard.release()
    lock_path.write_bytes(b"")  # just made: another copy may be writing it
    from app.core import paths

    paths.drop_unreadable_lock(lock_path)
    assert lock_path.exists()


def test_an_app_home_that_cannot_be_written_is_said_in_one_line(tmp_path: Path) -> None:
    """A home whose ``config`` or ``logs`` is a file (or a read-only disk): the app showed
    no window at all, and a traceback on a terminal."""
    for blocked in ("config", "logs"):
        home = tmp_path / blocked
        home.mkdir()
        (home / blocked).write_text("a file where the app keeps a folder")
        env = _env(home, **{EXIT_AFTER_FIRST_PAINT_ENV: "1"})
        p = subprocess.run(
            [sys.executable, "-m", "app"], cwd=REPO, env=env, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
        assert p.returncode == 1, (blocked, p.stderr)
        assert "Traceback" not in p.stderr, p.stderr
        assert (
            p.stderr.strip()
            .splitlines()[-1]
            .startswith("Error: Dukahub Model Trainer cannot start: ")
        ), p.stderr


def test_an_app_home_whose_name_is_not_text_is_said_in_one_line(tmp_path: Path) -> None:
    """Under ``…/h\\xff`` the app opened, and its first training failed inside TensorFlow."""
    odd = Path(os.fsdecode(os.fsencode(str(tmp_path)) + b"/h\xff"))
    env = _env(odd, **{EXIT_AFTER_FIRST_PAINT_ENV: "1"})
    p = subprocess.run(
        [sys.executable, "-m", "app"], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert p.returncode == 1 and "Traceback" not in p.stderr, p.stderr
    assert "not valid text (UTF-8)" in p.stderr.strip().splitlines()[-1], p.stderr
