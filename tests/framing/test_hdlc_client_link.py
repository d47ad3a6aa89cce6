"""HdlcClientLink driven frame by frame, as a meter on the line would answer it."""

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
    HdlcClientLink,
    HdlcFrame,
    HdlcFrameDecoder,
    HdlcParameters,
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
LLC_RESPONSE = bytes.fromhex("E6E700")
UA_FRAME = bytes.fromhex("7EA01F21022373E6C781801205019A06019A070400000001080400000001CCA27E")
AARE_FRAME = bytes.fromhex(
    "7EA0382102233034E7E6E7006129A109060760857405080101A203020100A305A103020100BE10040E0800"
    "065F1F0400001E1D04C80007B86A7E"
)
AARQ = bytes.fromhex("601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFF")
AARQ_FRAME = bytes.fromhex(
    "7EA02C02232110AF9FE6E600601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFFC5E47E"
)


def answer(
    frame_type: FrameType, information: bytes = b"", *, source: HdlcAddress = SERVER
) -> bytes:
    control = unnumbered_control(frame_type, True)
    return HdlcFrame(False, CLIENT, source, control, information).to_bytes()


def i_frame(
    send: int, receive: int, information: bytes, *, segmented: bool = False, final: bool = True
) -> bytes:
    control = information_control(send, receive, final)
    return HdlcFrame(segmented, CLIENT, SERVER, control, information).to_bytes()


def rr(receive: int, frame_type: FrameType = FrameType.RR) -> bytes:
    control = supervisory_control(frame_type, receive, True)
    return HdlcFrame(False, CLIENT, SERVER, control).to_bytes()


def sent_frames(link: HdlcClientLink) -> list[HdlcFrame]:
    decoder = HdlcFrameDecoder()
    decoder.receive_data(link.data_to_send())
    frames = []
    while (frame := decoder.next_frame()) is not None:
        frames.append(frame)
    return frames


def connected_client(**options: float) -> HdlcClientLink:
    link = HdlcClientLink(SERVER, max_info_length=512, **options)  # type: ignore[arg-type]
    link.connect()
    sent_frames(link)
    link.receive_data(UA_FRAME, 0.0)
    return link


def test_connect_sends_snrm_with_proposal() -> None:
    link = HdlcClientLink(SERVER, client_address=16, max_info_length=512, window=2)
    link.connect()
    assert link.state is LinkState.AWAITING_CONNECTION
    (snrm,) = sent_frames(link)
    assert snrm.frame_type is FrameType.SNRM and snrm.poll_final
    assert (snrm.destination, snrm.source) == (SERVER, CLIENT)
    assert HdlcParameters.from_bytes(snrm.information) == HdlcParameters(512, 512, 2, 2)
    with pytest.raises(LocalProtocolError):
        link.connect()


def test_ua_vector_connects_with_negotiated_parameters() -> None:
    link = HdlcClientLink(SERVER, max_info_length=512)
    link.connect()
    sent_frames(link)
    events = link.receive_data(UA_FRAME, 0.0)
    assert events == [LinkConnected(16, SERVER, HdlcParameters(0x9A, 0x9A, 1, 1))]
    assert link.state is LinkState.NRM


def test_ua_without_parameters_means_defaults() -> None:
    link = HdlcClientLink(SERVER)
    link.connect()
    (event,) = link.receive_data(answer(FrameType.UA), 0.0)
    assert event == LinkConnected(16, SERVER, HdlcParameters(128, 128, 1, 1))


def test_dm_refuses_the_connection() -> None:
    link = HdlcClientLink(SERVER)
    link.connect()
    assert link.receive_data(answer(FrameType.DM), 0.0) == [
        LinkDisconnected(DisconnectReason.REFUSED)
    ]
    assert link.state is LinkState.NDM


