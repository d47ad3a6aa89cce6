"""security_policy (version 1 bit flags) and the checks built on it."""

from __future__ import annotations

import pytest

from securemeter.errors import DecodeError, EncodeError
from securemeter.security.policy import (
    SecurityPolicy,
    decode_security_policy,
    is_strengthening,
    request_satisfies,
    response_security_control,
)
from securemeter.security.protect import SecurityControl

P = SecurityPolicy


def test_bit_values() -> None:
    assert [(member.name, member.value) for member in SecurityPolicy if member.value] == [
        ("AUTHENTICATED_REQUEST", 0x04),
        ("ENCRYPTED_REQUEST", 0x08),
        ("DIGITALLY_SIGNED_REQUEST", 0x10),
        ("AUTHENTICATED_RESPONSE", 0x20),
        ("ENCRYPTED_RESPONSE", 0x40),
        ("DIGITALLY_SIGNED_RESPONSE", 0x80),
    ]


@pytest.mark.parametrize("value", [0x00, 0x04, 0x0C, 0x6C, 0xFC])
def test_decode_security_policy(value: int) -> None:
    assert decode_security_policy(value) == value


@pytest.mark.parametrize("value", [0x01, 0x02, 0x03, 0x6D, -1, 0x100])
def test_decode_security_policy_refuses_reserved_bits(value: int) -> None:
    with pytest.raises(DecodeError):
        decode_security_policy(value)


@pytest.mark.parametrize(
    ("policy", "control", "expected"),
    [
        (P.NOTHING, None, True),
        (P.NOTHING, 0x30, True),
        (P.AUTHENTICATED_REQUEST, None, False),
        (P.AUTHENTICATED_REQUEST, 0x10, True),
        (P.AUTHENTICATED_REQUEST, 0x20, False),
        (P.AUTHENTICATED_REQUEST, 0x30, True),
        (P.ENCRYPTED_REQUEST, None, False),
        (P.ENCRYPTED_REQUEST, 0x10, False),
        (P.ENCRYPTED_REQUEST, 0x20, True),
        (P.ENCRYPTED_REQUEST, 0x30, True),
        (P.AUTHENTICATED_REQUEST | P.ENCRYPTED_REQUEST, 0x10, False),
        (P.AUTHENTICATED_REQUEST | P.ENCRYPTED_REQUEST, 0x20, False),
        (P.AUTHENTICATED_REQUEST | P.ENCRYPTED_REQUEST, 0x30, True),
        (P.AUTHENTICATED_REQUEST | P.ENCRYPTED_REQUEST, 0x70, True),
        (P.DIGITALLY_SIGNED_REQUEST, 0x30, False),  # signing is not implemented
        (P.AUTHENTICATED_RESPONSE | P.ENCRYPTED_RESPONSE, None, True),  # response bits only
    ],
)
def test_request_satisfies(policy: SecurityPolicy, control: int | None, expected: bool) -> None:
    assert request_satisfies(policy, control) is expected
    if control is not None:
        assert request_satisfies(policy, SecurityControl.from_byte(control)) is expected


@pytest.mark.parametrize(
    ("policy", "suite", "expected"),
    [
        (P.NOTHING, 0, None),
        (P.AUTHENTICATED_REQUEST | P.ENCRYPTED_REQUEST, 0, None),
        (P.AUTHENTICATED_RESPONSE, 0, 0x10),
        (P.ENCRYPTED_RESPONSE, 0, 0x20),
        (P.AUTHENTICATED_RESPONSE | P.ENCRYPTED_RESPONSE, 0, 0x30),
        (P.AUTHENTICATED_RESPONSE | P.ENCRYPTED_RESPONSE, 1, 0x31),
        (P.AUTHENTICATED_RESPONSE | P.ENCRYPTED_RESPONSE, 2, 0x32),
    ],
)
def test_response_security_control(
    policy: SecurityPolicy, suite: int, expected: int | None
) -> None:
    assert response_security_control(policy, suite) == expected


def test_response_security_control_refusals() -> None:
    with pytest.raises(EncodeError):
        response_security_control(P.DIGITALLY_SIGNED_RESPONSE | P.AUTHENTICATED_RESPONSE)
    with pytest.raises(EncodeError):
        response_security_control(P.AUTHENTICATED_RESPONSE, suite=3)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (P.NOTHING, P.NOTHING, True),
        (P.NOTHING, P.AUTHENTICATED_REQUEST, True),
        (P.AUTHENTICATED_REQUEST, P.AUTHENTICATED_REQUEST | P.ENCRYPTED_REQUEST, True),
        (P.AUTHENTICATED_REQUEST, P.AUTHENTICATED_REQUEST, True),
        (P.AUTHENTICATED_REQUEST, P.NOTHING, False),
        (P.AUTHENTICATED_REQUEST, P.ENCRYPTED_REQUEST, False),  # swapping drops a protection
        (P.AUTHENTICATED_REQUEST | P.ENCRYPTED_RESPONSE, P.AUTHENTICATED_REQUEST, False),
        (P(0xFC), P(0xFC), True),
        (P(0xFC), P(0x7C), False),
    ],
)
def test_is_strengthening(old: SecurityPolicy, new: SecurityPolicy, expected: bool) -> None:
    assert is_strengthening(old, new) is expected
