"""RFC 3394 key wrap and the Security setup key_transfer parameter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from securemeter.codec.axdr import (
    Array,
    Data,
    Enum,
    OctetString,
    Structure,
    Unsigned,
    decode_exact,
    encode,
)
from securemeter.errors import AuthenticationFailed, DecodeError, EncodeError
from securemeter.security.keywrap import (
    KeyId,
    decode_key_transfer,
    encode_key_transfer,
    unwrap_key,
    unwrap_key_transfer,
    wrap_key,
    wrap_keys_for_transfer,
)

VECTORS = json.loads(
    (Path(__file__).parents[1] / "vectors" / "security_suite0.json").read_text("ascii")
)
KEK = bytes.fromhex(VECTORS["key_wrap"]["kek"])
KEY = bytes.fromhex(VECTORS["key_wrap"]["key"])
WRAPPED = bytes.fromhex(VECTORS["key_wrap"]["wrapped"])  # V10
KEY_TRANSFER = bytes.fromhex(VECTORS["key_transfer"]["encoded"])  # V11


def test_key_ids() -> None:
    assert [(member.name, member.value) for member in KeyId] == [
        ("GLOBAL_UNICAST_ENCRYPTION", 0),
        ("GLOBAL_BROADCAST_ENCRYPTION", 1),
        ("AUTHENTICATION", 2),
        ("MASTER", 3),
    ]


def test_v10_wrap_and_unwrap() -> None:
    assert wrap_key(KEK, KEY) == WRAPPED
    assert unwrap_key(KEK, WRAPPED) == KEY


def test_every_bit_flip_of_wrapped_key_fails_authentication() -> None:
    for bit in range(len(WRAPPED) * 8):
        flipped = bytearray(WRAPPED)
        flipped[bit // 8] ^= 0x80 >> (bit % 8)
        with pytest.raises(AuthenticationFailed):
            unwrap_key(KEK, bytes(flipped))


def test_wrong_kek_fails_authentication() -> None:
    with pytest.raises(AuthenticationFailed):
        unwrap_key(bytes(16), WRAPPED)


@pytest.mark.parametrize("size", [0, 8, 16, 23, 25, 31])
def test_malformed_wrapped_lengths_fail_authentication(size: int) -> None:
    with pytest.raises(AuthenticationFailed):
        unwrap_key(KEK, WRAPPED[:size] if size <= 24 else WRAPPED + bytes(size - 24))


@pytest.mark.parametrize("size", [0, 8, 15, 17, 20])
def test_wrap_refuses_bad_key_sizes(size: int) -> None:
    with pytest.raises(EncodeError):
        wrap_key(KEK, bytes(size))


@pytest.mark.parametrize("size", [0, 8, 15, 17, 33])
def test_bad_kek_sizes(size: int) -> None:
    with pytest.raises(EncodeError):
        wrap_key(bytes(size), KEY)
    with pytest.raises(EncodeError):
        unwrap_key(bytes(size), WRAPPED)


@settings(deadline=None, max_examples=50)
@given(
    kek=st.sampled_from([16, 24, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
    key=st.integers(2, 6).flatmap(lambda n: st.binary(min_size=8 * n, max_size=8 * n)),
)
def test_wrap_round_trip_and_dlms_cosem_oracle(kek: bytes, key: bytes) -> None:
    wrapped = wrap_key(kek, key)
    assert len(wrapped) == len(key) + 8
    assert unwrap_key(kek, wrapped) == key
    if len(kek) == 16 and len(key) == 16:
        # dlms-cosem (BSL) is used only here, as an independent oracle.
        import dlms_cosem.security as oracle  # type: ignore[import-untyped]

        control = oracle.SecurityControlField(security_suite=0)
        assert oracle.wrap_key(control, kek, key) == wrapped


def test_v11_key_transfer_encoding() -> None:
    data = encode_key_transfer([(KeyId.GLOBAL_UNICAST_ENCRYPTION, WRAPPED)])
    assert encode(data) == KEY_TRANSFER
    assert decode_key_transfer(decode_exact(KEY_TRANSFER)) == [(0, WRAPPED)]


def test_v11_via_wrap_keys_for_transfer_and_back() -> None:
    data = wrap_keys_for_transfer(KEK, [(KeyId.GLOBAL_UNICAST_ENCRYPTION, KEY)])
    assert encode(data) == KEY_TRANSFER
    assert unwrap_key_transfer(KEK, decode_exact(KEY_TRANSFER)) == [
        (KeyId.GLOBAL_UNICAST_ENCRYPTION, KEY)
    ]


def test_several_keys_round_trip() -> None:
    keys = [(key_id, bytes((key_id,)) * 16) for key_id in KeyId]
    data = decode_exact(encode(wrap_keys_for_transfer(KEK, keys)))
    assert unwrap_key_transfer(KEK, data) == keys
    decoded = decode_key_transfer(data)
    assert [key_id for key_id, _ in decoded] == [0, 1, 2, 3]
    assert all(isinstance(key_id, KeyId) for key_id, _ in decoded)


def test_empty_key_transfer() -> None:
    assert encode(encode_key_transfer([])) == b"\x01\x00"
    assert decode_key_transfer(Array(())) == []


def test_encode_refuses_unknown_key_ids() -> None:
    with pytest.raises(EncodeError):
        encode_key_transfer([(4, WRAPPED)])


@pytest.mark.parametrize(
    "data",
    [
        OctetString(WRAPPED),
        Structure((Enum(0), OctetString(WRAPPED))),
        Array((Enum(0),)),
        Array((Structure((Enum(0),)),)),
        Array((Structure((Enum(0), OctetString(WRAPPED), Enum(1))),)),
        Array((Structure((Unsigned(0), OctetString(WRAPPED))),)),
        Array((Structure((OctetString(WRAPPED), Enum(0))),)),
        Array((Structure((Enum(4), OctetString(WRAPPED))),)),
        Array((Structure((Enum(255), OctetString(WRAPPED))),)),
    ],
)
def test_decode_key_transfer_rejects_wrong_shapes(data: Data) -> None:
    with pytest.raises(DecodeError):
        decode_key_transfer(data)


def test_unwrap_key_transfer_fails_as_a_whole() -> None:
    tampered = bytearray(WRAPPED)
    tampered[-1] ^= 1
    data = encode_key_transfer(
        [(KeyId.AUTHENTICATION, wrap_key(KEK, KEY)), (KeyId.MASTER, bytes(tampered))]
    )
    with pytest.raises(AuthenticationFailed):
        unwrap_key_transfer(KEK, data)


def test_unwrap_key_transfer_refuses_keys_of_another_suite() -> None:
    data = encode_key_transfer([(KeyId.MASTER, wrap_key(KEK, bytes(32)))])
    with pytest.raises(DecodeError):
        unwrap_key_transfer(KEK, data)
