"""Sans-IO helpers for the xDLMS service-specific block transfer (GET/SET/ACTION with blocks).

:class:`BlockSegmenter` cuts an encoded value into numbered blocks on demand;
:class:`BlockReassembler` accepts numbered blocks in order and returns the whole once the
last one arrives, refusing gaps, repeats and anything over a size limit. Neither knows
which service it serves: the session wraps the blocks in the right APDU.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from securemeter.codec.axdr import encode_length
from securemeter.errors import LocalProtocolError, RemoteProtocolError

MAX_BLOCK_NUMBER = 0xFFFF_FFFF  # block numbers are Unsigned32

# Octets before raw-data's length field in each block-carrying APDU (tag, choice,
# invoke-id-and-priority, last-block, block-number, and for GET the result choice).
GET_RESPONSE_WITH_DATABLOCK_HEADER_SIZE = 9
SET_REQUEST_WITH_DATABLOCK_HEADER_SIZE = 8
ACTION_REQUEST_WITH_PBLOCK_HEADER_SIZE = 8
ACTION_RESPONSE_WITH_PBLOCK_HEADER_SIZE = 8


class BlockTransferError(RemoteProtocolError):
    """The peer's blocks cannot be accepted; the transfer should be aborted."""


class BlockNumberError(BlockTransferError):
    """A block arrived out of order, twice, empty before the last, or after the last."""


class BlockTransferTooLarge(BlockTransferError):
    """The blocks add up to more than the agreed maximum size."""


class Block(NamedTuple):
    block_number: int
    last_block: bool
    data: bytes


def raw_data_capacity(max_apdu_size: int, header_size: int) -> int:
    """How many raw-data octets fit in an APDU of ``max_apdu_size`` octets.

    ``header_size`` counts everything before raw-data's A-XDR length field (which itself
    grows from 1 to 3 octets with the amount). Returns 0 when nothing fits.
    """
    budget = max_apdu_size - header_size
    for length_size in range(1, 6):
        amount = budget - length_size
        if amount < 0:
            break
        if len(encode_length(amount)) <= length_size:
            return amount
    return 0


def get_response_block_capacity(max_pdu_size: int, *, protection_overhead: int = 0) -> int:
    """Raw-data octets per GET-Response-With-Datablock for the client's max PDU size.

    ``protection_overhead`` is what ciphering adds around the APDU (header, system title,
    authentication tag), taken off the budget first.
    """
    return raw_data_capacity(
        max_pdu_size - protection_overhead, GET_RESPONSE_WITH_DATABLOCK_HEADER_SIZE
    )


class BlockSegmenter:
    """Cuts ``data`` into blocks of at most ``block_size`` octets, numbered from
    ``first_block_number``; an empty value gives one empty last block."""

    __slots__ = ("_block_size", "_count", "_first", "_next", "_view")

    def __init__(self, data: bytes, block_size: int, *, first_block_number: int = 1) -> None:
        if block_size < 1:
            raise ValueError(f"block size must be positive, got {block_size}")
        if not 0 <= first_block_number <= MAX_BLOCK_NUMBER:
            raise ValueError(f"block number out of range: {first_block_number}")
        self._view = memoryview(data).toreadonly()  # blocks are sliced, never copied whole
        self._block_size = block_size
        self._count = max(1, -(-len(data) // block_size))
        if first_block_number + self._count - 1 > MAX_BLOCK_NUMBER:
            raise ValueError("too many blocks for Unsigned32 block numbers")
        self._first = first_block_number
        self._next = first_block_number

    @property
    def block_count(self) -> int:
        return self._count

    @property
    def next_block_number(self) -> int:
        """Number the next block will carry (one past the last block once done)."""
        return self._next

    @property
    def done(self) -> bool:
        return self._next - self._first >= self._count

    @property
    def remaining(self) -> int:
        """Octets not yet handed out."""
        return max(0, len(self._view) - (self._next - self._first) * self._block_size)

    def next_block(self) -> Block:
        if self.done:
            raise LocalProtocolError("all blocks have been sent")
        index = self._next - self._first
        start = index * self._block_size
        chunk = bytes(self._view[start : start + self._block_size])
        block = Block(self._next, index == self._count - 1, chunk)
        self._next += 1
        return block

    def __iter__(self) -> Iterator[Block]:
        while not self.done:
            yield self.next_block()


class BlockReassembler:
    """Collects blocks numbered from ``first_block_number`` up to ``max_total_size`` octets.

    :meth:`add` returns None until the last block, then the whole value. A refused block
    raises a :class:`BlockTransferError` and leaves the reassembler unchanged.
    """

    __slots__ = ("_buffer", "_complete", "_expected", "_max_total_size", "_received")

    def __init__(self, max_total_size: int, *, first_block_number: int = 1) -> None:
        if max_total_size < 0:
            raise ValueError(f"negative maximum size {max_total_size}")
        if not 0 <= first_block_number <= MAX_BLOCK_NUMBER:
            raise ValueError(f"block number out of range: {first_block_number}")
        self._max_total_size = max_total_size
        self._expected = first_block_number
        self._buffer = bytearray()
        self._received = 0
        self._complete = False

    @property
    def expected_block_number(self) -> int:
        return self._expected

    @property
    def received_size(self) -> int:
        return self._received

    @property
    def complete(self) -> bool:
        return self._complete

    def add(self, block_number: int, last_block: bool, data: bytes) -> bytes | None:
        if self._complete:
            raise BlockNumberError(f"block {block_number} after the last block")
        if block_number != self._expected:
            raise BlockNumberError(
                f"block {block_number} received, block {self._expected} expected"
            )
        if not data and not last_block:
            # an empty middle block makes no progress: refuse it rather than loop
            raise BlockNumberError(f"block {block_number} is empty and not the last")
        if self._received + len(data) > self._max_total_size:
            raise BlockTransferTooLarge(
                f"blocks exceed the maximum of {self._max_total_size} octets"
            )
        if block_number == MAX_BLOCK_NUMBER and not last_block:
            raise BlockNumberError("block numbers exhausted before the last block")
        self._buffer += data
        self._received += len(data)
        if not last_block:
            self._expected += 1
            return None
        self._complete = True
        whole = bytes(self._buffer)
        self._buffer = bytearray()
        return whole
