"""HdlcFrameDecoder: frames out of a noisy, arbitrarily chunked byte stream."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from securemeter.framing.hdlc.decoder import HdlcFrameDecoder
from securemeter.framing.hdlc.frames import HdlcAddress, HdlcFrame, crc16_x25

SNRM = bytes.fromhex("7EA00802232193BD647E")
AARQ_FRAME = bytes.fromhex(
    "7EA02C02232110AF9FE6E600601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFFC5E47E"
)
UA_FRAME = bytes.fromhex("7EA01F21022373E6C781801205019A06019A070400000001080400000001CCA27E")


def _all_frames(decoder: HdlcFrameDecoder) -> list[HdlcFrame]:
    found = []
    while (frame := decoder.next_frame()) is not None:
        found.append(frame)
    return found


def _decode(data: bytes, max_frame_size: int = 2047) -> tuple[list[HdlcFrame], HdlcFrameDecoder]:
    decoder = HdlcFrameDecoder(max_frame_size)
    decoder.receive_data(data)
    return _all_frames(decoder), decoder


def test_single_frame() -> None:
    frames, decoder = _decode(SNRM)
    assert frames == [HdlcFrame.from_bytes(SNRM)]
    assert decoder.dropped_count == 0


def test_frames_with_separate_and_shared_flags() -> None:
    shared = SNRM + AARQ_FRAME[1:] + UA_FRAME[1:]  # each closing flag opens the next frame
    frames, decoder = _decode(shared)
    assert [frame.to_bytes() for frame in frames] == [SNRM, AARQ_FRAME, UA_FRAME]
    frames, decoder = _decode(SNRM + b"\x7e\x7e\x7e" + AARQ_FRAME + UA_FRAME)
    assert [frame.to_bytes() for frame in frames] == [SNRM, AARQ_FRAME, UA_FRAME]
    assert decoder.dropped_count == 0


def test_garbage_between_frames_is_skipped() -> None:
    stream = b"\x00\x01garbage" + SNRM + b"\xff\xa0\x33" + AARQ_FRAME + b"noise"
    frames, decoder = _decode(stream)
    assert [frame.to_bytes() for frame in frames] == [SNRM, AARQ_FRAME]
    assert decoder.dropped_count == 0
    assert decoder.discarded_byte_count == len(b"\x00\x01garbage") + 3 + len(b"noise")
    assert decoder.buffered_size == 0


def test_flag_inside_a_frame_is_data() -> None:
    # DLMS HDLC has no byte stuffing: 0x7E in the information field must not split the frame.
    frame = HdlcFrame(False, HdlcAddress(1, 17, 2), HdlcAddress(16, None, 1), 0x10, b"\x7e" * 20)
    frames, _ = _decode(frame.to_bytes() + SNRM)
    assert frames == [frame, HdlcFrame.from_bytes(SNRM)]


def test_bad_checksum_is_dropped_and_counted() -> None:
    corrupted = bytearray(AARQ_FRAME)
    corrupted[20] ^= 0x40
    frames, decoder = _decode(bytes(corrupted) + SNRM)
    assert frames == [HdlcFrame.from_bytes(SNRM)]
    assert decoder.bad_checksum_count == 1
    assert decoder.dropped_count == 1


def test_oversize_frame_is_dropped_without_waiting_for_it() -> None:
    big = HdlcFrame(False, HdlcAddress(1, 17, 2), HdlcAddress(16, None, 1), 0x10, bytes(200))
    decoder = HdlcFrameDecoder(max_frame_size=100)
    decoder.receive_data(big.to_bytes()[:5])
    assert decoder.next_frame() is None
    assert decoder.oversize_count == 1
    decoder.receive_data(big.to_bytes()[5:] + SNRM)
    assert _all_frames(decoder) == [HdlcFrame.from_bytes(SNRM)]
    assert decoder.oversize_count == 1


def test_truncated_frame_followed_by_a_valid_one() -> None:
    # A frame cut short (the line dropped bytes) must not swallow the next frame.
    frames, decoder = _decode(AARQ_FRAME[:25] + SNRM + UA_FRAME)
    assert [frame.to_bytes() for frame in frames] == [SNRM, UA_FRAME]
    assert decoder.dropped_count >= 1


def test_bogus_length_behind_a_stray_flag_does_not_hold_up_the_next_frame() -> None:
    # 7E A7 FF announces a 2047-byte frame; the header check rejects it once 13 bytes are in.
    frames, decoder = _decode(b"\x7e\xa7\xff" + SNRM)
    assert frames == [HdlcFrame.from_bytes(SNRM)]
    assert decoder.dropped_count == 1


def test_incomplete_frame_waits_for_more_data() -> None:
    decoder = HdlcFrameDecoder()
    decoder.receive_data(AARQ_FRAME[:-1])
    assert decoder.next_frame() is None
    assert decoder.dropped_count == 0
    decoder.receive_data(AARQ_FRAME[-1:])
    frame = decoder.next_frame()
    assert frame is not None and frame.to_bytes() == AARQ_FRAME


def test_length_below_minimum_is_malformed() -> None:
    body = bytes.fromhex("A005 03 21 93")
    frames, decoder = _decode(b"\x7e" + body + b"\x7e" + SNRM)
    assert frames == [HdlcFrame.from_bytes(SNRM)]
    assert decoder.malformed_count == 1


def test_frame_with_valid_fcs_but_wrong_structure_is_malformed() -> None:
    content = bytes.fromhex("A009 03 21 13 00 00")  # length 9: neither 7 (no info) nor >= 10
    framed = b"\x7e" + content + crc16_x25(content).to_bytes(2, "little") + b"\x7e"
    frames, decoder = _decode(framed)
    assert frames == []
    assert decoder.malformed_count == 1


def test_garbage_without_flag_is_not_retained() -> None:
    decoder = HdlcFrameDecoder()
    for _ in range(100):
        decoder.receive_data(bytes(range(0x7E)) * 10)
        assert decoder.next_frame() is None
    assert decoder.buffered_size == 0
    assert decoder.discarded_byte_count == 100 * 0x7E * 10


def test_buffer_stays_bounded_on_a_long_valid_stream() -> None:
    decoder = HdlcFrameDecoder()
    for _ in range(2000):
        decoder.receive_data(AARQ_FRAME)
        assert decoder.next_frame() is not None
    assert len(decoder._buffer) < 8192


def test_bad_max_frame_size() -> None:
    with pytest.raises(ValueError):
        HdlcFrameDecoder(2048)
    with pytest.raises(ValueError):
        HdlcFrameDecoder(6)


# ----------------------------------------------------------------------------- properties

addresses = st.one_of(
    st.builds(HdlcAddress, st.integers(0, 0x7F), st.none(), st.just(1)),
    st.builds(HdlcAddress, st.integers(0, 0x7F), st.integers(0, 0x7F), st.just(2)),
    st.builds(HdlcAddress, st.integers(0, 0x3FFF), st.integers(0, 0x3FFF), st.just(4)),
)
frames_strategy = st.builds(
    HdlcFrame,
    st.booleans(),
    addresses,
    addresses,
    st.integers(0, 0xFF),
    st.binary(max_size=150),
)


def _feed_in_chunks(decoder: HdlcFrameDecoder, stream: bytes, cuts: list[int]) -> list[HdlcFrame]:
    received = []
    start = 0
    for cut in [*sorted(cuts), len(stream)]:
        decoder.receive_data(stream[start:cut])
        start = cut
        received += _all_frames(decoder)
    return received


@settings(deadline=None, max_examples=150)
@given(
    frames=st.lists(frames_strategy, max_size=6),
    shared_flags=st.booleans(),
    data=st.data(),
)
def test_any_chunking_yields_the_same_frames(
    frames: list[HdlcFrame], shared_flags: bool, data: st.DataObject
) -> None:
    encoded = [frame.to_bytes() for frame in frames]
    if shared_flags:
        stream = b"".join(item if index == 0 else item[1:] for index, item in enumerate(encoded))
    else:
        stream = b"".join(encoded)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=30))
    decoder = HdlcFrameDecoder()
    assert _feed_in_chunks(decoder, stream, cuts) == frames
    assert decoder.dropped_count == 0


@settings(deadline=None, max_examples=200)
@given(
    frames=st.lists(frames_strategy, min_size=1, max_size=3),
    data=st.data(),
)
def test_frames_survive_garbage_between_them(frames: list[HdlcFrame], data: st.DataObject) -> None:
    # The decoder drops garbage, never a frame, and garbage never turns into a frame.
    garbage = data.draw(
        st.lists(st.binary(max_size=40), min_size=len(frames), max_size=len(frames))
    )
    stream = b"".join(junk + frame.to_bytes() for junk, frame in zip(garbage, frames, strict=True))
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=10))
    assert _feed_in_chunks(HdlcFrameDecoder(), stream, cuts) == frames


@settings(deadline=None, max_examples=300)
@given(
    noise=st.lists(
        st.one_of(st.binary(max_size=30), st.sampled_from([b"\x7e", b"\x7e\xa0", b"\x7e\xa8"])),
        max_size=10,
    ),
    data=st.data(),
)
def test_noise_never_raises_and_a_frame_behind_it_is_found(
    noise: list[bytes], data: st.DataObject
) -> None:
    stream = b"".join(noise)
    decoder = HdlcFrameDecoder()
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=10))
    _feed_in_chunks(decoder, stream, cuts)
    # After arbitrary noise, a valid frame followed by a second copy (a client's retry) is
    # always recognised: the noise cannot hold up more than one frame.
    decoder.receive_data(SNRM + SNRM)
    received = _all_frames(decoder)
    assert HdlcFrame.from_bytes(SNRM) in received
    assert decoder.buffered_size <= 2047 + 2


@settings(deadline=None, max_examples=200)
@given(frame=frames_strategy, position=st.integers(min_value=0), value=st.integers(0, 255))
def test_mutated_frame_is_dropped_or_parsed_never_raises(
    frame: HdlcFrame, position: int, value: int
) -> None:
    encoded = bytearray(frame.to_bytes())
    position %= len(encoded)
    encoded[position] = value
    decoder = HdlcFrameDecoder()
    decoder.receive_data(bytes(encoded) + SNRM)
    received = _all_frames(decoder)
    assert received[-1] == HdlcFrame.from_bytes(SNRM)
    if bytes(encoded) != frame.to_bytes():
        assert frame not in received
