"""The BER subset: tags, lengths, TLVs, INTEGER, BIT STRING, OBJECT IDENTIFIER."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from securemeter.codec import ber
from securemeter.codec.ber import BitString, ObjectIdentifier, TagClass
from securemeter.errors import DecodeError, EncodeError

# ----------------------------------------------------------------------------- OIDs


@pytest.mark.parametrize(
    ("dotted", "content_hex"),
    [
        ("2.16.756.5.8.1.1", "60857405080101"),
        ("2.16.756.5.8.1.3", "60857405080103"),
        ("2.16.756.5.8.2.0", "60857405080200"),
        ("2.16.756.5.8.2.5", "60857405080205"),
        ("2.16.756.5.8.2.7", "60857405080207"),
        # X.690 examples and edge cases of the first subidentifier
        ("2.100.3", "813403"),
        ("1.2.840.113549", "2a864886f70d"),
        ("0.0", "00"),
        ("2.999", "8837"),
    ],
)
def test_object_identifier_vectors(dotted: str, content_hex: str) -> None:
    oid = ObjectIdentifier.parse(dotted)
    content = bytes.fromhex(content_hex)
    assert ber.encode_object_identifier(oid) == content
    assert ber.decode_object_identifier(content) == oid
    assert str(oid) == dotted


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.tuples(st.integers(0, 1), st.integers(0, 39)),
        st.tuples(st.just(2), st.integers(0, 2**40)),
    ),
    st.lists(st.integers(0, 2**62), max_size=10),
)
def test_object_identifier_round_trip(leading: tuple[int, int], rest: list[int]) -> None:
    oid = ObjectIdentifier((*leading, *rest))
    assert ber.decode_object_identifier(ber.encode_object_identifier(oid)) == oid


@pytest.mark.parametrize(
    "content_hex",
    [
        "",  # empty
        "6085",  # last subidentifier unterminated
        "608074",  # leading 0x80 group (non-minimal)
        "60" + "ff" * 9 + "7f",  # subidentifier over 63 bits
        "00" * 40,  # too many arcs
    ],
)
def test_object_identifier_refused(content_hex: str) -> None:
    with pytest.raises(DecodeError):
        ber.decode_object_identifier(bytes.fromhex(content_hex))


def test_object_identifier_invalid_values() -> None:
    for arcs in [(3, 1), (1, 40), (1,), (1, -1), (2, 2**64)]:
        with pytest.raises(EncodeError):
            ObjectIdentifier(arcs)
    with pytest.raises(ValueError):
        ObjectIdentifier.parse("2.16.x")


# ----------------------------------------------------------------------------- lengths and tags


@pytest.mark.parametrize(
    ("length", "encoded_hex"),
    [
        (0, "00"),
        (0x7F, "7f"),
        (0x80, "8180"),
        (0xFF, "81ff"),
        (0x100, "820100"),
        (0x10000, "83010000"),
    ],
)
def test_length_forms(length: int, encoded_hex: str) -> None:
    encoded = bytes.fromhex(encoded_hex)
    assert ber.encode_length(length) == encoded
    assert ber.decode_length(encoded, 0) == (length, len(encoded))


def test_non_minimal_length_is_accepted() -> None:
    # BER (unlike DER) allows a long form for a short length
    assert ber.decode_length(bytes.fromhex("8105"), 0) == (5, 2)


@pytest.mark.parametrize("encoded_hex", ["", "80", "85" + "00" * 5, "82 01".replace(" ", ""), "ff"])
def test_length_refused(encoded_hex: str) -> None:
    with pytest.raises(DecodeError):
        ber.decode_length(bytes.fromhex(encoded_hex), 0)


def test_length_too_large_to_encode() -> None:
    with pytest.raises(EncodeError):
        ber.encode_length(2**40)
    with pytest.raises(EncodeError):
        ber.encode_length(-1)


def test_tags() -> None:
    assert ber.context_tag(1, constructed=True) == 0xA1
    assert ber.context_tag(10, constructed=False) == 0x8A
    assert ber.context_tag(30, constructed=True) == 0xBE
    assert ber.application_tag(0, constructed=True) == 0x60
    assert ber.application_tag(31, constructed=False) == 0x5F1F
    assert ber.tag_class(0x5F1F) is TagClass.APPLICATION
    assert ber.tag_number(0x5F1F) == 31
    assert ber.tag_class(0xBE) is TagClass.CONTEXT_SPECIFIC
    assert ber.is_constructed(0xBE)
    assert not ber.is_constructed(0x8B)
    assert ber.tag_number(ber.context_tag(200, constructed=False)) == 200
    assert ber.decode_tag(bytes.fromhex("5f1f04"), 0) == (0x5F1F, 2)
    assert ber.decode_tag(bytes.fromhex("bf8148"), 0) == (0xBF8148, 3)
    assert ber.encode_tag(0xBF8148) == bytes.fromhex("bf8148")


@pytest.mark.parametrize("encoded_hex", ["", "1f", "1f80", "1f8181818101"])
def test_tag_refused(encoded_hex: str) -> None:
    with pytest.raises(DecodeError):
        ber.decode_tag(bytes.fromhex(encoded_hex), 0)


# ----------------------------------------------------------------------------- TLVs


def test_tlv_round_trip_and_sequence() -> None:
    sequence = ber.encode_tlv(0x80, b"\x01") + ber.encode_tlv(0xA1, b"\x06\x01\x00")
    assert [tlv.tag for tlv in ber.iter_tlvs(sequence)] == [0x80, 0xA1]
    outer = ber.encode_tlv(0x60, sequence)
    assert ber.decode_tlv_exact(outer) == ber.Tlv(0x60, sequence)
    assert ber.decode_explicit(b"\x04\x02ab", 0x04, "x") == b"ab"


@pytest.mark.parametrize(
    "encoded_hex",
    [
        "6005a1",  # value runs past the end
        "600000",  # trailing octet
        "6080a10000",  # indefinite length
        "",
    ],
)
def test_tlv_exact_refused(encoded_hex: str) -> None:
    with pytest.raises(DecodeError):
        ber.decode_tlv_exact(bytes.fromhex(encoded_hex))


def test_explicit_with_wrong_inner_tag() -> None:
    with pytest.raises(DecodeError):
        ber.decode_explicit(b"\x02\x01\x00", 0x04, "x")


# ----------------------------------------------------------------------------- INTEGER, BIT STRING


@pytest.mark.parametrize(
    ("value", "content_hex"),
    [
        (0, "00"),
        (1, "01"),
        (127, "7f"),
        (128, "0080"),
        (256, "0100"),
        (-1, "ff"),
        (-128, "80"),
        (-129, "ff7f"),
    ],
)
def test_integer_vectors(value: int, content_hex: str) -> None:
    assert ber.encode_integer(value) == bytes.fromhex(content_hex)
    assert ber.decode_integer(bytes.fromhex(content_hex)) == value


@given(st.integers(-(2**63), 2**63 - 1))
def test_integer_round_trip(value: int) -> None:
    assert ber.decode_integer(ber.encode_integer(value)) == value


def test_integer_limits() -> None:
    with pytest.raises(DecodeError):
        ber.decode_integer(b"")
    with pytest.raises(DecodeError):
        ber.decode_integer(b"\x01" * 9)
    with pytest.raises(EncodeError):
        ber.encode_integer(2**63)


def test_bit_string() -> None:
    requirements = ber.decode_bit_string(bytes.fromhex("0780"))
    assert requirements == BitString(b"\x80", 7)
    assert requirements.bit(0)
    assert not requirements.bit(1)
    assert not ber.decode_bit_string(bytes.fromhex("0700")).bit(0)
    assert ber.encode_bit_string(requirements) == bytes.fromhex("0780")
    assert ber.decode_bit_string(b"\x00") == BitString(b"", 0)
    for bad in ["", "08ff", "07"]:
        with pytest.raises(DecodeError):
            ber.decode_bit_string(bytes.fromhex(bad))
    with pytest.raises(EncodeError):
        BitString(b"", 3)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_ber_decoders_raise_only_decode_error(raw: bytes) -> None:
    for decoder in (
        ber.decode_tlv_exact,
        ber.decode_object_identifier,
        ber.decode_bit_string,
        ber.decode_integer,
        lambda b: list(ber.iter_tlvs(b)),
    ):
        with contextlib.suppress(DecodeError):
            decoder(raw)
