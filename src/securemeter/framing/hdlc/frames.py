"""IEC 62056-46 HDLC frames: format type 3, addresses, control field, HCS/FCS.

On the wire::

    7E | format(2) | destination(1,2,4) | source(1,2,4) | control(1) | [HCS(2) | information]
       | FCS(2) | 7E

DLMS HDLC does not stuff bytes: the 11-bit length in the format field (every byte between
the flags) delimits a frame, so 0x7E may appear inside it. The HCS covers format, addresses
and control and is present only when an information field follows; the FCS covers everything
between the flags. Both are CRC-16/X.25, sent low byte first.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from securemeter.errors import DecodeError, EncodeError

FLAG: Final = 0x7E
FORMAT_TYPE_3: Final = 0xA000  # frame format type 3, in the top nibble of the format field
SEGMENTATION_BIT: Final = 0x0800
LENGTH_MASK: Final = 0x07FF
MAX_FRAME_LENGTH: Final = LENGTH_MASK  # bytes between the flags
POLL_FINAL_BIT: Final = 0x10

# Frame lengths (bytes between the flags) of the smallest possible frames.
_MIN_FRAME_LENGTH: Final = 2 + 1 + 1 + 1 + 2  # format, 1-byte addresses, control, FCS

LLC_COMMAND: Final = b"\xe6\xe6\x00"  # client -> server, first segment of an APDU
LLC_RESPONSE: Final = b"\xe6\xe7\x00"  # server -> client


class ChecksumError(DecodeError):
    """The HCS or FCS of a frame is wrong (a transmission error, not a malformed frame)."""


class TruncatedError(DecodeError):
    """The bytes end before the structure does: more may make it valid."""


# ----------------------------------------------------------------------------- CRC-16/X.25


def _make_crc_table() -> tuple[int, ...]:
    table = []
    for index in range(256):
        crc = index
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE: Final = _make_crc_table()


def crc16_x25(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/X.25 (reflected 0x8408, init and xor-out 0xFFFF): HCS and FCS of a frame."""
    crc = 0xFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc ^ 0xFFFF


def _check_sequence(data: bytes | bytearray | memoryview) -> bytes:
    return crc16_x25(data).to_bytes(2, "little")


# ----------------------------------------------------------------------------- addresses

_MAX_ADDRESS_PART: Final = {1: 0x7F, 2: 0x7F, 4: 0x3FFF}


@dataclass(frozen=True, slots=True)
class HdlcAddress:
    """An HDLC address of 1, 2 or 4 bytes.

    A server address is the upper HDLC address (``logical`` device) and, in the 2- and 4-byte
    forms, the lower HDLC address (``physical`` device). A client address is one byte whose
    ``logical`` value is the client SAP. Each byte carries 7 address bits; bit 0 is 1 only on
    the last byte.
    """

    logical: int
    physical: int | None
    size: int

    def __post_init__(self) -> None:
        if self.size not in _MAX_ADDRESS_PART:
            raise EncodeError(f"HDLC address size must be 1, 2 or 4, not {self.size}")
        if (self.physical is None) != (self.size == 1):
            raise EncodeError("a physical address exists exactly in the 2- and 4-byte forms")
        limit = _MAX_ADDRESS_PART[self.size]
        for name, value in (("logical", self.logical), ("physical", self.physical)):
            if value is not None and not 0 <= value <= limit:
                raise EncodeError(f"{name} address {value} does not fit in {self.size} bytes")

    @classmethod
    def client(cls, sap: int) -> HdlcAddress:
        """The one-byte address of a client SAP (16 -> 0x21)."""
        return cls(sap, None, 1)

    @classmethod
    def server(cls, logical: int, physical: int | None, size: int | None = None) -> HdlcAddress:
        """A server address in the smallest form that holds it, or in ``size`` bytes."""
        if size is None:
            if physical is None:
                size = 1
            elif logical <= 0x7F and physical <= 0x7F:
                size = 2
            else:
                size = 4
        return cls(logical, physical, size)

    def to_bytes(self) -> bytes:
        if self.size == 1:
            parts = [self.logical]
        elif self.size == 2:
            parts = [self.logical, self.physical or 0]
        else:
            physical = self.physical or 0
            parts = [self.logical >> 7, self.logical & 0x7F, physical >> 7, physical & 0x7F]
        encoded = bytearray(part << 1 for part in parts)
        encoded[-1] |= 1
        return bytes(encoded)

    @classmethod
    def from_bytes(
        cls, data: bytes | bytearray | memoryview, offset: int = 0
    ) -> tuple[HdlcAddress, int]:
        """Parse one address at ``offset``; return it and the offset after it."""
        end = offset
        while True:
            if end >= len(data):
                raise TruncatedError("truncated HDLC address")
            last = data[end] & 1
            end += 1
            if last:
                break
            if end - offset >= 4:
                raise DecodeError("HDLC address longer than 4 bytes")
        size = end - offset
        parts = [byte >> 1 for byte in data[offset:end]]
        if size == 1:
            return cls(parts[0], None, 1), end
        if size == 2:
            return cls(parts[0], parts[1], 2), end
        if size == 4:
            return cls(parts[0] << 7 | parts[1], parts[2] << 7 | parts[3], 4), end
        raise DecodeError(f"HDLC address of {size} bytes (only 1, 2 or 4 allowed)")


