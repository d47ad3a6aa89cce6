"""Protection of xDLMS APDUs with security suite 0 (Green Book, glo-/ded- ciphering).

``cipher_apdu`` protects an APDU and frames it: the security header and payload
``SC || IC || (C or P) || [T]`` inside the service-specific form (``tag || length ||
payload``, e.g. 0xC8 glo-get-request) or the general form (``0xDB/0xDC || len(ST) || ST ||
length || payload``); ``decipher_apdu`` checks and reverses it. ``protect``/``unprotect`` do
the same for the bare payload (that of the general form).

One implementation each way: ``FrameCipher.seal`` and ``FrameCipher.open``. A
``FrameCipher`` is built once per association (keys prepared, titles and key sizes checked), so
each frame pays only for its own checks; the functions here build one per call.

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

import struct
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar, NamedTuple

from securemeter.apdu.ciphered import (
    DEDICATED_CIPHERED_TAGS,
    DEDICATED_TAG_FOR_PLAIN,
    GLOBAL_TAG_FOR_PLAIN,
    PLAIN_TAG_FOR_CIPHERED,
)
from securemeter.codec.axdr import decode_length, encode_length
from securemeter.errors import DecipheringFailed, DecodeError, EncodeError
from securemeter.security._suite0 import KEY_LENGTH, TAG_LENGTH, Suite0Key, prepared

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
_PLAIN_TAGS = dict(PLAIN_TAG_FOR_CIPHERED)  # a dict: looked up for every ciphered frame
_DEDICATED_TAGS = DEDICATED_CIPHERED_TAGS | {GENERAL_DED_CIPHERING}
_GENERAL_TAGS = (GENERAL_GLO_CIPHERING, GENERAL_DED_CIPHERING)
_SECURITY_HEADER = struct.Struct(">BI")  # security control, invocation counter


class CipherForm(Enum):
    """How an APDU was (or is to be) ciphered; the meter answers in the client's form."""

    GLOBAL = "glo"  # service-specific, global unicast key
    DEDICATED = "ded"  # service-specific, dedicated key of the association
    GENERAL_GLOBAL = "general-glo"
    GENERAL_DEDICATED = "general-ded"

    @property
    def dedicated(self) -> bool:
        return self in _DEDICATED_FORMS

    @property
    def general(self) -> bool:
        return self in _GENERAL_FORMS


_DEDICATED_FORMS = frozenset((CipherForm.DEDICATED, CipherForm.GENERAL_DEDICATED))
_GENERAL_FORMS = frozenset((CipherForm.GENERAL_GLOBAL, CipherForm.GENERAL_DEDICATED))


_FORM_OF_TAG: dict[int, CipherForm] = {
    tag: CipherForm.DEDICATED if tag in _DEDICATED_TAGS else CipherForm.GLOBAL
    for tag in _PLAIN_TAGS
} | {
    GENERAL_GLO_CIPHERING: CipherForm.GENERAL_GLOBAL,
    GENERAL_DED_CIPHERING: CipherForm.GENERAL_DEDICATED,
}


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


class UnprotectedApdu(NamedTuple):
    """The result of ``unprotect``: what was applied, the sender's counter and the APDU.

    ``security_control`` is the received octet, as ``protect`` takes it; ``control`` parses it.
    """

    security_control: int
    invocation_counter: int
    apdu: bytes

    @property
    def control(self) -> SecurityControl:
        return SecurityControl.from_byte(self.security_control)


class DecipheredApdu(NamedTuple):
    """The result of ``decipher_apdu`` (a named tuple: one is built for every frame)."""

    tag: int  # the ciphered APDU's own tag (0xC8, 0xDB ...)
    system_title: bytes  # the sender's system title the IV was built from
    security_control: int  # the received octet; ``control`` parses it
    invocation_counter: int
    apdu: bytes
    form: CipherForm  # the form the sender used (the meter answers in the same)

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
    return tag in _FORM_OF_TAG


# ----------------------------------------------------------------------------- outer framing


