"""Invocation counters and slots built on named 64-bit cells (shared by memory and mmap stores).

The rules live here once; the cell backends (a dict, a memory-mapped file) only store values.
"""

from __future__ import annotations

from typing import Protocol

from securemeter.crashpoints import crash_point
from securemeter.errors import CounterExhausted, ReplayDetected, StorageError
from securemeter.storage.base import (
    FIRST_OUTGOING_COUNTER,
    INVOCATION_COUNTER_LIMIT,
    SLOT_VALUE_LIMIT,
)

_INCOMING = "in:"
_OUTGOING = "out:"
_GENERATION = "generation"
_MISSING = -1


class Cells(Protocol):
    """Named unsigned 64-bit cells with tombstones (the backend of counters and slots)."""

    @property
    def writable(self) -> bool: ...

    def get(self, name: str) -> int | None:
        """The value, or None if never set or retired."""
        ...

    def set(self, name: str, value: int) -> None:
        """Store the value (committed on return); StorageError if the name is retired."""
        ...

    def retire(self, name: str) -> None:
        """Tombstone the name (creating it if needed); committed on return."""
        ...

    def is_retired(self, name: str) -> bool: ...

    def names(self) -> list[str]:
        """Every live (set, not retired) name."""
        ...

    def flush(self) -> None:
        """Make every committed change power-loss durable."""
        ...


def _check_key_id(key_id: str) -> None:
    if not isinstance(key_id, str) or not key_id:
        raise ValueError(f"a key id is a non-empty str, got {key_id!r}")


def _check_counter(counter: int) -> None:
    if type(counter) is not int or not 0 <= counter <= INVOCATION_COUNTER_LIMIT:
        raise ValueError(f"an invocation counter is an int in 0..2**32-1, got {counter!r}")


class CellCounterStore:
    """CounterStore on Cells: ``in:<key>`` holds the last accepted incoming counter,
    ``out:<key>`` the outgoing reservation ceiling (every value below it may have been handed
    out; after a restart the next value handed out is the ceiling)."""

    def __init__(self, cells: Cells, *, block: int) -> None:
        if type(block) is not int or block < 1:
            raise ValueError(f"the counter block size must be an int >= 1, got {block!r}")
        self._cells = cells
        self._block = block
        # Caches for the single writer; a read-only view always reads the cells.
        self._accepted: dict[str, int] = {}
        self._next: dict[str, int] = {}
        self._ceiling: dict[str, int] = {}

    # -- incoming ---------------------------------------------------------------------------

    def last_accepted(self, key_id: str) -> int | None:
        cached = self._accepted.get(key_id, _MISSING)
        if cached != _MISSING:
            return cached
        _check_key_id(key_id)
        self._refuse_retired(key_id)
        value = self._cells.get(_INCOMING + key_id)
        if value is not None and self._cells.writable:
            self._accepted[key_id] = value
        return value

    def accept(self, key_id: str, counter: int) -> None:
        previous = self._accepted.get(key_id, _MISSING)
        if previous == _MISSING:
            self._refuse_read_only()
            previous_or_none = self.last_accepted(key_id)
            previous = _MISSING if previous_or_none is None else previous_or_none
        _check_counter(counter)
        if counter <= previous:
            raise ReplayDetected(
                f"invocation counter {counter} for {key_id!r} is not greater than the last "
                f"accepted {previous}"
            )
        self._cells.set(_INCOMING + key_id, counter)
        self._accepted[key_id] = counter
        crash_point("counter.accept:after-write")

    # -- outgoing ---------------------------------------------------------------------------

    def next_outgoing(self, key_id: str) -> int:
        value = self._next.get(key_id)
        if value is None:
            value = self._load_outgoing(key_id)
        if value >= INVOCATION_COUNTER_LIMIT:
            raise CounterExhausted(
                f"outgoing invocation counter for {key_id!r} reached 2**32-1: change the key"
            )
        if value >= self._ceiling[key_id]:
            self._reserve(key_id, min(value + self._block, INVOCATION_COUNTER_LIMIT))
        self._next[key_id] = value + 1
        return value

    def skip_outgoing_to(self, key_id: str, value: int) -> None:
        _check_counter(value)
        current = self._next.get(key_id)
        if current is None:
            current = self._load_outgoing(key_id)
        if value <= current:
            return
        if value > self._ceiling[key_id]:
            # After a restart counting resumes at the ceiling, so it must not lag the skip.
            self._reserve(key_id, min(value + self._block, INVOCATION_COUNTER_LIMIT))
        self._next[key_id] = value

    def _load_outgoing(self, key_id: str) -> int:
        _check_key_id(key_id)
        self._refuse_read_only()
        self._refuse_retired(key_id)
        stored = self._cells.get(_OUTGOING + key_id)
        ceiling = FIRST_OUTGOING_COUNTER if stored is None else stored
        self._ceiling[key_id] = ceiling
        self._next[key_id] = ceiling
        return ceiling

    def _reserve(self, key_id: str, ceiling: int) -> None:
        self._cells.set(_OUTGOING + key_id, ceiling)
        self.bump_generation()
        crash_point("counter.reserve:before-flush")
        # The ceiling must be on disk before a value below it leaves the store.
        self._cells.flush()
        crash_point("counter.reserve:after-flush")
        self._ceiling[key_id] = ceiling

    # -- housekeeping -----------------------------------------------------------------------

    def sync(self) -> None:
        self._cells.flush()

    def retire(self, key_id: str) -> None:
        _check_key_id(key_id)
        self._refuse_read_only()
        self._cells.retire(_INCOMING + key_id)
        self._cells.retire(_OUTGOING + key_id)
        self._cells.flush()
        self._accepted.pop(key_id, None)
        self._next.pop(key_id, None)
        self._ceiling.pop(key_id, None)

    def list_keys(self) -> list[str]:
        keys = set()
        for name in self._cells.names():
            for prefix in (_INCOMING, _OUTGOING):
                if name.startswith(prefix):
                    keys.add(name[len(prefix) :])
        return sorted(keys)

    @property
    def generation(self) -> int:
        return self._cells.get(_GENERATION) or 0

    def bump_generation(self) -> int:
        """Increment the generation; committed, durable with the next flush."""
        generation = self.generation + 1
        self._cells.set(_GENERATION, generation)
        return generation

    def _refuse_retired(self, key_id: str) -> None:
        if self._cells.is_retired(_INCOMING + key_id):
            raise StorageError(
                f"key id {key_id!r} is retired; a new key needs a new key id (its counters "
                "restart, which is only safe with new key material)"
            )

    def _refuse_read_only(self) -> None:
        if not self._cells.writable:
            raise StorageError("the store is open read-only")


class CellSlots:
    """Slots on Cells: a thin range-checking layer."""

    def __init__(self, cells: Cells) -> None:
        self._cells = cells

    def get(self, name: str, default: int = 0) -> int:
        value = self._cells.get(name)
        return default if value is None else value

    def set(self, name: str, value: int) -> None:
        if type(value) is not int or not 0 <= value <= SLOT_VALUE_LIMIT:
            raise ValueError(f"a slot holds an int in 0..2**64-1, got {value!r}")
        if not isinstance(name, str) or not name:
            raise ValueError(f"a slot name is a non-empty str, got {name!r}")
        self._cells.set(name, value)

    def sync(self) -> None:
        self._cells.flush()

    def names(self) -> list[str]:
        return sorted(self._cells.names())
