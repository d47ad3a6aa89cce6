"""Events the HDLC links return from ``receive_data`` and ``check_timeout``."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from securemeter.framing.hdlc.frames import HdlcAddress
from securemeter.framing.hdlc.parameters import HdlcParameters


class DisconnectReason(StrEnum):
    PEER_DISCONNECT = "disconnect requested"  # DISC received (server)
    LOCAL_DISCONNECT = "local disconnect"  # our DISC was answered (client)
    INACTIVITY = "inactivity"  # no frame from the client within the inactivity time-out
    RESET = "reset"  # SNRM received while connected: sequence numbers start again
    REFUSED = "refused"  # SNRM answered by DM or by unusable parameters (client)
    DISCONNECTED_MODE = "disconnected mode"  # DM received while connected (client)
    FRAME_REJECTED = "frame rejected"  # FRMR received (client)
    NO_RESPONSE = "no response"  # retries exhausted (client)


class DropReason(StrEnum):
    BAD_CHECKSUM = "bad checksum"
    OVERSIZE = "oversize"
    MALFORMED = "malformed"
    CLIENT_ADDRESS = "client address not one byte"
    OTHER_CLIENT = "frame from a client that is not connected"
    NOT_CONNECTED = "frame while disconnected"
    UNEXPECTED = "unexpected frame"
    UNKNOWN_CONTROL = "unknown control field"
    OUT_OF_SEQUENCE = "out of sequence"
    INVALID_RECEIVE_SEQUENCE = "invalid N(R)"
    INFORMATION_TOO_LONG = "information field too long"
    INFORMATION_NOT_PERMITTED = "information field not permitted"
    BAD_PARAMETERS = "unusable link parameters"
    MISSING_LLC = "missing LLC header"
    APDU_TOO_LONG = "APDU too long"


@dataclass(frozen=True, slots=True)
class LinkConnected:
    """The link entered NRM. ``parameters`` are this side's (transmit = what it sends)."""

    client_address: int
    server_address: HdlcAddress
    parameters: HdlcParameters


@dataclass(frozen=True, slots=True)
class ApduReceived:
    """A complete APDU (LLC header removed) reassembled from one or more I-frames."""

    client_address: int
    apdu: bytes


@dataclass(frozen=True, slots=True)
class LinkDisconnected:
    reason: DisconnectReason


@dataclass(frozen=True, slots=True)
class FrameDropped:
    """``count`` frames were discarded for ``reason`` (for the meter's log and counters)."""

    reason: DropReason
    count: int = 1


LinkEvent = LinkConnected | ApduReceived | LinkDisconnected | FrameDropped
