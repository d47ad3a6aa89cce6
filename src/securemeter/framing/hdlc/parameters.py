"""HDLC link parameters negotiated in the SNRM/UA information field (IEC 62056-46).

The field is ``81 80 <group length>`` followed by parameters ``id | length | value`` (big
endian): 05 max information field length transmit, 06 ... receive, 07 window size transmit,
08 ... receive. Each side states the values from its own point of view: the server's UA
``transmit`` is what the server sends. A missing parameter takes its default (128 bytes,
window 1); that is what clients sending an SNRM without information field (dlms-cosem) get.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from securemeter.errors import DecodeError, EncodeError

FORMAT_IDENTIFIER: Final = 0x81
GROUP_IDENTIFIER: Final = 0x80

DEFAULT_INFO_LENGTH: Final = 128
DEFAULT_WINDOW_SIZE: Final = 1
# Ranges of the IEC HDLC setup object (class 23): 32..2030 bytes, window 1..7. 2030 also keeps
# a frame with two 4-byte addresses inside the 11-bit frame length.
MIN_INFO_LENGTH: Final = 32
MAX_INFO_LENGTH: Final = 2030
MIN_WINDOW_SIZE: Final = 1
MAX_WINDOW_SIZE: Final = 7  # modulo-8 sequence numbers


class ParameterId(IntEnum):
    MAX_INFO_LENGTH_TRANSMIT = 0x05
    MAX_INFO_LENGTH_RECEIVE = 0x06
    WINDOW_SIZE_TRANSMIT = 0x07
    WINDOW_SIZE_RECEIVE = 0x08


_KNOWN_PARAMETERS: Final = frozenset(ParameterId)


@dataclass(frozen=True, slots=True)
class HdlcParameters:
    """Link parameters as seen by one side (``transmit`` = what that side sends)."""

    max_info_length_transmit: int = DEFAULT_INFO_LENGTH
    max_info_length_receive: int = DEFAULT_INFO_LENGTH
    window_size_transmit: int = DEFAULT_WINDOW_SIZE
    window_size_receive: int = DEFAULT_WINDOW_SIZE

    def reversed(self) -> HdlcParameters:
        """The same parameters from the peer's point of view."""
        return HdlcParameters(
            self.max_info_length_receive,
            self.max_info_length_transmit,
            self.window_size_receive,
            self.window_size_transmit,
        )

    def is_valid(self) -> bool:
        """Whether every value lies in the range the standard allows."""
        return all(
            MIN_INFO_LENGTH <= value <= MAX_INFO_LENGTH
            for value in (self.max_info_length_transmit, self.max_info_length_receive)
        ) and all(
            MIN_WINDOW_SIZE <= value <= MAX_WINDOW_SIZE
            for value in (self.window_size_transmit, self.window_size_receive)
        )

    def to_bytes(self) -> bytes:
        """The SNRM/UA information field carrying all four parameters."""
        group = bytearray()
        for parameter, value, size in (
            (ParameterId.MAX_INFO_LENGTH_TRANSMIT, self.max_info_length_transmit, 0),
            (ParameterId.MAX_INFO_LENGTH_RECEIVE, self.max_info_length_receive, 0),
            (ParameterId.WINDOW_SIZE_TRANSMIT, self.window_size_transmit, 4),
            (ParameterId.WINDOW_SIZE_RECEIVE, self.window_size_receive, 4),
        ):
            if not 0 <= value <= 0xFFFF:
                raise EncodeError(f"{parameter.name} {value} out of range")
            # Lengths in the smallest form (as captured meters do), windows in 4 bytes.
            size = size or (1 if value <= 0xFF else 2)
            group += bytes((parameter, size)) + value.to_bytes(size, "big")
        return bytes((FORMAT_IDENTIFIER, GROUP_IDENTIFIER, len(group))) + group

    @classmethod
    def from_bytes(cls, data: bytes) -> HdlcParameters:
        """Parse an SNRM/UA information field; empty means all defaults.

        Unknown parameter identifiers are skipped; a repeated known one, a value longer than
        4 bytes or a length that does not add up is a :class:`DecodeError`.
        """
        if not data:
            return cls()
        if len(data) < 3 or data[0] != FORMAT_IDENTIFIER or data[1] != GROUP_IDENTIFIER:
            raise DecodeError("HDLC parameter field does not start with 81 80")
        if data[2] != len(data) - 3:
            raise DecodeError(f"HDLC parameter group length {data[2]}, {len(data) - 3} present")
        values: dict[int, int] = {}
        offset = 3
        while offset < len(data):
            if offset + 2 > len(data):
                raise DecodeError("truncated HDLC parameter")
            parameter, size = data[offset], data[offset + 1]
            offset += 2
            if offset + size > len(data):
                raise DecodeError("truncated HDLC parameter value")
            if parameter in _KNOWN_PARAMETERS:
                if not 1 <= size <= 4:
                    raise DecodeError(f"HDLC parameter {parameter:#04x} of {size} bytes")
                if parameter in values:
                    raise DecodeError(f"HDLC parameter {parameter:#04x} repeated")
                values[parameter] = int.from_bytes(data[offset : offset + size], "big")
            offset += size
        return cls(
            values.get(ParameterId.MAX_INFO_LENGTH_TRANSMIT, DEFAULT_INFO_LENGTH),
            values.get(ParameterId.MAX_INFO_LENGTH_RECEIVE, DEFAULT_INFO_LENGTH),
            values.get(ParameterId.WINDOW_SIZE_TRANSMIT, DEFAULT_WINDOW_SIZE),
            values.get(ParameterId.WINDOW_SIZE_RECEIVE, DEFAULT_WINDOW_SIZE),
        )


def negotiate(proposal: HdlcParameters, limits: HdlcParameters) -> HdlcParameters | None:
    """Answer a peer's ``proposal`` (its point of view) within our own ``limits`` (ours).

    Each value is the smaller of the two. Returns None when the proposal asks for less than
    the standard's minimum (a window of 0, fewer than 32 bytes): the link is then refused.
    Values above the standard's maximum are simply capped by ours.
    """
    if (
        min(proposal.max_info_length_transmit, proposal.max_info_length_receive) < MIN_INFO_LENGTH
        or min(proposal.window_size_transmit, proposal.window_size_receive) < MIN_WINDOW_SIZE
    ):
        return None
    return HdlcParameters(
        min(proposal.max_info_length_receive, limits.max_info_length_transmit),
        min(proposal.max_info_length_transmit, limits.max_info_length_receive),
        min(proposal.window_size_receive, limits.window_size_transmit),
        min(proposal.window_size_transmit, limits.window_size_receive),
    )
