"""xDLMS InitiateRequest (0x01), InitiateResponse (0x08) and ConfirmedServiceError (0x0E).

These are A-XDR encoded and travel inside the ACSE user-information field (possibly
ciphered as 0x21/0x28 first). The conformance block is the one BER element inside A-XDR:
``5F 1F 04 00`` ([APPLICATION 31] BIT STRING, 4 octets, 0 unused bits) and 3 mask octets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from securemeter.apdu.common import Reader, put_enum, put_octet_string, put_signed, put_unsigned
from securemeter.apdu.enums import (
    ApduTag,
    ConfirmedService,
    Conformance,
    InitiateError,
    ServiceErrorClass,
)
from securemeter.errors import DecodeError

CONFORMANCE_HEADER = b"\x5f\x1f\x04\x00"
VAA_NAME_LOGICAL_NAME = 0x0007
VAA_NAME_SHORT_NAME = 0xFA00

__all__ = [
    "CONFORMANCE_HEADER",
    "VAA_NAME_LOGICAL_NAME",
    "VAA_NAME_SHORT_NAME",
    "ConfirmedService",
    "ConfirmedServiceError",
    "InitiateError",
    "InitiateRequest",
    "InitiateResponse",
    "ServiceErrorClass",
]


def _put_conformance(out: bytearray, conformance: Conformance) -> None:
    out += CONFORMANCE_HEADER
    put_unsigned(out, int(conformance), 3, "conformance")


def _read_conformance(reader: Reader) -> Conformance:
    if reader.octets(4, "conformance header") != CONFORMANCE_HEADER:
        raise DecodeError("conformance block does not start with 5F 1F 04 00")
    return Conformance(reader.unsigned(3, "conformance"))


def _put_quality_of_service(out: bytearray, value: int | None) -> None:
    if value is None:
        out.append(0)
    else:
        out.append(1)
        put_signed(out, value, 1, "quality-of-service")


def _read_quality_of_service(reader: Reader) -> int | None:
    return reader.optional("quality-of-service", lambda: reader.signed(1, "quality-of-service"))


def _start(raw: bytes, tag: int, name: str) -> Reader:
    reader = Reader(raw)
    reader.expect(tag, f"{name} tag")
    return reader


@dataclass(frozen=True, slots=True)
class InitiateRequest:
    dedicated_key: bytes | None
    response_allowed: bool
    proposed_quality_of_service: int | None
    proposed_dlms_version: int
    proposed_conformance: Conformance
    client_max_receive_pdu_size: int
    TAG: ClassVar[int] = ApduTag.INITIATE_REQUEST

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        reader = _start(raw, cls.TAG, "InitiateRequest")
        dedicated_key = reader.optional("dedicated-key", lambda: reader.octet_string("key"))
        # response-allowed is BOOLEAN DEFAULT TRUE: 00 = the default, 01 = a value follows
        response_allowed = reader.optional(
            "response-allowed", lambda: reader.boolean("response-allowed")
        )
        apdu = cls(
            dedicated_key,
            True if response_allowed is None else response_allowed,
            _read_quality_of_service(reader),
            reader.u8("proposed-dlms-version-number"),
            _read_conformance(reader),
            reader.u16("client-max-receive-pdu-size"),
        )
        reader.finish()
        return apdu

    def to_bytes(self) -> bytes:
        out = bytearray((self.TAG,))
        if self.dedicated_key is None:
            out.append(0)
        else:
            out.append(1)
            put_octet_string(out, self.dedicated_key)
        if self.response_allowed:
            out.append(0)
        else:
            out += b"\x01\x00"
        _put_quality_of_service(out, self.proposed_quality_of_service)
        put_unsigned(out, self.proposed_dlms_version, 1, "proposed-dlms-version-number")
        _put_conformance(out, self.proposed_conformance)
        put_unsigned(out, self.client_max_receive_pdu_size, 2, "client-max-receive-pdu-size")
        return bytes(out)


@dataclass(frozen=True, slots=True)
class InitiateResponse:
    negotiated_quality_of_service: int | None
    negotiated_dlms_version: int
    negotiated_conformance: Conformance
    server_max_receive_pdu_size: int
    vaa_name: int = VAA_NAME_LOGICAL_NAME
    TAG: ClassVar[int] = ApduTag.INITIATE_RESPONSE

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        reader = _start(raw, cls.TAG, "InitiateResponse")
        apdu = cls(
            _read_quality_of_service(reader),
            reader.u8("negotiated-dlms-version-number"),
            _read_conformance(reader),
            reader.u16("server-max-receive-pdu-size"),
            reader.u16("vaa-name"),
        )
        reader.finish()
        return apdu

    def to_bytes(self) -> bytes:
        out = bytearray((self.TAG,))
        _put_quality_of_service(out, self.negotiated_quality_of_service)
        put_unsigned(out, self.negotiated_dlms_version, 1, "negotiated-dlms-version-number")
        _put_conformance(out, self.negotiated_conformance)
        put_unsigned(out, self.server_max_receive_pdu_size, 2, "server-max-receive-pdu-size")
        put_unsigned(out, self.vaa_name, 2, "vaa-name")
        return bytes(out)


@dataclass(frozen=True, slots=True)
class ConfirmedServiceError:
    """Refusal of a confirmed service; for the AARE: ``(1, 6, InitiateError.x)``.

    ``service`` is a :class:`ConfirmedService`, ``error_class`` a
    :class:`ServiceErrorClass` and ``error_value`` an ENUMERATED of that class (for the
    initiate class an :class:`InitiateError`). Known values decode to those enums; the
    fields stay typed ``int`` because each class has its own value list.
    """

    service: int
    error_class: int
    error_value: int
    TAG: ClassVar[int] = ApduTag.CONFIRMED_SERVICE_ERROR

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        reader = _start(raw, cls.TAG, "ConfirmedServiceError")
        service = reader.enum(ConfirmedService, "confirmed-service-error service")
        error_class = reader.enum(ServiceErrorClass, "service-error class")
        error_value = reader.u8("service-error value")
        reader.finish()
        if error_class is ServiceErrorClass.INITIATE and error_value <= max(InitiateError):
            error_value = InitiateError(error_value)
        return cls(service, error_class, error_value)

    def to_bytes(self) -> bytes:
        out = bytearray((self.TAG,))
        put_enum(out, self.service, ConfirmedService, "confirmed-service-error service")
        put_enum(out, self.error_class, ServiceErrorClass, "service-error class")
        put_unsigned(out, self.error_value, 1, "service-error value")
        return bytes(out)
