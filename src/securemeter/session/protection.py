"""Ciphering and deciphering of whole xDLMS APDUs for one association (suite 0).

The association's ``SecurityContext`` holds keys, system titles and the two counter hooks.
Counters are the application's business (they must be durable, see docs/DURABILITY.md): the
session only calls ``accept_incoming`` after a frame authenticated and ``next_outgoing``
before it ciphers one, so it can never reuse a nonce on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from securemeter.errors import DecipheringFailed
from securemeter.security.protect import (
    CipherForm,
    DecipheredApdu,
    open_apdu,
    prepared,
    seal_apdu,
)


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


def decipher(raw: bytes, context: SecurityContext) -> DecipheredApdu:
    """Authenticate (where the SC says so) and decipher one ciphered APDU.

    Raises DecipheringFailed or AuthenticationFailed. The caller records the counter
    (``context.accept_incoming``): at once for an authenticated frame, and for an
    encrypt-only frame only after the APDU inside decoded.
    """
    if context.peer_system_title is None:
        raise DecipheringFailed("no peer system title known for this association")
    dedicated_key = context.dedicated_key
    deciphered = open_apdu(
        raw,
        context.peer_system_title,
        prepared(context.encryption_key),
        None if dedicated_key is None else prepared(dedicated_key),
        context.authentication_key,
        None,
        True,
    )
    if deciphered.security_control & 0x0F != context.security_suite:
        raise DecipheringFailed("security suite differs from the association's")
    return deciphered


def encipher(
    apdu: bytes, context: SecurityContext, form: CipherForm, security_control: int
) -> bytes:
    """Cipher one APDU under the next outgoing counter, in the given form."""
    key = context.encryption_key
    dedicated = form.dedicated
    if dedicated:
        if context.dedicated_key is None:
            raise DecipheringFailed("dedicated ciphering without a dedicated key")
        key = context.dedicated_key
    return seal_apdu(
        apdu,
        security_control,
        context.local_system_title,
        context.next_outgoing(),
        prepared(key),
        context.authentication_key,
        form.general,
        dedicated,
    )


def ciphering_overhead(form: CipherForm, security_control: int) -> int:
    """The most octets ciphering adds to an APDU (for block sizing)."""
    tag_length = 12 if security_control & 0x10 else 0
    overhead = 1 + 3 + 5 + tag_length  # tag, length (up to 3 octets), SC + IC, GCM tag
    if form.general:
        overhead += 9  # system title and its length
    return overhead


# The most any form and security control add (answers shorter than the PDU size minus this
# fit without working out the exact overhead).
MAX_CIPHERING_OVERHEAD = ciphering_overhead(CipherForm.GENERAL_DEDICATED, 0x30)


__all__ = [
    "MAX_CIPHERING_OVERHEAD",
    "CipherForm",
    "DecipheredApdu",
    "SecurityContext",
    "ciphering_overhead",
    "decipher",
    "encipher",
]
