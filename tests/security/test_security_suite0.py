"""AES-GCM-128 with 12-byte tags: known answers and equivalence with the Cipher/GCM reference.

_suite0 uses AESGCM only (sealing truncates the 16-byte tag; opening re-seals the recovered
plaintext and compares the first 12 bytes). The reference below is the plain pyca Cipher/GCM
API with ``min_tag_length=12``; hypothesis checks that both accept and reject the same inputs
and give the same outputs.
"""

from __future__ import annotations

import hmac
import json
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from securemeter.errors import AuthenticationFailed, EncodeError
from securemeter.security import _suite0
from securemeter.security._suite0 import (
    gcm_decrypt_only,
    gcm_encrypt_only,
    gcm_open,
    gcm_seal,
)

VECTORS = json.loads(
    (Path(__file__).parents[1] / "vectors" / "security_suite0.json").read_text("ascii")
)
INPUTS = {name: bytes.fromhex(value) for name, value in VECTORS["inputs"].items()}
EK = INPUTS["encryption_key"]
AK = INPUTS["authentication_key"]
SERVER_IV = INPUTS["server_system_title"] + INPUTS["invocation_counter"]


# ----------------------------------------------------------------------------- reference


def split(sealed: bytes) -> tuple[bytes, bytes]:
    """gcm_seal's ciphertext || tag, apart."""
    return sealed[:-12], sealed[-12:]


def reference_seal(key: bytes, iv: bytes, aad: bytes, plaintext: bytes) -> tuple[bytes, bytes]:
    encryptor = Cipher(algorithms.AES(key), modes.GCM(iv)).encryptor()
    encryptor.authenticate_additional_data(aad)
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    return ciphertext, encryptor.tag[:12]


def reference_open(
    key: bytes, iv: bytes, aad: bytes, ciphertext: bytes, tag: bytes
) -> bytes | None:
    """Plaintext, or None when the reference rejects the tag."""
    decryptor = Cipher(algorithms.AES(key), modes.GCM(iv, tag, min_tag_length=12)).decryptor()
    decryptor.authenticate_additional_data(aad)
    plaintext = decryptor.update(ciphertext)
    try:
        return plaintext + decryptor.finalize()
    except InvalidTag:
        return None


def reference_ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    """GCM's keystream: AES-CTR from the counter block IV || 00000002."""
    encryptor = Cipher(algorithms.AES(key), modes.CTR(iv + b"\x00\x00\x00\x02")).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def ours_open(key: bytes, iv: bytes, aad: bytes, ciphertext: bytes, tag: bytes) -> bytes | None:
    try:
        return gcm_open(key, iv, aad, ciphertext, tag)
    except AuthenticationFailed:
        return None


# ----------------------------------------------------------------------------- known answers


def test_v1_seal_matches_published_ciphertext_and_tag() -> None:
    vector = VECTORS["ciphered_apdus"][0]
    assert vector["id"] == "V1"
    published = bytes.fromhex(vector["ciphered"])
    ciphertext, tag = split(
        gcm_seal(EK, SERVER_IV, b"\x30" + AK, bytes.fromhex(vector["plaintext"]))
    )
    assert ciphertext == published[7:-12]
    assert tag == published[-12:]


def test_v1_open_returns_plaintext() -> None:
    vector = VECTORS["ciphered_apdus"][0]
    published = bytes.fromhex(vector["ciphered"])
    plaintext = gcm_open(EK, SERVER_IV, b"\x30" + AK, published[7:-12], published[-12:])
    assert plaintext == bytes.fromhex(vector["plaintext"])


def test_gmac_of_v7_challenge() -> None:
    vector = VECTORS["hls_gmac"][0]
    iv = bytes.fromhex(vector["system_title"] + vector["invocation_counter"])
    ciphertext, tag = split(
        gcm_seal(EK, iv, b"\x10" + AK + bytes.fromhex(vector["challenge"]), b"")
    )
    assert ciphertext == b""
    assert tag == bytes.fromhex(vector["response"])[5:]


