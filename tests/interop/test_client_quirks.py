"""The client quirks the interop drivers work around, pinned so that a client upgrade that
fixes (or changes) one shows up here. No meter needed; docs/INTEROP.md explains each one."""

from __future__ import annotations

import pytest
from dlms_cosem.hdlc.address import HdlcAddress as CosemHdlcAddress
from dlms_cosem.hdlc.frames import InformationFrame
from dlms_cosem.io import HdlcTransport
from gurux_dlms import GXDLMSClient
from gurux_dlms.enums import InterfaceType, ObjectType
from tests.interop.clients import (
    EntryDescriptor,
    FramedHdlcTransport,
    gurux_object,
    hdlc_addresses,
)

pytestmark = pytest.mark.interop

CLIENT = CosemHdlcAddress(16, None, "client")
SERVER = CosemHdlcAddress(1, 0x1375, "server", extended_addressing=True)


class BufferIO:
    """dlms-cosem's IoImplementation over fixed bytes; running dry is an error, not a wait."""

    def __init__(self, data: bytes) -> None:
        self.data = bytearray(data)

    def connect(self) -> None: ...

    def disconnect(self) -> None: ...

    def send(self, data: bytes) -> None: ...

    def recv(self, amount: int = 1) -> bytes:
        if len(self.data) < amount:
            raise EOFError("the test frame ran out")
        chunk = bytes(self.data[:amount])
        del self.data[:amount]
        return chunk

    def recv_until(self, end: bytes) -> bytes:
        chunk = bytearray()
        while not chunk.endswith(end):
            chunk += self.recv(1)
        return bytes(chunk)


def frame_with_an_inner_flag() -> bytes:
    """An I-frame from the meter whose information field holds 0x7E (legal in DLMS HDLC)."""
    frame = InformationFrame(
        destination_address=CLIENT,
        source_address=SERVER,
        payload=b"\xe6\xe7\x00\xc4\x01\xc1\x00\x09\x02\x7e\x7e",
        send_sequence_number=0,
        receive_sequence_number=1,
        segmented=False,
        final=True,
    )
    return bytes(frame.to_bytes())


def transport(kind: type[HdlcTransport], data: bytes) -> HdlcTransport:
    return kind(
        client_logical_address=16,
        server_logical_address=1,
        server_physical_address=0x1375,
        extended_addressing=True,
        io=BufferIO(data),
    )


def test_dlms_cosem_cuts_a_frame_at_an_inner_flag() -> None:
    frame = frame_with_an_inner_flag()

    received = transport(HdlcTransport, frame).recv_frame()

    assert received != frame and frame.startswith(received)


def test_the_framed_transport_reads_the_whole_frame_by_its_length() -> None:
    frame = frame_with_an_inner_flag()

    assert transport(FramedHdlcTransport, frame).recv_frame() == frame


def test_the_framed_transport_reads_frames_sharing_a_flag() -> None:
    frame = frame_with_an_inner_flag()
    shared = frame + frame[1:]  # 7E frame 7E frame 7E

    reader = transport(FramedHdlcTransport, shared)

    assert reader.recv_frame() == frame
    assert reader.recv_frame() == frame


def test_dlms_cosem_needs_extended_addressing_for_the_four_byte_form() -> None:
    # Without it every zero address byte is left out: logical 1 loses its 00 high byte.
    plain = CosemHdlcAddress(1, 0x1375, "server").to_bytes()
    extended = CosemHdlcAddress(1, 0x1375, "server", extended_addressing=True).to_bytes()

    assert len(plain) == 3
    assert extended == bytes((0x00, 0x02, 0x4C, 0xEB))  # 1 -> 00 02; 0x1375 -> 4C EB


def test_gurux_two_byte_addresses_hold_seven_bits_of_physical_address() -> None:
    client = GXDLMSClient(True, 16, GXDLMSClient.getServerAddress(1, 0x25, 2))
    client.serverAddressSize = 2

    destination, source = hdlc_addresses(bytes(client.snrmRequest()))

    assert destination == bytes((0x02, 0x4B)) and source == b"\x21"
    # A physical address of 0x80 or more no longer fits: gurux falls back to 14-bit parts.
    assert GXDLMSClient.getServerAddress(1, 0x80, 2) == 1 << 14 | 0x80


def test_the_entry_descriptor_encodes_like_gurux() -> None:
    client = GXDLMSClient(True, 16, 1, interfaceType=InterfaceType.WRAPPER)
    profile = gurux_object(ObjectType.PROFILE_GENERIC, "1.0.99.1.0.255")

    (request,) = client.readRowsByEntry(profile, 10, 5)

    # access-selection present, then selector 2 and its parameters (rows 10..14, all columns)
    assert bytes(request).endswith(b"\x01" + EntryDescriptor(from_entry=10, to_entry=14).to_bytes())
