"""Clock (IC 8): local time from the Clock's own attributes over a UTC time base."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from securemeter.codec.axdr import (
    Boolean,
    Data,
    DateTime,
    Enum,
    Integer,
    Long,
    NullData,
    OctetString,
    Structure,
    Unsigned,
    VisibleString,
)
from securemeter.codec.cosem_time import LAST_DAY, ClockStatus, CosemDateTime
from securemeter.codec.obis import Obis
from securemeter.cosem.base import ChangeEvent, ObjectError, ObjectResult
from securemeter.cosem.clock import (
    Clock,
    ClockBase,
    ClockSettings,
    local_to_utc,
)
from securemeter.errors import StorageError

CLOCK = Obis(0, 0, 1, 0, 0, 255)
CET = ClockSettings.european(-60)


class FakeTimeSource:
    """A UTC time base under the test's control."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def now_utc(self) -> datetime:
        return self.now

    def set_utc(self, new: datetime) -> None:
        self.now = new


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def make_clock(
    now: datetime,
    clock_settings: ClockSettings = CET,
    **options: object,
) -> tuple[Clock, FakeTimeSource, list[ChangeEvent]]:
    source = FakeTimeSource(now)
    events: list[ChangeEvent] = []
    clock = Clock(
        time_source=source,
        settings=clock_settings,
        on_change=events.append,
        **options,  # type: ignore[arg-type]
    )
    return clock, source, events


def refused(call: object, result: ObjectResult) -> None:
    assert callable(call)
    with pytest.raises(ObjectError) as caught:
        call()
    assert caught.value.result is result


def local_octets(
    year: int,
    month: int,
    day: int,
    hour: int,
    minute: int,
    second: int = 0,
    *,
    deviation: int | None = None,
    status: ClockStatus | None = None,
) -> OctetString:
    return OctetString(
        CosemDateTime(
            year=year,
            month=month,
            day_of_month=day,
            hour=hour,
            minute=minute,
            second=second,
            hundredths=0,
            deviation=deviation,
            clock_status=status,
        ).to_bytes()
    )


# ----------------------------------------------------------------------------- attributes


def test_winter_time_attribute_octets() -> None:
    clock, _, _ = make_clock(utc(2024, 1, 15, 12, 0, 0))
    assert (clock.CLASS_ID, clock.VERSION) == (8, 0)
    # 2024-01-15 (a Monday) 13:00:00.00, deviation -60 (0xFFC4), status 0
    assert clock.get_attribute(2) == OctetString(bytes.fromhex("07e8010f010d000000ffc400"))
    assert clock.get_attribute(3) == Long(-60)
    assert clock.get_attribute(4) == Unsigned(0)


def test_summer_time_attribute_octets() -> None:
    clock, _, _ = make_clock(datetime(2024, 7, 1, 10, 0, 0, 570_000, tzinfo=UTC))
    # 12:00:00.57 CEST on Monday 1 July, deviation -120 (0xFF88), DST bit set
    assert clock.get_attribute(2) == OctetString(bytes.fromhex("07e80701010c000039ff8880"))
    assert clock.get_attribute(4) == Unsigned(0x80)


def test_settings_attributes() -> None:
    clock, _, _ = make_clock(utc(2024, 1, 1))
    # last Sunday (0xFE, weekday 7) of March at 02:00 / of October at 03:00, rest unspecified
    assert clock.get_attribute(5) == OctetString(bytes.fromhex("ffff03fe07020000008000ff"))
    assert clock.get_attribute(6) == OctetString(bytes.fromhex("ffff0afe07030000008000ff"))
    assert clock.get_attribute(7) == Integer(60)
    assert clock.get_attribute(8) == Boolean(True)
    assert clock.get_attribute(9) == Enum(ClockBase.INTERNAL_CRYSTAL)
    assert clock.get_attribute(1) == OctetString(bytes((0, 0, 1, 0, 0, 255)))


def test_status_bits_come_from_the_provider() -> None:
    faults = ClockStatus.INVALID_VALUE | ClockStatus.DOUBTFUL_VALUE
    clock, _, _ = make_clock(utc(2024, 7, 1, 10), status=lambda: faults)
    assert clock.get_attribute(4) == Unsigned(0x83)
    assert clock.get_attribute(2).value[-1] == 0x83  # type: ignore[attr-defined]


