"""The one-way import rule of the architecture, checked by parsing every module under src/.

Imports flow codec <- apdu <- security <- session <- {meter, headend} <- {transports, cli};
cosem and framing sit on codec; storage is reached by meter and headend only through its
Protocols (storage.base). Only transports and cli touch sockets, serial ports or the event loop,
and no module of the package may import the test-only oracles gurux_dlms and dlms_cosem.

Every import counts, including ones inside functions or under ``if TYPE_CHECKING``: a layer
that needs a type from above it is a layering problem too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = "securemeter"
SOURCE_ROOT = Path(__file__).resolve().parents[1] / "src"
ANY = frozenset({"*"})

# layer -> what it may import from the package, besides its own modules.
# "storage.base" names one module: the rest of storage stays out of reach.
ALLOWED_IMPORTS: dict[str, frozenset[str]] = {
    "errors": frozenset(),
    "crashpoints": frozenset({"errors"}),
    "codec": frozenset({"errors"}),
    "apdu": frozenset({"codec", "errors"}),
    "security": frozenset({"apdu", "codec", "errors"}),
    "session": frozenset({"security", "apdu", "codec", "errors"}),
    "framing": frozenset({"codec", "errors"}),
    "cosem": frozenset({"codec", "errors"}),
    "storage": frozenset({"crashpoints", "errors"}),
    "meter": frozenset(
        {"session", "security", "apdu", "codec", "cosem", "storage.base", "crashpoints", "errors"}
    ),
    "headend": frozenset(
        {"session", "security", "apdu", "codec", "cosem", "storage.base", "crashpoints", "errors"}
    ),
    "transports": ANY,
    "cli": ANY,
    # The package root may re-export the sans-IO API, but never the I/O edges: importing any
    # securemeter module must not pull in sockets or the event loop.
    "": frozenset(
        {
            "errors",
            "crashpoints",
            "codec",
            "apdu",
            "security",
            "session",
            "framing",
            "cosem",
            "storage",
            "meter",
            "headend",
        }
    ),
}

# Third-party or stdlib top-level modules, and the layers that may import them.
RESTRICTED_MODULES: dict[str, frozenset[str]] = {
    "gurux_dlms": frozenset(),  # GPL: test-only oracle
    "dlms_cosem": frozenset(),  # BSL: test-only oracle
    "socket": frozenset({"transports", "cli"}),
    "asyncio": frozenset({"transports", "cli"}),
    "selectors": frozenset({"transports", "cli"}),
    "serial": frozenset({"transports", "cli"}),
}


def layer_of(module: str) -> str:
    """'securemeter.codec.axdr' -> 'codec'; the package root -> ''."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imported_modules(module: str, source: str, *, is_package: bool) -> Iterator[tuple[str, int]]:
    """Absolute names of everything ``source`` imports, with line numbers.

    ``from x import y`` yields ``x.y``, whether y is a submodule or a name defined in x: the
    rules match by prefix, so ``from securemeter.storage import base`` is storage.base while
    ``from securemeter import storage`` is the whole storage package.
    """
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                keep = len(base_parts) - (node.level - 1)
                if keep <= 0:
                    yield "<beyond the top-level package>", node.lineno
                    continue
                base = ".".join(base_parts[:keep])
                origin = f"{base}.{node.module}" if node.module else base
            else:
                origin = node.module or ""
            for alias in node.names:
                yield (origin if alias.name == "*" else f"{origin}.{alias.name}"), node.lineno


def _allowed_inside_package(layer: str, target: str) -> bool:
    target_layer = layer_of(target)
    if target_layer == layer:
        return True
    if target_layer == "" or target_layer not in ALLOWED_IMPORTS:
        # The package root or one of its attributes (__version__): Python runs the root
        # __init__ for any securemeter import anyway, and the root has its own rule below.
        # An unclassified subpackage is caught where it is defined.
        return True
    allowed = ALLOWED_IMPORTS[layer]
    if allowed is ANY:
        return True
    relative = target.split(".", 1)[1] if "." in target else ""
    return any(relative == rule or relative.startswith(rule + ".") for rule in allowed)


def violations(module: str, source: str, *, is_package: bool = False) -> list[str]:
    """Every import in ``source`` (the text of ``module``) that the rules above forbid."""
    layer = layer_of(module)
    if layer not in ALLOWED_IMPORTS:
        return [f"{module}: layer {layer!r} is not in ALLOWED_IMPORTS; classify it"]
    found = []
    for target, line in imported_modules(module, source, is_package=is_package):
        top = target.split(".")[0]
        if top == PACKAGE:
            ok = _allowed_inside_package(layer, target)
        elif top in RESTRICTED_MODULES:
            ok = layer in RESTRICTED_MODULES[top]
        else:
            ok = not target.startswith("<")
        if not ok:
            found.append(f"{module}:{line} ({layer or 'package root'}) imports {target}")
    return found


