"""IEC 62056-47 wrapper: encoding, incremental decoding, refusal of bad headers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from securemeter.errors import DecodeError, EncodeError
from securemeter.framing.wrapper import (
    HEADER_LENGTH,
    WrapperDecoder,
    WrapperFrame,
    encode_wrapper,
)

# Derived vector: public client (wPort 16) to the management logical device (wPort 1),
# 13-byte APDU (a get-request for the clock time).
GET_CLOCK = bytes.fromhex("C001C100080000010000FF0200")
WRAPPED_GET_CLOCK = bytes.fromhex("0001 0010 0001 000D") + GET_CLOCK


def test_encode_matches_vector() -> None:
    assert encode_wrapper(16, 1, GET_CLOCK) == WRAPPED_GET_CLOCK
    assert WrapperFrame(16, 1, GET_CLOCK).to_bytes() == WRAPPED_GET_CLOCK


def test_decode_vector() -> None:
    decoder = WrapperDecoder(max_apdu_size=1024)
    decoder.receive_data(WRAPPED_GET_CLOCK)
    assert decoder.next_frame() == WrapperFrame(16, 1, GET_CLOCK, version=1)
    assert decoder.next_frame() is None
    assert decoder.buffered_size == 0


def test_needs_data_until_complete() -> None:
    decoder = WrapperDecoder(max_apdu_size=1024)
    for byte in WRAPPED_GET_CLOCK[:-1]:
        decoder.receive_data(bytes((byte,)))
        assert decoder.next_frame() is None
    decoder.receive_data(WRAPPED_GET_CLOCK[-1:])
    frame = decoder.next_frame()
    assert frame is not None and frame.apdu == GET_CLOCK


def test_empty_apdu() -> None:
    decoder = WrapperDecoder(max_apdu_size=0)
    decoder.receive_data(encode_wrapper(1, 2, b""))
    assert decoder.next_frame() == WrapperFrame(1, 2, b"")


def test_several_frames_in_one_chunk() -> None:
    data = encode_wrapper(16, 1, b"\x01") + encode_wrapper(1, 16, b"\x02\x03") + b"\x00\x01"
    decoder = WrapperDecoder(max_apdu_size=10)
    decoder.receive_data(data)
    assert decoder.next_frame() == WrapperFrame(16, 1, b"\x01")
    assert decoder.next_frame() == WrapperFrame(1, 16, b"\x02\x03")
    assert decoder.next_frame() is None
    assert decoder.buffered_size == 2


@pytest.mark.parametrize("version", [0, 2, 0xFFFF])
def test_bad_version_raises_and_stays_failed(version: int) -> None:
    decoder = WrapperDecoder(max_apdu_size=100)
    decoder.receive_data(WrapperFrame(16, 1, b"\x00", version=version).to_bytes())
    with pytest.raises(DecodeError, match="version"):
        decoder.next_frame()
    decoder.receive_data(encode_wrapper(16, 1, b"\x00"))
    with pytest.raises(DecodeError, match="version"):
        decoder.next_frame()


def test_bad_version_detected_from_header_alone() -> None:
    decoder = WrapperDecoder(max_apdu_size=100)
    decoder.receive_data(bytes.fromhex("0002 0010 0001 0005"))
    with pytest.raises(DecodeError):
        decoder.next_frame()


def test_oversize_refused_before_the_body_arrives() -> None:
    decoder = WrapperDecoder(max_apdu_size=100)
    decoder.receive_data(bytes.fromhex("0001 0010 0001 0065"))  # announces 101 bytes
    with pytest.raises(DecodeError, match="exceeds"):
        decoder.next_frame()
    with pytest.raises(DecodeError):
        decoder.next_frame()


def test_length_equal_to_maximum_accepted() -> None:
    decoder = WrapperDecoder(max_apdu_size=100)
    decoder.receive_data(encode_wrapper(16, 1, bytes(100)))
    frame = decoder.next_frame()
    assert frame is not None and len(frame.apdu) == 100


def test_from_bytes_exact() -> None:
    assert WrapperFrame.from_bytes(WRAPPED_GET_CLOCK) == WrapperFrame(16, 1, GET_CLOCK)
    with pytest.raises(DecodeError):
        WrapperFrame.from_bytes(WRAPPED_GET_CLOCK[:-1])
    with pytest.raises(DecodeError):
        WrapperFrame.from_bytes(WRAPPED_GET_CLOCK + b"\x00")
    with pytest.raises(DecodeError):
        WrapperFrame.from_bytes(WRAPPED_GET_CLOCK, max_apdu_size=12)


@pytest.mark.parametrize(
    "frame",
    [
        WrapperFrame(-1, 1, b""),
        WrapperFrame(16, 0x10000, b""),
        WrapperFrame(16, 1, b"", version=0x10000),
        WrapperFrame(16, 1, bytes(0x10000)),
    ],
)
def test_encode_refuses_out_of_range(frame: WrapperFrame) -> None:
    with pytest.raises(EncodeError):
        frame.to_bytes()


def test_bad_max_apdu_size() -> None:
    with pytest.raises(ValueError):
        WrapperDecoder(max_apdu_size=0x10000)


def test_buffer_is_compacted_on_long_streams() -> None:
    decoder = WrapperDecoder(max_apdu_size=200)
    frame = encode_wrapper(16, 1, bytes(range(100)))
    for _ in range(500):
        decoder.receive_data(frame + frame[:3])
        assert decoder.next_frame() is not None
        decoder.receive_data(frame[3:])
        assert decoder.next_frame() is not None
    # Everything was consumed: nothing is retained.
    assert decoder.buffered_size == 0
    assert len(decoder._buffer) == 0


def test_partial_frame_survives_compaction() -> None:
    decoder = WrapperDecoder(max_apdu_size=0xFFFF)
    big = encode_wrapper(16, 1, bytes(5000))
    small = encode_wrapper(16, 1, b"\xaa\xbb")
    decoder.receive_data(big + small[:5])
    assert decoder.next_frame() == WrapperFrame(16, 1, bytes(5000))
    assert len(decoder._buffer) == 5  # the 5008-byte prefix was dropped
    decoder.receive_data(small[5:])
    assert decoder.next_frame() == WrapperFrame(16, 1, b"\xaa\xbb")


frames_strategy = st.lists(
    st.builds(
        WrapperFrame,
        st.integers(0, 0xFFFF),
        st.integers(0, 0xFFFF),
        st.binary(max_size=300),
    ),
    max_size=8,
)


@settings(deadline=None, max_examples=150)
@given(frames=frames_strategy, data=st.data())
def test_any_chunking_yields_the_same_frames(
    frames: list[WrapperFrame], data: st.DataObject
) -> None:
    stream = b"".join(frame.to_bytes() for frame in frames)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=20)))
    decoder = WrapperDecoder(max_apdu_size=300)
    received: list[WrapperFrame] = []
    start = 0
    for cut in [*cuts, len(stream)]:
        decoder.receive_data(stream[start:cut])
        start = cut
        while (frame := decoder.next_frame()) is not None:
            received.append(frame)
    assert received == frames
    assert decoder.buffered_size == 0


@settings(deadline=None, max_examples=200)
@given(garbage=st.binary(max_size=64))
def test_garbage_raises_only_decode_error(garbage: bytes) -> None:
    decoder = WrapperDecoder(max_apdu_size=32)
    decoder.receive_data(garbage)
    try:
        while decoder.next_frame() is not None:
            pass
    except DecodeError:
        pass
    assert decoder.buffered_size <= len(garbage)


def test_header_length_constant() -> None:
    assert len(encode_wrapper(1, 1, b"")) == HEADER_LENGTH


# ----------------------------------------------------------------------------- oracles


@pytest.mark.interop
@settings(deadline=None, max_examples=50)
@given(
    source=st.integers(0, 0xFFFF),
    destination=st.integers(0, 0xFFFF),
    apdu=st.binary(max_size=200),
)
def test_same_bytes_as_dlms_cosem(source: int, destination: int, apdu: bytes) -> None:
    from dlms_cosem.protocol.wrappers import WrapperHeader, WrapperProtocolDataUnit

    theirs = WrapperProtocolDataUnit(apdu, WrapperHeader(source, destination, len(apdu)))
    assert encode_wrapper(source, destination, apdu) == theirs.to_bytes()
    parsed = WrapperProtocolDataUnit.from_bytes(encode_wrapper(source, destination, apdu))
    assert (parsed.wrapper_header.source_wport, parsed.wrapper_header.destination_wport) == (
        source,
        destination,
    )
    assert WrapperFrame.from_bytes(theirs.to_bytes()) == WrapperFrame(source, destination, apdu)


@pytest.mark.interop
def test_gurux_wrapped_aarq_decodes() -> None:
    from gurux_dlms import GXDLMSClient
    from gurux_dlms.enums import Authentication, InterfaceType

    client = GXDLMSClient(True, 16, 1, Authentication.NONE, None, InterfaceType.WRAPPER)
    (request,) = client.aarqRequest()
    decoder = WrapperDecoder(max_apdu_size=1024)
    decoder.receive_data(bytes(request))
    frame = decoder.next_frame()
    assert frame is not None
    assert (frame.source_wport, frame.destination_wport) == (16, 1)
    assert frame.apdu[:1] == b"\x60"  # AARQ tag
    assert encode_wrapper(16, 1, frame.apdu) == bytes(request)
