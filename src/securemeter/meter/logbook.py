"""Event records any component can write: one place that turns what happened into log
records, committed before the answer reporting them leaves (docs/DURABILITY.md).

Five logs (docs/LOGS.md), each a ring buffer with a 32-bit event counter, served as Profile
generic objects (meter/logs/objects.py):

* ``standard``: power up/down, clock set, configuration changed, registers reset, log cleared;
* ``fraud``: summaries of attacks (a flood of failures from one source, each replay);
* ``firmware``: filled by the firmware work;
* ``communication``: every connection and association attempt, accepted or refused;
* ``security``: refusals and failures, lockouts, key changes.

Fields are the record's extra columns (str, int or None): ``interface``, ``remote``
("ip:port"), ``sap``, ``role``, ``user``, ``mechanism``, ``outcome``, ``reason``, ``detail``
and others; docs/LOGS.md lists which columns they fill.

Refusals from one remote host above ``LogSettings.flood_threshold`` per ``flood_window``
seconds are aggregated (meter/logs/writer.py): still counted one by one, stored as one record
per run with its event count.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from securemeter.meter.logs.writer import (
    EventLogWriter,
    FloodDetector,
    LogView,
    counter_value,
    source_of,
)
from securemeter.storage.base import FieldValue, LogRecord, MeterStore, StoredRecord

STANDARD = "standard"
FRAUD = "fraud"
FIRMWARE = "firmware"
COMMUNICATION = "communication"
SECURITY = "security"
#: Every log, in the order of their e in 0.0.99.98.e.255.
LOG_NAMES: Final = (STANDARD, FRAUD, FIRMWARE, COMMUNICATION, SECURITY)
#: Logs a Profile generic reset may clear; the others cannot be cleared, whatever the rights.
CLEARABLE_LOGS: Final = frozenset({STANDARD, FRAUD})


class EventCode(IntEnum):
    """Event codes of every log (docs/LOGS.md): standard numbers where IDIS/DSMR have one,
    manufacturer-specific numbers (200 to 254) for the rest. Each fits an ``unsigned``."""

    POWER_DOWN = 1
    POWER_UP = 2
    CLOCK_ADJUSTED_OLD = 4
    CLOCK_ADJUSTED_NEW = 5
    CONFIGURATION_CHANGED = 47
    ASSOCIATION_AUTHENTICATION_FAILURE = 46
    GLOBAL_KEYS_CHANGED = 48
    DECRYPTION_OR_AUTHENTICATION_FAILURE = 49
    REPLAY_ATTACK = 50
    LOG_CLEARED = 255
    # Manufacturer-specific (documented in docs/LOGS.md).
    ASSOCIATION_ACCEPTED = 200
    ASSOCIATION_REFUSED = 201
    ASSOCIATION_RELEASED = 202
    REQUEST_REFUSED = 203
    SET_EXECUTED = 204
    ACTION_EXECUTED = 205
    CONNECTION_REFUSED = 206
    POWER_UP_AFTER_UNCLEAN_STOP = 207
    KEYS_EXPORTED = 208  # written by `securemeter meter export-keys`
    # Port lockout (docs/ACCESS.md): started, ended by itself, lifted (remotely or locally).
    INTERFACE_LOCKED = 230
    INTERFACE_UNLOCKED = 231
    INTERFACE_LOCKOUT_LIFTED = 232
    # Traceability (docs/LOGS.md).
    REFUSAL_FLOOD = 250  # fraud: a flood of refusals other than authentication or replay
    EVENT_COUNTER_WRAPPED = 251  # any log: takes counter value 0
    REGISTERS_RESET = 252  # standard: IDIS has no code for it


#: Refusals: counted per remote host for flood aggregation.
REFUSAL_CODES: Final = frozenset(
    {
        EventCode.ASSOCIATION_REFUSED,
        EventCode.REQUEST_REFUSED,
        EventCode.CONNECTION_REFUSED,
        EventCode.ASSOCIATION_AUTHENTICATION_FAILURE,
        EventCode.DECRYPTION_OR_AUTHENTICATION_FAILURE,
        EventCode.REPLAY_ATTACK,
    }
)
#: The fraud record that summarises a flood in the security log, by the flood's event code.
FRAUD_SUMMARY_CODES: Final = {
    EventCode.ASSOCIATION_REFUSED: EventCode.ASSOCIATION_AUTHENTICATION_FAILURE,
    EventCode.ASSOCIATION_AUTHENTICATION_FAILURE: EventCode.ASSOCIATION_AUTHENTICATION_FAILURE,
    EventCode.DECRYPTION_OR_AUTHENTICATION_FAILURE: EventCode.DECRYPTION_OR_AUTHENTICATION_FAILURE,
    EventCode.REPLAY_ATTACK: EventCode.REPLAY_ATTACK,
}
_MAX_EVENT_CODE = 0xFF  # the event code objects are unsigned
_FRAUD_FIELDS = ("interface", "remote", "sap", "reason")


@dataclass(frozen=True, slots=True)
class LogSettings:
    """Depth of every log and the flood rule (docs/LOGS.md).

    More than ``flood_threshold`` refusals from one remote host within ``flood_window``
    seconds (monotonic time) are aggregated; an aggregated record closes after
    ``aggregate_limit`` events or ``flood_window`` seconds after its first event, whichever
    comes first (or earlier, when another event needs the log).
    """

    depth: int = 1000
    flood_threshold: int = 20
    flood_window: float = 60.0
    aggregate_limit: int = 1000

    def __post_init__(self) -> None:
        if type(self.depth) is not int or self.depth < 1:
            raise ValueError(f"a log holds at least one entry, got depth {self.depth!r}")
        if type(self.flood_threshold) is not int or self.flood_threshold < 0:
            raise ValueError(f"flood_threshold must be an int >= 0, got {self.flood_threshold!r}")
        if not self.flood_window > 0:
            raise ValueError(f"flood_window must be > 0 seconds, got {self.flood_window!r}")
        if type(self.aggregate_limit) is not int or self.aggregate_limit < 1:
            raise ValueError(f"aggregate_limit must be an int >= 1, got {self.aggregate_limit!r}")


class Logbook:
    """The meter's logs. ``now_ms`` gives UTC milliseconds, ``monotonic`` seconds (for rates).

    Construction recovers what a crash left open (an aggregate still counting).
    """

    def __init__(
        self,
        store: MeterStore,
        now_ms: Callable[[], int],
        *,
        monotonic: Callable[[], float],
        settings: LogSettings | None = None,
    ) -> None:
        settings = settings if settings is not None else LogSettings()
        self.settings = settings
        self._now_ms = now_ms
        self._monotonic = monotonic
        self._writers: dict[str, EventLogWriter] = {}
        self._floods: dict[str, FloodDetector] = {}
        for name in LOG_NAMES:  # fraud before security: a security summary writes to fraud
            self._writers[name] = EventLogWriter(
                store,
                name,
                settings.depth,
                wrap_code=EventCode.EVENT_COUNTER_WRAPPED,
                unknown_flood_code=EventCode.REQUEST_REFUSED,
                aggregate_limit=settings.aggregate_limit,
                window=settings.flood_window,
                on_summary=self._fraud_summary if name == SECURITY else None,
            )
            self._floods[name] = FloodDetector(settings.flood_threshold, settings.flood_window)

    def record(self, log: str, code: EventCode | int, **fields: FieldValue) -> int:
        """Record one event; returns its event number (the counter is it modulo 2**32).

        Committed when it returns. A refusal from a flooding host joins its aggregate.
        """
        if not 0 <= code <= _MAX_EVENT_CODE:
            raise ValueError(f"event code {code} does not fit an unsigned")
        writer = self._writers.get(log)
        if writer is None:
            raise ValueError(f"no log named {log!r}; the logs are {', '.join(LOG_NAMES)}")
        record = LogRecord(self._now_ms(), int(code), fields)
        source = source_of(fields) if code in REFUSAL_CODES else None
        if source is not None:
            now = self._monotonic()
            if self._floods[log].exceeded(source, now):
                return writer.aggregate((source, int(code), str(fields.get("reason"))), record, now)
        number = writer.append(record)
        if log == SECURITY and code == EventCode.REPLAY_ATTACK:
            self._fraud(record.time_utc_ms, EventCode.REPLAY_ATTACK, fields, number, 1)
        return number

    def counter(self, log: str) -> int:
        """The log's 32-bit event counter now."""
        return counter_value(self._writers[log].last_event)

    def view(self, log: str) -> LogView:
        return self._writers[log].view()

    def writer(self, log: str) -> EventLogWriter:
        return self._writers[log]

    def tick(self) -> None:
        """Close aggregates that are ``flood_window`` old (called about once a second)."""
        now = self._monotonic()
        for writer in self._writers.values():
            writer.expire(now)

    def flush(self) -> None:
        """Close every open aggregate (before an orderly stop)."""
        for writer in self._writers.values():
            writer.flush()

    def clear(self, log: str) -> None:
        """Empty a clearable log; recorded in it and in the standard log. The counter goes on."""
        if log not in CLEARABLE_LOGS:
            raise ValueError(f"the {log} log cannot be cleared")
        self._writers[log].clear()
        self.record(log, EventCode.LOG_CLEARED, cleared_log=log)
        if log != STANDARD:
            self.record(STANDARD, EventCode.LOG_CLEARED, cleared_log=log)

    # ------------------------------------------------------------------ fraud

    def _fraud_summary(self, summary: StoredRecord) -> None:
        code = FRAUD_SUMMARY_CODES.get(EventCode(summary.event_code), EventCode.REFUSAL_FLOOD)
        self._fraud(self._now_ms(), code, summary.fields, summary.sequence, summary.count)

    def _fraud(
        self,
        time_utc_ms: int,
        code: EventCode,
        fields: Mapping[str, FieldValue],
        security_event: int,
        failures: int,
    ) -> None:
        """One fraud record: where the attack came from, how many failures it stands for and
        the security log counter of its (last) failure."""
        source = {name: fields.get(name) for name in _FRAUD_FIELDS}
        self._writers[FRAUD].append(
            LogRecord(
                time_utc_ms,
                int(code),
                {
                    **source,
                    "failures": failures,
                    "security_counter": counter_value(security_event),
                },
            )
        )
