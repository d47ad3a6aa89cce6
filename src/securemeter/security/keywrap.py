"""Key transfer for the Security setup object (class 64, method 2 key_transfer).

Each new key travels wrapped with the master key (KEK) by the RFC 3394 AES key wrap, inside
``array of structure {key_id enum, key_wrapped octet-string}``.
"""

from __future__ import annotations

from enum import IntEnum

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from securemeter.codec.axdr import Array, Data, Enum, OctetString, Structure
from securemeter.errors import AuthenticationFailed, DecodeError, EncodeError

_AES_KEY_LENGTHS = (16, 24, 32)
_SEMIBLOCK = 8


class KeyId(IntEnum):
    GLOBAL_UNICAST_ENCRYPTION = 0
    GLOBAL_BROADCAST_ENCRYPTION = 1
    AUTHENTICATION = 2
    MASTER = 3


_KEY_IDS = frozenset(KeyId)


def _check_kek(kek: bytes) -> None:
    if len(kek) not in _AES_KEY_LENGTHS:
        raise EncodeError(f"a key-encryption key is 16, 24 or 32 bytes, got {len(kek)}")


def wrap_key(kek: bytes, key: bytes) -> bytes:
    """RFC 3394 wrap: a 16-byte key becomes 24 bytes."""
    _check_kek(kek)
    if len(key) < 2 * _SEMIBLOCK or len(key) % _SEMIBLOCK:
        raise EncodeError(f"a key to wrap is a multiple of 8 bytes, at least 16; got {len(key)}")
    return aes_key_wrap(bytes(kek), bytes(key))


def unwrap_key(kek: bytes, wrapped: bytes) -> bytes:
    """RFC 3394 unwrap; AuthenticationFailed when the integrity check value does not match."""
    _check_kek(kek)
    try:
        return aes_key_unwrap(bytes(kek), bytes(wrapped))
    except InvalidUnwrap as exc:
        raise AuthenticationFailed("wrapped key does not unwrap under this key") from exc


def encode_key_transfer(items: list[tuple[int, bytes]]) -> Data:
    """The key_transfer parameter for (key_id, wrapped key) pairs."""
    for key_id, _ in items:
        if key_id not in _KEY_IDS:
            raise EncodeError(f"unknown key id {key_id}")
    return Array(
        tuple(Structure((Enum(key_id), OctetString(bytes(wrapped)))) for key_id, wrapped in items)
    )


def decode_key_transfer(data: Data) -> list[tuple[int, bytes]]:
    """(key_id, wrapped key) pairs; DecodeError when the shape or a key id is wrong."""
    if not isinstance(data, Array):
        raise DecodeError("key_transfer data must be an array")
    items: list[tuple[int, bytes]] = []
    for entry in data.items:
        if not isinstance(entry, Structure) or len(entry.items) != 2:
            raise DecodeError("key_transfer entries are structures of two elements")
        key_id, wrapped = entry.items
        if not isinstance(key_id, Enum) or not isinstance(wrapped, OctetString):
            raise DecodeError("key_transfer entry must be {enum key_id, octet-string key}")
        try:
            known_id = KeyId(key_id.value)
        except ValueError as exc:
            raise DecodeError(f"unknown key id {key_id.value}") from exc
        items.append((known_id, wrapped.value))
    return items


def wrap_keys_for_transfer(kek: bytes, keys: list[tuple[KeyId, bytes]]) -> Data:
    """Wrap each key with ``kek`` and build the key_transfer parameter."""
    return encode_key_transfer([(key_id, wrap_key(kek, key)) for key_id, key in keys])


def unwrap_key_transfer(kek: bytes, data: Data) -> list[tuple[KeyId, bytes]]:
    """Decode key_transfer and unwrap every key; each must be as long as ``kek`` (one suite).

    Raises DecodeError for a malformed parameter or a key of the wrong size and
    AuthenticationFailed when a key does not unwrap. Nothing is returned unless all unwrap.
    """
    keys: list[tuple[KeyId, bytes]] = []
    for key_id, wrapped in decode_key_transfer(data):
        key = unwrap_key(kek, wrapped)
        if len(key) != len(kek):
            raise DecodeError(f"unwrapped key is {len(key)} bytes, expected {len(kek)}")
        keys.append((KeyId(key_id), key))
    return keys


__all__ = [
    "KeyId",
    "decode_key_transfer",
    "encode_key_transfer",
    "unwrap_key",
    "unwrap_key_transfer",
    "wrap_key",
    "wrap_keys_for_transfer",
]
