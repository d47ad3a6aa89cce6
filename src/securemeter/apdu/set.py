"""SET-Request (0xC1) and SET-Response (0xC5) with their CHOICE variants."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Self

from securemeter.apdu.common import (
    AttributeWithSelection,
    BlockNumberBody,
    ChoiceApdu,
    CosemAttributeDescriptor,
    DataBlockBody,
    DataBlockSA,
    Reader,
    SelectiveAccess,
    put_access_selection,
    put_attribute_list,
    put_count,
    put_data,
    put_data_list,
    put_enum,
    put_unsigned,
    read_access_selection,
    read_attribute_list,
)
from securemeter.apdu.enums import ApduTag, DataAccessResult, SetRequestType, SetResponseType
from securemeter.codec.axdr import Data
from securemeter.errors import EncodeError


def _put_results(out: bytearray, results: tuple[DataAccessResult, ...]) -> None:
    put_count(out, len(results))
    for result in results:
        put_enum(out, result, DataAccessResult, "data-access-result")


def _read_results(reader: Reader) -> tuple[DataAccessResult, ...]:
    count = reader.count("data-access-result list")
    return tuple(reader.enum(DataAccessResult, "data-access-result") for _ in range(count))


# ----------------------------------------------------------------------------- requests


class SetRequest(ChoiceApdu):
    """Family of the SET-Request variants; ``SetRequest.from_bytes`` decodes any of them."""

    __slots__ = ()
    TAG: ClassVar[int] = ApduTag.SET_REQUEST

    @classmethod
    def variants(cls) -> Mapping[int, type[ChoiceApdu]]:
        return _REQUEST_VARIANTS


@dataclass(frozen=True, slots=True)
class SetRequestNormal(SetRequest):
    invoke_id_and_priority: int
    attribute: CosemAttributeDescriptor
    access_selection: SelectiveAccess | None
    value: Data
    CHOICE: ClassVar[int] = SetRequestType.NORMAL

    def encode_body(self, out: bytearray) -> None:
        put_unsigned(out, self.invoke_id_and_priority, 1, "invoke-id-and-priority")
        self.attribute.encode_into(out)
        put_access_selection(out, self.access_selection)
        put_data(out, self.value)

    @classmethod
    def decode_body(cls, reader: Reader) -> Self:
        invoke = reader.u8("invoke-id-and-priority")
        attribute = CosemAttributeDescriptor.decode(reader)
        access = read_access_selection(reader)
        return cls(invoke, attribute, access, reader.data())


@dataclass(frozen=True, slots=True)
class SetRequestWithFirstDataBlock(SetRequest):
    invoke_id_and_priority: int
    attribute: CosemAttributeDescriptor
    access_selection: SelectiveAccess | None
    last_block: bool
    block_number: int
    raw_data: bytes
    CHOICE: ClassVar[int] = SetRequestType.WITH_FIRST_DATABLOCK

    def encode_body(self, out: bytearray) -> None:
        put_unsigned(out, self.invoke_id_and_priority, 1, "invoke-id-and-priority")
        self.attribute.encode_into(out)
        put_access_selection(out, self.access_selection)
        DataBlockSA(self.last_block, self.block_number, self.raw_data).encode_into(out)

    @classmethod
    def decode_body(cls, reader: Reader) -> Self:
        invoke = reader.u8("invoke-id-and-priority")
        attribute = CosemAttributeDescriptor.decode(reader)
        access = read_access_selection(reader)
        block = DataBlockSA.decode(reader)
        return cls(invoke, attribute, access, block.last_block, block.block_number, block.raw_data)


@dataclass(frozen=True, slots=True)
class SetRequestWithDataBlock(DataBlockBody, SetRequest):
    invoke_id_and_priority: int
    last_block: bool
    block_number: int
    raw_data: bytes
    CHOICE: ClassVar[int] = SetRequestType.WITH_DATABLOCK


@dataclass(frozen=True, slots=True)
class SetRequestWithList(SetRequest):
    """One value per attribute; the two lists must have the same length."""

    invoke_id_and_priority: int
    items: tuple[AttributeWithSelection, ...]
    values: tuple[Data, ...]
    CHOICE: ClassVar[int] = SetRequestType.WITH_LIST

    def encode_body(self, out: bytearray) -> None:
        if len(self.items) != len(self.values):
            raise EncodeError("SET-Request-With-List needs one value per attribute")
        put_unsigned(out, self.invoke_id_and_priority, 1, "invoke-id-and-priority")
        put_attribute_list(out, self.items)
        put_data_list(out, self.values)

    @classmethod
    def decode_body(cls, reader: Reader) -> Self:
        invoke = reader.u8("invoke-id-and-priority")
        items = read_attribute_list(reader)
        return cls(invoke, items, reader.data_list(len(items), "value list"))


@dataclass(frozen=True, slots=True)
class SetRequestWithListAndFirstDataBlock(SetRequest):
    invoke_id_and_priority: int
    items: tuple[AttributeWithSelection, ...]
    last_block: bool
    block_number: int
    raw_data: bytes
    CHOICE: ClassVar[int] = SetRequestType.WITH_LIST_AND_FIRST_DATABLOCK

    def encode_body(self, out: bytearray) -> None:
        put_unsigned(out, self.invoke_id_and_priority, 1, "invoke-id-and-priority")
        put_attribute_list(out, self.items)
        DataBlockSA(self.last_block, self.block_number, self.raw_data).encode_into(out)

    @classmethod
    def decode_body(cls, reader: Reader) -> Self:
        invoke = reader.u8("invoke-id-and-priority")
        items = read_attribute_list(reader)
        block = DataBlockSA.decode(reader)
        return cls(invoke, items, block.last_block, block.block_number, block.raw_data)


# ----------------------------------------------------------------------------- responses


class SetResponse(ChoiceApdu):
    """Family of the SET-Response variants; ``SetResponse.from_bytes`` decodes any of them."""

    __slots__ = ()
    TAG: ClassVar[int] = ApduTag.SET_RESPONSE

    @classmethod
    def variants(cls) -> Mapping[int, type[ChoiceApdu]]:
        return _RESPONSE_VARIANTS


@dataclass(frozen=True, slots=True)
class SetResponseNormal(SetResponse):
    invoke_id_and_priority: int
    result: DataAccessResult
    CHOICE: ClassVar[int] = SetResponseType.NORMAL

    def encode_body(self, out: bytearray) -> None:
        put_unsigned(out, self.invoke_id_and_priority, 1, "invoke-id-and-priority")
        put_enum(out, self.result, DataAccessResult, "data-access-result")

    @classmethod
    def decode_body(cls, reader: Reader) -> Self:
        invoke = reader.u8("invoke-id-and-priority")
        return cls(invoke, reader.enum(DataAccessResult, "data-access-result"))


@dataclass(frozen=True, slots=True)
class SetResponseDataBlock(BlockNumberBody, SetResponse):
    """Acknowledges block ``block_number`` of a SET with blocks."""

    invoke_id_and_priority: int
    block_number: int
    CHOICE: ClassVar[int] = SetResponseType.DATABLOCK


@dataclass(frozen=True, slots=True)
class SetResponseLastDataBlock(SetResponse):
    invoke_id_and_priority: int
    result: DataAccessResult
    block_number: int
    CHOICE: ClassVar[int] = SetResponseType.LAST_DATABLOCK

    def encode_body(self, out: bytearray) -> None:
        put_unsigned(out, self.invoke_id_and_priority, 1, "invoke-id-and-priority")
        put_enum(out, self.result, DataAccessResult, "data-access-result")
        put_unsigned(out, self.block_number, 4, "block-number")

    @classmethod
    def decode_body(cls, reader: Reader) -> Self:
        invoke = reader.u8("invoke-id-and-priority")
        result = reader.enum(DataAccessResult, "data-access-result")
        return cls(invoke, result, reader.u32("block-number"))


@dataclass(frozen=True, slots=True)
class SetResponseLastDataBlockWithList(SetResponse):
    invoke_id_and_priority: int
    results: tuple[DataAccessResult, ...]
    block_number: int
    CHOICE: ClassVar[int] = SetResponseType.LAST_DATABLOCK_WITH_LIST

    def encode_body(self, out: bytearray) -> None:
        put_unsigned(out, self.invoke_id_and_priority, 1, "invoke-id-and-priority")
        _put_results(out, self.results)
        put_unsigned(out, self.block_number, 4, "block-number")

    @classmethod
    def decode_body(cls, reader: Reader) -> Self:
        invoke = reader.u8("invoke-id-and-priority")
        results = _read_results(reader)
        return cls(invoke, results, reader.u32("block-number"))


@dataclass(frozen=True, slots=True)
class SetResponseWithList(SetResponse):
    invoke_id_and_priority: int
    results: tuple[DataAccessResult, ...]
    CHOICE: ClassVar[int] = SetResponseType.WITH_LIST

    def encode_body(self, out: bytearray) -> None:
        put_unsigned(out, self.invoke_id_and_priority, 1, "invoke-id-and-priority")
        _put_results(out, self.results)

    @classmethod
    def decode_body(cls, reader: Reader) -> Self:
        return cls(reader.u8("invoke-id-and-priority"), _read_results(reader))


_REQUEST_VARIANTS: Mapping[int, type[ChoiceApdu]] = {
    cls.CHOICE: cls
    for cls in (
        SetRequestNormal,
        SetRequestWithFirstDataBlock,
        SetRequestWithDataBlock,
        SetRequestWithList,
        SetRequestWithListAndFirstDataBlock,
    )
}
_RESPONSE_VARIANTS: Mapping[int, type[ChoiceApdu]] = {
    cls.CHOICE: cls
    for cls in (
        SetResponseNormal,
        SetResponseDataBlock,
        SetResponseLastDataBlock,
        SetResponseLastDataBlockWithList,
        SetResponseWithList,
    )
}
