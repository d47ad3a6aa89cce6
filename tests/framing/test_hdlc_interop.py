"""HDLC against independent implementations: dlms-cosem and gurux-dlms (test-only oracles)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from securemeter.framing.hdlc import (
    ApduReceived,
    FrameType,
    HdlcAddress,
    HdlcFrame,
    HdlcFrameDecoder,
    HdlcParameters,
    HdlcServerLink,
    LinkConnected,
    LinkDisconnected,
    LinkEvent,
    LinkState,
)
from securemeter.framing.hdlc.frames import information_control, supervisory_control

pytestmark = pytest.mark.interop

dlms_frames = pytest.importorskip("dlms_cosem.hdlc.frames")
dlms_address = pytest.importorskip("dlms_cosem.hdlc.address")
gurux = pytest.importorskip("gurux_dlms")
gurux_enums = pytest.importorskip("gurux_dlms.enums")


def _ours(address: Any, *, client: bool) -> HdlcAddress:
    """Our address equal to a dlms-cosem HdlcAddress."""
    if client:
        return HdlcAddress(address.logical_address, None, 1)
    if address.physical_address is None:
        return HdlcAddress(address.logical_address, None, 1)
    size = 4 if address.extended_addressing else 2
    return HdlcAddress(address.logical_address, address.physical_address, size)


# dlms-cosem omits zero address bytes unless "extended addressing" is set: use non-zero parts.
short_server = st.builds(
    lambda logical, physical: dlms_address.HdlcAddress(logical, physical, "server"),
    st.integers(1, 0x7F),
    st.one_of(st.none(), st.integers(1, 0x7F)),
)
long_server = st.builds(
    lambda logical, physical: dlms_address.HdlcAddress(logical, physical, "server", True),
    st.integers(0x80, 0x3FFF),
    st.integers(0x80, 0x3FFF),
)
servers = st.one_of(short_server, long_server)
clients = st.builds(
    lambda logical: dlms_address.HdlcAddress(logical, None, "client"), st.integers(1, 0x7F)
)


@settings(deadline=None, max_examples=100)
@given(
    server=servers,
    client=clients,
    payload=st.binary(min_size=1, max_size=200),
    send=st.integers(0, 7),
    receive=st.integers(0, 7),
    segmented=st.booleans(),
    final=st.booleans(),
)
def test_dlms_cosem_information_frames_both_ways(
    server: Any,
    client: Any,
    payload: bytes,
    send: int,
    receive: int,
    segmented: bool,
    final: bool,
) -> None:
    # Client -> server: the same bytes, and ours parses theirs.
    theirs = dlms_frames.InformationFrame(
        destination_address=server,
        source_address=client,
        payload=payload,
        send_sequence_number=send,
        receive_sequence_number=receive,
        segmented=segmented,
        final=final,
    )
    ours = HdlcFrame(
        segmented,
        _ours(server, client=False),
        _ours(client, client=True),
        information_control(send, receive, final),
        payload,
    )
    assert ours.to_bytes() == theirs.to_bytes()
    assert HdlcFrame.from_bytes(theirs.to_bytes()) == ours
    # Server -> client (the direction their client parses): theirs parses ours.
    answer = HdlcFrame(
        segmented,
        _ours(client, client=True),
        _ours(server, client=False),
        information_control(send, receive, final),
        payload,
    )
    parsed = dlms_frames.InformationFrame.from_bytes(answer.to_bytes())
    assert bytes(parsed.payload) == payload
    assert (parsed.send_sequence_number, parsed.receive_sequence_number) == (send, receive)
    assert (parsed.segmented, parsed.final) == (segmented, final)
    assert parsed.source_address.logical_address == server.logical_address
    assert parsed.source_address.physical_address == server.physical_address
    assert parsed.to_bytes() == answer.to_bytes()


@settings(deadline=None, max_examples=60)
@given(server=servers, client=clients, receive=st.integers(0, 7))
def test_dlms_cosem_control_frames_both_ways(server: Any, client: Any, receive: int) -> None:
    our_server = _ours(server, client=False)
    our_client = _ours(client, client=True)
    snrm = dlms_frames.SetNormalResponseModeFrame(server, client)
    assert HdlcFrame.from_bytes(snrm.to_bytes()) == HdlcFrame(False, our_server, our_client, 0x93)
    disc = dlms_frames.DisconnectFrame(server, client)
    assert HdlcFrame.from_bytes(disc.to_bytes()) == HdlcFrame(False, our_server, our_client, 0x53)
    # Server -> client answers, built by us, read by them.
    rr = HdlcFrame(False, our_client, our_server, supervisory_control(FrameType.RR, receive, True))
    assert dlms_frames.ReceiveReadyFrame.from_bytes(rr.to_bytes()).receive_sequence_number == (
        receive
    )
    assert dlms_frames.ReceiveReadyFrame(
        client, server, receive_sequence_number=receive
    ).to_bytes() == (rr.to_bytes())
    parameters = HdlcParameters(200, 300, 1, 1).to_bytes()
    ua = HdlcFrame(False, our_client, our_server, 0x73, parameters)
    theirs = dlms_frames.UnNumberedAcknowledgmentFrame.from_bytes(ua.to_bytes())
    assert bytes(theirs.payload) == parameters
    assert theirs.to_bytes() == ua.to_bytes()


class _LoopIO:
    """dlms-cosem's IoImplementation, wired to our server link in memory."""

    def __init__(self, server: HdlcServerLink) -> None:
        self.server = server
        self.pending = bytearray()
        self.events: list[LinkEvent] = []

    def connect(self) -> None:
        pass

    def disconnect(self) -> None:
        pass

    def send(self, data: bytes) -> None:
        for event in self.server.receive_data(bytes(data), 0.0):
            self.events.append(event)
            if isinstance(event, ApduReceived):
                # Answer with the request reversed, made long enough to need segments.
                self.server.send_apdu(event.apdu[::-1] * 3)
        self.pending += self.server.data_to_send()

    def recv(self, amount: int) -> bytes:
        data = bytes(self.pending[:amount])
        del self.pending[:amount]
        return data

    def recv_until(self, end: bytes) -> bytes:
        index = self.pending.index(end)
        data = bytes(self.pending[: index + 1])
        del self.pending[: index + 1]
        return data