def test_read_only_and_unknown_attributes() -> None:
    clock, _, _ = make_clock(utc(2024, 1, 1))
    for index, value in ((1, OctetString(bytes(6))), (4, Unsigned(0)), (9, Enum(2))):
        refused(lambda i=index, v=value: clock.set_attribute(i, v), ObjectResult.READ_WRITE_DENIED)
    refused(lambda: clock.get_attribute(10), ObjectResult.OBJECT_UNAVAILABLE)
    refused(lambda: clock.invoke_method(7, Integer(0)), ObjectResult.OBJECT_UNAVAILABLE)


# ----------------------------------------------------------------------------- DST rule


@pytest.mark.parametrize(
    ("instant", "deviation"),
    [
        (utc(2024, 3, 31, 0, 59, 59), -60),
        (utc(2024, 3, 31, 1, 0, 0), -120),
        (utc(2024, 10, 27, 0, 59, 59), -120),
        (utc(2024, 10, 27, 1, 0, 0), -60),
        (utc(2025, 3, 30, 0, 59, 59), -60),
        (utc(2025, 3, 30, 1, 0, 0), -120),
        (utc(2025, 10, 26, 0, 59, 59), -120),
        (utc(2025, 10, 26, 1, 0, 0), -60),
        (utc(2024, 12, 31, 23, 30), -60),
        (utc(2025, 1, 1, 0, 30), -60),
    ],
)
def test_eu_switch_instants(instant: datetime, deviation: int) -> None:
    clock, _, _ = make_clock(instant)
    assert clock.local_deviation_at(instant) == deviation
    assert clock.daylight_saving_active_at(instant) is (deviation == -120)


def test_switch_seen_through_the_time_attribute() -> None:
    clock, source, _ = make_clock(utc(2024, 3, 31, 0, 59, 59))
    before = CosemDateTime.from_bytes(clock.get_attribute(2).value)  # type: ignore[attr-defined]
    source.now = utc(2024, 3, 31, 1, 0, 0)
    after = CosemDateTime.from_bytes(clock.get_attribute(2).value)  # type: ignore[attr-defined]
    assert (before.hour, before.minute, before.second, before.deviation) == (1, 59, 59, -60)
    assert (after.hour, after.minute, after.second, after.deviation) == (3, 0, 0, -120)
    assert after.clock_status == ClockStatus.DAYLIGHT_SAVING_ACTIVE
    assert before.clock_status == ClockStatus(0)


def test_disabled_daylight_saving_keeps_standard_time() -> None:
    clock, _, _ = make_clock(utc(2024, 7, 1), ClockSettings.european(-60, enabled=False))
    assert clock.local_deviation_at(utc(2024, 7, 1)) == -60
    assert clock.get_attribute(4) == Unsigned(0)


def _zone_deviation(zone: str, instant: datetime) -> int:
    try:
        offset = instant.astimezone(ZoneInfo(zone)).utcoffset()
    except ZoneInfoNotFoundError:
        pytest.skip(f"no time zone database entry for {zone}")
    assert offset is not None
    return -int(offset.total_seconds() // 60)


instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31)).map(
    lambda naive: naive.replace(tzinfo=UTC)
)


@settings(max_examples=150, deadline=None)
@given(instants)
def test_eu_rule_agrees_with_the_tz_database(instant: datetime) -> None:
    for zone, time_zone in (
        ("Europe/Berlin", -60),
        ("Europe/London", 0),
        ("Europe/Helsinki", -120),
    ):
        clock, _, _ = make_clock(instant, ClockSettings.european(time_zone))
        assert clock.local_deviation_at(instant) == _zone_deviation(zone, instant)


def test_southern_hemisphere_rule_agrees_with_the_tz_database() -> None:
    # Sydney: standard UTC+10; summer time from the first Sunday of October 02:00 standard
    # to the first Sunday of April 03:00 summer time.
    first_sunday = {"day_of_week": 7, "minute": 0, "second": 0, "hundredths": 0}
    sydney = ClockSettings(
        time_zone=-600,
        daylight_savings_begin=CosemDateTime(month=10, hour=2, **first_sunday),
        daylight_savings_end=CosemDateTime(month=4, hour=3, **first_sunday),
        daylight_savings_deviation=60,
        daylight_savings_enabled=True,
    )
    clock, _, _ = make_clock(utc(2024, 1, 1), sydney)
    instant = utc(2023, 1, 1)
    while instant < utc(2026, 1, 1):
        assert clock.local_deviation_at(instant) == _zone_deviation("Australia/Sydney", instant)
        instant += timedelta(hours=7, minutes=13)


