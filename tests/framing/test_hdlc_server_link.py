"""HdlcServerLink driven frame by frame, as a client on the line would drive it."""

from __future__ import annotations

import pytest

from securemeter.errors import LocalProtocolError
from securemeter.framing.hdlc import (
    ApduReceived,
    DisconnectReason,
    DropReason,
    FrameDropped,
    FrameType,
    HdlcAddress,
    HdlcFrame,
    HdlcFrameDecoder,
    HdlcParameters,
    HdlcServerLink,
    LinkConnected,
    LinkDisconnected,
    LinkState,
)
from securemeter.framing.hdlc.frames import (
    information_control,
    supervisory_control,
    unnumbered_control,
)

SERVER = HdlcAddress(1, 17, 2)
CLIENT = HdlcAddress(16, None, 1)
SNRM = bytes.fromhex("7EA00802232193BD647E")
AARQ_FRAME = bytes.fromhex(
    "7EA02C02232110AF9FE6E600601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFFC5E47E"
)
AARQ = bytes.fromhex("601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFF")
AARE = bytes.fromhex(
    "6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F0400001E1D04C80007"
)
AARE_FRAME = bytes.fromhex(
    "7EA0382102233034E7E6E7006129A109060760857405080101A203020100A305A103020100BE10040E0800"
    "065F1F0400001E1D04C80007B86A7E"
)
LLC = bytes.fromhex("E6E600")


def command(
    frame_type: FrameType,
    information: bytes = b"",
    *,
    destination: HdlcAddress = SERVER,
    source: HdlcAddress = CLIENT,
    poll: bool = True,
) -> bytes:
    return HdlcFrame(
        False, destination, source, unnumbered_control(frame_type, poll), information
    ).to_bytes()


def i_frame(
    send: int,
    receive: int,
    information: bytes,
    *,
    segmented: bool = False,
    poll: bool = True,
    source: HdlcAddress = CLIENT,
) -> bytes:
    control = information_control(send, receive, poll)
    return HdlcFrame(segmented, SERVER, source, control, information).to_bytes()


def rr(receive: int, *, poll: bool = True, frame_type: FrameType = FrameType.RR) -> bytes:
    return HdlcFrame(
        False, SERVER, CLIENT, supervisory_control(frame_type, receive, poll)
    ).to_bytes()


def sent_frames(link: HdlcServerLink) -> list[HdlcFrame]:
    decoder = HdlcFrameDecoder()
    decoder.receive_data(link.data_to_send())
    frames = []
    while (frame := decoder.next_frame()) is not None:
        frames.append(frame)
    assert decoder.dropped_count == 0
    return frames


def connected(
    max_info_length: int = 1024,
    window: int = 1,
    proposal: bytes = b"",
    *,
    inactivity_timeout: float | None = 120.0,
    max_apdu_size: int = 0xFFFF,
) -> HdlcServerLink:
    link = HdlcServerLink(
        17,
        max_info_length=max_info_length,
        window=window,
        inactivity_timeout=inactivity_timeout,
        max_apdu_size=max_apdu_size,
    )
    events = link.receive_data(command(FrameType.SNRM, proposal), 0.0)
    assert isinstance(events[0], LinkConnected)
    (ua,) = sent_frames(link)
    assert ua.frame_type is FrameType.UA
    return link


# ----------------------------------------------------------------------------- connection


def test_snrm_vector_gets_ua_with_default_parameters() -> None:
    link = HdlcServerLink(17)
    events = link.receive_data(SNRM, 0.0)
    assert events == [LinkConnected(16, SERVER, HdlcParameters(128, 128, 1, 1))]
    assert link.state is LinkState.NRM
    assert link.client_address == 16
    (ua,) = sent_frames(link)
    assert ua.destination == CLIENT and ua.source == SERVER
    assert ua.control == 0x73
    assert HdlcParameters.from_bytes(ua.information) == HdlcParameters(128, 128, 1, 1)
    encoded = ua.to_bytes()
    # Same header (and HCS) as the published UA, which has the same length.
    assert encoded[:9] == bytes.fromhex("7EA01F21022373E6C7")
    assert encoded[9:-3] == bytes.fromhex("818012 050180 060180 070400000001 080400000001")


