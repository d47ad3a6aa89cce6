"""Profile generic, interface class 7 version 1: load profiles and event logs.

The rows live behind the :class:`ProfileBuffer` Protocol so that a storage-backed buffer can
answer an entry or a time-range query without materialising the whole log. Each :class:`Row`
carries its capture instant in UTC (the range key) and its column values as captured.
The buffer only stores (``append``, ``clear``); the capture method reads a new row through the
injected ``capture_row`` callable, since reading the capture objects is the meter's job.

Rules:

* The first capture object of every profile is the Clock 0.0.1.0.0.255 attribute 2, and it
  is the only restricting object a range_descriptor (selector 1) may name.
* Range bounds are date-times, inclusive at both ends; an unspecified deviation means meter
  local time (``local_deviation_at`` comes from the Clock, see ``clock.local_to_utc``).
  Rows are matched by their UTC capture instant, not by the octets in the clock column.
* Rows with equal capture instants (after the clock was set back) are all kept; every
  selection returns rows in storage (capture) order, oldest first.
* entry_descriptor (selector 2): entries are numbered from 1 = oldest; to_entry 0 means the
  newest, from_entry 0 is read as 1; an entry range past the end is clipped (possibly to
  nothing). Columns are numbered from 1; to_selected_value 0 means the last column.
* range selected_values lists capture objects; the columns are returned in the order asked.
* Only FIFO sorting is implemented: sort_method 1, sort_object the empty definition.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from itertools import islice
from typing import Final, Protocol

from securemeter.codec.axdr import (
    Array,
    Data,
    DoubleLongUnsigned,
    Enum,
    Integer,
    LongUnsigned,
    OctetString,
    Structure,
)
from securemeter.codec.obis import Obis
from securemeter.cosem.base import (
    AccessSelection,
    AttributeDef,
    ChangeKind,
    ChangeObserver,
    CosemObject,
    MethodDef,
    ObjectError,
    ObjectResult,
    expect,
    expect_integer,
    expect_no_parameter,
    expect_octet_string,
    expect_structure,
)
from securemeter.cosem.clock import (
    CLOCK_LOGICAL_NAME,
    LocalDeviation,
    date_time_from_data,
    utc_from_date_time,
)

RANGE_DESCRIPTOR: Final = 1
ENTRY_DESCRIPTOR: Final = 2


class SortMethod(IntEnum):
    FIFO = 1
    LIFO = 2
    LARGEST = 3
    SMALLEST = 4
    NEAREST_TO_ZERO = 5
    FARTHEST_FROM_ZERO = 6


@dataclass(frozen=True, slots=True)
class CaptureObject:
    """A capture_object_definition: which attribute (or element of it) fills a column."""

    class_id: int
    logical_name: Obis
    attribute_index: int
    data_index: int = 0

    def to_data(self) -> Structure:
        return Structure(
            (
                LongUnsigned(self.class_id),
                OctetString(self.logical_name.to_bytes()),
                Integer(self.attribute_index),
                LongUnsigned(self.data_index),
            )
        )

    @classmethod
    def from_data(cls, value: Data) -> CaptureObject:
        """Parse a capture_object_definition; TYPE_UNMATCHED if it is not one."""
        class_id, logical_name, attribute_index, data_index = expect_structure(
            value, 4, "capture object definition"
        )
        return cls(
            expect_integer(class_id, LongUnsigned, "class_id"),
            Obis.from_bytes(expect_octet_string(logical_name, "logical_name", size=6)),
            expect_integer(attribute_index, Integer, "attribute_index"),
            expect_integer(data_index, LongUnsigned, "data_index"),
        )


CLOCK_CAPTURE: Final = CaptureObject(8, CLOCK_LOGICAL_NAME, 2, 0)
_NO_SORT_OBJECT: Final = CaptureObject(0, Obis(0, 0, 0, 0, 0, 0), 0, 0)


@dataclass(frozen=True, slots=True)
class Row:
    """One buffer entry: when it was captured (aware UTC) and its column values."""

    captured_at: datetime
    values: tuple[Data, ...]

    def __post_init__(self) -> None:
        if self.captured_at.tzinfo is None:
            raise ValueError("a row's capture instant must be timezone-aware (UTC)")


class ProfileBuffer(Protocol):
    """Where a profile's rows live; entries are numbered from 1 = oldest."""

    @property
    def capacity(self) -> int:
        """profile_entries: the most rows kept; appending beyond it drops the oldest."""
        ...

    def __len__(self) -> int: ...

    def select_entries(self, first: int, last: int) -> Iterable[Row]:
        """Rows ``first`` to ``last`` inclusive, oldest first (1 <= first <= last <= len)."""
        ...

    def select_range(self, start: datetime, end: datetime) -> Iterable[Row]:
        """Rows captured at ``start`` <= instant <= ``end`` (aware UTC), in storage order."""
        ...

    def append(self, row: Row) -> None: ...

    def clear(self) -> None: ...


