"""A-XDR encoding of the DLMS ``Data`` CHOICE (IEC 62056-6-2 / Green Book).

Every DLMS data type is a small frozen value class with a ``TAG``; ``encode`` turns one into
bytes and ``decode`` parses one back. Decoders raise only :class:`DecodeError`: a hostile
length or nesting depth is refused before anything is allocated for it.

Visible-string values are ``str`` decoded as Latin-1 so that any byte sequence round-trips;
date, time and date-time values are their raw 5/4/12 octets (``codec.cosem_time`` interprets
them).

A compact-array (tag 19) states its element type once, in a :class:`TypeDescription`, and then
carries the elements without their tags.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any, ClassVar

from securemeter.errors import DecodeError, EncodeError

MAX_DEPTH = 32  # deeper nesting than any COSEM attribute needs is refused


class DataType(IntEnum):
    NULL = 0
    ARRAY = 1
    STRUCTURE = 2
    BOOLEAN = 3
    BIT_STRING = 4
    DOUBLE_LONG = 5
    DOUBLE_LONG_UNSIGNED = 6
    OCTET_STRING = 9
    VISIBLE_STRING = 10
    UTF8_STRING = 12
    BCD = 13
    INTEGER = 15
    LONG = 16
    UNSIGNED = 17
    LONG_UNSIGNED = 18
    COMPACT_ARRAY = 19
    LONG64 = 20
    LONG64_UNSIGNED = 21
    ENUM = 22
    FLOAT32 = 23
    FLOAT64 = 24
    DATE_TIME = 25
    DATE = 26
    TIME = 27
    DONT_CARE = 255


# ----------------------------------------------------------------------------- lengths


def encode_length(length: int) -> bytes:
    """A-XDR length: one byte below 0x80, else 0x80|n followed by n big-endian bytes."""
    if length < 0:
        raise EncodeError(f"negative length {length}")
    if length < 0x80:
        return bytes((length,))
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def decode_length(buf: bytes | memoryview, offset: int) -> tuple[int, int]:
    """Return (length, offset after the length field). At most 4 length octets."""
    if offset >= len(buf):
        raise DecodeError("truncated length")
    first = buf[offset]
    offset += 1
    if first < 0x80:
        return first, offset
    count = first & 0x7F
    if count == 0 or count > 4:
        raise DecodeError(f"unsupported length-of-length {count}")
    end = offset + count
    if end > len(buf):
        raise DecodeError("truncated length")
    return int.from_bytes(buf[offset:end], "big"), end


# ----------------------------------------------------------------------------- values


class Data:
    """Base of the DLMS data values. Subclasses are frozen, slotted dataclasses.

    Not an ABC on purpose: ``isinstance(value, Data)`` runs on every request, and ABCMeta's
    check costs several times a plain class's. ``__init_subclass__`` enforces instead that
    every concrete value class defines ``encode_into``.
    """

    __slots__ = ()
    TAG: ClassVar[DataType]

    if TYPE_CHECKING:

        def encode_into(self, out: bytearray) -> None:
            """Append the tagged A-XDR encoding of this value to ``out``."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_") and "encode_into" not in dir(cls):
            raise TypeError(f"{cls.__name__} must define encode_into")

    def to_bytes(self) -> bytes:
        out = bytearray()
        self.encode_into(out)
        return bytes(out)


@dataclass(frozen=True, slots=True)
class NullData(Data):
    TAG: ClassVar[DataType] = DataType.NULL

    def encode_into(self, out: bytearray) -> None:
        out.append(self.TAG)


@dataclass(frozen=True, slots=True)
class DontCare(Data):
    TAG: ClassVar[DataType] = DataType.DONT_CARE

    def encode_into(self, out: bytearray) -> None:
        out.append(self.TAG)


@dataclass(frozen=True, slots=True)
class Array(Data):
    items: tuple[Data, ...]
    TAG: ClassVar[DataType] = DataType.ARRAY

    def encode_into(self, out: bytearray) -> None:
        out.append(self.TAG)
        out += encode_length(len(self.items))
        for item in self.items:
            item.encode_into(out)


