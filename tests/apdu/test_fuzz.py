"""Hostile input: random bytes and mutated valid APDUs may only ever raise DecodeError.

Whatever does decode must re-encode, and re-decoding that encoding must be stable.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from securemeter.apdu.registry import DECODERS, Apdu, decode_apdu
from securemeter.errors import DecodeError

from .strategies import apdus

KNOWN_TAGS = sorted(DECODERS)


def _decode_or_refuse(raw: bytes) -> Apdu | None:
    try:
        apdu = decode_apdu(raw)
    except DecodeError:
        return None
    encoded = apdu.to_bytes()
    again = decode_apdu(encoded)
    assert again.to_bytes() == encoded
    return apdu


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes(raw: bytes) -> None:
    _decode_or_refuse(raw)


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(KNOWN_TAGS), st.integers(0, 7), st.binary(max_size=64))
def test_random_bodies_behind_known_tags(tag: int, choice: int, body: bytes) -> None:
    # a plausible choice octet gets the decoders past their first check more often
    _decode_or_refuse(bytes((tag, choice)) + body)
    _decode_or_refuse(bytes((tag,)) + body)


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(apdus).to_bytes())
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        position = draw(st.integers(0, max(0, len(raw) - 1)))
        if kind == "flip" and raw:
            raw[position] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and raw:
            raw[position] = draw(st.sampled_from([0x00, 0x01, 0x7F, 0x80, 0x81, 0x82, 0x84, 0xFF]))
        elif kind == "insert":
            raw[position:position] = draw(st.binary(min_size=1, max_size=4))
        elif kind == "delete" and raw:
            del raw[position]
        elif kind == "truncate":
            del raw[position:]
    return bytes(raw)


@settings(max_examples=600, deadline=None)
@given(_mutated())
def test_mutated_valid_apdus(raw: bytes) -> None:
    _decode_or_refuse(raw)


@settings(max_examples=150, deadline=None)
@given(apdus, st.data())
def test_every_strict_prefix_is_refused(apdu: Apdu, data: st.DataObject) -> None:
    raw = apdu.to_bytes()
    cut = data.draw(st.integers(0, len(raw) - 1))
    try:
        decode_apdu(raw[:cut])
    except DecodeError:
        return
    # a shorter APDU can only decode when the original ended in an optional part
    # it would have to drop; none of our encodings has such a part at the very end
    # except the exception-response counter
    assert raw[0] == 0xD8, f"prefix of {apdu!r} decoded"


def test_huge_declared_lengths_are_refused_quickly() -> None:
    hostile = [
        bytes.fromhex("60 84 FFFFFFFF".replace(" ", "")),
        bytes.fromhex("C0 03 C1 84 FFFFFFFF".replace(" ", "")),
        bytes.fromhex("C4 01 C1 00 01 84 FFFFFFFF".replace(" ", "")),
        bytes.fromhex("C4 02 C1 00 00000001 00 84 FFFFFFFF".replace(" ", "")),
        bytes.fromhex("DB 84 FFFFFFFF".replace(" ", "")),
        bytes.fromhex("C8 84 FFFFFFFF 30".replace(" ", "")),
        bytes.fromhex("0F 00000001 00 02 84 7FFFFFFF".replace(" ", "")),
    ]
    for raw in hostile:
        with pytest.raises(DecodeError):
            decode_apdu(raw)


def test_deeply_nested_data_is_refused() -> None:
    nested = bytes.fromhex("C401C100") + b"\x01\x01" * 200 + b"\x00"
    with pytest.raises(DecodeError, match="nested"):
        decode_apdu(nested)
