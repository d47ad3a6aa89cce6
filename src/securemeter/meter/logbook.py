"""Event records any component can write: one place that turns what happened into store
log records (committed before the answer reporting them leaves; docs/DURABILITY.md).

Logs and codes (docs/LOGS.md): ``standard`` (power, clock, configuration), ``security``
(refusals, failures), ``communication`` (every association attempt). The traceability work
turns these into Profile generic objects with 32-bit counters; the records are already
complete here: time, interface, remote address, client SAP, user, mechanism, outcome, reason.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum

from securemeter.storage.base import FieldValue, LogRecord, LogStore

STANDARD = "standard"
SECURITY = "security"
COMMUNICATION = "communication"
DEFAULT_DEPTHS = {STANDARD: 1000, SECURITY: 1000, COMMUNICATION: 1000}


class EventCode(IntEnum):
    POWER_DOWN = 1
    POWER_UP = 2
    CLOCK_ADJUSTED_OLD = 4
    CLOCK_ADJUSTED_NEW = 5
    CONFIGURATION_CHANGED = 47
    REGISTERS_RESET = 12
    ASSOCIATION_AUTHENTICATION_FAILURE = 46
    GLOBAL_KEYS_CHANGED = 48
    DECRYPTION_OR_AUTHENTICATION_FAILURE = 49
    REPLAY_ATTACK = 50
    # Manufacturer-specific (documented in docs/LOGS.md).
    ASSOCIATION_ACCEPTED = 200
    ASSOCIATION_REFUSED = 201
    ASSOCIATION_RELEASED = 202
    REQUEST_REFUSED = 203
    SET_EXECUTED = 204
    ACTION_EXECUTED = 205
    CONNECTION_REFUSED = 206
    POWER_UP_AFTER_UNCLEAN_STOP = 207


class Logbook:
    def __init__(self, logs: LogStore, now_ms: Callable[[], int]) -> None:
        self._logs = logs
        self._now_ms = now_ms
        for name, depth in DEFAULT_DEPTHS.items():
            logs.configure(name, depth)

    def record(self, log: str, code: EventCode, **fields: FieldValue) -> int:
        """Append one record; returns its sequence number. Committed when it returns."""
        return self._logs.append(log, LogRecord(self._now_ms(), int(code), fields))