def test_naive_instants_are_refused() -> None:
    clock, _, _ = make_clock(utc(2024, 1, 1))
    with pytest.raises(ValueError):
        clock.local_deviation_at(datetime(2024, 1, 1))
    with pytest.raises(ValueError):
        local_to_utc(utc(2024, 1, 1), clock.local_deviation_at)


def test_from_local_resolves_ambiguous_and_skipped_hours() -> None:
    clock, _, _ = make_clock(utc(2024, 1, 1))
    assert clock.from_local(datetime(2024, 1, 15, 13, 0)) == utc(2024, 1, 15, 12, 0)
    assert clock.from_local(datetime(2024, 7, 1, 12, 0)) == utc(2024, 7, 1, 10, 0)
    # 02:30 happens twice on 27 October 2024: first in summer time, then in winter time
    assert clock.from_local(datetime(2024, 10, 27, 2, 30)) == utc(2024, 10, 27, 0, 30)
    assert clock.from_local(datetime(2024, 10, 27, 2, 30), daylight_saving_active=True) == utc(
        2024, 10, 27, 0, 30
    )
    assert clock.from_local(datetime(2024, 10, 27, 2, 30), daylight_saving_active=False) == utc(
        2024, 10, 27, 1, 30
    )
    # 02:30 never happens on 31 March 2024: read with the deviation before the switch
    assert clock.from_local(datetime(2024, 3, 31, 2, 30)) == utc(2024, 3, 31, 1, 30)


@settings(max_examples=150, deadline=None)
@given(instants)
def test_to_local_and_from_local_round_trip(instant: datetime) -> None:
    instant = instant.replace(microsecond=instant.microsecond // 10_000 * 10_000)
    clock, _, _ = make_clock(instant)
    shown = clock.to_local(instant)
    assert shown.clock_status is not None
    wall = datetime(
        shown.year or 0,
        shown.month or 0,
        shown.day_of_month or 0,
        shown.hour or 0,
        shown.minute or 0,
        shown.second or 0,
        (shown.hundredths or 0) * 10_000,
    )
    assert shown.to_datetime() == instant
    dst = bool(shown.clock_status & ClockStatus.DAYLIGHT_SAVING_ACTIVE)
    assert clock.from_local(wall, daylight_saving_active=dst) == instant


def test_settings_validation() -> None:
    with pytest.raises(ValueError):
        ClockSettings.european(-900)
    with pytest.raises(ValueError):
        ClockSettings(
            time_zone=-60,
            daylight_savings_begin=CosemDateTime(day_of_month=LAST_DAY, day_of_week=7),
            daylight_savings_end=CET.daylight_savings_end,
            daylight_savings_deviation=60,
            daylight_savings_enabled=True,
        )
    with pytest.raises(ValueError):
        ClockSettings(
            time_zone=-60,
            daylight_savings_begin=CET.daylight_savings_begin,
            daylight_savings_end=CET.daylight_savings_end,
            daylight_savings_deviation=121,
            daylight_savings_enabled=True,
        )
    with pytest.raises(ValueError):
        Clock(time_source=FakeTimeSource(utc(2024, 1, 1)), settings=CET, measuring_period=0)


# ----------------------------------------------------------------------------- SET time


def test_set_time_with_deviation() -> None:
    clock, source, events = make_clock(utc(2024, 1, 1))
    clock.set_attribute(2, local_octets(2024, 5, 1, 12, 0, deviation=-120))
    assert source.now == utc(2024, 5, 1, 10, 0)
    assert events == [
        ChangeEvent(CLOCK, "clock-set", {"old": utc(2024, 1, 1), "new": utc(2024, 5, 1, 10)})
    ]


def test_set_time_in_another_deviation_keeps_the_instant() -> None:
    clock, source, _ = make_clock(utc(2024, 1, 1))
    clock.set_attribute(2, local_octets(2024, 5, 1, 10, 0, deviation=0))
    assert source.now == utc(2024, 5, 1, 10, 0)


def test_set_time_with_unspecified_deviation_is_local_time() -> None:
    clock, source, _ = make_clock(utc(2024, 1, 1))
    clock.set_attribute(2, local_octets(2024, 1, 15, 13, 0))
    assert source.now == utc(2024, 1, 15, 12, 0)
    clock.set_attribute(2, local_octets(2024, 7, 1, 12, 0))
    assert source.now == utc(2024, 7, 1, 10, 0)


def test_set_time_accepts_a_tagged_date_time() -> None:
    clock, source, _ = make_clock(utc(2024, 1, 1))
    clock.set_attribute(2, DateTime(local_octets(2024, 2, 2, 2, 2, deviation=-60).value))
    assert source.now == utc(2024, 2, 2, 1, 2)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (None, utc(2024, 10, 27, 0, 30)),
        (ClockStatus.DAYLIGHT_SAVING_ACTIVE, utc(2024, 10, 27, 0, 30)),
        (ClockStatus(0), utc(2024, 10, 27, 1, 30)),
    ],
)
def test_set_time_in_the_repeated_hour(status: ClockStatus | None, expected: datetime) -> None:
    clock, source, _ = make_clock(utc(2024, 1, 1))
    clock.set_attribute(2, local_octets(2024, 10, 27, 2, 30, status=status))
    assert source.now == expected


