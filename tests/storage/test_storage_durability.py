"""Power-loss ordering, which kill -9 tests cannot see (the page cache survives a killed process):
the reservation ceiling is flushed before a value below it leaves the store, and durable calls
fsync their SQLite commit while ordinary ones do not."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from securemeter.storage import LogRecord, open_store
from securemeter.storage.counters import CellCounterStore
from securemeter.storage.memory import MemoryCells
from securemeter.storage.sqlite import SqliteMeterStore

KEY = "sap1/guek/1"


class RecordingCells(MemoryCells):
    """Cells that log every write and flush, and what a power cut at any moment would keep."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, str, int]] = []
        self.on_disk: dict[str, int] = {}

    def set(self, name: str, value: int) -> None:
        super().set(name, value)
        self.events.append(("set", name, value))

    def flush(self) -> None:
        self.on_disk = dict(self._values)
        self.events.append(("flush", "", 0))


def test_every_handed_out_value_is_below_a_flushed_ceiling() -> None:
    cells = RecordingCells()
    counters = CellCounterStore(cells, block=5)
    for _ in range(23):
        value = counters.next_outgoing(KEY)
        # A power cut now restarts counting at the flushed ceiling: it must exceed ``value``.
        assert cells.on_disk["out:" + KEY] > value
    flushes = sum(1 for kind, _, _ in cells.events if kind == "flush")
    assert flushes == 5  # one per block of 5, not one per value


def test_a_power_cut_after_skip_never_repeats() -> None:
    cells = RecordingCells()
    counters = CellCounterStore(cells, block=5)
    counters.next_outgoing(KEY)
    counters.skip_outgoing_to(KEY, 1000)
    assert cells.on_disk["out:" + KEY] >= 1000
    assert counters.next_outgoing(KEY) == 1000
    assert cells.on_disk["out:" + KEY] > 1000


def test_accept_writes_without_flushing_and_sync_flushes() -> None:
    cells = RecordingCells()
    counters = CellCounterStore(cells, block=5)
    for counter in range(1, 50):
        counters.accept(KEY, counter)
    assert ("flush", "", 0) not in cells.events
    counters.sync()
    assert cells.on_disk["in:" + KEY] == 49


def test_retire_is_flushed() -> None:
    cells = RecordingCells()
    counters = CellCounterStore(cells, block=5)
    counters.accept(KEY, 1)
    counters.retire(KEY)
    assert cells.events[-1] == ("flush", "", 0)


@pytest.fixture
def traced(tmp_path: Path) -> Iterator[tuple[SqliteMeterStore, list[str]]]:
    store = open_store(tmp_path / "state")
    statements: list[str] = []
    connection = store._database._connection
    assert connection is not None
    connection.set_trace_callback(statements.append)
    yield store, statements
    store.close()


def _synchronous_full_around_commit(statements: list[str]) -> bool:
    text = " | ".join(statements)
    return "PRAGMA synchronous=FULL | BEGIN IMMEDIATE" in text and "COMMIT" in text


def test_ordinary_commits_are_not_fsynced(traced: tuple[SqliteMeterStore, list[str]]) -> None:
    store, statements = traced
    store.logs.configure("standard", 5)
    store.logs.append("standard", LogRecord(0, 1))
    store.state.put("settings", b"x")
    store.transfers.begin("fw", 1, 1, b"")
    store.transfers.put_block("fw", 0, b"x")
    assert statements.count("COMMIT") == 5
    assert not any("synchronous=FULL" in statement for statement in statements)


def test_durable_calls_fsync_their_commit(traced: tuple[SqliteMeterStore, list[str]]) -> None:
    store, statements = traced
    calls: list[Callable[[], object]] = [
        lambda: store.state.put("settings", b"x", durable=True),
        lambda: store.state.delete("settings", durable=True),
        lambda: store.keys.put_key("sap1", "kek", bytes(16)),
        lambda: store.keys.retire_key("sap1", "kek"),
    ]
    for call in calls:
        statements.clear()
        call()
        assert _synchronous_full_around_commit(statements), statements
        assert statements[-1] == "PRAGMA synchronous=NORMAL"
