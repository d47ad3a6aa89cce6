"""gurux-dlms 1.0.203 reads the demo meter over the TCP wrapper as the public client.

The client proposes a 256-byte max receive PDU, so every answer longer than that (object
list, load profile) comes in GET blocks: the meter must segment within the client's limit.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from gurux_dlms.enums import ObjectType
from gurux_dlms.objects import GXDLMSProfileGeneric
from tests.interop.clients import DlmsError, GuruxSession, gurux_object
from tests.interop.harness import LOAD_PROFILE_PERIOD, TEST_CLOCK

from meter_process import MeterProcess

pytestmark = pytest.mark.interop

MAX_PDU = 256
READ_WRITE_DENIED = 3  # data-access-result
CLOCK = "0.0.1.0.0.255"
LOAD_PROFILE = "1.0.99.1.0.255"
WATT_HOUR = 30  # unit enumeration of scaler_unit
CET = timezone(timedelta(hours=1))
# logical name: (class id, version) of the demo meter's objects as its public client sees them
DEMO_OBJECTS = {
    CLOCK: (8, 0),
    "0.0.42.0.0.255": (1, 0),  # logical device name
    "0.0.96.1.0.255": (1, 0),  # serial number
    "1.0.0.2.0.255": (1, 0),  # firmware identifier
    "1.0.1.8.0.255": (3, 0),  # active energy import
    "1.0.2.8.0.255": (3, 0),  # active energy export
    "1.0.32.7.0.255": (3, 0),  # voltage
    "1.0.31.7.0.255": (3, 0),  # current
    LOAD_PROFILE: (7, 1),
    "0.0.128.0.0.255": (1, 0),  # 128-octet test object
    "0.0.25.0.0.255": (41, 0),  # TCP-UDP setup
    "0.0.22.0.0.255": (23, 1),  # IEC HDLC setup
    "0.0.40.0.0.255": (15, 2),  # current association
    "0.0.40.0.1.255": (15, 2),  # the public role's association
    "0.0.43.0.1.255": (64, 1),  # its security setup
    "0.0.43.1.1.255": (1, 0),  # its invocation counter
}


@pytest.fixture(scope="module")
def session(demo_meter: MeterProcess) -> Iterator[GuruxSession]:
    """One association for the whole module (as a head-end reading a meter would)."""
    with GuruxSession(demo_meter.tcp_port, max_receive_pdu_size=MAX_PDU) as session:
        yield session


@pytest.fixture(scope="module")
def load_profile(session: GuruxSession) -> GXDLMSProfileGeneric:
    profile = gurux_object(ObjectType.PROFILE_GENERIC, LOAD_PROFILE)
    session.read(profile, 3)  # gurux needs the capture objects to parse rows
    return profile


@pytest.fixture(scope="module")
def whole_buffer(session: GuruxSession, load_profile: GXDLMSProfileGeneric) -> list[list[Any]]:
    return list(session.read(load_profile, 2))


def utc(value: Any) -> datetime:
    """A gurux GXDateTime (time zone from the COSEM deviation) in UTC."""
    moment: datetime = value.value
    return moment.astimezone(UTC)


def test_the_clock_reads_the_meter_time_with_its_deviation(session: GuruxSession) -> None:
    clock = gurux_object(ObjectType.CLOCK, CLOCK)

    time = session.read(clock, 2)
    time_zone = session.read(clock, 3)

    assert utc(time) == TEST_CLOCK
    assert time.value.utcoffset() == timedelta(hours=1)  # CET in winter
    assert time_zone == -60  # Blue Book: minutes from local time to UTC


@pytest.mark.parametrize("logical_name", ["1.0.1.8.0.255", "1.0.2.8.0.255"])
def test_energy_registers_read_in_watt_hours_with_scaler_zero(
    session: GuruxSession, logical_name: str
) -> None:
    register = gurux_object(ObjectType.REGISTER, logical_name)

    session.read(register, 3)
    value = session.read(register, 2)

    assert register.scaler == 1.0  # gurux holds 10 ** scaler: scaler 0
    assert register.unit == WATT_HOUR
    assert isinstance(value, int) and value >= 0


def test_several_attributes_read_in_one_request(session: GuruxSession) -> None:
    clock = gurux_object(ObjectType.CLOCK, CLOCK)
    register = gurux_object(ObjectType.REGISTER, "1.0.1.8.0.255")

    time, value, scaler_unit = session.read_list([(clock, 2), (register, 2), (register, 3)])

    assert utc(time) == TEST_CLOCK
    assert isinstance(value, int) and value >= 0
    assert scaler_unit == [1.0, WATT_HOUR]  # gurux holds 10 ** scaler


def test_the_object_list_names_every_demo_object_with_class_and_version(
    session: GuruxSession,
) -> None:
    requests_before = session.requests_sent

    objects = session.read_object_list()

    found = {obj.logicalName: (int(obj.objectType), obj.version) for obj in objects}
    assert DEMO_OBJECTS.items() <= found.items()
    # The list is longer than 256 bytes: it came in blocks, each within the client's limit.
    assert session.requests_sent - requests_before > 1
    assert session.largest_answer <= MAX_PDU


def test_a_refused_set_is_an_error_and_changes_nothing(session: GuruxSession) -> None:
    test_object = gurux_object(ObjectType.DATA, "0.0.128.0.0.255")
    before = bytes(session.read(test_object, 2))
    test_object.value = bytes(range(128))

    with pytest.raises(DlmsError) as refused:
        session.write(test_object, 2)

    assert refused.value.code == READ_WRITE_DENIED
    assert bytes(session.read(test_object, 2)) == before


def test_the_128_octet_object_reads_whole(session: GuruxSession) -> None:
    test_object = gurux_object(ObjectType.DATA, "0.0.128.0.0.255")

    value = session.read(test_object, 2)

    assert isinstance(value, bytes | bytearray) and len(value) == 128


def test_the_invocation_counter_of_the_public_role_reads_zero(session: GuruxSession) -> None:
    counter = gurux_object(ObjectType.DATA, "0.0.43.1.1.255")

    # The public role has no keys, so no ciphered frame was ever accepted from it.
    assert session.read(counter, 2) == 0


def test_the_whole_load_profile_comes_in_blocks(
    session: GuruxSession, load_profile: GXDLMSProfileGeneric, whole_buffer: list[list[Any]]
) -> None:
    entries_in_use = session.read(load_profile, 7)
    times = [utc(row[0]) for row in whole_buffer]

    assert len(whole_buffer) == entries_in_use > 2000  # 30 days of quarter hours
    assert times[-1] == TEST_CLOCK
    assert all(
        later - earlier == timedelta(seconds=LOAD_PROFILE_PERIOD)
        for earlier, later in itertools.pairwise(times)
    )
    # The last capture holds the registers' current values (the test clock stands still).
    energy_import = gurux_object(ObjectType.REGISTER, "1.0.1.8.0.255")
    assert whole_buffer[-1][1] == session.read(energy_import, 2)
    assert session.largest_answer <= MAX_PDU


@pytest.mark.parametrize("zone", [UTC, CET], ids=["utc", "cet"])
def test_rows_by_range_lie_inside_the_range_bounds_included(
    session: GuruxSession,
    load_profile: GXDLMSProfileGeneric,
    whole_buffer: list[list[Any]],
    zone: timezone,
) -> None:
    # The same instants whatever deviation the client writes into the range's date-times.
    start = (TEST_CLOCK - timedelta(hours=2)).astimezone(zone)
    end = (TEST_CLOCK - timedelta(hours=1)).astimezone(zone)

    rows = session.read_rows_by_range(load_profile, start, end)

    times = [utc(row[0]) for row in rows]
    assert times[0] == start and times[-1] == end
    assert len(rows) == 5  # 10:00, 10:15, 10:30, 10:45, 11:00 UTC
    expected = [row for row in whole_buffer if start <= utc(row[0]) <= end]
    assert [row[1:] for row in rows] == [row[1:] for row in expected]


def test_rows_by_range_between_captures_are_empty(
    session: GuruxSession, load_profile: GXDLMSProfileGeneric
) -> None:
    start = TEST_CLOCK - timedelta(minutes=14)
    end = TEST_CLOCK - timedelta(minutes=1)

    assert session.read_rows_by_range(load_profile, start, end) == []


@pytest.mark.parametrize(("index", "count"), [(1, 3), (100, 5)])
def test_rows_by_entry_are_exactly_those_entries(
    session: GuruxSession,
    load_profile: GXDLMSProfileGeneric,
    whole_buffer: list[list[Any]],
    index: int,
    count: int,
) -> None:
    rows = session.read_rows_by_entry(load_profile, index, count)

    expected = whole_buffer[index - 1 : index - 1 + count]
    assert [utc(row[0]) for row in rows] == [utc(row[0]) for row in expected]
    assert [row[1:] for row in rows] == [row[1:] for row in expected]


def test_the_last_entries_by_entry_end_at_the_newest_capture(
    session: GuruxSession, load_profile: GXDLMSProfileGeneric, whole_buffer: list[list[Any]]
) -> None:
    rows = session.read_rows_by_entry(load_profile, len(whole_buffer) - 1, 2)

    assert [utc(row[0]) for row in rows] == [TEST_CLOCK - timedelta(minutes=15), TEST_CLOCK]
