"""GUI test helpers: a main window with its threads stopped at the end, small photo sets."""

from __future__ import annotations

import gc
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core import paths


@pytest.fixture
def settings() -> paths.Settings:
    return paths.Settings.load()


@pytest.fixture
def make_window(qtbot):
    """Factory so a test can open a second window (restart) after closing the first."""
    from app.gui.window import MainWindow

    windows: list[MainWindow] = []

    def make() -> MainWindow:
        # what earlier tests' windows left in reference cycles is freed now, on the GUI
        # thread, before this window's workers start: left to the cyclic collector, it
        # was freed by whichever thread allocated next — a worker reading model folders —
        # and deleting Qt objects there crashed the process (segfault while
        # "Garbage-collecting", 1 run in 3 or 4 of the Model screen's tests)
        gc.collect()
        w = MainWindow(paths.Settings.load())
        qtbot.addWidget(w)
        w.show()
        windows.append(w)
        return w

    yield make
    for w in windows:
        w.shutdown()


@pytest.fixture
def window(make_window):
    return make_window()


def pick_photos(grocery: Path, folder: str, n: int) -> list[Path]:
    """The first n training photos of one grocery class (real shop photos)."""
    return sorted((grocery / "train" / folder).glob("*.jpg"))[:n]


@pytest.fixture
def photos(grocery: Path):
    """``photos("Fruit/Lemon", 3)``: real training photos of one grocery class."""
    return lambda folder, n: pick_photos(grocery, folder, n)


@pytest.fixture
def shop_folder(tmp_path: Path, grocery: Path) -> Iterator[Path]:
    """Three products with real photos, one with a single photo, one empty, one corrupt file."""
    root = tmp_path / "shop"
    spec = {
        "banana": ("Fruit/Banana", 3),
        "kiwi": ("Fruit/Kiwi", 3),
        "lemon": ("Fruit/Lemon", 1),
        "empty-shelf": (None, 0),
    }
    for pid, (folder, n) in spec.items():
        d = root / pid
        d.mkdir(parents=True)
        if folder:
            for p in pick_photos(grocery, folder, n):
                shutil.copy(p, d / p.name)
    (root / "kiwi" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    yield root


@pytest.fixture
def runner(qapp):
    """The app's task runner on its own, for a screen tested without the main window."""
    from app.gui.tasks import TaskRunner

    r = TaskRunner()
    yield r
    r.shutdown(timeout_s=30)


@pytest.fixture
def screen(qtbot, runner):
    """The Test screen (``RecogniseScreen``) on its own, 1000x640."""
    from app.gui.screens.recognise.screen import RecogniseScreen

    s = RecogniseScreen(runner)
    qtbot.addWidget(s)
    s.resize(1000, 640)
    yield s
    s.shutdown()
