"""DLMS identifiers shared by every layer: application contexts, authentication mechanisms,
security suites and the security policy bits.

They live at the bottom so that the APDUs, the security functions and the COSEM objects
(which may import only the codec) use one definition each.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag


class ApplicationContextName(IntEnum):
    """Last arc of the application-context-name OID 2.16.756.5.8.1.x."""

    LOGICAL_NAME = 1
    SHORT_NAME = 2
    LOGICAL_NAME_WITH_CIPHERING = 3
    SHORT_NAME_WITH_CIPHERING = 4


class AuthenticationMechanism(IntEnum):
    """Last arc of the mechanism-name OID 2.16.756.5.8.2.x."""

    NONE = 0
    LOW = 1
    HIGH = 2
    HIGH_MD5 = 3
    HIGH_SHA1 = 4
    HIGH_GMAC = 5
    HIGH_SHA256 = 6
    HIGH_ECDSA = 7


class SecuritySuite(IntEnum):
    AES_GCM_128 = 0
    ECDH_ECDSA_AES_GCM_128_SHA_256 = 1
    ECDH_ECDSA_AES_GCM_256_SHA_384 = 2


class SecurityPolicy(IntFlag):
    """Security setup security_policy, version 1 bit flags."""

    NOTHING = 0
    AUTHENTICATED_REQUEST = 0x04
    ENCRYPTED_REQUEST = 0x08
    DIGITALLY_SIGNED_REQUEST = 0x10
    AUTHENTICATED_RESPONSE = 0x20
    ENCRYPTED_RESPONSE = 0x40
    DIGITALLY_SIGNED_RESPONSE = 0x80
