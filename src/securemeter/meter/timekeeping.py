"""The meter's notion of time: UTC for the COSEM clock, monotonic seconds for timeouts.

The meter keeps UTC as the host's UTC plus an offset that a clock SET changes (persisted in
the store). A test clock replaces the host's time entirely; it moves only when a test says so
and drives both the COSEM clock and the monotonic time used for timeouts and lockouts.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from securemeter.storage.base import StateStore

CLOCK_OFFSET_KEY = "clock.offset_us"
TEST_CLOCK_KEY = "clock.test_utc_us"
_OFFSET = struct.Struct(">q")


class HostTime:
    """The host's clocks."""

    def utc(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class TestClock:
    """A clock that moves only when told to (``set_utc``, ``advance``): for tests only."""

    def __init__(self, start_utc: datetime) -> None:
        self._utc = start_utc
        self._monotonic = 1_000_000.0

    def utc(self) -> datetime:
        return self._utc

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        """Move both clocks forward (a negative value is refused: time does not run back)."""
        if seconds < 0:
            raise ValueError("a test clock advances only forwards; use set_utc to set it back")
        self._utc += timedelta(seconds=seconds)
        self._monotonic += seconds

    def set_utc(self, when: datetime) -> None:
        """Set the wall clock (as a power cut with a dead battery might); monotonic time
        is untouched."""
        self._utc = when.astimezone(UTC)


class MeterTime:
    """UTC of the meter = base UTC + offset; implements the COSEM clock's TimeSource."""

    def __init__(
        self,
        base: HostTime | TestClock,
        state: StateStore,
        *,
        on_set: Callable[[datetime, datetime], None] | None = None,
    ) -> None:
        self._base = base
        self._state = state
        raw = state.get(CLOCK_OFFSET_KEY)
        self._offset = timedelta(microseconds=_OFFSET.unpack(raw)[0]) if raw else timedelta()
        self._on_set = on_set

    @property
    def base(self) -> HostTime | TestClock:
        return self._base

    def now_utc(self) -> datetime:
        return self._base.utc() + self._offset

    def monotonic(self) -> float:
        return self._base.monotonic()

    def set_utc(self, new: datetime) -> None:
        """Set the meter's clock (a COSEM clock SET or adjust): durable before it returns."""
        old = self.now_utc()
        offset = new.astimezone(UTC) - self._base.utc()
        microseconds = offset // timedelta(microseconds=1)
        self._state.put(CLOCK_OFFSET_KEY, _OFFSET.pack(microseconds), durable=True)
        self._offset = timedelta(microseconds=microseconds)
        if self._on_set is not None:
            self._on_set(old, self.now_utc())
