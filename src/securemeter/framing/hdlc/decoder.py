"""Incremental HDLC frame finder for a byte stream that may carry noise.

A frame is an opening flag, a type-3 format field whose length says where the closing flag
must be, and valid HCS/FCS. Anything else is skipped: bytes outside frames, idle flags, frames
with bad checksums, oversize frames. Nothing here raises for what arrives on the line; the
decoder counts what it dropped so that the meter can log it.

A closing flag may also open the next frame (shared flags). Because DLMS HDLC does not stuff
bytes, a 0x7E inside a frame is data; after a failure the search resumes one byte after the
failed opening flag, so that a real frame hidden behind noise is still found. A candidate that
is still incomplete is rejected as soon as its header (and HCS) can be checked, so a stray
flag followed by a large bogus length does not hold up the frames behind it.
"""

from __future__ import annotations

from typing import Final

from securemeter.errors import DecodeError
from securemeter.framing.hdlc.frames import (
    FLAG,
    FORMAT_TYPE_3,
    LENGTH_MASK,
    MAX_FRAME_LENGTH,
    ChecksumError,
    HdlcFrame,
    TruncatedError,
    header_check_ok,
    parse_frame_content,
    parse_header,
)

# Format, two 4-byte addresses, control and HCS: the most bytes a header check needs.
_CHECKABLE_HEADER: Final = 2 + 4 + 4 + 1 + 2
_MIN_FRAME_LENGTH: Final = 2 + 1 + 1 + 1 + 2
_COMPACT_THRESHOLD: Final = 4096


class HdlcFrameDecoder:
    """Bytes in (``receive_data``), valid frames out (``next_frame``), drops counted."""

    def __init__(self, max_frame_size: int = MAX_FRAME_LENGTH) -> None:
        if not _MIN_FRAME_LENGTH <= max_frame_size <= MAX_FRAME_LENGTH:
            raise ValueError(
                f"max_frame_size must be {_MIN_FRAME_LENGTH}..{MAX_FRAME_LENGTH}, "
                f"not {max_frame_size}"
            )
        self.max_frame_size = max_frame_size
        self.bad_checksum_count = 0
        self.oversize_count = 0
        self.malformed_count = 0
        self.discarded_byte_count = 0  # bytes skipped while looking for an opening flag
        self._buffer = bytearray()
        self._offset = 0
        self._checked_candidate = -1  # offset of the incomplete candidate whose header passed

    @property
    def dropped_count(self) -> int:
        """Frame candidates dropped so far, for any reason."""
        return self.bad_checksum_count + self.oversize_count + self.malformed_count

    @property
    def buffered_size(self) -> int:
        return len(self._buffer) - self._offset

    def receive_data(self, data: bytes) -> None:
        self._buffer += data

    def next_frame(self) -> HdlcFrame | None:
        """Return the next valid frame, or None until more bytes arrive."""
        buffer = self._buffer
        while True:
            flag = buffer.find(FLAG, self._offset)
            if flag < 0:
                self.discarded_byte_count += len(buffer) - self._offset
                self._reset_buffer()
                return None
            self.discarded_byte_count += flag - self._offset
            self._offset = flag
            after = len(buffer) - flag - 1
            if after >= 1 and buffer[flag + 1] == FLAG:
                self._offset = flag + 1  # idle fill or a closing flag followed by an opening one
                continue
            if after < 2:
                self._compact()
                return None
            format_field = buffer[flag + 1] << 8 | buffer[flag + 2]
            if format_field & 0xF000 != FORMAT_TYPE_3:
                self._skip_flag()  # a flag that opens nothing: noise or the end of a frame
                continue
            length = format_field & LENGTH_MASK
            if length > self.max_frame_size:
                self.oversize_count += 1
                self._skip_flag()
                continue
            if length < _MIN_FRAME_LENGTH:
                self.malformed_count += 1
                self._skip_flag()
                continue
            if after < length + 1:
                if self._candidate_rejected(flag, after):
                    continue
                self._compact()
                return None
            end = flag + 1 + length
            if buffer[end] != FLAG:
                self.malformed_count += 1
                self._skip_flag()
                continue
            try:
                frame = parse_frame_content(bytes(buffer[flag + 1 : end]))
            except ChecksumError:
                self.bad_checksum_count += 1
                self._skip_flag()
                continue
            except DecodeError:
                self.malformed_count += 1
                self._skip_flag()
                continue
            self._offset = end  # the closing flag may open the next frame
            self._compact()
            return frame

    def _candidate_rejected(self, flag: int, after: int) -> bool:
        """Check what is there of an incomplete candidate's header (and HCS), once."""
        if self._checked_candidate == flag:
            return False
        head = bytes(self._buffer[flag + 1 : flag + 1 + min(after, _CHECKABLE_HEADER)])
        try:
            header = parse_header(head)
        except TruncatedError:
            return False
        except DecodeError:
            self.malformed_count += 1
            self._skip_flag()
            return True
        if header.length == header.end + 2:
            return False  # no HCS: only the FCS can tell, and the frame is short
        if len(head) < header.end + 2:
            return False
        if not header_check_ok(head, header):
            self.bad_checksum_count += 1
            self._skip_flag()
            return True
        self._checked_candidate = flag
        return False

    def _skip_flag(self) -> None:
        self._offset += 1

    def _reset_buffer(self) -> None:
        self._buffer.clear()
        self._offset = 0
        self._checked_candidate = -1

    def _compact(self) -> None:
        if self._offset >= _COMPACT_THRESHOLD and self._offset * 2 >= len(self._buffer):
            del self._buffer[: self._offset]
            if self._checked_candidate >= 0:
                self._checked_candidate -= self._offset
            self._offset = 0