def test_snrm_parameters_are_negotiated_down() -> None:
    link = HdlcServerLink(17, max_info_length=512, window=3)
    proposal = HdlcParameters(
        max_info_length_transmit=1000,
        max_info_length_receive=256,
        window_size_transmit=7,
        window_size_receive=2,
    )
    (event,) = link.receive_data(command(FrameType.SNRM, proposal.to_bytes()), 0.0)
    expected = HdlcParameters(256, 512, 2, 3)  # server's view: transmit, receive
    assert event == LinkConnected(16, SERVER, expected)
    assert link.parameters == expected
    (ua,) = sent_frames(link)
    assert HdlcParameters.from_bytes(ua.information) == expected


@pytest.mark.parametrize(
    "information",
    [
        bytes.fromhex("818003050110"),  # max info 16 < 32
        bytes.fromhex("818006070400000000"),  # window 0
        bytes.fromhex("8180FF"),  # malformed
    ],
)
def test_unusable_snrm_parameters_get_dm(information: bytes) -> None:
    link = HdlcServerLink(17)
    assert link.receive_data(command(FrameType.SNRM, information), 0.0) == [
        FrameDropped(DropReason.BAD_PARAMETERS)
    ]
    assert link.state is LinkState.NDM
    (dm,) = sent_frames(link)
    assert dm.frame_type is FrameType.DM


@pytest.mark.parametrize(
    "destination",
    [HdlcAddress(1, None, 1), HdlcAddress(1, 17, 2), HdlcAddress(1, 17, 4)],
)
def test_own_address_in_every_form(destination: HdlcAddress) -> None:
    link = HdlcServerLink(17)
    (event,) = link.receive_data(command(FrameType.SNRM, destination=destination), 0.0)
    assert event == LinkConnected(16, destination, HdlcParameters())
    (ua,) = sent_frames(link)
    assert ua.source == destination  # answered in the form it was addressed in


def test_physical_address_beyond_seven_bits_needs_the_4_byte_form() -> None:
    link = HdlcServerLink(0x1234, logical_address=0x81)
    assert link.receive_data(command(FrameType.SNRM, destination=HdlcAddress(0x81, 0x1234, 4)), 0)
    assert link.state is LinkState.NRM


@pytest.mark.parametrize(
    "destination",
    [
        HdlcAddress(1, 18, 2),  # another meter on the bus
        HdlcAddress(2, 17, 2),  # another logical device
        HdlcAddress(0x7F, None, 1),  # all-station
        HdlcAddress(2, None, 1),
        HdlcAddress(1, 18, 4),
    ],
)
def test_frames_for_other_stations_are_silently_ignored(destination: HdlcAddress) -> None:
    link = HdlcServerLink(17)
    assert link.receive_data(command(FrameType.SNRM, destination=destination), 0.0) == []
    assert link.data_to_send() == b""
    assert link.state is LinkState.NDM
    assert link.ignored_frame_count == 1


def test_any_one_byte_client_may_connect() -> None:
    for sap in (1, 16, 0x7F, 0):
        link = HdlcServerLink(17)
        (event,) = link.receive_data(command(FrameType.SNRM, source=HdlcAddress(sap, None, 1)), 0)
        assert isinstance(event, LinkConnected) and event.client_address == sap


def test_multi_byte_client_address_is_dropped() -> None:
    link = HdlcServerLink(17)
    events = link.receive_data(command(FrameType.SNRM, source=HdlcAddress(16, 1, 2)), 0.0)
    assert events == [FrameDropped(DropReason.CLIENT_ADDRESS)]
    assert link.data_to_send() == b""


def test_disc_when_connected_gets_ua() -> None:
    link = connected()
    assert link.receive_data(command(FrameType.DISC), 1.0) == [
        LinkDisconnected(DisconnectReason.PEER_DISCONNECT)
    ]
    (ua,) = sent_frames(link)
    assert ua.frame_type is FrameType.UA and ua.information == b""
    assert link.state is LinkState.NDM
    assert link.client_address is None


