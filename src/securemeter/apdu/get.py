"""GET-Request (0xC0) and GET-Response (0xC4) with their CHOICE variants.

A Get-Data-Result is either a Data value or a DataAccessResult; the two types never
overlap (``Data`` values are dataclasses, ``DataAccessResult`` is an IntEnum), so
``isinstance`` tells them apart.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Self

from securemeter.apdu.common import (
    AttributeWithSelection,
    BlockNumberBody,
    ChoiceApdu,
    CosemAttributeDescriptor,
    Reader,
    SelectiveAccess,
    put_access_selection,
    put_attribute_list,
    put_count,
    put_data,
    put_enum,
    put_octet_string,
    put_unsigned,
    read_access_selection,
    read_attribute_list,
)
from securemeter.apdu.enums import ApduTag, DataAccessResult, GetRequestType, GetResponseType
from securemeter.codec.axdr import Data
from securemeter.codec.obis import Obis
from securemeter.errors import DecodeError, EncodeError

GetDataResult = Data | DataAccessResult


def put_get_data_result(out: bytearray, result: GetDataResult) -> None:
    """Get-Data-Result CHOICE: [0] data, [1] data-access-result."""
    if isinstance(result, DataAccessResult):
        out.append(1)
        put_enum(out, result, DataAccessResult, "data-access-result")
    elif isinstance(result, Data):
        out.append(0)
        put_data(out, result)
    else:
        raise EncodeError(f"a Get-Data-Result is Data or DataAccessResult, not {result!r}")


def read_get_data_result(reader: Reader) -> GetDataResult:
    choice = reader.u8("Get-Data-Result choice")
    if choice == 0:
        return reader.data()
    if choice == 1:
        return reader.enum(DataAccessResult, "data-access-result")
    raise DecodeError(f"Get-Data-Result: unexpected choice 0x{choice:02X}")


# ----------------------------------------------------------------------------- requests


_SIMPLE_GET = struct.Struct(">BBBH6sbB")  # tag, choice, invoke, descriptor, no selection


class GetRequest(ChoiceApdu):
    """Family of the GET-Request variants; ``GetRequest.from_bytes`` decodes any of them."""

    __slots__ = ()
    TAG: ClassVar[int] = ApduTag.GET_REQUEST

    @classmethod
    def variants(cls) -> Mapping[int, type[ChoiceApdu]]:
        return _REQUEST_VARIANTS

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        # The commonest request of all (a plain attribute GET, 13 octets) in one unpack;
        # anything else takes the general path.
        if len(raw) == _SIMPLE_GET.size and cls in (GetRequest, GetRequestNormal):
            tag, choice, invoke, class_id, instance, attribute, selection = _SIMPLE_GET.unpack(raw)
            if tag == cls.TAG and choice == GetRequestType.NORMAL and selection == 0:
                descriptor = CosemAttributeDescriptor(
                    class_id, Obis.from_bytes(instance), attribute
                )
                return GetRequestNormal(invoke, descriptor, None)  # type: ignore[return-value]
        return super().from_bytes(raw)


@dataclass(frozen=True, slots=True)
class GetRequestNormal(GetRequest):
    invoke_id_and_priority: int
    attribute: CosemAttributeDescriptor
    access_selection: SelectiveAccess | None = None
    CHOICE: ClassVar[int] = GetRequestType.NORMAL

    def encode_body(self, out: bytearray) -> None:
        put_unsigned(out, self.invoke_id_and_priority, 1, "invoke-id-and-priority")
        self.attribute.encode_into(out)
        put_access_selection(out, self.access_selection)

    @classmethod
    def decode_body(cls, reader: Reader) -> Self:
        invoke = reader.u8("invoke-id-and-priority")
        attribute = CosemAttributeDescriptor.decode(reader)
        return cls(invoke, attribute, read_access_selection(reader))


@dataclass(frozen=True, slots=True)
class GetRequestNext(BlockNumberBody, GetRequest):
    """Asks for the block after ``block_number`` (the number of the last block received)."""

    invoke_id_and_priority: int
    block_number: int
    CHOICE: ClassVar[int] = GetRequestType.NEXT


@dataclass(frozen=True, slots=True)
class GetRequestWithList(GetRequest):
    invoke_id_and_priority: int
    items: tuple[AttributeWithSelection, ...]
    CHOICE: ClassVar[int] = GetRequestType.WITH_LIST

    def encode_body(self, out: bytearray) -> None:
        put_unsigned(out, self.invoke_id_and_priority, 1, "invoke-id-and-priority")
        put_attribute_list(out, self.items)

    @classmethod
    def decode_body(cls, reader: Reader) -> Self:
        return cls(reader.u8("invoke-id-and-priority"), read_attribute_list(reader))


# ----------------------------------------------------------------------------- responses


class GetResponse(ChoiceApdu):
    """Family of the GET-Response variants; ``GetResponse.from_bytes`` decodes any of them."""

    __slots__ = ()
    TAG: ClassVar[int] = ApduTag.GET_RESPONSE

    @classmethod
    def variants(cls) -> Mapping[int, type[ChoiceApdu]]:
        return _RESPONSE_VARIANTS


@dataclass(frozen=True, slots=True)
class GetResponseNormal(GetResponse):
    invoke_id_and_priority: int
    result: GetDataResult
    CHOICE: ClassVar[int] = GetResponseType.NORMAL

    def encode_body(self, out: bytearray) -> None:
        put_unsigned(out, self.invoke_id_and_priority, 1, "invoke-id-and-priority")
        put_get_data_result(out, self.result)

    @classmethod
    def decode_body(cls, reader: Reader) -> Self:
        return cls(reader.u8("invoke-id-and-priority"), read_get_data_result(reader))


@dataclass(frozen=True, slots=True)
class GetResponseWithDataBlock(GetResponse):
    """DataBlock-G: one block of the encoded result, or why the block cannot be sent."""

    invoke_id_and_priority: int
    last_block: bool
    block_number: int
    raw_data: bytes | DataAccessResult
    CHOICE: ClassVar[int] = GetResponseType.WITH_DATABLOCK

    def encode_body(self, out: bytearray) -> None:
        put_unsigned(out, self.invoke_id_and_priority, 1, "invoke-id-and-priority")
        out.append(1 if self.last_block else 0)
        put_unsigned(out, self.block_number, 4, "block-number")
        if isinstance(self.raw_data, DataAccessResult):
            out.append(1)
            put_enum(out, self.raw_data, DataAccessResult, "data-access-result")
        elif isinstance(self.raw_data, bytes):
            out.append(0)
            put_octet_string(out, self.raw_data)
        else:
            raise EncodeError("raw_data is bytes or a DataAccessResult")

    @classmethod
    def decode_body(cls, reader: Reader) -> Self:
        invoke = reader.u8("invoke-id-and-priority")
        last_block = reader.boolean("last-block")
        block_number = reader.u32("block-number")
        choice = reader.u8("DataBlock-G result choice")
        raw_data: bytes | DataAccessResult
        if choice == 0:
            raw_data = reader.octet_string("raw-data")
        elif choice == 1:
            raw_data = reader.enum(DataAccessResult, "data-access-result")
        else:
            raise DecodeError(f"DataBlock-G: unexpected result choice 0x{choice:02X}")
        return cls(invoke, last_block, block_number, raw_data)


@dataclass(frozen=True, slots=True)
class GetResponseWithList(GetResponse):
    invoke_id_and_priority: int
    results: tuple[GetDataResult, ...]
    CHOICE: ClassVar[int] = GetResponseType.WITH_LIST

    def encode_body(self, out: bytearray) -> None:
        put_unsigned(out, self.invoke_id_and_priority, 1, "invoke-id-and-priority")
        put_count(out, len(self.results))
        for result in self.results:
            put_get_data_result(out, result)

    @classmethod
    def decode_body(cls, reader: Reader) -> Self:
        invoke = reader.u8("invoke-id-and-priority")
        count = reader.count("Get-Data-Result list", 2)
        return cls(invoke, tuple(read_get_data_result(reader) for _ in range(count)))


_REQUEST_VARIANTS: Mapping[int, type[ChoiceApdu]] = {
    cls.CHOICE: cls for cls in (GetRequestNormal, GetRequestNext, GetRequestWithList)
}
_RESPONSE_VARIANTS: Mapping[int, type[ChoiceApdu]] = {
    cls.CHOICE: cls for cls in (GetResponseNormal, GetResponseWithDataBlock, GetResponseWithList)
}