def encode_service_specific(tag: int, security_header_and_payload: bytes) -> bytes:
    """``tag || A-XDR length || security header and payload``."""
    if tag not in _PLAIN_TAGS:
        raise EncodeError(f"0x{tag:02X} is not a service-specific ciphered APDU tag")
    payload = bytes(security_header_and_payload)
    return bytes((tag,)) + encode_length(len(payload)) + payload


def encode_general_ciphering(
    tag: int, system_title: bytes, security_header_and_payload: bytes
) -> bytes:
    """General-glo (0xDB) or general-ded (0xDC): ``tag || len || ST || len || payload``."""
    if tag not in _GENERAL_TAGS:
        raise EncodeError(f"0x{tag:02X} is not general-glo- or general-ded-ciphering")
    title = bytes(system_title)
    payload = bytes(security_header_and_payload)
    return bytes((tag,)) + encode_length(len(title)) + title + encode_length(len(payload)) + payload


def _unframe(raw: bytes) -> tuple[int, bytes, int]:
    """(tag, carried system title or b"", offset of the security header) of a ciphered APDU;
    the length must cover exactly the rest. Raises DecodeError."""
    size = len(raw)
    if not size:
        raise DecodeError("empty ciphered APDU")
    tag = raw[0]
    title = b""
    offset = 1
    if tag in _GENERAL_TAGS:
        title_length, offset = decode_length(raw, 1)
        end = offset + title_length
        if end > size:
            raise DecodeError("truncated system title")
        title = raw[offset:end]
        offset = end
    elif tag not in _PLAIN_TAGS:
        raise DecodeError(f"0x{tag:02X} is not a ciphered APDU tag")
    length, offset = decode_length(raw, offset)
    if offset + length != size:
        raise DecodeError(f"length {length} does not match the {size - offset} octets left")
    return tag, title, offset


def decode_service_specific(raw: bytes) -> tuple[int, bytes]:
    """Return (tag, security header and payload); the length must cover exactly the rest."""
    raw = bytes(raw)
    if raw and raw[0] in _GENERAL_TAGS:
        raise DecodeError(f"0x{raw[0]:02X} is not a service-specific ciphered APDU tag")
    tag, _, offset = _unframe(raw)
    return tag, raw[offset:]


def decode_general_ciphering(raw: bytes) -> tuple[int, bytes, bytes]:
    """Return (tag, system title, security header and payload) of a 0xDB/0xDC APDU."""
    raw = bytes(raw)
    if raw and raw[0] not in _GENERAL_TAGS:
        raise DecodeError(f"0x{raw[0]:02X} is not general-glo- or general-ded-ciphering")
    tag, title, offset = _unframe(raw)
    return tag, title, raw[offset:]


# ----------------------------------------------------------------------------- protect


def _control_refusal(value: int) -> str | None:
    """Why suite 0 cannot apply or remove security control ``value``, or None."""
    if value & SecurityControl.SUITE_MASK != SUPPORTED_SUITE:
        return f"security suite {value & SecurityControl.SUITE_MASK} is not supported"
    if value & COMPRESSED:
        return "compression is not supported"
    if not value & AUTHENTICATED_ENCRYPTED:
        return "security control applies neither authentication nor encryption"
    return None