def test_disc_when_disconnected_gets_dm() -> None:
    link = HdlcServerLink(17)
    assert link.receive_data(command(FrameType.DISC), 0.0) == []
    (dm,) = sent_frames(link)
    assert dm.frame_type is FrameType.DM
    assert dm.control == 0x1F


def test_information_frame_while_disconnected_gets_dm() -> None:
    link = HdlcServerLink(17)
    assert link.receive_data(AARQ_FRAME, 0.0) == [FrameDropped(DropReason.NOT_CONNECTED)]
    (dm,) = sent_frames(link)
    assert dm.frame_type is FrameType.DM


def test_snrm_while_connected_resets_sequence_numbers() -> None:
    link = connected()
    link.receive_data(AARQ_FRAME, 0.0)
    link.send_apdu(AARE)
    sent_frames(link)
    events = link.receive_data(SNRM, 1.0)
    assert events == [
        LinkDisconnected(DisconnectReason.RESET),
        LinkConnected(16, SERVER, HdlcParameters()),
    ]
    sent_frames(link)
    # N(S)=0 is in sequence again.
    assert link.receive_data(AARQ_FRAME, 1.0) == [ApduReceived(16, AARQ)]


def test_other_client_is_refused_while_one_is_connected() -> None:
    link = connected()
    other = HdlcAddress(1, None, 1)
    assert link.receive_data(command(FrameType.SNRM, source=other), 0.0) == [
        FrameDropped(DropReason.OTHER_CLIENT)
    ]
    (dm,) = sent_frames(link)
    assert dm.frame_type is FrameType.DM and dm.destination == other
    assert link.client_address == 16
    assert link.receive_data(AARQ_FRAME, 0.0) == [ApduReceived(16, AARQ)]


def test_ui_frames_are_ignored() -> None:
    link = connected()
    assert link.receive_data(command(FrameType.UI, b"\x01\x02", poll=False), 0.0) == []
    assert link.data_to_send() == b""


@pytest.mark.parametrize("frame_type", [FrameType.UA, FrameType.DM, FrameType.FRMR])
def test_responses_from_a_client_are_dropped(frame_type: FrameType) -> None:
    link = connected()
    assert link.receive_data(command(frame_type), 0.0) == [FrameDropped(DropReason.UNEXPECTED)]
    assert link.state is LinkState.NRM


# ----------------------------------------------------------------------------- data transfer


def test_aarq_vector_and_aare_answer() -> None:
    link = connected()
    assert link.receive_data(AARQ_FRAME, 0.0) == [ApduReceived(16, AARQ)]
    assert link.data_to_send() == b""  # the turn is the application's
    link.send_apdu(AARE)
    assert link.data_to_send() == AARE_FRAME  # the published response frame, byte for byte


def test_rr_poll_with_nothing_to_send_gets_rr() -> None:
    link = connected()
    link.receive_data(rr(0), 0.0)
    (answer,) = sent_frames(link)
    assert answer.frame_type is FrameType.RR
    assert answer.receive_sequence_number == 0
    assert answer.poll_final


def test_out_of_sequence_information_frame_gets_rr_with_expected_number() -> None:
    link = connected()
    assert link.receive_data(i_frame(3, 0, LLC + b"\x01"), 0.0) == [
        FrameDropped(DropReason.OUT_OF_SEQUENCE)
    ]
    (answer,) = sent_frames(link)
    assert answer.frame_type is FrameType.RR
    assert answer.receive_sequence_number == 0
    assert link.receive_data(i_frame(0, 0, LLC + b"\x01"), 0.0) == [ApduReceived(16, b"\x01")]


def test_repeated_request_after_lost_response_gets_the_response_again() -> None:
    link = connected()
    link.receive_data(i_frame(0, 0, LLC + b"\x01"), 0.0)
    link.send_apdu(b"\x02")
    (response,) = sent_frames(link)
    # The response is lost; the client repeats its request (N(S)=0, N(R)=0).
    assert link.receive_data(i_frame(0, 0, LLC + b"\x01"), 1.0) == [
        FrameDropped(DropReason.OUT_OF_SEQUENCE)
    ]
    assert sent_frames(link) == [response]
    # The next request acknowledges it.
    assert link.receive_data(i_frame(1, 1, LLC + b"\x03"), 2.0) == [ApduReceived(16, b"\x03")]


