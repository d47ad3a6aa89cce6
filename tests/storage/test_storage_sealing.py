"""Sealers: round trip, tamper detection, context binding."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from securemeter.errors import StorageError
from securemeter.storage import AesGcmSealer, PlainSealer, Sealer
from securemeter.storage.sealing import seal_context

KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
CONTEXT = seal_context("key", "sap1", "global_unicast_encryption_key")


@pytest.mark.parametrize("key_size", [16, 24, 32])
@pytest.mark.parametrize("plaintext", [b"", b"\x00", bytes(range(256)) * 5])
def test_aes_gcm_round_trip(key_size: int, plaintext: bytes) -> None:
    sealer = AesGcmSealer(bytes(range(key_size)))
    sealed = sealer.seal(plaintext, context=CONTEXT)
    assert len(sealed) == 1 + 12 + len(plaintext) + 16
    assert sealer.unseal(sealed, context=CONTEXT) == plaintext
    assert isinstance(sealer, Sealer)
    assert sealer.provides_confidentiality


def test_aes_gcm_uses_a_fresh_nonce_per_seal() -> None:
    sealer = AesGcmSealer(KEY)
    first, second = (sealer.seal(b"same", context=CONTEXT) for _ in range(2))
    assert first[1:13] != second[1:13]
    assert first != second


def test_aes_gcm_output_is_standard_gcm_with_the_context_as_aad() -> None:
    sealed = AesGcmSealer(KEY).seal(b"material", context=CONTEXT)
    assert sealed[0] == 0x01
    # An independent decryption: AAD = format byte || context.
    assert AESGCM(KEY).decrypt(sealed[1:13], sealed[13:], b"\x01" + CONTEXT) == b"material"


def test_every_altered_byte_is_detected() -> None:
    sealer = AesGcmSealer(KEY)
    sealed = sealer.seal(b"sixteen byte key", context=CONTEXT)
    for index in range(len(sealed)):
        tampered = bytearray(sealed)
        tampered[index] ^= 0x01
        with pytest.raises(StorageError):
            sealer.unseal(bytes(tampered), context=CONTEXT)


@pytest.mark.parametrize("length", [0, 1, 28])
def test_truncated_blobs_are_refused(length: int) -> None:
    sealer = AesGcmSealer(KEY)
    sealed = sealer.seal(b"", context=CONTEXT)
    with pytest.raises(StorageError):
        sealer.unseal(sealed[:length], context=CONTEXT)


def test_a_blob_moved_to_another_place_or_key_fails() -> None:
    sealer = AesGcmSealer(KEY)
    sealed = sealer.seal(b"material", context=CONTEXT)
    with pytest.raises(StorageError):
        sealer.unseal(sealed, context=seal_context("key", "sap2", "global_unicast_encryption_key"))
    with pytest.raises(StorageError):
        AesGcmSealer(bytes(16)).unseal(sealed, context=CONTEXT)


def test_contexts_are_unambiguous() -> None:
    assert seal_context("key", "ab", "c") != seal_context("key", "a", "bc")
    assert seal_context("key", "a") != seal_context("state", "a")


@pytest.mark.parametrize("size", [0, 15, 17, 33])
def test_aes_gcm_rejects_bad_key_sizes(size: int) -> None:
    with pytest.raises(ValueError):
        AesGcmSealer(bytes(size))


def test_plain_sealer_is_the_identity_and_says_so() -> None:
    sealer = PlainSealer()
    assert sealer.seal(b"clear", context=CONTEXT) == b"clear"
    assert sealer.unseal(b"clear", context=CONTEXT) == b"clear"
    assert not sealer.provides_confidentiality
    assert isinstance(sealer, Sealer)
