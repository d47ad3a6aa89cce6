"""The framing package depends on nothing above it: only errors and codec (and the stdlib)."""

from __future__ import annotations

import ast
from pathlib import Path

import securemeter.framing

ALLOWED = ("securemeter.errors", "securemeter.codec", "securemeter.framing")
FORBIDDEN_STDLIB = {"socket", "asyncio", "time", "threading", "selectors", "logging"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_framing_imports_only_errors_and_codec() -> None:
    root = Path(securemeter.framing.__file__).parent
    modules = sorted(root.rglob("*.py"))
    assert len(modules) >= 8
    for module in modules:
        for name in _imports(module):
            if name.startswith("securemeter"):
                assert name.startswith(ALLOWED), f"{module.name} imports {name}"
            assert name.split(".")[0] not in FORBIDDEN_STDLIB, f"{module.name} imports {name}"
            assert not name.startswith(("gurux", "dlms_cosem")), f"{module.name} imports {name}"