def test_rr_poll_after_lost_response_retransmits() -> None:
    link = connected()
    link.receive_data(i_frame(0, 0, LLC + b"\x01"), 0.0)
    link.send_apdu(b"\x02")
    (response,) = sent_frames(link)
    link.receive_data(rr(0), 1.0)  # "I still expect your N(S)=0"
    assert sent_frames(link) == [response]
    link.receive_data(rr(1), 1.0)  # acknowledged: nothing left
    (answer,) = sent_frames(link)
    assert answer.frame_type is FrameType.RR


@pytest.mark.parametrize("control", [0x19, 0x3F, 0x0D])  # REJ, SABM, SREJ
def test_unknown_control_field_gets_frmr(control: int) -> None:
    link = connected()
    frame = HdlcFrame(False, SERVER, CLIENT, control).to_bytes()
    assert link.receive_data(frame, 0.0) == [FrameDropped(DropReason.UNKNOWN_CONTROL)]
    (frmr,) = sent_frames(link)
    assert frmr.frame_type is FrameType.FRMR
    assert frmr.information == bytes((control, 0x00, 0x01))  # rejected control, V(S)/V(R), W


def test_invalid_receive_sequence_number_gets_frmr() -> None:
    link = connected()
    assert link.receive_data(i_frame(0, 5, LLC + b"\x01"), 0.0) == [
        FrameDropped(DropReason.INVALID_RECEIVE_SEQUENCE)
    ]
    (frmr,) = sent_frames(link)
    assert frmr.frame_type is FrameType.FRMR
    assert frmr.information[2] == 0x08  # Z
    assert link.receive_data(rr(2), 0.0) == [FrameDropped(DropReason.INVALID_RECEIVE_SEQUENCE)]


def test_information_field_too_long_gets_frmr() -> None:
    link = connected()  # negotiated receive: 128
    assert link.receive_data(i_frame(0, 0, LLC + bytes(126)), 0.0) == [
        FrameDropped(DropReason.INFORMATION_TOO_LONG)
    ]
    (frmr,) = sent_frames(link)
    assert frmr.information[2] == 0x04  # Y
    assert link.receive_data(i_frame(0, 0, LLC + bytes(125)), 0.0) == [ApduReceived(16, bytes(125))]


def test_information_on_rr_gets_frmr() -> None:
    link = connected()
    frame = HdlcFrame(False, SERVER, CLIENT, supervisory_control(FrameType.RR, 0, True), b"x")
    assert link.receive_data(frame.to_bytes(), 0.0) == [
        FrameDropped(DropReason.INFORMATION_NOT_PERMITTED)
    ]
    (frmr,) = sent_frames(link)
    assert frmr.information[2] == 0x03  # W and X


def test_missing_llc_is_dropped_and_the_poll_answered() -> None:
    link = connected()
    assert link.receive_data(i_frame(0, 0, b"\x60\x1d"), 0.0) == [
        FrameDropped(DropReason.MISSING_LLC)
    ]
    (answer,) = sent_frames(link)
    assert answer.frame_type is FrameType.RR and answer.receive_sequence_number == 1


def test_apdu_above_the_limit_is_dropped() -> None:
    link = connected(max_apdu_size=200)
    data = LLC + bytes(300)
    segments = [data[i : i + 128] for i in range(0, len(data), 128)]
    events = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        events += link.receive_data(i_frame(index, 0, segment, segmented=not last), 0.0)
        (answer,) = sent_frames(link)
        assert answer.frame_type is FrameType.RR and answer.receive_sequence_number == index + 1
    assert events == [FrameDropped(DropReason.APDU_TOO_LONG)]
    # The link is still in step.
    assert link.receive_data(i_frame(3, 0, LLC + b"\x05"), 0.0) == [ApduReceived(16, b"\x05")]


