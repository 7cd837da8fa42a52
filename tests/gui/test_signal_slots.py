"""Buttons and menu actions never hand Qt's ``checked`` flag to an optional parameter.

``clicked``, ``triggered`` and ``toggled`` carry a bool. PySide passes it to the first
positional parameter of the slot, so ``def capture_from_webcam(self, source=None)``
connected to ``clicked`` got ``source=False`` and crashed on every click. This reads
app/gui (every package) and checks every method connected to those signals (directly, or through
``MainWindow._action``): its first parameter after ``self`` has no default.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

import app.gui

GUI = Path(app.gui.__file__).parent
BOOL_SIGNALS = {"clicked", "triggered", "toggled"}


def _first_param_is_optional(fn: ast.FunctionDef) -> bool:
    params = [*fn.args.posonlyargs, *fn.args.args]
    if params and params[0].arg in ("self", "cls"):
        params = params[1:]
    if not params:
        return False
    n_defaults = len(fn.args.defaults)
    return len(params) <= n_defaults  # defaults belong to the last positional params


def _connected_slots() -> list[tuple[str, int, str, str]]:
    """``(file, line, enclosing class, slot method name)`` of every bool-signal slot."""
    found: dict[tuple[str, int], tuple[str, int, str, str]] = {}
    for path in sorted(GUI.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        name = str(path.relative_to(GUI))
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            for node in ast.walk(cls):
                if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                    continue
                f = node.func
                slot = None
                if (
                    f.attr == "connect"
                    and isinstance(f.value, ast.Attribute)
                    and f.value.attr in BOOL_SIGNALS
                    and node.args
                ):
                    slot = node.args[0]
                elif f.attr == "_action" and len(node.args) >= 2:
                    slot = node.args[1]
                if isinstance(slot, ast.Attribute) and slot.attr != "emit":
                    # ast.walk meets outer classes first: the innermost class wins
                    key = (name, node.lineno)
                    found[key] = (name, node.lineno, cls.name, slot.attr)
    return list(found.values())


def _methods() -> dict[str, list[tuple[str, str, ast.FunctionDef]]]:
    out: dict[str, list[tuple[str, str, ast.FunctionDef]]] = {}
    for path in sorted(GUI.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            for fn in cls.body:
                if isinstance(fn, ast.FunctionDef):
                    out.setdefault(fn.name, []).append((str(path.relative_to(GUI)), cls.name, fn))
    return out


def test_no_bool_signal_feeds_an_optional_parameter():
    slots = _connected_slots()
    assert any(s[3] == "capture_from_webcam" for s in slots)  # the scan sees the buttons
    methods = _methods()
    bad = []
    for file, line, cls, name in slots:
        defs = methods.get(name, [])
        # ``self.x`` is the class's own method; ``self.screen.x`` may be any class's.
        own = [d for d in defs if d[1] == cls]
        for def_file, def_cls, fn in own or defs:
            if _first_param_is_optional(fn):
                bad.append(f"{file}:{line} → {def_cls}.{name} ({def_file}:{fn.lineno})")
    assert not bad, "slots that would receive Qt's checked flag:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def f(self, source=None): ...", True),
        ("def f(self, on): ...", False),
        ("def f(self): ...", False),
        ("def f(self, *, source=None): ...", False),
        ("def f(self, a, b=1): ...", False),
    ],
)
def test_optional_parameter_detection(source, expected):
    fn = ast.parse(source).body[0]
    assert _first_param_is_optional(fn) is expected


def test_pyside_passes_checked_to_an_optional_parameter(qtbot):
    """Why the check exists: what a real click hands to each kind of slot."""
    got: dict[str, object] = {}

    class Button(QPushButton):
        def optional(self, source=None):
            got["optional"] = source

        def keyword_only(self, *, source=None):
            got["keyword_only"] = source

        def no_argument(self):
            got["no_argument"] = True

    b = Button("x")
    qtbot.addWidget(b)
    b.show()
    b.clicked.connect(b.optional)
    b.clicked.connect(b.keyword_only)
    b.clicked.connect(b.no_argument)
    qtbot.mouseClick(b, Qt.MouseButton.LeftButton)
    assert got == {"optional": False, "keyword_only": None, "no_argument": True}
