"""The crash-point injector itself (each case in a child process: the module reads its
environment once, at import)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import securemeter
from securemeter import crashpoints
from securemeter.crashpoints import CRASH_POINTS, ENVIRONMENT_VARIABLE

SOURCE_ROOT = Path(securemeter.__file__).parent
POINT = "log.append:after-commit"
OTHER_POINT = "state.put:after-commit"


def _run(code: str, specification: str | None) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if key != ENVIRONMENT_VARIABLE}
    if specification is not None:
        environment[ENVIRONMENT_VARIABLE] = specification
    return subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=60
    )


HIT_FIVE_TIMES = f"""
from securemeter.crashpoints import crash_point
for hit in range(1, 6):
    crash_point({OTHER_POINT!r})
    print(hit, flush=True)
    crash_point({POINT!r})
print("survived", flush=True)
"""


def test_inert_without_the_environment_variable() -> None:
    result = _run(HIT_FIVE_TIMES + "\ncrash_point('not-declared')\n", None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "2", "3", "4", "5", "survived"]


def test_fires_with_sigkill_at_the_first_hit() -> None:
    result = _run(HIT_FIVE_TIMES, POINT)
    assert result.returncode == -9
    assert result.stdout.split() == ["1"]


def test_fires_at_the_nth_hit_counting_only_its_own_point() -> None:
    result = _run(HIT_FIVE_TIMES, f"{POINT}@3")
    assert result.returncode == -9
    assert result.stdout.split() == ["1", "2", "3"]


def test_a_count_beyond_the_hits_never_fires() -> None:
    result = _run(HIT_FIVE_TIMES, f"{POINT}@6")
    assert result.returncode == 0
    assert result.stdout.split()[-1] == "survived"


def test_an_undeclared_point_is_refused_when_enabled() -> None:
    result = _run("from securemeter.crashpoints import crash_point\ncrash_point('nope')", POINT)
    assert result.returncode == 1
    assert "CrashPointError" in result.stderr
    assert "not declared" in result.stderr


def test_a_bad_specification_is_refused_at_import() -> None:
    for specification in ("no.such:point", f"{POINT}@0", f"{POINT}@x", f"{POINT}@-1"):
        result = _run("import securemeter.crashpoints", specification)
        assert result.returncode == 1, specification
        assert "CrashPointError" in result.stderr


def test_disabled_in_this_test_process() -> None:
    # The suite must never run with a crash point armed.
    assert crashpoints.armed() is None


def test_every_point_is_declared_with_a_name_and_a_one_line_description() -> None:
    assert len(CRASH_POINTS) >= 9
    for name, description in CRASH_POINTS.items():
        assert re.fullmatch(r"[a-z]+(\.[a-z_]+)*:[a-z-]+", name), name
        assert description and "\n" not in description


def test_every_declared_point_is_called_somewhere_in_the_package() -> None:
    source = "\n".join(
        path.read_text(encoding="utf-8")
        for path in SOURCE_ROOT.rglob("*.py")
        if path.name != "crashpoints.py"
    )
    called = set(re.findall(r"crash_point\(\s*\"([^\"]+)\"", source))
    assert called <= set(CRASH_POINTS), "a crash point is called but not declared"
    assert set(CRASH_POINTS) <= called, "a crash point is declared but never called"
