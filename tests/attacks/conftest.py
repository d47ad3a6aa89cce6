"""Fixtures of the attack suite: every attack runs against an in-memory meter (fresh for each
test) and against one real meter process over raw sockets (shared by the session; each test
connects from its own loopback address, so that refusals of one test never join another's
flood aggregate in the logs)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from tests.attacks.support import MemoryTarget, ProcessTarget, Target

from meter_process import MeterProcess

_source_numbers = itertools.count(2)


def next_source_host() -> str:
    number = next(_source_numbers)
    return f"127.0.{number // 250}.{number % 250 + 2}"


@pytest.fixture(scope="session")
def attacked_meter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MeterProcess]:
    target = ProcessTarget.start(tmp_path_factory.mktemp("attacked"))
    try:
        yield target.process
    finally:
        if target.process.alive:
            target.process.stop()


@pytest.fixture(params=["memory", "process"])
def target(request: pytest.FixtureRequest) -> Target:
    if request.param == "memory":
        return MemoryTarget()
    process: MeterProcess = request.getfixturevalue("attacked_meter")
    assert process.alive, "an earlier test stopped the shared meter"
    return ProcessTarget(process, next_source_host())
