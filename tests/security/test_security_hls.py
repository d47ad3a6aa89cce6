"""HLS mechanism 5 (GMAC), LLS passwords and the mechanism strategies."""

from __future__ import annotations

import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from securemeter.errors import AuthenticationFailed, DecodeError, EncodeError, LocalProtocolError
from securemeter.security.hls import (
    AuthenticationMechanism,
    AuthenticationMechanismStrategy,
    GmacResponse,
    HighLevelSecurityGmac,
    LowLevelSecurity,
    NoAuthentication,
    gmac_response,
    make_challenge,
    parse_gmac_response,
    verify_gmac_response,
    verify_password,
)

VECTORS = json.loads(
    (Path(__file__).parents[1] / "vectors" / "security_suite0.json").read_text("ascii")
)
INPUTS = {name: bytes.fromhex(value) for name, value in VECTORS["inputs"].items()}
ST_S = INPUTS["server_system_title"]
ST_C = INPUTS["client_system_title"]
EK = INPUTS["encryption_key"]
AK = INPUTS["authentication_key"]
GMAC_VECTORS: list[dict[str, Any]] = VECTORS["hls_gmac"]
V7, V8 = GMAC_VECTORS
STOC = bytes.fromhex(V7["challenge"])  # the meter's challenge, answered by the client
CTOS = bytes.fromhex(V8["challenge"])  # the client's challenge, answered by the meter


def fields(item: dict[str, Any]) -> tuple[bytes, int, bytes, bytes]:
    return (
        bytes.fromhex(item["system_title"]),
        int(item["invocation_counter"], 16),
        bytes.fromhex(item["challenge"]),
        bytes.fromhex(item["response"]),
    )


class CompareSpy:
    """Replaces hmac.compare_digest and records that it was used."""

    def __init__(self) -> None:
        self.calls = 0
        self.real = hmac.compare_digest

    def __call__(self, a: bytes, b: bytes) -> bool:
        self.calls += 1
        return self.real(a, b)


# ----------------------------------------------------------------------------- GMAC vectors


@pytest.mark.parametrize("item", GMAC_VECTORS, ids=lambda item: item["id"])
def test_gmac_response_matches_published_vector(item: dict[str, Any]) -> None:
    system_title, counter, challenge, response = fields(item)
    assert gmac_response(system_title, counter, EK, AK, challenge) == response


@pytest.mark.parametrize("item", GMAC_VECTORS, ids=lambda item: item["id"])
def test_verify_returns_carried_counter(item: dict[str, Any]) -> None:
    system_title, counter, challenge, response = fields(item)
    assert verify_gmac_response(response, system_title, EK, AK, challenge) == counter


def test_parse_gmac_response() -> None:
    assert parse_gmac_response(bytes.fromhex(V8["response"])) == GmacResponse(
        0x10, 0x01234567, bytes.fromhex("FE1466AFB3DBCD4F9389E2B7")
    )


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "10000000011A52FE7DD3E72748973C1E",  # 16 bytes
        "10000000011A52FE7DD3E72748973C1E2800",  # 18 bytes
        "30000000011A52FE7DD3E72748973C1E28",  # SC 0x30
        "11000000011A52FE7DD3E72748973C1E28",  # suite 1
    ],
)
def test_malformed_responses(raw: str) -> None:
    with pytest.raises(DecodeError):
        parse_gmac_response(bytes.fromhex(raw))
    with pytest.raises(AuthenticationFailed):
        verify_gmac_response(bytes.fromhex(raw), ST_C, EK, AK, STOC)