# Looked up for every frame rather than recomputed.
_CONTROL_REFUSALS = tuple(_control_refusal(value) for value in range(256))


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
    Bad arguments raise EncodeError. (The payload of the general-ciphering form.)
    """
    title = bytes(system_title)
    framed = cipher_apdu(
        apdu,
        security_control=security_control,
        system_title=title,
        invocation_counter=invocation_counter,
        encryption_key=encryption_key,
        authentication_key=authentication_key,
        general=True,
    )
    return decode_general_ciphering(framed)[2]


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
    title = bytes(system_title)
    # The payload as a general-glo-ciphering APDU: FrameCipher.open is the one implementation.
    framed = encode_general_ciphering(
        GENERAL_GLO_CIPHERING, title, bytes(security_header_and_payload)
    )
    opened = decipher_apdu(
        framed,
        system_title=title,
        encryption_key=encryption_key,
        authentication_key=authentication_key,
        broadcast_encryption_key=broadcast_encryption_key,
        allow_encryption_only=allow_encryption_only,
    )
    return UnprotectedApdu(opened.security_control, opened.invocation_counter, opened.apdu)


# ----------------------------------------------------------------------------- whole APDUs


_FORM_OF_FLAGS = {
    (False, False): CipherForm.GLOBAL,
    (False, True): CipherForm.DEDICATED,
    (True, False): CipherForm.GENERAL_GLOBAL,
    (True, True): CipherForm.GENERAL_DEDICATED,
}
# Service-specific forms: the plain APDU's tag -> the one-octet prefix that carries it.
_SERVICE_PREFIXES = {
    dedicated: {plain: bytes((pair[dedicated],)) for plain, pair in _CIPHERED_TAGS.items()}
    for dedicated in (False, True)
}
# The security controls that authenticate and that suite 0 supports: each has its AAD head.
_AUTHENTICATED_CONTROLS = tuple(
    value for value in range(256) if value & AUTHENTICATED and _CONTROL_REFUSALS[value] is None
)


def _opening_refusals(allow_encryption_only: bool, broadcast: bool) -> tuple[str | None, ...]:
    """Per security control octet: why an opening cipher with these settings refuses it."""
    refusals = list(_CONTROL_REFUSALS)
    for value in range(256):
        if refusals[value] is not None:
            continue
        if not value & AUTHENTICATED and not allow_encryption_only:
            refusals[value] = "unauthenticated (encryption-only) payload refused"
        elif value & BROADCAST_KEY and not broadcast:
            refusals[value] = "broadcast key requested but none is available"
    return tuple(refusals)


_OPENING_REFUSALS = {
    (allow, broadcast): _opening_refusals(allow, broadcast)
    for allow in (False, True)
    for broadcast in (False, True)
}


class FrameCipher:
    """Suite 0 protection of the APDUs exchanged with one peer under fixed keys: the one
    implementation of ciphering (``seal``) and deciphering (``open``).

    Everything that stays fixed for an association (system title sizes, keys prepared, the
    AAD heads, the outer tags and prefixes) is checked and built here once, so that each frame
    pays only for its own checks. ``local_title`` is the system title sealed frames are sent
    under (None: this cipher only opens); ``peer_title`` the sender's title of opened frames
    (None: taken from the general forms, which carry one). ``key`` serves the glo- forms,
    ``dedicated_key`` the ded- forms (None: refused), ``broadcast_key`` security controls with
    bit 6 (None: refused). Bad keys or titles raise EncodeError; an authentication key of the
    wrong size is refused only when a frame needs it (encrypt-only frames do not).
    """

    __slots__ = (
        "_aad_heads",
        "_broadcast_key",
        "_keys_by_tag",
        "_local_title",
        "_peer_title",
        "_refusals",
        "_sealing",
    )

    def __init__(
        self,
        *,
        local_title: bytes | None,
        peer_title: bytes | None,
        key: bytes,
        authentication_key: bytes,
        dedicated_key: bytes | None = None,
        broadcast_key: bytes | None = None,
        allow_encryption_only: bool = False,
    ) -> None:
        for title in (local_title, peer_title):
            if title is not None and len(title) != SYSTEM_TITLE_LENGTH:
                raise EncodeError(f"system title must be {SYSTEM_TITLE_LENGTH} bytes")
        global_key = prepared(bytes(key))
        ded_key = None if dedicated_key is None else prepared(bytes(dedicated_key))
        self._broadcast_key = None if broadcast_key is None else prepared(bytes(broadcast_key))
        self._local_title = local_title
        self._peer_title = peer_title
        self._refusals = _OPENING_REFUSALS[allow_encryption_only, broadcast_key is not None]
        self._aad_heads: dict[int, bytes] = (
            {value: bytes((value,)) + authentication_key for value in _AUTHENTICATED_CONTROLS}
            if len(authentication_key) == KEY_LENGTH
            else {}
        )
        self._keys_by_tag = {
            tag: ded_key if tag in _DEDICATED_TAGS else global_key for tag in _FORM_OF_TAG
        }
        # form -> (key, the general form's prefix, or None and the service-specific prefixes)
        self._sealing: dict[CipherForm, tuple[Suite0Key | None, bytes | None, dict[int, bytes]]]
        self._sealing = (
            {}
            if local_title is None
            else {
                CipherForm.GLOBAL: (global_key, None, _SERVICE_PREFIXES[False]),
                CipherForm.DEDICATED: (ded_key, None, _SERVICE_PREFIXES[True]),
                CipherForm.GENERAL_GLOBAL: (
                    global_key,
                    bytes((GENERAL_GLO_CIPHERING, SYSTEM_TITLE_LENGTH)) + local_title,
                    {},
                ),
                CipherForm.GENERAL_DEDICATED: (
                    ded_key,
                    bytes((GENERAL_DED_CIPHERING, SYSTEM_TITLE_LENGTH)) + local_title,
                    {},
                ),
            }
        )

    def seal(
        self, apdu: bytes, security_control: int, invocation_counter: int, form: CipherForm
    ) -> bytes:
        """Protect ``apdu`` under the sender counter ``invocation_counter`` and frame it in
        ``form``. Raises EncodeError (also for a dedicated form without a dedicated key)."""
        sealing = self._sealing.get(form)
        if sealing is None:
            raise EncodeError("no local system title: this cipher only opens frames")
        key, prefix, service_prefixes = sealing
        if not 0 <= security_control <= 0xFF:
            raise EncodeError(f"security control {security_control} is not one octet")
        refusal = _CONTROL_REFUSALS[security_control]
        if refusal is not None:
            raise EncodeError(refusal)
        if not 0 <= invocation_counter <= MAX_INVOCATION_COUNTER:
            raise EncodeError(f"invocation counter {invocation_counter} is not a 32-bit unsigned")
        if not apdu:
            raise EncodeError("nothing to protect: empty APDU")
        if prefix is None:
            prefix = service_prefixes.get(apdu[0])
            if prefix is None:
                raise EncodeError(f"APDU tag 0x{apdu[0]:02X} has no service-specific ciphered form")
        if security_control & BROADCAST_KEY:
            key = self._broadcast_key
        if key is None:
            raise EncodeError(
                "broadcast ciphering without a broadcast key"
                if security_control & BROADCAST_KEY
                else "dedicated ciphering without a dedicated key"
            )
        header = _SECURITY_HEADER.pack(security_control, invocation_counter)
        assert self._local_title is not None  # a sealing form exists only with one
        iv = self._local_title + header[1:]
        if security_control & AUTHENTICATED:
            aad = self._aad_heads.get(security_control)
            if aad is None:
                raise EncodeError(f"suite 0 authentication keys are {KEY_LENGTH} bytes")
            if security_control & ENCRYPTED:
                body = key.seal(iv, aad, apdu)
            else:
                body = apdu + key.seal(iv, aad + apdu, b"")
        else:
            body = key.counter_mode(iv, apdu)
        return b"".join((prefix, encode_length(HEADER_LENGTH + len(body)), header, body))

    def open(self, raw: bytes) -> DecipheredApdu:
        """Check and remove the protection of one ciphered APDU. Raises DecipheringFailed for
        anything malformed, unsupported or refused, AuthenticationFailed for a bad tag."""
        try:
            tag, carried_title, start = _unframe(raw)
        except DecodeError as exc:
            raise DecipheringFailed(f"malformed ciphered APDU: {exc}") from exc
        system_title = self._peer_title
        if carried_title:
            if system_title is None:
                if len(carried_title) != SYSTEM_TITLE_LENGTH:
                    raise DecipheringFailed(f"system title must be {SYSTEM_TITLE_LENGTH} bytes")
                system_title = carried_title
            elif carried_title != system_title:
                raise DecipheringFailed("system title differs from the associated peer's")
        elif system_title is None:
            raise DecipheringFailed("the sender's system title is unknown")
        body = start + HEADER_LENGTH
        if len(raw) < body:
            raise DecipheringFailed("truncated security header")
        security_control, invocation_counter = _SECURITY_HEADER.unpack_from(raw, start)
        refusal = self._refusals[security_control]
        if refusal is not None:
            raise DecipheringFailed(refusal)
        key = self._broadcast_key if security_control & BROADCAST_KEY else self._keys_by_tag[tag]
        if key is None:  # a broadcast key is there whenever the refusals let bit 6 through
            raise DecipheringFailed("dedicated ciphering without a dedicated key")
        iv = system_title + raw[start + 1 : body]
        if security_control & AUTHENTICATED:
            aad = self._aad_heads.get(security_control)
            if aad is None:
                raise DecipheringFailed(f"suite 0 keys are {KEY_LENGTH} bytes")
            tag_start = len(raw) - TAG_LENGTH
            if tag_start <= body:
                raise DecipheringFailed("payload too short for an APDU and its tag")
            if security_control & ENCRYPTED:
                apdu = key.open(iv, aad, raw[body:tag_start], raw[tag_start:])
            else:
                apdu = raw[body:tag_start]
                key.open(iv, aad + apdu, b"", raw[tag_start:])
        else:
            if len(raw) == body:
                raise DecipheringFailed("empty ciphertext")
            apdu = key.counter_mode(iv, raw[body:])
        # The outer tag is not authenticated: it must agree with the protected APDU inside.
        expected_plain_tag = _PLAIN_TAGS.get(tag)
        if expected_plain_tag is not None and apdu[0] != expected_plain_tag:
            raise DecipheringFailed(
                f"0x{tag:02X} must carry an APDU of tag 0x{expected_plain_tag:02X}, "
                f"not 0x{apdu[0]:02X}"
            )
        # tuple.__new__ skips the named tuple's Python-level __new__ (one call less per frame).
        return tuple.__new__(
            DecipheredApdu,
            (tag, system_title, security_control, invocation_counter, apdu, _FORM_OF_TAG[tag]),
        )


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
    """Protect ``apdu`` and frame it: glo-/ded- service-specific, or general-glo/-ded.

    ``encryption_key`` is the key the SC selects (global unicast, dedicated or broadcast)."""
    key = bytes(encryption_key)
    cipher = FrameCipher(
        local_title=bytes(system_title),
        peer_title=None,
        key=key,
        authentication_key=bytes(authentication_key),
        dedicated_key=key,
        broadcast_key=key,
    )
    form = _FORM_OF_FLAGS[general, dedicated]
    return cipher.seal(bytes(apdu), security_control, invocation_counter, form)


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
    one"). ``encryption_key`` is used whatever the tag (glo- or ded-): choose it with
    ``is_dedicated(ciphered[0])``.
    """
    key = bytes(encryption_key)
    try:
        cipher = FrameCipher(
            local_title=None,
            peer_title=None if system_title is None else bytes(system_title),
            key=key,
            authentication_key=bytes(authentication_key),
            dedicated_key=key,
            broadcast_key=(
                None if broadcast_encryption_key is None else bytes(broadcast_encryption_key)
            ),
            allow_encryption_only=allow_encryption_only,
        )
    except EncodeError as exc:
        raise DecipheringFailed(str(exc)) from exc
    return cipher.open(bytes(ciphered))


__all__ = [
    "AUTHENTICATED",
    "AUTHENTICATED_ENCRYPTED",
    "BROADCAST_KEY",
    "COMPRESSED",
    "ENCRYPTED",
    "GENERAL_DED_CIPHERING",
    "GENERAL_GLO_CIPHERING",
    "CipherForm",
    "DecipheredApdu",
    "FrameCipher",
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
