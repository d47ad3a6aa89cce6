"""OBIS codes: text forms, the 6-octet wire form and range checks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from securemeter.codec.axdr import OctetString, decode_exact
from securemeter.codec.obis import Obis
from securemeter.errors import DecodeError
from strategies import obis_codes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.0.1.0.0.255", Obis(0, 0, 1, 0, 0, 255)),  # clock
        ("1-0:1.8.0.255", Obis(1, 0, 1, 8, 0, 255)),  # active energy import
        ("1-0:1.8.0", Obis(1, 0, 1, 8, 0, 255)),  # F defaults to 255
        ("1-0:1.8.0*101", Obis(1, 0, 1, 8, 0, 101)),
        ("1-0:1.8.0&7", Obis(1, 0, 1, 8, 0, 7)),
        (" 0.0.40.0.0.255 ", Obis(0, 0, 40, 0, 0, 255)),  # current association
        ("0:0.43.0.0.255", Obis(0, 0, 43, 0, 0, 255)),  # security setup
    ],
)
def test_parse(text: str, expected: Obis) -> None:
    assert Obis.parse(text) == expected


@pytest.mark.parametrize(
    "text", ["", "1.2.3.4", "1.2.3.4.5.6.7", "a.b.c.d.e.f", "1.0.256.0.0.255", "1.0.1.8.0.1000"]
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        Obis.parse(text)


def test_format() -> None:
    assert str(Obis(0, 0, 1, 0, 0, 255)) == "0.0.1.0.0.255"
    assert str(Obis.parse("1-0:1.8.0")) == "1.0.1.8.0.255"


def test_wire_form() -> None:
    clock = Obis.parse("0.0.1.0.0.255")
    assert clock.to_bytes() == bytes.fromhex("0000010000FF")
    assert Obis.from_bytes(bytes.fromhex("0000010000FF")) == clock
    carried = decode_exact(bytes.fromhex("09060000010000FF"))
    assert isinstance(carried, OctetString)
    assert Obis.from_bytes(carried.value) == clock


@pytest.mark.parametrize("size", [0, 5, 7])
def test_from_bytes_needs_six_octets(size: int) -> None:
    with pytest.raises(DecodeError):
        Obis.from_bytes(bytes(size))


@pytest.mark.parametrize("groups", [(256, 0, 0, 0, 0, 0), (0, 0, 0, 0, 0, -1)])
def test_group_range(groups: tuple[int, int, int, int, int, int]) -> None:
    with pytest.raises(ValueError):
        Obis(*groups)


def test_ordering_and_hashing() -> None:
    codes = [Obis.parse("1.0.2.8.0.255"), Obis.parse("0.0.1.0.0.255")]
    assert sorted(codes)[0] == Obis(0, 0, 1, 0, 0)
    assert {Obis(0, 0, 1, 0, 0), Obis(0, 0, 1, 0, 0, 255)} == {Obis(0, 0, 1, 0, 0)}


@settings(max_examples=200, deadline=None)
@given(obis_codes())
def test_round_trips(code: Obis) -> None:
    assert Obis.from_bytes(code.to_bytes()) == code
    assert Obis.parse(str(code)) == code
    a, b, c, d, e, f = code.to_bytes()
    assert Obis.parse(f"{a}-{b}:{c}.{d}.{e}*{f}") == code
