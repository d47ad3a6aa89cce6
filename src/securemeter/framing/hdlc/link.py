"""Sans-IO HDLC link state machines (IEC 62056-46): the server (meter) and client roles.

Both roles share the data transfer rules: modulo-8 sequence numbers, V(S)/V(R), a send window
with go-back-N retransmission from the peer's N(R), segmentation of APDUs into I-frames of at
most the negotiated information field length (the LLC header counts, first segment only) and
reassembly of segmented I-frames. The roles differ in who polls: the client (primary) sends
commands with the P bit; the server (secondary) answers only a poll and hands the turn back
with the F bit on its last frame.

Bytes in with ``receive_data(data, now)``, events out; frames to send are collected and
returned by ``data_to_send()``. Time is whatever monotonic ``now`` the caller passes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from enum import IntEnum
from typing import Final

from securemeter.errors import DecodeError, LocalProtocolError
from securemeter.framing.hdlc.decoder import HdlcFrameDecoder
from securemeter.framing.hdlc.events import (
    ApduReceived,
    DisconnectReason,
    DropReason,
    FrameDropped,
    LinkConnected,
    LinkDisconnected,
    LinkEvent,
)
from securemeter.framing.hdlc.frames import (
    LLC_COMMAND,
    LLC_RESPONSE,
    MAX_FRAME_LENGTH,
    FrameType,
    HdlcAddress,
    HdlcFrame,
    information_control,
    supervisory_control,
    unnumbered_control,
)
from securemeter.framing.hdlc.parameters import (
    DEFAULT_WINDOW_SIZE,
    MAX_INFO_LENGTH,
    MAX_WINDOW_SIZE,
    MIN_INFO_LENGTH,
    MIN_WINDOW_SIZE,
    HdlcParameters,
    negotiate,
)

DEFAULT_SERVER_INFO_LENGTH: Final = 1024  # our limit; the client's proposal can only lower it
DEFAULT_INACTIVITY_TIMEOUT: Final = 120.0  # seconds, the HDLC setup object's default
DEFAULT_MAX_APDU_SIZE: Final = 0xFFFF
# Bytes between the flags besides the information field: format, two 4-byte addresses,
# control, HCS, FCS.
_FRAME_OVERHEAD: Final = 2 + 4 + 4 + 1 + 2 + 2

# FRMR information field, third octet (ISO/IEC 13239).
_FRMR_INVALID_CONTROL: Final = 0x01  # W
_FRMR_INFORMATION_NOT_PERMITTED: Final = 0x02  # X
_FRMR_INFORMATION_TOO_LONG: Final = 0x04  # Y
_FRMR_INVALID_RECEIVE_SEQUENCE: Final = 0x08  # Z


class LinkState(IntEnum):
    NDM = 0  # normal disconnected mode
    NRM = 1  # normal response mode: connected
    AWAITING_CONNECTION = 2  # client: SNRM sent, no UA yet
    AWAITING_DISCONNECTION = 3  # client: DISC sent, no UA/DM yet


class _HdlcLink(ABC):
    """Sequence numbers, windows, segmentation and reassembly shared by both roles."""

    _send_llc: bytes
    _receive_llc: bytes

    def __init__(self, max_info_length: int, window: int, max_apdu_size: int) -> None:
        if not MIN_INFO_LENGTH <= max_info_length <= MAX_INFO_LENGTH:
            raise ValueError(
                f"max_info_length must be {MIN_INFO_LENGTH}..{MAX_INFO_LENGTH}, "
                f"not {max_info_length}"
            )
        if not MIN_WINDOW_SIZE <= window <= MAX_WINDOW_SIZE:
            raise ValueError(f"window must be {MIN_WINDOW_SIZE}..{MAX_WINDOW_SIZE}, not {window}")
        if max_apdu_size < 1:
            raise ValueError(f"max_apdu_size must be positive, not {max_apdu_size}")
        self._limits = HdlcParameters(max_info_length, max_info_length, window, window)
        self._max_apdu_size = max_apdu_size
        self._decoder = HdlcFrameDecoder(min(MAX_FRAME_LENGTH, max_info_length + _FRAME_OVERHEAD))
        self._state = LinkState.NDM
        self._parameters = HdlcParameters()
        self._output = bytearray()
        self._now: float | None = None  # the latest time the caller told us
        self.ignored_frame_count = 0  # valid frames addressed to another station
        self._reset_transfer()

    @property
    def state(self) -> LinkState:
        return self._state

    @property
    def parameters(self) -> HdlcParameters:
        """The negotiated parameters, from this side's point of view."""
        return self._parameters

    def data_to_send(self) -> bytes:
        """Frames that may be sent now (empty when there is nothing or it is not our turn)."""
        data = bytes(self._output)
        self._output.clear()
        return data

    # ------------------------------------------------------------------ frame input

    def receive_data(self, data: bytes, now: float) -> list[LinkEvent]:
        """Feed bytes from the line; return what happened, in order.

        Candidates the decoder dropped while looking for a frame are reported before that
        frame's events, one :class:`FrameDropped` per reason with the number dropped.
        """
        self._now = now
        events: list[LinkEvent] = []
        self._decoder.receive_data(data)
        decoder = self._decoder
        while True:
            before = (decoder.bad_checksum_count, decoder.oversize_count, decoder.malformed_count)
            frame = decoder.next_frame()
            for reason, count in zip(
                (DropReason.BAD_CHECKSUM, DropReason.OVERSIZE, DropReason.MALFORMED),
                (
                    decoder.bad_checksum_count - before[0],
                    decoder.oversize_count - before[1],
                    decoder.malformed_count - before[2],
                ),
                strict=True,
            ):
                if count:
                    events.append(FrameDropped(reason, count))
            if frame is None:
                return events
            events += self._handle_frame(frame, now)

    @abstractmethod
    def check_timeout(self, now: float) -> list[LinkEvent]:
        """Run the role's timers; call it periodically."""

    @abstractmethod
    def _handle_frame(self, frame: HdlcFrame, now: float) -> list[LinkEvent]:
        """Act on one valid frame."""

    # ------------------------------------------------------------------ transfer state

    def _reset_transfer(self) -> None:
        self._send_state = 0  # V(S): N(S) of the next new I-frame
        self._acknowledged = 0  # N(S) of the oldest unacknowledged I-frame
        self._receive_state = 0  # V(R): N(S) expected next
        self._unacknowledged: deque[tuple[int, bytes, bool]] = deque()  # N(S), info, segmented
        self._segments: deque[tuple[bytes, bool]] = deque()  # info, segmented; not yet sent
        self._reassembly = bytearray()
        self._reassembling = False
        self._discard_reason: DropReason | None = None
        self._may_transmit = False  # the poll/final token is ours
        self._peer_busy = False

    def _queue_apdu(self, apdu: bytes) -> None:
        data = self._send_llc + bytes(apdu)
        size = self._parameters.max_info_length_transmit
        for start in range(0, len(data), size):
            self._segments.append((data[start : start + size], start + size < len(data)))

    def _acknowledge(self, receive_sequence_number: int) -> bool:
        """Drop the I-frames the peer's N(R) acknowledges; False if N(R) is out of range."""
        outstanding = (self._send_state - self._acknowledged) % 8
        acknowledged = (receive_sequence_number - self._acknowledged) % 8
        if acknowledged > outstanding:
            return False
        for _ in range(acknowledged):
            self._unacknowledged.popleft()
        self._acknowledged = receive_sequence_number
        return True

    def _send_window(self, peer: HdlcAddress, local: HdlcAddress) -> None:
        """Send new I-frames while it is our turn and the window has room."""
        window = self._parameters.window_size_transmit
        while (
            self._may_transmit
            and not self._peer_busy
            and self._segments
            and len(self._unacknowledged) < window
        ):
            information, segmented = self._segments.popleft()
            send_sequence_number = self._send_state
            self._send_state = (self._send_state + 1) % 8
            self._unacknowledged.append((send_sequence_number, information, segmented))
            last = not self._segments or len(self._unacknowledged) == window
            self._emit_information(peer, local, send_sequence_number, information, segmented, last)
            if last:
                self._may_transmit = False

    def _retransmit(self, peer: HdlcAddress, local: HdlcAddress) -> None:
        """Go back N: send every unacknowledged I-frame again, the last one with P/F."""
        count = len(self._unacknowledged)
        for index, (send_sequence_number, information, segmented) in enumerate(
            self._unacknowledged
        ):
            last = index == count - 1
            self._emit_information(peer, local, send_sequence_number, information, segmented, last)
        self._may_transmit = False

    def _emit_information(
        self,
        peer: HdlcAddress,
        local: HdlcAddress,
        send_sequence_number: int,
        information: bytes,
        segmented: bool,
        poll_final: bool,
    ) -> None:
        control = information_control(send_sequence_number, self._receive_state, poll_final)
        self._emit(HdlcFrame(segmented, peer, local, control, information))

    def _emit_supervisory(self, peer: HdlcAddress, local: HdlcAddress) -> None:
        """RR with our V(R) and the P/F bit: acknowledges and hands the turn over."""
        control = supervisory_control(FrameType.RR, self._receive_state, poll_final=True)
        self._emit(HdlcFrame(False, peer, local, control))
        self._may_transmit = False

    def _emit_unnumbered(
        self, peer: HdlcAddress, local: HdlcAddress, frame_type: FrameType, information: bytes = b""
    ) -> None:
        control = unnumbered_control(frame_type, poll_final=True)
        self._emit(HdlcFrame(False, peer, local, control, information))

    def _emit(self, frame: HdlcFrame) -> None:
        self._output += frame.to_bytes()

    def _receive_information(self, frame: HdlcFrame, client_address: int) -> list[LinkEvent]:
        """Take an in-sequence I-frame into the reassembly; events for a completed APDU."""
        self._receive_state = (self._receive_state + 1) % 8
        information = frame.information
        if not self._reassembling:
            self._reassembling = True
            if information.startswith(self._receive_llc):
                information = information[len(self._receive_llc) :]
            else:
                self._discard_reason = DropReason.MISSING_LLC
        if self._discard_reason is None:
            if len(self._reassembly) + len(information) > self._max_apdu_size:
                self._discard_reason = DropReason.APDU_TOO_LONG
                self._reassembly.clear()
            else:
                self._reassembly += information
        if frame.segmented:
            return []
        self._reassembling = False
        if self._discard_reason is not None:
            reason, self._discard_reason = self._discard_reason, None
            return [FrameDropped(reason)]
        apdu = bytes(self._reassembly)
        self._reassembly.clear()
        return [ApduReceived(client_address, apdu)]