def package_modules() -> Iterator[tuple[str, Path, bool]]:
    for path in sorted((SOURCE_ROOT / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SOURCE_ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        yield ".".join(parts), path, is_package


# ----------------------------------------------------------------------------- the tree


def test_the_source_tree_is_found() -> None:
    modules = {name for name, _path, _pkg in package_modules()}
    assert {"securemeter", "securemeter.errors", "securemeter.codec.axdr"} <= modules


def test_the_package_follows_the_import_rules() -> None:
    problems = [
        problem
        for module, path, is_package in package_modules()
        for problem in violations(module, path.read_text(encoding="utf-8"), is_package=is_package)
    ]
    assert problems == []


# ----------------------------------------------------------------------------- the checker


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("securemeter.codec.axdr", "from securemeter.apdu import get"),
        ("securemeter.codec.axdr", "import securemeter.crashpoints"),
        ("securemeter.codec.axdr", "from securemeter import crashpoints"),
        ("securemeter.codec.axdr", "from .. import apdu"),
        ("securemeter.codec.axdr", "import asyncio"),
        ("securemeter.codec.axdr", "def f():\n    import socket\n"),
        ("securemeter.apdu.get", "from securemeter.security import protect"),
        ("securemeter.security.protect", "from securemeter.session.state import State"),
        ("securemeter.session.state", "from securemeter.framing import wrapper"),
        ("securemeter.session.state", "from securemeter.storage.base import CounterStore"),
        ("securemeter.session.state", "import securemeter.transports.tcp"),
        ("securemeter.framing.wrapper", "from securemeter.apdu.get import GetRequest"),
        ("securemeter.cosem.clock", "from securemeter.apdu import get"),
        ("securemeter.cosem.clock", "from securemeter.session import state"),
        ("securemeter.meter.device", "from securemeter.storage.sqlite import Store"),
        ("securemeter.meter.device", "from securemeter.storage import sqlite"),
        ("securemeter.meter.device", "from securemeter import storage"),
        ("securemeter.meter.device", "from ..storage import sqlite"),
        ("securemeter.meter.device", "from securemeter.transports import tcp"),
        ("securemeter.meter.device", "from securemeter.cli import main"),
        ("securemeter.meter.device", "from securemeter.framing import wrapper"),
        ("securemeter.headend.client", "from securemeter.meter import device"),
        ("securemeter.headend.client", "import selectors"),
        ("securemeter.storage.sqlite", "from securemeter.codec import axdr"),
        ("securemeter.storage.sqlite", "from securemeter.meter import device"),
        ("securemeter.transports.tcp", "import gurux_dlms"),
        ("securemeter.cli.main", "from dlms_cosem import client"),
        ("securemeter.errors", "from securemeter.codec import axdr"),
        ("securemeter", "from securemeter.transports import tcp"),
        ("securemeter.codec.axdr", "from ... import something"),
        ("securemeter.newlayer.thing", "import os"),
    ],
)
def test_checker_flags_forbidden_imports(module: str, source: str) -> None:
    assert violations(module, source) != []


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("securemeter.codec.axdr", "from securemeter.errors import DecodeError\nimport struct"),
        ("securemeter.codec.cosem_time", "from securemeter.codec.axdr import Data"),
        ("securemeter.codec.cosem_time", "from .axdr import Data"),
        ("securemeter.apdu.get", "from securemeter.codec import axdr"),
        ("securemeter.security.protect", "from securemeter.apdu.ciphered import CipheredApdu"),
        ("securemeter.session.state", "from securemeter.security import protect"),
        ("securemeter.framing.wrapper", "from securemeter.codec.axdr import encode_length"),
        ("securemeter.cosem.clock", "from securemeter.codec.cosem_time import CosemDateTime"),
        ("securemeter.meter.device", "from securemeter.storage.base import CounterStore"),
        ("securemeter.meter.device", "from securemeter.storage import base"),
        ("securemeter.meter.device", "from ..storage.base import CounterStore"),
        ("securemeter.meter.device", "from securemeter import crashpoints"),
        ("securemeter.meter.device", "from securemeter.session.state import State"),
        ("securemeter.headend.client", "from securemeter.cosem import clock"),
        ("securemeter.storage.sqlite", "import sqlite3\nfrom securemeter.crashpoints import hit"),
        ("securemeter.storage.sqlite", "from securemeter.storage.base import CounterStore"),
        ("securemeter.transports.tcp", "import asyncio, socket, selectors, serial"),
        ("securemeter.transports.tcp", "from securemeter.storage.sqlite import Store"),
        ("securemeter.cli.main", "from securemeter.meter import device\nimport asyncio"),
        ("securemeter", "from securemeter.codec import axdr"),
    ],
)
def test_checker_allows_permitted_imports(module: str, source: str) -> None:
    assert violations(module, source) == []


def test_the_package_root_itself_is_always_importable() -> None:
    assert violations("securemeter.codec.axdr", "from securemeter import __version__") == []
    assert violations("securemeter.meter.device", "import securemeter") == []


def test_relative_imports_of_a_package_init() -> None:
    # In securemeter/codec/__init__.py, "from . import axdr" is securemeter.codec.axdr.
    assert violations("securemeter.codec", "from . import axdr", is_package=True) == []
    assert violations("securemeter.codec", "from ..apdu import get", is_package=True) != []


def test_every_layer_in_the_tree_is_classified() -> None:
    layers = {layer_of(name) for name, _path, _pkg in package_modules()}
    assert layers <= set(ALLOWED_IMPORTS)
