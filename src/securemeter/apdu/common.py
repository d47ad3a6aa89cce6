"""Pieces shared by the xDLMS APDUs: descriptors, selective access, invoke-id and the A-XDR
reader/writer helpers the APDU codecs are built from.

Every decoder works on a :class:`Reader`, which raises only :class:`DecodeError`; every
encoder checks its integer ranges and raises :class:`EncodeError` instead of letting
``struct``/``OverflowError`` leak.
"""

from __future__ import annotations

import abc
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar, Self, TypeVar

from securemeter.codec import axdr
from securemeter.codec.axdr import Data
from securemeter.codec.obis import Obis
from securemeter.errors import DecodeError, EncodeError

_E = TypeVar("_E", bound=IntEnum)
_T = TypeVar("_T")

# ----------------------------------------------------------------------------- encoding helpers


def _check_range(value: int, low: int, high: int, what: str) -> int:
    if not isinstance(value, int) or not low <= value <= high:
        raise EncodeError(f"{what} out of range [{low}, {high}]: {value!r}")
    return value


def put_unsigned(out: bytearray, value: int, size: int, what: str) -> None:
    _check_range(value, 0, (1 << (8 * size)) - 1, what)
    out += value.to_bytes(size, "big")


def put_signed(out: bytearray, value: int, size: int, what: str) -> None:
    limit = 1 << (8 * size - 1)
    _check_range(value, -limit, limit - 1, what)
    out += value.to_bytes(size, "big", signed=True)


def put_enum(out: bytearray, value: int, enum_type: type[IntEnum], what: str) -> None:
    """One octet holding a member of ``enum_type`` (checked, so the decoder accepts it)."""
    try:
        out.append(enum_type(value))
    except (ValueError, TypeError):
        raise EncodeError(f"{what}: {value!r} is not a {enum_type.__name__}") from None


def put_octet_string(out: bytearray, value: bytes) -> None:
    """An A-XDR OCTET STRING without the data tag: length then octets."""
    out += axdr.encode_length(len(value))
    out += value


def put_count(out: bytearray, count: int) -> None:
    """The element count of a SEQUENCE OF."""
    out += axdr.encode_length(count)


def put_data(out: bytearray, value: Data) -> None:
    if not isinstance(value, Data):
        raise EncodeError(f"expected a Data value, got {type(value).__name__}")
    value.encode_into(out)


def put_data_list(out: bytearray, values: tuple[Data, ...]) -> None:
    """A SEQUENCE OF Data (the values of SET- or parameters of ACTION-with-list)."""
    put_count(out, len(values))
    for value in values:
        put_data(out, value)


# ----------------------------------------------------------------------------- reader


class Reader:
    """A bounded cursor over one APDU; every read raises DecodeError on short input."""

    __slots__ = ("_buf", "_offset")

    def __init__(self, raw: bytes | bytearray | memoryview) -> None:
        self._buf = memoryview(raw).toreadonly()
        self._offset = 0

    @property
    def remaining(self) -> int:
        return len(self._buf) - self._offset

    def _advance(self, size: int, what: str) -> int:
        start = self._offset
        if size < 0 or start + size > len(self._buf):
            raise DecodeError(f"truncated APDU: {what} needs {size} octets at offset {start}")
        self._offset = start + size
        return start

    def unsigned(self, size: int, what: str) -> int:
        start = self._advance(size, what)
        return int.from_bytes(self._buf[start : start + size], "big")

    def unpack(self, layout: struct.Struct, what: str) -> tuple[Any, ...]:
        """Several fixed-size fields at once (one bounds check, one C call)."""
        start = self._advance(layout.size, what)
        return layout.unpack_from(self._buf, start)

    def signed(self, size: int, what: str) -> int:
        start = self._advance(size, what)
        return int.from_bytes(self._buf[start : start + size], "big", signed=True)

    def u8(self, what: str) -> int:
        return self.unsigned(1, what)

    def u16(self, what: str) -> int:
        return self.unsigned(2, what)

    def u32(self, what: str) -> int:
        return self.unsigned(4, what)

    def boolean(self, what: str) -> bool:
        return self.u8(what) != 0

    def octets(self, size: int, what: str) -> bytes:
        start = self._advance(size, what)
        return bytes(self._buf[start : start + size])

    def octet_string(self, what: str) -> bytes:
        length, self._offset = axdr.decode_length(self._buf, self._offset)
        return self.octets(length, what)

    def count(self, what: str, minimum_item_size: int = 1) -> int:
        """A SEQUENCE OF count, refused when the rest of the input cannot hold that many."""
        count, self._offset = axdr.decode_length(self._buf, self._offset)
        if count * minimum_item_size > self.remaining:
            raise DecodeError(f"{what}: {count} elements cannot fit in {self.remaining} octets")
        return count

    def data_list(self, expected: int, what: str) -> tuple[Data, ...]:
        """A SEQUENCE OF Data that must have ``expected`` elements (one per descriptor)."""
        count = self.count(what)
        if count != expected:
            raise DecodeError(f"{what}: {count} elements for {expected} descriptors")
        return tuple(self.data() for _ in range(count))

    def enum(self, enum_type: type[_E], what: str) -> _E:
        value = self.u8(what)
        try:
            return enum_type(value)
        except ValueError:
            raise DecodeError(f"{what}: unknown value {value}") from None

    def data(self) -> Data:
        value, self._offset = axdr.decode(self._buf, self._offset)
        return value

    def optional(self, what: str, read: Callable[[], _T]) -> _T | None:
        """An A-XDR OPTIONAL: 00 = absent, 01 = present and followed by the value."""
        flag = self.u8(what)
        if flag == 0:
            return None
        if flag != 1:
            raise DecodeError(f"{what}: invalid presence flag 0x{flag:02X}")
        return read()

    def expect(self, value: int, what: str) -> None:
        got = self.u8(what)
        if got != value:
            raise DecodeError(f"{what}: expected 0x{value:02X}, got 0x{got:02X}")

    def finish(self) -> None:
        if self.remaining:
            raise DecodeError(f"{self.remaining} trailing octets after the APDU")


