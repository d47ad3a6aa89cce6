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


@functools.lru_cache(maxsize=_CACHED_KEYS)
def _aes_gcm(key: bytes) -> AESGCM:
    # Building AESGCM runs the AES key schedule: reuse it for every frame under the same key.
    return AESGCM(key)


def clear_key_cache() -> None:
    """Drop every cached cipher object (call after a key change so old keys are not kept)."""
    _aes_gcm.cache_clear()


def _cipher_for(key: bytes, iv: bytes) -> AESGCM:
    if len(key) != KEY_LENGTH:
        raise EncodeError(f"suite 0 keys are {KEY_LENGTH} bytes, got {len(key)}")
    if len(iv) != IV_LENGTH:
        raise EncodeError(f"suite 0 IVs are {IV_LENGTH} bytes, got {len(iv)}")
    return _aes_gcm(bytes(key))


def gcm_seal(key: bytes, iv: bytes, aad: bytes, plaintext: bytes) -> tuple[bytes, bytes]:
    """Encrypt and authenticate: return (ciphertext, 12-byte tag)."""
    sealed = _cipher_for(key, iv).encrypt(iv, plaintext, aad)
    return sealed[:-_FULL_TAG_LENGTH], sealed[-_FULL_TAG_LENGTH : -_FULL_TAG_LENGTH + TAG_LENGTH]


def gcm_open(key: bytes, iv: bytes, aad: bytes, ciphertext: bytes, tag: bytes) -> bytes:
    """Verify the 12-byte tag and decrypt; raise AuthenticationFailed when it does not verify."""
    cipher = _cipher_for(key, iv)
    if len(tag) != TAG_LENGTH:
        raise AuthenticationFailed(f"suite 0 tags are {TAG_LENGTH} bytes, got {len(tag)}")
    size = len(ciphertext)
    plaintext = cipher.encrypt(iv, ciphertext, b"")[:size] if size else b""
    expected = cipher.encrypt(iv, plaintext, aad)[size : size + TAG_LENGTH]
    # Looked up at call time so that tests can observe that the constant-time compare is used.
    if not hmac.compare_digest(expected, tag):
        raise AuthenticationFailed("GCM tag does not verify")
    return plaintext


def gcm_encrypt_only(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    """Security control 0x20: the GCM ciphertext (AES-CTR from IV || 00000002), no tag."""
    return _cipher_for(key, iv).encrypt(iv, plaintext, b"")[: len(plaintext)]


def gcm_decrypt_only(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    """Inverse of gcm_encrypt_only. Nothing is authenticated: the caller's policy must allow it."""
    return _cipher_for(key, iv).encrypt(iv, ciphertext, b"")[: len(ciphertext)]