def test_receive_segmented_apdu_acknowledging_each_segment() -> None:
    link = connected()
    apdu = bytes(i % 251 for i in range(1000))
    data = LLC + apdu
    segments = [data[i : i + 128] for i in range(0, len(data), 128)]
    assert len(segments) == 8
    for index, segment in enumerate(segments[:-1]):
        send_sequence = index % 8
        assert link.receive_data(i_frame(send_sequence, 0, segment, segmented=True), 0.0) == []
        (answer,) = sent_frames(link)
        assert answer.frame_type is FrameType.RR
        assert answer.receive_sequence_number == (send_sequence + 1) % 8
    events = link.receive_data(i_frame(7, 0, segments[-1]), 0.0)
    assert events == [ApduReceived(16, apdu)]


def test_send_segmented_apdu_one_segment_per_rr() -> None:
    link = connected()
    link.receive_data(i_frame(0, 0, LLC + b"\xc0"), 0.0)
    apdu = bytes(i % 253 for i in range(1200))
    link.send_apdu(apdu)
    received = bytearray()
    send_sequence = 0
    while True:
        (frame,) = sent_frames(link)
        assert frame.frame_type is FrameType.I
        assert frame.send_sequence_number == send_sequence
        assert frame.receive_sequence_number == 1
        assert frame.poll_final
        assert len(frame.information) <= 128
        received += frame.information
        send_sequence = (send_sequence + 1) % 8
        if not frame.segmented:
            break
        assert link.data_to_send() == b""  # nothing more before the client's RR
        link.receive_data(rr(send_sequence), 0.0)
    assert received == b"\xe6\xe7\x00" + apdu
    assert len(received) == 1203


def test_send_with_window_three() -> None:
    proposal = HdlcParameters(128, 128, 3, 3).to_bytes()
    link = connected(window=3, proposal=proposal)
    assert link.parameters.window_size_transmit == 3
    link.receive_data(i_frame(0, 0, LLC + b"\xc0"), 0.0)
    link.send_apdu(bytes(128 * 5))
    burst = sent_frames(link)
    assert [frame.send_sequence_number for frame in burst] == [0, 1, 2]
    assert [frame.poll_final for frame in burst] == [False, False, True]
    assert all(frame.segmented for frame in burst)
    link.receive_data(rr(3), 0.0)
    burst = sent_frames(link)
    assert [frame.send_sequence_number for frame in burst] == [3, 4, 5]
    assert [frame.segmented for frame in burst] == [True, True, False]
    assert burst[-1].poll_final


def test_receive_with_window_three_answers_only_the_poll() -> None:
    proposal = HdlcParameters(128, 128, 3, 3).to_bytes()
    link = connected(window=3, proposal=proposal)
    data = LLC + bytes(300)
    segments = [data[i : i + 128] for i in range(0, len(data), 128)]
    assert link.receive_data(i_frame(0, 0, segments[0], segmented=True, poll=False), 0.0) == []
    assert link.receive_data(i_frame(1, 0, segments[1], segmented=True, poll=False), 0.0) == []
    assert link.data_to_send() == b""
    assert link.receive_data(i_frame(2, 0, segments[2]), 0.0) == [ApduReceived(16, bytes(300))]


def test_rnr_holds_back_information_frames() -> None:
    link = connected()
    link.receive_data(i_frame(0, 0, LLC + b"\xc0"), 0.0)
    link.send_apdu(bytes(300))
    (first,) = sent_frames(link)
    assert first.send_sequence_number == 0 and first.segmented
    link.receive_data(rr(1, frame_type=FrameType.RNR), 0.0)
    (answer,) = sent_frames(link)
    assert answer.frame_type is FrameType.RR  # busy peer: no I-frame
    link.receive_data(rr(1), 0.0)
    (second,) = sent_frames(link)
    assert second.frame_type is FrameType.I and second.send_sequence_number == 1


def test_sequence_numbers_wrap_around() -> None:
    link = connected()
    for request in range(20):
        send_sequence = request % 8
        events = link.receive_data(i_frame(send_sequence, send_sequence, LLC + b"\x01"), 0.0)
        assert events == [ApduReceived(16, b"\x01")]
        link.send_apdu(bytes((request,)))
        (response,) = sent_frames(link)
        assert response.send_sequence_number == send_sequence
        assert response.receive_sequence_number == (send_sequence + 1) % 8


