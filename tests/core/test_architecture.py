"""app.core must run without Qt: the CLI, servers and tests drive it headless."""

from __future__ import annotations

import os
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


def _import_graph() -> dict[str, set[str]]:
    """Module -> app modules it imports (lazy imports inside functions count too)."""
    import ast

    root = CORE.parent
    mods = {
        ".".join(p.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__"): p
        for p in root.rglob("*.py")
    }
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        pkg = m if p.name == "__init__.py" else m.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = pkg.split(".")[: len(pkg.split(".")) - (node.level - 1)]
                    base = ".".join(parts + ([base] if base else []))
                names = [base] + [f"{base}.{a.name}" for a in node.names]
            edges[m].update(
                t
                for t in names
                if t in mods and t != m and not m.startswith(t + ".") and t != "app"
            )
    return edges


def test_no_import_cycles_in_app() -> None:
    """No two modules (or longer chains) of app/ import each other, lazily or not."""
    edges = _import_graph()
    assert "app.core.pipeline" in edges and edges["app.core.pipeline"]
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for t in sorted(edges[m]):
            if state.get(t) == 1:
                cycles.append(stack[stack.index(t) :] + [t])
            elif t not in state:
                visit(t, stack + [t])
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m, [m])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_no_product_module_named_like_a_test() -> None:
    named = sorted(str(p) for p in CORE.parent.rglob("test*.py"))
    assert not named, f"pytest would collect these product modules: {named}"


def test_window_start_up_imports_neither_tensorflow_nor_numpy() -> None:
    """numpy alone costs ~0.1 s of a ~0.4 s start: photos and models load it later."""
    code = (
        "import sys\nimport app.gui.main, app.gui.window\n"
        "print(sorted(m for m in ('numpy', 'tensorflow') if m in sys.modules))\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
