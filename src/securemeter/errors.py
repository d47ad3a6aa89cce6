"""The package's exception hierarchy: one place, so that every layer maps its failures here.

Library exceptions (``cryptography.exceptions.InvalidTag``, ``struct.error`` ...) never escape
a securemeter module: each boundary translates them into one of these.
"""

from __future__ import annotations


class SecuremeterError(Exception):
    """Base of every error the package raises on purpose."""


class DecodeError(SecuremeterError, ValueError):
    """Bytes that do not decode: truncated, malformed, oversized or of an unknown tag.

    The only exception a decoder (codec, apdu, framing) may raise for bad input.
    """


class EncodeError(SecuremeterError, ValueError):
    """A value that cannot be encoded (out of range, wrong type)."""


class ProtocolError(SecuremeterError):
    """A protocol rule was broken (h11 style: local or remote)."""


class LocalProtocolError(ProtocolError):
    """We tried to do something the protocol does not allow in the current state."""


class RemoteProtocolError(ProtocolError):
    """The peer did something the protocol does not allow."""


class SecurityError(SecuremeterError):
    """A security check failed. Subclasses say which; details go to logs, never to the peer."""


class AuthenticationFailed(SecurityError):
    """A tag, GMAC, password or f(StoC) did not verify."""


class DecipheringFailed(SecurityError):
    """A ciphered APDU could not be deciphered (wrong key, bad tag, malformed header)."""


class ReplayDetected(SecurityError):
    """An invocation counter was not greater than the last accepted one."""


class CounterExhausted(SecurityError):
    """An invocation counter reached 2**32-1: the key must be changed."""


class StorageError(SecuremeterError):
    """The persistent store failed or refused (locked, corrupt, rolled back)."""
