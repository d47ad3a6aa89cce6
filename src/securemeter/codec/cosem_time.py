"""COSEM date, time and date-time (Blue Book 4.1.6.1) and their conversions to ``datetime``.

A date-time is 12 octets: year (2), month, day_of_month, day_of_week, hour, minute, second,
hundredths, deviation (2, signed) and clock_status. Every field has a "not specified" value
(0xFF, 0xFFFF for the year, 0x8000 for the deviation, 0xFF for the clock status) that this
module represents as ``None``; patterns such as the Clock's daylight_savings_begin are
date-times with some fields unspecified.

The deviation follows the Blue Book: minutes of UTC minus local time, so CET (UTC+1) is -60
and CEST (UTC+2) is -120. ``datetime.utcoffset()`` has the opposite sign.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import IntFlag
from typing import Final

from securemeter.codec.axdr import Data, OctetString
from securemeter.codec.axdr import Date as DateData
from securemeter.codec.axdr import DateTime as DateTimeData
from securemeter.codec.axdr import Time as TimeData
from securemeter.errors import DecodeError, EncodeError

NOT_SPECIFIED: Final = 0xFF  # one-octet fields, clock status included
YEAR_NOT_SPECIFIED: Final = 0xFFFF
DEVIATION_NOT_SPECIFIED: Final = -0x8000  # 0x8000 read as a signed 16-bit integer

# Special month values: the Clock's own daylight-saving switch months.
DAYLIGHT_SAVINGS_END: Final = 0xFD
DAYLIGHT_SAVINGS_BEGIN: Final = 0xFE
# Special day_of_month values.
SECOND_LAST_DAY: Final = 0xFD
LAST_DAY: Final = 0xFE

# The Blue Book says -720..+720, but zones at UTC+13/+14 exist (deviation -780/-840); accept them.
MAX_DEVIATION: Final = 840

DATE_TIME_SIZE: Final = 12
DATE_SIZE: Final = 5
TIME_SIZE: Final = 4


class ClockStatus(IntFlag):
    """The clock_status octet. Bits 4..6 are reserved; they are kept as received."""

    INVALID_VALUE = 0x01
    DOUBTFUL_VALUE = 0x02
    DIFFERENT_CLOCK_BASE = 0x04
    INVALID_CLOCK_STATUS = 0x08
    DAYLIGHT_SAVING_ACTIVE = 0x80


_CLOCK_OK: Final = ClockStatus(0)


# ----------------------------------------------------------------------------- field checks


def _check_range(name: str, value: int | None, low: int, high: int, *extra: int) -> None:
    if value is None:
        return
    if not (low <= value <= high or value in extra):
        raise EncodeError(f"{name} out of range: {value}")


def _days_in_month(year: int | None, month: int) -> int:
    # An unspecified year may be a leap year: allow 29 February.
    return calendar.monthrange(2000 if year is None else year, month)[1]


def _check_date_fields(
    year: int | None, month: int | None, day_of_month: int | None, day_of_week: int | None
) -> None:
    _check_range("year", year, 0, YEAR_NOT_SPECIFIED - 1)
    _check_range("month", month, 1, 12, DAYLIGHT_SAVINGS_END, DAYLIGHT_SAVINGS_BEGIN)
    _check_range("day_of_month", day_of_month, 1, 31, SECOND_LAST_DAY, LAST_DAY)
    _check_range("day_of_week", day_of_week, 1, 7)
    if (
        month is not None
        and 1 <= month <= 12
        and day_of_month is not None
        and day_of_month <= 31
        and day_of_month > _days_in_month(year, month)
    ):
        raise EncodeError(f"day_of_month {day_of_month} does not exist in month {month}")


def _check_time_fields(
    hour: int | None, minute: int | None, second: int | None, hundredths: int | None
) -> None:
    _check_range("hour", hour, 0, 23)
    _check_range("minute", minute, 0, 59)
    _check_range("second", second, 0, 59)
    _check_range("hundredths", hundredths, 0, 99)


def _octet(value: int | None) -> int:
    return NOT_SPECIFIED if value is None else value


def _field(octet: int) -> int | None:
    return None if octet == NOT_SPECIFIED else octet


def _year_octets(year: int | None) -> bytes:
    return (YEAR_NOT_SPECIFIED if year is None else year).to_bytes(2, "big")


def _year_field(raw: bytes) -> int | None:
    year = int.from_bytes(raw[0:2], "big")
    return None if year == YEAR_NOT_SPECIFIED else year


def _is_concrete_date(month: int | None, day_of_month: int | None) -> bool:
    return month is not None and month <= 12 and day_of_month is not None and day_of_month <= 31


def _exact_size(raw: bytes, size: int, what: str) -> bytes:
    if len(raw) != size:
        raise DecodeError(f"a COSEM {what} is {size} octets, got {len(raw)}")
    return bytes(raw)


# ----------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True, kw_only=True)
class CosemDate:
    """A date of 5 octets; ``None`` in a field means "not specified" (a wildcard)."""

    year: int | None = None
    month: int | None = None
    day_of_month: int | None = None
    day_of_week: int | None = None

    def __post_init__(self) -> None:
        _check_date_fields(self.year, self.month, self.day_of_month, self.day_of_week)

    @classmethod
    def from_bytes(cls, raw: bytes) -> CosemDate:
        raw = _exact_size(raw, DATE_SIZE, "date")
        try:
            return cls(
                year=_year_field(raw),
                month=_field(raw[2]),
                day_of_month=_field(raw[3]),
                day_of_week=_field(raw[4]),
            )
        except EncodeError as exc:
            raise DecodeError(f"invalid COSEM date {raw.hex()}: {exc}") from exc

    def to_bytes(self) -> bytes:
        return _year_octets(self.year) + bytes(
            (_octet(self.month), _octet(self.day_of_month), _octet(self.day_of_week))
        )

    @classmethod
    def from_date(cls, value: date) -> CosemDate:
        return cls(
            year=value.year,
            month=value.month,
            day_of_month=value.day,
            day_of_week=value.isoweekday(),
        )

    def to_date(self) -> date:
        """The calendar date; ValueError if year, month or day is a wildcard or special value."""
        year, month, day = self.year, self.month, self.day_of_month
        if year is None or month is None or day is None or month > 12 or day > 31:
            raise ValueError(f"{self} does not designate one date")
        return date(year, month, day)

    @property
    def is_fully_specified(self) -> bool:
        return (
            self.year is not None
            and self.day_of_week is not None
            and _is_concrete_date(self.month, self.day_of_month)
        )

    def to_octet_string(self) -> OctetString:
        return OctetString(self.to_bytes())

    @classmethod
    def from_data(cls, data: Data) -> CosemDate:
        """Accept an octet-string(5) or a tagged date."""
        if isinstance(data, OctetString | DateData):
            return cls.from_bytes(data.value)
        raise DecodeError(f"expected octet-string(5) or date, got {type(data).__name__}")


@dataclass(frozen=True, slots=True, kw_only=True)
class CosemTime:
    """A time of 4 octets; ``None`` in a field means "not specified" (a wildcard)."""

    hour: int | None = None
    minute: int | None = None
    second: int | None = None
    hundredths: int | None = None

    def __post_init__(self) -> None:
        _check_time_fields(self.hour, self.minute, self.second, self.hundredths)

    @classmethod
    def from_bytes(cls, raw: bytes) -> CosemTime:
        raw = _exact_size(raw, TIME_SIZE, "time")
        try:
            return cls(
                hour=_field(raw[0]),
                minute=_field(raw[1]),
                second=_field(raw[2]),
                hundredths=_field(raw[3]),
            )
        except EncodeError as exc:
            raise DecodeError(f"invalid COSEM time {raw.hex()}: {exc}") from exc

    def to_bytes(self) -> bytes:
        return bytes(
            (_octet(self.hour), _octet(self.minute), _octet(self.second), _octet(self.hundredths))
        )

    @classmethod
    def from_time(cls, value: time) -> CosemTime:
        return cls(
            hour=value.hour,
            minute=value.minute,
            second=value.second,
            hundredths=value.microsecond // 10_000,
        )

    def to_time(self) -> time:
        """The time of day; ValueError if hour, minute or second is unspecified.

        Unspecified hundredths count as 0: many meters never fill them in.
        """
        if self.hour is None or self.minute is None or self.second is None:
            raise ValueError(f"{self} does not designate one time of day")
        return time(self.hour, self.minute, self.second, (self.hundredths or 0) * 10_000)

    @property
    def is_fully_specified(self) -> bool:
        return None not in (self.hour, self.minute, self.second, self.hundredths)

    def to_octet_string(self) -> OctetString:
        return OctetString(self.to_bytes())

    @classmethod
    def from_data(cls, data: Data) -> CosemTime:
        """Accept an octet-string(4) or a tagged time."""
        if isinstance(data, OctetString | TimeData):
            return cls.from_bytes(data.value)
        raise DecodeError(f"expected octet-string(4) or time, got {type(data).__name__}")


@dataclass(frozen=True, slots=True, kw_only=True)
class CosemDateTime:
    """A date-time of 12 octets; ``None`` in a field means "not specified" (a wildcard).

    ``deviation`` is UTC minus local time in minutes (CET = -60). ``month`` may hold
    DAYLIGHT_SAVINGS_END/BEGIN and ``day_of_month`` SECOND_LAST_DAY/LAST_DAY in patterns.
    """

    year: int | None = None
    month: int | None = None
    day_of_month: int | None = None
    day_of_week: int | None = None
    hour: int | None = None
    minute: int | None = None
    second: int | None = None
    hundredths: int | None = None
    deviation: int | None = None
    clock_status: ClockStatus | None = None

    def __post_init__(self) -> None:
        _check_date_fields(self.year, self.month, self.day_of_month, self.day_of_week)
        _check_time_fields(self.hour, self.minute, self.second, self.hundredths)
        _check_range("deviation", self.deviation, -MAX_DEVIATION, MAX_DEVIATION)
        if self.clock_status is not None and not 0 <= self.clock_status < NOT_SPECIFIED:
            raise EncodeError(f"clock_status out of range: {self.clock_status}")

    # -- bytes

    @classmethod
    def from_bytes(cls, raw: bytes) -> CosemDateTime:
        """Parse exactly 12 octets; out-of-range fields raise DecodeError."""
        raw = _exact_size(raw, DATE_TIME_SIZE, "date-time")
        deviation = int.from_bytes(raw[9:11], "big", signed=True)
        try:
            return cls(
                year=_year_field(raw),
                month=_field(raw[2]),
                day_of_month=_field(raw[3]),
                day_of_week=_field(raw[4]),
                hour=_field(raw[5]),
                minute=_field(raw[6]),
                second=_field(raw[7]),
                hundredths=_field(raw[8]),
                deviation=None if deviation == DEVIATION_NOT_SPECIFIED else deviation,
                clock_status=None if raw[11] == NOT_SPECIFIED else ClockStatus(raw[11]),
            )
        except EncodeError as exc:
            raise DecodeError(f"invalid COSEM date-time {raw.hex()}: {exc}") from exc

    def to_bytes(self) -> bytes:
        deviation = DEVIATION_NOT_SPECIFIED if self.deviation is None else self.deviation
        return (
            self.date.to_bytes()
            + self.time.to_bytes()
            + deviation.to_bytes(2, "big", signed=True)
            + bytes((_octet(self.clock_status),))
        )

    # -- A-XDR wrapping

    def to_octet_string(self) -> OctetString:
        """COSEM clocks and profiles carry a date-time as an octet-string(12)."""
        return OctetString(self.to_bytes())

    @classmethod
    def from_data(cls, data: Data) -> CosemDateTime:
        """Accept an octet-string(12) or a tagged date-time."""
        if isinstance(data, OctetString | DateTimeData):
            return cls.from_bytes(data.value)
        raise DecodeError(f"expected octet-string(12) or date-time, got {type(data).__name__}")

    # -- parts

    @property
    def date(self) -> CosemDate:
        return CosemDate(
            year=self.year,
            month=self.month,
            day_of_month=self.day_of_month,
            day_of_week=self.day_of_week,
        )

    @property
    def time(self) -> CosemTime:
        return CosemTime(
            hour=self.hour, minute=self.minute, second=self.second, hundredths=self.hundredths
        )

    @property
    def is_fully_specified(self) -> bool:
        """Every field, deviation and clock status included, holds a concrete value."""
        return (
            self.date.is_fully_specified
            and self.time.is_fully_specified
            and self.deviation is not None
            and self.clock_status is not None
        )

    # -- datetime conversions

    @classmethod
    def from_datetime(
        cls, value: datetime, *, clock_status: ClockStatus | None = _CLOCK_OK
    ) -> CosemDateTime:
        """From an aware datetime: local fields as given, deviation = -utcoffset.

        The clock status is taken as given (the DST bit is not derived from ``value``).
        Sub-hundredth precision is truncated.
        """
        offset = value.utcoffset()
        if offset is None:
            raise ValueError("a COSEM date-time needs a timezone-aware datetime")
        if offset % timedelta(minutes=1):
            raise ValueError(f"UTC offset {offset} is not a whole number of minutes")
        return cls(
            year=value.year,
            month=value.month,
            day_of_month=value.day,
            day_of_week=value.isoweekday(),
            hour=value.hour,
            minute=value.minute,
            second=value.second,
            hundredths=value.microsecond // 10_000,
            deviation=-(offset // timedelta(minutes=1)),
            clock_status=clock_status,
        )

    def to_datetime(self, *, deviation_if_unspecified: int | None = None) -> datetime:
        """The instant as an aware UTC datetime.

        Year, month, day, hour, minute and second must be concrete; unspecified hundredths
        count as 0 and day_of_week is not checked. A meter passes its own local deviation as
        ``deviation_if_unspecified``: a time with an unspecified deviation is local time.
        """
        deviation = self.deviation
        if deviation is None:
            if deviation_if_unspecified is None:
                raise ValueError("deviation not specified and no default given")
            _check_range("deviation", deviation_if_unspecified, -MAX_DEVIATION, MAX_DEVIATION)
            deviation = deviation_if_unspecified
        local = datetime.combine(self.date.to_date(), self.time.to_time())
        try:
            return (local + timedelta(minutes=deviation)).replace(tzinfo=UTC)
        except OverflowError as exc:
            raise ValueError(f"{self} is outside the datetime range in UTC") from exc


# ----------------------------------------------------------------------------- patterns


def _pattern_days(pattern: CosemDateTime, year: int, month: int) -> list[int]:
    """Days of ``month`` the pattern's day_of_month/day_of_week designate, ascending."""
    days_in_month = calendar.monthrange(year, month)[1]
    weekday = pattern.day_of_week
    if pattern.day_of_month in (LAST_DAY, SECOND_LAST_DAY):
        anchor = days_in_month if pattern.day_of_month == LAST_DAY else days_in_month - 1
        if weekday is None:
            return [anchor]
        # The last such weekday on or before the anchor day (e.g. last Sunday of March).
        back = (date(year, month, anchor).isoweekday() - weekday) % 7
        return [anchor - back]
    if pattern.day_of_month is None:
        candidates = range(1, days_in_month + 1)
    elif pattern.day_of_month <= days_in_month:
        candidates = range(pattern.day_of_month, pattern.day_of_month + 1)
    else:
        return []
    # A concrete day together with a weekday must satisfy both.
    return [
        day
        for day in candidates
        if weekday is None or date(year, month, day).isoweekday() == weekday
    ]


