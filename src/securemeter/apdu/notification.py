"""DATA-NOTIFICATION (0x0F): an unsolicited push from the meter.

``0F | long-invoke-id-and-priority (4) | date-time (OCTET STRING: 00 absent, or 0C + 12
octets) | notification-body (one Data value)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from securemeter.apdu.common import Reader, put_data, put_octet_string, put_unsigned
from securemeter.apdu.enums import ApduTag
from securemeter.codec.axdr import Data
from securemeter.errors import DecodeError, EncodeError

DATE_TIME_SIZE = 12

# Long-Invoke-Id-And-Priority: invoke id in bits 0-23, flags above it.
LONG_INVOKE_ID_MASK = 0x00FF_FFFF
SELF_DESCRIPTIVE = 1 << 28
BREAK_ON_ERROR = 1 << 29
SERVICE_CLASS_CONFIRMED = 1 << 30
PRIORITY_HIGH = 1 << 31


@dataclass(frozen=True, slots=True)
class DataNotification:
    long_invoke_id_and_priority: int
    date_time: bytes | None
    body: Data
    TAG: ClassVar[int] = ApduTag.DATA_NOTIFICATION

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        reader = Reader(raw)
        reader.expect(cls.TAG, "DataNotification tag")
        long_invoke = reader.u32("long-invoke-id-and-priority")
        date_time = reader.octet_string("date-time")
        if len(date_time) not in (0, DATE_TIME_SIZE):
            raise DecodeError(f"date-time of {len(date_time)} octets (0 or 12 expected)")
        body = reader.data()
        reader.finish()
        return cls(long_invoke, date_time or None, body)

    def to_bytes(self) -> bytes:
        out = bytearray((self.TAG,))
        put_unsigned(out, self.long_invoke_id_and_priority, 4, "long-invoke-id-and-priority")
        if self.date_time is None:
            out.append(0)
        elif len(self.date_time) == DATE_TIME_SIZE:
            put_octet_string(out, self.date_time)
        else:
            raise EncodeError(f"date-time must be {DATE_TIME_SIZE} octets")
        put_data(out, self.body)
        return bytes(out)
