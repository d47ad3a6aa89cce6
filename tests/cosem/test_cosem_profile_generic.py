"""Profile generic (IC 7): buffer, capture, and selective access by range and by entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from securemeter.codec.axdr import (
    Array,
    Data,
    DoubleLongUnsigned,
    Enum,
    Integer,
    LongUnsigned,
    NullData,
    OctetString,
    Structure,
    Unsigned,
    decode_exact,
    encode,
)
from securemeter.codec.cosem_time import ClockStatus, CosemDateTime
from securemeter.codec.obis import Obis
from securemeter.cosem.base import AccessSelection, ChangeEvent, ObjectError, ObjectResult
from securemeter.cosem.clock import Clock, ClockSettings
from securemeter.cosem.profile_generic import (
    CLOCK_CAPTURE,
    CaptureObject,
    ListProfileBuffer,
    ProfileGeneric,
    Row,
)

LOAD_PROFILE = Obis(1, 0, 99, 1, 0, 255)
IMPORT = CaptureObject(3, Obis(1, 0, 1, 8, 0, 255), 2)
EXPORT = CaptureObject(3, Obis(1, 0, 2, 8, 0, 255), 2)
CAPTURE_OBJECTS = (CLOCK_CAPTURE, IMPORT, EXPORT)
START = datetime(2024, 1, 1, tzinfo=UTC)


class FixedTimeSource:
    def now_utc(self) -> datetime:
        return START

    def set_utc(self, new: datetime) -> None:
        raise AssertionError("profiles never set the time")


CLOCK = Clock(time_source=FixedTimeSource(), settings=ClockSettings.european(-60))


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def row(instant: datetime, number: int) -> Row:
    return Row(
        instant,
        (
            OctetString(CLOCK.to_local(instant).to_bytes()),
            DoubleLongUnsigned(number),
            DoubleLongUnsigned(1000 + number),
        ),
    )


def quarter_hour_rows(count: int) -> list[Row]:
    return [row(START + timedelta(minutes=15 * n), n) for n in range(count)]


def make_profile(
    rows: list[Row], capacity: int = 100, **options: object
) -> tuple[ProfileGeneric, list[ChangeEvent]]:
    events: list[ChangeEvent] = []
    profile = ProfileGeneric(
        LOAD_PROFILE,
        capture_objects=CAPTURE_OBJECTS,
        buffer=ListProfileBuffer(capacity, rows),
        local_deviation_at=CLOCK.local_deviation_at,
        capture_period=900,
        on_change=events.append,
        **options,  # type: ignore[arg-type]
    )
    return profile, events


def numbers(buffer: Data) -> list[int]:
    """The import-register column of a full-width buffer."""
    assert isinstance(buffer, Array)
    result = []
    for entry in buffer.items:
        assert isinstance(entry, Structure)
        value = entry.items[1]
        assert isinstance(value, DoubleLongUnsigned)
        result.append(value.value)
    return result


def refused(call: object, result: ObjectResult) -> None:
    assert callable(call)
    with pytest.raises(ObjectError) as caught:
        call()
    assert caught.value.result is result


def date_time(
    instant_local: datetime, deviation: int | None, status: ClockStatus | None = None
) -> OctetString:
    return OctetString(
        CosemDateTime(
            year=instant_local.year,
            month=instant_local.month,
            day_of_month=instant_local.day,
            hour=instant_local.hour,
            minute=instant_local.minute,
            second=instant_local.second,
            hundredths=0,
            deviation=deviation,
            clock_status=status,
        ).to_bytes()
    )


def by_range(
    start: OctetString,
    end: OctetString,
    columns: tuple[CaptureObject, ...] = (),
    restricting: CaptureObject = CLOCK_CAPTURE,
) -> AccessSelection:
    return AccessSelection(
        1,
        Structure(
            (
                restricting.to_data(),
                start,
                end,
                Array(tuple(column.to_data() for column in columns)),
            )
        ),
    )


def by_entry(first: int, last: int, first_column: int = 1, last_column: int = 0) -> AccessSelection:
    return AccessSelection(
        2,
        Structure(
            (
                DoubleLongUnsigned(first),
                DoubleLongUnsigned(last),
                LongUnsigned(first_column),
                LongUnsigned(last_column),
            )
        ),
    )


# ----------------------------------------------------------------------------- attributes


def test_static_attributes() -> None:
    profile, _ = make_profile(quarter_hour_rows(3), capacity=96)
    assert (profile.CLASS_ID, profile.VERSION) == (7, 1)
    assert encode(profile.get_attribute(3)) == bytes.fromhex(
        "0103"
        "020412000809060000010000ff0f02120000"
        "020412000309060100010800ff0f02120000"
        "020412000309060100020800ff0f02120000"
    )
    assert profile.get_attribute(4) == DoubleLongUnsigned(900)
    assert profile.get_attribute(5) == Enum(1)
    assert encode(profile.get_attribute(6)) == bytes.fromhex("020412000009060000000000000f00120000")
    assert profile.get_attribute(7) == DoubleLongUnsigned(3)
    assert profile.get_attribute(8) == DoubleLongUnsigned(96)
    assert numbers(profile.get_attribute(2)) == [0, 1, 2]
    for index in (2, 3, 5, 6, 7, 8):
        refused(
            lambda i=index: profile.set_attribute(i, NullData()), ObjectResult.READ_WRITE_DENIED
        )
    refused(lambda: profile.get_attribute(9), ObjectResult.OBJECT_UNAVAILABLE)


def test_buffer_decodes_with_gurux() -> None:
    from gurux_dlms import GXByteBuffer, GXDLMSClient, ValueEventArgs
    from gurux_dlms.objects import GXDLMSProfileGeneric

    rows = [*quarter_hour_rows(3), row(utc(2024, 7, 1, 10), 3)]
    profile, _ = make_profile(rows)
    client = GXDLMSClient(True)
    target = GXDLMSProfileGeneric(str(LOAD_PROFILE))
    for index in (3, 4, 2):
        value = GXDLMSClient.getValue(GXByteBuffer(encode(profile.get_attribute(index))), False)
        event = ValueEventArgs(client.settings, target, index, 0, None)
        event.value = value
        target.setValue(client.settings, event)
    assert [
        (str(obj.logicalName), attribute.attributeIndex) for obj, attribute in target.captureObjects
    ] == [
        ("0.0.1.0.0.255", 2),
        ("1.0.1.8.0.255", 2),
        ("1.0.2.8.0.255", 2),
    ]
    assert target.capturePeriod == 900
    assert [entry[0].value for entry in target.buffer] == [r.captured_at for r in rows]
    assert [entry[1] for entry in target.buffer] == [0, 1, 2, 3]


def test_first_capture_object_must_be_the_clock() -> None:
    for capture_objects in (
        (),
        (IMPORT, CLOCK_CAPTURE),
        (CaptureObject(8, Obis(0, 0, 1, 0, 0, 255), 3),),
    ):
        with pytest.raises(ValueError):
            ProfileGeneric(
                LOAD_PROFILE,
                capture_objects=capture_objects,
                buffer=ListProfileBuffer(10),
                local_deviation_at=CLOCK.local_deviation_at,
            )


def test_set_capture_period() -> None:
    profile, events = make_profile([])
    profile.set_attribute(4, DoubleLongUnsigned(3600))
    assert profile.get_attribute(4) == DoubleLongUnsigned(3600) and profile.capture_period == 3600
    assert events == [
        ChangeEvent(
            LOAD_PROFILE,
            "configuration-changed",
            {"attribute_index": 4, "attribute": "capture_period", "value": 3600},
        )
    ]
    refused(lambda: profile.set_attribute(4, LongUnsigned(60)), ObjectResult.TYPE_UNMATCHED)


# ----------------------------------------------------------------------------- methods


def test_capture_and_fifo_eviction() -> None:
    pending = iter(quarter_hour_rows(5))
    profile, _ = make_profile([], capacity=3, capture_row=lambda: next(pending))
    for _ in range(5):
        assert profile.invoke_method(2, Integer(0)) is None
    assert numbers(profile.get_attribute(2)) == [2, 3, 4]
    assert profile.get_attribute(7) == DoubleLongUnsigned(3)
    refused(lambda: profile.invoke_method(2, Integer(1)), ObjectResult.TYPE_UNMATCHED)


def test_capture_needs_a_row_source_and_whole_rows() -> None:
    profile, _ = make_profile([])
    refused(lambda: profile.invoke_method(2, Integer(0)), ObjectResult.READ_WRITE_DENIED)
    short = Row(START, (OctetString(bytes(12)),))
    profile, _ = make_profile([], capture_row=lambda: short)
    with pytest.raises(ValueError):
        profile.invoke_method(2, Integer(0))
    assert profile.get_attribute(7) == DoubleLongUnsigned(0)


def test_reset() -> None:
    profile, events = make_profile(quarter_hour_rows(4))
    assert profile.invoke_method(1, Integer(0)) is None
    assert profile.get_attribute(2) == Array(())
    assert profile.get_attribute(7) == DoubleLongUnsigned(0)
    assert events == [
        ChangeEvent(LOAD_PROFILE, "profile-reset", {"method_index": 1, "method": "reset"})
    ]
    refused(lambda: profile.invoke_method(3, Integer(0)), ObjectResult.OBJECT_UNAVAILABLE)


def test_rows_need_aware_instants() -> None:
    with pytest.raises(ValueError):
        Row(datetime(2024, 1, 1), ())


# ----------------------------------------------------------------------------- by range


def test_range_with_deviation_is_inclusive_at_both_ends() -> None:
    profile, _ = make_profile(quarter_hour_rows(8))
    # 00:15 to 01:00 UTC written as CET wall-clock times with their deviation
    selection = by_range(
        date_time(utc(2024, 1, 1, 1, 15), -60), date_time(utc(2024, 1, 1, 2, 0), -60)
    )
    assert numbers(profile.get_attribute(2, selection)) == [1, 2, 3, 4]


def test_range_with_unspecified_deviation_is_local_time() -> None:
    profile, _ = make_profile(quarter_hour_rows(8))
    selection = by_range(
        date_time(utc(2024, 1, 1, 1, 15), None), date_time(utc(2024, 1, 1, 1, 30), None)
    )
    assert numbers(profile.get_attribute(2, selection)) == [1, 2]
    # the same wall-clock times read as UTC select other rows
    selection = by_range(date_time(utc(2024, 1, 1, 1, 15), 0), date_time(utc(2024, 1, 1, 1, 30), 0))
    assert numbers(profile.get_attribute(2, selection)) == [5, 6]


def test_range_in_summer_uses_the_summer_deviation() -> None:
    rows = [row(utc(2024, 7, 1, 9, 45) + timedelta(minutes=15 * n), n) for n in range(4)]
    profile, _ = make_profile(rows)
    selection = by_range(
        date_time(utc(2024, 7, 1, 12, 0), None), date_time(utc(2024, 7, 1, 12, 15), None)
    )
    assert numbers(profile.get_attribute(2, selection)) == [1, 2]


def test_range_in_the_repeated_hour_follows_the_status_bit() -> None:
    rows = [row(utc(2024, 10, 27, 0, 30), 0), row(utc(2024, 10, 27, 1, 30), 1)]
    profile, _ = make_profile(rows)
    local = utc(2024, 10, 27, 2, 30)  # wall-clock 02:30 happens at 00:30 and 01:30 UTC
    first = by_range(date_time(local, None), date_time(local, None))
    assert numbers(profile.get_attribute(2, first)) == [0]
    summer = ClockStatus.DAYLIGHT_SAVING_ACTIVE
    assert numbers(
        profile.get_attribute(
            2, by_range(date_time(local, None, summer), date_time(local, None, summer))
        )
    ) == [0]
    winter = ClockStatus(0)
    assert numbers(
        profile.get_attribute(
            2, by_range(date_time(local, None, winter), date_time(local, None, winter))
        )
    ) == [1]


def test_range_selected_values_pick_columns_in_the_order_asked() -> None:
    profile, _ = make_profile(quarter_hour_rows(3))
    selection = by_range(
        date_time(utc(2024, 1, 1, 1, 0), -60),
        date_time(utc(2024, 1, 1, 1, 15), -60),
        columns=(EXPORT, CLOCK_CAPTURE),
    )
    assert profile.get_attribute(2, selection) == Array(
        (
            Structure((DoubleLongUnsigned(1000), OctetString(CLOCK.to_local(START).to_bytes()))),
            Structure(
                (
                    DoubleLongUnsigned(1001),
                    OctetString(CLOCK.to_local(START + timedelta(minutes=15)).to_bytes()),
                )
            ),
        )
    )


def test_range_refusals() -> None:
    profile, _ = make_profile(quarter_hour_rows(3))
    start = date_time(utc(2024, 1, 1, 1, 0), -60)
    end = date_time(utc(2024, 1, 1, 2, 0), -60)
    refused(
        lambda: profile.get_attribute(2, by_range(start, end, restricting=IMPORT)),
        ObjectResult.SCOPE_OF_ACCESS_VIOLATED,
    )
    other_clock_attribute = CaptureObject(8, Obis(0, 0, 1, 0, 0, 255), 3)
    refused(
        lambda: profile.get_attribute(2, by_range(start, end, restricting=other_clock_attribute)),
        ObjectResult.SCOPE_OF_ACCESS_VIOLATED,
    )
    unknown_column = CaptureObject(3, Obis(1, 0, 3, 8, 0, 255), 2)
    refused(
        lambda: profile.get_attribute(2, by_range(start, end, columns=(unknown_column,))),
        ObjectResult.SCOPE_OF_ACCESS_VIOLATED,
    )
    wildcard_day = OctetString(bytes.fromhex("07e801ffff000000008000ff"))
    malformed = [
        AccessSelection(1, Structure((CLOCK_CAPTURE.to_data(), start, end))),
        AccessSelection(1, Array(())),
        AccessSelection(1, Structure((CLOCK_CAPTURE.to_data(), start, end, Structure(())))),
        AccessSelection(1, Structure((Structure(()), start, end, Array(())))),
        AccessSelection(1, Structure((CLOCK_CAPTURE.to_data(), Unsigned(1), end, Array(())))),
        by_range(wildcard_day, end),
        by_range(start, OctetString(bytes(12))),
    ]
    for selection in malformed:
        refused(lambda s=selection: profile.get_attribute(2, s), ObjectResult.TYPE_UNMATCHED)
    refused(
        lambda: profile.get_attribute(2, AccessSelection(3, NullData())),
        ObjectResult.SCOPE_OF_ACCESS_VIOLATED,
    )
    refused(lambda: profile.get_attribute(3, by_entry(1, 0)), ObjectResult.SCOPE_OF_ACCESS_VIOLATED)


def test_reversed_range_is_empty() -> None:
    profile, _ = make_profile(quarter_hour_rows(3))
    selection = by_range(
        date_time(utc(2024, 1, 1, 2, 0), -60), date_time(utc(2024, 1, 1, 1, 0), -60)
    )
    assert profile.get_attribute(2, selection) == Array(())


def test_range_descriptor_from_dlms_cosem() -> None:
    from dlms_cosem import enumerations
    from dlms_cosem.cosem import CosemAttribute
    from dlms_cosem.cosem import Obis as ForeignObis
    from dlms_cosem.cosem.capture_object import CaptureObject as ForeignCaptureObject
    from dlms_cosem.cosem.selective_access import RangeDescriptor

    descriptor = RangeDescriptor(
        restricting_object=ForeignCaptureObject(
            CosemAttribute(
                interface=enumerations.CosemInterface.CLOCK,
                instance=ForeignObis(0, 0, 1, 0, 0, 255),
                attribute=2,
            )
        ),
        from_value=datetime(2024, 1, 1, 1, 15),  # naive: sent with unspecified deviation
        to_value=datetime(2024, 1, 1, 1, 45),
    )
    raw = descriptor.to_bytes()
    profile, _ = make_profile(quarter_hour_rows(8))
    selection = AccessSelection(raw[0], decode_exact(raw[1:]))
    assert numbers(profile.get_attribute(2, selection)) == [1, 2, 3]


def test_duplicate_capture_times_are_all_kept_in_storage_order() -> None:
    # the clock was set back by half an hour after the third capture
    instants = [utc(2024, 1, 1, 0, 0), utc(2024, 1, 1, 0, 15), utc(2024, 1, 1, 0, 30)]
    instants += [utc(2024, 1, 1, 0, 0), utc(2024, 1, 1, 0, 15), utc(2024, 1, 1, 0, 30)]
    profile, _ = make_profile([row(instant, n) for n, instant in enumerate(instants)])
    selection = by_range(
        date_time(utc(2024, 1, 1, 1, 15), -60), date_time(utc(2024, 1, 1, 1, 30), -60)
    )
    assert numbers(profile.get_attribute(2, selection)) == [1, 2, 4, 5]
    assert numbers(profile.get_attribute(2)) == [0, 1, 2, 3, 4, 5]
    assert numbers(profile.get_attribute(2, by_entry(3, 4))) == [2, 3]


# ----------------------------------------------------------------------------- by entry


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        (1, 10, list(range(10))),
        (1, 0, list(range(10))),
        (0, 0, list(range(10))),
        (3, 5, [2, 3, 4]),
        (10, 10, [9]),
        (10, 0, [9]),
        (8, 50, [7, 8, 9]),
        (11, 0, []),
        (11, 20, []),
        (5, 4, []),
    ],
)
def test_entry_ranges(first: int, last: int, expected: list[int]) -> None:
    profile, _ = make_profile(quarter_hour_rows(10))
    assert numbers(profile.get_attribute(2, by_entry(first, last))) == expected


def test_entry_selection_on_an_empty_buffer() -> None:
    profile, _ = make_profile([])
    assert profile.get_attribute(2, by_entry(1, 0)) == Array(())


def test_entry_columns() -> None:
    profile, _ = make_profile(quarter_hour_rows(3))
    assert profile.get_attribute(2, by_entry(2, 3, 2, 2)) == Array(
        (Structure((DoubleLongUnsigned(1),)), Structure((DoubleLongUnsigned(2),)))
    )
    assert profile.get_attribute(2, by_entry(1, 1, 2, 0)) == Array(
        (Structure((DoubleLongUnsigned(0), DoubleLongUnsigned(1000))),)
    )
    assert profile.get_attribute(2, by_entry(1, 1, 0, 1)) == Array(
        (Structure((OctetString(CLOCK.to_local(START).to_bytes()),)),)
    )
    assert profile.get_attribute(2, by_entry(1, 1, 1, 3)) == profile.get_attribute(
        2, by_entry(1, 1)
    )
    for first_column, last_column in ((4, 0), (2, 1), (1, 4), (3, 2)):
        refused(
            lambda f=first_column, t=last_column: profile.get_attribute(2, by_entry(1, 0, f, t)),
            ObjectResult.SCOPE_OF_ACCESS_VIOLATED,
        )


def test_entry_descriptor_wire_form() -> None:
    # structure{from 2, to 3 (double-long-unsigned), columns 2..0 (long-unsigned)}
    raw = bytes.fromhex("020406000000020600000003120002120000")
    profile, _ = make_profile(quarter_hour_rows(5))
    selection = AccessSelection(2, decode_exact(raw))
    assert profile.get_attribute(2, selection) == Array(
        (
            Structure((DoubleLongUnsigned(1), DoubleLongUnsigned(1001))),
            Structure((DoubleLongUnsigned(2), DoubleLongUnsigned(1002))),
        )
    )


def test_entry_refusals() -> None:
    profile, _ = make_profile(quarter_hour_rows(3))
    malformed = [
        AccessSelection(
            2, Structure((DoubleLongUnsigned(1), DoubleLongUnsigned(0), LongUnsigned(1)))
        ),
        AccessSelection(
            2, Structure((Unsigned(1), DoubleLongUnsigned(0), LongUnsigned(1), LongUnsigned(0)))
        ),
        AccessSelection(
            2,
            Structure((DoubleLongUnsigned(1), DoubleLongUnsigned(0), Unsigned(1), LongUnsigned(0))),
        ),
        AccessSelection(2, NullData()),
    ]
    for selection in malformed:
        refused(lambda s=selection: profile.get_attribute(2, s), ObjectResult.TYPE_UNMATCHED)


# ----------------------------------------------------------------------------- property


capture_instants = st.lists(
    st.integers(min_value=0, max_value=200).map(lambda n: START + timedelta(minutes=15 * n)),
    max_size=40,
)
bounds = st.integers(min_value=-10, max_value=210).map(lambda n: START + timedelta(minutes=15 * n))


@settings(max_examples=120, deadline=None)
@given(capture_instants, bounds, bounds, st.sampled_from([None, -60, 0, -120]))
def test_range_selection_matches_a_brute_force_filter(
    instants: list[datetime], start: datetime, end: datetime, deviation: int | None
) -> None:
    rows = [row(instant, n) for n, instant in enumerate(instants)]
    profile, _ = make_profile(rows)
    shown = -60 if deviation is None else deviation  # winter: local time is CET

    def as_octets(instant: datetime) -> OctetString:
        return date_time(instant - timedelta(minutes=shown), deviation)

    selected = profile.get_attribute(2, by_range(as_octets(start), as_octets(end)))
    expected = [n for n, instant in enumerate(instants) if start <= instant <= end]
    assert numbers(selected) == expected


@settings(max_examples=120, deadline=None)
@given(
    st.integers(min_value=0, max_value=30),
    st.integers(min_value=0, max_value=40),
    st.integers(min_value=0, max_value=40),
)
def test_entry_selection_matches_a_brute_force_slice(count: int, first: int, last: int) -> None:
    profile, _ = make_profile(quarter_hour_rows(count))
    all_numbers = list(range(count))
    stop = count if last == 0 else last
    expected = all_numbers[max(first, 1) - 1 : stop]
    assert numbers(profile.get_attribute(2, by_entry(first, last))) == expected
