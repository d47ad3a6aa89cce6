"""Block-transfer helpers of the session layer (session/blocks.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from securemeter.apdu.action import (
    ActionRequestWithPBlock,
    ActionResponseWithPBlock,
)
from securemeter.apdu.get import GetResponseWithDataBlock
from securemeter.apdu.set import SetRequestWithDataBlock
from securemeter.errors import LocalProtocolError, RemoteProtocolError
from securemeter.session.blocks import (
    ACTION_REQUEST_WITH_PBLOCK_HEADER_SIZE,
    ACTION_RESPONSE_WITH_PBLOCK_HEADER_SIZE,
    GET_RESPONSE_WITH_DATABLOCK_HEADER_SIZE,
    MAX_BLOCK_NUMBER,
    SET_REQUEST_WITH_DATABLOCK_HEADER_SIZE,
    Block,
    BlockNumberError,
    BlockReassembler,
    BlockSegmenter,
    BlockTransferTooLarge,
    get_response_block_capacity,
    raw_data_capacity,
)

# ----------------------------------------------------------------------------- segmenter


def test_segmenter_cuts_in_order() -> None:
    segmenter = BlockSegmenter(b"abcdefghij", 4)
    assert segmenter.block_count == 3
    assert segmenter.next_block_number == 1
    assert segmenter.next_block() == Block(1, False, b"abcd")
    assert segmenter.next_block_number == 2
    assert segmenter.remaining == 6
    assert list(segmenter) == [Block(2, False, b"efgh"), Block(3, True, b"ij")]
    assert segmenter.done
    assert segmenter.remaining == 0
    with pytest.raises(LocalProtocolError):
        segmenter.next_block()


def test_segmenter_blocks_unpack_as_tuples() -> None:
    block_number, last_block, chunk = BlockSegmenter(b"xy", 8).next_block()
    assert (block_number, last_block, chunk) == (1, True, b"xy")


def test_segmenter_edge_cases() -> None:
    assert list(BlockSegmenter(b"", 4)) == [Block(1, True, b"")]
    assert list(BlockSegmenter(b"abcd", 4)) == [Block(1, True, b"abcd")]
    assert list(BlockSegmenter(b"abcd", 2, first_block_number=0)) == [
        Block(0, False, b"ab"),
        Block(1, True, b"cd"),
    ]
    for size in (0, -1):
        with pytest.raises(ValueError):
            BlockSegmenter(b"abc", size)
    with pytest.raises(ValueError):
        BlockSegmenter(b"abc", 1, first_block_number=MAX_BLOCK_NUMBER - 1)
    assert BlockSegmenter(b"ab", 1, first_block_number=MAX_BLOCK_NUMBER - 1).block_count == 2


def test_segmenter_does_not_copy_the_buffer() -> None:
    data = bytearray(b"0123456789")
    segmenter = BlockSegmenter(data, 5)  # type: ignore[arg-type]
    # the segmenter holds a view: the exporter cannot be resized while it exists
    with pytest.raises(BufferError):
        data.extend(b"x")
    assert segmenter.next_block().data == b"01234"


# ----------------------------------------------------------------------------- reassembler


def test_reassembler_accepts_in_order_blocks() -> None:
    reassembler = BlockReassembler(100)
    assert reassembler.add(1, False, b"abc") is None
    assert reassembler.expected_block_number == 2
    assert reassembler.add(2, False, b"def") is None
    assert reassembler.received_size == 6
    assert reassembler.add(3, True, b"g") == b"abcdefg"
    assert reassembler.complete
    assert reassembler.received_size == 7


@pytest.mark.parametrize("block_number", [0, 2, 3, 1000])
def test_reassembler_refuses_wrong_first_number(block_number: int) -> None:
    with pytest.raises(BlockNumberError):
        BlockReassembler(100).add(block_number, False, b"x")


def test_reassembler_refuses_repeat_and_gap_and_leaves_state_unchanged() -> None:
    reassembler = BlockReassembler(100)
    reassembler.add(1, False, b"ab")
    with pytest.raises(BlockNumberError):
        reassembler.add(1, False, b"ab")  # repeat
    with pytest.raises(BlockNumberError):
        reassembler.add(3, True, b"ab")  # gap
    assert reassembler.expected_block_number == 2
    assert reassembler.received_size == 2
    assert reassembler.add(2, True, b"cd") == b"abcd"


def test_reassembler_refuses_after_last() -> None:
    reassembler = BlockReassembler(100)
    reassembler.add(1, True, b"ab")
    with pytest.raises(BlockNumberError):
        reassembler.add(2, True, b"ab")


def test_reassembler_refuses_empty_middle_block() -> None:
    reassembler = BlockReassembler(100)
    with pytest.raises(BlockNumberError):
        reassembler.add(1, False, b"")
    assert reassembler.add(1, True, b"") == b""


def test_reassembler_size_limit() -> None:
    reassembler = BlockReassembler(5)
    reassembler.add(1, False, b"abc")
    with pytest.raises(BlockTransferTooLarge):
        reassembler.add(2, True, b"def")
    assert reassembler.add(2, True, b"de") == b"abcde"  # exactly at the limit is fine
    with pytest.raises(BlockTransferTooLarge):
        BlockReassembler(0).add(1, True, b"x")


def test_reassembler_block_number_exhaustion() -> None:
    reassembler = BlockReassembler(10, first_block_number=MAX_BLOCK_NUMBER)
    with pytest.raises(BlockNumberError):
        reassembler.add(MAX_BLOCK_NUMBER, False, b"x")
    assert reassembler.add(MAX_BLOCK_NUMBER, True, b"x") == b"x"


def test_errors_are_remote_protocol_errors() -> None:
    assert issubclass(BlockNumberError, RemoteProtocolError)
    assert issubclass(BlockTransferTooLarge, RemoteProtocolError)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2000), st.integers(1, 300))
def test_segmenter_and_reassembler_round_trip(data: bytes, block_size: int) -> None:
    reassembler = BlockReassembler(len(data))
    result = None
    for block in BlockSegmenter(data, block_size):
        assert len(block.data) <= block_size
        assert result is None
        result = reassembler.add(*block)
    assert result == data


# ----------------------------------------------------------------------------- capacity


@settings(max_examples=200, deadline=None)
@given(st.integers(GET_RESPONSE_WITH_DATABLOCK_HEADER_SIZE + 2, 70000))
def test_get_response_capacity_fills_the_pdu_exactly_or_nearly(max_pdu_size: int) -> None:
    capacity = get_response_block_capacity(max_pdu_size)
    block = GetResponseWithDataBlock(0xC1, False, 1, bytes(capacity))
    size = len(block.to_bytes())
    assert size <= max_pdu_size
    # one octet more would not fit
    assert (
        len(GetResponseWithDataBlock(0xC1, False, 1, bytes(capacity + 1)).to_bytes()) > max_pdu_size
    )
    assert size >= max_pdu_size - 1  # at most one octet lost to a longer length field


@pytest.mark.parametrize(
    ("max_pdu_size", "capacity"),
    [
        (10, 0),
        (11, 1),
        (137, 127),
        (138, 127),
        (139, 128),
        (140, 129),
        (1024, 1012),
        (65535, 65523),
    ],
)
def test_get_response_capacity_values(max_pdu_size: int, capacity: int) -> None:
    assert get_response_block_capacity(max_pdu_size) == capacity


def test_capacity_with_protection_overhead_and_tiny_pdus() -> None:
    assert get_response_block_capacity(1024, protection_overhead=30) == get_response_block_capacity(
        994
    )
    assert get_response_block_capacity(5) == 0
    assert raw_data_capacity(0, 8) == 0


@pytest.mark.parametrize(
    ("header_size", "build"),
    [
        (
            SET_REQUEST_WITH_DATABLOCK_HEADER_SIZE,
            lambda raw: SetRequestWithDataBlock(0xC1, True, 1, raw),
        ),
        (
            ACTION_REQUEST_WITH_PBLOCK_HEADER_SIZE,
            lambda raw: ActionRequestWithPBlock(0xC1, True, 1, raw),
        ),
        (
            ACTION_RESPONSE_WITH_PBLOCK_HEADER_SIZE,
            lambda raw: ActionResponseWithPBlock(0xC1, True, 1, raw),
        ),
        (
            GET_RESPONSE_WITH_DATABLOCK_HEADER_SIZE,
            lambda raw: GetResponseWithDataBlock(0xC1, True, 1, raw),
        ),
    ],
)
def test_header_sizes_match_the_encodings(header_size: int, build: object) -> None:
    for amount in (0, 127, 128, 300):
        encoded = build(bytes(amount)).to_bytes()  # type: ignore[operator]
        length_field = 1 if amount < 0x80 else 2 if amount < 0x100 else 3
        assert len(encoded) == header_size + length_field + amount
