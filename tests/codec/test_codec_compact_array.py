"""Compact-array (A-XDR tag 19): descriptions, untagged contents, and hostile inputs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from securemeter.codec.axdr import (
    Array,
    BitString,
    Boolean,
    CompactArray,
    Data,
    DataType,
    DateTime,
    DoubleLongUnsigned,
    LongUnsigned,
    NullData,
    OctetString,
    Structure,
    TypeDescription,
    Unsigned,
    VisibleString,
    decode,
    decode_exact,
    decode_type_description,
    encode,
    encode_length,
)
from securemeter.errors import DecodeError, EncodeError
from strategies import compact_arrays, type_descriptions, values_of

LONG_UNSIGNED = TypeDescription.simple(DataType.LONG_UNSIGNED)
OCTET_STRING = TypeDescription.simple(DataType.OCTET_STRING)
UNSIGNED = TypeDescription.simple(DataType.UNSIGNED)
PROFILE_ROW = TypeDescription.structure(
    TypeDescription.simple(DataType.OCTET_STRING),
    TypeDescription.simple(DataType.DOUBLE_LONG_UNSIGNED),
)
STAMP = bytes.fromhex("07E20B0D020C000000FFC400")


class TestVectors:
    def test_simple_elements(self) -> None:
        value = CompactArray(LONG_UNSIGNED, (LongUnsigned(1), LongUnsigned(2), LongUnsigned(3)))
        encoding = bytes.fromhex("13 12 06 0001 0002 0003")
        assert encode(value) == encoding
        assert decode_exact(encoding) == value

    def test_structure_elements_keep_string_lengths(self) -> None:
        value = CompactArray(
            TypeDescription.structure(OCTET_STRING, LONG_UNSIGNED),
            (
                Structure((OctetString(b"ab"), LongUnsigned(5))),
                Structure((OctetString(b""), LongUnsigned(7))),
            ),
        )
        encoding = bytes.fromhex("13 02 02 09 12 08 02 6162 0005 00 0007")
        assert encode(value) == encoding
        assert decode_exact(encoding) == value

    def test_profile_buffer_rows(self) -> None:
        # Load-profile style rows {clock octet-string(12), double-long-unsigned energy}.
        rows = tuple(
            Structure((OctetString(STAMP), DoubleLongUnsigned(energy))) for energy in (10, 20)
        )
        value = CompactArray(PROFILE_ROW, rows)
        encoding = (
            bytes.fromhex("13 02 02 09 06 22")
            + b"\x0c"
            + STAMP
            + bytes.fromhex("0000000A")
            + b"\x0c"
            + STAMP
            + bytes.fromhex("00000014")
        )
        assert encode(value) == encoding
        assert decode_exact(encoding) == value
        assert value.to_array() == Array(rows)

    def test_array_description_uses_unsigned16_count(self) -> None:
        description = TypeDescription.array(2, UNSIGNED)
        assert description.to_bytes() == bytes.fromhex("01 0002 11")
        value = CompactArray(
            description,
            (Array((Unsigned(1), Unsigned(2))), Array((Unsigned(3), Unsigned(4)))),
        )
        encoding = bytes.fromhex("13 01 0002 11 04 01020304")
        assert encode(value) == encoding
        assert decode_exact(encoding) == value

    def test_bit_string_and_boolean_elements(self) -> None:
        description = TypeDescription.structure(
            TypeDescription.simple(DataType.BIT_STRING), TypeDescription.simple(DataType.BOOLEAN)
        )
        value = CompactArray(description, (Structure((BitString.from_bits("101"), Boolean(True))),))
        encoding = bytes.fromhex("13 02 02 04 03 03 03 A0 FF")
        assert encode(value) == encoding
        assert decode_exact(encoding) == value

    def test_empty(self) -> None:
        value = CompactArray(LONG_UNSIGNED, ())
        assert encode(value) == bytes.fromhex("13 12 00")
        assert decode_exact(encode(value)) == value

    def test_nested_in_a_structure(self) -> None:
        inner = CompactArray(UNSIGNED, (Unsigned(9),))
        value = Structure((inner, Unsigned(1)))
        encoding = bytes.fromhex("02 02 13 11 01 09 11 01")
        assert encode(value) == encoding
        assert decode_exact(encoding) == value

    def test_long_contents_length(self) -> None:
        value = CompactArray(UNSIGNED, tuple(Unsigned(n % 256) for n in range(300)))
        encoding = encode(value)
        assert encoding[:5] == bytes.fromhex("13 11 82 012C")
        assert decode_exact(encoding) == value


class TestTypeDescription:
    def test_describe(self) -> None:
        row = Structure((OctetString(STAMP), DoubleLongUnsigned(1)))
        assert TypeDescription.describe(row) == PROFILE_ROW
        assert TypeDescription.describe(Array((Unsigned(1), Unsigned(2)))) == (
            TypeDescription.array(2, UNSIGNED)
        )
        with pytest.raises(EncodeError):
            TypeDescription.describe(Array(()))

    def test_from_items(self) -> None:
        items = (LongUnsigned(1), LongUnsigned(2))
        assert CompactArray.from_items(items) == CompactArray(LONG_UNSIGNED, items)
        with pytest.raises(EncodeError):
            CompactArray.from_items(())
        with pytest.raises(EncodeError):
            CompactArray.from_items((LongUnsigned(1), Unsigned(2)))

    @pytest.mark.parametrize(
        "build",
        [
            lambda: TypeDescription.simple(DataType.NULL),
            lambda: TypeDescription.simple(DataType.DONT_CARE),
            lambda: TypeDescription.simple(DataType.COMPACT_ARRAY),
            lambda: TypeDescription.simple(DataType.ARRAY),
            lambda: TypeDescription.simple(DataType.STRUCTURE),
            lambda: TypeDescription.structure(),
            lambda: TypeDescription.array(0, UNSIGNED),
            lambda: TypeDescription.array(0x10000, UNSIGNED),
            lambda: TypeDescription(DataType.UNSIGNED, (UNSIGNED,)),
            lambda: TypeDescription(DataType.UNSIGNED, (), 3),
            lambda: TypeDescription(DataType.STRUCTURE, (UNSIGNED,), 1),
            lambda: TypeDescription(DataType.ARRAY, (UNSIGNED, UNSIGNED), 1),
            lambda: TypeDescription(17, ()),  # type: ignore[arg-type]
        ],
    )
    def test_invalid_descriptions(self, build: object) -> None:
        with pytest.raises(EncodeError):
            build()  # type: ignore[operator]

    def test_conforms(self) -> None:
        assert PROFILE_ROW.conforms(Structure((OctetString(b""), DoubleLongUnsigned(0))))
        assert not PROFILE_ROW.conforms(Structure((OctetString(b""),)))
        assert not PROFILE_ROW.conforms(Structure((OctetString(b""), LongUnsigned(0))))
        assert not PROFILE_ROW.conforms(Array((OctetString(b""), DoubleLongUnsigned(0))))
        pair = TypeDescription.array(2, UNSIGNED)
        assert pair.conforms(Array((Unsigned(1), Unsigned(2))))
        assert not pair.conforms(Array((Unsigned(1),)))
        assert not pair.conforms(Array((Unsigned(1), LongUnsigned(2))))

    def test_items_must_conform(self) -> None:
        with pytest.raises(EncodeError):
            CompactArray(LONG_UNSIGNED, (Unsigned(1),))
        with pytest.raises(EncodeError):
            CompactArray(PROFILE_ROW, (Structure((OctetString(b""),)),))
        with pytest.raises(EncodeError):
            CompactArray(UNSIGNED, (NullData(),))

    def test_decode_description(self) -> None:
        raw = bytes.fromhex("02 03 11 01 0004 12 02 01 0A EE")
        description, offset = decode_type_description(raw)
        assert offset == len(raw) - 1
        assert description == TypeDescription.structure(
            UNSIGNED,
            TypeDescription.array(4, LONG_UNSIGNED),
            TypeDescription.structure(TypeDescription.simple(DataType.VISIBLE_STRING)),
        )
        assert description.to_bytes() == raw[:-1]

    @settings(max_examples=100, deadline=None)
    @given(type_descriptions())
    def test_description_round_trip(self, description: TypeDescription) -> None:
        raw = description.to_bytes()
        assert decode_type_description(raw) == (description, len(raw))


class TestRefusals:
    @pytest.mark.parametrize(
        ("encoding", "reason"),
        [
            ("13", "no description"),
            ("13 00 00", "null-data element"),
            ("13 FF 00", "dont-care element"),
            ("13 13 11 00", "compact-array element"),
            ("13 07 00", "unknown type"),
            ("13 02 00 00", "empty structure description"),
            ("13 01 0000 11 00", "array description of no elements"),
            ("13 01 00", "array description without its count"),
            ("13 01 0001", "array description without its element type"),
            ("13 02 02 11", "structure description short of one element"),
            ("13 11", "no contents length"),
            ("13 11 03 0102", "contents shorter than their length"),
            ("13 12 03 000100", "contents end inside an element"),
            ("13 02 02 11 12 04 01 0002 03", "contents end inside a structure"),
            ("13 09 03 05 4142", "octet-string runs past the contents"),
            ("13 0C 02 01 FF", "invalid UTF-8 element"),
            ("13 01 0003 11 02 0102", "array element short of one value"),
        ],
    )
    def test_malformed(self, encoding: str, reason: str) -> None:
        with pytest.raises(DecodeError):
            decode_exact(bytes.fromhex(encoding))

    def test_element_cannot_borrow_octets_after_the_contents(self) -> None:
        # The contents say 1 octet, but a long-unsigned needs 2: the next octet is not theirs.
        with pytest.raises(DecodeError):
            decode(bytes.fromhex("13 12 01 00 05"))
        with pytest.raises(DecodeError):
            decode(bytes.fromhex("13 09 02 05 41 4243 4445"))

    @pytest.mark.timeout(5)
    def test_huge_array_descriptions_fail_fast(self) -> None:
        # 65535^4 unsigned values per element, announced in 14 octets of description.
        description = bytes.fromhex("01 FFFF") * 4 + b"\x11"
        with pytest.raises(DecodeError):
            decode_exact(b"\x13" + description + bytes.fromhex("05 0102030405"))
        # Fully described but empty contents: a valid compact-array with no items.
        assert decode_exact(b"\x13" + description + b"\x00") == CompactArray(
            decode_type_description(description)[0], ()
        )

    def test_description_nesting_limit(self) -> None:
        deep = bytes.fromhex("02 01") * 40 + b"\x11"
        with pytest.raises(DecodeError, match="deeply"):
            decode_exact(b"\x13" + deep + b"\x01\x05")

    def test_date_time_elements_are_raw(self) -> None:
        value = CompactArray(TypeDescription.simple(DataType.DATE_TIME), (DateTime(STAMP),))
        assert encode(value) == b"\x13\x19\x0c" + STAMP
        assert decode_exact(encode(value)) == value

    def test_visible_string_elements(self) -> None:
        description = TypeDescription.simple(DataType.VISIBLE_STRING)
        value = CompactArray(description, (VisibleString("A"), VisibleString("")))
        assert encode(value) == bytes.fromhex("13 0A 03 01 41 00")


@settings(max_examples=100, deadline=None)
@given(compact_arrays())
def test_round_trip(value: CompactArray) -> None:
    encoding = encode(value)
    decoded = decode_exact(encoding)
    assert encode(decoded) == encoding
    assert isinstance(decoded, CompactArray)
    assert decoded.description == value.description
    assert len(decoded.items) == len(value.items)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_untagged_contents_equal_tagged_encoding_without_tags(data: st.DataObject) -> None:
    """Each element's contents equal its ordinary encoding with every tag and count removed."""
    description = data.draw(type_descriptions())
    item = data.draw(values_of(description))
    single = encode(CompactArray(description, (item,)))

    def untag(value: Data) -> bytes:
        if isinstance(value, Array | Structure):
            return b"".join(untag(part) for part in value.items)
        return value.to_bytes()[1:]

    contents = untag(item)
    header = b"\x13" + description.to_bytes()
    assert single == header + encode_length(len(contents)) + contents