@dataclass(frozen=True, slots=True)
class Structure(Data):
    items: tuple[Data, ...]
    TAG: ClassVar[DataType] = DataType.STRUCTURE

    def encode_into(self, out: bytearray) -> None:
        out.append(self.TAG)
        out += encode_length(len(self.items))
        for item in self.items:
            item.encode_into(out)


@dataclass(frozen=True, slots=True)
class Boolean(Data):
    value: bool
    TAG: ClassVar[DataType] = DataType.BOOLEAN

    def encode_into(self, out: bytearray) -> None:
        out.append(self.TAG)
        out.append(0xFF if self.value else 0x00)


@dataclass(frozen=True, slots=True)
class BitString(Data):
    """``length`` bits, most significant bit of the first octet first; unused bits are 0."""

    value: bytes
    length: int
    TAG: ClassVar[DataType] = DataType.BIT_STRING

    def __post_init__(self) -> None:
        if len(self.value) != (self.length + 7) // 8:
            raise EncodeError(
                f"bit-string of {self.length} bits needs {(self.length + 7) // 8} octets"
            )

    @classmethod
    def from_bits(cls, bits: str) -> BitString:
        """Build from a string of '0'/'1' characters, first character = bit 0."""
        value = bytearray((len(bits) + 7) // 8)
        for index, bit in enumerate(bits):
            if bit == "1":
                value[index // 8] |= 0x80 >> (index % 8)
        return cls(bytes(value), len(bits))

    def bit(self, index: int) -> bool:
        if not 0 <= index < self.length:
            raise IndexError(index)
        return bool(self.value[index // 8] & (0x80 >> (index % 8)))

    def encode_into(self, out: bytearray) -> None:
        out.append(self.TAG)
        out += encode_length(self.length)
        out += self.value


@dataclass(frozen=True, slots=True)
class OctetString(Data):
    value: bytes
    TAG: ClassVar[DataType] = DataType.OCTET_STRING

    def encode_into(self, out: bytearray) -> None:
        out.append(self.TAG)
        out += encode_length(len(self.value))
        out += self.value


@dataclass(frozen=True, slots=True)
class VisibleString(Data):
    value: str
    TAG: ClassVar[DataType] = DataType.VISIBLE_STRING

    def encode_into(self, out: bytearray) -> None:
        try:
            raw = self.value.encode("latin-1")
        except UnicodeEncodeError as exc:
            raise EncodeError("visible-string holds only single-byte characters") from exc
        out.append(self.TAG)
        out += encode_length(len(raw))
        out += raw


@dataclass(frozen=True, slots=True)
class Utf8String(Data):
    value: str
    TAG: ClassVar[DataType] = DataType.UTF8_STRING

    def encode_into(self, out: bytearray) -> None:
        raw = self.value.encode("utf-8")
        out.append(self.TAG)
        out += encode_length(len(raw))
        out += raw


@dataclass(frozen=True, slots=True)
class _Fixed(Data):
    """A fixed-width number: subclasses name the struct format and the tag."""

    value: int
    FORMAT: ClassVar[struct.Struct]

    def __post_init__(self) -> None:
        try:
            self.FORMAT.pack(self.value)
        except struct.error as exc:
            raise EncodeError(f"{type(self).__name__} out of range: {self.value!r}") from exc

    def encode_into(self, out: bytearray) -> None:
        out.append(self.TAG)
        out += self.FORMAT.pack(self.value)


@dataclass(frozen=True, slots=True)
class Integer(_Fixed):
    TAG: ClassVar[DataType] = DataType.INTEGER
    FORMAT: ClassVar[struct.Struct] = struct.Struct(">b")


@dataclass(frozen=True, slots=True)
class Long(_Fixed):
    TAG: ClassVar[DataType] = DataType.LONG
    FORMAT: ClassVar[struct.Struct] = struct.Struct(">h")


@dataclass(frozen=True, slots=True)
class DoubleLong(_Fixed):
    TAG: ClassVar[DataType] = DataType.DOUBLE_LONG
    FORMAT: ClassVar[struct.Struct] = struct.Struct(">i")


@dataclass(frozen=True, slots=True)
class Long64(_Fixed):
    TAG: ClassVar[DataType] = DataType.LONG64
    FORMAT: ClassVar[struct.Struct] = struct.Struct(">q")


@dataclass(frozen=True, slots=True)
class Unsigned(_Fixed):
    TAG: ClassVar[DataType] = DataType.UNSIGNED
    FORMAT: ClassVar[struct.Struct] = struct.Struct(">B")


@dataclass(frozen=True, slots=True)
class LongUnsigned(_Fixed):
    TAG: ClassVar[DataType] = DataType.LONG_UNSIGNED
    FORMAT: ClassVar[struct.Struct] = struct.Struct(">H")


@dataclass(frozen=True, slots=True)
class DoubleLongUnsigned(_Fixed):
    TAG: ClassVar[DataType] = DataType.DOUBLE_LONG_UNSIGNED
    FORMAT: ClassVar[struct.Struct] = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class Long64Unsigned(_Fixed):
    TAG: ClassVar[DataType] = DataType.LONG64_UNSIGNED
    FORMAT: ClassVar[struct.Struct] = struct.Struct(">Q")


@dataclass(frozen=True, slots=True)
class Enum(_Fixed):
    TAG: ClassVar[DataType] = DataType.ENUM
    FORMAT: ClassVar[struct.Struct] = struct.Struct(">B")


@dataclass(frozen=True, slots=True)
class Bcd(_Fixed):
    """One octet holding two BCD digits; kept as the raw octet value."""

    TAG: ClassVar[DataType] = DataType.BCD
    FORMAT: ClassVar[struct.Struct] = struct.Struct(">B")


@dataclass(frozen=True, slots=True)
class Float32(Data):
    value: float
    TAG: ClassVar[DataType] = DataType.FLOAT32

    def encode_into(self, out: bytearray) -> None:
        out.append(self.TAG)
        try:
            out += struct.pack(">f", self.value)
        except (struct.error, OverflowError) as exc:
            raise EncodeError(f"float32 out of range: {self.value!r}") from exc


@dataclass(frozen=True, slots=True)
class Float64(Data):
    value: float
    TAG: ClassVar[DataType] = DataType.FLOAT64

    def encode_into(self, out: bytearray) -> None:
        out.append(self.TAG)
        out += struct.pack(">d", self.value)


@dataclass(frozen=True, slots=True)
class _RawFixed(Data):
    """Date, time and date-time: fixed-size octets with no length prefix."""

    value: bytes
    SIZE: ClassVar[int]

    def __post_init__(self) -> None:
        if len(self.value) != self.SIZE:
            raise EncodeError(f"{type(self).__name__} needs {self.SIZE} octets")

    def encode_into(self, out: bytearray) -> None:
        out.append(self.TAG)
        out += self.value


@dataclass(frozen=True, slots=True)
class DateTime(_RawFixed):
    TAG: ClassVar[DataType] = DataType.DATE_TIME
    SIZE: ClassVar[int] = 12


@dataclass(frozen=True, slots=True)
class Date(_RawFixed):
    TAG: ClassVar[DataType] = DataType.DATE
    SIZE: ClassVar[int] = 5


@dataclass(frozen=True, slots=True)
class Time(_RawFixed):
    TAG: ClassVar[DataType] = DataType.TIME
    SIZE: ClassVar[int] = 4


# ----------------------------------------------------------------------------- compact-array

MAX_COMPACT_ARRAY_ELEMENTS = 0xFFFF  # number-of-elements of an array description is Unsigned16

# Zero-width types are refused in a contents-description: with them a few input octets could
# stand for any number of values, and the number of compact-array items would be undetermined.
_ZERO_WIDTH = frozenset({DataType.NULL, DataType.DONT_CARE})


@dataclass(frozen=True, slots=True)
class TypeDescription:
    """The contents-description of a compact-array: the type every element has.

    A simple type is just its tag; an array also gives ``number_of_elements`` and the one
    element description in ``elements``; a structure gives one description per element.
    Use :meth:`simple`, :meth:`array`, :meth:`structure` or :meth:`describe` to build one.
    """

    data_type: DataType
    elements: tuple[TypeDescription, ...] = ()
    number_of_elements: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.data_type, DataType):
            raise EncodeError(f"not a data type: {self.data_type!r}")
        if self.data_type == DataType.ARRAY:
            if len(self.elements) != 1:
                raise EncodeError("an array description has exactly one element description")
            if not 1 <= self.number_of_elements <= MAX_COMPACT_ARRAY_ELEMENTS:
                raise EncodeError(f"array description of {self.number_of_elements} elements")
        elif self.data_type == DataType.STRUCTURE:
            if not self.elements or self.number_of_elements:
                raise EncodeError("a structure description needs element descriptions only")
        elif self.elements or self.number_of_elements:
            raise EncodeError(f"{self.data_type.name} takes no element descriptions")
        elif self.data_type == DataType.COMPACT_ARRAY or self.data_type in _ZERO_WIDTH:
            raise EncodeError(f"{self.data_type.name} cannot be a compact-array element type")

    @classmethod
    def simple(cls, data_type: DataType) -> TypeDescription:
        return cls(data_type)

    @classmethod
    def array(cls, number_of_elements: int, element: TypeDescription) -> TypeDescription:
        return cls(DataType.ARRAY, (element,), number_of_elements)

    @classmethod
    def structure(cls, *elements: TypeDescription) -> TypeDescription:
        return cls(DataType.STRUCTURE, tuple(elements))

    @classmethod
    def describe(cls, data: Data) -> TypeDescription:
        """The description of ``data`` (an array describes itself by its first element)."""
        if isinstance(data, Structure):
            return cls.structure(*(cls.describe(item) for item in data.items))
        if isinstance(data, Array):
            if not data.items:
                raise EncodeError("an empty array has no element type to describe")
            return cls.array(len(data.items), cls.describe(data.items[0]))
        return cls.simple(data.TAG)

    def conforms(self, data: Data) -> bool:
        """Whether ``data`` is a value of this type (shape and every element type)."""
        if self.data_type != data.TAG:
            return False
        if isinstance(data, Structure):
            return len(data.items) == len(self.elements) and all(
                element.conforms(item)
                for element, item in zip(self.elements, data.items, strict=True)
            )
        if isinstance(data, Array):
            return len(data.items) == self.number_of_elements and all(
                self.elements[0].conforms(item) for item in data.items
            )
        return True

    def encode_into(self, out: bytearray) -> None:
        out.append(self.data_type)
        if self.data_type == DataType.ARRAY:
            out += self.number_of_elements.to_bytes(2, "big")
            self.elements[0].encode_into(out)
        elif self.data_type == DataType.STRUCTURE:
            out += encode_length(len(self.elements))
            for element in self.elements:
                element.encode_into(out)

    def to_bytes(self) -> bytes:
        out = bytearray()
        self.encode_into(out)
        return bytes(out)


@dataclass(frozen=True, slots=True)
class CompactArray(Data):
    """An array whose elements all have ``description``'s type, sent without their tags."""

    description: TypeDescription
    items: tuple[Data, ...]
    TAG: ClassVar[DataType] = DataType.COMPACT_ARRAY

    def __post_init__(self) -> None:
        for index, item in enumerate(self.items):
            if not self.description.conforms(item):
                raise EncodeError(f"compact-array item {index} does not match its description")

    @classmethod
    def from_items(cls, items: tuple[Data, ...]) -> CompactArray:
        """Describe the items by the first one; every item must have the same type."""
        if not items:
            raise EncodeError("an empty compact-array needs an explicit description")
        return cls(TypeDescription.describe(items[0]), items)

    def to_array(self) -> Array:
        """The same elements as an ordinary array."""
        return Array(self.items)

    def encode_into(self, out: bytearray) -> None:
        contents = bytearray()
        for item in self.items:
            _encode_untagged(self.description, item, contents)
        out.append(self.TAG)
        self.description.encode_into(out)
        out += encode_length(len(contents))
        out += contents


def _encode_untagged(description: TypeDescription, data: Data, out: bytearray) -> None:
    if isinstance(data, Array | Structure):
        element_descriptions = (
            description.elements
            if isinstance(data, Structure)
            else description.elements * len(data.items)
        )
        for element, item in zip(element_descriptions, data.items, strict=True):
            _encode_untagged(element, item, out)
        return
    tagged = bytearray()
    data.encode_into(tagged)
    out += memoryview(tagged)[1:]  # a simple value's tag is its first octet


# ----------------------------------------------------------------------------- codec


def encode(data: Data) -> bytes:
    """Encode one Data value to A-XDR bytes."""
    return data.to_bytes()


_FIXED: dict[int, type[_Fixed]] = {
    cls.TAG: cls
    for cls in (
        Integer,
        Long,
        DoubleLong,
        Long64,
        Unsigned,
        LongUnsigned,
        DoubleLongUnsigned,
        Long64Unsigned,
        Enum,
        Bcd,
    )
}
_RAW: dict[int, type[_RawFixed]] = {cls.TAG: cls for cls in (DateTime, Date, Time)}
_DATA_TYPES = frozenset(DataType)


def _take(buf: bytes | memoryview, offset: int, size: int) -> tuple[bytes, int]:
    end = offset + size
    if end > len(buf):
        raise DecodeError(f"truncated: need {size} octets at offset {offset}")
    return bytes(buf[offset:end]), end


def decode(buf: bytes | memoryview, offset: int = 0, *, depth: int = 0) -> tuple[Data, int]:
    """Decode one Data value at ``offset``; return it and the offset just after it."""
    if depth > MAX_DEPTH:
        raise DecodeError("data nested too deeply")
    if offset >= len(buf):
        raise DecodeError("truncated: no data tag")
    return _decode_body(buf[offset], buf, offset + 1, depth)


def _decode_body(tag: int, buf: bytes | memoryview, offset: int, depth: int) -> tuple[Data, int]:
    """Decode the value of type ``tag`` whose encoding (after the tag) starts at ``offset``."""
    fixed = _FIXED.get(tag)
    if fixed is not None:
        size = fixed.FORMAT.size
        raw, offset = _take(buf, offset, size)
        return fixed(fixed.FORMAT.unpack(raw)[0]), offset
    raw_type = _RAW.get(tag)
    if raw_type is not None:
        raw, offset = _take(buf, offset, raw_type.SIZE)
        return raw_type(raw), offset
    if tag == DataType.OCTET_STRING:
        length, offset = decode_length(buf, offset)
        raw, offset = _take(buf, offset, length)
        return OctetString(raw), offset
    if tag in (DataType.ARRAY, DataType.STRUCTURE):
        count, offset = decode_length(buf, offset)
        if count > len(buf) - offset:  # every element takes at least one octet
            raise DecodeError(f"element count {count} exceeds the remaining input")
        items = []
        for _ in range(count):
            item, offset = decode(buf, offset, depth=depth + 1)
            items.append(item)
        container = Array if tag == DataType.ARRAY else Structure
        return container(tuple(items)), offset
    if tag == DataType.BOOLEAN:
        raw, offset = _take(buf, offset, 1)
        return Boolean(raw[0] != 0), offset
    if tag == DataType.NULL:
        return NullData(), offset
    if tag == DataType.DONT_CARE:
        return DontCare(), offset
    if tag == DataType.VISIBLE_STRING:
        length, offset = decode_length(buf, offset)
        raw, offset = _take(buf, offset, length)
        return VisibleString(raw.decode("latin-1")), offset
    if tag == DataType.UTF8_STRING:
        length, offset = decode_length(buf, offset)
        raw, offset = _take(buf, offset, length)
        try:
            return Utf8String(raw.decode("utf-8")), offset
        except UnicodeDecodeError as exc:
            raise DecodeError("utf8-string is not valid UTF-8") from exc
    if tag == DataType.BIT_STRING:
        bits, offset = decode_length(buf, offset)
        raw, offset = _take(buf, offset, (bits + 7) // 8)
        return BitString(raw, bits), offset
    if tag == DataType.FLOAT32:
        raw, offset = _take(buf, offset, 4)
        return Float32(struct.unpack(">f", raw)[0]), offset
    if tag == DataType.FLOAT64:
        raw, offset = _take(buf, offset, 8)
        return Float64(struct.unpack(">d", raw)[0]), offset
    if tag == DataType.COMPACT_ARRAY:
        return _decode_compact_array(buf, offset, depth)
    raise DecodeError(f"unknown data tag 0x{tag:02X}")


def decode_type_description(
    buf: bytes | memoryview, offset: int = 0, *, depth: int = 0
) -> tuple[TypeDescription, int]:
    """Decode a compact-array contents-description; return it and the offset after it."""
    if depth > MAX_DEPTH:
        raise DecodeError("type description nested too deeply")
    if offset >= len(buf):
        raise DecodeError("truncated: no type description")
    tag = buf[offset]
    offset += 1
    if tag not in _DATA_TYPES:
        raise DecodeError(f"unknown data type 0x{tag:02X} in a type description")
    data_type = DataType(tag)
    if data_type == DataType.ARRAY:
        raw, offset = _take(buf, offset, 2)
        count = int.from_bytes(raw, "big")
        element, offset = decode_type_description(buf, offset, depth=depth + 1)
        elements: tuple[TypeDescription, ...] = (element,)
    elif data_type == DataType.STRUCTURE:
        count, offset = decode_length(buf, offset)
        if count > len(buf) - offset:  # every description takes at least one octet
            raise DecodeError(f"structure description of {count} elements exceeds the input")
        parts = []
        for _ in range(count):
            part, offset = decode_type_description(buf, offset, depth=depth + 1)
            parts.append(part)
        elements, count = tuple(parts), 0
    else:
        elements, count = (), 0
    try:
        return TypeDescription(data_type, elements, count), offset
    except EncodeError as exc:
        raise DecodeError(f"invalid type description: {exc}") from exc


def _decode_compact_array(buf: bytes | memoryview, offset: int, depth: int) -> tuple[Data, int]:
    description, offset = decode_type_description(buf, offset, depth=depth + 1)
    length, offset = decode_length(buf, offset)
    end = offset + length
    if end > len(buf):
        raise DecodeError(f"compact-array contents of {length} octets exceed the input")
    # Decoding inside a view of the contents keeps every element within them.
    contents = memoryview(buf)[offset:end]
    position = 0
    items = []
    while position < length:  # every element takes at least one octet (no zero-width types)
        item, position = _decode_untagged(description, contents, position, depth + 1)
        items.append(item)
    return CompactArray(description, tuple(items)), end


def _decode_untagged(
    description: TypeDescription, buf: memoryview, offset: int, depth: int
) -> tuple[Data, int]:
    if depth > MAX_DEPTH:
        raise DecodeError("data nested too deeply")
    if description.data_type == DataType.STRUCTURE:
        fields = []
        for element in description.elements:
            field, offset = _decode_untagged(element, buf, offset, depth + 1)
            fields.append(field)
        return Structure(tuple(fields)), offset
    if description.data_type == DataType.ARRAY:
        items = []
        for _ in range(description.number_of_elements):
            item, offset = _decode_untagged(description.elements[0], buf, offset, depth + 1)
            items.append(item)
        return Array(tuple(items)), offset
    return _decode_body(description.data_type, buf, offset, depth)


def decode_exact(buf: bytes | memoryview) -> Data:
    """Decode a buffer that must hold exactly one Data value."""
    data, offset = decode(buf, 0)
    if offset != len(buf):
        raise DecodeError(f"{len(buf) - offset} trailing octets after data")
    return data
