"""The logs as COSEM objects: one Profile generic per log plus the Data objects it captures.

For the log with number e (standard 0, fraud 1, firmware 3, communication 4, security 6):

* Profile generic ``0.0.99.98.e.255``: the entries, oldest first (selective access by range
  on the clock column and by entry);
* Data ``0.0.96.11.e.255``: the last event code (unsigned);
* Data ``0.0.96.15.e.255``: the event counter (double-long-unsigned);
* manufacturer-specific Data ``0.0.128.e.f.255`` (f >= 1; 0.0.128.0.0.255 is the demo's test
  object): the last event's other columns, f as in :class:`Field`.

Every object is read-only: no attribute has a SET handler (not even the profiles'
capture_period), capture is not offered, and reset clears only the standard and fraud logs.
docs/LOGS.md documents the columns and codes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Final

from securemeter.codec.axdr import (
    Data,
    DoubleLongUnsigned,
    Enum,
    LongUnsigned,
    NullData,
    Unsigned,
    VisibleString,
)
from securemeter.codec.obis import Obis
from securemeter.cosem.base import CosemObject, ObjectError, ObjectResult
from securemeter.cosem.clock import Clock
from securemeter.cosem.data import DataObject
from securemeter.cosem.profile_generic import CLOCK_CAPTURE, CaptureObject, ProfileGeneric, Row
from securemeter.meter.logbook import (
    CLEARABLE_LOGS,
    COMMUNICATION,
    FIRMWARE,
    FRAUD,
    REFUSAL_CODES,
    SECURITY,
    STANDARD,
    Logbook,
)
from securemeter.meter.logs.writer import EventLogWriter, counter_value, split_remote
from securemeter.storage.base import FieldValue, StoredRecord

MANUFACTURER_GROUP: Final = 128  # OBIS group C 128..254: manufacturer specific
_TEXT_LIMIT = 64  # characters of a visible-string column
_COUNT_LIMIT = 2**32 - 1


class Field(IntEnum):
    """f in the manufacturer-specific column objects 0.0.128.e.f.255."""

    EVENT_COUNT = 1
    INTERFACE = 2
    REMOTE_ADDRESS = 3
    REMOTE_PORT = 4
    HDLC_ADDRESS = 5
    CLIENT_SAP = 6
    USER_ID = 7
    MECHANISM = 8
    OUTCOME = 9
    REASON = 10
    FAILURES = 11


class EventOutcome(IntEnum):
    """The outcome column (enum)."""

    NONE = 0
    ASSOCIATED = 1
    AUTHENTICATION_PENDING = 2
    AUTHENTICATED = 3
    RELEASED = 4
    CLOSED = 5
    REFUSED = 6
    EXECUTED = 7
    FAILED = 8


_OUTCOMES: Final = {
    "associated": EventOutcome.ASSOCIATED,
    "authentication-pending": EventOutcome.AUTHENTICATION_PENDING,
    "authenticated": EventOutcome.AUTHENTICATED,
    "released": EventOutcome.RELEASED,
    "closed": EventOutcome.CLOSED,
    "refused": EventOutcome.REFUSED,
    "rejected": EventOutcome.REFUSED,
}
_ASSOCIATION_FIELDS: Final = (
    Field.EVENT_COUNT,
    Field.INTERFACE,
    Field.REMOTE_ADDRESS,
    Field.REMOTE_PORT,
    Field.HDLC_ADDRESS,
    Field.CLIENT_SAP,
    Field.USER_ID,
    Field.MECHANISM,
    Field.OUTCOME,
    Field.REASON,
)


@dataclass(frozen=True, slots=True)
class LogDefinition:
    """One log: its name, its e, and the manufacturer-specific columns after the standard
    ones (clock, event code, counter)."""

    name: str
    number: int
    fields: tuple[Field, ...]

    @property
    def profile_name(self) -> Obis:
        return Obis(0, 0, 99, 98, self.number, 255)

    @property
    def event_code_name(self) -> Obis:
        return Obis(0, 0, 96, 11, self.number, 255)

    @property
    def counter_name(self) -> Obis:
        return Obis(0, 0, 96, 15, self.number, 255)

    def field_name(self, field: Field) -> Obis:
        return Obis(0, 0, MANUFACTURER_GROUP, self.number, int(field), 255)

    def capture_objects(self) -> tuple[CaptureObject, ...]:
        return (
            CLOCK_CAPTURE,
            CaptureObject(DataObject.CLASS_ID, self.event_code_name, 2),
            CaptureObject(DataObject.CLASS_ID, self.counter_name, 2),
            *(CaptureObject(DataObject.CLASS_ID, self.field_name(f), 2) for f in self.fields),
        )


LOGS: Final = (
    LogDefinition(STANDARD, 0, (Field.EVENT_COUNT,)),
    LogDefinition(
        FRAUD,
        1,
        (
            Field.EVENT_COUNT,
            Field.FAILURES,
            Field.INTERFACE,
            Field.REMOTE_ADDRESS,
            Field.CLIENT_SAP,
            Field.REASON,
        ),
    ),
    LogDefinition(FIRMWARE, 3, (Field.EVENT_COUNT,)),
    LogDefinition(COMMUNICATION, 4, _ASSOCIATION_FIELDS),
    LogDefinition(SECURITY, 6, _ASSOCIATION_FIELDS),
)
LOG_DEFINITIONS: Final = {definition.name: definition for definition in LOGS}


def log_object_catalogue() -> tuple[tuple[Obis, int], ...]:
    """(logical name, class id) of every log object the meter serves."""
    catalogue: list[tuple[Obis, int]] = []
    for definition in LOGS:
        catalogue.append((definition.profile_name, ProfileGeneric.CLASS_ID))
        catalogue.append((definition.event_code_name, DataObject.CLASS_ID))
        catalogue.append((definition.counter_name, DataObject.CLASS_ID))
        catalogue.extend((definition.field_name(f), DataObject.CLASS_ID) for f in definition.fields)
    return tuple(catalogue)


LOG_OBJECT_NAMES: Final = frozenset(name for name, _ in log_object_catalogue())


def is_log_object(logical_name: Obis) -> bool:
    """Whether the object belongs to a log (all of them are read-only)."""
    return logical_name in LOG_OBJECT_NAMES


# ---------------------------------------------------------------------------- column values


def _text(value: FieldValue) -> Data:
    if value is None:
        return NullData()
    printable = "".join(c if " " <= c <= "~" else "?" for c in str(value))
    return VisibleString(printable[:_TEXT_LIMIT])


def _number(value: FieldValue, kind: type[Unsigned | LongUnsigned], limit: int) -> Data:
    if type(value) is not int or not 0 <= value <= limit:
        return NullData()
    return kind(value)


def _remote(record: StoredRecord) -> tuple[str | None, int | None]:
    remote = record.fields.get("remote")
    if not isinstance(remote, str) or not remote or remote == "unknown":
        return None, None
    return split_remote(remote)


def outcome_of(record: StoredRecord) -> EventOutcome:
    outcome = record.fields.get("outcome")
    if isinstance(outcome, str) and outcome in _OUTCOMES:
        return _OUTCOMES[outcome]
    result = record.fields.get("result")
    if isinstance(result, int):  # SET and ACTION records
        return EventOutcome.EXECUTED if result == 0 else EventOutcome.FAILED
    return EventOutcome.REFUSED if record.event_code in REFUSAL_CODES else EventOutcome.NONE


def _field_value(field: Field, record: StoredRecord) -> Data:
    fields = record.fields
    if field is Field.EVENT_COUNT:
        return DoubleLongUnsigned(min(record.count, _COUNT_LIMIT))
    if field is Field.INTERFACE:
        return _text(fields.get("interface"))
    if field is Field.REMOTE_ADDRESS:
        return _text(_remote(record)[0])
    if field is Field.REMOTE_PORT:
        return _number(_remote(record)[1], LongUnsigned, 0xFFFF)
    if field is Field.HDLC_ADDRESS:
        return _number(fields.get("hdlc_address"), LongUnsigned, 0xFFFF)
    if field is Field.CLIENT_SAP:
        return _number(fields.get("sap"), Unsigned, 0xFF)
    if field is Field.USER_ID:
        return _number(fields.get("user"), Unsigned, 0xFF)
    if field is Field.MECHANISM:
        mechanism = fields.get("mechanism")
        return Enum(mechanism) if type(mechanism) is int and 0 <= mechanism <= 0xFF else NullData()
    if field is Field.OUTCOME:
        return Enum(outcome_of(record))
    if field is Field.REASON:
        return _text(fields.get("reason"))
    failures = fields.get("failures")
    if type(failures) is int and failures >= 0:
        return DoubleLongUnsigned(min(failures, _COUNT_LIMIT))
    return NullData()


def _event_code(record: StoredRecord) -> Data:
    code = record.event_code
    return Unsigned(code if 0 <= code <= 0xFF else 0)


def captured_at(record: StoredRecord) -> datetime:
    """A record's capture instant, at the clock column's resolution (hundredths)."""
    hundredths = record.time_utc_ms // 10
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=hundredths * 10)


# ---------------------------------------------------------------------------- the objects


class LogBuffer:
    """The ProfileBuffer of one log: the writer's entries, turned into rows when read."""

    def __init__(
        self,
        definition: LogDefinition,
        writer: EventLogWriter,
        clock: Clock,
        clear: Callable[[], None] | None,
    ) -> None:
        self._definition = definition
        self._writer = writer
        self._clock = clock
        self._clear = clear

    @property
    def capacity(self) -> int:
        return self._writer.depth

    def __len__(self) -> int:
        return len(self._writer.entries())

    def select_entries(self, first: int, last: int) -> list[Row]:
        return [self.row(record) for record in self._writer.entries()[first - 1 : last]]

    def select_range(self, start: datetime, end: datetime) -> list[Row]:
        rows = []
        for record in self._writer.entries():
            instant = captured_at(record)
            if start <= instant <= end:
                rows.append(self.row(record, instant))
        return rows

    def append(self, row: Row) -> None:
        raise ObjectError(
            ObjectResult.READ_WRITE_DENIED, f"the {self._definition.name} log takes no captures"
        )

    def clear(self) -> None:
        if self._clear is None:
            raise ObjectError(
                ObjectResult.READ_WRITE_DENIED, f"the {self._definition.name} log cannot be cleared"
            )
        self._clear()

    def row(self, record: StoredRecord, instant: datetime | None = None) -> Row:
        instant = instant if instant is not None else captured_at(record)
        return Row(
            instant,
            (
                self._clock.to_local(instant).to_octet_string(),
                _event_code(record),
                DoubleLongUnsigned(counter_value(record.sequence)),
                *(_field_value(field, record) for field in self._definition.fields),
            ),
        )


