"""IEC 62056-46 HDLC: frames, an incremental frame decoder and sans-IO link state machines."""

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
    FrameType,
    HdlcAddress,
    HdlcFrame,
    crc16_x25,
)
from securemeter.framing.hdlc.link import HdlcClientLink, HdlcServerLink, LinkState
from securemeter.framing.hdlc.parameters import HdlcParameters

__all__ = [
    "LLC_COMMAND",
    "LLC_RESPONSE",
    "ApduReceived",
    "DisconnectReason",
    "DropReason",
    "FrameDropped",
    "FrameType",
    "HdlcAddress",
    "HdlcClientLink",
    "HdlcFrame",
    "HdlcFrameDecoder",
    "HdlcParameters",
    "HdlcServerLink",
    "LinkConnected",
    "LinkDisconnected",
    "LinkEvent",
    "LinkState",
    "crc16_x25",
]