def test_ua_with_unusable_parameters_refuses() -> None:
    link = HdlcClientLink(SERVER)
    link.connect()
    events = link.receive_data(answer(FrameType.UA, bytes.fromhex("818003050110")), 0.0)
    assert events == [
        FrameDropped(DropReason.BAD_PARAMETERS),
        LinkDisconnected(DisconnectReason.REFUSED),
    ]


def test_frames_from_other_stations_are_ignored() -> None:
    link = HdlcClientLink(SERVER)
    link.connect()
    assert link.receive_data(answer(FrameType.UA, source=HdlcAddress(1, 18, 2)), 0.0) == []
    assert link.ignored_frame_count == 1
    assert link.state is LinkState.AWAITING_CONNECTION


def test_answer_in_another_address_form_is_accepted() -> None:
    link = HdlcClientLink(HdlcAddress(1, 17, 4))
    link.connect()
    (event,) = link.receive_data(answer(FrameType.UA), 0.0)
    assert isinstance(event, LinkConnected)


def test_aarq_then_aare_vectors() -> None:
    link = connected_client()
    link.send_apdu(AARQ)
    assert link.data_to_send() == AARQ_FRAME
    events = link.receive_data(AARE_FRAME, 0.0)
    assert events == [ApduReceived(16, AARE_FRAME[12:-3])]
    assert link.data_to_send() == b""


def test_segmented_send_waits_for_rr() -> None:
    link = connected_client()
    link.send_apdu(bytes(300))  # 303 bytes with the LLC: 154 + 149 (negotiated 0x9A)
    (first,) = sent_frames(link)
    assert first.segmented and first.poll_final and len(first.information) == 0x9A
    assert link.data_to_send() == b""
    link.receive_data(rr(1), 0.0)
    (second,) = sent_frames(link)
    assert not second.segmented and second.send_sequence_number == 1
    assert len(first.information) + len(second.information) == 303


def test_segmented_receive_answers_rr() -> None:
    link = connected_client()
    link.send_apdu(b"\xc0")
    sent_frames(link)
    payload = LLC_RESPONSE + bytes(range(200))
    assert link.receive_data(i_frame(0, 1, payload[:100], segmented=True), 0.0) == []
    (poll,) = sent_frames(link)
    assert poll.frame_type is FrameType.RR and poll.receive_sequence_number == 1
    events = link.receive_data(i_frame(1, 1, payload[100:]), 0.0)
    assert events == [ApduReceived(16, bytes(range(200)))]
    assert link.data_to_send() == b""


def test_out_of_sequence_frame_asks_for_a_resend() -> None:
    link = connected_client()
    link.send_apdu(b"\xc0")
    sent_frames(link)
    assert link.receive_data(i_frame(2, 1, LLC_RESPONSE + b"\x01"), 0.0) == [
        FrameDropped(DropReason.OUT_OF_SEQUENCE)
    ]
    (poll,) = sent_frames(link)
    assert poll.frame_type is FrameType.RR and poll.receive_sequence_number == 0


def test_missing_llc_response_header() -> None:
    link = connected_client()
    link.send_apdu(b"\xc0")
    sent_frames(link)
    assert link.receive_data(i_frame(0, 1, b"\xc4\x01"), 0.0) == [
        FrameDropped(DropReason.MISSING_LLC)
    ]


def test_rr_with_old_number_triggers_retransmission() -> None:
    link = connected_client()
    link.send_apdu(bytes(300))
    (first,) = sent_frames(link)
    link.receive_data(rr(0), 0.0)  # the server did not get it
    assert sent_frames(link) == [first]


def test_invalid_receive_sequence_number_is_dropped() -> None:
    link = connected_client()
    link.send_apdu(b"\xc0")
    sent_frames(link)
    assert link.receive_data(rr(4), 0.0) == [FrameDropped(DropReason.INVALID_RECEIVE_SEQUENCE)]


