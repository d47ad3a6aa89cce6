"""Decode any APDU this package knows, choosing the class by its first octet."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from securemeter.apdu.acse import AARE, AARQ, RLRE, RLRQ
from securemeter.apdu.action import ActionRequest, ActionResponse
from securemeter.apdu.ciphered import CipheredApdu, GeneralDedCiphering, GeneralGloCiphering
from securemeter.apdu.errors import ExceptionResponse
from securemeter.apdu.get import GetRequest, GetResponse
from securemeter.apdu.initiate import ConfirmedServiceError, InitiateRequest, InitiateResponse
from securemeter.apdu.notification import DataNotification
from securemeter.apdu.set import SetRequest, SetResponse
from securemeter.errors import DecodeError

Apdu = (
    AARQ
    | AARE
    | RLRQ
    | RLRE
    | InitiateRequest
    | InitiateResponse
    | ConfirmedServiceError
    | GetRequest
    | GetResponse
    | SetRequest
    | SetResponse
    | ActionRequest
    | ActionResponse
    | ExceptionResponse
    | DataNotification
    | CipheredApdu
    | GeneralGloCiphering
    | GeneralDedCiphering
)

_DECODERS: dict[int, Callable[[bytes], Apdu]] = {
    cls.TAG: cls.from_bytes
    for cls in (
        AARQ,
        AARE,
        RLRQ,
        RLRE,
        InitiateRequest,
        InitiateResponse,
        ConfirmedServiceError,
        GetRequest,
        GetResponse,
        SetRequest,
        SetResponse,
        ActionRequest,
        ActionResponse,
        ExceptionResponse,
        DataNotification,
        GeneralGloCiphering,
        GeneralDedCiphering,
    )
}
_DECODERS.update(dict.fromkeys(CipheredApdu.TAGS, CipheredApdu.from_bytes))

DECODERS: Mapping[int, Callable[[bytes], Apdu]] = MappingProxyType(_DECODERS)


def decode_apdu(raw: bytes) -> Apdu:
    """Decode one complete APDU; an unknown tag or any malformation is a DecodeError."""
    if not raw:
        raise DecodeError("empty APDU")
    decoder = DECODERS.get(raw[0])
    if decoder is None:
        raise DecodeError(f"unknown APDU tag 0x{raw[0]:02X}")
    return decoder(bytes(raw))