def test_set_time_in_the_skipped_hour() -> None:
    clock, source, events = make_clock(utc(2024, 1, 1))
    refused(
        lambda: clock.set_attribute(2, local_octets(2024, 3, 31, 2, 30)), ObjectResult.OTHER_REASON
    )
    assert source.now == utc(2024, 1, 1) and events == []
    clock.set_attribute(2, local_octets(2024, 3, 31, 2, 30, deviation=-60))
    assert source.now == utc(2024, 3, 31, 1, 30)


@pytest.mark.parametrize(
    ("value", "result"),
    [
        (VisibleString("2024-01-01"), ObjectResult.TYPE_UNMATCHED),
        (NullData(), ObjectResult.TYPE_UNMATCHED),
        (OctetString(bytes(11)), ObjectResult.TYPE_UNMATCHED),
        (OctetString(bytes.fromhex("07e80d01ff0c0000000000ff")), ObjectResult.TYPE_UNMATCHED),
        (OctetString(b"\xff" * 12), ObjectResult.OTHER_REASON),
        (OctetString(bytes.fromhex("ffff0101ff0c0000008000ff")), ObjectResult.OTHER_REASON),
        (OctetString(bytes.fromhex("07e80101ffff0000008000ff")), ObjectResult.OTHER_REASON),
        (OctetString(bytes.fromhex("07e8fe01ff0c0000008000ff")), ObjectResult.OTHER_REASON),
        (OctetString(bytes.fromhex("07e80101ff0c0000008000" + "01")), ObjectResult.OTHER_REASON),
    ],
)
def test_set_time_refusals(value: Data, result: ObjectResult) -> None:
    clock, source, events = make_clock(utc(2024, 1, 1))
    refused(lambda: clock.set_attribute(2, value), result)
    assert source.now == utc(2024, 1, 1) and events == []


# ----------------------------------------------------------------------------- SET settings


def test_set_time_zone_is_persisted_applied_and_reported() -> None:
    persisted: list[ClockSettings] = []
    clock, _, events = make_clock(utc(2024, 1, 15, 12), on_settings_changed=persisted.append)
    clock.set_attribute(3, Long(0))
    assert clock.get_attribute(3) == Long(0)
    assert clock.local_deviation_at(utc(2024, 1, 15, 12)) == 0
    assert persisted[-1].time_zone == 0 and clock.settings == persisted[-1]
    assert events == [
        ChangeEvent(
            CLOCK, "configuration-changed", {"attribute_index": 3, "attribute": "time_zone"}
        )
    ]


def test_refused_persistence_leaves_settings_unchanged() -> None:
    def refuse(new: ClockSettings) -> None:
        raise StorageError("read-only store")

    clock, _, events = make_clock(utc(2024, 1, 1), on_settings_changed=refuse)
    with pytest.raises(StorageError):
        clock.set_attribute(7, Integer(30))
    assert clock.get_attribute(7) == Integer(60) and events == []


def test_set_daylight_saving_attributes() -> None:
    clock, _, _ = make_clock(utc(2024, 1, 1))
    summer = utc(2024, 7, 1)
    clock.set_attribute(7, Integer(30))
    assert clock.local_deviation_at(summer) == -90
    clock.set_attribute(8, Boolean(False))
    assert clock.local_deviation_at(summer) == -60
    clock.set_attribute(8, Boolean(True))
    # summer time now ends on the last Sunday of June at 03:00 local summer time
    clock.set_attribute(6, OctetString(bytes.fromhex("ffff06fe07030000008000ff")))
    assert clock.local_deviation_at(summer) == -60
    # 30 June 2024 03:00 at deviation -90 is 01:30 UTC
    assert clock.local_deviation_at(utc(2024, 6, 30, 1, 29)) == -90
    assert clock.local_deviation_at(utc(2024, 6, 30, 1, 30)) == -60
    # and begins on the first of June at 02:00 local standard time
    clock.set_attribute(5, OctetString(bytes.fromhex("ffff0601ff020000008000ff")))
    assert clock.local_deviation_at(utc(2024, 4, 15)) == -60
    assert clock.local_deviation_at(utc(2024, 6, 1, 1, 0)) == -90
    assert clock.get_attribute(5) == OctetString(bytes.fromhex("ffff0601ff020000008000ff"))