@pytest.mark.parametrize(
    ("frame_type", "reason"),
    [
        (FrameType.DM, DisconnectReason.DISCONNECTED_MODE),
        (FrameType.FRMR, DisconnectReason.FRAME_REJECTED),
    ],
)
def test_dm_or_frmr_while_connected_drops_the_link(
    frame_type: FrameType, reason: DisconnectReason
) -> None:
    link = connected_client()
    assert link.receive_data(answer(frame_type), 0.0) == [LinkDisconnected(reason)]
    assert link.state is LinkState.NDM
    with pytest.raises(LocalProtocolError):
        link.send_apdu(b"\x01")


def test_disconnect() -> None:
    link = connected_client()
    link.disconnect()
    (disc,) = sent_frames(link)
    assert disc.frame_type is FrameType.DISC
    assert link.state is LinkState.AWAITING_DISCONNECTION
    assert link.receive_data(i_frame(0, 0, LLC_RESPONSE), 0.0) == [
        FrameDropped(DropReason.UNEXPECTED)
    ]
    assert link.receive_data(answer(FrameType.UA), 0.0) == [
        LinkDisconnected(DisconnectReason.LOCAL_DISCONNECT)
    ]
    assert link.state is LinkState.NDM
    assert link.receive_data(answer(FrameType.UA), 0.0) == [FrameDropped(DropReason.NOT_CONNECTED)]
    link.disconnect()
    assert link.data_to_send() == b""


def test_send_apdu_requires_a_link() -> None:
    with pytest.raises(LocalProtocolError):
        HdlcClientLink(SERVER).send_apdu(b"\x01")


def test_snrm_is_repeated_then_given_up() -> None:
    link = HdlcClientLink(SERVER, response_timeout=2.0, max_retries=2)
    link.check_timeout(0.0)
    link.connect()
    (snrm,) = sent_frames(link)
    assert link.check_timeout(1.9) == []
    assert link.data_to_send() == b""
    assert link.check_timeout(2.0) == []
    assert sent_frames(link) == [snrm]
    assert link.check_timeout(4.0) == []
    assert sent_frames(link) == [snrm]
    assert link.check_timeout(6.0) == [LinkDisconnected(DisconnectReason.NO_RESPONSE)]
    assert link.state is LinkState.NDM


def test_timer_starts_lazily_without_a_known_time() -> None:
    link = HdlcClientLink(SERVER, response_timeout=2.0)
    link.connect()
    sent_frames(link)
    assert link.check_timeout(100.0) == []  # first sight of time: the timer starts here
    assert link.data_to_send() == b""
    link.check_timeout(102.0)
    assert [frame.frame_type for frame in sent_frames(link)] == [FrameType.SNRM]


def test_silent_server_is_polled_with_rr() -> None:
    link = connected_client(response_timeout=1.0)
    link.send_apdu(b"\xc0")
    sent_frames(link)
    link.check_timeout(1.0)
    (poll,) = sent_frames(link)
    assert poll.frame_type is FrameType.RR and poll.poll_final
    # The answer arrives: the retry counter and timer stop.
    link.receive_data(i_frame(0, 1, LLC_RESPONSE + b"\x01"), 1.5)
    assert link.check_timeout(10.0) == []
    assert link.data_to_send() == b""


def test_rnr_then_poll_later() -> None:
    link = connected_client(response_timeout=1.0)
    link.send_apdu(bytes(300))
    sent_frames(link)
    link.receive_data(rr(1, FrameType.RNR), 0.0)
    assert link.data_to_send() == b""  # the server is busy: hold the next segment
    link.check_timeout(1.0)
    (poll,) = sent_frames(link)
    assert poll.frame_type is FrameType.RR
    link.receive_data(rr(1), 1.2)
    (second,) = sent_frames(link)
    assert second.frame_type is FrameType.I and second.send_sequence_number == 1


def test_constructor_checks() -> None:
    with pytest.raises(ValueError):
        HdlcClientLink(SERVER, response_timeout=0)
    with pytest.raises(ValueError):
        HdlcClientLink(SERVER, window=0)
