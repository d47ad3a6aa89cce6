"""Fixtures of the transport tests: meter subprocesses and in-process meters on a test clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from meter_process import MeterProcess

# The roles of the demo plus small interface limits, for the tests that need limits.
LIMITED_CONFIG = """
[interfaces.tcp]
max_connections = 2
inactivity_timeout = 60

[interfaces.optical]
max_connections = 1
inactivity_timeout = 60

[[roles]]
sap = 16
name = "public"
mechanism = "none"
security = "none"
interfaces = ["tcp", "optical"]

[[roles.objects]]
obis = "*"
read = "all"
"""


@pytest.fixture
def start_meter(tmp_path: Path) -> Iterator[Callable[..., MeterProcess]]:
    """Start a meter subprocess: ``start_meter(name="state", **MeterProcess options)``.

    Every meter still running at the end of the test is killed."""
    started: list[MeterProcess] = []

    def start(name: str = "state", **options: Any) -> MeterProcess:
        process = MeterProcess(tmp_path / name, **options)
        started.append(process)
        process.start()
        return process

    yield start
    for process in started:
        process.kill()


@pytest.fixture
def limited_config(tmp_path: Path) -> Path:
    path = tmp_path / "limited.toml"
    path.write_text(LIMITED_CONFIG, encoding="utf-8")
    return path