@pytest.mark.parametrize(
    ("index", "value", "result"),
    [
        (3, Integer(-60), ObjectResult.TYPE_UNMATCHED),
        (3, Long(-841), ObjectResult.OTHER_REASON),
        (3, Long(841), ObjectResult.OTHER_REASON),
        (5, DateTime(bytes.fromhex("ffff03fe07020000008000ff")), ObjectResult.TYPE_UNMATCHED),
        (5, OctetString(bytes(12)), ObjectResult.TYPE_UNMATCHED),
        (5, OctetString(bytes.fromhex("ffffff fe07020000008000ff")), ObjectResult.OTHER_REASON),
        (6, OctetString(bytes.fromhex("fffffefe07020000008000ff")), ObjectResult.OTHER_REASON),
        (6, OctetString(bytes(3)), ObjectResult.TYPE_UNMATCHED),
        (7, Long(60), ObjectResult.TYPE_UNMATCHED),
        (7, Integer(121), ObjectResult.OTHER_REASON),
        (8, Unsigned(1), ObjectResult.TYPE_UNMATCHED),
    ],
)
def test_set_settings_refusals(index: int, value: Data, result: ObjectResult) -> None:
    clock, _, events = make_clock(utc(2024, 1, 1))
    refused(lambda: clock.set_attribute(index, value), result)
    assert clock.settings == CET and events == []


# ----------------------------------------------------------------------------- methods


@pytest.mark.parametrize(
    ("method", "now", "expected"),
    [
        (3, datetime(2024, 1, 1, 12, 0, 29, 990_000, tzinfo=UTC), utc(2024, 1, 1, 12, 0)),
        (3, utc(2024, 1, 1, 12, 0, 30), utc(2024, 1, 1, 12, 1)),
        (3, utc(2024, 12, 31, 23, 59, 45), utc(2025, 1, 1, 0, 0)),
        (1, utc(2024, 1, 1, 12, 7, 29), utc(2024, 1, 1, 12, 0)),
        (1, utc(2024, 1, 1, 12, 7, 30), utc(2024, 1, 1, 12, 15)),
        (1, utc(2024, 1, 1, 12, 52, 31), utc(2024, 1, 1, 13, 0)),
    ],
)
def test_adjust_to_minute_and_quarter(method: int, now: datetime, expected: datetime) -> None:
    clock, source, events = make_clock(now)
    assert clock.invoke_method(method, Integer(0)) is None
    assert source.now == expected
    name = {1: "adjust_to_quarter", 3: "adjust_to_minute"}[method]
    assert events == [
        ChangeEvent(CLOCK, "clock-adjusted", {"old": now, "new": expected, "method": name})
    ]


def test_adjust_to_measuring_period_rounds_in_local_time() -> None:
    # Kathmandu is UTC+5:45 (time_zone -345): local full hours are at hh:15 UTC.
    nepal = ClockSettings(
        time_zone=-345,
        daylight_savings_begin=CET.daylight_savings_begin,
        daylight_savings_end=CET.daylight_savings_end,
        daylight_savings_deviation=0,
        daylight_savings_enabled=False,
    )
    clock, source, _ = make_clock(utc(2024, 1, 1, 0, 40), nepal, measuring_period=3600)
    clock.invoke_method(2, Integer(0))
    assert source.now == utc(2024, 1, 1, 0, 15)  # 06:25 local -> 06:00 local
    source.now = utc(2024, 1, 1, 0, 45)
    clock.invoke_method(2, Integer(0))
    assert source.now == utc(2024, 1, 1, 1, 15)  # 06:30 local -> 07:00 local


def test_adjust_to_measuring_period_needs_a_period() -> None:
    clock, _, _ = make_clock(utc(2024, 1, 1))
    refused(lambda: clock.invoke_method(2, Integer(0)), ObjectResult.READ_WRITE_DENIED)


