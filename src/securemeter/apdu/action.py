"""ACTION-Request (0xC3) and ACTION-Response (0xC7) with their CHOICE variants.

Parameter blocks ("pblocks") use DataBlock-SA: last-block, block-number, raw-data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Self

from securemeter.apdu.common import (
    BlockNumberBody,
    ChoiceApdu,
    CosemMethodDescriptor,
    DataBlockBody,
    DataBlockSA,
    Reader,
    put_count,
    put_data,
    put_data_list,
    put_enum,
    put_unsigned,
)
from securemeter.apdu.enums import ActionRequestType, ActionResponseType, ActionResult, ApduTag
from securemeter.apdu.get import GetDataResult, put_get_data_result, read_get_data_result
from securemeter.codec.axdr import Data
from securemeter.errors import EncodeError

ActionResponseItem = tuple[ActionResult, GetDataResult | None]


def _put_methods(out: bytearray, methods: tuple[CosemMethodDescriptor, ...]) -> None:
    put_count(out, len(methods))
    for method in methods:
        method.encode_into(out)


def _read_methods(reader: Reader) -> tuple[CosemMethodDescriptor, ...]:
    count = reader.count("method-descriptor list", 9)
    return tuple(CosemMethodDescriptor.decode(reader) for _ in range(count))


def _put_response_item(
    out: bytearray, result: ActionResult, parameters: GetDataResult | None
) -> None:
    """Action-Response-With-Optional-Data: result, then an OPTIONAL Get-Data-Result."""
    put_enum(out, result, ActionResult, "action-result")
    if parameters is None:
        out.append(0)
    else:
        out.append(1)
        put_get_data_result(out, parameters)


def _read_response_item(reader: Reader) -> ActionResponseItem:
    result = reader.enum(ActionResult, "action-result")
    return result, reader.optional("return-parameters", lambda: read_get_data_result(reader))


# ----------------------------------------------------------------------------- requests


class ActionRequest(ChoiceApdu):
    """Family of the ACTION-Request variants; ``ActionRequest.from_bytes`` decodes any."""

    __slots__ = ()
    TAG: ClassVar[int] = ApduTag.ACTION_REQUEST

    @classmethod
    def variants(cls) -> Mapping[int, type[ChoiceApdu]]:
        return _REQUEST_VARIANTS


@dataclass(frozen=True, slots=True)
class ActionRequestNormal(ActionRequest):
    invoke_id_and_priority: int
    method: CosemMethodDescriptor
    parameter: Data | None = None
    CHOICE: ClassVar[int] = ActionRequestType.NORMAL

    def encode_body(self, out: bytearray) -> None:
        put_unsigned(out, self.invoke_id_and_priority, 1, "invoke-id-and-priority")
        self.method.encode_into(out)
        if self.parameter is None:
            out.append(0)
        else:
            out.append(1)
            put_data(out, self.parameter)

    @classmethod
    def decode_body(cls, reader: Reader) -> Self:
        invoke = reader.u8("invoke-id-and-priority")
        method = CosemMethodDescriptor.decode(reader)
        return cls(invoke, method, reader.optional("method-invocation-parameters", reader.data))


@dataclass(frozen=True, slots=True)
class ActionRequestNextPBlock(BlockNumberBody, ActionRequest):
    """Acknowledges block ``block_number`` of an ACTION-Response with pblocks."""

    invoke_id_and_priority: int
    block_number: int
    CHOICE: ClassVar[int] = ActionRequestType.NEXT_PBLOCK


@dataclass(frozen=True, slots=True)
class ActionRequestWithList(ActionRequest):
    """One parameter per method; the two lists must have the same length."""

    invoke_id_and_priority: int
    methods: tuple[CosemMethodDescriptor, ...]
    parameters: tuple[Data, ...]
    CHOICE: ClassVar[int] = ActionRequestType.WITH_LIST

    def encode_body(self, out: bytearray) -> None:
        if len(self.methods) != len(self.parameters):
            raise EncodeError("ACTION-Request-With-List needs one parameter per method")
        put_unsigned(out, self.invoke_id_and_priority, 1, "invoke-id-and-priority")
        _put_methods(out, self.methods)
        put_data_list(out, self.parameters)

    @classmethod
    def decode_body(cls, reader: Reader) -> Self:
        invoke = reader.u8("invoke-id-and-priority")
        methods = _read_methods(reader)
        parameters = reader.data_list(len(methods), "method-invocation-parameters list")
        return cls(invoke, methods, parameters)


@dataclass(frozen=True, slots=True)
class ActionRequestWithFirstPBlock(ActionRequest):
    invoke_id_and_priority: int
    method: CosemMethodDescriptor
    last_block: bool
    block_number: int
    raw_data: bytes
    CHOICE: ClassVar[int] = ActionRequestType.WITH_FIRST_PBLOCK

    def encode_body(self, out: bytearray) -> None:
        put_unsigned(out, self.invoke_id_and_priority, 1, "invoke-id-and-priority")
        self.method.encode_into(out)
        DataBlockSA(self.last_block, self.block_number, self.raw_data).encode_into(out)

    @classmethod
    def decode_body(cls, reader: Reader) -> Self:
        invoke = reader.u8("invoke-id-and-priority")
        method = CosemMethodDescriptor.decode(reader)
        block = DataBlockSA.decode(reader)
        return cls(invoke, method, block.last_block, block.block_number, block.raw_data)


@dataclass(frozen=True, slots=True)
class ActionRequestWithListAndFirstPBlock(ActionRequest):
    invoke_id_and_priority: int
    methods: tuple[CosemMethodDescriptor, ...]
    last_block: bool
    block_number: int
    raw_data: bytes
    CHOICE: ClassVar[int] = ActionRequestType.WITH_LIST_AND_FIRST_PBLOCK

    def encode_body(self, out: bytearray) -> None:
        put_unsigned(out, self.invoke_id_and_priority, 1, "invoke-id-and-priority")
        _put_methods(out, self.methods)
        DataBlockSA(self.last_block, self.block_number, self.raw_data).encode_into(out)

    @classmethod
    def decode_body(cls, reader: Reader) -> Self:
        invoke = reader.u8("invoke-id-and-priority")
        methods = _read_methods(reader)
        block = DataBlockSA.decode(reader)
        return cls(invoke, methods, block.last_block, block.block_number, block.raw_data)


@dataclass(frozen=True, slots=True)
class ActionRequestWithPBlock(DataBlockBody, ActionRequest):
    invoke_id_and_priority: int
    last_block: bool
    block_number: int
    raw_data: bytes
    CHOICE: ClassVar[int] = ActionRequestType.WITH_PBLOCK


# ----------------------------------------------------------------------------- responses


class ActionResponse(ChoiceApdu):
    """Family of the ACTION-Response variants; ``ActionResponse.from_bytes`` decodes any."""

    __slots__ = ()
    TAG: ClassVar[int] = ApduTag.ACTION_RESPONSE

    @classmethod
    def variants(cls) -> Mapping[int, type[ChoiceApdu]]:
        return _RESPONSE_VARIANTS


@dataclass(frozen=True, slots=True)
class ActionResponseNormal(ActionResponse):
    invoke_id_and_priority: int
    result: ActionResult
    return_parameters: GetDataResult | None = None
    CHOICE: ClassVar[int] = ActionResponseType.NORMAL

    def encode_body(self, out: bytearray) -> None:
        put_unsigned(out, self.invoke_id_and_priority, 1, "invoke-id-and-priority")
        _put_response_item(out, self.result, self.return_parameters)

    @classmethod
    def decode_body(cls, reader: Reader) -> Self:
        invoke = reader.u8("invoke-id-and-priority")
        result, parameters = _read_response_item(reader)
        return cls(invoke, result, parameters)


@dataclass(frozen=True, slots=True)
class ActionResponseWithPBlock(DataBlockBody, ActionResponse):
    invoke_id_and_priority: int
    last_block: bool
    block_number: int
    raw_data: bytes
    CHOICE: ClassVar[int] = ActionResponseType.WITH_PBLOCK


@dataclass(frozen=True, slots=True)
class ActionResponseWithList(ActionResponse):
    invoke_id_and_priority: int
    results: tuple[ActionResponseItem, ...]
    CHOICE: ClassVar[int] = ActionResponseType.WITH_LIST

    def encode_body(self, out: bytearray) -> None:
        put_unsigned(out, self.invoke_id_and_priority, 1, "invoke-id-and-priority")
        put_count(out, len(self.results))
        for result, parameters in self.results:
            _put_response_item(out, result, parameters)

    @classmethod
    def decode_body(cls, reader: Reader) -> Self:
        invoke = reader.u8("invoke-id-and-priority")
        count = reader.count("action-response list", 2)
        return cls(invoke, tuple(_read_response_item(reader) for _ in range(count)))


@dataclass(frozen=True, slots=True)
class ActionResponseNextPBlock(BlockNumberBody, ActionResponse):
    """Acknowledges block ``block_number`` of an ACTION-Request with pblocks."""

    invoke_id_and_priority: int
    block_number: int
    CHOICE: ClassVar[int] = ActionResponseType.NEXT_PBLOCK


_REQUEST_VARIANTS: Mapping[int, type[ChoiceApdu]] = {
    cls.CHOICE: cls
    for cls in (
        ActionRequestNormal,
        ActionRequestNextPBlock,
        ActionRequestWithList,
        ActionRequestWithFirstPBlock,
        ActionRequestWithListAndFirstPBlock,
        ActionRequestWithPBlock,
    )
}
_RESPONSE_VARIANTS: Mapping[int, type[ChoiceApdu]] = {
    cls.CHOICE: cls
    for cls in (
        ActionResponseNormal,
        ActionResponseWithPBlock,
        ActionResponseWithList,
        ActionResponseNextPBlock,
    )
}