# ----------------------------------------------------------------------------- invoke-id


INVOKE_ID_MASK = 0x0F
SERVICE_CLASS_CONFIRMED = 0x40
PRIORITY_HIGH = 0x80


@dataclass(frozen=True, slots=True)
class InvokeIdAndPriority:
    """The Invoke-Id-And-Priority octet: id in bits 0-3, confirmed bit 6, high priority bit 7.

    APDUs carry the raw octet (``invoke_id_and_priority: int``) so that a response echoes
    exactly what the request held; this value names the parts.
    """

    invoke_id: int
    confirmed: bool = True
    high_priority: bool = False

    def __post_init__(self) -> None:
        _check_range(self.invoke_id, 0, INVOKE_ID_MASK, "invoke-id")

    @classmethod
    def from_byte(cls, value: int) -> InvokeIdAndPriority:
        return cls(
            value & INVOKE_ID_MASK,
            bool(value & SERVICE_CLASS_CONFIRMED),
            bool(value & PRIORITY_HIGH),
        )

    def to_byte(self) -> int:
        return (
            self.invoke_id
            | (SERVICE_CLASS_CONFIRMED if self.confirmed else 0)
            | (PRIORITY_HIGH if self.high_priority else 0)
        )


def invoke_id_of(invoke_id_and_priority: int) -> int:
    return invoke_id_and_priority & INVOKE_ID_MASK


# ----------------------------------------------------------------------------- descriptors

_DESCRIPTOR = struct.Struct(">H6sb")  # class_id, instance_id, attribute or method id


@dataclass(frozen=True, slots=True)
class CosemAttributeDescriptor:
    """class_id (Unsigned16), instance_id (OBIS), attribute_id (Integer8: negative ids are
    manufacturer specific)."""

    class_id: int
    instance_id: Obis
    attribute_id: int

    def encode_into(self, out: bytearray) -> None:
        put_unsigned(out, self.class_id, 2, "class_id")
        out += self.instance_id.to_bytes()
        put_signed(out, self.attribute_id, 1, "attribute_id")

    @classmethod
    def decode(cls, reader: Reader) -> CosemAttributeDescriptor:
        class_id, instance_id, attribute_id = reader.unpack(_DESCRIPTOR, "attribute descriptor")
        return cls(class_id, Obis.from_bytes(instance_id), attribute_id)


@dataclass(frozen=True, slots=True)
class CosemMethodDescriptor:
    """class_id (Unsigned16), instance_id (OBIS), method_id (Integer8)."""

    class_id: int
    instance_id: Obis
    method_id: int

    def encode_into(self, out: bytearray) -> None:
        put_unsigned(out, self.class_id, 2, "class_id")
        out += self.instance_id.to_bytes()
        put_signed(out, self.method_id, 1, "method_id")

    @classmethod
    def decode(cls, reader: Reader) -> CosemMethodDescriptor:
        class_id = reader.u16("class_id")
        instance_id = Obis.from_bytes(reader.octets(6, "instance_id"))
        return cls(class_id, instance_id, reader.signed(1, "method_id"))


@dataclass(frozen=True, slots=True)
class SelectiveAccess:
    """Selective-Access-Descriptor: access_selector (Unsigned8) and its parameters."""

    selector: int
    parameters: Data

    def encode_into(self, out: bytearray) -> None:
        put_unsigned(out, self.selector, 1, "access_selector")
        put_data(out, self.parameters)

    @classmethod
    def decode(cls, reader: Reader) -> SelectiveAccess:
        return cls(reader.u8("access_selector"), reader.data())


