"""SET and ACTION with gurux-dlms, HLS-GMAC and authenticated encryption, and what they change.

Roles (tests/attacks/roles.toml): the writer (SAP 5) may write the clock's time, the 128-octet
test object, the TCP-UDP setup and the HDLC setup, and invoke the clock's adjust_to_quarter and
shift_time; the reader (SAP 4) may only read them. Each change is made by the writer and takes
effect (read back, or seen on the next connection or link), and the same request by the reader
is answered read-write-denied (3) and changes nothing.

The meter's max receive PDU is 128 octets, so a SET of the 128-octet test object cannot travel
in one request: gurux must use SET with block, over the wrapper and over HDLC. gurux sizes its
blocks with 22 octets of ciphering overhead, enough for the service-specific glo- tags but not
for general-glo-ciphering (30 octets with the system title): with general protection its
blocks exceed the meter's PDU and are refused (pdu-too-long). The writer therefore proposes no
general-protection here; the HLS tests cover general-glo.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from gurux_dlms import GXDateTime
from gurux_dlms.enums import InterfaceType, ObjectType
from tests.interop.clients import (
    DlmsError,
    GuruxCiphering,
    GuruxSession,
    RecordingGuruxSession,
    gurux_object,
    gurux_secured_session,
    hdlc_server_address,
)
from tests.interop.harness import TEST_CLOCK, client_entry, running_meter

from meter_process import MeterProcess
from securemeter.apdu.acse import AARE
from securemeter.apdu.registry import decode_apdu
from securemeter.apdu.set import SetRequestWithDataBlock, SetRequestWithFirstDataBlock
from securemeter.framing.wrapper import WrapperDecoder, encode_wrapper
from securemeter.security.protect import decipher_apdu
from securemeter.session.connection import AssociationProposal, Connection
from securemeter.session.state import Role

pytestmark = pytest.mark.interop

ROLES = Path(__file__).parent.parent / "attacks" / "roles.toml"
READER, WRITER, PUBLIC = 4, 5, 16
CLIENT_SYSTEM_TITLE = b"GRX00005"
READ_WRITE_DENIED = 3  # data-access-result and action-result
CLOCK = "0.0.1.0.0.255"
TEST_OCTETS = "0.0.128.0.0.255"
TCP_UDP_SETUP = "0.0.25.0.0.255"
HDLC_SETUP = "0.0.22.0.0.255"
INACTIVITY_TIME_OUT = 6  # TCP-UDP setup attribute
MAX_INFO_TRANSMIT, MAX_INFO_RECEIVE = 5, 6  # IEC HDLC setup attributes
METER_DEFAULT_INACTIVITY = 180  # seconds (TCP-UDP setup of a new meter)
METER_DEFAULT_INFO_LENGTH = 128  # octets (HDLC setup of a new meter)
GLO_SET_REQUEST = 0xC9


@pytest.fixture(scope="module")
def meter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MeterProcess]:
    roles = ROLES.read_text(encoding="utf-8")
    with running_meter(tmp_path_factory.mktemp("set-action"), roles) as meter:
        yield meter


def last_accepted_counter(meter: MeterProcess, sap: int) -> int:
    logical_name = client_entry(meter, sap)["invocation_counter_ln"]
    with GuruxSession(meter.tcp_port) as public:
        return int(public.read(gurux_object(ObjectType.DATA, logical_name), 2))


def session(
    meter: MeterProcess, sap: int, interface: InterfaceType = InterfaceType.WRAPPER
) -> RecordingGuruxSession:
    """A gurux session of ``sap`` with HLS-GMAC and glo- ciphering (SC 0x30)."""
    keys = client_entry(meter, sap)
    ciphering = GuruxCiphering(
        system_title=CLIENT_SYSTEM_TITLE,
        encryption_key=bytes.fromhex(keys["ek"]),
        authentication_key=bytes.fromhex(keys["ak"]),
        invocation_counter=last_accepted_counter(meter, sap) + 1,
    )
    if interface == InterfaceType.HDLC:
        assert meter.hdlc_port is not None
        physical = int(meter.keys["hdlc"]["physical_address"])
        return gurux_secured_session(
            meter.hdlc_port,
            client_address=sap,
            ciphering=ciphering,
            general_protection=False,
            interface=InterfaceType.HDLC,
            server_address=hdlc_server_address(1, physical, 4),
            server_address_size=4,
        )
    return gurux_secured_session(
        meter.tcp_port, client_address=sap, ciphering=ciphering, general_protection=False
    )


def read_time(session: RecordingGuruxSession) -> datetime:
    value: datetime = session.read(gurux_object(ObjectType.CLOCK, CLOCK), 2).value
    return value.astimezone(UTC)


def set_time(session: RecordingGuruxSession, value: datetime) -> None:
    clock = gurux_object(ObjectType.CLOCK, CLOCK)
    clock.time = GXDateTime(value)
    session.write(clock, 2)


def denied(action: object) -> int:
    """Run ``action`` (a callable); return the DlmsError code it raised."""
    with pytest.raises(DlmsError) as refused:
        action()  # type: ignore[operator]
    return refused.value.code


# ---------------------------------------------------------------------------- SET normal


def test_set_of_the_clock(meter: MeterProcess) -> None:
    later = datetime(2026, 3, 1, 13, 30, tzinfo=UTC)
    with session(meter, READER) as reader:
        before = read_time(reader)
        assert denied(lambda: set_time(reader, later)) == READ_WRITE_DENIED
        assert read_time(reader) == before

    with session(meter, WRITER) as writer:
        sent = writer.requests_sent
        set_time(writer, later)
        assert writer.requests_sent == sent + 1  # one SET-Request-Normal
        assert read_time(writer) == later
        set_time(writer, TEST_CLOCK)
        assert read_time(writer) == TEST_CLOCK


# ---------------------------------------------------------------------------- SET with block


def set_requests(meter: MeterProcess, frames: list[bytes]) -> list[object]:
    """The SET requests inside the writer's glo-set-request frames."""
    keys = client_entry(meter, WRITER)
    requests = []
    for frame in frames:
        assert frame[0] == GLO_SET_REQUEST
        deciphered = decipher_apdu(
            frame,
            system_title=CLIENT_SYSTEM_TITLE,
            encryption_key=bytes.fromhex(keys["ek"]),
            authentication_key=bytes.fromhex(keys["ak"]),
        )
        requests.append(decode_apdu(deciphered.apdu))
    return requests


