"""Roles by interface over the two real links, and a socket-level HDLC fuzz (issue 5).

A role limited to ``tcp`` is refused over HDLC (the optical interface) and one limited to
``optical`` is refused over the wrapper; after thousands of mutated HDLC frames on the
optical port, a normal client still reads the clock.
"""

from __future__ import annotations

import contextlib
import random
import socket
from collections.abc import Iterator

import pytest
from gurux_dlms.enums import Authentication, InterfaceType, ObjectType
from tests.interop.clients import (
    AssociationRejected,
    GuruxSession,
    gurux_object,
    hdlc_server_address,
)
from tests.interop.harness import TEST_CLOCK, client_entry, running_meter

from meter_process import HdlcClient, MeterProcess
from securemeter.codec.axdr import OctetString
from securemeter.codec.cosem_time import CosemDateTime
from securemeter.framing.hdlc import HdlcAddress, HdlcFrame
from securemeter.framing.hdlc.frames import (
    LLC_COMMAND,
    FrameType,
    information_control,
    unnumbered_control,
)

pytestmark = pytest.mark.interop

TCP_ONLY = 40
OPTICAL_ONLY = 41
AUTHENTICATION_FAILURE = 13

ROLES = """
[[roles]]
sap = 16
name = "public"
mechanism = "none"
security = "none"
interfaces = ["tcp", "optical"]

[[roles.objects]]
obis = "0.0.1.0.0.255"
read = "all"

[[roles]]
sap = 40
name = "tcp reader"
mechanism = "low"
security = "none"
interfaces = ["tcp"]

[[roles.objects]]
obis = "0.0.1.0.0.255"
read = "all"

[[roles]]
sap = 41
name = "optical reader"
mechanism = "low"
security = "none"
interfaces = ["optical"]

[[roles.objects]]
obis = "0.0.1.0.0.255"
read = "all"
"""


@pytest.fixture(scope="module")
def meter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MeterProcess]:
    with running_meter(tmp_path_factory.mktemp("interfaces"), ROLES) as running:
        yield running


def password(meter: MeterProcess, sap: int) -> bytes:
    return str(client_entry(meter, sap)["password"]).encode("ascii")


def session(meter: MeterProcess, sap: int, *, hdlc: bool) -> GuruxSession:
    if hdlc:
        assert meter.hdlc_port is not None
        return GuruxSession(
            meter.hdlc_port,
            interface=InterfaceType.HDLC,
            client_address=sap,
            server_address=hdlc_server_address(1, None, 1),
            server_address_size=1,
            authentication=Authentication.LOW,
            password=password(meter, sap),
        )
    return GuruxSession(
        meter.tcp_port,
        client_address=sap,
        authentication=Authentication.LOW,
        password=password(meter, sap),
    )


def read_clock(client: GuruxSession) -> None:
    time = client.read(gurux_object(ObjectType.CLOCK, "0.0.1.0.0.255"), 2)
    assert time.value.astimezone(TEST_CLOCK.tzinfo) == TEST_CLOCK


@pytest.mark.parametrize(("sap", "hdlc"), [(TCP_ONLY, False), (OPTICAL_ONLY, True)])
def test_a_role_works_on_its_own_interface(meter: MeterProcess, sap: int, hdlc: bool) -> None:
    with session(meter, sap, hdlc=hdlc) as client:
        read_clock(client)


@pytest.mark.parametrize(("sap", "hdlc"), [(TCP_ONLY, True), (OPTICAL_ONLY, False)])
def test_a_role_is_refused_on_another_interface(meter: MeterProcess, sap: int, hdlc: bool) -> None:
    with pytest.raises(AssociationRejected) as rejected, session(meter, sap, hdlc=hdlc):
        pass
    assert rejected.value.diagnostic == AUTHENTICATION_FAILURE  # uniform: details in the log


def mutated_frames(physical_address: int, count: int, seed: int) -> Iterator[bytes]:
    """Valid SNRM, I (with an AARQ-like payload), RR and DISC frames, then mutations of them:
    bit flips, truncations, insertions, duplicated flags and random garbage."""
    generator = random.Random(seed)
    server = HdlcAddress.server(1, physical_address, 4)
    client = HdlcAddress.client(16)
    valid = [
        HdlcFrame(False, server, client, unnumbered_control(FrameType.SNRM, True)).to_bytes(),
        HdlcFrame(
            False,
            server,
            client,
            information_control(0, 0, True),
            LLC_COMMAND + bytes(generator.randbytes(40)),
        ).to_bytes(),
        HdlcFrame(False, server, client, unnumbered_control(FrameType.DISC, True)).to_bytes(),
    ]
    for _ in range(count):
        frame = bytearray(generator.choice(valid))
        kind = generator.randrange(5)
        if kind == 0:
            position = generator.randrange(len(frame))
            frame[position] ^= 1 << generator.randrange(8)
        elif kind == 1:
            del frame[generator.randrange(1, len(frame)) :]
        elif kind == 2:
            position = generator.randrange(len(frame))
            frame[position:position] = generator.randbytes(generator.randrange(1, 8))
        elif kind == 3:
            frame = bytearray(b"\x7e" * generator.randrange(1, 4)) + frame
        else:
            frame = bytearray(generator.randbytes(generator.randrange(1, 64)))
        yield bytes(frame)


def test_mutated_hdlc_frames_do_not_stop_the_optical_port(meter: MeterProcess) -> None:
    assert meter.hdlc_port is not None
    physical = int(meter.keys["hdlc"]["physical_address"])
    sent = 0
    for seed in range(3):
        with socket.create_connection(("127.0.0.1", meter.hdlc_port)) as raw:
            raw.settimeout(None)  # blocking, so that MSG_DONTWAIT reads return at once
            for frame in mutated_frames(physical, 1000, seed):
                raw.sendall(frame)
                sent += 1
                # Drain whatever the meter answered (UA, DM, FRMR, RR) without blocking.
                with contextlib.suppress(BlockingIOError):
                    while raw.recv(65536, socket.MSG_DONTWAIT):
                        pass
    assert sent == 3000
    assert meter.alive
    with HdlcClient("127.0.0.1", meter.hdlc_port, physical_address=physical) as client:
        client.connect()
        client.associate()
        value = client.get(8, "0.0.1.0.0.255", 2)
    assert isinstance(value, OctetString)
    assert CosemDateTime.from_bytes(value.value).to_datetime() == TEST_CLOCK
