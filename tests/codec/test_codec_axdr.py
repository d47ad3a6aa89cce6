"""A-XDR Data: hand-built vectors, lengths, range checks and decoder refusals."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from securemeter.codec.axdr import (
    MAX_DEPTH,
    Array,
    Bcd,
    BitString,
    Boolean,
    Data,
    DataType,
    Date,
    DateTime,
    DontCare,
    DoubleLong,
    DoubleLongUnsigned,
    Enum,
    Float32,
    Float64,
    Integer,
    Long,
    Long64,
    Long64Unsigned,
    LongUnsigned,
    NullData,
    OctetString,
    Structure,
    Time,
    Unsigned,
    Utf8String,
    VisibleString,
    decode,
    decode_exact,
    decode_length,
    encode,
    encode_length,
)
from securemeter.codec.obis import Obis
from securemeter.errors import DecodeError, EncodeError

VECTORS = Path(__file__).parents[1] / "vectors" / "codec_axdr_valid.txt"


def load_valid_vectors() -> list[bytes]:
    vectors = []
    for line in VECTORS.read_text(encoding="utf-8").splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            vectors.append(bytes.fromhex(text))
    return vectors


CLOCK = Obis(0, 0, 1, 0, 0, 255)

# (encoding, value): every Data type at least once.
KNOWN: list[tuple[str, Data]] = [
    ("00", NullData()),
    ("FF", DontCare()),
    ("03FF", Boolean(True)),
    ("0300", Boolean(False)),
    ("0F80", Integer(-128)),
    ("0F7F", Integer(127)),
    ("10FFFE", Long(-2)),
    ("108000", Long(-32768)),
    ("05FFFFFFFF", DoubleLong(-1)),
    ("0580000000", DoubleLong(-(2**31))),
    ("14FFFFFFFFFFFFFFFF", Long64(-1)),
    ("1105", Unsigned(5)),
    ("1201F4", LongUnsigned(500)),
    ("0600003039", DoubleLongUnsigned(12345)),
    ("15FFFFFFFFFFFFFFFF", Long64Unsigned(2**64 - 1)),
    ("1603", Enum(3)),
    ("0D12", Bcd(0x12)),
    ("173F800000", Float32(1.0)),
    ("17C0000000", Float32(-2.0)),
    ("183FF0000000000000", Float64(1.0)),
    ("0418001E1D", BitString(bytes.fromhex("001E1D"), 24)),
    ("0405A8", BitString.from_bits("10101")),
    ("0400", BitString(b"", 0)),
    ("0900", OctetString(b"")),
    ("09060000010000FF", OctetString(CLOCK.to_bytes())),
    ("1907E20B0D020C22384EFFC400", DateTime(bytes.fromhex("07E20B0D020C22384EFFC400"))),
    ("1A07E20B0D02", Date(bytes.fromhex("07E20B0D02"))),
    ("1B0C22384E", Time(bytes.fromhex("0C22384E"))),
    ("0A03414243", VisibleString("ABC")),
    ("0A01E9", VisibleString("\u00e9")),  # Latin-1, so any octet round-trips
    ("0C02C3A9", Utf8String("\u00e9")),
    ("010211051106", Array((Unsigned(5), Unsigned(6)))),
    ("0100", Array(())),
    ("0200", Structure(())),
    (
        "020412000809060000010000FF0F02120000",
        Structure((LongUnsigned(8), OctetString(CLOCK.to_bytes()), Integer(2), LongUnsigned(0))),
    ),
]


class TestKnownVectors:
    @pytest.mark.parametrize(("encoding", "value"), KNOWN, ids=[v for v, _ in KNOWN])
    def test_encode(self, encoding: str, value: Data) -> None:
        assert encode(value) == bytes.fromhex(encoding)
        assert value.to_bytes() == bytes.fromhex(encoding)

    @pytest.mark.parametrize(("encoding", "value"), KNOWN, ids=[v for v, _ in KNOWN])
    def test_decode(self, encoding: str, value: Data) -> None:
        assert decode_exact(bytes.fromhex(encoding)) == value

    def test_every_type_has_a_vector(self) -> None:
        covered = {value.TAG for _, value in KNOWN}
        assert covered == set(DataType) - {DataType.COMPACT_ARRAY}  # see test_codec_compact_array

    @pytest.mark.parametrize("encoding", load_valid_vectors(), ids=lambda raw: raw.hex())
    def test_vector_file_is_canonical(self, encoding: bytes) -> None:
        assert encode(decode_exact(encoding)) == encoding

    def test_vector_file_is_not_empty(self) -> None:
        assert len(load_valid_vectors()) > 30

    def test_clock_get_request_body(self) -> None:
        # get-request-normal body for the clock time: class-id 8, logical name, attribute 2,
        # no selective access. The parts are a long-unsigned, an OBIS octet-string and octets.
        body = bytes.fromhex("00080000010000FF0200")
        assert int.from_bytes(body[0:2], "big") == 8
        assert Obis.from_bytes(body[2:8]) == CLOCK == Obis.parse("0-0:1.0.0.255")
        assert body[8:] == b"\x02\x00"
        assert LongUnsigned(8).to_bytes()[1:] + CLOCK.to_bytes() == body[:8]

    def test_long_octet_strings_use_long_lengths(self) -> None:
        assert encode(OctetString(bytes(200)))[:3] == bytes.fromhex("0981C8")
        assert encode(OctetString(bytes(300)))[:4] == bytes.fromhex("0982012C")
        assert decode_exact(encode(OctetString(bytes(300)))) == OctetString(bytes(300))

    def test_non_canonical_boolean_reads_as_true(self) -> None:
        assert decode_exact(bytes.fromhex("0301")) == Boolean(True)

    def test_decode_at_offset(self) -> None:
        buf = bytes.fromhex("AA1105120001")
        first, offset = decode(buf, 1)
        assert (first, offset) == (Unsigned(5), 3)
        assert decode(buf, offset) == (LongUnsigned(1), 6)
        assert decode(memoryview(buf), 1) == (Unsigned(5), 3)

    def test_float_nan_and_infinity(self) -> None:
        assert math.isnan(decode_exact(bytes.fromhex("177FC00000")).value)  # type: ignore[attr-defined]
        assert decode_exact(bytes.fromhex("187FF0000000000000")) == Float64(math.inf)


class TestLengths:
    @pytest.mark.parametrize(
        ("length", "encoding"),
        [
            (0, "00"),
            (0x7F, "7F"),
            (0x80, "8180"),
            (0xFF, "81FF"),
            (0x100, "820100"),
            (0xFFFF, "82FFFF"),
            (0x10000, "83010000"),
            (0xFFFFFFFF, "84FFFFFFFF"),
        ],
    )
    def test_round_trip(self, length: int, encoding: str) -> None:
        assert encode_length(length) == bytes.fromhex(encoding)
        raw = bytes.fromhex(encoding)
        assert decode_length(raw, 0) == (length, len(raw))

    def test_negative_refused(self) -> None:
        with pytest.raises(EncodeError):
            encode_length(-1)

    @pytest.mark.parametrize("encoding", ["", "80", "85FFFFFFFFFF", "82FF", "8401"])
    def test_bad_lengths(self, encoding: str) -> None:
        with pytest.raises(DecodeError):
            decode_length(bytes.fromhex(encoding), 0)


class TestRefusals:
    @pytest.mark.parametrize("tag", [0x07, 0x08, 0x0B, 0x0E, 0x1C, 0x80, 0xFE])
    def test_unknown_tag(self, tag: int) -> None:
        with pytest.raises(DecodeError, match="unknown data tag"):
            decode_exact(bytes((tag, 0, 0, 0, 0)))

    @pytest.mark.parametrize(
        "encoding",
        [
            "",  # nothing
            "11",  # unsigned without its octet
            "12FF",  # long-unsigned short by one
            "14FFFFFFFFFFFFFF",  # long64 short by one
            "0905414243",  # octet-string short
            "0A81",  # visible-string, truncated length
            "0409FF",  # bit-string(9) needs 2 octets
            "0102110511",  # array of 2, second truncated
            "0203",  # structure of 3, no elements
            "1907E20B0D020C22384EFFC4",  # date-time short by one
            "1A07E2",  # date short
            "1B0C",  # time short
            "03",  # boolean without its octet
            "173F80",  # float32 short
            "183FF0",  # float64 short
        ],
    )
    def test_truncated(self, encoding: str) -> None:
        with pytest.raises(DecodeError):
            decode_exact(bytes.fromhex(encoding))

    def test_invalid_utf8(self) -> None:
        with pytest.raises(DecodeError, match="UTF-8"):
            decode_exact(bytes.fromhex("0C02C328"))

    @pytest.mark.parametrize("encoding", ["110500", "0000", "0100FF"])
    def test_trailing_octets(self, encoding: str) -> None:
        with pytest.raises(DecodeError, match="trailing"):
            decode_exact(bytes.fromhex(encoding))

    def test_nesting_limit(self) -> None:
        deep = bytes.fromhex("0101") * (MAX_DEPTH + 1) + b"\x00"
        with pytest.raises(DecodeError, match="deeply"):
            decode_exact(deep)
        allowed = bytes.fromhex("0101") * MAX_DEPTH + b"\x00"
        assert encode(decode_exact(allowed)) == allowed

    def test_very_deep_nesting_is_not_a_recursion_error(self) -> None:
        with pytest.raises(DecodeError):
            decode_exact(bytes.fromhex("0201") * 100_000)

    @pytest.mark.parametrize(
        "encoding",
        [
            "0984FFFFFFFF00000000",  # octet-string of 4 GiB on a 10-octet input
            "0A84FFFFFFFF00000000",  # visible-string
            "0C84FFFFFFFF00000000",  # utf8-string
            "0484FFFFFFFF00000000",  # bit-string of 4 Gbit
            "0184FFFFFFFF00000000",  # array of 4 G elements
            "0284FFFFFFFF00000000",  # structure of 4 G elements
            "1384FFFFFFFF00000000",  # compact-array: type 0x84 is unknown
            "131184FFFFFFFF000000",  # compact-array of unsigned, 4 GiB of contents
            "130284FFFFFFFF000000",  # compact-array of a structure of 4 G descriptions
        ],
    )
    @pytest.mark.timeout(5)
    def test_huge_lengths_fail_fast(self, encoding: str) -> None:
        with pytest.raises(DecodeError):
            decode_exact(bytes.fromhex(encoding))


class TestConstruction:
    @pytest.mark.parametrize(
        ("cls", "bad"),
        [
            (Integer, 128),
            (Integer, -129),
            (Long, 2**15),
            (DoubleLong, 2**31),
            (Long64, 2**63),
            (Unsigned, 256),
            (Unsigned, -1),
            (LongUnsigned, 2**16),
            (DoubleLongUnsigned, 2**32),
            (Long64Unsigned, 2**64),
            (Enum, 256),
            (Bcd, -1),
        ],
    )
    def test_integer_ranges(self, cls: type[Integer], bad: int) -> None:
        with pytest.raises(EncodeError):
            cls(bad)

    def test_raw_sizes(self) -> None:
        with pytest.raises(EncodeError):
            DateTime(bytes(11))
        with pytest.raises(EncodeError):
            Date(bytes(4))
        with pytest.raises(EncodeError):
            Time(bytes(5))

    def test_bit_string_size(self) -> None:
        with pytest.raises(EncodeError):
            BitString(b"\x00", 9)
        bits = BitString.from_bits("1000000001")
        assert bits.value == bytes.fromhex("8040") and bits.length == 10
        assert bits.bit(0) and bits.bit(9) and not bits.bit(1)
        with pytest.raises(IndexError):
            bits.bit(10)

    def test_visible_string_must_be_single_byte(self) -> None:
        with pytest.raises(EncodeError):
            encode(VisibleString("\u20ac"))

    def test_float32_overflow(self) -> None:
        with pytest.raises(EncodeError):
            encode(Float32(1e40))

    def test_a_value_class_must_define_its_encoding(self) -> None:
        with pytest.raises(TypeError, match="encode_into"):

            class Incomplete(Data):  # no encode_into
                __slots__ = ()

    def test_values_are_frozen(self) -> None:
        value = Unsigned(1)
        with pytest.raises(AttributeError):
            value.value = 2  # type: ignore[misc]