def test_encrypt_only_matches_v2p_and_ctr_keystream() -> None:
    plaintext = bytes.fromhex("C0010000080000010000FF0200")
    expected = bytes.fromhex("411312FF935A47566827C467BC")  # V2P SC 0x20 body
    assert gcm_encrypt_only(EK, SERVER_IV, plaintext) == expected
    assert reference_ctr(EK, SERVER_IV, plaintext) == expected
    assert gcm_decrypt_only(EK, SERVER_IV, expected) == plaintext


def test_encrypt_only_equals_authenticated_ciphertext() -> None:
    plaintext = bytes(range(40))
    ciphertext, _ = split(gcm_seal(EK, SERVER_IV, b"\x30" + AK, plaintext))
    assert gcm_encrypt_only(EK, SERVER_IV, plaintext) == ciphertext


# ----------------------------------------------------------------------------- rejection


def test_bad_tag_raises_authentication_failed_not_invalid_tag() -> None:
    ciphertext, tag = split(gcm_seal(EK, SERVER_IV, b"aad", b"payload"))
    bad = bytes((tag[0] ^ 1,)) + tag[1:]
    with pytest.raises(AuthenticationFailed) as caught:
        gcm_open(EK, SERVER_IV, b"aad", ciphertext, bad)
    assert not isinstance(caught.value, InvalidTag)


@pytest.mark.parametrize("size", [0, 4, 11, 13, 16])
def test_tag_of_wrong_length_is_refused(size: int) -> None:
    ciphertext, tag = split(gcm_seal(EK, SERVER_IV, b"", b"payload"))
    full_tag = tag + bytes(4)
    with pytest.raises(AuthenticationFailed):
        gcm_open(EK, SERVER_IV, b"", ciphertext, full_tag[:size])


