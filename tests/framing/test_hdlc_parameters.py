"""SNRM/UA parameter negotiation field."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from securemeter.errors import DecodeError, EncodeError
from securemeter.framing.hdlc.parameters import HdlcParameters, negotiate

# Information field of a captured UA: max info 0x9A both ways, windows 1 (4-byte values).
UA_PARAMETERS = bytes.fromhex("81801205019A06019A070400000001080400000001")
# gurux-dlms SNRM with max info transmit 256, receive 512, window receive 3 (transmit omitted).
GURUX_SNRM_PARAMETERS = bytes.fromhex("81800E0502010006020200080400000003")


def test_empty_means_defaults() -> None:
    assert HdlcParameters.from_bytes(b"") == HdlcParameters(128, 128, 1, 1)


def test_captured_ua_parameters() -> None:
    parameters = HdlcParameters.from_bytes(UA_PARAMETERS)
    assert parameters == HdlcParameters(0x9A, 0x9A, 1, 1)
    assert parameters.to_bytes() == UA_PARAMETERS


def test_missing_parameters_take_defaults() -> None:
    assert HdlcParameters.from_bytes(GURUX_SNRM_PARAMETERS) == HdlcParameters(256, 512, 1, 3)


def test_two_byte_lengths_encoded() -> None:
    encoded = HdlcParameters(256, 2030, 7, 1).to_bytes()
    assert encoded == bytes.fromhex("81801405020100060207EE070400000007080400000001")
    assert HdlcParameters.from_bytes(encoded) == HdlcParameters(256, 2030, 7, 1)


def test_unknown_parameters_are_skipped() -> None:
    data = bytes.fromhex("818009 0901FF 050200C8 0700".replace(" ", ""))
    # 09 is unknown; 07 with a zero-length value is refused only when it is a known id.
    with pytest.raises(DecodeError):
        HdlcParameters.from_bytes(data)
    data = bytes.fromhex("818007 0901FF 050200C8".replace(" ", ""))
    assert HdlcParameters.from_bytes(data) == HdlcParameters(200, 128, 1, 1)


@pytest.mark.parametrize(
    "encoded",
    [
        "8180",
        "828003050180",  # wrong format identifier
        "818103050180",  # wrong group identifier
        "818004050180",  # group length too long
        "818002050180",  # group length too short
        "81800205",  # truncated parameter
        "8180030502",  # truncated value
        "81800605018005 0180",  # repeated parameter
        "818007 0505 0000000080",  # 5-byte value
    ],
)
def test_malformed(encoded: str) -> None:
    with pytest.raises(DecodeError):
        HdlcParameters.from_bytes(bytes.fromhex(encoded.replace(" ", "")))


def test_encode_out_of_range() -> None:
    with pytest.raises(EncodeError):
        HdlcParameters(0x10000, 128, 1, 1).to_bytes()


def test_reversed() -> None:
    assert HdlcParameters(1, 2, 3, 4).reversed() == HdlcParameters(2, 1, 4, 3)


def test_validity() -> None:
    assert HdlcParameters().is_valid()
    assert HdlcParameters(2030, 32, 7, 1).is_valid()
    assert not HdlcParameters(31, 128, 1, 1).is_valid()
    assert not HdlcParameters(128, 2031, 1, 1).is_valid()
    assert not HdlcParameters(128, 128, 0, 1).is_valid()
    assert not HdlcParameters(128, 128, 1, 8).is_valid()


def test_negotiate_takes_the_smaller_value_each_way() -> None:
    client = HdlcParameters(
        max_info_length_transmit=256,
        max_info_length_receive=1000,
        window_size_transmit=7,
        window_size_receive=2,
    )
    server_limits = HdlcParameters(512, 512, 3, 3)
    assert negotiate(client, server_limits) == HdlcParameters(
        max_info_length_transmit=512,  # server sends at most what the client receives (1000)
        max_info_length_receive=256,
        window_size_transmit=2,
        window_size_receive=3,
    )


def test_negotiate_defaults_when_client_sends_none() -> None:
    limits = HdlcParameters(1024, 1024, 7, 7)
    assert negotiate(HdlcParameters.from_bytes(b""), limits) == HdlcParameters(128, 128, 1, 1)


def test_negotiate_caps_values_above_the_standard() -> None:
    proposal = HdlcParameters(0xFFFF, 0xFFFF, 100, 100)
    assert negotiate(proposal, HdlcParameters(2030, 2030, 7, 7)) == HdlcParameters(2030, 2030, 7, 7)


@pytest.mark.parametrize(
    "proposal",
    [HdlcParameters(31, 128, 1, 1), HdlcParameters(128, 0, 1, 1), HdlcParameters(128, 128, 0, 1)],
)
def test_negotiate_refuses_unusable_proposals(proposal: HdlcParameters) -> None:
    assert negotiate(proposal, HdlcParameters()) is None


values = st.builds(
    HdlcParameters,
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFF),
)


@settings(deadline=None, max_examples=200)
@given(parameters=values)
def test_round_trip(parameters: HdlcParameters) -> None:
    assert HdlcParameters.from_bytes(parameters.to_bytes()) == parameters


@settings(deadline=None, max_examples=200)
@given(
    proposal=values,
    limits=st.builds(
        HdlcParameters,
        st.integers(32, 2030),
        st.integers(32, 2030),
        st.integers(1, 7),
        st.integers(1, 7),
    ),
)
def test_negotiated_values_never_exceed_either_side(
    proposal: HdlcParameters, limits: HdlcParameters
) -> None:
    result = negotiate(proposal, limits)
    if result is None:
        return
    assert result.is_valid()
    assert result.max_info_length_transmit <= proposal.max_info_length_receive
    assert result.max_info_length_receive <= proposal.max_info_length_transmit
    assert result.window_size_transmit <= proposal.window_size_receive
    assert result.window_size_receive <= proposal.window_size_transmit
    assert result.max_info_length_transmit <= limits.max_info_length_transmit


@settings(deadline=None, max_examples=300)
@given(data=st.binary(max_size=40))
def test_garbage_raises_only_decode_error(data: bytes) -> None:
    for candidate in (data, b"\x81\x80" + bytes((len(data),)) + data):
        with contextlib.suppress(DecodeError):
            HdlcParameters.from_bytes(candidate)