def _frame_reject_information(frame: HdlcFrame, send_state: int, receive_state: int) -> bytes:
    """Rejected control byte, then V(S)/V(R); the caller adds the W/X/Y/Z octet."""
    return bytes((frame.control, send_state << 1 | receive_state << 5))


class HdlcServerLink(_HdlcLink):
    """The meter's end of an HDLC link (secondary station).

    Accepts frames addressed to logical device ``logical_address`` with lower address
    ``physical_address`` in the 2- and 4-byte forms, and to the logical device alone in the
    1-byte form; frames for other stations are ignored without an answer. Any one-byte client
    address may connect; while one client is connected, others get DM.

    The server may send only when polled: after a complete APDU arrived with the P bit, the
    turn is the application's, which must answer with :meth:`send_apdu`.
    """

    _send_llc = LLC_RESPONSE
    _receive_llc = LLC_COMMAND

    def __init__(
        self,
        physical_address: int,
        logical_address: int = 1,
        max_info_length: int = DEFAULT_SERVER_INFO_LENGTH,
        window: int = DEFAULT_WINDOW_SIZE,
        *,
        inactivity_timeout: float | None = DEFAULT_INACTIVITY_TIMEOUT,
        max_apdu_size: int = DEFAULT_MAX_APDU_SIZE,
    ) -> None:
        super().__init__(max_info_length, window, max_apdu_size)
        if not 0 <= logical_address <= 0x3FFF or not 0 <= physical_address <= 0x3FFF:
            raise ValueError("HDLC server addresses are 0..0x3FFF")
        if inactivity_timeout is not None and inactivity_timeout <= 0:
            raise ValueError("inactivity_timeout must be positive (or None for none)")
        self.logical_address = logical_address
        self.physical_address = physical_address
        self.inactivity_timeout = inactivity_timeout
        self._client: HdlcAddress | None = None
        self._server: HdlcAddress = HdlcAddress.server(logical_address, physical_address, 4)
        self._last_activity = 0.0

    @property
    def client_address(self) -> int | None:
        """SAP of the connected client, None in NDM."""
        return None if self._client is None else self._client.logical

    def is_own_address(self, address: HdlcAddress) -> bool:
        if address.logical != self.logical_address:
            return False
        return address.size == 1 or address.physical == self.physical_address

    def send_apdu(self, apdu: bytes) -> None:
        """Queue an APDU for the connected client; it goes out when it is our turn."""
        if self._state is not LinkState.NRM or self._client is None:
            raise LocalProtocolError("no HDLC link is connected")
        self._queue_apdu(apdu)
        self._send_window(self._client, self._server)

    def disconnect(self) -> None:
        """Drop to NDM now (a secondary cannot send DISC); a pending poll is answered by DM."""
        if self._state is not LinkState.NRM or self._client is None:
            return
        if self._may_transmit:
            self._emit_unnumbered(self._client, self._server, FrameType.DM)
        self._enter_disconnected()

    def receive_data(self, data: bytes, now: float) -> list[LinkEvent]:
        # An expired link is down before the new bytes are looked at.
        events = self.check_timeout(now)
        return events + super().receive_data(data, now)

    def check_timeout(self, now: float) -> list[LinkEvent]:
        """Drop to NDM when no frame came from the client for ``inactivity_timeout`` s."""
        self._now = now
        if (
            self._state is LinkState.NRM
            and self.inactivity_timeout is not None
            and now - self._last_activity >= self.inactivity_timeout
        ):
            self._enter_disconnected()
            return [LinkDisconnected(DisconnectReason.INACTIVITY)]
        return []

    def _enter_disconnected(self) -> None:
        self._state = LinkState.NDM
        self._client = None
        self._parameters = HdlcParameters()
        self._reset_transfer()

    def _handle_frame(self, frame: HdlcFrame, now: float) -> list[LinkEvent]:
        if not self.is_own_address(frame.destination):
            self.ignored_frame_count += 1  # another station's traffic on a shared line
            return []
        if frame.source.size != 1:
            return [FrameDropped(DropReason.CLIENT_ADDRESS)]
        frame_type = frame.frame_type
        if frame_type is FrameType.UI:
            return []  # no unnumbered information service in this profile
        if frame_type in (FrameType.UA, FrameType.DM, FrameType.FRMR):
            return [FrameDropped(DropReason.UNEXPECTED)]  # responses never come from a client
        if frame_type is FrameType.SNRM and (self._client is None or self._client == frame.source):
            return self._handle_set_normal_response_mode(frame, now)
        if self._state is not LinkState.NRM or self._client != frame.source:
            # A station that is not connected: DM answers its commands.
            if frame.poll_final or frame_type is FrameType.DISC:
                self._emit_unnumbered(frame.source, frame.destination, FrameType.DM)
            if frame_type is FrameType.DISC:
                return []
            return [
                FrameDropped(
                    DropReason.NOT_CONNECTED
                    if self._state is not LinkState.NRM
                    else DropReason.OTHER_CLIENT
                )
            ]
        self._last_activity = now
        self._server = frame.destination
        if frame_type is FrameType.DISC:
            self._emit_unnumbered(frame.source, frame.destination, FrameType.UA)
            self._enter_disconnected()
            return [LinkDisconnected(DisconnectReason.PEER_DISCONNECT)]
        if frame_type is None:
            self._reject(frame, _FRMR_INVALID_CONTROL)
            return [FrameDropped(DropReason.UNKNOWN_CONTROL)]
        if frame_type is FrameType.I:
            return self._handle_information(frame, frame.source)
        return self._handle_supervisory(frame, frame.source)

    def _handle_set_normal_response_mode(self, frame: HdlcFrame, now: float) -> list[LinkEvent]:
        events: list[LinkEvent] = []
        if self._state is LinkState.NRM:
            events.append(LinkDisconnected(DisconnectReason.RESET))
        self._enter_disconnected()
        try:
            proposal = HdlcParameters.from_bytes(frame.information)
        except DecodeError:
            proposal = HdlcParameters(0, 0, 0, 0)
        negotiated = negotiate(proposal, self._limits)
        if negotiated is None:
            self._emit_unnumbered(frame.source, frame.destination, FrameType.DM)
            events.append(FrameDropped(DropReason.BAD_PARAMETERS))
            return events
        self._state = LinkState.NRM
        self._client = frame.source
        self._server = frame.destination
        self._parameters = negotiated
        self._last_activity = now
        self._emit_unnumbered(frame.source, frame.destination, FrameType.UA, negotiated.to_bytes())
        events.append(LinkConnected(frame.source.logical, frame.destination, negotiated))
        return events

    def _handle_information(self, frame: HdlcFrame, client: HdlcAddress) -> list[LinkEvent]:
        if len(frame.information) > self._parameters.max_info_length_receive:
            self._reject(frame, _FRMR_INFORMATION_TOO_LONG)
            return [FrameDropped(DropReason.INFORMATION_TOO_LONG)]
        if not self._acknowledge(frame.receive_sequence_number):
            self._reject(frame, _FRMR_INVALID_RECEIVE_SEQUENCE)
            return [FrameDropped(DropReason.INVALID_RECEIVE_SEQUENCE)]
        if frame.send_sequence_number != self._receive_state:
            # A repeat (our answer was lost) or a gap: keep V(R) and answer the poll with what
            # the client has not acknowledged, or with RR carrying the N(S) we expect.
            if frame.poll_final:
                self._answer_poll(client)
            return [FrameDropped(DropReason.OUT_OF_SEQUENCE)]
        events = self._receive_information(frame, client.logical)
        if frame.poll_final:
            if frame.segmented or not any(isinstance(event, ApduReceived) for event in events):
                self._emit_supervisory(client, self._server)  # "send the next segment"
            else:
                self._may_transmit = True  # the application answers with send_apdu
                self._send_window(client, self._server)
        return events

    def _handle_supervisory(self, frame: HdlcFrame, client: HdlcAddress) -> list[LinkEvent]:
        if frame.information:
            self._reject(frame, _FRMR_INVALID_CONTROL | _FRMR_INFORMATION_NOT_PERMITTED)
            return [FrameDropped(DropReason.INFORMATION_NOT_PERMITTED)]
        if not self._acknowledge(frame.receive_sequence_number):
            self._reject(frame, _FRMR_INVALID_RECEIVE_SEQUENCE)
            return [FrameDropped(DropReason.INVALID_RECEIVE_SEQUENCE)]
        self._peer_busy = frame.frame_type is FrameType.RNR
        if frame.poll_final:
            self._answer_poll(client)
        return []

    def _answer_poll(self, client: HdlcAddress) -> None:
        if self._unacknowledged and not self._peer_busy:
            self._retransmit(client, self._server)
        elif self._segments and not self._peer_busy:
            self._may_transmit = True
            self._send_window(client, self._server)
        else:
            self._emit_supervisory(client, self._server)

    def _reject(self, frame: HdlcFrame, reasons: int) -> None:
        """FRMR: the frame cannot be acted on; the client is expected to reset the link."""
        information = _frame_reject_information(frame, self._send_state, self._receive_state)
        self._emit_unnumbered(
            frame.source, frame.destination, FrameType.FRMR, information + bytes((reasons,))
        )
        self._may_transmit = False


