"""Profile buffers kept in the store: an in-memory window over a durable log.

Each captured row is appended to a store log (committed before the capture returns) and to
an in-memory ring used to answer selective reads quickly. The columns are stored as their
A-XDR encoding, so any profile's rows come back exactly as they were captured.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import islice

from securemeter.codec.axdr import Structure, decode_exact
from securemeter.cosem.profile_generic import Row
from securemeter.storage.base import LogRecord, LogStore


class StoredProfileBuffer:
    """A ProfileBuffer persisted in ``logs`` under ``name`` with ``capacity`` entries."""

    def __init__(self, logs: LogStore, name: str, capacity: int) -> None:
        self._logs = logs
        self._name = name
        logs.configure(name, capacity)
        self._rows: deque[Row] = deque(maxlen=capacity)
        for record in logs.records(name):
            value = decode_exact(bytes.fromhex(str(record.fields["row"])))
            assert isinstance(value, Structure)
            captured = datetime.fromtimestamp(record.time_utc_ms / 1000, UTC)
            self._rows.append(Row(captured, value.items))

    @property
    def capacity(self) -> int:
        assert self._rows.maxlen is not None
        return self._rows.maxlen

    def __len__(self) -> int:
        return len(self._rows)

    def last_capture(self) -> datetime | None:
        return self._rows[-1].captured_at if self._rows else None

    def select_entries(self, first: int, last: int) -> Iterable[Row]:
        return list(islice(self._rows, first - 1, last))

    def select_range(self, start: datetime, end: datetime) -> Iterable[Row]:
        return [row for row in self._rows if start <= row.captured_at <= end]

    def append(self, row: Row) -> None:
        self.extend((row,))

    def extend(self, rows: Iterable[Row]) -> None:
        for row in rows:
            encoded = Structure(row.values).to_bytes().hex()
            millis = int(row.captured_at.timestamp() * 1000)
            self._logs.append(self._name, LogRecord(millis, 0, {"row": encoded}))
            self._rows.append(row)

    def clear(self) -> None:
        self._logs.clear(self._name)
        self._rows.clear()
