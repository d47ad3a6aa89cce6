"""dlms-cosem 25.1.0 reads the demo meter over the TCP wrapper as the public client.

The client proposes a 256-byte max receive PDU, so long answers come in GET blocks.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dlms_cosem import utils
from dlms_cosem.client import DataResultError, DlmsClient
from dlms_cosem.cosem import CosemAttributeWithSelection
from dlms_cosem.cosem.capture_object import CaptureObject
from dlms_cosem.cosem.selective_access import RangeDescriptor
from dlms_cosem.parsers import AssociationObjectListParser, ProfileGenericBufferParser
from dlms_cosem.protocol.xdlms import GetResponseWithList, SetResponseNormal
from dlms_cosem.time import datetime_from_bytes
from tests.interop.clients import (
    EntryDescriptor,
    cosem_attribute,
    cosem_session,
    cosem_wrapper_client,
)
from tests.interop.harness import LOAD_PROFILE_PERIOD, TEST_CLOCK

from meter_process import MeterProcess

pytestmark = pytest.mark.interop

MAX_PDU = 256
CLOCK_TIME = cosem_attribute(8, "0.0.1.0.0.255", 2)
LOAD_PROFILE_BUFFER = cosem_attribute(7, "1.0.99.1.0.255", 2)
READ_WRITE_DENIED = 3
OBJECT_UNDEFINED = 4
WATT_HOUR = 30
# The parser's capture period is in minutes (attribute 4 of the profile is in seconds).
BUFFER_PARSER = ProfileGenericBufferParser(
    capture_objects=[
        CLOCK_TIME,
        cosem_attribute(3, "1.0.1.8.0.255", 2),
        cosem_attribute(3, "1.0.2.8.0.255", 2),
    ],
    capture_period=LOAD_PROFILE_PERIOD // 60,
)


@pytest.fixture(scope="module")
def client(demo_meter: MeterProcess) -> Iterator[DlmsClient]:
    with cosem_session(cosem_wrapper_client(demo_meter.tcp_port, max_pdu_size=MAX_PDU)) as client:
        yield client


def read(client: DlmsClient, class_id: int, logical_name: str, attribute: int) -> Any:
    return utils.parse_as_dlms_data(client.get(cosem_attribute(class_id, logical_name, attribute)))


def rows_of(raw: bytes) -> list[tuple[datetime, int, int]]:
    """(UTC time, import Wh, export Wh) of each buffer row, as dlms-cosem parses them."""
    rows = []
    for time, energy_import, energy_export in BUFFER_PARSER.parse_entries(
        utils.parse_as_dlms_data(raw)
    ):
        rows.append((time.value.astimezone(UTC), energy_import.value, energy_export.value))
    return rows


@pytest.fixture(scope="module")
def whole_buffer(client: DlmsClient) -> list[tuple[datetime, int, int]]:
    return rows_of(client.get(LOAD_PROFILE_BUFFER))


def test_the_clock_reads_the_meter_time(client: DlmsClient) -> None:
    time, status = datetime_from_bytes(utils.parse_as_dlms_data(client.get(CLOCK_TIME)))

    assert time.astimezone(UTC) == TEST_CLOCK
    assert time.utcoffset() == timedelta(hours=1)
    assert status is not None and not status.invalid and not status.doubtful


@pytest.mark.parametrize("logical_name", ["1.0.1.8.0.255", "1.0.2.8.0.255"])
def test_energy_registers_have_scaler_zero_and_unit_watt_hour(
    client: DlmsClient, logical_name: str
) -> None:
    assert read(client, 3, logical_name, 3) == [0, WATT_HOUR]
    value = read(client, 3, logical_name, 2)
    assert isinstance(value, int) and value >= 0


def test_several_attributes_read_in_one_request(client: DlmsClient) -> None:
    response = client.get_many(
        [
            CosemAttributeWithSelection(attribute=CLOCK_TIME, access_selection=None),
            CosemAttributeWithSelection(
                attribute=cosem_attribute(3, "1.0.1.8.0.255", 3), access_selection=None
            ),
        ]
    )

    assert isinstance(response, GetResponseWithList)
    time, scaler_unit = (item.to_python() for item in response.response_data)
    assert datetime_from_bytes(time)[0].astimezone(UTC) == TEST_CLOCK
    assert scaler_unit == [0, WATT_HOUR]


def test_the_object_list_parses_with_classes_versions_and_read_rights(
    client: DlmsClient,
) -> None:
    raw = client.get(cosem_attribute(15, "0.0.40.0.0.255", 2))

    objects = AssociationObjectListParser.parse_entries(utils.parse_as_dlms_data(raw))

    found = {item.logical_name.to_string(): item for item in objects}
    clock = found["0-0:1.0.0.255"]
    profile = found["1-0:99.1.0.255"]
    assert (clock.interface, clock.version) == (8, 0)
    assert (profile.interface, profile.version) == (7, 1)
    # dlms-cosem reads access modes as IC 15 v3 bit flags; read_only (1) is its READ (bit 0).
    assert clock.attribute_access_rights[2].access_rights == [0]
    assert len(raw) > MAX_PDU  # so it came in blocks


def test_a_refused_set_is_answered_read_write_denied(client: DlmsClient) -> None:
    before = read(client, 1, "0.0.128.0.0.255", 2)

    answer = client.set(cosem_attribute(1, "0.0.128.0.0.255", 2), b"\x09\x01\x00")

    assert isinstance(answer, SetResponseNormal)
    assert answer.result == READ_WRITE_DENIED
    assert read(client, 1, "0.0.128.0.0.255", 2) == before


def test_a_missing_object_raises_object_undefined(client: DlmsClient) -> None:
    with pytest.raises(DataResultError, match="OBJECT_UNDEFINED"):
        client.get(cosem_attribute(1, "0.0.96.1.99.255", 2))


def test_the_whole_load_profile_comes_in_blocks(
    client: DlmsClient, whole_buffer: list[tuple[datetime, int, int]]
) -> None:
    entries_in_use = read(client, 7, "1.0.99.1.0.255", 7)

    assert len(whole_buffer) == entries_in_use > 2000
    assert whole_buffer[-1][0] == TEST_CLOCK
    assert all(
        later[0] - earlier[0] == timedelta(seconds=LOAD_PROFILE_PERIOD)
        for earlier, later in itertools.pairwise(whole_buffer)
    )
    assert whole_buffer[-1][1] == read(client, 3, "1.0.1.8.0.255", 2)


def test_a_range_descriptor_selects_rows_inside_the_range_bounds_included(
    client: DlmsClient, whole_buffer: list[tuple[datetime, int, int]]
) -> None:
    start = TEST_CLOCK - timedelta(hours=3)
    end = TEST_CLOCK - timedelta(hours=2, minutes=30)
    descriptor = RangeDescriptor(
        restricting_object=CaptureObject(cosem_attribute=CLOCK_TIME, data_index=0),
        from_value=start,
        to_value=end,
    )

    rows = rows_of(client.get(LOAD_PROFILE_BUFFER, access_descriptor=descriptor))

    assert [row[0] for row in rows] == [start + timedelta(minutes=15 * n) for n in range(3)]
    assert rows == [row for row in whole_buffer if start <= row[0] <= end]


def test_an_entry_descriptor_selects_exactly_those_entries(
    client: DlmsClient, whole_buffer: list[tuple[datetime, int, int]]
) -> None:
    descriptor = EntryDescriptor(from_entry=10, to_entry=14)

    rows = rows_of(client.get(LOAD_PROFILE_BUFFER, access_descriptor=descriptor))

    assert rows == whole_buffer[9:14]


def test_an_entry_descriptor_selects_columns(client: DlmsClient) -> None:
    descriptor = EntryDescriptor(from_entry=1, to_entry=2, from_selected_value=2)

    rows = utils.parse_as_dlms_data(client.get(LOAD_PROFILE_BUFFER, access_descriptor=descriptor))

    assert len(rows) == 2
    assert all(len(row) == 2 and all(isinstance(v, int) for v in row) for row in rows)