# ----------------------------------------------------------------------------- control field


class FrameType(IntEnum):
    """Frame kinds of the control field, valued by their control byte with P/F and counters 0."""

    I = 0x00  # noqa: E741 - the standard's name for an information frame
    RR = 0x01
    RNR = 0x05
    SNRM = 0x83
    DISC = 0x43
    UA = 0x63
    DM = 0x0F
    FRMR = 0x87
    UI = 0x03


_UNNUMBERED_TYPES: Final = {
    member.value: member
    for member in FrameType
    if member.value & 0x03 == 0x03  # unnumbered frames end in binary 11
}


def frame_type_of(control: int) -> FrameType | None:
    """The kind of frame a control byte denotes, or None for one DLMS HDLC does not use."""
    if control & 0x01 == 0:
        return FrameType.I
    if control & 0x03 == 0x01:
        supervisory = control & 0x0F
        if supervisory == FrameType.RR:
            return FrameType.RR
        if supervisory == FrameType.RNR:
            return FrameType.RNR
        return None  # REJ and SREJ are not part of the DLMS profile
    return _UNNUMBERED_TYPES.get(control & ~POLL_FINAL_BIT & 0xFF)


def information_control(
    send_sequence_number: int, receive_sequence_number: int, poll_final: bool
) -> int:
    """Control byte ``RRR P SSS 0`` of an I-frame."""
    return (
        _check_sequence_number(receive_sequence_number) << 5
        | (POLL_FINAL_BIT if poll_final else 0)
        | _check_sequence_number(send_sequence_number) << 1
    )


def supervisory_control(
    frame_type: FrameType, receive_sequence_number: int, poll_final: bool
) -> int:
    """Control byte ``RRR P xx01`` of an RR or RNR frame."""
    if frame_type not in (FrameType.RR, FrameType.RNR):
        raise EncodeError(f"{frame_type.name} is not a supervisory frame")
    poll_bit = POLL_FINAL_BIT if poll_final else 0
    return _check_sequence_number(receive_sequence_number) << 5 | poll_bit | frame_type


def unnumbered_control(frame_type: FrameType, poll_final: bool) -> int:
    """Control byte of an SNRM, DISC, UA, DM, FRMR or UI frame."""
    if frame_type not in _UNNUMBERED_TYPES.values():
        raise EncodeError(f"{frame_type.name} is not an unnumbered frame")
    return frame_type | (POLL_FINAL_BIT if poll_final else 0)


def _check_sequence_number(number: int) -> int:
    if not 0 <= number <= 7:
        raise EncodeError(f"sequence number {number} is not 0..7")
    return number


# ----------------------------------------------------------------------------- frames


