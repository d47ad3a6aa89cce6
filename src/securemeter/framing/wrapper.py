"""IEC 62056-47 TCP/UDP wrapper: an 8-byte header in front of every APDU.

The header is four big-endian Unsigned16 values: version (always 1), source wPort,
destination wPort and the length of the APDU that follows. The wPorts are the DLMS SAPs
(client 1 management, 16 public; server 1 management logical device).

:class:`WrapperDecoder` is sans-IO: the caller feeds it whatever the socket produced and
pulls complete frames out. A wrong version or an announced length above the configured
maximum is a :class:`DecodeError` that stays raised on every later call: the stream can no
longer be trusted to be in sync, so the caller must close the connection.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from securemeter.errors import DecodeError, EncodeError

WRAPPER_VERSION: Final = 1
HEADER_LENGTH: Final = 8
MAX_WPORT: Final = 0xFFFF
MAX_APDU_LENGTH: Final = 0xFFFF  # the length field is an Unsigned16

_HEADER = struct.Struct(">HHHH")
# Compact the receive buffer only once the consumed prefix is this large (and at least half of
# the buffer), so that each byte is moved a bounded number of times.
_COMPACT_THRESHOLD: Final = 4096


@dataclass(frozen=True, slots=True)
class WrapperFrame:
    """One wrapper PDU: the header fields and the APDU it carries."""

    source_wport: int
    destination_wport: int
    apdu: bytes
    version: int = WRAPPER_VERSION

    def to_bytes(self) -> bytes:
        """Encode the header and APDU; raises :class:`EncodeError` for out-of-range fields."""
        return _encode(self.version, self.source_wport, self.destination_wport, self.apdu)

    @classmethod
    def from_bytes(cls, data: bytes, max_apdu_size: int = MAX_APDU_LENGTH) -> WrapperFrame:
        """Decode exactly one frame (a UDP datagram); trailing or missing bytes are an error."""
        decoder = WrapperDecoder(max_apdu_size)
        decoder.receive_data(data)
        frame = decoder.next_frame()
        if frame is None:
            raise DecodeError("truncated wrapper frame")
        if decoder.buffered_size:
            raise DecodeError(f"{decoder.buffered_size} bytes after the wrapper frame")
        return frame


def encode_wrapper(source_wport: int, destination_wport: int, apdu: bytes) -> bytes:
    """Wrap one APDU for sending from ``source_wport`` to ``destination_wport``."""
    return _encode(WRAPPER_VERSION, source_wport, destination_wport, apdu)


def _encode(version: int, source_wport: int, destination_wport: int, apdu: bytes) -> bytes:
    # One pack checks every field's range (all are Unsigned16, the length included).
    try:
        header = _HEADER.pack(version, source_wport, destination_wport, len(apdu))
    except struct.error as exc:
        raise EncodeError(
            f"wrapper field out of range (version {version}, wports {source_wport} and "
            f"{destination_wport}, APDU of {len(apdu)} bytes): {exc}"
        ) from None
    return header + bytes(apdu)


class WrapperDecoder:
    """Incremental wrapper reader: ``receive_data`` bytes in, ``next_frame`` frames out."""

    def __init__(self, max_apdu_size: int) -> None:
        if not 0 <= max_apdu_size <= MAX_APDU_LENGTH:
            raise ValueError(f"max_apdu_size must be 0..{MAX_APDU_LENGTH}, not {max_apdu_size}")
        self.max_apdu_size = max_apdu_size
        self._buffer = bytearray()
        self._offset = 0  # start of the unread bytes in _buffer
        self._error: DecodeError | None = None

    @property
    def buffered_size(self) -> int:
        """Bytes received but not yet returned as part of a frame."""
        return len(self._buffer) - self._offset

    def receive_data(self, data: bytes) -> None:
        """Append bytes from the transport; any chunking is fine."""
        self._buffer += data

    def next_frame(self) -> WrapperFrame | None:
        """Return the next complete frame, or None when more bytes are needed.

        Raises :class:`DecodeError` for a version other than 1 or an announced APDU length
        above ``max_apdu_size``; the decoder then stays failed.
        """
        if self._error is not None:
            raise self._error
        if self.buffered_size < HEADER_LENGTH:
            return None
        version, source_wport, destination_wport, length = _HEADER.unpack_from(
            self._buffer, self._offset
        )
        if version != WRAPPER_VERSION:
            self._error = DecodeError(f"unsupported wrapper version {version}")
            raise self._error
        if length > self.max_apdu_size:
            # Refuse before buffering: the announced length is attacker-controlled.
            self._error = DecodeError(
                f"announced APDU length {length} exceeds the maximum {self.max_apdu_size}"
            )
            raise self._error
        start = self._offset + HEADER_LENGTH
        end = start + length
        if end > len(self._buffer):
            return None
        apdu = bytes(self._buffer[start:end])
        self._offset = end
        self._compact()
        return WrapperFrame(source_wport, destination_wport, apdu, version)

    def _compact(self) -> None:
        if self._offset == len(self._buffer):
            self._buffer.clear()
            self._offset = 0
        elif self._offset >= _COMPACT_THRESHOLD and self._offset * 2 >= len(self._buffer):
            del self._buffer[: self._offset]
            self._offset = 0