@pytest.mark.parametrize("physical", [17, None])
def test_dlms_cosem_client_transport_against_our_server(physical: int | None) -> None:
    from dlms_cosem.io import HdlcTransport

    server = HdlcServerLink(17)
    io = _LoopIO(server)
    transport = HdlcTransport(
        client_logical_address=16,
        server_logical_address=1,
        server_physical_address=physical,
        io=io,
    )
    transport.connect()
    assert isinstance(io.events[0], LinkConnected)
    assert server.parameters == HdlcParameters()  # dlms-cosem sends SNRM without parameters
    # dlms-cosem's frame finder stumbles on runs of 0x7E in a frame: single ones only.
    long_request = bytes(range(256)) * 2
    for request in (b"\xc0\x01\xc1", long_request):
        response = transport.send_request(request)
        assert bytes(response) == request[::-1] * 3
    transport.disconnect()
    assert isinstance(io.events[-1], LinkDisconnected)
    assert server.state is LinkState.NDM
    received = [event.apdu for event in io.events if isinstance(event, ApduReceived)]
    assert received == [b"\xc0\x01\xc1", long_request]


# ----------------------------------------------------------------------------- gurux-dlms


def _gurux_client(address_size: int, **hdlc: int) -> Any:
    client_class = gurux.GXDLMSClient
    # In the 1-byte form the address is the logical device alone.
    server_address = 1 if address_size == 1 else client_class.getServerAddress(1, 17, address_size)
    client = client_class(
        True,
        16,
        server_address,
        gurux_enums.Authentication.NONE,
        None,
        gurux_enums.InterfaceType.HDLC,
    )
    client.serverAddressSize = address_size
    for name, value in hdlc.items():
        setattr(client.hdlcSettings, name, value)
    return client