def put_access_selection(out: bytearray, access: SelectiveAccess | None) -> None:
    if access is None:
        out.append(0)
    else:
        out.append(1)
        access.encode_into(out)


def read_access_selection(reader: Reader) -> SelectiveAccess | None:
    return reader.optional("access-selection", lambda: SelectiveAccess.decode(reader))


AttributeWithSelection = tuple[CosemAttributeDescriptor, SelectiveAccess | None]


def put_attribute_list(out: bytearray, items: tuple[AttributeWithSelection, ...]) -> None:
    put_count(out, len(items))
    for attribute, access in items:
        attribute.encode_into(out)
        put_access_selection(out, access)


def read_attribute_list(reader: Reader) -> tuple[AttributeWithSelection, ...]:
    count = reader.count("attribute-descriptor-list", 10)
    items = []
    for _ in range(count):
        attribute = CosemAttributeDescriptor.decode(reader)
        items.append((attribute, read_access_selection(reader)))
    return tuple(items)


# ----------------------------------------------------------------------------- data blocks


@dataclass(frozen=True, slots=True)
class DataBlockSA:
    """DataBlock-SA (SET and ACTION blocks): last-block, block-number, raw-data."""

    last_block: bool
    block_number: int
    raw_data: bytes

    def encode_into(self, out: bytearray) -> None:
        out.append(1 if self.last_block else 0)
        put_unsigned(out, self.block_number, 4, "block-number")
        put_octet_string(out, self.raw_data)

    @classmethod
    def decode(cls, reader: Reader) -> DataBlockSA:
        last_block = reader.boolean("last-block")
        block_number = reader.u32("block-number")
        return cls(last_block, block_number, reader.octet_string("raw-data"))


# ----------------------------------------------------------------------------- CHOICE APDUs


class ChoiceApdu(abc.ABC):
    """An xDLMS APDU whose second octet selects a CHOICE variant (get/set/action).

    Each service has an abstract family class (``GetRequest`` ...) whose ``from_bytes``
    dispatches on the choice octet; each variant is a frozen dataclass subclass with its
    own ``CHOICE``, and its ``from_bytes`` accepts only that variant.
    """

    __slots__ = ()
    TAG: ClassVar[int]
    CHOICE: ClassVar[int]

    @classmethod
    @abc.abstractmethod
    def variants(cls) -> Mapping[int, type[ChoiceApdu]]:
        """The variants of this service, by choice octet."""

    @classmethod
    @abc.abstractmethod
    def decode_body(cls, reader: Reader) -> Self:
        """Decode what follows the tag and the choice octet."""

    @abc.abstractmethod
    def encode_body(self, out: bytearray) -> None:
        """Encode what follows the tag and the choice octet."""

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        reader = Reader(raw)
        reader.expect(cls.TAG, f"{cls.__name__} tag")
        choice = reader.u8(f"{cls.__name__} choice")
        variant = cls.variants().get(choice)
        if variant is None or not issubclass(variant, cls):
            raise DecodeError(f"{cls.__name__}: unexpected choice 0x{choice:02X}")
        apdu = variant.decode_body(reader)
        reader.finish()
        return apdu

    def to_bytes(self) -> bytes:
        out = bytearray((self.TAG, self.CHOICE))
        self.encode_body(out)
        return bytes(out)


class BlockNumberBody:
    """The body of the APDUs that carry only an invoke-id and a block number (GET next,
    SET data-block acknowledgement, ACTION next-pblock both ways). A mixin placed before the
    family class; the variant still declares the two fields."""

    __slots__ = ()
    invoke_id_and_priority: int
    block_number: int

    def encode_body(self, out: bytearray) -> None:
        put_unsigned(out, self.invoke_id_and_priority, 1, "invoke-id-and-priority")
        put_unsigned(out, self.block_number, 4, "block-number")

    @classmethod
    def decode_body(cls, reader: Reader) -> Self:
        return cls(reader.u8("invoke-id-and-priority"), reader.u32("block-number"))  # type: ignore[call-arg]


class DataBlockBody:
    """The body of the APDUs that carry an invoke-id and one DataBlock-SA (SET with
    data-block, ACTION with p-block both ways). A mixin placed before the family class; the
    variant still declares the four fields."""

    __slots__ = ()
    invoke_id_and_priority: int
    last_block: bool
    block_number: int
    raw_data: bytes

    def encode_body(self, out: bytearray) -> None:
        put_unsigned(out, self.invoke_id_and_priority, 1, "invoke-id-and-priority")
        DataBlockSA(self.last_block, self.block_number, self.raw_data).encode_into(out)

    @classmethod
    def decode_body(cls, reader: Reader) -> Self:
        invoke = reader.u8("invoke-id-and-priority")
        block = DataBlockSA.decode(reader)
        return cls(invoke, block.last_block, block.block_number, block.raw_data)  # type: ignore[call-arg]