class ListProfileBuffer:
    """An in-memory ProfileBuffer for tests and small profiles (linear range scan)."""

    def __init__(self, capacity: int, rows: Iterable[Row] = ()) -> None:
        if capacity < 1:
            raise ValueError("a profile holds at least one entry")
        self._rows: deque[Row] = deque(rows, maxlen=capacity)

    @property
    def capacity(self) -> int:
        assert self._rows.maxlen is not None  # always built with one
        return self._rows.maxlen

    def __len__(self) -> int:
        return len(self._rows)

    def select_entries(self, first: int, last: int) -> Iterable[Row]:
        return list(islice(self._rows, first - 1, last))

    def select_range(self, start: datetime, end: datetime) -> Iterable[Row]:
        return [row for row in self._rows if start <= row.captured_at <= end]

    def append(self, row: Row) -> None:
        self._rows.append(row)

    def clear(self) -> None:
        self._rows.clear()


class ProfileGeneric(CosemObject):
    CLASS_ID = 7
    VERSION = 1
    ATTRIBUTES = (
        AttributeDef(1, "logical_name"),
        AttributeDef(2, "buffer", selectors=(RANGE_DESCRIPTOR, ENTRY_DESCRIPTOR)),
        AttributeDef(3, "capture_objects"),
        AttributeDef(4, "capture_period"),
        AttributeDef(5, "sort_method"),
        AttributeDef(6, "sort_object"),
        AttributeDef(7, "entries_in_use"),
        AttributeDef(8, "profile_entries"),
    )
    METHODS = (MethodDef(1, "reset"), MethodDef(2, "capture"))

    def __init__(
        self,
        logical_name: Obis,
        *,
        capture_objects: Sequence[CaptureObject],
        buffer: ProfileBuffer,
        local_deviation_at: LocalDeviation,
        capture_period: int = 0,
        capture_row: Callable[[], Row] | None = None,
        on_change: ChangeObserver | None = None,
    ) -> None:
        """``capture_row`` reads the capture objects now (the meter does it); without it the
        capture method is refused. ``capture_period`` is in seconds, 0 = event driven.
        """
        super().__init__(logical_name, on_change=on_change)
        if not capture_objects or capture_objects[0] != CLOCK_CAPTURE:
            raise ValueError(
                "the first capture object must be the Clock time (8, 0.0.1.0.0.255, 2)"
            )
        self.capture_objects = tuple(capture_objects)
        self._capture_objects_data = Array(tuple(item.to_data() for item in capture_objects))
        self._buffer = buffer
        self._local_deviation_at = local_deviation_at
        self._capture_period = DoubleLongUnsigned(capture_period)
        self._capture_row = capture_row

    @property
    def buffer(self) -> ProfileBuffer:
        return self._buffer

    @property
    def capture_period(self) -> int:
        return self._capture_period.value

    # -- behaviour the meter calls directly as well

    def capture(self) -> Row:
        """Read one row through ``capture_row`` and append it.

        A row whose width differs from the capture objects is a meter bug: ValueError.
        """
        if self._capture_row is None:
            raise ObjectError(ObjectResult.READ_WRITE_DENIED, f"{self}: capture is not offered")
        row = self._capture_row()
        if len(row.values) != len(self.capture_objects):
            raise ValueError(
                f"{self}: captured {len(row.values)} values for "
                f"{len(self.capture_objects)} capture objects"
            )
        self._buffer.append(row)
        return row

    def reset(self) -> None:
        self._buffer.clear()
        self._notify(ChangeKind.PROFILE_RESET, method_index=1, method="reset")

    # -- attributes

    def _get_buffer(self) -> Data:
        count = len(self._buffer)
        rows = self._buffer.select_entries(1, count) if count else ()
        return Array(tuple(Structure(row.values) for row in rows))

    def _select_buffer(self, selection: AccessSelection) -> Data:
        if selection.selector == RANGE_DESCRIPTOR:
            rows, columns = self._by_range(selection.parameters)
        else:
            rows, columns = self._by_entry(selection.parameters)
        if columns is None:
            return Array(tuple(Structure(row.values) for row in rows))
        return Array(
            tuple(Structure(tuple(row.values[column] for column in columns)) for row in rows)
        )

    def _get_capture_objects(self) -> Data:
        return self._capture_objects_data

    def _get_capture_period(self) -> Data:
        return self._capture_period

    def _set_capture_period(self, value: Data) -> None:
        self._capture_period = expect(value, DoubleLongUnsigned, "capture_period")
        self._notify(
            ChangeKind.CONFIGURATION_CHANGED,
            attribute_index=4,
            attribute="capture_period",
            value=self._capture_period.value,
        )

    def _get_sort_method(self) -> Data:
        return Enum(SortMethod.FIFO)

    def _get_sort_object(self) -> Data:
        return _NO_SORT_OBJECT.to_data()

    def _get_entries_in_use(self) -> Data:
        return DoubleLongUnsigned(len(self._buffer))

    def _get_profile_entries(self) -> Data:
        return DoubleLongUnsigned(self._buffer.capacity)

    # -- methods

    def _invoke_reset(self, parameter: Data) -> Data | None:
        expect_no_parameter(parameter, "reset")
        self.reset()
        return None

    def _invoke_capture(self, parameter: Data) -> Data | None:
        expect_no_parameter(parameter, "capture")
        self.capture()
        return None

    # -- selective access

    def _by_range(self, parameters: Data) -> tuple[Iterable[Row], list[int] | None]:
        restricting, from_value, to_value, selected = expect_structure(
            parameters, 4, "range_descriptor"
        )
        if CaptureObject.from_data(restricting) != CLOCK_CAPTURE:
            raise ObjectError(
                ObjectResult.SCOPE_OF_ACCESS_VIOLATED,
                f"{self}: a range can only restrict the Clock time column",
            )
        start = self._range_bound(from_value, "from_value")
        end = self._range_bound(to_value, "to_value")
        columns = self._columns_named(expect(selected, Array, "selected_values").items)
        if start > end:
            return (), columns
        return self._buffer.select_range(start, end), columns

    def _range_bound(self, value: Data, what: str) -> datetime:
        date_time = date_time_from_data(value, what)
        try:
            return utc_from_date_time(date_time, self._local_deviation_at)
        except ValueError as exc:
            raise ObjectError(
                ObjectResult.TYPE_UNMATCHED, f"{what} does not designate one instant: {exc}"
            ) from exc

    def _columns_named(self, selected: Sequence[Data]) -> list[int] | None:
        if not selected:
            return None  # all columns
        columns = []
        for item in selected:
            wanted = CaptureObject.from_data(item)
            try:
                columns.append(self.capture_objects.index(wanted))
            except ValueError:
                raise ObjectError(
                    ObjectResult.SCOPE_OF_ACCESS_VIOLATED,
                    f"{self}: {wanted} is not a capture object",
                ) from None
        return columns

    def _by_entry(self, parameters: Data) -> tuple[Iterable[Row], list[int] | None]:
        from_entry, to_entry, from_value, to_value = expect_structure(
            parameters, 4, "entry_descriptor"
        )
        first = max(1, expect_integer(from_entry, DoubleLongUnsigned, "from_entry"))
        last = expect_integer(to_entry, DoubleLongUnsigned, "to_entry")
        first_column = max(1, expect_integer(from_value, LongUnsigned, "from_selected_value"))
        last_column = expect_integer(to_value, LongUnsigned, "to_selected_value")
        column_count = len(self.capture_objects)
        if last_column == 0:
            last_column = column_count
        if not first_column <= last_column <= column_count:
            raise ObjectError(
                ObjectResult.SCOPE_OF_ACCESS_VIOLATED,
                f"{self}: columns {first_column}..{last_column} of {column_count} not offered",
            )
        columns = (
            None
            if (first_column, last_column) == (1, column_count)
            else list(range(first_column - 1, last_column))
        )
        count = len(self._buffer)
        last = count if last == 0 else min(last, count)
        if first > last:
            return (), columns
        return self._buffer.select_entries(first, last), columns
