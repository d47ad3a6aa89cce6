"""Protection of xDLMS APDUs with security suite 0 (Green Book, glo-/ded- ciphering).

``protect`` builds the security header and payload ``SC || IC || (C or P) || [T]``;
``unprotect`` checks and reverses it. ``cipher_apdu``/``decipher_apdu`` add the outer framing:
the service-specific form (``tag || length || payload``, e.g. 0xC8 glo-get-request) or the
general form (``0xDB/0xDC || len(ST) || ST || length || payload``).

The system title and invocation counter are always the **sender's**: they form the GCM IV.

What the GCM inputs are, per security control (suite 0):

====  =================  ==================  ==================
SC    GCM plaintext      AAD                 transmitted body
====  =================  ==================  ==================
0x30  APDU               SC || AK            C || T
0x10  (empty)            SC || AK || APDU    APDU || T
0x20  APDU               (no tag)            C
====  =================  ==================  ==================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from securemeter.apdu.ciphered import (
    DEDICATED_CIPHERED_TAGS,
    DEDICATED_TAG_FOR_PLAIN,
    GLOBAL_TAG_FOR_PLAIN,
    PLAIN_TAG_FOR_CIPHERED,
)
from securemeter.codec.axdr import decode_length, encode_length
from securemeter.errors import DecipheringFailed, DecodeError, EncodeError
from securemeter.security._suite0 import (
    KEY_LENGTH,
    TAG_LENGTH,
    gcm_decrypt_only,
    gcm_encrypt_only,
    gcm_open,
    gcm_seal,
)

SYSTEM_TITLE_LENGTH = 8
HEADER_LENGTH = 5  # SC (1) + IC (4)
MAX_INVOCATION_COUNTER = 0xFFFF_FFFF
SUPPORTED_SUITE = 0

GENERAL_GLO_CIPHERING = 0xDB
GENERAL_DED_CIPHERING = 0xDC

# The tag tables live with the APDUs (apdu/ciphered.py); one definition.
_CIPHERED_TAGS: dict[int, tuple[int, int]] = {
    plain: (glo, DEDICATED_TAG_FOR_PLAIN[plain]) for plain, glo in GLOBAL_TAG_FOR_PLAIN.items()
}
_PLAIN_TAGS = PLAIN_TAG_FOR_CIPHERED
_DEDICATED_TAGS = DEDICATED_CIPHERED_TAGS | {GENERAL_DED_CIPHERING}


@dataclass(frozen=True, slots=True)
class SecurityControl:
    """The security control byte: suite in bits 0-3, then the four flags."""

    suite: int = SUPPORTED_SUITE
    authenticated: bool = False
    encrypted: bool = False
    broadcast_key: bool = False
    compressed: bool = False

    AUTHENTICATED: ClassVar[int] = 0x10
    ENCRYPTED: ClassVar[int] = 0x20
    AUTHENTICATED_ENCRYPTED: ClassVar[int] = 0x30
    BROADCAST_KEY: ClassVar[int] = 0x40
    COMPRESSED: ClassVar[int] = 0x80
    SUITE_MASK: ClassVar[int] = 0x0F

    def __post_init__(self) -> None:
        if not 0 <= self.suite <= self.SUITE_MASK:
            raise EncodeError(f"security suite {self.suite} does not fit in 4 bits")

    @classmethod
    def from_byte(cls, value: int) -> SecurityControl:
        if not 0 <= value <= 0xFF:
            raise DecodeError(f"security control {value} is not one octet")
        return _SECURITY_CONTROLS[value]  # every frame parses one: share 256 immutable values

    @classmethod
    def _from_octet(cls, value: int) -> SecurityControl:
        return cls(
            suite=value & cls.SUITE_MASK,
            authenticated=bool(value & cls.AUTHENTICATED),
            encrypted=bool(value & cls.ENCRYPTED),
            broadcast_key=bool(value & cls.BROADCAST_KEY),
            compressed=bool(value & cls.COMPRESSED),
        )

    def to_byte(self) -> int:
        return (
            self.suite
            | (self.AUTHENTICATED if self.authenticated else 0)
            | (self.ENCRYPTED if self.encrypted else 0)
            | (self.BROADCAST_KEY if self.broadcast_key else 0)
            | (self.COMPRESSED if self.compressed else 0)
        )


_SECURITY_CONTROLS = tuple(SecurityControl._from_octet(value) for value in range(256))

AUTHENTICATED = SecurityControl.AUTHENTICATED
ENCRYPTED = SecurityControl.ENCRYPTED
AUTHENTICATED_ENCRYPTED = SecurityControl.AUTHENTICATED_ENCRYPTED
BROADCAST_KEY = SecurityControl.BROADCAST_KEY
COMPRESSED = SecurityControl.COMPRESSED


@dataclass(frozen=True, slots=True)
class UnprotectedApdu:
    """The result of ``unprotect``: what was applied, the sender's counter and the APDU.

    ``security_control`` is the received octet, as ``protect`` takes it; ``control`` parses it.
    """

    security_control: int
    invocation_counter: int
    apdu: bytes

    @property
    def control(self) -> SecurityControl:
        return SecurityControl.from_byte(self.security_control)


@dataclass(frozen=True, slots=True)
class DecipheredApdu:
    """The result of ``decipher_apdu``."""

    tag: int  # the ciphered APDU's own tag (0xC8, 0xDB ...)
    system_title: bytes  # the sender's system title the IV was built from
    security_control: int  # the received octet; ``control`` parses it
    invocation_counter: int
    apdu: bytes

    @property
    def control(self) -> SecurityControl:
        return SecurityControl.from_byte(self.security_control)


# ----------------------------------------------------------------------------- tags


def ciphered_tag(plain_tag: int, *, dedicated: bool = False) -> int:
    """The glo- (or ded-) tag that carries a protected APDU of ``plain_tag``."""
    pair = _CIPHERED_TAGS.get(plain_tag)
    if pair is None:
        raise EncodeError(f"APDU tag 0x{plain_tag:02X} has no service-specific ciphered form")
    return pair[1] if dedicated else pair[0]


def plain_tag(ciphered: int) -> int:
    """The tag of the APDU a service-specific glo-/ded- APDU must carry."""
    plain = _PLAIN_TAGS.get(ciphered)
    if plain is None:
        raise DecodeError(f"0x{ciphered:02X} is not a service-specific ciphered APDU tag")
    return plain


def is_dedicated(tag: int) -> bool:
    """Whether a ciphered APDU tag uses the dedicated key (ded- and general-ded forms)."""
    return tag in _DEDICATED_TAGS


def is_ciphered(tag: int) -> bool:
    """Whether ``decipher_apdu`` handles an APDU starting with ``tag``."""
    return tag in _PLAIN_TAGS or tag in (GENERAL_GLO_CIPHERING, GENERAL_DED_CIPHERING)


# ----------------------------------------------------------------------------- outer framing


def encode_service_specific(tag: int, security_header_and_payload: bytes) -> bytes:
    """``tag || A-XDR length || security header and payload``."""
    if tag not in _PLAIN_TAGS:
        raise EncodeError(f"0x{tag:02X} is not a service-specific ciphered APDU tag")
    return (
        bytes((tag,))
        + encode_length(len(security_header_and_payload))
        + bytes(security_header_and_payload)
    )


def decode_service_specific(raw: bytes) -> tuple[int, bytes]:
    """Return (tag, security header and payload); the length must cover exactly the rest."""
    if not raw:
        raise DecodeError("empty ciphered APDU")
    tag = raw[0]
    if tag not in _PLAIN_TAGS:
        raise DecodeError(f"0x{tag:02X} is not a service-specific ciphered APDU tag")
    length, offset = decode_length(raw, 1)
    if offset + length != len(raw):
        raise DecodeError(f"length {length} does not match the {len(raw) - offset} octets left")
    return tag, bytes(raw[offset:])


def encode_general_ciphering(
    tag: int, system_title: bytes, security_header_and_payload: bytes
) -> bytes:
    """General-glo (0xDB) or general-ded (0xDC): ``tag || len || ST || len || payload``."""
    if tag not in (GENERAL_GLO_CIPHERING, GENERAL_DED_CIPHERING):
        raise EncodeError(f"0x{tag:02X} is not general-glo- or general-ded-ciphering")
    return (
        bytes((tag,))
        + encode_length(len(system_title))
        + bytes(system_title)
        + encode_length(len(security_header_and_payload))
        + bytes(security_header_and_payload)
    )


def decode_general_ciphering(raw: bytes) -> tuple[int, bytes, bytes]:
    """Return (tag, system title, security header and payload) of a 0xDB/0xDC APDU."""
    if not raw:
        raise DecodeError("empty ciphered APDU")
    tag = raw[0]
    if tag not in (GENERAL_GLO_CIPHERING, GENERAL_DED_CIPHERING):
        raise DecodeError(f"0x{tag:02X} is not general-glo- or general-ded-ciphering")
    title_length, offset = decode_length(raw, 1)
    end = offset + title_length
    if end > len(raw):
        raise DecodeError("truncated system title")
    system_title = bytes(raw[offset:end])
    length, offset = decode_length(raw, end)
    if offset + length != len(raw):
        raise DecodeError(f"length {length} does not match the {len(raw) - offset} octets left")
    return tag, system_title, bytes(raw[offset:])


# ----------------------------------------------------------------------------- protect


def _supported_control(security_control: int) -> SecurityControl:
    control = SecurityControl.from_byte(security_control)
    if control.suite != SUPPORTED_SUITE:
        raise EncodeError(f"security suite {control.suite} is not supported")
    if control.compressed:
        raise EncodeError("compression is not supported")
    if not (control.authenticated or control.encrypted):
        raise EncodeError("security control applies neither authentication nor encryption")
    return control


def protect(
    security_control: int,
    system_title: bytes,
    invocation_counter: int,
    encryption_key: bytes,
    authentication_key: bytes,
    apdu: bytes,
) -> bytes:
    """Return ``SC || IC || (C or P) || [T]`` for ``apdu`` sent by ``system_title``.

    ``encryption_key`` is the key the SC selects: the global unicast, dedicated or (bit 6 set)
    broadcast key. ``authentication_key`` is used only when SC has the authentication bit.
    Bad arguments raise EncodeError.
    """
    try:
        control = _supported_control(security_control)
    except DecodeError as exc:
        raise EncodeError(str(exc)) from exc
    if len(system_title) != SYSTEM_TITLE_LENGTH:
        raise EncodeError(f"system title must be {SYSTEM_TITLE_LENGTH} bytes")
    if not 0 <= invocation_counter <= MAX_INVOCATION_COUNTER:
        raise EncodeError(f"invocation counter {invocation_counter} is not a 32-bit unsigned")
    if control.authenticated and len(authentication_key) != KEY_LENGTH:
        raise EncodeError(f"suite 0 authentication keys are {KEY_LENGTH} bytes")
    if not apdu:
        raise EncodeError("nothing to protect: empty APDU")
    header = bytes((security_control,)) + invocation_counter.to_bytes(4, "big")
    iv = bytes(system_title) + header[1:]
    if control.authenticated and control.encrypted:
        ciphertext, tag = gcm_seal(encryption_key, iv, header[:1] + authentication_key, apdu)
        return header + ciphertext + tag
    if control.authenticated:
        _, tag = gcm_seal(encryption_key, iv, header[:1] + authentication_key + apdu, b"")
        return header + bytes(apdu) + tag
    return header + gcm_encrypt_only(encryption_key, iv, apdu)


def unprotect(
    security_header_and_payload: bytes,
    system_title: bytes,
    encryption_key: bytes,
    authentication_key: bytes,
    *,
    broadcast_encryption_key: bytes | None = None,
    allow_encryption_only: bool = False,
) -> UnprotectedApdu:
    """Check and remove suite 0 protection; ``system_title`` is the sender's.

    Raises DecipheringFailed for anything malformed or unsupported and AuthenticationFailed
    when the tag does not verify, nothing else.

    Encryption-only payloads (SC 0x20) carry no tag, so flipping the authentication bit of a
    0x30 payload would turn it into one: they are refused unless ``allow_encryption_only``
    (the security policy must then be checked by the caller anyway). SC bit 6 selects
    ``broadcast_encryption_key``; without one such payloads are refused.
    """
    raw = bytes(security_header_and_payload)
    if len(raw) < HEADER_LENGTH:
        raise DecipheringFailed("truncated security header")
    control = SecurityControl.from_byte(raw[0])
    if control.suite != SUPPORTED_SUITE:
        raise DecipheringFailed(f"security suite {control.suite} is not supported")
    if control.compressed:
        raise DecipheringFailed("compression is not supported")
    if not (control.authenticated or control.encrypted):
        raise DecipheringFailed("security control applies neither authentication nor encryption")
    if not control.authenticated and not allow_encryption_only:
        raise DecipheringFailed("unauthenticated (encryption-only) payload refused")
    if control.broadcast_key:
        if broadcast_encryption_key is None:
            raise DecipheringFailed("broadcast key requested but none is available")
        encryption_key = broadcast_encryption_key
    # Key and title sizes: a misconfigured context or a bad general-glo title, not a bad tag.
    if len(system_title) != SYSTEM_TITLE_LENGTH:
        raise DecipheringFailed(f"system title must be {SYSTEM_TITLE_LENGTH} bytes")
    if len(encryption_key) != KEY_LENGTH or (
        control.authenticated and len(authentication_key) != KEY_LENGTH
    ):
        raise DecipheringFailed(f"suite 0 keys are {KEY_LENGTH} bytes")
    iv = bytes(system_title) + raw[1:HEADER_LENGTH]
    invocation_counter = int.from_bytes(raw[1:HEADER_LENGTH], "big")
    body = raw[HEADER_LENGTH:]
    if not control.authenticated:
        if not body:
            raise DecipheringFailed("empty ciphertext")
        apdu = gcm_decrypt_only(encryption_key, iv, body)
        return UnprotectedApdu(raw[0], invocation_counter, apdu)
    if len(body) <= TAG_LENGTH:
        raise DecipheringFailed("payload too short for an APDU and its tag")
    payload, tag = body[:-TAG_LENGTH], body[-TAG_LENGTH:]
    aad = raw[:1] + authentication_key
    if control.encrypted:
        apdu = gcm_open(encryption_key, iv, aad, payload, tag)
    else:
        gcm_open(encryption_key, iv, aad + payload, b"", tag)
        apdu = payload
    return UnprotectedApdu(raw[0], invocation_counter, apdu)


# ----------------------------------------------------------------------------- whole APDUs


def cipher_apdu(
    apdu: bytes,
    *,
    security_control: int,
    system_title: bytes,
    invocation_counter: int,
    encryption_key: bytes,
    authentication_key: bytes,
    general: bool = False,
    dedicated: bool = False,
) -> bytes:
    """Protect ``apdu`` and frame it: glo-/ded- service-specific, or general-glo/-ded."""
    if not apdu:
        raise EncodeError("nothing to protect: empty APDU")
    if general:
        tag = GENERAL_DED_CIPHERING if dedicated else GENERAL_GLO_CIPHERING
    else:
        tag = ciphered_tag(apdu[0], dedicated=dedicated)
    payload = protect(
        security_control,
        system_title,
        invocation_counter,
        encryption_key,
        authentication_key,
        apdu,
    )
    if general:
        return encode_general_ciphering(tag, system_title, payload)
    return encode_service_specific(tag, payload)


def decipher_apdu(
    ciphered: bytes,
    *,
    system_title: bytes | None,
    encryption_key: bytes,
    authentication_key: bytes,
    broadcast_encryption_key: bytes | None = None,
    allow_encryption_only: bool = False,
) -> DecipheredApdu:
    """Unframe and unprotect a ciphered APDU; raises DecipheringFailed or AuthenticationFailed.

    ``system_title`` is the sender's title as known to the receiver (from the AARQ/AARE).
    The general forms carry the sender's title: it is used when ``system_title`` is None, and
    must otherwise equal it (an empty carried title, sent by some meters, means "the known
    one"). Choose ``encryption_key`` with ``is_dedicated(ciphered[0])``.
    """
    try:
        if ciphered and ciphered[0] in (GENERAL_GLO_CIPHERING, GENERAL_DED_CIPHERING):
            tag, carried_title, payload = decode_general_ciphering(ciphered)
            expected_plain_tag: int | None = None
        else:
            tag, payload = decode_service_specific(ciphered)
            carried_title = b""
            expected_plain_tag = plain_tag(tag)
    except DecodeError as exc:
        raise DecipheringFailed(f"malformed ciphered APDU: {exc}") from exc
    if carried_title:
        if system_title is not None and carried_title != system_title:
            raise DecipheringFailed("system title differs from the associated peer's")
        sender_title = carried_title
    elif system_title is not None:
        sender_title = bytes(system_title)
    else:
        raise DecipheringFailed("the sender's system title is unknown")
    result = unprotect(
        payload,
        sender_title,
        encryption_key,
        authentication_key,
        broadcast_encryption_key=broadcast_encryption_key,
        allow_encryption_only=allow_encryption_only,
    )
    # The outer tag is not authenticated: it must agree with the protected APDU inside.
    if expected_plain_tag is not None and result.apdu[0] != expected_plain_tag:
        raise DecipheringFailed(
            f"0x{tag:02X} must carry an APDU of tag 0x{expected_plain_tag:02X}, "
            f"not 0x{result.apdu[0]:02X}"
        )
    return DecipheredApdu(
        tag=tag,
        system_title=sender_title,
        security_control=result.security_control,
        invocation_counter=result.invocation_counter,
        apdu=result.apdu,
    )


__all__ = [
    "AUTHENTICATED",
    "AUTHENTICATED_ENCRYPTED",
    "BROADCAST_KEY",
    "COMPRESSED",
    "ENCRYPTED",
    "GENERAL_DED_CIPHERING",
    "GENERAL_GLO_CIPHERING",
    "DecipheredApdu",
    "SecurityControl",
    "UnprotectedApdu",
    "cipher_apdu",
    "ciphered_tag",
    "decipher_apdu",
    "decode_general_ciphering",
    "decode_service_specific",
    "encode_general_ciphering",
    "encode_service_specific",
    "is_ciphered",
    "is_dedicated",
    "plain_tag",
    "protect",
    "unprotect",
]
