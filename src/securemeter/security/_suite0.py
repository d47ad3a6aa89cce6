"""AES-GCM-128 for DLMS security suite 0: the only module that calls a cipher.

Suite 0 uses 16-byte keys, a 12-byte IV (system title || invocation counter) and a 12-byte tag.

pyca's ``AESGCM`` is about four times faster per call than a ``Cipher(AES, GCM)`` context
(bench/crypto_gcm.py) but only produces and verifies 16-byte tags. The functions here therefore
use ``AESGCM`` only:

* sealing keeps the first 12 bytes of the 16-byte tag (a truncated GCM tag is its prefix);
* opening recovers the plaintext with the GCM keystream (``AESGCM.encrypt`` over the ciphertext
  with no AAD: GCM encryption and decryption are the same counter-mode XOR), seals that
  plaintext again with the real AAD, which reproduces the received ciphertext and so yields the
  GCM tag over (AAD, ciphertext), and compares the first 12 bytes in constant time. The
  plaintext is returned only when the tags match.

tests/security/test_security_suite0.py proves both against the ``Cipher``/``GCM`` reference on
known-answer vectors and on random (also tampered) inputs.
"""

from __future__ import annotations

import functools
import hmac

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from securemeter.errors import AuthenticationFailed, EncodeError

KEY_LENGTH = 16
IV_LENGTH = 12
TAG_LENGTH = 12
_FULL_TAG_LENGTH = 16  # what AESGCM appends; suite 0 keeps its first TAG_LENGTH bytes
_CACHED_KEYS = 32  # a meter holds a handful of keys; a head-end rotates through its fleet


class Suite0Key:
    """One suite 0 key with its AES key schedule built once (``prepared`` caches them)."""

    __slots__ = ("_gcm",)

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_LENGTH:
            raise EncodeError(f"suite 0 keys are {KEY_LENGTH} bytes, got {len(key)}")
        self._gcm = AESGCM(bytes(key))

    def seal(self, iv: bytes, aad: bytes, plaintext: bytes) -> bytes:
        """Encrypt and authenticate: ciphertext || 12-byte tag (the DLMS payload order)."""
        return self._gcm.encrypt(iv, plaintext, aad)[: TAG_LENGTH - _FULL_TAG_LENGTH]

    def open(self, iv: bytes, aad: bytes, ciphertext: bytes, tag: bytes) -> bytes:
        """Verify the 12-byte tag and decrypt; AuthenticationFailed when it does not verify."""
        if len(tag) != TAG_LENGTH:
            raise AuthenticationFailed(f"suite 0 tags are {TAG_LENGTH} bytes, got {len(tag)}")
        gcm = self._gcm
        size = len(ciphertext)
        plaintext = gcm.encrypt(iv, ciphertext, b"")[:size] if size else b""
        expected = gcm.encrypt(iv, plaintext, aad)[size : size + TAG_LENGTH]
        # Looked up at call time so that tests can observe that the constant-time compare is used.
        if not hmac.compare_digest(expected, tag):
            raise AuthenticationFailed("GCM tag does not verify")
        return plaintext

    def counter_mode(self, iv: bytes, data: bytes) -> bytes:
        """Security control 0x20 both ways: the GCM keystream (AES-CTR from IV || 00000002)
        XORed over ``data``, no tag."""
        return self._gcm.encrypt(iv, data, b"")[: len(data)]


@functools.lru_cache(maxsize=_CACHED_KEYS)
def prepared(key: bytes) -> Suite0Key:
    """The cached ``Suite0Key`` of ``key`` (bytes: it is the cache key; EncodeError for a
    wrong size). A hit costs no Python call: this runs for every frame."""
    return Suite0Key(key)


def clear_key_cache() -> None:
    """Drop every cached cipher object (call after a key change so old keys are not kept)."""
    prepared.cache_clear()


def _check_iv(iv: bytes) -> None:
    if len(iv) != IV_LENGTH:
        raise EncodeError(f"suite 0 IVs are {IV_LENGTH} bytes, got {len(iv)}")


def gcm_seal(key: bytes, iv: bytes, aad: bytes, plaintext: bytes) -> bytes:
    """Encrypt and authenticate: return ciphertext || 12-byte tag."""
    _check_iv(iv)
    return prepared(bytes(key)).seal(iv, aad, plaintext)


def gcm_open(key: bytes, iv: bytes, aad: bytes, ciphertext: bytes, tag: bytes) -> bytes:
    """Verify the 12-byte tag and decrypt; raise AuthenticationFailed when it does not verify."""
    _check_iv(iv)
    return prepared(bytes(key)).open(iv, aad, ciphertext, tag)


def gcm_encrypt_only(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    """Security control 0x20: the GCM ciphertext (AES-CTR from IV || 00000002), no tag."""
    _check_iv(iv)
    return prepared(bytes(key)).counter_mode(iv, plaintext)


def gcm_decrypt_only(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    """Inverse of gcm_encrypt_only. Nothing is authenticated: the caller's policy must allow it."""
    _check_iv(iv)
    return prepared(bytes(key)).counter_mode(iv, ciphertext)
