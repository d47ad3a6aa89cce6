"""Persistence for the meter behind Protocols, with a written durability contract.

The only package that touches files for meter state. See docs/DURABILITY.md and
:mod:`securemeter.storage.base` for what each call guarantees.
"""

from securemeter.storage.base import (
    FIRST_OUTGOING_COUNTER,
    INVOCATION_COUNTER_LIMIT,
    CounterStore,
    KeyStore,
    LogRecord,
    LogStore,
    MeterStore,
    Sealer,
    Slots,
    StateStore,
    StoredRecord,
    TransferInfo,
    TransferStore,
)
from securemeter.storage.memory import MemoryStore
from securemeter.storage.sealing import AesGcmSealer, PlainSealer
from securemeter.storage.sqlite import SqliteMeterStore, open_store, open_store_readonly

__all__ = [
    "FIRST_OUTGOING_COUNTER",
    "INVOCATION_COUNTER_LIMIT",
    "AesGcmSealer",
    "CounterStore",
    "KeyStore",
    "LogRecord",
    "LogStore",
    "MemoryStore",
    "MeterStore",
    "PlainSealer",
    "Sealer",
    "Slots",
    "SqliteMeterStore",
    "StateStore",
    "StoredRecord",
    "TransferInfo",
    "TransferStore",
    "open_store",
    "open_store_readonly",
]