class EventLogProfile(ProfileGeneric):
    """A Profile generic whose rows the meter writes: nothing in it can be SET."""


# The inherited capture_period setter would let a SET change an event log: remove every SET
# path (writable_attributes() is then empty too).
EventLogProfile._SETTERS = {}


def build_log_objects(logbook: Logbook, clock: Clock) -> dict[Obis, CosemObject]:
    """The log objects of the meter, wired to ``logbook``; ``clock`` renders the times."""
    objects: dict[Obis, CosemObject] = {}
    for definition in LOGS:
        writer = logbook.writer(definition.name)
        clear = _clearer(logbook, definition.name) if definition.name in CLEARABLE_LOGS else None
        objects[definition.profile_name] = EventLogProfile(
            definition.profile_name,
            capture_objects=definition.capture_objects(),
            buffer=LogBuffer(definition, writer, clock, clear),
            local_deviation_at=clock.local_deviation_at,
        )
        objects[definition.event_code_name] = DataObject(
            definition.event_code_name, provider=_last(writer, _event_code, Unsigned(0))
        )
        objects[definition.counter_name] = DataObject(
            definition.counter_name, provider=_counter(writer)
        )
        for field in definition.fields:
            objects[definition.field_name(field)] = DataObject(
                definition.field_name(field), provider=_last(writer, _column(field))
            )
    return objects


def _counter(writer: EventLogWriter) -> Callable[[], Data]:
    return lambda: DoubleLongUnsigned(writer.counter)


def _column(field: Field) -> Callable[[StoredRecord], Data]:
    return lambda record: _field_value(field, record)


def _clearer(logbook: Logbook, log: str) -> Callable[[], None]:
    return lambda: logbook.clear(log)


def _last(
    writer: EventLogWriter,
    extract: Callable[[StoredRecord], Data],
    empty: Data | None = None,
) -> Callable[[], Data]:
    """The value of a column in the newest entry ("last event"), ``empty`` before any."""

    def value() -> Data:
        newest = writer.newest()
        if newest is None:
            return empty if empty is not None else NullData()
        return extract(newest)

    return value
