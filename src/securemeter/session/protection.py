"""Ciphering and deciphering of whole xDLMS APDUs for one association (suite 0).

The association's ``SecurityContext`` holds keys, system titles and the two counter hooks.
Counters are the application's business (they must be durable, see docs/DURABILITY.md): the
session only calls ``accept_incoming`` after a frame authenticated and ``next_outgoing``
before it ciphers one, so it can never reuse a nonce on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from securemeter.errors import DecipheringFailed
from securemeter.security.protect import (
    GENERAL_DED_CIPHERING,
    GENERAL_GLO_CIPHERING,
    cipher_apdu,
    decipher_apdu,
    is_dedicated,
)


class CipherForm(Enum):
    """How an APDU was (or is to be) ciphered; the meter answers in the client's form."""

    GLOBAL = "glo"  # service-specific, global unicast key
    DEDICATED = "ded"  # service-specific, dedicated key of the association
    GENERAL_GLOBAL = "general-glo"
    GENERAL_DEDICATED = "general-ded"

    @property
    def dedicated(self) -> bool:
        return self in (CipherForm.DEDICATED, CipherForm.GENERAL_DEDICATED)


@dataclass(slots=True)
class SecurityContext:
    """Keys, system titles and counter hooks of one association."""

    local_system_title: bytes
    peer_system_title: bytes | None
    encryption_key: bytes
    authentication_key: bytes
    accept_incoming: Callable[[int], None]  # raises ReplayDetected; records the counter
    last_incoming: Callable[[], int | None]  # the last accepted counter, None before any
    next_outgoing: Callable[[], int]  # raises CounterExhausted; never repeats a value
    dedicated_key: bytes | None = None
    security_suite: int = 0


@dataclass(frozen=True, slots=True)
class Deciphered:
    apdu: bytes
    security_control: int
    invocation_counter: int
    form: CipherForm


def decipher(raw: bytes, context: SecurityContext) -> Deciphered:
    """Authenticate (where the SC says so) and decipher one ciphered APDU.

    Raises DecipheringFailed or AuthenticationFailed. The caller records the counter
    (``context.accept_incoming``): at once for an authenticated frame, and for an
    encrypt-only frame only after the APDU inside decoded.
    """
    if context.peer_system_title is None:
        raise DecipheringFailed("no peer system title known for this association")
    dedicated = bool(raw) and is_dedicated(raw[0])
    if dedicated and context.dedicated_key is None:
        raise DecipheringFailed("dedicated ciphering without a dedicated key")
    deciphered = decipher_apdu(
        raw,
        system_title=context.peer_system_title,
        encryption_key=context.dedicated_key
        if dedicated and context.dedicated_key
        else context.encryption_key,
        authentication_key=context.authentication_key,
        allow_encryption_only=True,
    )
    if deciphered.security_control & 0x0F != context.security_suite:
        raise DecipheringFailed("security suite differs from the association's")
    general = deciphered.tag in (GENERAL_GLO_CIPHERING, GENERAL_DED_CIPHERING)
    form = _FORMS[(general, dedicated)]
    return Deciphered(
        deciphered.apdu, deciphered.security_control, deciphered.invocation_counter, form
    )


def encipher(
    apdu: bytes, context: SecurityContext, form: CipherForm, security_control: int
) -> bytes:
    """Cipher one APDU under the next outgoing counter, in the given form."""
    key = context.encryption_key
    if form.dedicated:
        if context.dedicated_key is None:
            raise DecipheringFailed("dedicated ciphering without a dedicated key")
        key = context.dedicated_key
    return cipher_apdu(
        apdu,
        security_control=security_control,
        system_title=context.local_system_title,
        invocation_counter=context.next_outgoing(),
        encryption_key=key,
        authentication_key=context.authentication_key,
        general=form in (CipherForm.GENERAL_GLOBAL, CipherForm.GENERAL_DEDICATED),
        dedicated=form.dedicated,
    )


def ciphering_overhead(form: CipherForm, security_control: int) -> int:
    """The most octets ciphering adds to an APDU (for block sizing)."""
    tag_length = 12 if security_control & 0x10 else 0
    overhead = 1 + 3 + 5 + tag_length  # tag, length (up to 3 octets), SC + IC, GCM tag
    if form in (CipherForm.GENERAL_GLOBAL, CipherForm.GENERAL_DEDICATED):
        overhead += 9  # system title and its length
    return overhead


_FORMS = {
    (False, False): CipherForm.GLOBAL,
    (False, True): CipherForm.DEDICATED,
    (True, False): CipherForm.GENERAL_GLOBAL,
    (True, True): CipherForm.GENERAL_DEDICATED,
}
