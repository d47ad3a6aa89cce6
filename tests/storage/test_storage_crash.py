"""One kill -9 test per storage crash point.

A child (crash_helper.py) opens a store, runs a scenario printing every value the store
acknowledges, and is killed with SIGKILL at the armed crash point. The parent then reopens the
store and checks the invariant of that point: no outgoing counter handed out again, no
acknowledged record lost, no accepted counter rolled back, state old or new and never corrupt.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from securemeter.crashpoints import CRASH_POINTS, ENVIRONMENT_VARIABLE
from securemeter.errors import ReplayDetected
from securemeter.storage import AesGcmSealer, LogRecord, open_store
from securemeter.storage.sqlite import SqliteMeterStore

HELPER = Path(__file__).with_name("crash_helper.py")
SEALING_KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
KEY_ID = "sap1/guek/1"
COUNTER_BLOCK = 4  # as in crash_helper.py
STORAGE_AREAS = ("counter.", "slots.", "log.", "state.", "keys.", "transfer.")


def crash(directory: Path, scenario: str, point: str) -> list[str]:
    """Run the scenario until the point kills it; return what it acknowledged."""
    environment = {key: value for key, value in os.environ.items() if key != ENVIRONMENT_VARIABLE}
    environment[ENVIRONMENT_VARIABLE] = point
    result = subprocess.run(
        [sys.executable, str(HELPER), str(directory), scenario],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == -9, f"not killed at {point}: {result.returncode} {result.stderr}"
    return result.stdout.splitlines()


def reopen(directory: Path) -> SqliteMeterStore:
    return open_store(directory, sealer=AesGcmSealer(SEALING_KEY), counter_block=COUNTER_BLOCK)


def check_outgoing(directory: Path, point: str) -> None:
    # The third reservation happens when value 9 is due: 1..8 were handed out.
    handed_out = [int(line) for line in crash(directory, "outgoing", point + "@3")]
    assert handed_out == list(range(1, 9))
    with reopen(directory) as store:
        following = [store.counters.next_outgoing(KEY_ID) for _ in range(10)]
    assert following[0] > max(handed_out)
    assert following == sorted(set(following))
    assert following[0] <= max(handed_out) + 2 * COUNTER_BLOCK


def check_accept(directory: Path, point: str) -> None:
    acknowledged = [int(line) for line in crash(directory, "accept", point + "@5")]
    assert acknowledged == [3, 6, 9, 12]
    with reopen(directory) as store:
        last = store.counters.last_accepted(KEY_ID)
        assert last is not None and last >= max(acknowledged)
        assert last == 15  # the write reached the shared map before the kill
        for replayed in acknowledged:
            with pytest.raises(ReplayDetected):
                store.counters.accept(KEY_ID, replayed)


def check_log(directory: Path, point: str) -> None:
    acknowledged = [int(line) for line in crash(directory, "log", point + "@6")]
    assert acknowledged == [1, 2, 3, 4, 5]
    with reopen(directory) as store:
        stored = {record.sequence: record for record in store.logs.records("standard")}
        for sequence in acknowledged:
            assert stored[sequence].time_utc_ms == 1000 + sequence - 1
            assert dict(stored[sequence].fields) == {"n": sequence - 1}
        # Before the commit the sixth record is rolled back; after it, it is kept.
        expected_last = 5 if point.endswith("before-commit") else 6
        assert store.logs.sequence("standard") == expected_last
        assert max(stored) == expected_last
        assert store.logs.append("standard", LogRecord(0, 1)) == expected_last + 1


def check_state(directory: Path, point: str) -> None:
    acknowledged = crash(directory, "state", point + "@4")
    assert acknowledged == [f"settings version {n}" for n in range(3)]
    with reopen(directory) as store:
        value = store.state.get("settings")  # unseals: a torn blob would fail authentication
    expected = "settings version 2" if point.endswith("before-commit") else "settings version 3"
    assert value == expected.encode()


def check_keys(directory: Path, point: str) -> None:
    acknowledged = [bytes.fromhex(line) for line in crash(directory, "keys", point + "@3")]
    assert acknowledged == [bytes([0]) * 16, bytes([1]) * 16]
    with reopen(directory) as store:
        name = "global_unicast_encryption_key"
        assert store.keys.get_key("sap1", name) == bytes([2]) * 16
        for material in [*acknowledged, bytes([2]) * 16]:
            assert store.keys.was_used("sap1", name, material)


def check_transfer(directory: Path, point: str) -> None:
    acknowledged = {int(line) for line in crash(directory, "transfer", point + "@7")}
    assert acknowledged == set(range(6))
    with reopen(directory) as store:
        received = store.transfers.blocks_received("image-1")
    assert received == acknowledged | {6}


SCENARIOS: dict[str, Callable[[Path, str], None]] = {
    "counter.reserve:before-flush": check_outgoing,
    "counter.reserve:after-flush": check_outgoing,
    "counter.accept:after-write": check_accept,
    "log.append:before-commit": check_log,
    "log.append:after-commit": check_log,
    "state.put:before-commit": check_state,
    "state.put:after-commit": check_state,
    "keys.put:after-commit": check_keys,
    "transfer.block:after-commit": check_transfer,
}


@pytest.mark.parametrize("point", sorted(SCENARIOS))
def test_kill_at_crash_point_keeps_the_invariant(tmp_path: Path, point: str) -> None:
    directory = tmp_path / "state"
    SCENARIOS[point](directory, point)
    with reopen(directory) as store:
        generation = store.generation
    with reopen(directory) as store:
        assert store.generation > generation


def test_every_storage_crash_point_has_a_crash_test() -> None:
    storage_points = {name for name in CRASH_POINTS if name.startswith(STORAGE_AREAS)}
    assert storage_points == set(SCENARIOS)
