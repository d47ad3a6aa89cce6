"""The storage Protocols and their durability contract (see docs/DURABILITY.md).

Two levels of durability are used throughout:

* **committed** (survives kill -9): the change has been handed to the operating system (a write
  to a shared memory map, or a committed SQLite transaction in WAL mode) before the call
  returns. A killed process loses nothing; a power cut may lose it.
* **power-loss durable** (survives a power cut): additionally msynced or fsynced before the call
  returns.

Every method below says which level it gives and what it costs. Implementations are used from
one thread; they are not thread-safe. Arguments out of their documented range (a negative
counter, a zero depth) are programming errors and raise ``ValueError``; refusals and failures
of the store raise ``securemeter.errors.StorageError`` or the more specific error named.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

#: Largest invocation counter on the wire (4 octets). It is never handed out: reaching it means
#: the key must be changed.
INVOCATION_COUNTER_LIMIT = 2**32 - 1
#: First outgoing invocation counter handed out for a new key id. Zero is skipped because some
#: peers initialise their "last seen" counter to 0 and require strictly greater.
FIRST_OUTGOING_COUNTER = 1
#: Slots hold unsigned 64-bit values.
SLOT_VALUE_LIMIT = 2**64 - 1
#: Log sequences are SQLite integers (signed 64-bit); 2**63-1 appends are out of reach.
SEQUENCE_LIMIT = 2**63 - 1

FieldValue = str | int | None


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One event log entry as the meter hands it to the store.

    ``fields`` carries the entry's extra columns (client SAP, reason, OBIS code as text...);
    it is stored as JSON, so only str, int and None values are allowed. ``count`` > 1 marks an
    aggregated record (the same event repeated ``count`` times, e.g. a burst of refusals).
    """

    time_utc_ms: int
    event_code: int
    fields: Mapping[str, FieldValue] = field(default_factory=dict)
    count: int = 1

    def __post_init__(self) -> None:
        for name in ("time_utc_ms", "event_code", "count"):
            value = getattr(self, name)
            if type(value) is not int:
                raise ValueError(f"LogRecord.{name} must be an int, got {value!r}")
        if self.count < 1:
            raise ValueError(f"LogRecord.count must be >= 1, got {self.count}")
        frozen_fields: dict[str, FieldValue] = {}
        for key, value in self.fields.items():
            if not isinstance(key, str):
                raise ValueError(f"LogRecord field names must be str, got {key!r}")
            # bool is an int subclass that JSON would turn back into a different type.
            if value is not None and type(value) not in (str, int):
                raise ValueError(f"LogRecord field {key!r} must be str, int or None: {value!r}")
            frozen_fields[key] = value
        # A read-only view, so that a record stays a value after construction.
        object.__setattr__(self, "fields", types.MappingProxyType(frozen_fields))


@dataclass(frozen=True, slots=True)
class StoredRecord(LogRecord):
    """A LogRecord as read back, with the sequence number the store assigned to it."""

    sequence: int = field(kw_only=True)


