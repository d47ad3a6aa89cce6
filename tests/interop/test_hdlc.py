"""IEC 62056-46 HDLC over a TCP socket (the meter's optical-port stand-in) with gurux-dlms
and dlms-cosem.

gurux-dlms addresses the meter in the 1-, 2- and 4-byte server address forms and reads the
clock, the object list and the whole load profile: the answers need both HDLC segmentation
(128-byte information fields) and GET blocks. The 2-byte form holds a 7-bit physical address
only, so that case first moves the meter to one through the HDLC setup object (a SET by the
management role, gurux with HLS-GMAC and authenticated encryption) and moves it back after.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, timedelta
from typing import Any

import pytest
from dlms_cosem import utils
from dlms_cosem.time import datetime_from_bytes
from gurux_dlms.enums import Authentication, InterfaceType, ObjectType
from tests.interop.clients import (
    SOCKET_TIMEOUT,
    GuruxCiphering,
    GuruxSession,
    NoAnswer,
    cosem_attribute,
    cosem_hdlc_client,
    cosem_session,
    gurux_object,
    hdlc_addresses,
    hdlc_server_address,
)
from tests.interop.harness import LOAD_PROFILE_PERIOD, TEST_CLOCK, client_entry, running_meter

from meter_process import MeterProcess

pytestmark = pytest.mark.interop

LOGICAL_DEVICE = 1
MANAGEMENT = 1  # client SAP of the role that may change the HDLC setup
SEVEN_BIT_PHYSICAL_ADDRESS = 0x25
HDLC_SETUP = "0.0.22.0.0.255"
DEVICE_ADDRESS = 9  # attribute of the IEC HDLC setup
LOAD_PROFILE = "1.0.99.1.0.255"
SILENCE = 0.5  # seconds without an answer that count as "ignored" (the meter answers in ms)

ROLES = """
[[roles]]
sap = 16
name = "public"
mechanism = "none"
security = "none"
interfaces = ["tcp", "optical"]

[[roles.objects]]
obis = "*"
read = "all"

[[roles]]
sap = 1
name = "management"
mechanism = "hls-gmac"
security = "auth-enc"
interfaces = ["tcp"]

[[roles.objects]]
obis = "0.0.22.0.0.255"
read = "all"
write = ["device_address"]

[[roles.objects]]
obis = "0.0.40.0.0.255"
read = "all"
methods = ["reply_to_HLS_authentication"]
"""


@pytest.fixture(scope="module")
def hdlc_meter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MeterProcess]:
    with running_meter(tmp_path_factory.mktemp("hdlc"), ROLES) as meter:
        assert meter.hdlc_port is not None
        yield meter


@pytest.fixture(scope="module")
def physical_address(hdlc_meter: MeterProcess) -> int:
    hdlc = hdlc_meter.keys["hdlc"]
    assert hdlc["address_size"] == 4
    return int(hdlc["physical_address"])


def set_device_address(meter: MeterProcess, address: int) -> None:
    """SET the HDLC setup's device_address as the management role (HLS-GMAC, auth+enc)."""
    keys = client_entry(meter, MANAGEMENT)
    # The head-end resynchronises with the meter's last accepted invocation counter first.
    with GuruxSession(meter.tcp_port) as public:
        last = public.read(gurux_object(ObjectType.DATA, keys["invocation_counter_ln"]), 2)
    ciphering = GuruxCiphering(
        system_title=b"GRX00001",
        encryption_key=bytes.fromhex(keys["ek"]),
        authentication_key=bytes.fromhex(keys["ak"]),
        invocation_counter=int(last) + 1,
    )
    with GuruxSession(
        meter.tcp_port,
        client_address=MANAGEMENT,
        authentication=Authentication.HIGH_GMAC,
        ciphering=ciphering,
    ) as management:
        setup = gurux_object(ObjectType.IEC_HDLC_SETUP, HDLC_SETUP)
        setup.deviceAddress = address
        management.write(setup, DEVICE_ADDRESS)
        assert management.read(setup, DEVICE_ADDRESS) == address


@pytest.fixture
def seven_bit_physical_address(hdlc_meter: MeterProcess, physical_address: int) -> Iterator[int]:
    set_device_address(hdlc_meter, SEVEN_BIT_PHYSICAL_ADDRESS)
    try:
        yield SEVEN_BIT_PHYSICAL_ADDRESS
    finally:
        set_device_address(hdlc_meter, physical_address)


def gurux_over_hdlc(
    meter: MeterProcess, physical: int | None, size: int, *, timeout: float = SOCKET_TIMEOUT
) -> GuruxSession:
    assert meter.hdlc_port is not None
    return GuruxSession(
        meter.hdlc_port,
        interface=InterfaceType.HDLC,
        server_address=hdlc_server_address(LOGICAL_DEVICE, physical, size),
        server_address_size=size,
        timeout=timeout,
    )