def _check_pattern_month(pattern: CosemDateTime) -> None:
    if pattern.month in (DAYLIGHT_SAVINGS_BEGIN, DAYLIGHT_SAVINGS_END):
        raise ValueError("month daylight_savings_begin/end needs the clock's switch dates")


def matches(pattern: CosemDateTime, when: datetime) -> bool:
    """Whether the local wall-clock fields of ``when`` fall on the recurring ``pattern``.

    Unspecified pattern fields match anything; deviation and clock status are not compared.
    A day_of_month of LAST_DAY/SECOND_LAST_DAY with a day_of_week means the last such weekday
    on or before that day. ValueError for the daylight-savings month values.
    """
    _check_pattern_month(pattern)
    if pattern.year is not None and pattern.year != when.year:
        return False
    if pattern.month is not None and pattern.month != when.month:
        return False
    if when.day not in _pattern_days(pattern, when.year, when.month):
        return False
    wall_clock = (when.hour, when.minute, when.second, when.microsecond // 10_000)
    fields = (pattern.hour, pattern.minute, pattern.second, pattern.hundredths)
    return all(want is None or want == have for want, have in zip(fields, wall_clock, strict=True))


def resolve_in_year(pattern: CosemDateTime, year: int) -> datetime:
    """The first local (naive) date-time in ``year`` that ``pattern`` designates.

    Unspecified time fields take their lowest value. For the EU summer-time rule (month 3,
    LAST_DAY, day_of_week 7, 02:00) this is the last Sunday of March at 02:00. ValueError if
    the pattern designates nothing in that year or uses the daylight-savings month values.
    """
    _check_pattern_month(pattern)
    if not 1 <= year <= 9999:
        raise ValueError(f"year out of range: {year}")
    if pattern.year is not None and pattern.year != year:
        raise ValueError(f"{pattern} is fixed to year {pattern.year}, not {year}")
    months = range(1, 13) if pattern.month is None else range(pattern.month, pattern.month + 1)
    for month in months:
        days = _pattern_days(pattern, year, month)
        if days:
            return datetime(
                year,
                month,
                days[0],
                pattern.hour or 0,
                pattern.minute or 0,
                pattern.second or 0,
                (pattern.hundredths or 0) * 10_000,
            )
    raise ValueError(f"{pattern} designates no day in {year}")
