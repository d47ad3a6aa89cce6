"""Decoder robustness: hostile bytes raise DecodeError and nothing else, and fail fast."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from securemeter.codec.axdr import Data, decode, decode_exact, decode_type_description, encode
from securemeter.codec.cosem_time import CosemDate, CosemDateTime, CosemTime
from securemeter.errors import DecodeError
from strategies import data_values

VECTORS = Path(__file__).parents[1] / "vectors" / "codec_axdr_valid.txt"
SEEDS = [
    bytes.fromhex(line.split("#", 1)[0])
    for line in VECTORS.read_text(encoding="utf-8").splitlines()
    if line.split("#", 1)[0].strip()
]
# Octets that matter to a length or tag parser.
INTERESTING = (0x00, 0x01, 0x02, 0x0C, 0x13, 0x7F, 0x80, 0x81, 0x82, 0x84, 0x85, 0xFE, 0xFF)


def decode_survives(raw: bytes) -> Data | None:
    """Decode ``raw``; only DecodeError may escape, and a success must re-encode stably."""
    try:
        value = decode_exact(raw)
    except DecodeError:
        return None
    again = encode(value)
    assert encode(decode_exact(again)) == again
    return value


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=64))
def test_random_octets(raw: bytes) -> None:
    decode_survives(raw)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([0x01, 0x02, 0x13]), st.binary(max_size=64))
def test_random_containers(tag: int, body: bytes) -> None:
    decode_survives(bytes((tag,)) + body)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=32))
def test_random_type_descriptions(raw: bytes) -> None:
    try:
        description, offset = decode_type_description(raw)
    except DecodeError:
        return
    assert description.to_bytes() == raw[:offset]


@settings(max_examples=200, deadline=None)
@given(data_values(), st.data())
def test_single_octet_mutations(value: Data, data: st.DataObject) -> None:
    raw = bytearray(encode(value))
    index = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    raw[index] = data.draw(st.one_of(st.sampled_from(INTERESTING), st.integers(0, 255)))
    decode_survives(bytes(raw))


@settings(max_examples=200, deadline=None)
@given(data_values(), st.data())
def test_insertions_and_deletions(value: Data, data: st.DataObject) -> None:
    raw = bytearray(encode(value))
    index = data.draw(st.integers(min_value=0, max_value=len(raw)))
    if data.draw(st.booleans()) and index < len(raw):
        del raw[index]
    else:
        raw[index:index] = bytes((data.draw(st.sampled_from(INTERESTING)),))
    decode_survives(bytes(raw))


@pytest.mark.parametrize("seed", SEEDS, ids=lambda raw: raw.hex())
def test_exhaustive_mutations_of_vectors(seed: bytes) -> None:
    for index in range(len(seed)):
        for octet in (*INTERESTING, seed[index] ^ 0xFF):
            mutated = bytearray(seed)
            mutated[index] = octet
            decode_survives(bytes(mutated))
        decode_survives(seed[:index])
        decode_survives(seed[:index] + seed[index + 1 :])


@pytest.mark.timeout(10)
def test_worst_case_inputs_are_linear() -> None:
    # 64 KiB of the most expensive shapes still decodes (or fails) quickly.
    size = 1 << 16
    nested = bytes.fromhex("0181FF") * 30 + b"\x00" * size
    wide_structure = b"\x02\x83" + size.to_bytes(3, "big") + b"\x00" * size
    compact = b"\x13\x02\x82\xff\xff" + b"\x11" * 0xFFFF + b"\x83" + size.to_bytes(3, "big")
    compact += b"\x00" * size
    for raw in (nested, wide_structure, compact):
        decode_survives(raw)
    assert len(decode_exact(wide_structure).items) == size  # type: ignore[attr-defined]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=16))
def test_cosem_time_parsers(raw: bytes) -> None:
    for parser in (CosemDateTime.from_bytes, CosemDate.from_bytes, CosemTime.from_bytes):
        try:
            value = parser(raw)
        except DecodeError:
            continue
        assert value.to_bytes() == raw


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=40), st.integers(min_value=-4, max_value=48))
def test_any_offset(raw: bytes, offset: int) -> None:
    try:
        _value, end = decode(raw, max(offset, 0))
    except DecodeError:
        return
    assert max(offset, 0) < end <= len(raw)