def read_clock_objects_and_load_profile(session: GuruxSession) -> None:
    """The reads every HDLC case makes: short, segmented, and segmented in blocks."""
    time = session.read(gurux_object(ObjectType.CLOCK, "0.0.1.0.0.255"), 2)
    assert time.value.astimezone(UTC) == TEST_CLOCK

    names = {obj.logicalName for obj in session.read_object_list()}
    assert {"0.0.1.0.0.255", LOAD_PROFILE, HDLC_SETUP} <= names

    profile = gurux_object(ObjectType.PROFILE_GENERIC, LOAD_PROFILE)
    session.read(profile, 3)
    requests_before = session.requests_sent
    rows: list[list[Any]] = session.read(profile, 2)
    assert len(rows) == session.read(profile, 7) > 2000
    assert rows[-1][0].value.astimezone(UTC) == TEST_CLOCK
    assert rows[0][0].value.astimezone(UTC) == TEST_CLOCK - timedelta(
        seconds=LOAD_PROFILE_PERIOD * (len(rows) - 1)
    )
    # About 75 kB in 128-byte segments: hundreds of RRs and get-request-nexts went out.
    assert session.requests_sent - requests_before > len(rows) // 10


def assert_server_address_size(session: GuruxSession, size: int) -> None:
    """The SNRM went to an address of ``size`` bytes and the UA came from the same form."""
    snrm_destination, _ = hdlc_addresses(session.first_request)
    _, ua_source = hdlc_addresses(session.first_answer)
    assert len(snrm_destination) == len(ua_source) == size
    assert ua_source == snrm_destination


def test_gurux_with_a_one_byte_server_address(hdlc_meter: MeterProcess) -> None:
    with gurux_over_hdlc(hdlc_meter, None, 1) as session:
        assert_server_address_size(session, 1)
        read_clock_objects_and_load_profile(session)


def test_gurux_with_a_two_byte_server_address(
    hdlc_meter: MeterProcess, seven_bit_physical_address: int
) -> None:
    with gurux_over_hdlc(hdlc_meter, seven_bit_physical_address, 2) as session:
        assert_server_address_size(session, 2)
        read_clock_objects_and_load_profile(session)


def test_gurux_with_a_four_byte_server_address(
    hdlc_meter: MeterProcess, physical_address: int
) -> None:
    with gurux_over_hdlc(hdlc_meter, physical_address, 4) as session:
        assert_server_address_size(session, 4)
        read_clock_objects_and_load_profile(session)


def test_gurux_proposing_longer_frames_gets_the_meters_limits(
    hdlc_meter: MeterProcess, physical_address: int
) -> None:
    session = gurux_over_hdlc(hdlc_meter, physical_address, 4)
    session.client.hdlcSettings.maxInfoTX = 512
    session.client.hdlcSettings.maxInfoRX = 512

    with session:
        # The UA carries the meter's HDLC setup values (128 bytes, window 1).
        assert session.client.hdlcSettings.maxInfoTX == 128
        assert session.client.hdlcSettings.maxInfoRX == 128
        assert session.client.hdlcSettings.windowSizeRX == 1
        read_clock_objects_and_load_profile(session)


def test_another_physical_address_gets_no_answer(
    hdlc_meter: MeterProcess, physical_address: int
) -> None:
    # The control for the cases above: the meter answers its own address only.
    other = physical_address + 1 if physical_address < 0x3FFD else physical_address - 1
    session = gurux_over_hdlc(hdlc_meter, other, 4, timeout=SILENCE)

    with pytest.raises(NoAnswer):
        session.connect()  # SNRM
    session.close()


@pytest.mark.parametrize("size", [1, 4])
def test_dlms_cosem_reads_the_clock_and_the_load_profile(
    hdlc_meter: MeterProcess, physical_address: int, size: int
) -> None:
    assert hdlc_meter.hdlc_port is not None
    client = cosem_hdlc_client(
        hdlc_meter.hdlc_port, server_physical_address=physical_address, server_address_size=size
    )

    with cosem_session(client):
        clock = client.get(cosem_attribute(8, "0.0.1.0.0.255", 2))
        buffer = utils.parse_as_dlms_data(client.get(cosem_attribute(7, LOAD_PROFILE, 2)))
        entries_in_use = utils.parse_as_dlms_data(client.get(cosem_attribute(7, LOAD_PROFILE, 7)))

    time, _ = datetime_from_bytes(utils.parse_as_dlms_data(clock))
    assert time.astimezone(UTC) == TEST_CLOCK
    assert len(buffer) == entries_in_use > 2000
    newest, _ = datetime_from_bytes(buffer[-1][0])
    assert newest.astimezone(UTC) == TEST_CLOCK
