"""Sealers: what the store does to secret blobs before they touch disk."""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from securemeter.errors import StorageError

_AES_GCM_FORMAT = 0x01
_NONCE_SIZE = 12
_TAG_SIZE = 16


def seal_context(kind: str, *parts: str) -> bytes:
    """An unambiguous context from a blob's kind and place (length-prefixed parts)."""
    encoded = bytearray(kind.encode())
    for part in parts:
        raw = part.encode()
        encoded += len(raw).to_bytes(4, "big") + raw
    return bytes(encoded)


class PlainSealer:
    """NO CONFIDENTIALITY AND NO INTEGRITY: stores blobs exactly as given.

    Anyone who can read the state directory reads every key in clear. It exists so that a
    development meter runs without a sealing key; the perimeter work supplies a real sealer
    (AesGcmSealer with a key kept outside the state directory, or a hardware-backed one).
    """

    provides_confidentiality = False

    def seal(self, plaintext: bytes, *, context: bytes) -> bytes:
        return bytes(plaintext)

    def unseal(self, sealed: bytes, *, context: bytes) -> bytes:
        return bytes(sealed)


class AesGcmSealer:
    """AES-GCM with a random 96-bit nonce per seal and the context as associated data.

    Sealed form: format byte (1) || nonce (12) || ciphertext || tag (16). Random nonces are
    safe here: a store seals far fewer than 2**32 blobs under one key.
    """

    provides_confidentiality = True

    def __init__(self, key: bytes) -> None:
        if len(key) not in (16, 24, 32):
            raise ValueError(f"an AES key is 16, 24 or 32 bytes, got {len(key)}")
        self._aead = AESGCM(bytes(key))

    def seal(self, plaintext: bytes, *, context: bytes) -> bytes:
        nonce = os.urandom(_NONCE_SIZE)
        header = bytes((_AES_GCM_FORMAT,))
        return header + nonce + self._aead.encrypt(nonce, bytes(plaintext), header + context)

    def unseal(self, sealed: bytes, *, context: bytes) -> bytes:
        if len(sealed) < 1 + _NONCE_SIZE + _TAG_SIZE or sealed[0] != _AES_GCM_FORMAT:
            raise StorageError("sealed blob is malformed or not sealed by AesGcmSealer")
        header, nonce, body = sealed[:1], sealed[1 : 1 + _NONCE_SIZE], sealed[1 + _NONCE_SIZE :]
        try:
            return self._aead.decrypt(nonce, bytes(body), header + context)
        except InvalidTag:
            # Wrong key, altered bytes, or a blob moved to another place: all look the same.
            raise StorageError(
                "sealed blob failed authentication (tampered or wrong key)"
            ) from None