@pytest.mark.parametrize("method", [1, 2, 3, 4])
def test_adjust_methods_take_integer_zero(method: int) -> None:
    clock, _, _ = make_clock(utc(2024, 1, 1), measuring_period=900)
    refused(lambda: clock.invoke_method(method, Unsigned(0)), ObjectResult.TYPE_UNMATCHED)


def test_shift_time() -> None:
    clock, source, events = make_clock(utc(2024, 1, 1, 12))
    clock.invoke_method(6, Long(900))
    assert source.now == utc(2024, 1, 1, 12, 15)
    clock.invoke_method(6, Long(-900))
    assert source.now == utc(2024, 1, 1, 12)
    assert [event.details["method"] for event in events] == ["shift_time", "shift_time"]
    refused(lambda: clock.invoke_method(6, Long(901)), ObjectResult.OTHER_REASON)
    refused(lambda: clock.invoke_method(6, Long(-901)), ObjectResult.OTHER_REASON)
    refused(lambda: clock.invoke_method(6, Integer(5)), ObjectResult.TYPE_UNMATCHED)
    assert source.now == utc(2024, 1, 1, 12) and len(events) == 2


def preset(preset_time: OctetString, start: OctetString, end: OctetString) -> Structure:
    return Structure((preset_time, start, end))


def test_preset_adjusting_time_then_adjust_once() -> None:
    clock, source, events = make_clock(utc(2024, 1, 1, 11, 58))
    parameter = preset(
        local_octets(2024, 1, 1, 13, 0),  # local: 12:00 UTC
        local_octets(2024, 1, 1, 12, 55, deviation=-60),
        local_octets(2024, 1, 1, 12, 5, deviation=0),
    )
    assert clock.invoke_method(5, parameter) is None
    assert events == []
    clock.invoke_method(4, Integer(0))
    assert source.now == utc(2024, 1, 1, 12, 0)
    assert events[-1].details == {
        "old": utc(2024, 1, 1, 11, 58),
        "new": utc(2024, 1, 1, 12),
        "method": "adjust_to_preset_time",
    }
    refused(lambda: clock.invoke_method(4, Integer(0)), ObjectResult.OTHER_REASON)


def test_adjust_to_preset_time_outside_the_validity_interval() -> None:
    clock, source, _ = make_clock(utc(2024, 1, 1, 12, 30))
    clock.invoke_method(
        5,
        preset(
            local_octets(2024, 1, 1, 12, 0, deviation=0),
            local_octets(2024, 1, 1, 11, 55, deviation=0),
            local_octets(2024, 1, 1, 12, 5, deviation=0),
        ),
    )
    refused(lambda: clock.invoke_method(4, Integer(0)), ObjectResult.OTHER_REASON)
    assert source.now == utc(2024, 1, 1, 12, 30)


def test_preset_refusals() -> None:
    clock, _, _ = make_clock(utc(2024, 1, 1))
    refused(lambda: clock.invoke_method(4, Integer(0)), ObjectResult.OTHER_REASON)
    good = local_octets(2024, 1, 1, 12, 0, deviation=0)
    later = local_octets(2024, 1, 1, 13, 0, deviation=0)
    refused(lambda: clock.invoke_method(5, preset(good, later, good)), ObjectResult.OTHER_REASON)
    refused(lambda: clock.invoke_method(5, Structure((good, good))), ObjectResult.TYPE_UNMATCHED)
    refused(
        lambda: clock.invoke_method(5, preset(good, good, OctetString(bytes(4)))),
        ObjectResult.TYPE_UNMATCHED,
    )
    refused(
        lambda: clock.invoke_method(5, preset(OctetString(b"\xff" * 12), good, later)),
        ObjectResult.OTHER_REASON,
    )


def test_time_attribute_fast_path_matches_to_local() -> None:
    """_get_time packs the octets directly; they must equal the validated value's encoding."""
    from datetime import UTC, datetime, timedelta

    from securemeter.cosem.clock import Clock, ClockSettings

    class Source:
        def __init__(self) -> None:
            self.now = datetime(2025, 1, 1, tzinfo=UTC)

        def now_utc(self) -> datetime:
            return self.now

        def set_utc(self, new: datetime) -> None:
            self.now = new

    source = Source()
    clock = Clock(time_source=source, settings=ClockSettings.european(-60))
    for hours in range(0, 24 * 365, 7):
        source.now = datetime(2025, 1, 1, 0, 0, 1, 230000, tzinfo=UTC) + timedelta(hours=hours)
        expected = clock.to_local(source.now).to_bytes()
        assert clock.get_attribute(2) == OctetString(expected)
