"""Clock, interface class 8 version 0, over a meter that keeps UTC.

The meter's time base is an injected :class:`TimeSource` holding UTC. Local time is derived
only from the Clock's own attributes, never from the host's zone:

* time_zone (3) is the deviation of local standard time, in minutes of UTC minus local
  (CET = -60), the sign convention of the date-time deviation field;
* daylight_savings_begin (5) and daylight_savings_end (6) are date-time patterns (wildcards
  allowed, e.g. "last Sunday of March, 02:00"); the begin pattern is read in local standard
  time, the end pattern in local daylight-saving time;
* while daylight saving is active (enabled (8) and between a begin and the next end) the local
  deviation is ``time_zone - daylight_savings_deviation`` (7): CEST = -60 - 60 = -120.

Clock status bits (``codec.cosem_time.ClockStatus``) in time (2) and status (4):

* DAYLIGHT_SAVING_ACTIVE is computed by the Clock from the attributes above;
* INVALID_VALUE, DOUBTFUL_VALUE, DIFFERENT_CLOCK_BASE and INVALID_CLOCK_STATUS come only from
  the injected ``status`` provider (the meter knows whether its RTC lost power); the Clock
  never sets them itself.

A date-time with an unspecified deviation is meter local time. Local times that occur twice
(the hour after daylight saving ends) are resolved by the value's clock status when it is
specified (DAYLIGHT_SAVING_ACTIVE set: the first, summer-time occurrence; clear: the second);
with an unspecified status the first occurrence is taken, like PEP 495 ``fold=0``. Local times
that do not exist (the hour skipped when daylight saving begins) are refused when setting the
time; in profile range bounds they are read with the deviation in force before the switch.

The settings attributes (3, 5-8) are writable: a SET hands the new :class:`ClockSettings` to
``on_settings_changed`` (persistence; it may raise to refuse) before applying it.
"""

from __future__ import annotations

import struct
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Final, Protocol

from securemeter.codec.axdr import Boolean, Data, Enum, Integer, Long, OctetString, Unsigned
from securemeter.codec.cosem_time import (
    LAST_DAY,
    MAX_DEVIATION,
    ClockStatus,
    CosemDateTime,
    resolve_in_year,
)
from securemeter.codec.obis import Obis
from securemeter.cosem.base import (
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
    expect_structure,
)
from securemeter.errors import DecodeError

CLOCK_LOGICAL_NAME: Final = Obis(0, 0, 1, 0, 0, 255)
MAX_SHIFT_SECONDS: Final = 900  # shift_time takes -900..900 s
MAX_DAYLIGHT_SAVINGS_DEVIATION: Final = 120

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_DAY: Final = timedelta(days=1)
_NO_STATUS: Final = ClockStatus(0)

LocalDeviation = Callable[[datetime], int]
"""Maps an aware UTC instant to the meter's local deviation there (UTC - local, minutes)."""


_DATE_TIME = struct.Struct(">HBBBBBBBhB")  # COSEM date-time octets


class TimeSource(Protocol):
    """The meter's UTC time base (an RTC, the host clock with an offset, a test double)."""

    def now_utc(self) -> datetime:
        """The current instant, timezone-aware in UTC."""
        ...

    def set_utc(self, new: datetime) -> None:
        """Move the time base to ``new`` (aware UTC)."""
        ...


class ClockBase(IntEnum):
    NOT_DEFINED = 0
    INTERNAL_CRYSTAL = 1
    MAINS_FREQUENCY_50_HZ = 2
    MAINS_FREQUENCY_60_HZ = 3
    GPS = 4
    RADIO_CONTROLLED = 5


@dataclass(frozen=True, slots=True)
class ClockSettings:
    """The Clock's persistent configuration: attributes 3 and 5 to 8."""

    time_zone: int
    daylight_savings_begin: CosemDateTime
    daylight_savings_end: CosemDateTime
    daylight_savings_deviation: int
    daylight_savings_enabled: bool

    def __post_init__(self) -> None:
        if not -MAX_DEVIATION <= self.time_zone <= MAX_DEVIATION:
            raise ValueError(f"time_zone out of range: {self.time_zone}")
        limit = MAX_DAYLIGHT_SAVINGS_DEVIATION
        if not -limit <= self.daylight_savings_deviation <= limit:
            raise ValueError(
                f"daylight_savings_deviation out of range: {self.daylight_savings_deviation}"
            )
        for pattern in (self.daylight_savings_begin, self.daylight_savings_end):
            _check_switch_pattern(pattern)

    @classmethod
    def european(cls, time_zone: int, *, enabled: bool = True) -> ClockSettings:
        """The EU rule: summer time from the last Sunday of March to the last Sunday of
        October, switching at 01:00 UTC, one hour; ``time_zone`` as attribute 3 (CET = -60).
        """
        begin = 60 - time_zone  # 01:00 UTC in local standard time, minutes after midnight
        end = begin + 60  # the same instant in local summer time
        if begin < 0 or end >= 24 * 60:
            raise ValueError(f"the EU switch instant is not on the same day in zone {time_zone}")
        return cls(
            time_zone=time_zone,
            daylight_savings_begin=_last_sunday(3, begin),
            daylight_savings_end=_last_sunday(10, end),
            daylight_savings_deviation=60,
            daylight_savings_enabled=enabled,
        )


