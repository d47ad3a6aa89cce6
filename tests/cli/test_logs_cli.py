"""``securemeter meter logs``: the logs of a stopped or running meter as a table or JSON lines."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from meter_harness import START, make_meter
from securemeter.cli.main import main
from securemeter.errors import StorageError
from securemeter.meter import timekeeping
from securemeter.meter.config import (
    PUBLIC_CLIENT,
    Interface,
    InterfaceConfig,
    LockoutSettings,
    MeterConfig,
)
from securemeter.meter.logbook import COMMUNICATION, LOG_NAMES, SECURITY, STANDARD, LogSettings
from securemeter.meter.logs.writer import counter_value, read_log
from securemeter.meter.meter import Meter
from securemeter.session.connection import AssociationProposal, Connection
from securemeter.session.state import Role
from securemeter.storage import SqliteMeterStore, open_store, open_store_readonly

NO_LOCKOUT = LockoutSettings(enabled=False)
CONFIG = MeterConfig(
    roles=(PUBLIC_CLIENT,),
    interfaces=(
        InterfaceConfig(Interface.TCP, lockout=NO_LOCKOUT),
        InterfaceConfig(Interface.OPTICAL, lockout=NO_LOCKOUT),
    ),
    load_profile_history_days=0,
    logs=LogSettings(flood_threshold=2),
)


def attempt(meter: Meter, sap: int, port: int) -> None:
    session = meter.new_session(Interface.TCP, f"127.0.0.1:{port}")
    aarq = Connection(Role.HEADEND, random_bytes=lambda n: bytes(n)).request_association(
        AssociationProposal()
    )
    assert session.receive(sap, 1, aarq).data is not None
    session.closed()


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Path, SqliteMeterStore, timekeeping.TestClock]]:
    """A meter that holds its state directory: an association, then a flood still open."""
    state = tmp_path / "state"
    store = open_store(state)
    clock = timekeeping.TestClock(START)
    meter = make_meter(CONFIG, store=store, clock=clock)
    attempt(meter, 16, 40000)
    clock.advance(3600)
    for port in range(5):
        attempt(meter, 17, 41000 + port)  # 2 alone, then 3 in an open aggregate
    yield state, store, clock
    store.close()


def run(*arguments: str) -> int:
    return main(["meter", "logs", *arguments])


def expected_lines(state: Path, logs: tuple[str, ...] = LOG_NAMES) -> list[dict[str, object]]:
    store = open_store_readonly(state)
    try:
        lines: list[dict[str, object]] = []
        for log in logs:
            view = read_log(store, log)
            for record in view.entries():
                lines.append(
                    {
                        "log": log,
                        "counter": counter_value(record.sequence),
                        "count": record.count,
                        "code": record.event_code,
                        "open": record is view.open_aggregate,
                        "fields": dict(record.fields),
                    }
                )
        return lines
    finally:
        store.close()


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


def test_json_lines_of_a_running_meter(
    running: tuple[Path, SqliteMeterStore, timekeeping.TestClock],
    capsys: pytest.CaptureFixture[str],
) -> None:
    state, _, _ = running
    assert run("--state", str(state), "--json") == 0
    printed = json_lines(capsys.readouterr().out)
    keys = ("log", "counter", "count", "code", "open", "fields")
    assert [{k: line[k] for k in keys} for line in printed] == expected_lines(state)
    security = [line for line in printed if line["log"] == SECURITY]
    assert [(line["count"], line["open"]) for line in security] == [(1, False)] * 2 + [(3, True)]
    assert security[-1]["event"] == "association-refused"
    assert security[-1]["time"] == "2026-03-01T13:00:00.000Z"
    assert {line["log"] for line in printed} == {STANDARD, COMMUNICATION, SECURITY}


def test_the_table_is_aligned_and_complete(
    running: tuple[Path, SqliteMeterStore, timekeeping.TestClock],
    capsys: pytest.CaptureFixture[str],
) -> None:
    state, _, _ = running
    assert run("--state", str(state)) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split()[:2] == ["LOG", "COUNTER"]
    assert len(rows) == len(expected_lines(state))
    time_column = header.index("TIME (UTC)")
    for row in rows:
        assert row[time_column : time_column + 4] == "2026"
    accepted = next(row for row in rows if "association-accepted" in row)
    assert "remote=127.0.0.1:40000" in accepted and "sap=16" in accepted
    assert sum(" open " in row for row in rows) == 2  # communication and security floods


def test_one_log_since_an_instant(
    running: tuple[Path, SqliteMeterStore, timekeeping.TestClock],
    capsys: pytest.CaptureFixture[str],
) -> None:
    state, _, _ = running
    assert run("--state", str(state), "--log", COMMUNICATION, "--since", "2026-03-01T12:30Z") == 0
    _, *rows = capsys.readouterr().out.splitlines()
    assert len(rows) == 3  # the refusals an hour later, not the association
    assert all(row.startswith(COMMUNICATION) for row in rows)
    assert (
        run("--state", str(state), "--log", COMMUNICATION, "--json", "--since", "2026-03-01") == 0
    )
    everything = json_lines(capsys.readouterr().out)  # a date alone is midnight UTC
    assert {line["log"] for line in everything} == {COMMUNICATION}
    assert len(everything) == len(expected_lines(state, (COMMUNICATION,))) == 5


def test_a_running_meter_is_read_as_it_writes(
    running: tuple[Path, SqliteMeterStore, timekeeping.TestClock],
    capsys: pytest.CaptureFixture[str],
) -> None:
    state, store, _ = running
    with pytest.raises(StorageError):
        open_store(state)  # the meter holds the lock...
    assert run("--state", str(state), "--log", STANDARD, "--json") == 0  # ...yet it is read
    before = json_lines(capsys.readouterr().out)
    meter = make_meter(CONFIG, store=store)  # the same process starts the meter again
    meter.power_down()
    expected = ["power-up-after-unclean-stop", "power-up", "power-down"]  # never stopped before
    assert run("--state", str(state), "--log", STANDARD, "--json") == 0
    after = json_lines(capsys.readouterr().out)
    assert after[: len(before)] == before
    assert [line["event"] for line in after[len(before) :]] == expected


def test_refusals_and_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--state", str(tmp_path / "none")) == 1
    assert "holds no meter state" in capsys.readouterr().err
    assert run("--state", str(tmp_path), "--log", "everything") == 2
    assert "invalid choice" in capsys.readouterr().err
    assert run("--state", str(tmp_path), "--since", "yesterday") == 2
    assert "not an ISO-8601 time" in capsys.readouterr().err


def test_the_command_line_entry_point(
    running: tuple[Path, SqliteMeterStore, timekeeping.TestClock],
) -> None:
    state, _, _ = running
    command = [sys.executable, "-m", "securemeter.cli.main", "meter", "logs"]
    result = subprocess.run(
        [*command, "--state", str(state), "--log", SECURITY, "--json"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert len(json_lines(result.stdout)) == 3
