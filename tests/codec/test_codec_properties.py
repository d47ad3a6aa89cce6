"""Property tests over every Data type: decode(encode(x)) == x and exact framing."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from securemeter.codec.axdr import (
    Array,
    CompactArray,
    Data,
    DataType,
    Float32,
    Float64,
    Structure,
    decode,
    decode_exact,
    encode,
)
from securemeter.errors import DecodeError
from strategies import data_values


def has_nan(value: Data) -> bool:
    if isinstance(value, Array | Structure | CompactArray):
        return any(has_nan(item) for item in value.items)
    return isinstance(value, Float32 | Float64) and math.isnan(value.value)


def tags_in(value: Data) -> set[DataType]:
    found = {value.TAG}
    if isinstance(value, Array | Structure | CompactArray):
        for item in value.items:
            found |= tags_in(item)
    return found


@settings(max_examples=300, deadline=None)
@given(data_values())
def test_round_trip(value: Data) -> None:
    raw = encode(value)
    decoded = decode_exact(raw)
    assert encode(decoded) == raw  # byte equality also covers NaN payloads
    if not has_nan(value):
        assert decoded == value


@settings(max_examples=200, deadline=None)
@given(data_values(), st.binary(min_size=1, max_size=8))
def test_decode_exact_rejects_trailing_octets(value: Data, extra: bytes) -> None:
    raw = encode(value)
    try:
        decode_exact(raw + extra)
    except DecodeError:
        pass
    else:
        raise AssertionError("trailing octets were accepted")
    # decode() itself stops at the end of the value and says where.
    assert decode(raw + extra)[1] == len(raw)


@settings(max_examples=200, deadline=None)
@given(data_values(), st.binary(max_size=8))
def test_decode_at_an_offset(value: Data, prefix: bytes) -> None:
    raw = encode(value)
    decoded, offset = decode(prefix + raw, len(prefix))
    assert offset == len(prefix) + len(raw)
    assert encode(decoded) == raw


@settings(max_examples=150, deadline=None)
@given(data_values())
def test_every_proper_prefix_is_truncated(value: Data) -> None:
    raw = encode(value)
    for end in range(len(raw)):
        try:
            decode(raw[:end])
        except DecodeError:
            continue
        raise AssertionError(f"prefix of {end} octets decoded")


def test_strategy_covers_every_type() -> None:
    seen: set[DataType] = set()

    @settings(max_examples=300, deadline=None, database=None, derandomize=True)
    @given(data_values())
    def collect(value: Data) -> None:
        seen.update(tags_in(value))

    collect()
    assert seen == set(DataType)
