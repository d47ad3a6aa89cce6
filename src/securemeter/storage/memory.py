"""In-memory stores for unit tests: the semantics of the SQLite store without its durability.

Everything lives as long as the MemoryStore object. Secret blobs still pass through the sealer,
so a test with AesGcmSealer exercises the same sealing as the real store.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field

from securemeter.errors import StorageError
from securemeter.storage import _common
from securemeter.storage.base import LogRecord, Sealer, StoredRecord, TransferInfo
from securemeter.storage.counters import CellCounterStore, CellSlots
from securemeter.storage.sealing import PlainSealer, seal_context


class MemoryCells:
    """Cells in a dict; ``flush`` has nothing to do."""

    writable = True

    def __init__(self) -> None:
        self._values: dict[str, int] = {}
        self._retired: set[str] = set()

    def get(self, name: str) -> int | None:
        return self._values.get(name)

    def set(self, name: str, value: int) -> None:
        if name in self._retired:
            raise StorageError(f"slot {name!r} is retired")
        self._values[name] = value

    def retire(self, name: str) -> None:
        self._values.pop(name, None)
        self._retired.add(name)

    def is_retired(self, name: str) -> bool:
        return name in self._retired

    def names(self) -> list[str]:
        return list(self._values)

    def flush(self) -> None:
        return None


@dataclass
class _Log:
    depth: int
    sequence: int = 0
    records: deque[StoredRecord] = field(default_factory=deque)


class MemoryLogStore:
    def __init__(self) -> None:
        self._logs: dict[str, _Log] = {}

    def configure(self, log: str, depth: int) -> None:
        _common.check_name("log", log)
        _common.check_depth(depth)
        entry = self._logs.setdefault(log, _Log(depth))
        entry.depth = depth
        while len(entry.records) > depth:
            entry.records.popleft()

    def append(self, log: str, record: LogRecord) -> int:
        _common.check_record(record)
        entry = self._log(log)
        sequence = _common.next_sequence(log, entry.sequence)
        stored = StoredRecord(
            record.time_utc_ms, record.event_code, record.fields, record.count, sequence=sequence
        )
        entry.records.append(stored)
        entry.sequence = sequence
        while len(entry.records) > entry.depth:
            entry.records.popleft()
        return sequence

    def records(
        self, log: str, *, since_sequence: int | None = None, limit: int | None = None
    ) -> list[StoredRecord]:
        after, row_limit = _common.check_query(since_sequence, limit)
        selected = [stored for stored in self._log(log).records if stored.sequence > after]
        return selected if row_limit < 0 else selected[:row_limit]

    def sequence(self, log: str) -> int:
        return self._log(log).sequence

    def clear(self, log: str) -> None:
        self._log(log).records.clear()

    def seed_sequence(self, log: str, value: int) -> None:
        entry = self._log(log)
        _common.check_seed(entry.sequence, value)
        entry.sequence = value

    def names(self) -> list[str]:
        return sorted(self._logs)

    def _log(self, log: str) -> _Log:
        entry = self._logs.get(log)
        if entry is None:
            raise StorageError(f"log {log!r} is not configured")
        return entry


class MemoryStateStore:
    def __init__(self, sealer: Sealer) -> None:
        self._sealer = sealer
        self._blobs: dict[str, bytes] = {}

    def get(self, name: str) -> bytes | None:
        _common.check_name("state", name)
        sealed = self._blobs.get(name)
        if sealed is None:
            return None
        return self._sealer.unseal(sealed, context=seal_context("state", name))

    def put(self, name: str, value: bytes, *, durable: bool = False) -> None:
        _common.check_name("state", name)
        _common.check_blob(value)
        self._blobs[name] = self._sealer.seal(bytes(value), context=seal_context("state", name))

    def delete(self, name: str, *, durable: bool = False) -> None:
        _common.check_name("state", name)
        self._blobs.pop(name, None)

    def names(self) -> list[str]:
        return sorted(self._blobs)


class MemoryKeyStore:
    def __init__(self, sealer: Sealer) -> None:
        self._sealer = sealer
        self._secret = os.urandom(_common.FINGERPRINT_KEY_SIZE)
        self._keys: dict[tuple[str, str], bytes] = {}
        self._fingerprints: dict[tuple[str, str], list[bytes]] = {}

    def put_key(self, owner: str, name: str, material: bytes) -> None:
        _common.check_name("key owner", owner)
        _common.check_name("key", name)
        _common.check_blob(material)
        context = seal_context("key", owner, name)
        self._keys[owner, name] = self._sealer.seal(bytes(material), context=context)
        known = self._fingerprints.setdefault((owner, name), [])
        new_fingerprint = _common.fingerprint(self._secret, owner, name, material)
        if not _common.matches_any(new_fingerprint, known):
            known.append(new_fingerprint)

    def get_key(self, owner: str, name: str) -> bytes | None:
        sealed = self._keys.get((owner, name))
        if sealed is None:
            return None
        return self._sealer.unseal(sealed, context=seal_context("key", owner, name))

    def retire_key(self, owner: str, name: str) -> None:
        self._keys.pop((owner, name), None)

    def was_used(self, owner: str, name: str, material: bytes) -> bool:
        _common.check_blob(material)
        candidate = _common.fingerprint(self._secret, owner, name, material)
        return _common.matches_any(candidate, self._fingerprints.get((owner, name), ()))

    def owners(self) -> list[str]:
        return sorted({owner for owner, _ in self._keys})

    def key_names(self, owner: str) -> list[str]:
        return sorted(name for key_owner, name in self._keys if key_owner == owner)


class MemoryTransferStore:
    def __init__(self) -> None:
        self._current: TransferInfo | None = None
        self._blocks: dict[int, bytes] = {}

    def begin(
        self, transfer_id: str, image_size: int, block_size: int, identification: bytes
    ) -> TransferInfo:
        info = _common.new_transfer(transfer_id, image_size, block_size, identification)
        self._current = info
        self._blocks = {}
        return info

    def put_block(self, transfer_id: str, number: int, data: bytes) -> None:
        _common.check_block(self._current, transfer_id, number, data)
        self._blocks[number] = bytes(data)

    def blocks_received(self, transfer_id: str) -> set[int]:
        _common.check_current(self._current, transfer_id)
        return set(self._blocks)

    def read_image(self, transfer_id: str) -> bytes:
        _common.check_current(self._current, transfer_id)
        assert self._current is not None
        missing = _common.missing_blocks(self._current, self._blocks)
        if missing:
            raise StorageError(f"image {transfer_id!r} lacks blocks {missing}")
        return b"".join(self._blocks[number] for number in range(self._current.block_count))

    def abandon(self, transfer_id: str) -> None:
        if self._current is not None and self._current.transfer_id == transfer_id:
            self._current = None
            self._blocks = {}

    def current(self) -> TransferInfo | None:
        return self._current


class MemoryStore:
    """A MeterStore in memory. ``generation`` starts at 1 (as if just opened)."""

    def __init__(self, *, sealer: Sealer | None = None, counter_block: int = 1000) -> None:
        sealer = PlainSealer() if sealer is None else sealer
        self._counters = CellCounterStore(MemoryCells(), block=counter_block)
        self._counters.bump_generation()
        self._slots = CellSlots(MemoryCells())
        self._logs = MemoryLogStore()
        self._state = MemoryStateStore(sealer)
        self._keys = MemoryKeyStore(sealer)
        self._transfers = MemoryTransferStore()

    @property
    def counters(self) -> CellCounterStore:
        return self._counters

    @property
    def slots(self) -> CellSlots:
        return self._slots

    @property
    def logs(self) -> MemoryLogStore:
        return self._logs

    @property
    def state(self) -> MemoryStateStore:
        return self._state

    @property
    def keys(self) -> MemoryKeyStore:
        return self._keys

    @property
    def transfers(self) -> MemoryTransferStore:
        return self._transfers

    @property
    def generation(self) -> int:
        return self._counters.generation

    def close(self) -> None:
        return None

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
