"""Storage may import only securemeter.errors and securemeter.crashpoints from the package, and
crashpoints imports nothing from it."""

from __future__ import annotations

import ast
from pathlib import Path

import securemeter

PACKAGE = Path(securemeter.__file__).parent
ALLOWED = {"securemeter.errors", "securemeter.crashpoints"}


def _package_imports(path: Path) -> set[str]:
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            imported.add("<relative>")
    return {name for name in imported if name.startswith("securemeter") or name == "<relative>"}


def test_storage_depends_only_on_errors_and_crashpoints() -> None:
    for path in sorted((PACKAGE / "storage").glob("*.py")):
        outside = {
            name for name in _package_imports(path) if not name.startswith("securemeter.storage")
        }
        assert outside <= ALLOWED, f"{path.name} imports {outside - ALLOWED}"


def test_crashpoints_imports_nothing_from_the_package() -> None:
    assert _package_imports(PACKAGE / "crashpoints.py") == set()
