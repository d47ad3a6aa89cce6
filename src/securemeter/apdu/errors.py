"""EXCEPTION-Response (0xD8): the answer to an APDU the peer could not even process.

``D8 | state-error | service-error [| invocation counter (Unsigned32)]``. The counter follows
only an invocation-counter-error, and even there it may be absent (older peers); the
decoder accepts both forms, as gurux-dlms does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from securemeter.apdu.common import Reader, put_enum, put_unsigned
from securemeter.apdu.enums import ApduTag, ServiceError, StateError
from securemeter.apdu.initiate import ConfirmedServiceError
from securemeter.errors import EncodeError

__all__ = ["ConfirmedServiceError", "ExceptionResponse", "ServiceError", "StateError"]


@dataclass(frozen=True, slots=True)
class ExceptionResponse:
    state_error: StateError
    service_error: ServiceError
    invocation_counter: int | None = None
    TAG: ClassVar[int] = ApduTag.EXCEPTION_RESPONSE

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        reader = Reader(raw)
        reader.expect(cls.TAG, "ExceptionResponse tag")
        state_error = reader.enum(StateError, "state-error")
        service_error = reader.enum(ServiceError, "service-error")
        invocation_counter = None
        if service_error is ServiceError.INVOCATION_COUNTER_ERROR and reader.remaining:
            invocation_counter = reader.u32("invocation-counter")
        reader.finish()
        return cls(state_error, service_error, invocation_counter)

    def to_bytes(self) -> bytes:
        out = bytearray((self.TAG,))
        put_enum(out, self.state_error, StateError, "state-error")
        put_enum(out, self.service_error, ServiceError, "service-error")
        if self.invocation_counter is not None:
            if self.service_error != ServiceError.INVOCATION_COUNTER_ERROR:
                raise EncodeError("only an invocation-counter-error carries a counter")
            put_unsigned(out, self.invocation_counter, 4, "invocation-counter")
        return bytes(out)