@pytest.mark.parametrize("item", GMAC_VECTORS, ids=lambda item: item["id"])
def test_every_bit_flip_of_a_response_is_rejected(item: dict[str, Any]) -> None:
    system_title, _, challenge, response = fields(item)
    for bit in range(len(response) * 8):
        flipped = bytearray(response)
        flipped[bit // 8] ^= 0x80 >> (bit % 8)
        with pytest.raises(AuthenticationFailed):
            verify_gmac_response(bytes(flipped), system_title, EK, AK, challenge)


def test_wrong_inputs_are_rejected() -> None:
    system_title, _, challenge, response = fields(V7)
    other_key = bytes(16)
    for arguments in (
        (response, ST_S, EK, AK, challenge),  # wrong system title
        (response, system_title, other_key, AK, challenge),  # wrong EK
        (response, system_title, EK, other_key, challenge),  # wrong AK
        (response, system_title, EK, AK, challenge + b"\x00"),  # wrong challenge
        (response, system_title, EK, AK, CTOS),
        (response, b"", EK, AK, challenge),  # no peer title known
        (response, system_title[:7], EK, AK, challenge),
    ):
        with pytest.raises(AuthenticationFailed):
            verify_gmac_response(*arguments)


def test_verify_uses_constant_time_compare(monkeypatch: pytest.MonkeyPatch) -> None:
    spy = CompareSpy()
    monkeypatch.setattr(hmac, "compare_digest", spy)
    system_title, counter, challenge, response = fields(V7)
    assert verify_gmac_response(response, system_title, EK, AK, challenge) == counter
    assert spy.calls >= 1


@pytest.mark.parametrize(
    ("system_title", "counter", "authentication_key"),
    [(ST_C[:7], 1, AK), (ST_C, -1, AK), (ST_C, 2**32, AK), (ST_C, 1, AK[:15])],
)
def test_gmac_response_refuses_bad_arguments(
    system_title: bytes, counter: int, authentication_key: bytes
) -> None:
    with pytest.raises(EncodeError):
        gmac_response(system_title, counter, EK, authentication_key, STOC)


@settings(deadline=None, max_examples=100)
@given(
    system_title=st.binary(min_size=8, max_size=8),
    counter=st.integers(0, 0xFFFF_FFFF),
    challenge=st.binary(min_size=8, max_size=64),
)
def test_gmac_matches_dlms_cosem_oracle(
    system_title: bytes, counter: int, challenge: bytes
) -> None:
    # dlms-cosem (BSL) is used only here, as an independent oracle.
    from dlms_cosem.security import (  # type: ignore[import-untyped]
        SecurityControlField,
        gmac,
    )

    control = SecurityControlField(security_suite=0, authenticated=True)
    tag = gmac(control, system_title, counter, EK, AK, challenge)
    expected = b"\x10" + counter.to_bytes(4, "big") + tag
    assert gmac_response(system_title, counter, EK, AK, challenge) == expected
    assert verify_gmac_response(expected, system_title, EK, AK, challenge) == counter


# ----------------------------------------------------------------------------- challenges


@pytest.mark.parametrize("length", [16, 32, 64])
def test_make_challenge_lengths(length: int) -> None:
    assert len(make_challenge(length)) == length


def test_make_challenge_default_and_freshness() -> None:
    challenges = {make_challenge() for _ in range(20)}
    assert len(challenges) == 20
    assert all(len(challenge) == 32 for challenge in challenges)


def test_make_challenge_uses_injected_source() -> None:
    requested: list[int] = []

    def source(size: int) -> bytes:
        requested.append(size)
        return bytes(range(size))

    assert make_challenge(20, random_source=source) == bytes(range(20))
    assert requested == [20]


@pytest.mark.parametrize("length", [0, 8, 15, 65, 1000])
def test_make_challenge_length_bounds(length: int) -> None:
    with pytest.raises(EncodeError):
        make_challenge(length)


def test_make_challenge_refuses_a_short_random_source() -> None:
    with pytest.raises(EncodeError):
        make_challenge(32, random_source=lambda size: bytes(size - 1))


# ----------------------------------------------------------------------------- passwords


def test_verify_password() -> None:
    assert verify_password(b"12345678", b"12345678")
    assert not verify_password(b"12345678", b"12345679")
    assert not verify_password(b"12345678", b"1234567")
    assert not verify_password(b"12345678", b"123456789")
    assert not verify_password(b"12345678", b"")
    assert not verify_password(b"", b"")  # no configured password never authenticates


def test_verify_password_uses_constant_time_compare(monkeypatch: pytest.MonkeyPatch) -> None:
    spy = CompareSpy()
    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert not verify_password(b"secret", b"other length")
    assert verify_password(b"secret", b"secret")
    assert spy.calls == 2


# ----------------------------------------------------------------------------- strategies


def test_hls_gmac_four_passes_reproduce_the_published_exchange() -> None:
    client: AuthenticationMechanismStrategy = HighLevelSecurityGmac(
        EK, AK, random_source=lambda size: CTOS
    )
    meter: AuthenticationMechanismStrategy = HighLevelSecurityGmac(
        EK, AK, random_source=lambda size: STOC
    )
    assert client.mechanism is AuthenticationMechanism.HIGH_GMAC
    assert int(client.mechanism) == 5
    assert client.requires_challenge_exchange
    # pass 1: AARQ with CtoS (the published example uses 8 bytes; we generate 32)
    client_to_server = CTOS
    meter.check_calling_authentication_value(client_to_server)
    # pass 2: AARE with StoC
    server_to_client = STOC
    client.check_responding_authentication_value(server_to_client)
    # pass 3: client answers f(StoC) with its own title and counter
    f_stoc = client.process_challenge(server_to_client, system_title=ST_C, invocation_counter=1)
    assert f_stoc == bytes.fromhex(V7["response"])
    assert meter.verify_processed_challenge(f_stoc, challenge=STOC, system_title=ST_C) == 1
    # pass 4: meter answers f(CtoS) with its own title and counter
    f_ctos = meter.process_challenge(
        client_to_server, system_title=ST_S, invocation_counter=0x01234567
    )
    assert f_ctos == bytes.fromhex(V8["response"])
    assert client.verify_processed_challenge(f_ctos, challenge=CTOS, system_title=ST_S) == (
        0x01234567
    )


def test_hls_gmac_generates_challenges_from_its_source() -> None:
    sizes: list[int] = []

    def source(size: int) -> bytes:
        sizes.append(size)
        return b"\xaa" * size

    strategy = HighLevelSecurityGmac(EK, AK, challenge_length=48, random_source=source)
    assert strategy.calling_authentication_value() == b"\xaa" * 48
    assert strategy.responding_authentication_value() == b"\xaa" * 48
    assert sizes == [48, 48]


def test_hls_gmac_rejects_a_wrong_pass_3() -> None:
    meter = HighLevelSecurityGmac(EK, AK)
    f_stoc = gmac_response(ST_C, 1, EK, AK, b"another challenge")
    with pytest.raises(AuthenticationFailed):
        meter.verify_processed_challenge(f_stoc, challenge=STOC, system_title=ST_C)
    impostor = HighLevelSecurityGmac(bytes(16), AK)
    forged = impostor.process_challenge(STOC, system_title=ST_C, invocation_counter=1)
    with pytest.raises(AuthenticationFailed):
        meter.verify_processed_challenge(forged, challenge=STOC, system_title=ST_C)


@pytest.mark.parametrize("value", [None, b"", b"1234567", bytes(65)])
def test_hls_gmac_refuses_bad_peer_challenges(value: bytes | None) -> None:
    strategy = HighLevelSecurityGmac(EK, AK)
    with pytest.raises(AuthenticationFailed):
        strategy.check_calling_authentication_value(value)
    with pytest.raises(AuthenticationFailed):
        strategy.check_responding_authentication_value(value)


@pytest.mark.parametrize("length", [8, 64])
def test_hls_gmac_accepts_peer_challenges_of_8_to_64_bytes(length: int) -> None:
    strategy = HighLevelSecurityGmac(EK, AK)
    strategy.check_calling_authentication_value(bytes(length))
    strategy.check_responding_authentication_value(bytes(length))


@pytest.mark.parametrize(
    ("encryption_key", "authentication_key", "challenge_length"),
    [(EK[:15], AK, 32), (EK, AK + b"\x00", 32), (EK, AK, 8), (EK, AK, 65)],
)
def test_hls_gmac_validates_its_configuration(
    encryption_key: bytes, authentication_key: bytes, challenge_length: int
) -> None:
    with pytest.raises(EncodeError):
        HighLevelSecurityGmac(encryption_key, authentication_key, challenge_length)


def test_low_level_security() -> None:
    strategy: AuthenticationMechanismStrategy = LowLevelSecurity(b"12345678")
    assert strategy.mechanism is AuthenticationMechanism.LOW
    assert int(strategy.mechanism) == 1
    assert not strategy.requires_challenge_exchange
    assert strategy.calling_authentication_value() == b"12345678"
    strategy.check_calling_authentication_value(b"12345678")
    for wrong in (None, b"", b"1234567", b"12345679", b"123456789"):
        with pytest.raises(AuthenticationFailed):
            strategy.check_calling_authentication_value(wrong)
    assert strategy.responding_authentication_value() is None
    strategy.check_responding_authentication_value(None)
    with pytest.raises(AuthenticationFailed):
        strategy.check_responding_authentication_value(b"challenge")


def test_low_level_security_with_empty_password_never_accepts() -> None:
    with pytest.raises(AuthenticationFailed):
        LowLevelSecurity(b"").check_calling_authentication_value(b"")


def test_no_authentication() -> None:
    strategy: AuthenticationMechanismStrategy = NoAuthentication()
    assert strategy.mechanism is AuthenticationMechanism.NONE
    assert int(strategy.mechanism) == 0
    assert not strategy.requires_challenge_exchange
    assert strategy.calling_authentication_value() is None
    assert strategy.responding_authentication_value() is None
    strategy.check_calling_authentication_value(None)
    with pytest.raises(AuthenticationFailed):
        strategy.check_calling_authentication_value(b"password")


@pytest.mark.parametrize("strategy", [NoAuthentication(), LowLevelSecurity(b"pw")])
def test_no_challenge_exchange_outside_hls(strategy: AuthenticationMechanismStrategy) -> None:
    with pytest.raises(LocalProtocolError):
        strategy.process_challenge(STOC, system_title=ST_C, invocation_counter=1)
    with pytest.raises(LocalProtocolError):
        strategy.verify_processed_challenge(
            bytes.fromhex(V7["response"]), challenge=STOC, system_title=ST_C
        )


def test_secrets_stay_out_of_repr() -> None:
    assert "secret" not in repr(LowLevelSecurity(b"secret"))
    text = repr(HighLevelSecurityGmac(EK, AK))
    assert EK.hex() not in text and repr(EK) not in text and repr(AK) not in text


def test_secret_holding_strategies_compare_by_identity_only() -> None:
    first, second = LowLevelSecurity(b"secret"), LowLevelSecurity(b"secret")
    assert first != second and first == first
    assert HighLevelSecurityGmac(EK, AK) != HighLevelSecurityGmac(EK, AK)