def _feed_gurux(client: Any, data: bytes, reply: Any | None = None) -> Any:
    reply = reply if reply is not None else gurux.GXReplyData()
    client.getData(gurux.GXByteBuffer(data), reply)
    return reply


@pytest.mark.parametrize("address_size", [1, 2, 4])
def test_gurux_snrm_and_aarq_are_accepted(address_size: int) -> None:
    client = _gurux_client(address_size)
    server = HdlcServerLink(17)
    snrm = bytes(client.snrmRequest())
    (event,) = server.receive_data(snrm, 0.0)
    assert isinstance(event, LinkConnected)
    assert event.server_address.size == address_size
    reply = _feed_gurux(client, server.data_to_send())
    client.parseUAResponse(reply.data)
    (aarq_frame,) = client.aarqRequest()
    (event,) = server.receive_data(bytes(aarq_frame), 0.0)
    assert isinstance(event, ApduReceived)
    assert event.client_address == 16
    assert event.apdu[:1] == b"\x60"  # AARQ tag, LLC removed


def test_gurux_parameter_proposal_is_negotiated() -> None:
    client = _gurux_client(2, maxInfoTX=256, maxInfoRX=512, windowSizeRX=3, windowSizeTX=3)
    server = HdlcServerLink(17, max_info_length=400, window=2)
    (event,) = server.receive_data(bytes(client.snrmRequest()), 0.0)
    assert isinstance(event, LinkConnected)
    assert event.parameters == HdlcParameters(400, 256, 2, 2)
    reply = _feed_gurux(client, server.data_to_send())
    client.parseUAResponse(reply.data)
    # gurux reads the UA from the server's point of view.
    assert client.hdlcSettings.maxInfoTX == 256
    assert client.hdlcSettings.maxInfoRX == 400


def test_gurux_reads_a_long_segmented_response() -> None:
    client = _gurux_client(2, maxInfoRX=128)
    server = HdlcServerLink(17)
    server.receive_data(bytes(client.snrmRequest()), 0.0)
    client.parseUAResponse(_feed_gurux(client, server.data_to_send()).data)
    (aarq_frame,) = client.aarqRequest()
    server.receive_data(bytes(aarq_frame), 0.0)
    response = b"\x61" + bytes(i % 256 for i in range(1500))
    server.send_apdu(response)
    reply = gurux.GXReplyData()
    segments = 0
    while True:
        out = server.data_to_send()
        frames = HdlcFrameDecoder()
        frames.receive_data(out)
        frame = frames.next_frame()
        assert frame is not None and len(frame.information) <= 128
        segments += 1
        _feed_gurux(client, out, reply)
        if not reply.isMoreData():
            break
        assert server.receive_data(bytes(client.receiverReady(reply)), 0.0) == []
    assert segments == 12  # 1504 bytes with the LLC in 128-byte information fields
    assert bytes(reply.data) == response


def test_gurux_segmented_request_is_reassembled() -> None:
    client = _gurux_client(4)
    server = HdlcServerLink(17, max_info_length=32)
    server.receive_data(bytes(client.snrmRequest()), 0.0)
    client.parseUAResponse(_feed_gurux(client, server.data_to_send()).data)
    assert client.hdlcSettings.maxInfoTX == 32
    frames = client.aarqRequest()
    assert len(frames) == 2
    assert server.receive_data(bytes(frames[0]), 0.0) == []
    rr = server.data_to_send()
    assert HdlcFrame.from_bytes(rr).frame_type is FrameType.RR
    (event,) = server.receive_data(bytes(frames[1]), 0.0)
    assert isinstance(event, ApduReceived) and event.apdu[:1] == b"\x60"


def test_gurux_disconnect_request() -> None:
    client = _gurux_client(2)
    server = HdlcServerLink(17)
    server.receive_data(bytes(client.snrmRequest()), 0.0)
    client.parseUAResponse(_feed_gurux(client, server.data_to_send()).data)
    events = server.receive_data(bytes(client.disconnectRequest()), 0.0)
    assert isinstance(events[0], LinkDisconnected)
    ua = HdlcFrame.from_bytes(server.data_to_send())
    assert ua.frame_type is FrameType.UA
