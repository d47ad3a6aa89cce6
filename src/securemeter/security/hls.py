"""Association authentication: no security, LLS (password) and HLS mechanism 5 (GMAC).

HLS-GMAC is four passes. The client's AARQ carries a challenge CtoS, the meter's AARE a
challenge StoC. In pass 3 the client sends f(StoC) computed with its own system title and
invocation counter; in pass 4 the meter answers f(CtoS) computed with its own. Each side
verifies the other's answer against the challenge it sent itself:

    f(challenge) = SC || IC || GMAC(EK, IV = ST || IC, AAD = SC || AK || challenge)

with SC = 0x10 (authentication only, suite 0) and the tag cut to 12 bytes: 17 bytes in all.

The mechanisms are strategies (``AuthenticationMechanismStrategy``) so the association code
asks a mechanism what it needs rather than branching on its number.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from securemeter.codec.identifiers import AuthenticationMechanism
from securemeter.errors import AuthenticationFailed, DecodeError, EncodeError, LocalProtocolError
from securemeter.security import _suite0
from securemeter.security.protect import MAX_INVOCATION_COUNTER, SYSTEM_TITLE_LENGTH

GMAC_SECURITY_CONTROL = 0x10  # authentication only, suite 0
GMAC_RESPONSE_LENGTH = 1 + 4 + _suite0.TAG_LENGTH
MIN_CHALLENGE_LENGTH = 8  # what a peer may send (Green Book: 8 to 64 octets)
MAX_CHALLENGE_LENGTH = 64
MIN_GENERATED_CHALLENGE_LENGTH = 16  # what we send: more than the minimum on purpose


RandomSource = Callable[[int], bytes]


# ----------------------------------------------------------------------------- functions


class GmacResponse(NamedTuple):
    """A parsed f(challenge): ``SC || IC || tag``."""

    security_control: int
    invocation_counter: int
    tag: bytes


def gmac_response(
    system_title: bytes,
    invocation_counter: int,
    encryption_key: bytes,
    authentication_key: bytes,
    challenge: bytes,
) -> bytes:
    """f(challenge) computed by the party whose system title and counter are given."""
    if len(system_title) != SYSTEM_TITLE_LENGTH:
        raise EncodeError(f"system title must be {SYSTEM_TITLE_LENGTH} bytes")
    if not 0 <= invocation_counter <= MAX_INVOCATION_COUNTER:
        raise EncodeError(f"invocation counter {invocation_counter} is not a 32-bit unsigned")
    if len(authentication_key) != _suite0.KEY_LENGTH:
        raise EncodeError(f"suite 0 authentication keys are {_suite0.KEY_LENGTH} bytes")
    header = bytes((GMAC_SECURITY_CONTROL,)) + invocation_counter.to_bytes(4, "big")
    aad = header[:1] + bytes(authentication_key) + bytes(challenge)
    return header + _suite0.gcm_seal(encryption_key, bytes(system_title) + header[1:], aad, b"")


def parse_gmac_response(raw: bytes) -> GmacResponse:
    """Split f(challenge); DecodeError unless it is 17 bytes with SC 0x10."""
    if len(raw) != GMAC_RESPONSE_LENGTH:
        raise DecodeError(f"a GMAC response is {GMAC_RESPONSE_LENGTH} bytes, got {len(raw)}")
    if raw[0] != GMAC_SECURITY_CONTROL:
        raise DecodeError(f"GMAC response security control 0x{raw[0]:02X} is not 0x10")
    return GmacResponse(raw[0], int.from_bytes(raw[1:5], "big"), bytes(raw[5:]))


def verify_gmac_response(
    response: bytes,
    system_title: bytes,
    encryption_key: bytes,
    authentication_key: bytes,
    challenge: bytes,
) -> int:
    """Check the peer's f(challenge) over our own ``challenge``; return the IC it carries.

    ``system_title`` is the peer's. Raises AuthenticationFailed for a malformed or wrong
    response, or a peer system title that is not 8 bytes (it came from the peer's AARQ/AARE).
    The caller applies its replay rule to the returned counter.
    """
    try:
        parsed = parse_gmac_response(response)
    except DecodeError as exc:
        raise AuthenticationFailed(f"malformed GMAC response: {exc}") from exc
    if len(system_title) != SYSTEM_TITLE_LENGTH:
        raise AuthenticationFailed(f"peer system title is not {SYSTEM_TITLE_LENGTH} bytes")
    expected = gmac_response(
        system_title, parsed.invocation_counter, encryption_key, authentication_key, challenge
    )
    if not hmac.compare_digest(expected, bytes(response)):
        raise AuthenticationFailed("GMAC response does not verify")
    return parsed.invocation_counter


def make_challenge(length: int = 32, *, random_source: RandomSource = os.urandom) -> bytes:
    """A fresh challenge (CtoS or StoC) of ``length`` random bytes, 16 to 64."""
    if not MIN_GENERATED_CHALLENGE_LENGTH <= length <= MAX_CHALLENGE_LENGTH:
        raise EncodeError(
            f"challenge length {length} is outside "
            f"{MIN_GENERATED_CHALLENGE_LENGTH}..{MAX_CHALLENGE_LENGTH}"
        )
    challenge = random_source(length)
    if not isinstance(challenge, bytes) or len(challenge) != length:
        raise EncodeError(f"random source did not return {length} bytes")
    return challenge


def verify_password(expected: bytes, received: bytes) -> bool:
    """LLS password check in constant time; an empty configured password never matches."""
    if not expected:
        return False
    return hmac.compare_digest(bytes(expected), bytes(received))


# ----------------------------------------------------------------------------- strategies


class AuthenticationMechanismStrategy(Protocol):
    """What an association needs from an authentication mechanism, on either side."""

    @property
    def mechanism(self) -> AuthenticationMechanism:
        """The mechanism-name the AARQ and AARE carry."""
        ...

    @property
    def requires_challenge_exchange(self) -> bool:
        """Whether passes 3 and 4 (reply_to_HLS_authentication) follow the AARE."""
        ...

    def calling_authentication_value(self) -> bytes | None:
        """Client side: what the AARQ carries (None, the password, or a fresh CtoS)."""
        ...

    def check_calling_authentication_value(self, value: bytes | None) -> None:
        """Meter side: accept the AARQ value or raise AuthenticationFailed."""
        ...

    def responding_authentication_value(self) -> bytes | None:
        """Meter side: what the AARE carries (None, or a fresh StoC)."""
        ...

    def check_responding_authentication_value(self, value: bytes | None) -> None:
        """Client side: accept the AARE value or raise AuthenticationFailed."""
        ...

    def process_challenge(
        self, challenge: bytes, *, system_title: bytes, invocation_counter: int
    ) -> bytes:
        """f(challenge) with our own system title and counter (pass 3 client, pass 4 meter).

        ``invocation_counter`` must be freshly reserved from the same counter as ciphered
        APDUs: with the system title it is a GCM nonce under the encryption key.
        """
        ...

    def verify_processed_challenge(
        self, response: bytes, *, challenge: bytes, system_title: bytes
    ) -> int:
        """Verify the peer's f(our challenge); return its counter or raise AuthenticationFailed."""
        ...


class _NoChallengeExchange:
    """Passes 3 and 4 exist only for HLS: calling them otherwise is a local protocol error."""

    __slots__ = ()

    @property
    def requires_challenge_exchange(self) -> bool:
        return False

    def process_challenge(
        self, challenge: bytes, *, system_title: bytes, invocation_counter: int
    ) -> bytes:
        raise LocalProtocolError(f"{type(self).__name__} has no challenge exchange")

    def verify_processed_challenge(
        self, response: bytes, *, challenge: bytes, system_title: bytes
    ) -> int:
        raise LocalProtocolError(f"{type(self).__name__} has no challenge exchange")

    def responding_authentication_value(self) -> bytes | None:
        return None

    def check_responding_authentication_value(self, value: bytes | None) -> None:
        if value is not None:
            raise AuthenticationFailed("unexpected responding-authentication-value")


@dataclass(frozen=True, slots=True)
class NoAuthentication(_NoChallengeExchange):
    """Mechanism 0, lowest level security: nothing is checked."""

    @property
    def mechanism(self) -> AuthenticationMechanism:
        return AuthenticationMechanism.NONE

    def calling_authentication_value(self) -> bytes | None:
        return None

    def check_calling_authentication_value(self, value: bytes | None) -> None:
        # A value with mechanism 0 means the client thinks it authenticates: say it does not.
        if value is not None:
            raise AuthenticationFailed("authentication value sent with no-security mechanism")


# eq=False on the secret-holding strategies: secrets are never compared with ``==``.
@dataclass(frozen=True, slots=True, eq=False)
class LowLevelSecurity(_NoChallengeExchange):
    """Mechanism 1: the AARQ carries the password itself."""

    password: bytes = field(repr=False)

    @property
    def mechanism(self) -> AuthenticationMechanism:
        return AuthenticationMechanism.LOW

    def calling_authentication_value(self) -> bytes | None:
        return self.password

    def check_calling_authentication_value(self, value: bytes | None) -> None:
        if value is None or not verify_password(self.password, value):
            raise AuthenticationFailed("LLS password does not match")


@dataclass(frozen=True, slots=True, eq=False)
class HighLevelSecurityGmac:
    """Mechanism 5: challenges in the AARQ/AARE, GMAC answers in passes 3 and 4."""

    encryption_key: bytes = field(repr=False)
    authentication_key: bytes = field(repr=False)
    challenge_length: int = 32
    random_source: RandomSource = field(default=os.urandom, repr=False)

    def __post_init__(self) -> None:
        if len(self.encryption_key) != _suite0.KEY_LENGTH:
            raise EncodeError(f"suite 0 encryption keys are {_suite0.KEY_LENGTH} bytes")
        if len(self.authentication_key) != _suite0.KEY_LENGTH:
            raise EncodeError(f"suite 0 authentication keys are {_suite0.KEY_LENGTH} bytes")
        if not MIN_GENERATED_CHALLENGE_LENGTH <= self.challenge_length <= MAX_CHALLENGE_LENGTH:
            raise EncodeError(f"challenge length {self.challenge_length} is out of range")

    @property
    def mechanism(self) -> AuthenticationMechanism:
        return AuthenticationMechanism.HIGH_GMAC

    @property
    def requires_challenge_exchange(self) -> bool:
        return True

    def calling_authentication_value(self) -> bytes | None:
        return make_challenge(self.challenge_length, random_source=self.random_source)

    def responding_authentication_value(self) -> bytes | None:
        return make_challenge(self.challenge_length, random_source=self.random_source)

    def check_calling_authentication_value(self, value: bytes | None) -> None:
        _check_peer_challenge(value)

    def check_responding_authentication_value(self, value: bytes | None) -> None:
        _check_peer_challenge(value)

    def process_challenge(
        self, challenge: bytes, *, system_title: bytes, invocation_counter: int
    ) -> bytes:
        return gmac_response(
            system_title,
            invocation_counter,
            self.encryption_key,
            self.authentication_key,
            challenge,
        )

    def verify_processed_challenge(
        self, response: bytes, *, challenge: bytes, system_title: bytes
    ) -> int:
        return verify_gmac_response(
            response, system_title, self.encryption_key, self.authentication_key, challenge
        )


def _check_peer_challenge(value: bytes | None) -> None:
    if value is None:
        raise AuthenticationFailed("HLS challenge missing")
    if not MIN_CHALLENGE_LENGTH <= len(value) <= MAX_CHALLENGE_LENGTH:
        raise AuthenticationFailed(
            f"HLS challenge of {len(value)} bytes is outside "
            f"{MIN_CHALLENGE_LENGTH}..{MAX_CHALLENGE_LENGTH}"
        )


__all__ = [
    "GMAC_RESPONSE_LENGTH",
    "GMAC_SECURITY_CONTROL",
    "AuthenticationMechanism",
    "AuthenticationMechanismStrategy",
    "GmacResponse",
    "HighLevelSecurityGmac",
    "LowLevelSecurity",
    "NoAuthentication",
    "gmac_response",
    "make_challenge",
    "parse_gmac_response",
    "verify_gmac_response",
    "verify_password",
]
