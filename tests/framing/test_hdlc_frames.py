"""HDLC frame values: CRC, addresses, control field, encoding and parsing (IEC 62056-46)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from securemeter.errors import DecodeError, EncodeError
from securemeter.framing.hdlc.frames import (
    ChecksumError,
    FrameType,
    HdlcAddress,
    HdlcFrame,
    crc16_x25,
    frame_type_of,
    information_control,
    supervisory_control,
    unnumbered_control,
)

# Published vectors (restated from the dlms-cosem test suite, tests/test_hdlc/test_hdlc.py):
# SNRM from the public client (SAP 16, 0x21) to logical device 1, physical address 17 (02 23).
SNRM = bytes.fromhex("7EA00802232193BD647E")
# I-frame carrying an AARQ, client -> server, N(S)=0 N(R)=0 P=1: HCS AF9F, FCS C5E4.
AARQ_FRAME = bytes.fromhex(
    "7EA02C02232110AF9FE6E600601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFFC5E47E"
)
AARQ_INFORMATION = bytes.fromhex(
    "E6E600601DA109060760857405080101BE10040E01000000065F1F0400001E1DFFFF"
)
# I-frame carrying the AARE, server -> client, N(S)=0 N(R)=1 F=1.
AARE_FRAME = bytes.fromhex(
    "7EA0382102233034E7E6E7006129A109060760857405080101A203020100A305A103020100BE10040E0800"
    "065F1F0400001E1D04C80007B86A7E"
)
# UA with negotiated parameters (max info 0x9A both ways, window 1 both ways).
UA_FRAME = bytes.fromhex("7EA01F21022373E6C781801205019A06019A070400000001080400000001CCA27E")
# UA from a server using the 4-byte address form (logical 1, physical 17) to clients 1 and 16.
UA_4_BYTE_TO_MANAGEMENT = bytes.fromhex(
    "7EA023030002002373C0488180140502008006020080070400000001080400000001CE6A7E"
)
UA_4_BYTE_TO_PUBLIC = bytes.fromhex(
    "7EA023210002002373F6C58180140502008006020080070400000001080400000001CE6A7E"
)
# UA without information field and without physical address (1-byte server address).
UA_1_BYTE = bytes.fromhex("7EA00721037301407E")
RR_FROM_GURUX = bytes.fromhex("7EA00802232131A5E27E")  # RR N(R)=1 P=1 from gurux-dlms

PUBLIC_CLIENT = HdlcAddress(16, None, 1)
SERVER_1_17 = HdlcAddress(1, 17, 2)


def test_crc_check_value() -> None:
    assert crc16_x25(b"123456789") == 0x906E


def test_crc_of_empty_input() -> None:
    assert crc16_x25(b"") == 0x0000


def test_crc_published_header_value() -> None:
    # dlms-cosem's HCS test: CRC over 03 3F is sent as 5B EC.
    assert crc16_x25(bytes.fromhex("033F")).to_bytes(2, "little") == bytes.fromhex("5BEC")


def test_snrm_vector() -> None:
    frame = HdlcFrame.from_bytes(SNRM)
    assert frame == HdlcFrame(False, SERVER_1_17, PUBLIC_CLIENT, 0x93)
    assert frame.frame_type is FrameType.SNRM
    assert frame.poll_final
    assert frame.to_bytes() == SNRM
    assert (
        HdlcFrame(
            False, SERVER_1_17, PUBLIC_CLIENT, unnumbered_control(FrameType.SNRM, True)
        ).to_bytes()
        == SNRM
    )


def test_aarq_information_frame_vector() -> None:
    control = information_control(0, 0, poll_final=True)
    frame = HdlcFrame(False, SERVER_1_17, PUBLIC_CLIENT, control, AARQ_INFORMATION)
    encoded = frame.to_bytes()
    assert encoded == AARQ_FRAME
    assert encoded[7:9] == bytes.fromhex("AF9F")  # HCS
    assert encoded[-3:-1] == bytes.fromhex("C5E4")  # FCS
    parsed = HdlcFrame.from_bytes(AARQ_FRAME)
    assert parsed == frame
    assert parsed.frame_type is FrameType.I
    assert (parsed.send_sequence_number, parsed.receive_sequence_number) == (0, 0)


def test_aare_information_frame_vector() -> None:
    parsed = HdlcFrame.from_bytes(AARE_FRAME)
    assert parsed.destination == PUBLIC_CLIENT
    assert parsed.source == SERVER_1_17
    assert parsed.frame_type is FrameType.I
    assert (parsed.send_sequence_number, parsed.receive_sequence_number) == (0, 1)
    assert parsed.poll_final
    assert parsed.information.startswith(bytes.fromhex("E6E700"))
    assert parsed.to_bytes() == AARE_FRAME


@pytest.mark.parametrize(
    ("encoded", "destination", "source"),
    [
        (UA_FRAME, PUBLIC_CLIENT, SERVER_1_17),
        (UA_4_BYTE_TO_MANAGEMENT, HdlcAddress(1, None, 1), HdlcAddress(1, 17, 4)),
        (UA_4_BYTE_TO_PUBLIC, PUBLIC_CLIENT, HdlcAddress(1, 17, 4)),
        (UA_1_BYTE, PUBLIC_CLIENT, HdlcAddress(1, None, 1)),
    ],
)
def test_ua_vectors(encoded: bytes, destination: HdlcAddress, source: HdlcAddress) -> None:
    frame = HdlcFrame.from_bytes(encoded)
    assert frame.frame_type is FrameType.UA
    assert (frame.destination, frame.source) == (destination, source)
    assert frame.to_bytes() == encoded


def test_rr_vector() -> None:
    frame = HdlcFrame.from_bytes(RR_FROM_GURUX)
    assert frame.frame_type is FrameType.RR
    assert frame.receive_sequence_number == 1
    assert frame.control == supervisory_control(FrameType.RR, 1, poll_final=True)


def test_segmented_bit() -> None:
    frame = HdlcFrame(True, SERVER_1_17, PUBLIC_CLIENT, information_control(1, 2, False), b"x")
    encoded = frame.to_bytes()
    assert encoded[1] & 0xF8 == 0xA8
    assert HdlcFrame.from_bytes(encoded) == frame


# ----------------------------------------------------------------------------- addresses


@pytest.mark.parametrize(
    ("address", "encoded"),
    [
        (HdlcAddress.client(1), "03"),
        (HdlcAddress.client(16), "21"),
        (HdlcAddress(0b1001010, None, 1), "95"),
        (HdlcAddress.server(1, 17), "0223"),
        (HdlcAddress.server(1, 17, 4), "00020023"),
        (HdlcAddress.server(1, None), "03"),
        (HdlcAddress.server(0x3FFF, 0x3FFF), "FEFEFEFF"),
        (HdlcAddress.server(0x80, 0x01), "02000003"),
    ],
)
def test_address_encoding(address: HdlcAddress, encoded: str) -> None:
    assert address.to_bytes() == bytes.fromhex(encoded)
    assert HdlcAddress.from_bytes(bytes.fromhex(encoded)) == (address, len(encoded) // 2)


@pytest.mark.parametrize(
    "encoded",
    ["", "02", "020406", "0204060800", "020407"],
)
def test_bad_addresses(encoded: str) -> None:
    with pytest.raises(DecodeError):
        HdlcAddress.from_bytes(bytes.fromhex(encoded))


@pytest.mark.parametrize(
    ("logical", "physical", "size"),
    [(0x80, None, 1), (1, None, 2), (1, 5, 1), (1, 0x80, 2), (0x4000, 1, 4), (1, 2, 3), (-1, 0, 2)],
)
def test_invalid_address_values(logical: int, physical: int | None, size: int) -> None:
    with pytest.raises(EncodeError):
        HdlcAddress(logical, physical, size)


addresses = st.one_of(
    st.builds(HdlcAddress, st.integers(0, 0x7F), st.none(), st.just(1)),
    st.builds(HdlcAddress, st.integers(0, 0x7F), st.integers(0, 0x7F), st.just(2)),
    st.builds(HdlcAddress, st.integers(0, 0x3FFF), st.integers(0, 0x3FFF), st.just(4)),
)


@settings(deadline=None, max_examples=200)
@given(address=addresses, prefix=st.binary(max_size=3))
def test_address_round_trip(address: HdlcAddress, prefix: bytes) -> None:
    encoded = prefix + address.to_bytes()
    assert len(encoded) - len(prefix) == address.size
    assert HdlcAddress.from_bytes(encoded, len(prefix)) == (address, len(encoded))


# ----------------------------------------------------------------------------- control field


@pytest.mark.parametrize(
    ("control", "frame_type"),
    [
        (0x93, FrameType.SNRM),
        (0x83, FrameType.SNRM),
        (0x73, FrameType.UA),
        (0x53, FrameType.DISC),
        (0x1F, FrameType.DM),
        (0x97, FrameType.FRMR),
        (0x13, FrameType.UI),
        (0x03, FrameType.UI),
        (0x10, FrameType.I),
        (0xFE, FrameType.I),
        (0x31, FrameType.RR),
        (0xF1, FrameType.RR),
        (0x15, FrameType.RNR),
        (0x09, None),  # REJ
        (0x0D, None),  # SREJ
        (0x2F, None),  # SABM: not in the DLMS profile
        (0xFF, None),
    ],
)
def test_control_field_kinds(control: int, frame_type: FrameType | None) -> None:
    assert frame_type_of(control) is frame_type


def test_control_field_builders() -> None:
    assert information_control(0, 0, True) == 0x10
    assert information_control(7, 7, False) == 0xEE
    assert supervisory_control(FrameType.RR, 3, True) == 0x71
    assert supervisory_control(FrameType.RNR, 0, False) == 0x05
    assert unnumbered_control(FrameType.DM, True) == 0x1F
    assert unnumbered_control(FrameType.UI, False) == 0x03
    with pytest.raises(EncodeError):
        information_control(8, 0, True)
    with pytest.raises(EncodeError):
        supervisory_control(FrameType.UA, 0, True)
    with pytest.raises(EncodeError):
        unnumbered_control(FrameType.RR, True)


@settings(deadline=None, max_examples=100)
@given(
    send=st.integers(0, 7),
    receive=st.integers(0, 7),
    poll=st.booleans(),
    info=st.binary(min_size=1, max_size=40),
)
def test_information_control_fields(send: int, receive: int, poll: bool, info: bytes) -> None:
    frame = HdlcFrame(
        False, SERVER_1_17, PUBLIC_CLIENT, information_control(send, receive, poll), info
    )
    assert (frame.send_sequence_number, frame.receive_sequence_number, frame.poll_final) == (
        send,
        receive,
        poll,
    )


# ----------------------------------------------------------------------------- parsing errors


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes((data[index] ^ 0x01,)) + data[index + 1 :]


def test_bad_fcs() -> None:
    with pytest.raises(ChecksumError, match="FCS"):
        HdlcFrame.from_bytes(_flip(AARQ_FRAME, len(AARQ_FRAME) - 2))


def test_bad_hcs_with_repaired_fcs() -> None:
    # Corrupt the HCS, then make the FCS right again: only the HCS check can catch it.
    content = bytearray(AARQ_FRAME[1:-3])
    content[6] ^= 0xFF
    content += crc16_x25(content).to_bytes(2, "little")
    with pytest.raises(ChecksumError, match="HCS"):
        HdlcFrame.from_bytes(b"\x7e" + bytes(content) + b"\x7e")


@pytest.mark.parametrize(
    "encoded",
    [
        SNRM[1:],  # no opening flag
        SNRM[:-1],  # no closing flag
        b"\x7e\x7e",
        b"\x7e" + bytes.fromhex("B00802232193") + b"\x7e",  # format type 0xB
        SNRM[:2] + b"\x09" + SNRM[3:],  # length says one byte more
        SNRM[:-4] + SNRM[-3:],  # one byte missing
        bytes.fromhex("7EA00A020406082193") + b"\x00\x00\x7e",  # 5-byte destination address
    ],
)
def test_malformed_frames(encoded: bytes) -> None:
    with pytest.raises(DecodeError):
        HdlcFrame.from_bytes(encoded)


def _with_valid_fcs(content_without_fcs: bytes) -> bytes:
    fcs = crc16_x25(content_without_fcs).to_bytes(2, "little")
    return b"\x7e" + content_without_fcs + fcs + b"\x7e"


def test_length_too_short_for_an_information_field() -> None:
    # Header of 5 bytes, length 8: one byte too many for "no information", too few for HCS+info.
    with pytest.raises(DecodeError):
        HdlcFrame.from_bytes(_with_valid_fcs(bytes.fromhex("A008 03 21 13 00")))


def test_encode_refuses_too_long_frames() -> None:
    overhead = 2 + 2 + 1 + 1 + 2 + 2  # format, addresses, control, HCS, FCS
    HdlcFrame(False, SERVER_1_17, PUBLIC_CLIENT, 0x10, bytes(2047 - overhead)).to_bytes()
    with pytest.raises(EncodeError):
        HdlcFrame(False, SERVER_1_17, PUBLIC_CLIENT, 0x10, bytes(2048 - overhead)).to_bytes()
    with pytest.raises(EncodeError):
        HdlcFrame(False, SERVER_1_17, PUBLIC_CLIENT, 0x100).to_bytes()


frames = st.builds(
    HdlcFrame,
    st.booleans(),
    addresses,
    addresses,
    st.integers(0, 0xFF),
    st.binary(max_size=300),
)


@settings(deadline=None, max_examples=300)
@given(frame=frames)
def test_frame_round_trip(frame: HdlcFrame) -> None:
    encoded = frame.to_bytes()
    assert len(encoded) == frame.frame_length + 2
    assert HdlcFrame.from_bytes(encoded) == frame


@settings(deadline=None, max_examples=300)
@given(frame=frames, index=st.integers(min_value=1), bit=st.integers(0, 7))
def test_any_single_bit_error_is_detected(frame: HdlcFrame, index: int, bit: int) -> None:
    encoded = bytearray(frame.to_bytes())
    index = 1 + index % (len(encoded) - 2)  # somewhere between the flags
    encoded[index] ^= 1 << bit
    with pytest.raises(DecodeError):
        HdlcFrame.from_bytes(bytes(encoded))


@settings(deadline=None, max_examples=300)
@given(data=st.binary(max_size=80))
def test_arbitrary_bytes_raise_only_decode_error(data: bytes) -> None:
    for candidate in (data, b"\x7e" + data + b"\x7e", b"\x7e\xa0" + data + b"\x7e"):
        with contextlib.suppress(DecodeError):
            HdlcFrame.from_bytes(candidate)