@dataclass(frozen=True, slots=True)
class HdlcFrame:
    """One HDLC frame; ``information`` includes the LLC header where one is present."""

    segmented: bool
    destination: HdlcAddress
    source: HdlcAddress
    control: int
    information: bytes = b""

    @property
    def frame_type(self) -> FrameType | None:
        return frame_type_of(self.control)

    @property
    def poll_final(self) -> bool:
        return bool(self.control & POLL_FINAL_BIT)

    @property
    def send_sequence_number(self) -> int:
        """N(S); meaningful for I-frames only."""
        return (self.control >> 1) & 0x07

    @property
    def receive_sequence_number(self) -> int:
        """N(R); meaningful for I, RR and RNR frames only."""
        return self.control >> 5

    @property
    def frame_length(self) -> int:
        """Value of the format field's length: every byte between the flags."""
        header = 2 + self.destination.size + self.source.size + 1
        if self.information:
            return header + 2 + len(self.information) + 2
        return header + 2

    def to_bytes(self) -> bytes:
        """The frame with both flags; raises :class:`EncodeError` if it does not fit."""
        if not 0 <= self.control <= 0xFF:
            raise EncodeError(f"control field {self.control} is not one byte")
        length = self.frame_length
        if length > MAX_FRAME_LENGTH:
            raise EncodeError(f"frame of {length} bytes exceeds the 11-bit length field")
        format_field = FORMAT_TYPE_3 | (SEGMENTATION_BIT if self.segmented else 0) | length
        content = bytearray(format_field.to_bytes(2, "big"))
        content += self.destination.to_bytes()
        content += self.source.to_bytes()
        content.append(self.control)
        if self.information:
            content += _check_sequence(content)
            content += self.information
        content += _check_sequence(content)
        return bytes((FLAG, *content, FLAG))

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> HdlcFrame:
        """Parse one complete frame with both flags; checks length, HCS and FCS."""
        if len(data) < _MIN_FRAME_LENGTH + 2 or data[0] != FLAG or data[-1] != FLAG:
            raise DecodeError("an HDLC frame starts and ends with the 0x7E flag")
        return parse_frame_content(memoryview(data)[1:-1])


@dataclass(frozen=True, slots=True)
class FrameHeader:
    segmented: bool
    length: int
    destination: HdlcAddress
    source: HdlcAddress
    control: int
    end: int  # offset after the control byte


def parse_header(content: bytes | bytearray | memoryview) -> FrameHeader:
    """Parse format, addresses and control from the bytes after the opening flag.

    ``content`` may hold more or fewer bytes than the frame; raises :class:`TruncatedError`
    when the header is not all there yet and :class:`DecodeError` when it is malformed.
    """
    if len(content) < 2:
        raise TruncatedError("truncated format field")
    format_field = int.from_bytes(content[:2], "big")
    if format_field & 0xF000 != FORMAT_TYPE_3:
        raise DecodeError(f"frame format {format_field >> 12:#x} is not type 3")
    length = format_field & LENGTH_MASK
    destination, offset = HdlcAddress.from_bytes(content, 2)
    source, offset = HdlcAddress.from_bytes(content, offset)
    if offset >= len(content):
        raise TruncatedError("truncated control field")
    control = content[offset]
    offset += 1
    # Without information the frame ends with the FCS; with it, HCS + information + FCS.
    if length != offset + 2 and length < offset + 2 + 1 + 2:
        raise DecodeError(f"frame length {length} does not fit a {offset}-byte header")
    return FrameHeader(
        bool(format_field & SEGMENTATION_BIT), length, destination, source, control, offset
    )


def header_check_ok(content: bytes | bytearray | memoryview, header: FrameHeader) -> bool:
    """Whether the HCS after ``header`` is right (True when the frame has no HCS)."""
    if header.length == header.end + 2:
        return True
    hcs = content[header.end : header.end + 2]
    return bytes(hcs) == _check_sequence(content[: header.end])


def parse_frame_content(content: bytes | bytearray | memoryview) -> HdlcFrame:
    """Parse the bytes between the flags of one frame (exactly the frame's length)."""
    header = parse_header(content)
    if header.length != len(content):
        raise DecodeError(
            f"format field says {header.length} bytes, {len(content)} between the flags"
        )
    if bytes(content[-2:]) != _check_sequence(content[:-2]):
        raise ChecksumError("FCS mismatch")
    information = b""
    if header.length != header.end + 2:
        if not header_check_ok(content, header):
            raise ChecksumError("HCS mismatch")
        information = bytes(content[header.end + 2 : -2])
    return HdlcFrame(
        header.segmented, header.destination, header.source, header.control, information
    )