def _last_sunday(month: int, minutes: int) -> CosemDateTime:
    return CosemDateTime(
        month=month,
        day_of_month=LAST_DAY,
        day_of_week=7,
        hour=minutes // 60,
        minute=minutes % 60,
        second=0,
        hundredths=0,
    )


def _check_switch_pattern(pattern: CosemDateTime) -> None:
    # A switch must name one month: a wildcard month would switch every month, and the
    # daylight-savings month values would refer to the switch itself.
    if pattern.month is None or not 1 <= pattern.month <= 12:
        raise ValueError(f"a daylight-savings switch needs a concrete month: {pattern}")


# ----------------------------------------------------------------------------- local time


def _naive_utc(utc: datetime) -> datetime:
    """``utc`` as a naive UTC datetime; a naive input is refused, never read as host time."""
    if utc.tzinfo is UTC:
        return utc.replace(tzinfo=None)
    if utc.tzinfo is None or utc.utcoffset() is None:
        raise ValueError("an instant must be a timezone-aware datetime")
    return utc.astimezone(UTC).replace(tzinfo=None)


def local_to_utc(
    local: datetime,
    local_deviation_at: LocalDeviation,
    *,
    daylight_saving_active: bool | None = None,
) -> datetime:
    """The UTC instant of a naive local wall-clock time, given the meter's deviation rule.

    Twice-occurring local times: ``daylight_saving_active`` True (or None) picks the first
    occurrence, False the second. Non-existent local times use the deviation in force before
    the switch. Assumes at most one switch within a day of ``local``. ValueError at the ends
    of the datetime range.
    """
    if local.tzinfo is not None:
        raise ValueError("local_to_utc takes a naive local wall-clock time")
    wall = local.replace(tzinfo=UTC)
    try:
        before = local_deviation_at(wall - _ONE_DAY)
        after = local_deviation_at(wall + _ONE_DAY)
        candidates = sorted(
            {
                wall + timedelta(minutes=deviation)
                for deviation in (before, after)
                if local_deviation_at(wall + timedelta(minutes=deviation)) == deviation
            }
        )
        if not candidates:
            return wall + timedelta(minutes=before)  # skipped hour
    except OverflowError as exc:
        raise ValueError(f"{local} is too close to the ends of the datetime range") from exc
    if len(candidates) == 2 and daylight_saving_active is False:
        return candidates[1]
    return candidates[0]


def utc_from_date_time(value: CosemDateTime, local_deviation_at: LocalDeviation) -> datetime:
    """The instant a fully dated date-time designates; unspecified deviation = local time.

    Year, month, day, hour, minute and second must be concrete (hundredths default to 0,
    day_of_week is not checked). ValueError otherwise.
    """
    if value.deviation is not None:
        return value.to_datetime()
    local = datetime.combine(value.date.to_date(), value.time.to_time())
    hint = None
    if value.clock_status is not None:
        hint = bool(value.clock_status & ClockStatus.DAYLIGHT_SAVING_ACTIVE)
    return local_to_utc(local, local_deviation_at, daylight_saving_active=hint)


def date_time_from_data(value: Data, what: str) -> CosemDateTime:
    """Parse an octet-string(12) (or tagged date-time); TYPE_UNMATCHED if it is none."""
    try:
        return CosemDateTime.from_data(value)
    except DecodeError as exc:
        raise ObjectError(ObjectResult.TYPE_UNMATCHED, f"{what}: {exc}") from exc


# ----------------------------------------------------------------------------- the Clock


