"""One event log on top of the store: 32-bit event counter, wrap record, flood aggregation.

Every event of a log gets an **event number**, a 64-bit number that only grows; the DLMS event
counter is the event number modulo 2**32. Event numbers *are* store log sequences: an event
written as a record of its own takes the next sequence, so a record's counter is its sequence
modulo 2**32, a restart continues from the store's sequence, and kill -9 cannot move a counter
back (docs/LOGS.md, docs/DURABILITY.md).

Wrap: the event number whose counter would be 0 (every multiple of 2**32) is taken by a wrap
record of its own before the event that reached it; counter value 0 is therefore always the
wrap record (``count`` 1), and the counter runs 2**32-1, 0 (wrap record), 1 (next event).

Aggregation: the caller decides (per source and rate, see :class:`FloodDetector`) that an event
belongs to a flood and passes it to :meth:`EventLogWriter.aggregate`. Consecutive flood events
of one source then share one *aggregated record*: it carries the number of events (``count``)
and is stored under the event number of its last event, so it covers the event numbers
``sequence - count + 1 .. sequence``. While the aggregate is open, each event costs two writes
to memory-mapped slots (committed, survives kill -9; no SQLite transaction): the event number of
the newest flood event and its time. The aggregate is described once, when it opens, in a state
blob. Closing it seeds the store sequence to one below its last event and appends the record.
A restart finds an open aggregate as "slot ahead of the newest record" and closes it.

Reader's rule: in a log, each entry's counter minus its count is the previous entry's counter
(modulo 2**32). Entries overwritten by the ring leave a gap before the oldest entry only.
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from securemeter.errors import StorageError
from securemeter.storage.base import FieldValue, LogRecord, MeterStore, StoredRecord

COUNTER_MODULUS = 2**32
#: The reason of an aggregate found counted but not described (docs/LOGS.md).
UNDESCRIBED = "unknown-after-restart"
_READ_ATTEMPTS = 3

AggregateKey = tuple[str, int, str]
"""What makes flood events "the same": (source, event code, reason)."""


def counter_value(event_number: int) -> int:
    """The 32-bit DLMS event counter of an event number."""
    return event_number % COUNTER_MODULUS


def event_slot(log: str) -> str:
    """Slot holding the event number of the newest aggregated event of ``log``."""
    return f"log.{log}.flood_event"


def time_slot(log: str) -> str:
    """Slot holding the time (UTC ms) of the newest aggregated event of ``log``."""
    return f"log.{log}.flood_time_ms"


def description_key(log: str) -> str:
    """State blob describing the aggregate ``log`` opened last."""
    return f"log.{log}.aggregate"


def source_of(fields: Mapping[str, FieldValue]) -> str | None:
    """The remote host an event came from ("ip:port" -> "ip"), or None if it names none."""
    remote = fields.get("remote")
    if not isinstance(remote, str) or not remote or remote == "unknown":
        return None
    host, _ = split_remote(remote)
    return host


def split_remote(remote: str) -> tuple[str, int | None]:
    """Host and port of a remote: ``1.2.3.4:5`` and ``[::1]:5`` have both, anything else
    (``optical``, a device path) is a host without a port."""
    if remote.startswith("["):
        host, bracket, rest = remote[1:].partition("]")
        if bracket and rest.startswith(":") and rest[1:].isdigit():
            return host, int(rest[1:])
        return remote, None
    host, colon, port = remote.rpartition(":")
    if colon and host and ":" not in host and port.isdigit() and int(port) <= 0xFFFF:
        return host, int(port)
    return remote, None


class FloodDetector:
    """Counts refusals per source in a sliding window of monotonic time.

    An event exceeds the rate when, with it, more than ``threshold`` events of its source fall
    within ``window`` seconds. Memory is bounded: at most ``max_sources`` sources are tracked;
    beyond that, quiet sources are forgotten first, then the oldest tracked.
    """

    def __init__(self, threshold: int, window: float, max_sources: int = 4096) -> None:
        if threshold < 0 or not window > 0 or max_sources < 1:
            raise ValueError("flood detection needs threshold >= 0, window > 0, max_sources >= 1")
        self._threshold = threshold
        self._window = window
        self._max_sources = max_sources
        self._hits: dict[str, deque[float]] = {}

    def exceeded(self, source: str, now: float) -> bool:
        hits = self._hits.get(source)
        if hits is None:
            if len(self._hits) >= self._max_sources:
                self._forget(now)
            hits = deque(maxlen=self._threshold + 1)
            self._hits[source] = hits
        hits.append(now)
        return len(hits) > self._threshold and now - hits[0] < self._window

    def _forget(self, now: float) -> None:
        quiet = [s for s, hits in self._hits.items() if now - hits[-1] >= self._window]
        for source in quiet:
            del self._hits[source]
        while len(self._hits) >= self._max_sources:
            del self._hits[next(iter(self._hits))]  # dicts keep insertion order: the oldest


@dataclass(slots=True)
class _OpenAggregate:
    key: AggregateKey | None  # None: recovered after a restart, never extended
    code: int
    fields: Mapping[str, FieldValue]
    first_event: int
    last_event: int
    first_ms: int
    last_ms: int
    opened: float  # monotonic

    @property
    def count(self) -> int:
        return self.last_event - self.first_event + 1

    def record(self) -> StoredRecord:
        return StoredRecord(
            self.last_ms,
            self.code,
            {**self.fields, "first_time_ms": self.first_ms},
            self.count,
            sequence=self.last_event,
        )


@dataclass(frozen=True, slots=True)
class LogView:
    """A log as a reader sees it: stored records (oldest first), the open aggregate, if any,
    and the newest event number (the counter is its value modulo 2**32)."""

    records: tuple[StoredRecord, ...]
    open_aggregate: StoredRecord | None
    last_event: int

    @property
    def counter(self) -> int:
        return counter_value(self.last_event)

    def entries(self, depth: int | None = None) -> list[StoredRecord]:
        """Records then the open aggregate; the newest ``depth`` of them if given."""
        entries = list(self.records)
        if self.open_aggregate is not None:
            entries.append(self.open_aggregate)
        return entries if depth is None else entries[-depth:]


def read_log(store: MeterStore, log: str, *, fallback_code: int = 0) -> LogView:
    """The log as committed in ``store``, open aggregate included; changes nothing.

    Safe on a store opened read-only while the meter runs: the slots are read before the
    records, so an aggregate closed in between shows as records, never twice. An aggregate
    that opened in between would leave the open one without its description: read again.
    """
    for _ in range(_READ_ATTEMPTS - 1):
        view = _recover(store, log, fallback_code)
        aggregate = view.open_aggregate
        if aggregate is None or aggregate.fields.get("reason") != UNDESCRIBED:
            return view
    return _recover(store, log, fallback_code)


def _recover(store: MeterStore, log: str, fallback_code: int) -> LogView:
    """The log from what is committed: slots first, then the records."""
    slots = store.slots
    flood_event = slots.get(event_slot(log), 0)
    flood_ms = slots.get(time_slot(log), 0)
    records = tuple(store.logs.records(log))
    sequence = store.logs.sequence(log)
    # An empty ring (cleared) has no open aggregate: the meter closes it before clearing.
    newest = records[-1].sequence if records else sequence
    open_aggregate = None
    if flood_event > newest:
        description = _parse_description(store.state.get(description_key(log)))
        if description is not None and description.first_event == newest + 1:
            code, fields, first_ms = description.code, description.fields, description.first_ms
        else:  # described by nothing we can trust: keep the count, say so
            code, fields, first_ms = fallback_code, {"reason": UNDESCRIBED}, flood_ms
        open_aggregate = StoredRecord(
            flood_ms,
            code,
            {**fields, "first_time_ms": first_ms},
            flood_event - newest,
            sequence=flood_event,
        )
    return LogView(records, open_aggregate, max(sequence, flood_event, newest))


@dataclass(frozen=True, slots=True)
class _Description:
    first_event: int
    code: int
    fields: Mapping[str, FieldValue]
    first_ms: int


def _parse_description(raw: bytes | None) -> _Description | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
        fields = value["fields"]
        if not isinstance(fields, dict) or not all(
            isinstance(v, str | int) or v is None for v in fields.values()
        ):
            return None
        return _Description(
            int(value["first"]), int(value["code"]), dict(fields), int(value["first_ms"])
        )
    except (ValueError, KeyError, TypeError):
        return None


def _describe(aggregate: _OpenAggregate) -> bytes:
    return json.dumps(
        {
            "first": aggregate.first_event,
            "code": aggregate.code,
            "fields": dict(aggregate.fields),
            "first_ms": aggregate.first_ms,
        },
        sort_keys=True,
    ).encode()


SummaryObserver = Callable[[StoredRecord], None]


class EventLogWriter:
    """Writes one log: event numbers, the wrap record, aggregates; mirrors the ring in memory.

    Only the meter process writes a log while it runs (the store's lock), so the in-memory
    mirror and the newest event number stay exact. ``on_summary`` is told every aggregated
    record once it is stored. ``unknown_flood_code`` is the code of an aggregate a restart
    finds without its description (it should not happen: the description is written first).
    """

    def __init__(
        self,
        store: MeterStore,
        log: str,
        depth: int,
        *,
        wrap_code: int,
        unknown_flood_code: int,
        aggregate_limit: int,
        window: float,
        on_summary: SummaryObserver | None = None,
    ) -> None:
        if aggregate_limit < 1 or not window > 0:
            raise ValueError("aggregates need aggregate_limit >= 1 and window > 0")
        self.name = log
        self.depth = depth
        self._store = store
        self._wrap_code = int(wrap_code)  # a LogRecord takes a plain int
        self._aggregate_limit = aggregate_limit
        self._window = window
        self._on_summary = on_summary
        store.logs.configure(log, depth)
        view = _recover(store, log, int(unknown_flood_code))
        self._records: deque[StoredRecord] = deque(view.records, maxlen=depth)
        self._last_event = view.last_event
        self._open: _OpenAggregate | None = None
        recovered = view.open_aggregate
        if recovered is not None:
            # Close what a crash left open: its events were counted before their answers left.
            first_ms = recovered.fields.get("first_time_ms")
            fields = {k: v for k, v in recovered.fields.items() if k != "first_time_ms"}
            self._open = _OpenAggregate(
                None,
                recovered.event_code,
                fields,
                recovered.sequence - recovered.count + 1,
                recovered.sequence,
                first_ms if isinstance(first_ms, int) else recovered.time_utc_ms,
                recovered.time_utc_ms,
                -math.inf,
            )
            self.flush()

    # ------------------------------------------------------------------ reading

    @property
    def last_event(self) -> int:
        """The newest event number (aggregated events included)."""
        return self._last_event

    @property
    def counter(self) -> int:
        return counter_value(self._last_event)

    def view(self) -> LogView:
        open_record = self._open.record() if self._open is not None else None
        return LogView(tuple(self._records), open_record, self._last_event)

    def entries(self) -> list[StoredRecord]:
        """What the profile shows: the newest ``depth`` records, the open aggregate last."""
        entries = list(self._records)
        if self._open is not None:
            entries.append(self._open.record())
        return entries[-self.depth :]

    def newest(self) -> StoredRecord | None:
        if self._open is not None:
            return self._open.record()
        return self._records[-1] if self._records else None

    # ------------------------------------------------------------------ writing

    def append(self, record: LogRecord) -> int:
        """Record one event on its own; returns its event number. Committed on return."""
        self.flush()
        self._wrap_if_due(record.time_utc_ms)
        return self._store_record(record)

    def aggregate(self, key: AggregateKey, record: LogRecord, now: float) -> int:
        """Count one flood event of ``key`` into the open aggregate (opening one if needed).

        Returns its event number. Committed on return: the event number is in a slot.
        """
        self._wrap_if_due(record.time_utc_ms)
        number = self._last_event + 1
        aggregate = self._open
        if aggregate is not None and (
            aggregate.key != key
            or aggregate.count >= self._aggregate_limit
            or now - aggregate.opened >= self._window
        ):
            self.flush()
            aggregate = None
        slots = self._store.slots
        if aggregate is None:
            aggregate = _OpenAggregate(
                key,
                record.event_code,
                _summary_fields(record.fields),
                number,
                number,
                record.time_utc_ms,
                record.time_utc_ms,
                now,
            )
            # Described before it counts: a restart finds a description for every count.
            self._store.state.put(description_key(self.name), _describe(aggregate))
            self._open = aggregate
        else:
            aggregate.last_event = number
            aggregate.last_ms = record.time_utc_ms
        slots.set(time_slot(self.name), record.time_utc_ms)
        slots.set(event_slot(self.name), number)  # the event counts from here on
        self._last_event = number
        return number

    def flush(self) -> StoredRecord | None:
        """Close the open aggregate into one stored record; returns it (None if none open)."""
        aggregate = self._open
        if aggregate is None:
            return None
        logs = self._store.logs
        below = aggregate.last_event - 1
        if logs.sequence(self.name) < below:
            logs.seed_sequence(self.name, below)
        record = aggregate.record()
        sequence = self._store_record(record)
        if sequence != aggregate.last_event:
            raise StorageError(
                f"log {self.name!r}: aggregate stored as {sequence}, expected "
                f"{aggregate.last_event}: another process wrote the log"
            )
        self._open = None
        stored = self._records[-1]
        if self._on_summary is not None:
            self._on_summary(stored)
        return stored

    def expire(self, now: float) -> StoredRecord | None:
        """Close the open aggregate once it is ``window`` seconds old (quiet or not)."""
        aggregate = self._open
        if aggregate is not None and now - aggregate.opened >= self._window:
            return self.flush()
        return None

    def clear(self) -> None:
        """Empty the ring; the event numbers (and the counter) go on."""
        self.flush()
        self._store.logs.clear(self.name)
        self._records.clear()

    def _wrap_if_due(self, time_utc_ms: int) -> None:
        if counter_value(self._last_event + 1) == 0:
            self.flush()
            self._store_record(LogRecord(time_utc_ms, self._wrap_code, {}))

    def _store_record(self, record: LogRecord) -> int:
        sequence = self._store.logs.append(self.name, record)
        self._records.append(
            StoredRecord(
                record.time_utc_ms,
                record.event_code,
                record.fields,
                record.count,
                sequence=sequence,
            )
        )
        self._last_event = max(self._last_event, sequence)
        return sequence


def _summary_fields(fields: Mapping[str, FieldValue]) -> Mapping[str, FieldValue]:
    """An aggregate keeps the first event's fields, but only the host of the remote: the
    port changes with every connection of a flood."""
    summary = dict(fields)
    remote = summary.get("remote")
    if isinstance(remote, str):
        summary["remote"] = split_remote(remote)[0]
    return MappingProxyType(summary)
