"""The task runner: outcomes, main-thread delivery, one task per resource, throttling."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from app.core.errors import Cancelled, DatasetError
from app.core.progress import Progress
from app.gui.tasks import TaskRunner


@pytest.fixture
def runner(qapp):
    r = TaskRunner()
    yield r
    r.shutdown()


def on_main_thread() -> bool:
    return QThread.currentThread() is QApplication.instance().thread()


def test_result_arrives_on_the_main_thread(qtbot, runner):
    seen = {}

    def work(on_progress, cancel):
        seen["worker_thread"] = threading.current_thread() is not threading.main_thread()
        on_progress(Progress("training", 0.5, "half"))
        return 42

    got = []
    task = runner.start("job", work)
    # plain lambdas: they would run in the worker thread if the runner did not relay
    task.progress.connect(lambda p: got.append(("progress", p.fraction, on_main_thread())))
    task.succeeded.connect(lambda v: got.append(("ok", v, on_main_thread())))
    with qtbot.waitSignal(task.finished, timeout=5000):
        pass
    assert seen["worker_thread"]
    assert ("ok", 42, True) in got
    assert all(main for _, _, main in got)
    assert task.outcome == "ok" and task.result == 42


def test_user_error_and_bug_are_told_apart(qtbot, runner):
    def user_error(on_progress, cancel):
        raise DatasetError("Need photos of at least two products.")

    def bug(on_progress, cancel):
        return {}["missing"]

    errors = []
    t1 = runner.start("a", user_error)
    t1.failed.connect(errors.append)
    t2 = runner.start("b", bug)
    t2.failed.connect(errors.append)
    qtbot.waitUntil(lambda: len(errors) == 2, timeout=5000)
    by_user = {e.is_user_error: e for e in errors}
    assert by_user[True].message == "Need photos of at least two products."
    assert "Traceback" not in by_user[True].message
    assert "KeyError" in by_user[False].message and "Traceback" not in by_user[False].message
    assert "Traceback" in by_user[False].details


def test_cancel_is_an_outcome_not_an_error(qtbot, runner):
    started = threading.Event()

    def work(on_progress, cancel):
        started.set()
        while not cancel.wait(0.01):
            pass
        raise Cancelled("stopped")

    outcome = []
    task = runner.start("train", work)
    task.cancelled.connect(lambda: outcome.append("cancelled"))
    task.failed.connect(lambda e: outcome.append("failed"))
    assert started.wait(5)
    t0 = time.monotonic()
    task.cancel()
    with qtbot.waitSignal(task.finished, timeout=5000):
        pass
    assert outcome == ["cancelled"]
    assert time.monotonic() - t0 < 1.0


def test_one_task_per_resource(qtbot, runner):
    def slow(on_progress, cancel):
        for _ in range(500):
            if cancel.wait(0.01):
                raise Cancelled("stopped")
        return "old finished"

    first = runner.start("train", slow)
    second = runner.start("train", lambda p, c: "new")
    assert first.cancel_event.is_set()
    assert runner.current("train") is second
    qtbot.waitUntil(lambda: not first.running and not second.running, timeout=5000)
    assert first.outcome == "cancelled"
    assert second.outcome == "ok" and second.result == "new"
    # another resource is left alone
    other = runner.start("catalogue", slow)
    runner.start("train", lambda p, c: None)
    assert not other.cancel_event.is_set()
    other.cancel()
    qtbot.waitUntil(lambda: not other.running, timeout=5000)


def test_progress_is_throttled_but_keeps_phases_epochs_and_the_end(qtbot, runner):
    def chatty(on_progress, cancel):
        n = 20000
        for i in range(n):
            on_progress(Progress("features", i / n))
        for epoch in range(1, 6):
            on_progress(Progress("training", 0.9, metrics={"epoch": epoch, "loss": 1 / epoch}))
        on_progress(Progress("exporting", 1.0))

    got: list[Progress] = []
    task = runner.start("job", chatty)
    task.progress.connect(got.append)
    with qtbot.waitSignal(task.finished, timeout=10000):
        pass
    assert len(got) < 300, len(got)
    assert [p.metrics["epoch"] for p in got if p.phase == "training"] == [1, 2, 3, 4, 5]
    assert got[-1].phase == "exporting" and got[-1].fraction == 1.0


def test_shutdown_stops_running_work(qtbot, qapp):
    runner = TaskRunner()
    stopped = threading.Event()

    def forever(on_progress, cancel):
        cancel.wait(30)
        stopped.set()
        raise Cancelled("bye")

    runner.start("train", forever)
    t0 = time.monotonic()
    runner.shutdown(timeout_s=5)
    assert stopped.is_set() and time.monotonic() - t0 < 2


def test_no_task_runs_after_shutdown(qtbot, runner):
    """A timer that fires after the window's runner stopped (the catalogue-changes check
    did, between two GUI tests) must not start a thread: Qt aborts the process when a
    running thread's owner is destroyed. Such a task is cancelled at once instead."""
    ran = []
    runner.shutdown()
    task = runner.start("changes", lambda on_progress, cancel: ran.append(1))
    outcomes = []
    task.cancelled.connect(lambda: outcomes.append("cancelled"))
    with qtbot.waitSignal(task.finished, timeout=5000):
        pass
    assert outcomes == ["cancelled"] and task.outcome == "cancelled"
    assert not ran and not runner.running()