def test_set_with_block_of_the_test_object(meter: MeterProcess) -> None:
    value = bytes(range(128))
    with session(meter, READER) as reader:
        before = reader.read(gurux_object(ObjectType.DATA, TEST_OCTETS), 2)
        forged = gurux_object(ObjectType.DATA, TEST_OCTETS)
        forged.value = bytes(128)
        assert denied(lambda: reader.write(forged, 2)) == READ_WRITE_DENIED
        assert reader.read(gurux_object(ObjectType.DATA, TEST_OCTETS), 2) == before

    with session(meter, WRITER) as writer:
        test_object = gurux_object(ObjectType.DATA, TEST_OCTETS)
        test_object.value = value
        first = len(writer.requests())
        writer.write(test_object, 2)
        blocks = set_requests(meter, writer.requests()[first:])
        assert bytes(writer.read(gurux_object(ObjectType.DATA, TEST_OCTETS), 2)) == value

    assert len(blocks) >= 2
    assert isinstance(blocks[0], SetRequestWithFirstDataBlock) and not blocks[0].last_block
    assert all(isinstance(block, SetRequestWithDataBlock) for block in blocks[1:])
    assert blocks[-1].last_block  # type: ignore[attr-defined]


def test_set_with_block_over_hdlc(meter: MeterProcess) -> None:
    # Over HDLC the SET-with-block requests also travel in 128-octet HDLC segments. That the
    # write succeeds shows blocks were used: one 150-octet request would be refused
    # (pdu-too-long) by a meter whose max receive PDU is 128.
    value = bytes(range(255, 127, -1))
    with session(meter, READER, InterfaceType.HDLC) as reader:
        before = reader.read(gurux_object(ObjectType.DATA, TEST_OCTETS), 2)
        forged = gurux_object(ObjectType.DATA, TEST_OCTETS)
        forged.value = bytes(128)
        assert denied(lambda: reader.write(forged, 2)) == READ_WRITE_DENIED
        assert reader.read(gurux_object(ObjectType.DATA, TEST_OCTETS), 2) == before

    with session(meter, WRITER, InterfaceType.HDLC) as writer:
        test_object = gurux_object(ObjectType.DATA, TEST_OCTETS)
        test_object.value = value
        writer.write(test_object, 2)
        assert bytes(writer.read(gurux_object(ObjectType.DATA, TEST_OCTETS), 2)) == value


# ---------------------------------------------------------------------------- ACTION


def test_clock_adjust_actions(meter: MeterProcess) -> None:
    seven_past = datetime(2026, 3, 1, 12, 7, 0, tzinfo=UTC)
    with session(meter, WRITER) as writer:
        set_time(writer, seven_past)
        clock = gurux_object(ObjectType.CLOCK, CLOCK)
        writer.invoke(clock.adjustToQuarter(writer.client), "adjust_to_quarter")
        assert read_time(writer) == datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
        writer.invoke(clock.shiftTime(writer.client, 90), "shift_time")
        assert read_time(writer) == datetime(2026, 3, 1, 12, 1, 30, tzinfo=UTC)
        set_time(writer, seven_past)

    with session(meter, READER) as reader:
        clock = gurux_object(ObjectType.CLOCK, CLOCK)
        adjust = clock.adjustToQuarter(reader.client)
        assert denied(lambda: reader.invoke(adjust, "adjust_to_quarter")) == READ_WRITE_DENIED
        shift = clock.shiftTime(reader.client, 90)
        assert denied(lambda: reader.invoke(shift, "shift_time")) == READ_WRITE_DENIED
        assert read_time(reader) == seven_past

    with session(meter, WRITER) as writer:
        set_time(writer, TEST_CLOCK)


