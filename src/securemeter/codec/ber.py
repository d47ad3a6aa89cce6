"""The BER subset (ITU-T X.690) that ACSE needs: tags, definite lengths, OIDs, a few types.

Only definite lengths are accepted (short and long form, at most four length octets); an
indefinite length, a truncated element or a value running past its container is a
:class:`DecodeError`. A tag is kept as the integer of its identifier octets, so ``0xA1`` is
[1] constructed and ``0x5F1F`` is [APPLICATION 31] (the xDLMS conformance block).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum

from securemeter.errors import DecodeError, EncodeError

MAX_LENGTH_OCTETS = 4  # 4 GiB is far beyond any APDU: longer length fields are refused
MAX_TAG_OCTETS = 4  # identifier octets of a high tag number
MAX_INTEGER_OCTETS = 8  # ACSE integers are small; longer ones are refused
MAX_OID_ARCS = 32
MAX_SUBIDENTIFIER_OCTETS = 9  # an arc below 2**63


class TagClass(IntEnum):
    UNIVERSAL = 0x00
    APPLICATION = 0x40
    CONTEXT_SPECIFIC = 0x80
    PRIVATE = 0xC0


class UniversalTag(IntEnum):
    BOOLEAN = 0x01
    INTEGER = 0x02
    BIT_STRING = 0x03
    OCTET_STRING = 0x04
    NULL = 0x05
    OBJECT_IDENTIFIER = 0x06
    GRAPHIC_STRING = 0x19


CONSTRUCTED = 0x20
_HIGH_TAG_NUMBER = 0x1F


# ----------------------------------------------------------------------------- tags


def make_tag(tag_class: TagClass, number: int, *, constructed: bool) -> int:
    """The identifier octets (as one integer) of a tag of any class and number."""
    if number < 0:
        raise EncodeError(f"negative tag number {number}")
    first = tag_class | (CONSTRUCTED if constructed else 0)
    if number < _HIGH_TAG_NUMBER:
        return first | number
    tag = first | _HIGH_TAG_NUMBER
    for octet in _base128(number):
        tag = (tag << 8) | octet
    return tag


def context_tag(number: int, *, constructed: bool) -> int:
    return make_tag(TagClass.CONTEXT_SPECIFIC, number, constructed=constructed)


def application_tag(number: int, *, constructed: bool) -> int:
    return make_tag(TagClass.APPLICATION, number, constructed=constructed)


def _first_identifier_octet(tag: int) -> int:
    return tag >> (8 * ((tag.bit_length() - 1) // 8)) if tag > 0xFF else tag


def tag_class(tag: int) -> TagClass:
    return TagClass(_first_identifier_octet(tag) & 0xC0)


def is_constructed(tag: int) -> bool:
    return bool(_first_identifier_octet(tag) & CONSTRUCTED)


def tag_number(tag: int) -> int:
    if tag <= 0xFF:
        return tag & 0x1F
    number = 0
    for octet in tag.to_bytes((tag.bit_length() + 7) // 8, "big")[1:]:
        number = (number << 7) | (octet & 0x7F)
    return number


def encode_tag(tag: int) -> bytes:
    if tag < 0:
        raise EncodeError(f"negative tag {tag}")
    return tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")


def decode_tag(buf: bytes | memoryview, offset: int) -> tuple[int, int]:
    """Return (tag, offset after the identifier octets)."""
    if offset >= len(buf):
        raise DecodeError("truncated BER tag")
    tag = buf[offset]
    offset += 1
    if tag & _HIGH_TAG_NUMBER != _HIGH_TAG_NUMBER:
        return tag, offset
    for count in range(1, MAX_TAG_OCTETS):
        if offset >= len(buf):
            raise DecodeError("truncated BER tag")
        octet = buf[offset]
        offset += 1
        if count == 1 and octet == 0x80:
            raise DecodeError("BER tag number with a leading zero group")
        tag = (tag << 8) | octet
        if not octet & 0x80:
            return tag, offset
    raise DecodeError(f"BER tag longer than {MAX_TAG_OCTETS} octets")


# ----------------------------------------------------------------------------- lengths


def encode_length(length: int) -> bytes:
    """Definite length: short form below 0x80, else 0x80|n and n big-endian octets."""
    if length < 0:
        raise EncodeError(f"negative length {length}")
    if length < 0x80:
        return bytes((length,))
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    if len(body) > MAX_LENGTH_OCTETS:
        raise EncodeError(f"length {length} too large")
    return bytes((0x80 | len(body),)) + body


def decode_length(buf: bytes | memoryview, offset: int) -> tuple[int, int]:
    """Return (length, offset after the length octets). Indefinite lengths are refused."""
    if offset >= len(buf):
        raise DecodeError("truncated BER length")
    first = buf[offset]
    offset += 1
    if first < 0x80:
        return first, offset
    count = first & 0x7F
    if count == 0:
        raise DecodeError("indefinite BER length is not allowed")
    if count > MAX_LENGTH_OCTETS:
        raise DecodeError(f"BER length of {count} octets is not supported")
    end = offset + count
    if end > len(buf):
        raise DecodeError("truncated BER length")
    return int.from_bytes(buf[offset:end], "big"), end


# ----------------------------------------------------------------------------- TLVs


@dataclass(frozen=True, slots=True)
class Tlv:
    """One decoded element: its tag and its content octets."""

    tag: int
    value: bytes


def encode_tlv(tag: int, value: bytes) -> bytes:
    return encode_tag(tag) + encode_length(len(value)) + value


def decode_tlv(buf: bytes | memoryview, offset: int = 0) -> tuple[Tlv, int]:
    """Decode the element at ``offset``; return it and the offset just after it."""
    tag, offset = decode_tag(buf, offset)
    length, offset = decode_length(buf, offset)
    end = offset + length
    if end > len(buf):
        raise DecodeError(f"BER value of {length} octets runs past the end of its container")
    return Tlv(tag, bytes(buf[offset:end])), end


def decode_tlv_exact(buf: bytes | memoryview) -> Tlv:
    """Decode a buffer that must hold exactly one element."""
    tlv, offset = decode_tlv(buf, 0)
    if offset != len(buf):
        raise DecodeError(f"{len(buf) - offset} trailing octets after a BER element")
    return tlv


def iter_tlvs(buf: bytes | memoryview) -> Iterator[Tlv]:
    """The elements that fill ``buf`` back to back (the content of a SEQUENCE)."""
    offset = 0
    while offset < len(buf):
        tlv, offset = decode_tlv(buf, offset)
        yield tlv


def expect_tag(tlv: Tlv, tag: int, what: str) -> bytes:
    if tlv.tag != tag:
        raise DecodeError(f"{what}: expected tag 0x{tag:02X}, got 0x{tlv.tag:02X}")
    return tlv.value


def encode_explicit(tag: int, inner: bytes) -> bytes:
    """An explicit (constructed) tag around one already encoded element."""
    return encode_tlv(tag, inner)


def decode_explicit(content: bytes, inner_tag: int, what: str) -> bytes:
    """The content of the single element of type ``inner_tag`` inside an explicit tag."""
    return expect_tag(decode_tlv_exact(content), inner_tag, what)


# ----------------------------------------------------------------------------- INTEGER


def encode_integer(value: int) -> bytes:
    """Content octets of an INTEGER: minimal two's complement."""
    size = max(1, (value + (value < 0)).bit_length() // 8 + 1)
    if size > MAX_INTEGER_OCTETS:
        raise EncodeError(f"integer {value} too large")
    return value.to_bytes(size, "big", signed=True)


def decode_integer(content: bytes) -> int:
    if not content:
        raise DecodeError("empty BER integer")
    if len(content) > MAX_INTEGER_OCTETS:
        raise DecodeError(f"BER integer of {len(content)} octets is too large")
    return int.from_bytes(content, "big", signed=True)


# ----------------------------------------------------------------------------- BIT STRING


@dataclass(frozen=True, slots=True)
class BitString:
    """A BER BIT STRING: the octets and how many bits of the last one are unused."""

    value: bytes
    unused_bits: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.unused_bits <= 7 or (not self.value and self.unused_bits):
            raise EncodeError(f"invalid unused-bits count {self.unused_bits}")

    def bit(self, index: int) -> bool:
        """Bit ``index`` counted from the most significant bit of the first octet."""
        if not 0 <= index < len(self.value) * 8 - self.unused_bits:
            return False
        return bool(self.value[index // 8] & (0x80 >> (index % 8)))


def encode_bit_string(bits: BitString) -> bytes:
    return bytes((bits.unused_bits,)) + bits.value


def decode_bit_string(content: bytes) -> BitString:
    if not content:
        raise DecodeError("empty BER bit string")
    unused = content[0]
    if unused > 7 or (unused and len(content) == 1):
        raise DecodeError(f"invalid unused-bits count {unused} in a BER bit string")
    return BitString(bytes(content[1:]), unused)


# ----------------------------------------------------------------------------- OBJECT IDENTIFIER

_DOTTED = re.compile(r"^\d+(\.\d+)+$")


@dataclass(frozen=True, slots=True, order=True)
class ObjectIdentifier:
    arcs: tuple[int, ...]

    def __post_init__(self) -> None:
        arcs = self.arcs
        if not 2 <= len(arcs) <= MAX_OID_ARCS:
            raise EncodeError(f"an object identifier has 2 to {MAX_OID_ARCS} arcs")
        if any(arc < 0 or arc.bit_length() > 7 * MAX_SUBIDENTIFIER_OCTETS for arc in arcs):
            raise EncodeError("object identifier arc out of range")
        if arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40):
            raise EncodeError(f"invalid leading arcs {arcs[0]}.{arcs[1]}")
        if (arcs[0] * 40 + arcs[1]).bit_length() > 7 * MAX_SUBIDENTIFIER_OCTETS:
            raise EncodeError("object identifier arc out of range")

    @classmethod
    def parse(cls, text: str) -> ObjectIdentifier:
        if not _DOTTED.match(text):
            raise ValueError(f"not a dotted object identifier: {text!r}")
        return cls(tuple(int(arc) for arc in text.split(".")))

    def __str__(self) -> str:
        return ".".join(str(arc) for arc in self.arcs)


def _base128(value: int) -> bytes:
    groups = [value & 0x7F]
    value >>= 7
    while value:
        groups.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(groups))


def encode_object_identifier(oid: ObjectIdentifier) -> bytes:
    """Content octets of an OBJECT IDENTIFIER (the first two arcs share one subidentifier)."""
    out = bytearray(_base128(oid.arcs[0] * 40 + oid.arcs[1]))
    for arc in oid.arcs[2:]:
        out += _base128(arc)
    return bytes(out)


def decode_object_identifier(content: bytes) -> ObjectIdentifier:
    if not content:
        raise DecodeError("empty BER object identifier")
    if content[-1] & 0x80:
        raise DecodeError("truncated object identifier subidentifier")
    subidentifiers: list[int] = []
    value = 0
    octets = 0
    for octet in content:
        if octets == 0 and octet == 0x80:
            raise DecodeError("object identifier subidentifier with a leading zero group")
        value = (value << 7) | (octet & 0x7F)
        octets += 1
        if octets > MAX_SUBIDENTIFIER_OCTETS:
            raise DecodeError("object identifier subidentifier too large")
        if not octet & 0x80:
            subidentifiers.append(value)
            value = 0
            octets = 0
    if len(subidentifiers) + 1 > MAX_OID_ARCS:
        raise DecodeError(f"object identifier with more than {MAX_OID_ARCS} arcs")
    first = subidentifiers[0]
    leading = (first // 40, first % 40) if first < 80 else (2, first - 80)
    return ObjectIdentifier(leading + tuple(subidentifiers[1:]))
