"""The outer structure of ciphered APDUs; no cryptography here (see ``securemeter.security``).

Service-specific ciphering (glo-/ded- tags)::

    tag | length | security-control (1) | invocation-counter (4) | payload

General ciphering (0xDB general-glo-ciphering, 0xDC general-ded-ciphering)::

    tag | length | system-title | length | security-control | invocation-counter | payload

The payload is the ciphertext, or the plaintext when only authentication is applied, with
the 12-octet tag appended when security-control bit 4 is set; it is kept opaque. The length
is A-XDR (``0x81 nn`` / ``0x82 nn nn`` above 127).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar, Self

from securemeter.apdu.common import Reader, put_octet_string, put_unsigned
from securemeter.apdu.enums import ApduTag
from securemeter.codec import axdr
from securemeter.errors import DecodeError, EncodeError

SECURITY_HEADER_SIZE = 5  # security-control and invocation counter

# plain tag -> glo- tag and ded- tag (Green Book xDLMS-APDU CHOICE)
GLOBAL_TAG_FOR_PLAIN: Mapping[int, int] = MappingProxyType(
    {
        ApduTag.INITIATE_REQUEST: 0x21,
        ApduTag.INITIATE_RESPONSE: 0x28,
        ApduTag.CONFIRMED_SERVICE_ERROR: 0x2E,
        ApduTag.GET_REQUEST: 0xC8,
        ApduTag.SET_REQUEST: 0xC9,
        ApduTag.EVENT_NOTIFICATION_REQUEST: 0xCA,
        ApduTag.ACTION_REQUEST: 0xCB,
        ApduTag.GET_RESPONSE: 0xCC,
        ApduTag.SET_RESPONSE: 0xCD,
        ApduTag.ACTION_RESPONSE: 0xCF,
    }
)
DEDICATED_TAG_FOR_PLAIN: Mapping[int, int] = MappingProxyType(
    {
        ApduTag.INITIATE_REQUEST: 0x41,
        ApduTag.INITIATE_RESPONSE: 0x48,
        ApduTag.CONFIRMED_SERVICE_ERROR: 0x4E,
        ApduTag.GET_REQUEST: 0xD0,
        ApduTag.SET_REQUEST: 0xD1,
        ApduTag.EVENT_NOTIFICATION_REQUEST: 0xD2,
        ApduTag.ACTION_REQUEST: 0xD3,
        ApduTag.GET_RESPONSE: 0xD4,
        ApduTag.SET_RESPONSE: 0xD5,
        ApduTag.ACTION_RESPONSE: 0xD7,
    }
)
PLAIN_TAG_FOR_CIPHERED: Mapping[int, int] = MappingProxyType(
    {ciphered: plain for plain, ciphered in GLOBAL_TAG_FOR_PLAIN.items()}
    | {ciphered: plain for plain, ciphered in DEDICATED_TAG_FOR_PLAIN.items()}
)
GLOBAL_CIPHERED_TAGS = frozenset(GLOBAL_TAG_FOR_PLAIN.values())
DEDICATED_CIPHERED_TAGS = frozenset(DEDICATED_TAG_FOR_PLAIN.values())


def _put_security_header(out: bytearray, security_control: int, invocation_counter: int) -> None:
    put_unsigned(out, security_control, 1, "security-control")
    put_unsigned(out, invocation_counter, 4, "invocation-counter")


def _read_ciphered_content(reader: Reader) -> tuple[int, int, bytes]:
    content = reader.octet_string("ciphered content")
    if len(content) < SECURITY_HEADER_SIZE:
        raise DecodeError("ciphered content shorter than its security header")
    counter = int.from_bytes(content[1:SECURITY_HEADER_SIZE], "big")
    return content[0], counter, content[SECURITY_HEADER_SIZE:]


@dataclass(frozen=True, slots=True)
class CipheredApdu:
    """A service-specific glo- or ded- ciphered APDU; ``tag`` says which (see the tables)."""

    tag: int
    security_control: int
    invocation_counter: int
    payload: bytes
    TAGS: ClassVar[frozenset[int]] = GLOBAL_CIPHERED_TAGS | DEDICATED_CIPHERED_TAGS

    @property
    def plain_tag(self) -> int:
        """Tag of the APDU inside once deciphered."""
        return PLAIN_TAG_FOR_CIPHERED[self.tag]

    @property
    def dedicated(self) -> bool:
        """True for ded- tags (dedicated key), False for glo- tags (global key)."""
        return self.tag in DEDICATED_CIPHERED_TAGS

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        reader = Reader(raw)
        tag = reader.u8("ciphered APDU tag")
        if tag not in cls.TAGS:
            raise DecodeError(f"0x{tag:02X} is not a service-specific ciphered APDU tag")
        security_control, counter, payload = _read_ciphered_content(reader)
        reader.finish()
        return cls(tag, security_control, counter, payload)

    def to_bytes(self) -> bytes:
        if self.tag not in self.TAGS:
            raise EncodeError(f"0x{self.tag:02X} is not a service-specific ciphered APDU tag")
        out = bytearray((self.tag,))
        out += axdr.encode_length(SECURITY_HEADER_SIZE + len(self.payload))
        _put_security_header(out, self.security_control, self.invocation_counter)
        out += self.payload
        return bytes(out)


@dataclass(frozen=True, slots=True)
class _GeneralCiphering:
    """Shared layout of general-glo- and general-ded-ciphering.

    ``system_title`` is the sender's; it is normally 8 octets but kept as sent (some
    clients send it empty), so the security layer decides what to accept.
    """

    system_title: bytes
    security_control: int
    invocation_counter: int
    payload: bytes
    TAG: ClassVar[int]

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        reader = Reader(raw)
        reader.expect(cls.TAG, f"{cls.__name__} tag")
        system_title = reader.octet_string("system-title")
        security_control, counter, payload = _read_ciphered_content(reader)
        reader.finish()
        return cls(system_title, security_control, counter, payload)

    def to_bytes(self) -> bytes:
        out = bytearray((self.TAG,))
        put_octet_string(out, self.system_title)
        out += axdr.encode_length(SECURITY_HEADER_SIZE + len(self.payload))
        _put_security_header(out, self.security_control, self.invocation_counter)
        out += self.payload
        return bytes(out)


@dataclass(frozen=True, slots=True)
class GeneralGloCiphering(_GeneralCiphering):
    TAG: ClassVar[int] = ApduTag.GENERAL_GLO_CIPHERING


@dataclass(frozen=True, slots=True)
class GeneralDedCiphering(_GeneralCiphering):
    TAG: ClassVar[int] = ApduTag.GENERAL_DED_CIPHERING