def test_send_apdu_requires_a_link() -> None:
    with pytest.raises(LocalProtocolError):
        HdlcServerLink(17).send_apdu(b"\x01")


# ----------------------------------------------------------------------------- timers, local


def test_inactivity_timeout() -> None:
    link = connected(inactivity_timeout=10.0)
    assert link.check_timeout(9.9) == []
    link.receive_data(rr(0), 5.0)  # a valid frame from the client restarts the timer
    sent_frames(link)
    assert link.check_timeout(14.9) == []
    assert link.check_timeout(15.0) == [LinkDisconnected(DisconnectReason.INACTIVITY)]
    assert link.state is LinkState.NDM
    assert link.check_timeout(100.0) == []


def test_noise_does_not_keep_the_link_alive() -> None:
    link = connected(inactivity_timeout=10.0)
    link.receive_data(b"\x7e\x00\x11garbage\x7e", 8.0)
    link.receive_data(command(FrameType.SNRM, destination=HdlcAddress(1, 18, 2)), 9.0)
    assert link.check_timeout(10.0) == [LinkDisconnected(DisconnectReason.INACTIVITY)]


def test_expired_link_is_down_before_the_late_frame_is_handled() -> None:
    link = connected(inactivity_timeout=10.0)
    events = link.receive_data(i_frame(0, 0, LLC + b"\x01"), 30.0)
    assert events == [
        LinkDisconnected(DisconnectReason.INACTIVITY),
        FrameDropped(DropReason.NOT_CONNECTED),
    ]
    (dm,) = sent_frames(link)
    assert dm.frame_type is FrameType.DM


def test_no_inactivity_timeout() -> None:
    link = connected(inactivity_timeout=None)
    assert link.check_timeout(1e9) == []
    assert link.state is LinkState.NRM


def test_local_disconnect_answers_a_pending_poll_with_dm() -> None:
    link = connected()
    link.receive_data(AARQ_FRAME, 0.0)
    link.disconnect()
    (dm,) = sent_frames(link)
    assert dm.frame_type is FrameType.DM
    assert link.state is LinkState.NDM
    link.receive_data(rr(0), 0.0)
    (dm,) = sent_frames(link)
    assert dm.frame_type is FrameType.DM
    link.disconnect()  # already down: nothing happens
    assert link.data_to_send() == b""


def test_constructor_checks() -> None:
    with pytest.raises(ValueError):
        HdlcServerLink(17, max_info_length=31)
    with pytest.raises(ValueError):
        HdlcServerLink(17, window=8)
    with pytest.raises(ValueError):
        HdlcServerLink(0x4000)
    with pytest.raises(ValueError):
        HdlcServerLink(17, inactivity_timeout=0)


def test_line_errors_are_reported_as_dropped_frames() -> None:
    link = connected()
    corrupted = bytearray(AARQ_FRAME)
    corrupted[30] ^= 0x04
    # Too short a length, a bad FCS and a length above the limit, in one chunk: one event
    # per reason, each with its count.
    events = link.receive_data(
        b"\x7e\xa0\x02" + bytes(corrupted) + b"\x7e\xa0\x03\x7e\xaf\xff", 0.0
    )
    assert sorted(events, key=str) == sorted(
        [
            FrameDropped(DropReason.MALFORMED, 2),
            FrameDropped(DropReason.BAD_CHECKSUM),
            FrameDropped(DropReason.OVERSIZE),
        ],
        key=str,
    )
    assert link.data_to_send() == b""
    assert link.receive_data(AARQ_FRAME, 0.0) == [ApduReceived(16, AARQ)]


def test_byte_by_byte_delivery() -> None:
    link = HdlcServerLink(17)
    events = []
    for byte in SNRM + AARQ_FRAME:
        events += link.receive_data(bytes((byte,)), 0.0)
    assert events == [LinkConnected(16, SERVER, HdlcParameters()), ApduReceived(16, AARQ)]