class HdlcClientLink(_HdlcLink):
    """The head-end's end of an HDLC link (primary station).

    ``connect()`` sends SNRM proposing ``max_info_length`` and ``window``; the link is up at
    the :class:`LinkConnected` event. With ``response_timeout`` set, :meth:`check_timeout`
    polls again (SNRM, DISC or RR) when the server stays silent, and gives up with
    ``LinkDisconnected(NO_RESPONSE)`` after ``max_retries`` repeats. The timer of a poll starts
    at the latest ``now`` passed in before it was queued.
    """

    _send_llc = LLC_COMMAND
    _receive_llc = LLC_RESPONSE

    def __init__(
        self,
        server_address: HdlcAddress,
        client_address: int = 16,
        max_info_length: int = MAX_INFO_LENGTH,
        window: int = DEFAULT_WINDOW_SIZE,
        *,
        response_timeout: float | None = None,
        max_retries: int = 3,
        max_apdu_size: int = DEFAULT_MAX_APDU_SIZE,
    ) -> None:
        super().__init__(max_info_length, window, max_apdu_size)
        if response_timeout is not None and response_timeout <= 0:
            raise ValueError("response_timeout must be positive (or None for none)")
        self.server_address = server_address
        self.client_address = client_address
        self._client = HdlcAddress.client(client_address)
        self.response_timeout = response_timeout
        self.max_retries = max_retries
        self._poll_started: float | None = None
        self._retries = 0

    def connect(self) -> None:
        """Queue an SNRM with our parameter proposal."""
        if self._state is not LinkState.NDM:
            raise LocalProtocolError(f"connect() in state {self._state.name}")
        self._state = LinkState.AWAITING_CONNECTION
        self._retries = 0
        self._send_poll()

    def disconnect(self) -> None:
        """Queue a DISC; the link is down at the ``LinkDisconnected`` event."""
        if self._state is LinkState.NDM:
            return
        self._reset_transfer()
        self._state = LinkState.AWAITING_DISCONNECTION
        self._retries = 0
        self._send_poll()

    def send_apdu(self, apdu: bytes) -> None:
        """Queue an APDU; it is segmented and sent as the server acknowledges."""
        if self._state is not LinkState.NRM:
            raise LocalProtocolError(f"send_apdu() in state {self._state.name}")
        self._queue_apdu(apdu)
        self._send_window(self.server_address, self._client)
        if not self._may_transmit:
            self._start_timer()

    def check_timeout(self, now: float) -> list[LinkEvent]:
        """Poll again, or give up, when the server does not answer in time."""
        self._now = now
        if self.response_timeout is None or not self._awaiting_response():
            return []
        if self._poll_started is None:
            self._poll_started = now
            return []
        if now - self._poll_started < self.response_timeout:
            return []
        if self._retries >= self.max_retries:
            self._state = LinkState.NDM
            self._parameters = HdlcParameters()
            self._reset_transfer()
            return [LinkDisconnected(DisconnectReason.NO_RESPONSE)]
        self._retries += 1
        if self._state is LinkState.NRM:
            self._emit_supervisory(self.server_address, self._client)  # "what did you get?"
            self._poll_started = now
        else:
            self._send_poll()
            self._poll_started = now
        return []

    def _awaiting_response(self) -> bool:
        if self._state in (LinkState.AWAITING_CONNECTION, LinkState.AWAITING_DISCONNECTION):
            return True
        return self._state is LinkState.NRM and (
            not self._may_transmit or (self._peer_busy and bool(self._segments))
        )

    def _start_timer(self) -> None:
        self._poll_started = self._now

    def _send_poll(self) -> None:
        if self._state is LinkState.AWAITING_CONNECTION:
            self._emit_unnumbered(
                self.server_address, self._client, FrameType.SNRM, self._limits.to_bytes()
            )
        else:
            self._emit_unnumbered(self.server_address, self._client, FrameType.DISC)
        self._start_timer()

    def _handle_frame(self, frame: HdlcFrame, now: float) -> list[LinkEvent]:
        if frame.destination != self._client or not _same_station(
            frame.source, self.server_address
        ):
            self.ignored_frame_count += 1
            return []
        frame_type = frame.frame_type
        if frame_type is FrameType.UI:
            return []
        if self._state is LinkState.AWAITING_CONNECTION:
            return self._handle_connection_answer(frame, frame_type)
        if self._state is LinkState.AWAITING_DISCONNECTION:
            if frame_type in (FrameType.UA, FrameType.DM):
                self._state = LinkState.NDM
                self._parameters = HdlcParameters()
                self._reset_transfer()
                return [LinkDisconnected(DisconnectReason.LOCAL_DISCONNECT)]
            return [FrameDropped(DropReason.UNEXPECTED)]
        if self._state is LinkState.NDM:
            return [FrameDropped(DropReason.NOT_CONNECTED)]
        if frame_type in (FrameType.DM, FrameType.FRMR):
            self._state = LinkState.NDM
            self._parameters = HdlcParameters()
            self._reset_transfer()
            reason = (
                DisconnectReason.DISCONNECTED_MODE
                if frame_type is FrameType.DM
                else DisconnectReason.FRAME_REJECTED
            )
            return [LinkDisconnected(reason)]
        if frame_type is FrameType.I:
            return self._handle_information(frame)
        if frame_type in (FrameType.RR, FrameType.RNR):
            return self._handle_supervisory(frame)
        if frame_type is None:
            return [FrameDropped(DropReason.UNKNOWN_CONTROL)]
        return [FrameDropped(DropReason.UNEXPECTED)]

    def _handle_connection_answer(
        self, frame: HdlcFrame, frame_type: FrameType | None
    ) -> list[LinkEvent]:
        if frame_type is FrameType.DM:
            self._state = LinkState.NDM
            return [LinkDisconnected(DisconnectReason.REFUSED)]
        if frame_type is not FrameType.UA:
            return [FrameDropped(DropReason.UNEXPECTED)]
        try:
            offer = HdlcParameters.from_bytes(frame.information)
        except DecodeError:
            offer = HdlcParameters(0, 0, 0, 0)
        negotiated = negotiate(offer, self._limits)
        self._reset_transfer()
        if negotiated is None:
            self._state = LinkState.NDM
            return [
                FrameDropped(DropReason.BAD_PARAMETERS),
                LinkDisconnected(DisconnectReason.REFUSED),
            ]
        self._state = LinkState.NRM
        self._parameters = negotiated
        self._take_turn()
        return [LinkConnected(self.client_address, frame.source, negotiated)]

    def _handle_information(self, frame: HdlcFrame) -> list[LinkEvent]:
        if len(frame.information) > self._parameters.max_info_length_receive:
            return [FrameDropped(DropReason.INFORMATION_TOO_LONG)]
        if not self._acknowledge(frame.receive_sequence_number):
            return [FrameDropped(DropReason.INVALID_RECEIVE_SEQUENCE)]
        if frame.send_sequence_number != self._receive_state:
            if frame.poll_final:
                self._take_turn()
                self._emit_supervisory(self.server_address, self._client)  # ask for a resend
                self._start_timer()
            return [FrameDropped(DropReason.OUT_OF_SEQUENCE)]
        events = self._receive_information(frame, self.client_address)
        if frame.poll_final:
            self._take_turn()
            if frame.segmented:
                self._emit_supervisory(self.server_address, self._client)  # next segment
                self._start_timer()
            else:
                self._continue_sending()
        return events

    def _handle_supervisory(self, frame: HdlcFrame) -> list[LinkEvent]:
        if not self._acknowledge(frame.receive_sequence_number):
            return [FrameDropped(DropReason.INVALID_RECEIVE_SEQUENCE)]
        self._peer_busy = frame.frame_type is FrameType.RNR
        if frame.poll_final:
            self._take_turn()
            self._continue_sending()
        return []

    def _take_turn(self) -> None:
        self._may_transmit = True
        self._poll_started = None
        self._retries = 0

    def _continue_sending(self) -> None:
        if self._peer_busy:
            self._start_timer()  # poll again after the response time-out
            return
        if self._unacknowledged:
            self._retransmit(self.server_address, self._client)
        else:
            self._send_window(self.server_address, self._client)
        if not self._may_transmit:
            self._start_timer()


def _same_station(address: HdlcAddress, expected: HdlcAddress) -> bool:
    """Whether a server's answer comes from the station we address (in any address form)."""
    if address.logical != expected.logical:
        return False
    return address.size == 1 or expected.size == 1 or address.physical == expected.physical