@dataclass(frozen=True, slots=True)
class TransferInfo:
    """The image transfer in progress (at most one at a time)."""

    transfer_id: str
    identification: bytes
    image_size: int
    block_size: int

    @property
    def block_count(self) -> int:
        return -(-self.image_size // self.block_size)

    def expected_block_size(self, number: int) -> int:
        """Size of block ``number``: block_size, except for a shorter last block."""
        if not 0 <= number < self.block_count:
            raise ValueError(f"block {number} outside 0..{self.block_count - 1}")
        return min(self.block_size, self.image_size - number * self.block_size)


@runtime_checkable
class Sealer(Protocol):
    """Seals secret blobs before they touch disk.

    ``context`` says where a blob belongs (e.g. the key's owner and name); it is authenticated
    but not stored, so a blob copied to another place fails to unseal.
    """

    #: False for a sealer that stores plaintext (PlainSealer): callers may warn about it.
    provides_confidentiality: bool

    def seal(self, plaintext: bytes, *, context: bytes) -> bytes:
        """Return the sealed form of ``plaintext`` bound to ``context``."""
        ...

    def unseal(self, sealed: bytes, *, context: bytes) -> bytes:
        """Return the plaintext; raise StorageError if ``sealed`` was altered or misplaced."""
        ...


@runtime_checkable
class Slots(Protocol):
    """Named unsigned 64-bit cells in a shared memory map (e.g. energy registers).

    A ``set`` is a memory write: it survives kill -9 (the mapping is shared with the kernel's
    page cache) but not a power cut until ``sync``. No SQL, no system call on the hot path.
    A write interrupted by a kill leaves the previous value, never a torn mix.
    """

    def get(self, name: str, default: int = 0) -> int:
        """The cell's value, or ``default`` if it was never set. Cost: a dict lookup."""
        ...

    def set(self, name: str, value: int) -> None:
        """Store ``value`` (0 .. 2**64-1). Committed on return; cost: a memory write.

        The first ``set`` of a new name allocates a cell (rare; may grow the file).
        """
        ...

    def sync(self) -> None:
        """Make every ``set`` so far power-loss durable (msync). Cost: one msync."""
        ...

    def names(self) -> list[str]:
        """Every cell name, sorted."""
        ...


@runtime_checkable
class CounterStore(Protocol):
    """Invocation counters per key id (a caller-chosen string such as ``"sap1/guek/3"``).

    Incoming counters (the last accepted from a peer) guard against replay: they never go
    backwards. Outgoing counters (our own, part of the GCM nonce) are never handed out twice,
    even across kill -9 or a power cut: they are reserved ahead in blocks, and the reservation
    is power-loss durable before any value of the block leaves the store.

    A retired key id is a tombstone: every later call for it raises StorageError, so a new key
    must get a new key id (e.g. bump the key generation in the id) and starts fresh counters.
    """

    def last_accepted(self, key_id: str) -> int | None:
        """The last accepted incoming counter, or None if none was ever accepted."""
        ...

    def accept(self, key_id: str, counter: int) -> None:
        """Record ``counter`` as the last accepted incoming counter for ``key_id``.

        Raises ReplayDetected unless ``counter`` is greater than the stored one: counters never
        go backwards. Committed (survives kill -9) on return; cost: about a memory write (no
        SQL, no fsync). Power-loss durable only after ``sync``.
        """
        ...

    def next_outgoing(self, key_id: str) -> int:
        """Hand out the next outgoing counter for ``key_id`` (the first is 1).

        Strictly increasing, never repeated. Values are reserved ahead in blocks; when a block
        is used up, the new ceiling is written and flushed (msync) before any value from it is
        returned, so a crash skips values and never repeats one. Cost: a memory write, plus one
        msync per block. Raises CounterExhausted when the next value would be 2**32-1.
        """
        ...

    def skip_outgoing_to(self, key_id: str, value: int) -> None:
        """Make the next outgoing counter at least ``value`` (never lowers it).

        For a head-end that learns the peer's last accepted counter, and for tests that need a
        counter near 2**32. Power-loss durable on return.
        """
        ...

    def sync(self) -> None:
        """Make every accepted counter power-loss durable (msync).

        The meter calls it before executing a SET, an ACTION or a key change, so that a power
        cut cannot make the request that authorised a state change replayable.
        """
        ...

    def retire(self, key_id: str) -> None:
        """Tombstone ``key_id`` after a key change. Power-loss durable on return."""
        ...

    def list_keys(self) -> list[str]:
        """Every key id that has a counter and is not retired, sorted."""
        ...


@runtime_checkable
class LogStore(Protocol):
    """Append-only event logs by name: bounded ring buffers plus never-reset sequences.

    Each log keeps its newest ``depth`` records. Its sequence (the last assigned, a monotonic
    64-bit number) is never reset, not by the ring overwriting old records nor by ``clear``:
    the traceability layer derives the 32-bit DLMS event counter from it. A reader in another
    process (open_store_readonly) sees every committed record.
    """

    def configure(self, log: str, depth: int) -> None:
        """Create ``log`` or change its depth (>= 1); a smaller depth drops the oldest records.

        Committed on return.
        """
        ...

    def append(self, log: str, record: LogRecord) -> int:
        """Append ``record`` and return its sequence (last sequence + 1).

        Committed (survives kill -9) before returning; NOT fsynced per record, so a power cut
        may lose the newest records. Cost: one small SQLite transaction. Raises StorageError
        for an unconfigured log.
        """
        ...

    def records(
        self, log: str, *, since_sequence: int | None = None, limit: int | None = None
    ) -> list[StoredRecord]:
        """Records oldest first; only those after ``since_sequence``, at most ``limit``."""
        ...

    def sequence(self, log: str) -> int:
        """The last assigned sequence of ``log``, 0 if it never had a record."""
        ...

    def clear(self, log: str) -> None:
        """Empty the ring buffer; the sequence continues. Committed on return."""
        ...

    def seed_sequence(self, log: str, value: int) -> None:
        """Set the last assigned sequence to ``value`` (for fixtures that test wrap-around).

        Raises StorageError if ``value`` is below the current sequence: it is never lowered.
        """
        ...

    def names(self) -> list[str]:
        """Every configured log, sorted."""
        ...


@runtime_checkable
class StateStore(Protocol):
    """Small named blobs (meter identity, settings, register snapshots), sealed at rest."""

    def get(self, name: str) -> bytes | None:
        """The blob, or None if absent."""
        ...

    def put(self, name: str, value: bytes, *, durable: bool = False) -> None:
        """Store ``value``: committed (survives kill -9) on return; with ``durable=True`` also
        fsynced (survives a power cut). After a crash the old or the new value is read, never
        a mix."""
        ...

    def delete(self, name: str, *, durable: bool = False) -> None:
        """Remove the blob if present; committed (with ``durable``: fsynced) on return."""
        ...

    def names(self) -> list[str]:
        """Every blob name, sorted."""
        ...


@runtime_checkable
class KeyStore(Protocol):
    """Secret key material per (owner, name), e.g. ("sap1", "global_unicast_encryption_key").

    Material is sealed before it touches disk. Retired material is not kept: only a keyed
    fingerprint (HMAC under a store-local secret) of every material ever installed, so that
    ``was_used`` can refuse the reinstallation of an old key without storing it.
    """

    def put_key(self, owner: str, name: str, material: bytes) -> None:
        """Install ``material`` (replacing any current one). Power-loss durable on return."""
        ...

    def get_key(self, owner: str, name: str) -> bytes | None:
        """The current material, or None."""
        ...

    def retire_key(self, owner: str, name: str) -> None:
        """Delete the current material, keeping its fingerprint. Power-loss durable."""
        ...

    def was_used(self, owner: str, name: str, material: bytes) -> bool:
        """Whether this exact material was ever installed for (owner, name).

        Compared in constant time against every fingerprint of that (owner, name).
        """
        ...

    def owners(self) -> list[str]:
        """Every owner that has current key material, sorted."""
        ...

    def key_names(self, owner: str) -> list[str]:
        """The names of ``owner``'s current keys, sorted."""
        ...


@runtime_checkable
class TransferStore(Protocol):
    """Firmware image transfer progress (at most one transfer at a time)."""

    def begin(
        self, transfer_id: str, image_size: int, block_size: int, identification: bytes
    ) -> TransferInfo:
        """Start a transfer afresh, dropping any current one and its blocks. Committed."""
        ...

    def put_block(self, transfer_id: str, number: int, data: bytes) -> None:
        """Store block ``number`` (a resent block replaces the earlier one). Committed.

        Raises StorageError if ``transfer_id`` is not the current transfer, ``number`` is out
        of range or ``data`` has the wrong size (block_size; the last block may be shorter).
        """
        ...

    def blocks_received(self, transfer_id: str) -> set[int]:
        """The numbers of the blocks stored so far."""
        ...

    def read_image(self, transfer_id: str) -> bytes:
        """The whole image; raises StorageError while a block is missing."""
        ...

    def abandon(self, transfer_id: str) -> None:
        """Drop the transfer and its blocks (no-op if it is not the current one)."""
        ...

    def current(self) -> TransferInfo | None:
        """The transfer in progress, or None."""
        ...


@runtime_checkable
class MeterStore(Protocol):
    """Everything the meter persists, bundled.

    ``generation`` is a monotonic number bumped (power-loss durably) at every open and every
    outgoing counter reservation. Anchored outside the store (a later layer), it will reveal a
    state directory restored from an older copy.
    """

    @property
    def counters(self) -> CounterStore: ...

    @property
    def slots(self) -> Slots: ...

    @property
    def logs(self) -> LogStore: ...

    @property
    def state(self) -> StateStore: ...

    @property
    def keys(self) -> KeyStore: ...

    @property
    def transfers(self) -> TransferStore: ...

    @property
    def generation(self) -> int: ...

    def close(self) -> None:
        """Release files and the lock. Idempotent; the store must not be used afterwards (the
        SQLite store then raises StorageError)."""
        ...
