"""kill -9 and the event logs: every answered attempt is in the log afterwards, no counter goes
backwards, and the entries still account for every event.

A child process (this file run as a script) serves association attempts to an in-process meter
on a SQLite state directory: refusals (unknown SAP, aggregated into floods after a few) and
accepted associations. It prints each attempt once its answer is back, with the event numbers
the attempt got. The parent kills it, at a storage crash point or from outside, restarts it on
the same directory, and checks the logs against everything that was answered.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest

from securemeter.crashpoints import ENVIRONMENT_VARIABLE
from securemeter.meter.config import (
    PUBLIC_CLIENT,
    Interface,
    InterfaceConfig,
    LockoutSettings,
    MeterConfig,
)
from securemeter.meter.logbook import COMMUNICATION, SECURITY, EventCode, Logbook, LogSettings
from securemeter.meter.logs.writer import LogView, read_log
from securemeter.storage import open_store
from securemeter.storage.base import StoredRecord

CHILD_TIMEOUT = 60.0  # seconds; a child normally runs well under one
LOGS = (COMMUNICATION, SECURITY)
NO_LOCKOUT = LockoutSettings(enabled=False)


def child_config() -> MeterConfig:
    """Floods aggregate after 3 refusals, 4 events per aggregate: many closes and opens."""
    return MeterConfig(
        roles=(PUBLIC_CLIENT,),
        interfaces=(
            InterfaceConfig(Interface.TCP, lockout=NO_LOCKOUT),
            InterfaceConfig(Interface.OPTICAL, lockout=NO_LOCKOUT),
        ),
        load_profile_history_days=0,
        logs=LogSettings(depth=1000, flood_threshold=3, aggregate_limit=4),
    )


# ---------------------------------------------------------------------------- the child


def child(state: Path, seed: int, attempts: int, first_port: int, die_after_seed: bool) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for meter_harness
    from meter_harness import make_meter, seeded_random
    from securemeter.session.connection import AssociationProposal, Connection
    from securemeter.session.state import Role

    def say(*words: object) -> None:
        print(*words, flush=True)

    store = open_store(state)
    if die_after_seed:
        # Between the two steps of closing an aggregate: its sequence seeded, the record not
        # yet appended (no storage crash point sits there).
        logs = store.logs
        seed_sequence = logs.seed_sequence

        def seed_then_die(log: str, value: int) -> None:
            seed_sequence(log, value)
            os.kill(os.getpid(), signal.SIGKILL)

        logs.seed_sequence = seed_then_die  # type: ignore[method-assign]
    meter = make_meter(child_config(), store=store)
    communication = meter.logbook.writer(COMMUNICATION)
    security = meter.logbook.writer(SECURITY)
    say("start", communication.last_event, security.last_event)
    aarq = Connection(Role.HEADEND, random_bytes=seeded_random(4)).request_association(
        AssociationProposal()
    )
    generator = random.Random(seed)
    for port in range(first_port, first_port + attempts):
        session = meter.new_session(Interface.TCP, f"127.0.0.1:{port}")
        refused = generator.random() < 0.75
        answer = session.receive(17 if refused else 16, 1, aarq)
        assert answer.data is not None and answer.data[0] == 0x61  # an AARE
        # Answered: what the attempt was given is acknowledged from here on.
        if refused:
            say("refused", port, communication.last_event, security.last_event)
        else:
            say("accepted", port, communication.last_event, 0)
        session.closed()
    store.close()


# ---------------------------------------------------------------------------- the parent


@dataclass(frozen=True, slots=True)
class Attempt:
    kind: str
    port: int
    communication: int
    security: int


@dataclass
class History:
    """What every run of the child was answered, in order."""

    attempts: list[Attempt]
    starts: list[tuple[int, int, int, int]]  # counters at start, highest acknowledged before

    def highest(self, log: str) -> int:
        values = [a.communication if log == COMMUNICATION else a.security for a in self.attempts]
        return max(values, default=0)


def run_child(
    state: Path,
    history: History,
    *,
    seed: int,
    attempts: int,
    crash: str | None = None,
    kill_after: int | None = None,
    die_after_seed: bool = False,
) -> int:
    """Run the child once; record what it acknowledged; return its exit code."""
    environment = {k: v for k, v in os.environ.items() if k != ENVIRONMENT_VARIABLE}
    if crash is not None:
        environment[ENVIRONMENT_VARIABLE] = crash
    first_port = 10_000 + 1000 * len(history.starts)
    command = [sys.executable, __file__, str(state), str(seed), str(attempts), str(first_port)]
    command.append("die-after-seed" if die_after_seed else "-")
    before = (history.highest(COMMUNICATION), history.highest(SECURITY))
    with subprocess.Popen(
        command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        answered = 0
        for line in process.stdout:
            words = line.split()
            if words[0] == "start":
                communication, security = int(words[1]), int(words[2])
                history.starts.append((communication, security, *before))
                continue
            history.attempts.append(Attempt(words[0], *(int(w) for w in words[1:])))
            answered += 1
            if kill_after is not None and answered == kill_after:
                process.send_signal(signal.SIGKILL)  # at whatever the child does next
        code = process.wait(timeout=CHILD_TIMEOUT)
        assert process.stderr is not None
        errors = process.stderr.read()
    assert code in (0, -signal.SIGKILL), errors
    return code


def covering(entries: list[StoredRecord], number: int) -> StoredRecord:
    for entry in entries:
        if entry.sequence - entry.count < number <= entry.sequence:
            return entry
    raise AssertionError(f"event {number} is in no entry")


def check_view(view: LogView, history: History, log: str) -> None:
    entries = view.entries()
    # Nothing was overwritten (depth 1000): the entries cover 1..last exactly once.
    assert entries[0].sequence - entries[0].count == 0
    for previous, entry in pairwise(entries):
        assert entry.sequence - entry.count == previous.sequence, (previous, entry)
    assert entries[-1].sequence == view.last_event >= history.highest(log)
    for attempt in history.attempts:
        number = attempt.communication if log == COMMUNICATION else attempt.security
        if attempt.kind == "accepted" and log == SECURITY:
            continue
        entry = covering(entries, number)
        if attempt.kind == "accepted":
            assert entry.event_code == EventCode.ASSOCIATION_ACCEPTED
            assert entry.fields["remote"] == f"127.0.0.1:{attempt.port}"
            continue
        assert entry.event_code == EventCode.ASSOCIATION_REFUSED
        assert entry.fields["reason"] == "unknown-sap"
        aggregated = "first_time_ms" in entry.fields  # an aggregate keeps the host only
        expected_remote = "127.0.0.1" if aggregated else f"127.0.0.1:{attempt.port}"
        assert entry.fields["remote"] == expected_remote
        assert aggregated or entry.count == 1


def verify(state: Path, history: History) -> None:
    for (
        communication,
        security,
        acknowledged_communication,
        acknowledged_security,
    ) in history.starts:
        assert communication >= acknowledged_communication  # never backwards
        assert security >= acknowledged_security
    for (previous, _, _, _), (current, _, _, _) in pairwise(history.starts):
        assert current >= previous
    with open_store(state) as store:
        # As a reader sees it (an open aggregate included), then after the meter's recovery.
        for log in LOGS:
            check_view(read_log(store, log), history, log)
        logbook = Logbook(store, lambda: 0, monotonic=lambda: 0.0, settings=LogSettings())
        for log in LOGS:
            view = logbook.view(log)
            assert view.open_aggregate is None
            check_view(view, history, log)


@pytest.mark.parametrize(
    "crash",
    [
        "log.append:before-commit@25",  # inside flushes and single records alike
        "log.append:after-commit@25",
        "log.append:before-commit@38",
        "state.put:before-commit@9",  # an aggregate being described
        "state.put:after-commit@9",
    ],
)
def test_a_kill_at_a_storage_crash_point_loses_no_answered_event(
    tmp_path: Path, crash: str
) -> None:
    state = tmp_path / "state"
    history = History([], [])
    assert run_child(state, history, seed=1, attempts=60, crash=crash) == -signal.SIGKILL
    assert history.attempts, "killed before anything was answered"
    assert run_child(state, history, seed=2, attempts=12) == 0
    verify(state, history)


def test_a_kill_while_an_aggregate_is_closed_loses_no_answered_event(tmp_path: Path) -> None:
    state = tmp_path / "state"
    history = History([], [])
    assert run_child(state, history, seed=1, attempts=60, die_after_seed=True) == -signal.SIGKILL
    with open_store(state) as store:  # the kill came between the seed and the record
        halfway = []
        for log in LOGS:
            view = read_log(store, log)
            sequence = store.logs.sequence(log)
            if view.open_aggregate is not None and view.records[-1].sequence < sequence:
                assert sequence == view.open_aggregate.sequence - 1
                halfway.append(log)
        assert len(halfway) == 1
    assert run_child(state, history, seed=2, attempts=12) == 0
    verify(state, history)


def test_seeded_kill_soak(tmp_path: Path) -> None:
    generator = random.Random(8)
    state = tmp_path / "state"
    history = History([], [])
    points = (
        "log.append:before-commit",
        "log.append:after-commit",
        "state.put:before-commit",
        "state.put:after-commit",
    )
    for round_number in range(7):
        seed = generator.randrange(1 << 30)
        if round_number % 3 == 2:  # a kill from outside, at no particular place
            run_child(state, history, seed=seed, attempts=40, kill_after=generator.randint(1, 35))
        else:
            crash = f"{generator.choice(points)}@{generator.randint(6, 60)}"
            run_child(state, history, seed=seed, attempts=40, crash=crash)
    assert run_child(state, history, seed=0, attempts=5) == 0
    assert len(history.attempts) > 100
    assert any(a.kind == "accepted" for a in history.attempts)
    verify(state, history)


if __name__ == "__main__":
    child(
        Path(sys.argv[1]),
        int(sys.argv[2]),
        int(sys.argv[3]),
        int(sys.argv[4]),
        sys.argv[5] == "die-after-seed",
    )
