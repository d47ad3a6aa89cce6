"""Ciphering and deciphering of whole xDLMS APDUs for one association (suite 0).

The association's ``SecurityContext`` holds keys, system titles and the two counter hooks.
Counters are the application's business (they must be durable, see docs/DURABILITY.md): the
session only calls ``accept_incoming`` after a frame authenticated and ``next_outgoing``
before it ciphers one, so it can never reuse a nonce on its own.
"""

from __future__ import annotations

from collections.abc import Callable

from securemeter.errors import DecipheringFailed, EncodeError
from securemeter.security.protect import SUPPORTED_SUITE, CipherForm, DecipheredApdu, FrameCipher


class SecurityContext:
    """Keys, system titles and counter hooks of one association.

    The peer's system title and the dedicated key are learnt while associating; the keys and
    the local title are fixed. The association's ``FrameCipher`` is built on first use and
    again after either of the two changes.
    """

    __slots__ = (
        "_authentication_key",
        "_cipher",
        "_dedicated_key",
        "_encryption_key",
        "_local_system_title",
        "_peer_system_title",
        "_security_suite",
        "accept_incoming",
        "last_incoming",
        "next_outgoing",
    )

    def __init__(
        self,
        *,
        local_system_title: bytes,
        peer_system_title: bytes | None,
        encryption_key: bytes,
        authentication_key: bytes,
        accept_incoming: Callable[[int], None],
        last_incoming: Callable[[], int | None],
        next_outgoing: Callable[[], int],
        dedicated_key: bytes | None = None,
        security_suite: int = 0,
    ) -> None:
        self._local_system_title = local_system_title
        self._peer_system_title = peer_system_title
        self._encryption_key = encryption_key
        self._authentication_key = authentication_key
        self.accept_incoming = accept_incoming  # raises ReplayDetected; records the counter
        self.last_incoming = last_incoming  # the last accepted counter, None before any
        self.next_outgoing = next_outgoing  # raises CounterExhausted; never repeats a value
        self._dedicated_key = dedicated_key
        self._security_suite = security_suite
        self._cipher: FrameCipher | None = None

    @property
    def local_system_title(self) -> bytes:
        return self._local_system_title

    @property
    def encryption_key(self) -> bytes:
        return self._encryption_key

    @property
    def authentication_key(self) -> bytes:
        return self._authentication_key

    @property
    def security_suite(self) -> int:
        return self._security_suite

    @property
    def peer_system_title(self) -> bytes | None:
        return self._peer_system_title

    @peer_system_title.setter
    def peer_system_title(self, title: bytes | None) -> None:
        self._peer_system_title = title
        self._cipher = None

    @property
    def dedicated_key(self) -> bytes | None:
        return self._dedicated_key

    @dedicated_key.setter
    def dedicated_key(self, key: bytes | None) -> None:
        self._dedicated_key = key
        self._cipher = None

    @property
    def cipher(self) -> FrameCipher:
        """The association's FrameCipher (DecipheringFailed: suite or keys unusable)."""
        cipher = self._cipher
        if cipher is None:
            if self._security_suite != SUPPORTED_SUITE:
                raise DecipheringFailed(f"security suite {self._security_suite} is not supported")
            try:
                cipher = FrameCipher(
                    local_title=self._local_system_title,
                    peer_title=self._peer_system_title,
                    key=self._encryption_key,
                    authentication_key=self._authentication_key,
                    dedicated_key=self._dedicated_key,
                    allow_encryption_only=True,  # the caller's policy check decides
                )
            except EncodeError as exc:
                raise DecipheringFailed(str(exc)) from exc
            self._cipher = cipher
        return cipher


def decipher(raw: bytes, context: SecurityContext) -> DecipheredApdu:
    """Authenticate (where the SC says so) and decipher one ciphered APDU.

    Raises DecipheringFailed or AuthenticationFailed. The caller records the counter
    (``context.accept_incoming``): at once for an authenticated frame, and for an
    encrypt-only frame only after the APDU inside decoded.
    """
    if context.peer_system_title is None:
        raise DecipheringFailed("no peer system title known for this association")
    return context.cipher.open(raw)


def encipher(
    apdu: bytes, context: SecurityContext, form: CipherForm, security_control: int
) -> bytes:
    """Cipher one APDU under the next outgoing counter, in the given form (EncodeError when
    the form needs a dedicated key the association does not have)."""
    return context.cipher.seal(apdu, security_control, context.next_outgoing(), form)


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
