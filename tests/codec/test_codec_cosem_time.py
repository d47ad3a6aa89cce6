"""COSEM date, time and date-time: hand-built Blue Book vectors, conversions and patterns."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from securemeter.codec.axdr import Date, DateTime, OctetString, Time, Unsigned, decode_exact
from securemeter.codec.cosem_time import (
    DAYLIGHT_SAVINGS_BEGIN,
    DAYLIGHT_SAVINGS_END,
    LAST_DAY,
    SECOND_LAST_DAY,
    ClockStatus,
    CosemDate,
    CosemDateTime,
    CosemTime,
    matches,
    resolve_in_year,
)
from securemeter.errors import DecodeError
from strategies import cosem_date_times

CET = timezone(timedelta(hours=1))
CEST = timezone(timedelta(hours=2))
BERLIN = ZoneInfo("Europe/Berlin")

# Tuesday 2018-11-13 12:34:56.78 CET (deviation -60 = FFC4), clock status OK.
CET_VECTOR = bytes.fromhex("07E20B0D020C22384EFFC400")
CET_VALUE = CosemDateTime(
    year=2018,
    month=11,
    day_of_month=13,
    day_of_week=2,
    hour=12,
    minute=34,
    second=56,
    hundredths=78,
    deviation=-60,
    clock_status=ClockStatus(0),
)
# Sunday 2018-07-01 08:00:00.00 CEST (deviation -120 = FF88), daylight saving active.
CEST_VECTOR = bytes.fromhex("07E207010708000000FF8880")
# Every field "not specified".
WILDCARD_VECTOR = bytes.fromhex("FFFFFFFFFFFFFFFFFF8000FF")
# EU summer time begins: last Sunday of March, 02:00:00 local, deviation/status unspecified.
EU_SUMMER_BEGIN = bytes.fromhex("FFFF03FE07020000008000FF")
EU_SUMMER_END = bytes.fromhex("FFFF0AFE07030000008000FF")


class TestVectors:
    def test_cet_vector_decodes(self) -> None:
        assert CosemDateTime.from_bytes(CET_VECTOR) == CET_VALUE

    def test_cet_vector_encodes(self) -> None:
        assert CET_VALUE.to_bytes() == CET_VECTOR

    def test_cest_vector_with_daylight_saving_flag(self) -> None:
        value = CosemDateTime.from_bytes(CEST_VECTOR)
        assert value.deviation == -120
        assert value.clock_status == ClockStatus.DAYLIGHT_SAVING_ACTIVE
        assert value.day_of_week == 7
        assert value.to_datetime() == datetime(2018, 7, 1, 6, 0, tzinfo=UTC)

    def test_all_wildcards_are_none(self) -> None:
        value = CosemDateTime.from_bytes(WILDCARD_VECTOR)
        assert value == CosemDateTime()
        assert CosemDateTime().to_bytes() == WILDCARD_VECTOR

    def test_pattern_vector(self) -> None:
        value = CosemDateTime.from_bytes(EU_SUMMER_BEGIN)
        assert value == CosemDateTime(
            month=3, day_of_month=LAST_DAY, day_of_week=7, hour=2, minute=0, second=0, hundredths=0
        )
        assert value.to_bytes() == EU_SUMMER_BEGIN

    def test_date_vector(self) -> None:
        value = CosemDate.from_bytes(bytes.fromhex("07E20B0D02"))
        assert value == CosemDate(year=2018, month=11, day_of_month=13, day_of_week=2)
        assert value.to_date() == date(2018, 11, 13)
        assert CosemDate().to_bytes() == bytes.fromhex("FFFFFFFFFF")

    def test_time_vector(self) -> None:
        value = CosemTime.from_bytes(bytes.fromhex("0C22384E"))
        assert value == CosemTime(hour=12, minute=34, second=56, hundredths=78)
        assert value.to_time() == time(12, 34, 56, 780_000)
        assert CosemTime().to_bytes() == bytes.fromhex("FFFFFFFF")

    def test_date_time_parts(self) -> None:
        assert CET_VALUE.date.to_bytes() == CET_VECTOR[:5]
        assert CET_VALUE.time.to_bytes() == CET_VECTOR[5:9]

    def test_clock_status_bits(self) -> None:
        assert [int(flag) for flag in ClockStatus] == [0x01, 0x02, 0x04, 0x08, 0x80]
        assert [flag.name for flag in ClockStatus] == [
            "INVALID_VALUE",
            "DOUBTFUL_VALUE",
            "DIFFERENT_CLOCK_BASE",
            "INVALID_CLOCK_STATUS",
            "DAYLIGHT_SAVING_ACTIVE",
        ]
        raw = CET_VECTOR[:11] + b"\x83"
        status = CosemDateTime.from_bytes(raw).clock_status
        assert status == ClockStatus.DAYLIGHT_SAVING_ACTIVE | ClockStatus.DOUBTFUL_VALUE | 1

    def test_reserved_clock_status_bits_round_trip(self) -> None:
        raw = CET_VECTOR[:11] + b"\x70"
        assert CosemDateTime.from_bytes(raw).to_bytes() == raw


class TestDecodeRejects:
    @pytest.mark.parametrize("size", [0, 11, 13])
    def test_wrong_size(self, size: int) -> None:
        with pytest.raises(DecodeError):
            CosemDateTime.from_bytes(bytes(size))

    @pytest.mark.parametrize(
        ("index", "octet"),
        [
            (2, 0x00),  # month 0
            (2, 0x0D),  # month 13
            (2, 0xFC),  # reserved month
            (3, 0x00),  # day 0
            (3, 0x20),  # day 32
            (3, 0xE0),  # reserved day
            (3, 0x1F),  # 31 November
            (4, 0x00),  # weekday 0
            (4, 0x08),  # weekday 8
            (5, 0x18),  # hour 24
            (6, 0x3C),  # minute 60
            (7, 0x3C),  # second 60
            (8, 0x64),  # hundredths 100
        ],
    )
    def test_out_of_range_field(self, index: int, octet: int) -> None:
        raw = bytearray(CET_VECTOR)
        raw[index] = octet
        with pytest.raises(DecodeError):
            CosemDateTime.from_bytes(bytes(raw))

    @pytest.mark.parametrize("deviation", [841, -841, 0x7FFF, -0x7FFF])
    def test_deviation_out_of_range(self, deviation: int) -> None:
        raw = CET_VECTOR[:9] + deviation.to_bytes(2, "big", signed=True) + CET_VECTOR[11:]
        with pytest.raises(DecodeError):
            CosemDateTime.from_bytes(raw)

    def test_29_february_depends_on_year(self) -> None:
        leap = bytes.fromhex("07E4021D06") + bytes.fromhex("00000000FFC400")
        assert CosemDateTime.from_bytes(leap).day_of_month == 29
        with pytest.raises(DecodeError):
            CosemDateTime.from_bytes(bytes.fromhex("07E3021D05") + leap[5:])
        assert CosemDate.from_bytes(bytes.fromhex("FFFF021DFF")).day_of_month == 29

    def test_date_and_time_reject(self) -> None:
        with pytest.raises(DecodeError):
            CosemDate.from_bytes(bytes.fromhex("07E20D01FF"))
        with pytest.raises(DecodeError):
            CosemDate.from_bytes(bytes(4))
        with pytest.raises(DecodeError):
            CosemTime.from_bytes(bytes.fromhex("18000000"))
        with pytest.raises(DecodeError):
            CosemTime.from_bytes(bytes(5))

    @settings(max_examples=300, deadline=None)
    @given(st.binary(min_size=12, max_size=12))
    def test_random_octets_decode_or_raise_decode_error(self, raw: bytes) -> None:
        try:
            value = CosemDateTime.from_bytes(raw)
        except DecodeError:
            return
        assert value.to_bytes() == raw

    def test_construction_validates(self) -> None:
        with pytest.raises(ValueError):
            CosemDateTime(month=13)
        with pytest.raises(ValueError):
            CosemDateTime(clock_status=ClockStatus(0xFF))
        with pytest.raises(ValueError):
            CosemDateTime(deviation=900)


class TestAxdrWrapping:
    def test_octet_string(self) -> None:
        wrapped = CET_VALUE.to_octet_string()
        assert wrapped == OctetString(CET_VECTOR)
        assert wrapped.to_bytes() == b"\x09\x0c" + CET_VECTOR
        assert CosemDateTime.from_data(decode_exact(wrapped.to_bytes())) == CET_VALUE

    def test_tagged_date_time(self) -> None:
        assert CosemDateTime.from_data(DateTime(CET_VECTOR)) == CET_VALUE
        assert CosemDate.from_data(Date(CET_VECTOR[:5])) == CET_VALUE.date
        assert CosemTime.from_data(Time(CET_VECTOR[5:9])) == CET_VALUE.time
        assert CosemDate.from_data(CET_VALUE.date.to_octet_string()) == CET_VALUE.date
        assert CosemTime.from_data(CET_VALUE.time.to_octet_string()) == CET_VALUE.time

    @pytest.mark.parametrize("data", [OctetString(bytes(11)), Unsigned(1), DateTime(bytes(12))])
    def test_from_data_rejects(self, data: OctetString | Unsigned | DateTime) -> None:
        # DateTime(bytes(12)) has month 0: decodes as a value but not as a COSEM date-time.
        with pytest.raises(DecodeError):
            CosemDateTime.from_data(data)

    def test_date_and_time_from_data_reject_other_types(self) -> None:
        with pytest.raises(DecodeError):
            CosemDate.from_data(Unsigned(1))
        with pytest.raises(DecodeError):
            CosemTime.from_data(OctetString(bytes(12)))


class TestDatetimeConversion:
    def test_cet_deviation_is_minus_60(self) -> None:
        value = CosemDateTime.from_datetime(datetime(2018, 11, 13, 12, 34, 56, 780_000, CET))
        assert value == CET_VALUE
        assert value.to_bytes() == CET_VECTOR

    def test_zoneinfo_summer_and_winter(self) -> None:
        summer = CosemDateTime.from_datetime(
            datetime(2024, 7, 1, 12, tzinfo=BERLIN),
            clock_status=ClockStatus.DAYLIGHT_SAVING_ACTIVE,
        )
        winter = CosemDateTime.from_datetime(datetime(2024, 1, 1, 12, tzinfo=BERLIN))
        assert summer.deviation == -120
        assert winter.deviation == -60
        assert summer.clock_status == ClockStatus.DAYLIGHT_SAVING_ACTIVE
        assert winter.clock_status == ClockStatus(0)
        assert summer.to_datetime() == datetime(2024, 7, 1, 10, tzinfo=UTC)

    def test_west_of_greenwich_is_positive(self) -> None:
        value = CosemDateTime.from_datetime(
            datetime(2024, 1, 1, 7, tzinfo=timezone(timedelta(hours=-5)))
        )
        assert value.deviation == 300
        assert value.to_datetime() == datetime(2024, 1, 1, 12, tzinfo=UTC)

    def test_round_trip_to_utc(self) -> None:
        local = datetime(2018, 11, 13, 12, 34, 56, 780_000, CET)
        assert CET_VALUE.to_datetime() == local
        assert CET_VALUE.to_datetime().tzinfo is UTC

    def test_day_of_week_filled_in(self) -> None:
        value = CosemDateTime.from_datetime(datetime(2024, 3, 31, tzinfo=UTC))
        assert value.day_of_week == 7
        assert value.deviation == 0

    def test_naive_datetime_refused(self) -> None:
        with pytest.raises(ValueError, match="aware"):
            CosemDateTime.from_datetime(datetime(2024, 1, 1))

    def test_sub_minute_offset_refused(self) -> None:
        with pytest.raises(ValueError, match="minutes"):
            CosemDateTime.from_datetime(
                datetime(2024, 1, 1, tzinfo=timezone(timedelta(seconds=30)))
            )

    def test_hundredths_truncated(self) -> None:
        value = CosemDateTime.from_datetime(datetime(2024, 1, 1, 0, 0, 0, 129_999, UTC))
        assert value.hundredths == 12

    def test_unspecified_deviation_means_given_local_time(self) -> None:
        value = CosemDateTime(
            year=2024, month=1, day_of_month=1, hour=12, minute=0, second=0, hundredths=None
        )
        with pytest.raises(ValueError, match="deviation"):
            value.to_datetime()
        assert value.to_datetime(deviation_if_unspecified=-60) == datetime(
            2024, 1, 1, 11, tzinfo=UTC
        )

    def test_specified_deviation_wins_over_default(self) -> None:
        assert CET_VALUE.to_datetime(deviation_if_unspecified=300) == CET_VALUE.to_datetime()

    @pytest.mark.parametrize("field", ["year", "month", "day_of_month", "hour", "minute", "second"])
    def test_needed_field_unspecified(self, field: str) -> None:
        fields: dict[str, Any] = {
            "year": 2024,
            "month": 1,
            "day_of_month": 1,
            "hour": 0,
            "minute": 0,
            "second": 0,
            field: None,
        }
        with pytest.raises(ValueError):
            CosemDateTime(**fields, deviation=0).to_datetime()

    def test_special_values_are_not_an_instant(self) -> None:
        with pytest.raises(ValueError):
            CosemDateTime.from_bytes(EU_SUMMER_BEGIN).to_datetime(deviation_if_unspecified=0)
        with pytest.raises(ValueError):
            CosemDateTime(
                year=2024, month=DAYLIGHT_SAVINGS_END, day_of_month=1, hour=0, minute=0, second=0
            ).to_datetime(deviation_if_unspecified=0)

    def test_year_zero_and_overflow_raise_value_error(self) -> None:
        with pytest.raises(ValueError):
            CosemDateTime(
                year=0, month=1, day_of_month=1, hour=0, minute=0, second=0, deviation=0
            ).to_datetime()
        with pytest.raises(ValueError):
            CosemDateTime(
                year=9999, month=12, day_of_month=31, hour=23, minute=59, second=0, deviation=60
            ).to_datetime()

    def test_bad_default_deviation(self) -> None:
        with pytest.raises(ValueError):
            CosemDateTime(
                year=2024, month=1, day_of_month=1, hour=0, minute=0, second=0
            ).to_datetime(deviation_if_unspecified=5000)

    def test_is_fully_specified(self) -> None:
        assert CET_VALUE.is_fully_specified
        assert not CosemDateTime.from_bytes(EU_SUMMER_BEGIN).is_fully_specified
        assert not CosemDateTime.from_bytes(CET_VECTOR[:11] + b"\xff").is_fully_specified
        assert CET_VALUE.date.is_fully_specified
        assert not CosemDate(year=2024, month=LAST_DAY).is_fully_specified
        assert CET_VALUE.time.is_fully_specified
        assert not CosemTime(hour=1, minute=2, second=3).is_fully_specified

    def test_date_and_time_conversions(self) -> None:
        assert CosemDate.from_date(date(2024, 3, 31)) == CosemDate(
            year=2024, month=3, day_of_month=31, day_of_week=7
        )
        assert CosemTime.from_time(time(1, 2, 3, 456_789)) == CosemTime(
            hour=1, minute=2, second=3, hundredths=45
        )
        assert CosemTime(hour=1, minute=2, second=3).to_time() == time(1, 2, 3)
        with pytest.raises(ValueError):
            CosemDate(month=1, day_of_month=1).to_date()
        with pytest.raises(ValueError):
            CosemTime(hour=1).to_time()

    @settings(max_examples=200, deadline=None)
    @given(
        st.datetimes(
            min_value=datetime(1970, 1, 2),
            max_value=datetime(9998, 12, 30),
            timezones=st.sampled_from([UTC, CET, CEST, BERLIN, ZoneInfo("America/New_York")]),
        )
    )
    def test_aware_datetime_round_trip(self, value: datetime) -> None:
        cosem = CosemDateTime.from_datetime(value)
        assert CosemDateTime.from_bytes(cosem.to_bytes()) == cosem
        expected = value.replace(microsecond=value.microsecond // 10_000 * 10_000)
        # Compare in UTC: aware values in a DST gap or fold never equal another zone's (PEP 495).
        assert cosem.to_datetime() == expected.astimezone(UTC)


@settings(max_examples=300, deadline=None)
@given(cosem_date_times())
def test_bytes_round_trip(value: CosemDateTime) -> None:
    raw = value.to_bytes()
    assert len(raw) == 12
    assert CosemDateTime.from_bytes(raw) == value
    assert CosemDateTime.from_bytes(raw).to_bytes() == raw


class TestPatterns:
    def test_eu_summer_time_begin(self) -> None:
        pattern = CosemDateTime.from_bytes(EU_SUMMER_BEGIN)
        assert resolve_in_year(pattern, 2024) == datetime(2024, 3, 31, 2, 0)
        assert resolve_in_year(pattern, 2025) == datetime(2025, 3, 30, 2, 0)
        assert resolve_in_year(pattern, 2026) == datetime(2026, 3, 29, 2, 0)
        assert resolve_in_year(pattern, 2018) == datetime(2018, 3, 25, 2, 0)

    def test_eu_summer_time_end(self) -> None:
        pattern = CosemDateTime.from_bytes(EU_SUMMER_END)
        assert resolve_in_year(pattern, 2024) == datetime(2024, 10, 27, 3, 0)
        assert resolve_in_year(pattern, 2025) == datetime(2025, 10, 26, 3, 0)
        assert resolve_in_year(pattern, 2018) == datetime(2018, 10, 28, 3, 0)

    @pytest.mark.parametrize("year", range(2000, 2040))
    def test_eu_rule_agrees_with_tz_database(self, year: int) -> None:
        begin = resolve_in_year(CosemDateTime.from_bytes(EU_SUMMER_BEGIN), year)
        end = resolve_in_year(CosemDateTime.from_bytes(EU_SUMMER_END), year)
        # In Berlin the switch happens at 02:00 CET -> 03:00 CEST and 03:00 CEST -> 02:00 CET.
        assert (begin - timedelta(minutes=1)).replace(tzinfo=BERLIN).dst() == timedelta(0)
        assert (begin + timedelta(hours=1)).replace(tzinfo=BERLIN).dst() == timedelta(hours=1)
        assert (end - timedelta(minutes=1)).replace(tzinfo=BERLIN).dst() == timedelta(hours=1)
        assert (end + timedelta(minutes=1)).replace(tzinfo=BERLIN, fold=1).dst() == timedelta(0)

    def test_matches_last_sunday(self) -> None:
        pattern = CosemDateTime.from_bytes(EU_SUMMER_BEGIN)
        assert matches(pattern, datetime(2024, 3, 31, 2, 0))
        assert not matches(pattern, datetime(2024, 3, 24, 2, 0))  # a Sunday, not the last
        assert not matches(pattern, datetime(2024, 3, 31, 2, 1))
        assert not matches(pattern, datetime(2024, 4, 28, 2, 0))
        # Local wall-clock fields are compared: an aware value is read as is.
        assert matches(pattern, datetime(2024, 3, 31, 2, 0, tzinfo=UTC))

    def test_last_day_without_weekday(self) -> None:
        pattern = CosemDateTime(day_of_month=LAST_DAY)
        assert resolve_in_year(pattern, 2023) == datetime(2023, 1, 31)
        assert matches(pattern, datetime(2023, 2, 28, 13, 5))
        assert not matches(pattern, datetime(2024, 2, 28))
        assert matches(pattern, datetime(2024, 2, 29))

    def test_second_last_day(self) -> None:
        pattern = CosemDateTime(month=2, day_of_month=SECOND_LAST_DAY, hour=0)
        assert resolve_in_year(pattern, 2024) == datetime(2024, 2, 28)
        assert resolve_in_year(pattern, 2023) == datetime(2023, 2, 27)
        with_weekday = CosemDateTime(month=3, day_of_month=SECOND_LAST_DAY, day_of_week=7)
        # March 2024: the 31st is a Sunday, so the last Sunday on or before the 30th is the 24th.
        assert resolve_in_year(with_weekday, 2024) == datetime(2024, 3, 24)

    def test_concrete_day_and_weekday_must_both_hold(self) -> None:
        pattern = CosemDateTime(day_of_month=13, day_of_week=5, hour=0)  # Friday the 13th
        assert resolve_in_year(pattern, 2024) == datetime(2024, 9, 13)
        assert matches(pattern, datetime(2024, 12, 13, 0, 30))
        assert not matches(pattern, datetime(2024, 11, 13))
        with pytest.raises(ValueError, match="no day"):
            resolve_in_year(CosemDateTime(month=2, day_of_month=13, day_of_week=6), 2024)

    def test_weekday_only(self) -> None:
        pattern = CosemDateTime(day_of_week=1, hour=6, minute=30)
        assert resolve_in_year(pattern, 2024) == datetime(2024, 1, 1, 6, 30)
        assert matches(pattern, datetime(2024, 5, 13, 6, 30, 59))
        assert not matches(pattern, datetime(2024, 5, 14, 6, 30))

    def test_day_missing_in_fixed_month_refused(self) -> None:
        with pytest.raises(ValueError):
            CosemDateTime(month=4, day_of_month=31)

    def test_day_31_skips_short_months(self) -> None:
        pattern = CosemDateTime(day_of_month=31, hour=0)
        assert not matches(pattern, datetime(2024, 4, 30))
        assert resolve_in_year(CosemDateTime(day_of_month=30, month=None), 2024) == datetime(
            2024, 1, 30
        )

    def test_year_fixed_pattern(self) -> None:
        pattern = CosemDateTime(year=2024, month=6, day_of_month=1)
        assert resolve_in_year(pattern, 2024) == datetime(2024, 6, 1)
        assert not matches(pattern, datetime(2025, 6, 1))
        with pytest.raises(ValueError):
            resolve_in_year(pattern, 2025)

    def test_hundredths_in_pattern(self) -> None:
        pattern = CosemDateTime(hour=1, minute=2, second=3, hundredths=4)
        assert resolve_in_year(pattern, 2024) == datetime(2024, 1, 1, 1, 2, 3, 40_000)
        assert matches(pattern, datetime(2024, 1, 1, 1, 2, 3, 49_999))
        assert not matches(pattern, datetime(2024, 1, 1, 1, 2, 3, 50_000))

    def test_daylight_savings_month_values_refused(self) -> None:
        for month in (DAYLIGHT_SAVINGS_BEGIN, DAYLIGHT_SAVINGS_END):
            pattern = CosemDateTime(month=month, day_of_month=1)
            with pytest.raises(ValueError):
                resolve_in_year(pattern, 2024)
            with pytest.raises(ValueError):
                matches(pattern, datetime(2024, 1, 1))

    def test_year_out_of_range(self) -> None:
        with pytest.raises(ValueError):
            resolve_in_year(CosemDateTime(), 0)

    @settings(max_examples=100, deadline=None)
    @given(cosem_date_times(), st.integers(min_value=1900, max_value=2200))
    def test_resolved_time_matches_its_pattern(self, pattern: CosemDateTime, year: int) -> None:
        if pattern.month in (DAYLIGHT_SAVINGS_BEGIN, DAYLIGHT_SAVINGS_END):
            return
        try:
            when = resolve_in_year(pattern, year)
        except ValueError:
            return
        assert matches(pattern, when)
        # Nothing earlier in that day or month matches: it is the first occurrence.
        assert not matches(pattern, when - timedelta(microseconds=10_000)) or when == datetime(
            year, 1, 1
        )