class Clock(CosemObject):
    CLASS_ID = 8
    VERSION = 0
    ATTRIBUTES = (
        AttributeDef(1, "logical_name"),
        AttributeDef(2, "time"),
        AttributeDef(3, "time_zone"),
        AttributeDef(4, "status"),
        AttributeDef(5, "daylight_savings_begin"),
        AttributeDef(6, "daylight_savings_end"),
        AttributeDef(7, "daylight_savings_deviation"),
        AttributeDef(8, "daylight_savings_enabled"),
        AttributeDef(9, "clock_base"),
    )
    METHODS = (
        MethodDef(1, "adjust_to_quarter"),
        MethodDef(2, "adjust_to_measuring_period"),
        MethodDef(3, "adjust_to_minute"),
        MethodDef(4, "adjust_to_preset_time"),
        MethodDef(5, "preset_adjusting_time"),
        MethodDef(6, "shift_time"),
    )

    def __init__(
        self,
        logical_name: Obis = CLOCK_LOGICAL_NAME,
        *,
        time_source: TimeSource,
        settings: ClockSettings,
        on_settings_changed: Callable[[ClockSettings], None] | None = None,
        status: Callable[[], ClockStatus] | None = None,
        clock_base: ClockBase = ClockBase.INTERNAL_CRYSTAL,
        measuring_period: int | None = None,
        on_change: ChangeObserver | None = None,
    ) -> None:
        """``measuring_period`` (seconds) enables adjust_to_measuring_period."""
        super().__init__(logical_name, on_change=on_change)
        if measuring_period is not None and measuring_period <= 0:
            raise ValueError("measuring_period must be positive")
        self._time_source = time_source
        self._on_settings_changed = on_settings_changed
        self._status = status
        self._clock_base = Enum(ClockBase(clock_base))
        self._measuring_period = measuring_period
        # preset_adjusting_time: (preset, validity start, validity end), volatile, one use.
        self._preset: tuple[datetime, datetime, datetime] | None = None
        self._apply_settings(settings)

    # -- local time, for the meter and the profiles

    @property
    def settings(self) -> ClockSettings:
        return self._settings

    def now_utc(self) -> datetime:
        return self._time_source.now_utc()

    def daylight_saving_active_at(self, utc: datetime) -> bool:
        return self._daylight_saving_active(_naive_utc(utc))

    def _daylight_saving_active(self, naive: datetime) -> bool:
        """The same for a naive UTC instant."""
        if not self._settings.daylight_savings_enabled:
            return False
        instants, states = self._switches_around(naive.year)
        position = bisect_right(instants, naive)
        return position > 0 and states[position - 1]

    def local_deviation_at(self, utc: datetime) -> int:
        """UTC minus local time in minutes at the instant ``utc`` (CET -60, CEST -120)."""
        if self.daylight_saving_active_at(utc):
            return self._settings.time_zone - self._settings.daylight_savings_deviation
        return self._settings.time_zone

    def to_local(self, utc: datetime) -> CosemDateTime:
        """The local date-time (with deviation and clock status) the Clock shows at ``utc``."""
        active = self.daylight_saving_active_at(utc)
        settings = self._settings
        deviation = settings.time_zone - (settings.daylight_savings_deviation if active else 0)
        local = _naive_utc(utc) - timedelta(minutes=deviation)
        status = self._status() if self._status is not None else _NO_STATUS
        if active:
            status |= ClockStatus.DAYLIGHT_SAVING_ACTIVE
        return CosemDateTime(
            year=local.year,
            month=local.month,
            day_of_month=local.day,
            day_of_week=local.isoweekday(),
            hour=local.hour,
            minute=local.minute,
            second=local.second,
            hundredths=local.microsecond // 10_000,
            deviation=deviation,
            clock_status=status,
        )

    def from_local(
        self, local: datetime, *, daylight_saving_active: bool | None = None
    ) -> datetime:
        """The UTC instant of a naive local time; see :func:`local_to_utc` for the rules."""
        return local_to_utc(
            local, self.local_deviation_at, daylight_saving_active=daylight_saving_active
        )

    def _switches_around(self, year: int) -> tuple[list[datetime], list[bool]]:
        """Daylight-saving switch instants (naive UTC) of the years around ``year``, sorted."""
        cached = self._switch_cache.get(year)
        if cached is not None:
            return cached
        settings = self._settings
        standard = timedelta(minutes=settings.time_zone)
        summer = timedelta(minutes=settings.time_zone - settings.daylight_savings_deviation)
        switches: list[tuple[datetime, bool]] = []
        for candidate_year in (year - 1, year, year + 1):
            for pattern, offset, state in (
                (settings.daylight_savings_begin, standard, True),
                (settings.daylight_savings_end, summer, False),
            ):
                try:
                    switches.append((resolve_in_year(pattern, candidate_year) + offset, state))
                except (ValueError, OverflowError):
                    continue  # the pattern names no day that year (fixed year, 29 February)
        switches.sort(key=lambda switch: switch[0])
        result = ([instant for instant, _ in switches], [state for _, state in switches])
        if len(self._switch_cache) > 16:
            self._switch_cache.clear()
        self._switch_cache[year] = result
        return result

    def _apply_settings(self, settings: ClockSettings) -> None:
        self._settings = settings
        self._switch_cache: dict[int, tuple[list[datetime], list[bool]]] = {}
        self._time_cache: tuple[tuple[int, ClockSettings, ClockStatus], OctetString] | None = None

    # -- attributes

    def _get_time(self) -> Data:
        # The hot path of every clock read. The value has a resolution of 1/100 s: within
        # one hundredth (same settings, same status) the same octets are answered again.
        utc = self._time_source.now_utc()
        status = self._status() if self._status is not None else _NO_STATUS
        key = (int(utc.timestamp() * 100), self._settings, status)
        cached = self._time_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        value = self._encode_time(utc, status)
        self._time_cache = (key, value)
        return value

    def _encode_time(self, utc: datetime, status: ClockStatus) -> OctetString:
        # Packs the octets directly (same layout and values as to_local(...).to_bytes(), which
        # a test checks) without building a validated CosemDateTime.
        naive = _naive_utc(utc)
        settings = self._settings
        active = self._daylight_saving_active(naive)
        deviation = settings.time_zone - (settings.daylight_savings_deviation if active else 0)
        local = naive - timedelta(minutes=deviation)
        if active:
            status |= ClockStatus.DAYLIGHT_SAVING_ACTIVE
        return OctetString(
            _DATE_TIME.pack(
                local.year,
                local.month,
                local.day,
                local.isoweekday(),
                local.hour,
                local.minute,
                local.second,
                local.microsecond // 10_000,
                deviation,
                int(status),
            )
        )

    def _set_time(self, value: Data) -> None:
        # An octet-string(12) as the Blue Book says, or a tagged date-time as some clients send.
        new = self._instant(value, "time", reject_skipped=True)
        old = self._time_source.now_utc()
        self._time_source.set_utc(new)
        self._notify(ChangeKind.CLOCK_SET, old=old, new=new)

    def _get_time_zone(self) -> Data:
        return Long(self._settings.time_zone)

    def _set_time_zone(self, value: Data) -> None:
        time_zone = expect_integer(value, Long, "time_zone", low=-MAX_DEVIATION, high=MAX_DEVIATION)
        self._change_settings(3, replace(self._settings, time_zone=time_zone))

    def _get_status(self) -> Data:
        status = self._status() if self._status is not None else _NO_STATUS
        if self.daylight_saving_active_at(self._time_source.now_utc()):
            status |= ClockStatus.DAYLIGHT_SAVING_ACTIVE
        return Unsigned(int(status))

    def _get_daylight_savings_begin(self) -> Data:
        return OctetString(self._settings.daylight_savings_begin.to_bytes())

    def _set_daylight_savings_begin(self, value: Data) -> None:
        pattern = self._switch_pattern(value, "daylight_savings_begin")
        self._change_settings(5, replace(self._settings, daylight_savings_begin=pattern))

    def _get_daylight_savings_end(self) -> Data:
        return OctetString(self._settings.daylight_savings_end.to_bytes())

    def _set_daylight_savings_end(self, value: Data) -> None:
        pattern = self._switch_pattern(value, "daylight_savings_end")
        self._change_settings(6, replace(self._settings, daylight_savings_end=pattern))

    def _get_daylight_savings_deviation(self) -> Data:
        return Integer(self._settings.daylight_savings_deviation)

    def _set_daylight_savings_deviation(self, value: Data) -> None:
        deviation = expect_integer(
            value,
            Integer,
            "daylight_savings_deviation",
            low=-MAX_DAYLIGHT_SAVINGS_DEVIATION,
            high=MAX_DAYLIGHT_SAVINGS_DEVIATION,
        )
        self._change_settings(7, replace(self._settings, daylight_savings_deviation=deviation))

    def _get_daylight_savings_enabled(self) -> Data:
        return Boolean(self._settings.daylight_savings_enabled)

    def _set_daylight_savings_enabled(self, value: Data) -> None:
        enabled = expect(value, Boolean, "daylight_savings_enabled").value
        self._change_settings(8, replace(self._settings, daylight_savings_enabled=enabled))

    def _get_clock_base(self) -> Data:
        return self._clock_base

    # -- methods

    def _invoke_adjust_to_quarter(self, parameter: Data) -> Data | None:
        expect_no_parameter(parameter, "adjust_to_quarter")
        self._round_to(15 * 60, "adjust_to_quarter")
        return None

    def _invoke_adjust_to_measuring_period(self, parameter: Data) -> Data | None:
        expect_no_parameter(parameter, "adjust_to_measuring_period")
        if self._measuring_period is None:
            raise ObjectError(ObjectResult.READ_WRITE_DENIED, f"{self}: no measuring period")
        self._round_to(self._measuring_period, "adjust_to_measuring_period")
        return None

    def _invoke_adjust_to_minute(self, parameter: Data) -> Data | None:
        expect_no_parameter(parameter, "adjust_to_minute")
        self._round_to(60, "adjust_to_minute")
        return None

    def _invoke_adjust_to_preset_time(self, parameter: Data) -> Data | None:
        expect_no_parameter(parameter, "adjust_to_preset_time")
        if self._preset is None:
            raise ObjectError(ObjectResult.OTHER_REASON, f"{self}: no preset adjusting time")
        preset, start, end = self._preset
        old = self._time_source.now_utc()
        if not start <= old <= end:
            raise ObjectError(
                ObjectResult.OTHER_REASON, f"{self}: outside the preset validity interval"
            )
        self._preset = None  # one preset, one adjustment
        self._adjust(old, preset, "adjust_to_preset_time")
        return None

    def _invoke_preset_adjusting_time(self, parameter: Data) -> Data | None:
        preset, start, end = (
            self._instant(item, name, reject_skipped=True)
            for item, name in zip(
                expect_structure(parameter, 3, "preset_adjusting_time"),
                ("preset_time", "validity_interval_start", "validity_interval_end"),
                strict=True,
            )
        )
        if start > end:
            raise ObjectError(ObjectResult.OTHER_REASON, f"{self}: validity interval is empty")
        self._preset = (preset, start, end)
        return None

    def _invoke_shift_time(self, parameter: Data) -> Data | None:
        seconds = expect_integer(
            parameter, Long, "shift_time", low=-MAX_SHIFT_SECONDS, high=MAX_SHIFT_SECONDS
        )
        old = self._time_source.now_utc()
        self._adjust(old, old + timedelta(seconds=seconds), "shift_time")
        return None

    # -- helpers

    def _round_to(self, period_seconds: int, method: str) -> None:
        """Move to the nearest multiple of the period in local time (halfway rounds up)."""
        old = self._time_source.now_utc()
        local = old - timedelta(minutes=self.local_deviation_at(old))
        since_epoch = (local - _EPOCH) // timedelta(microseconds=1)
        period = period_seconds * 1_000_000
        rounded = (since_epoch + period // 2) // period * period
        self._adjust(old, old + timedelta(microseconds=rounded - since_epoch), method)

    def _adjust(self, old: datetime, new: datetime, method: str) -> None:
        self._time_source.set_utc(new)
        self._notify(ChangeKind.CLOCK_ADJUSTED, old=old, new=new, method=method)

    def _instant(self, value: Data, what: str, *, reject_skipped: bool) -> datetime:
        date_time = date_time_from_data(value, what)
        if date_time.clock_status is not None and (
            date_time.clock_status & ClockStatus.INVALID_VALUE
        ):
            raise ObjectError(ObjectResult.OTHER_REASON, f"{what} is marked invalid")
        try:
            instant = utc_from_date_time(date_time, self.local_deviation_at)
        except ValueError as exc:
            raise ObjectError(
                ObjectResult.OTHER_REASON, f"{what} does not designate one instant: {exc}"
            ) from exc
        if reject_skipped and date_time.deviation is None:
            shown = self.to_local(instant)
            if (shown.day_of_month, shown.hour, shown.minute) != (
                date_time.day_of_month,
                date_time.hour,
                date_time.minute,
            ):
                raise ObjectError(
                    ObjectResult.OTHER_REASON, f"{what}: local time skipped by daylight saving"
                )
        return instant

    def _switch_pattern(self, value: Data, what: str) -> CosemDateTime:
        pattern = date_time_from_data(expect(value, OctetString, what), what)
        try:
            _check_switch_pattern(pattern)
        except ValueError as exc:
            raise ObjectError(ObjectResult.OTHER_REASON, f"{what}: {exc}") from exc
        return pattern

    def _change_settings(self, attribute_index: int, settings: ClockSettings) -> None:
        if self._on_settings_changed is not None:
            self._on_settings_changed(settings)  # persist first; it may refuse by raising
        self._apply_settings(settings)
        self._notify(
            ChangeKind.CONFIGURATION_CHANGED,
            attribute_index=attribute_index,
            attribute=self.ATTRIBUTES[attribute_index - 1].name,
        )
