"""Security setup ``security_policy`` (version 1 bit flags) and what it demands of APDUs.

Digital signatures (general-signing) are not implemented: a policy demanding signed requests
is never satisfied, and one demanding signed responses cannot be served.
"""

from __future__ import annotations

import functools

from securemeter.codec.identifiers import SecurityPolicy as SecurityPolicy
from securemeter.errors import DecodeError, EncodeError
from securemeter.security.protect import SecurityControl

MAX_SUITE = 2


_DEFINED_BITS = 0xFC  # bits 0 and 1 are reserved in version 1


def decode_security_policy(value: int) -> SecurityPolicy:
    """The policy an attribute value or security_activate parameter holds; DecodeError if
    it is not one octet or sets a reserved bit."""
    if not 0 <= value <= 0xFF or value & ~_DEFINED_BITS:
        raise DecodeError(f"security policy 0x{value:X} sets reserved bits")
    return SecurityPolicy(value)


def _control(security_control: int | SecurityControl) -> SecurityControl:
    if isinstance(security_control, SecurityControl):
        return security_control
    return SecurityControl.from_byte(security_control)


def request_satisfies(
    policy: SecurityPolicy, security_control: int | SecurityControl | None
) -> bool:
    """Whether a request received with ``security_control`` (None: unprotected) carries all
    the protection ``policy`` requires of requests."""
    return _request_satisfies(policy, security_control)


# Every ciphered request asks this; a few policies and controls ever occur (bench/ciphered.py).
@functools.lru_cache(maxsize=1024)
def _request_satisfies(
    policy: SecurityPolicy, security_control: int | SecurityControl | None
) -> bool:
    if SecurityPolicy.DIGITALLY_SIGNED_REQUEST in policy:
        return False
    wants_authentication = SecurityPolicy.AUTHENTICATED_REQUEST in policy
    wants_encryption = SecurityPolicy.ENCRYPTED_REQUEST in policy
    if security_control is None:
        return not (wants_authentication or wants_encryption)
    control = _control(security_control)
    if wants_authentication and not control.authenticated:
        return False
    return not (wants_encryption and not control.encrypted)


def response_security_control(policy: SecurityPolicy, suite: int = 0) -> int | None:
    """The security control byte responses must use, or None when they may go unprotected.

    Raises EncodeError for a signed-response policy (unsupported) or an unknown suite.
    """
    if not 0 <= suite <= MAX_SUITE:
        raise EncodeError(f"security suite {suite} does not exist")
    if SecurityPolicy.DIGITALLY_SIGNED_RESPONSE in policy:
        raise EncodeError("digitally signed responses are not supported")
    control = 0
    if SecurityPolicy.AUTHENTICATED_RESPONSE in policy:
        control |= SecurityControl.AUTHENTICATED
    if SecurityPolicy.ENCRYPTED_RESPONSE in policy:
        control |= SecurityControl.ENCRYPTED
    return control | suite if control else None


def is_strengthening(old: SecurityPolicy, new: SecurityPolicy) -> bool:
    """Whether ``new`` keeps every protection of ``old`` (so security_activate may apply it).

    Equal policies count: activating the same policy again weakens nothing.
    """
    return (int(new) & int(old)) == int(old)


__all__ = [
    "SecurityPolicy",
    "decode_security_policy",
    "is_strengthening",
    "request_satisfies",
    "response_security_control",
]