# ---------------------------------------------------------------------------- TCP-UDP setup


def set_inactivity_time_out(session: RecordingGuruxSession, seconds: int) -> None:
    setup = gurux_object(ObjectType.TCP_UDP_SETUP, TCP_UDP_SETUP)
    setup.inactivityTimeout = seconds
    session.write(setup, INACTIVITY_TIME_OUT)


def read_inactivity_time_out(session: RecordingGuruxSession) -> int:
    setup = gurux_object(ObjectType.TCP_UDP_SETUP, TCP_UDP_SETUP)
    return int(session.read(setup, INACTIVITY_TIME_OUT))


def closed_by_meter(connection: socket.socket) -> bool:
    """Whether the meter has closed ``connection`` (it reads end-of-stream)."""
    connection.settimeout(2.0)
    try:
        return connection.recv(1) == b""
    except TimeoutError:
        return False


def answers_public_aarq(connection: socket.socket) -> bool:
    """Whether the meter still answers an AARQ of the public client on ``connection``."""
    aarq = Connection(Role.HEADEND).request_association(AssociationProposal())
    connection.settimeout(5.0)
    connection.sendall(encode_wrapper(PUBLIC, 1, aarq))
    decoder = WrapperDecoder(0xFFFF)
    while (frame := decoder.next_frame()) is None:
        chunk = connection.recv(4096)
        if not chunk:
            return False
        decoder.receive_data(chunk)
    return frame.apdu[0] == AARE.TAG


def test_tcp_udp_inactivity_time_out_applies_to_the_next_connection(
    meter: MeterProcess,
) -> None:
    assert meter.clock is not None
    with session(meter, READER) as reader:
        assert denied(lambda: set_inactivity_time_out(reader, 30)) == READ_WRITE_DENIED
        assert read_inactivity_time_out(reader) == METER_DEFAULT_INACTIVITY
    with meter.connect() as unchanged:
        meter.clock.advance(31)
        assert answers_public_aarq(unchanged)  # the denied SET changed nothing

    opened_before = meter.connect()
    try:
        with session(meter, WRITER) as writer:
            set_inactivity_time_out(writer, 30)
            assert read_inactivity_time_out(writer) == 30
        with meter.connect() as opened_after:
            meter.clock.advance(31)
            assert closed_by_meter(opened_after)  # 30 s without a frame
            assert answers_public_aarq(opened_before)  # accepted under the old 120 s bound
    finally:
        opened_before.close()
        with session(meter, WRITER) as writer:
            set_inactivity_time_out(writer, METER_DEFAULT_INACTIVITY)


# ---------------------------------------------------------------------------- HDLC setup


def set_info_lengths(session: RecordingGuruxSession, octets: int) -> None:
    setup = gurux_object(ObjectType.IEC_HDLC_SETUP, HDLC_SETUP)
    setup.maximumInfoLengthTransmit = octets
    setup.maximumInfoLengthReceive = octets
    session.write(setup, MAX_INFO_TRANSMIT)
    session.write(setup, MAX_INFO_RECEIVE)


def next_link_info_lengths(meter: MeterProcess) -> tuple[int, int]:
    """The information field lengths a new HDLC link gets in its UA (the public client)."""
    assert meter.hdlc_port is not None
    physical = int(meter.keys["hdlc"]["physical_address"])
    with GuruxSession(
        meter.hdlc_port,
        interface=InterfaceType.HDLC,
        server_address=hdlc_server_address(1, physical, 4),
        server_address_size=4,
    ) as public:
        assert public.read(gurux_object(ObjectType.CLOCK, CLOCK), 2) is not None
        settings = public.client.hdlcSettings
        return int(settings.maxInfoTX), int(settings.maxInfoRX)


def test_hdlc_setup_applies_to_the_next_link(meter: MeterProcess) -> None:
    with session(meter, READER) as reader:
        assert denied(lambda: set_info_lengths(reader, 64)) == READ_WRITE_DENIED
    assert next_link_info_lengths(meter) == (METER_DEFAULT_INFO_LENGTH,) * 2

    try:
        with session(meter, WRITER) as writer:
            set_info_lengths(writer, 64)
        assert next_link_info_lengths(meter) == (64, 64)
    finally:
        with session(meter, WRITER) as writer:
            set_info_lengths(writer, METER_DEFAULT_INFO_LENGTH)
    assert next_link_info_lengths(meter) == (METER_DEFAULT_INFO_LENGTH,) * 2