def test_every_bit_flip_of_ciphertext_tag_and_aad_is_rejected() -> None:
    aad = b"\x30" + AK
    ciphertext, tag = split(gcm_seal(EK, SERVER_IV, aad, b"short apdu"))
    for name, value in (("ciphertext", ciphertext), ("tag", tag), ("aad", aad)):
        for bit in range(len(value) * 8):
            flipped = bytearray(value)
            flipped[bit // 8] ^= 0x80 >> (bit % 8)
            parts = {"ciphertext": ciphertext, "tag": tag, "aad": aad, name: bytes(flipped)}
            with pytest.raises(AuthenticationFailed):
                gcm_open(EK, SERVER_IV, parts["aad"], parts["ciphertext"], parts["tag"])


@pytest.mark.parametrize("key_size", [0, 15, 17, 24, 32])
def test_only_16_byte_keys(key_size: int) -> None:
    with pytest.raises(EncodeError):
        gcm_seal(bytes(key_size), SERVER_IV, b"", b"x")
    with pytest.raises(EncodeError):
        gcm_open(bytes(key_size), SERVER_IV, b"", b"x", bytes(12))
    with pytest.raises(EncodeError):
        gcm_encrypt_only(bytes(key_size), SERVER_IV, b"x")


@pytest.mark.parametrize("iv_size", [0, 8, 11, 13, 16])
def test_only_12_byte_ivs(iv_size: int) -> None:
    with pytest.raises(EncodeError):
        gcm_seal(EK, bytes(iv_size), b"", b"x")
    with pytest.raises(EncodeError):
        gcm_open(EK, bytes(iv_size), b"", b"x", bytes(12))
    with pytest.raises(EncodeError):
        gcm_decrypt_only(EK, bytes(iv_size), b"x")


def test_open_compares_tags_with_hmac_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((bytes(a), bytes(b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    ciphertext, tag = split(gcm_seal(EK, SERVER_IV, b"aad", b"payload"))
    assert gcm_open(EK, SERVER_IV, b"aad", ciphertext, tag) == b"payload"
    assert calls == [(tag, tag)]


# ----------------------------------------------------------------------------- key cache


def test_key_cache_is_bounded_and_results_stay_correct() -> None:
    _suite0.clear_key_cache()
    keys = [bytes((index,)) * 16 for index in range(_suite0._CACHED_KEYS + 10)]
    for key in keys + keys:  # more keys than the cache holds, twice round
        ciphertext, tag = split(gcm_seal(key, SERVER_IV, b"a", b"plaintext"))
        assert (ciphertext, tag) == reference_seal(key, SERVER_IV, b"a", b"plaintext")
        assert gcm_open(key, SERVER_IV, b"a", ciphertext, tag) == b"plaintext"
    info = _suite0.prepared.cache_info()
    assert info.maxsize == _suite0._CACHED_KEYS
    assert info.currsize == _suite0._CACHED_KEYS
    _suite0.clear_key_cache()
    assert _suite0.prepared.cache_info().currsize == 0


def test_cache_does_not_confuse_keys() -> None:
    first = split(gcm_seal(EK, SERVER_IV, b"", b"same plaintext"))
    second = split(gcm_seal(AK, SERVER_IV, b"", b"same plaintext"))
    assert first != second
    with pytest.raises(AuthenticationFailed):
        gcm_open(AK, SERVER_IV, b"", *first)


# ----------------------------------------------------------------------------- equivalence

keys = st.binary(min_size=16, max_size=16)
ivs = st.binary(min_size=12, max_size=12)
blobs = st.binary(max_size=300)


@settings(deadline=None, max_examples=200)
@given(key=keys, iv=ivs, aad=blobs, plaintext=blobs)
def test_seal_equals_reference(key: bytes, iv: bytes, aad: bytes, plaintext: bytes) -> None:
    assert split(gcm_seal(key, iv, aad, plaintext)) == reference_seal(key, iv, aad, plaintext)
    assert gcm_encrypt_only(key, iv, plaintext) == reference_ctr(key, iv, plaintext)
    assert gcm_decrypt_only(key, iv, reference_ctr(key, iv, plaintext)) == plaintext


@st.composite
def open_cases(draw: st.DrawFn) -> tuple[bytes, bytes, bytes, bytes, bytes]:
    """A sealed message, then maybe one tampered input (key, IV, AAD, ciphertext or tag)."""
    key, iv, aad, plaintext = draw(keys), draw(ivs), draw(blobs), draw(blobs)
    ciphertext, tag = reference_seal(key, iv, aad, plaintext)
    parts = {"key": key, "iv": iv, "aad": aad, "ciphertext": ciphertext, "tag": tag}
    target = draw(st.sampled_from(["none", "key", "iv", "aad", "ciphertext", "tag", "replace"]))
    if target == "replace":  # an unrelated random tag
        parts["tag"] = draw(st.binary(min_size=12, max_size=12))
    elif target != "none" and parts[target]:
        value = bytearray(parts[target])
        index = draw(st.integers(0, len(value) - 1))
        value[index] ^= draw(st.integers(1, 255))
        parts[target] = bytes(value)
    elif target == "aad":  # empty AAD: tamper by appending
        parts["aad"] = draw(st.binary(min_size=1, max_size=4))
    return parts["key"], parts["iv"], parts["aad"], parts["ciphertext"], parts["tag"]


@settings(deadline=None, max_examples=400)
@given(case=open_cases())
def test_open_accepts_and_rejects_like_reference(
    case: tuple[bytes, bytes, bytes, bytes, bytes],
) -> None:
    key, iv, aad, ciphertext, tag = case
    assert ours_open(key, iv, aad, ciphertext, tag) == reference_open(key, iv, aad, ciphertext, tag)


@settings(deadline=None, max_examples=200)
@given(key=keys, iv=ivs, aad=blobs, ciphertext=blobs, tag=st.binary(min_size=12, max_size=12))
def test_random_garbage_is_rejected_like_reference(
    key: bytes, iv: bytes, aad: bytes, ciphertext: bytes, tag: bytes
) -> None:
    assert ours_open(key, iv, aad, ciphertext, tag) == reference_open(key, iv, aad, ciphertext, tag)
