"""app.core must run without Qt: the CLI, servers and tests drive it headless."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import app.core

CORE = Path(app.core.__file__).parent


def test_core_imports_without_qt() -> None:
    modules = sorted(f"app.core.{p.stem}" for p in CORE.glob("*.py") if p.stem != "__init__")
    assert "app.core.trainer" in modules and len(modules) >= 10
    code = (
        "import sys\n"
        "sys.modules['PySide6'] = None\n"
        "sys.modules['shiboken6'] = None\n"
        f"import importlib\nfor m in {modules!r}:\n    importlib.import_module(m)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_core_sources_never_mention_qt_imports() -> None:
    for p in CORE.rglob("*.py"):
        for line in p.read_text(encoding="utf-8").splitlines():
            s = line.strip()
            assert not s.startswith(("import PySide6", "from PySide6", "import shiboken6")), p


def test_tensorflow_not_imported_by_cli_or_gui_modules() -> None:
    """The window must appear fast: importing the app must not import TensorFlow."""
    code = (
        "import sys\nimport app.cli, app.core.trainer, app.core.modelfiles, app.core.export\n"
        "print('tensorflow' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
