"""Suite 0 APDU protection: published vectors, round trips, tampering and malformed input."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from securemeter.errors import AuthenticationFailed, DecipheringFailed, DecodeError, EncodeError
from securemeter.security.protect import (
    AUTHENTICATED,
    AUTHENTICATED_ENCRYPTED,
    ENCRYPTED,
    GENERAL_DED_CIPHERING,
    GENERAL_GLO_CIPHERING,
    CipherForm,
    FrameCipher,
    SecurityControl,
    UnprotectedApdu,
    cipher_apdu,
    ciphered_tag,
    decipher_apdu,
    decode_general_ciphering,
    decode_service_specific,
    encode_general_ciphering,
    encode_service_specific,
    is_ciphered,
    is_dedicated,
    plain_tag,
    protect,
    unprotect,
)

VECTORS = json.loads(
    (Path(__file__).parents[1] / "vectors" / "security_suite0.json").read_text("ascii")
)
INPUTS = {name: bytes.fromhex(value) for name, value in VECTORS["inputs"].items()}
ST_S = INPUTS["server_system_title"]
ST_C = INPUTS["client_system_title"]
EK = INPUTS["encryption_key"]
AK = INPUTS["authentication_key"]
IC = int.from_bytes(INPUTS["invocation_counter"], "big")
APDU_VECTORS: list[dict[str, Any]] = VECTORS["ciphered_apdus"]
REJECTED = (AuthenticationFailed, DecipheringFailed)


def vector(vector_id: str) -> dict[str, Any]:
    return next(item for item in APDU_VECTORS if item["id"] == vector_id)


def unwrap_outer(ciphered: bytes, form: str) -> bytes:
    """The security header and payload inside a ciphered APDU."""
    if form == "general":
        return decode_general_ciphering(ciphered)[2]
    return decode_service_specific(ciphered)[1]


# ----------------------------------------------------------------------------- SecurityControl


@pytest.mark.parametrize("value", range(256))
def test_security_control_round_trips_every_octet(value: int) -> None:
    control = SecurityControl.from_byte(value)
    assert control.to_byte() == value
    assert control.suite == value & 0x0F
    assert control.authenticated == bool(value & 0x10)
    assert control.encrypted == bool(value & 0x20)
    assert control.broadcast_key == bool(value & 0x40)
    assert control.compressed == bool(value & 0x80)


def test_security_control_constants_and_v6() -> None:
    assert (AUTHENTICATED, ENCRYPTED, AUTHENTICATED_ENCRYPTED) == (0x10, 0x20, 0x30)
    assert SecurityControl.AUTHENTICATED_ENCRYPTED == 0x30
    assert SecurityControl(authenticated=True, encrypted=True).to_byte() == 0x30
    every_flag = SecurityControl(
        authenticated=True, encrypted=True, broadcast_key=True, compressed=True
    )
    assert every_flag.to_byte() == 0xF0  # V6
    assert SecurityControl(suite=2, authenticated=True, encrypted=True).to_byte() == 0x32


@pytest.mark.parametrize("value", [-1, 256, 0x130])
def test_security_control_from_byte_refuses_non_octets(value: int) -> None:
    with pytest.raises(DecodeError):
        SecurityControl.from_byte(value)


@pytest.mark.parametrize("suite", [-1, 16])
def test_security_control_suite_must_fit_4_bits(suite: int) -> None:
    with pytest.raises(EncodeError):
        SecurityControl(suite=suite)


# ----------------------------------------------------------------------------- vectors


@pytest.mark.parametrize("item", APDU_VECTORS, ids=lambda item: item["id"])
def test_cipher_apdu_reproduces_vector(item: dict[str, Any]) -> None:
    ciphered = cipher_apdu(
        bytes.fromhex(item["plaintext"]),
        security_control=int(item["security_control"], 16),
        system_title=ST_S,
        invocation_counter=IC,
        encryption_key=EK,
        authentication_key=AK,
        general=item["form"] == "general",
    )
    assert ciphered == bytes.fromhex(item["ciphered"])


@pytest.mark.parametrize("item", APDU_VECTORS, ids=lambda item: item["id"])
def test_protect_gives_the_vector_payload(item: dict[str, Any]) -> None:
    ciphered = bytes.fromhex(item["ciphered"])
    payload = protect(
        int(item["security_control"], 16), ST_S, IC, EK, AK, bytes.fromhex(item["plaintext"])
    )
    assert payload == unwrap_outer(ciphered, item["form"])


@pytest.mark.parametrize("item", APDU_VECTORS, ids=lambda item: item["id"])
def test_unprotect_recovers_vector_plaintext(item: dict[str, Any]) -> None:
    ciphered = bytes.fromhex(item["ciphered"])
    result = unprotect(
        unwrap_outer(ciphered, item["form"]), ST_S, EK, AK, allow_encryption_only=True
    )
    assert result == UnprotectedApdu(
        int(item["security_control"], 16),
        IC,
        bytes.fromhex(item["plaintext"]),
    )


@pytest.mark.parametrize("item", APDU_VECTORS, ids=lambda item: item["id"])
def test_decipher_apdu_recovers_vector_plaintext(item: dict[str, Any]) -> None:
    ciphered = bytes.fromhex(item["ciphered"])
    result = decipher_apdu(
        ciphered,
        system_title=ST_S,
        encryption_key=EK,
        authentication_key=AK,
        allow_encryption_only=True,
    )
    assert result.apdu == bytes.fromhex(item["plaintext"])
    assert result.tag == ciphered[0]
    assert result.system_title == ST_S
    assert result.invocation_counter == IC
    assert result.security_control == int(item["security_control"], 16)
    assert result.control == SecurityControl.from_byte(result.security_control)


def test_general_glo_uses_carried_system_title_when_none_is_known() -> None:
    result = decipher_apdu(
        bytes.fromhex(vector("V5")["ciphered"]),
        system_title=None,
        encryption_key=EK,
        authentication_key=AK,
    )
    assert result.system_title == ST_S
    assert result.apdu == bytes.fromhex(vector("V5")["plaintext"])


def test_general_glo_with_empty_carried_title_uses_the_known_one() -> None:
    payload = protect(0x30, ST_S, IC, EK, AK, b"\xc0\x01\x00")
    ciphered = encode_general_ciphering(GENERAL_GLO_CIPHERING, b"", payload)
    result = decipher_apdu(ciphered, system_title=ST_S, encryption_key=EK, authentication_key=AK)
    assert result.apdu == b"\xc0\x01\x00"
    with pytest.raises(DecipheringFailed):
        decipher_apdu(ciphered, system_title=None, encryption_key=EK, authentication_key=AK)


def test_general_glo_title_must_match_the_known_peer() -> None:
    with pytest.raises(DecipheringFailed):
        decipher_apdu(
            bytes.fromhex(vector("V5")["ciphered"]),
            system_title=ST_C,
            encryption_key=EK,
            authentication_key=AK,
        )


def test_service_specific_needs_a_known_system_title() -> None:
    with pytest.raises(DecipheringFailed):
        decipher_apdu(
            bytes.fromhex(vector("V2")["ciphered"]),
            system_title=None,
            encryption_key=EK,
            authentication_key=AK,
        )


def test_general_ded_and_dedicated_tags() -> None:
    dedicated_key = bytes(range(16, 32))
    ciphered = cipher_apdu(
        b"\xc0\x01\xc1\x00\x08",
        security_control=0x30,
        system_title=ST_C,
        invocation_counter=7,
        encryption_key=dedicated_key,
        authentication_key=AK,
        general=True,
        dedicated=True,
    )
    assert ciphered[0] == GENERAL_DED_CIPHERING
    assert is_dedicated(ciphered[0])
    result = decipher_apdu(
        ciphered, system_title=ST_C, encryption_key=dedicated_key, authentication_key=AK
    )
    assert (result.apdu, result.invocation_counter) == (b"\xc0\x01\xc1\x00\x08", 7)
    with pytest.raises(AuthenticationFailed):
        decipher_apdu(ciphered, system_title=ST_C, encryption_key=EK, authentication_key=AK)
    ded_get = cipher_apdu(
        b"\xc0\x01\xc1",
        security_control=0x30,
        system_title=ST_C,
        invocation_counter=8,
        encryption_key=dedicated_key,
        authentication_key=AK,
        dedicated=True,
    )
    assert ded_get[0] == 0xD0
    assert is_dedicated(0xD0)
    assert not is_dedicated(0xC8)
    assert not is_dedicated(GENERAL_GLO_CIPHERING)


# ----------------------------------------------------------------------------- FrameCipher

DED_KEY = bytes(range(16, 32))
FORM_FLAGS = {
    CipherForm.GLOBAL: (False, False),
    CipherForm.DEDICATED: (False, True),
    CipherForm.GENERAL_GLOBAL: (True, False),
    CipherForm.GENERAL_DEDICATED: (True, True),
}


def association_ciphers(*, authentication_key: bytes = AK) -> tuple[FrameCipher, FrameCipher]:
    """The client's and the meter's cipher of one association with a dedicated key."""
    keys = {"key": EK, "authentication_key": authentication_key, "dedicated_key": DED_KEY}
    client = FrameCipher(local_title=ST_C, peer_title=ST_S, allow_encryption_only=True, **keys)
    meter = FrameCipher(local_title=ST_S, peer_title=ST_C, allow_encryption_only=True, **keys)
    return client, meter


@pytest.mark.parametrize("form", list(CipherForm))
@pytest.mark.parametrize("control", [AUTHENTICATED, ENCRYPTED, AUTHENTICATED_ENCRYPTED])
def test_frame_cipher_seals_what_cipher_apdu_does_and_opens_it(
    form: CipherForm, control: int
) -> None:
    client, meter = association_ciphers()
    apdu = b"\xc0\x01\xc1\x00\x08\x00\x00\x01\x00\x00\xff\x02\x00"
    sealed = client.seal(apdu, control, 41, form)
    general, dedicated = FORM_FLAGS[form]
    assert sealed == cipher_apdu(
        apdu,
        security_control=control,
        system_title=ST_C,
        invocation_counter=41,
        encryption_key=DED_KEY if dedicated else EK,
        authentication_key=AK,
        general=general,
        dedicated=dedicated,
    )
    opened = meter.open(sealed)
    assert (opened.apdu, opened.invocation_counter, opened.security_control) == (
        apdu,
        41,
        control,
    )
    assert (opened.form, opened.system_title) == (form, ST_C)
    # The meter's own answers are sealed under its title and refused by itself as the peer.
    answer = meter.seal(b"\xc4\x01\xc1\x00\x09\x00", control, 7, form)
    assert client.open(answer).apdu == b"\xc4\x01\xc1\x00\x09\x00"
    with pytest.raises(REJECTED):
        meter.open(answer)


def test_frame_cipher_checks_what_is_fixed_once() -> None:
    with pytest.raises(EncodeError, match="system title"):
        FrameCipher(local_title=b"SHORT", peer_title=None, key=EK, authentication_key=AK)
    with pytest.raises(EncodeError, match="system title"):
        FrameCipher(local_title=ST_S, peer_title=b"TOO-LONG-", key=EK, authentication_key=AK)
    with pytest.raises(EncodeError, match="16 bytes"):
        FrameCipher(local_title=ST_S, peer_title=ST_C, key=EK[:15], authentication_key=AK)
    opening_only = FrameCipher(local_title=None, peer_title=ST_C, key=EK, authentication_key=AK)
    with pytest.raises(EncodeError, match="only opens"):
        opening_only.seal(b"\xc0\x01", AUTHENTICATED_ENCRYPTED, 1, CipherForm.GLOBAL)


def test_frame_cipher_without_a_dedicated_key_refuses_the_dedicated_forms() -> None:
    client, _ = association_ciphers()
    meter = FrameCipher(local_title=ST_S, peer_title=ST_C, key=EK, authentication_key=AK)
    for form in (CipherForm.DEDICATED, CipherForm.GENERAL_DEDICATED):
        with pytest.raises(EncodeError, match="dedicated key"):
            meter.seal(b"\xc4\x01\xc1\x00\x09\x00", AUTHENTICATED_ENCRYPTED, 1, form)
        with pytest.raises(DecipheringFailed, match="dedicated key"):
            meter.open(client.seal(b"\xc0\x01\xc1", AUTHENTICATED_ENCRYPTED, 1, form))


def test_frame_cipher_needs_the_authentication_key_only_to_authenticate() -> None:
    client, meter = association_ciphers(authentication_key=AK[:8])
    sealed = client.seal(b"\xc0\x01\xc1", ENCRYPTED, 3, CipherForm.GLOBAL)
    assert meter.open(sealed).apdu == b"\xc0\x01\xc1"
    with pytest.raises(EncodeError, match="16 bytes"):
        client.seal(b"\xc0\x01\xc1", AUTHENTICATED_ENCRYPTED, 4, CipherForm.GLOBAL)
    good_client, _ = association_ciphers()
    with pytest.raises(DecipheringFailed, match="16 bytes"):
        meter.open(good_client.seal(b"\xc0\x01\xc1", AUTHENTICATED, 5, CipherForm.GLOBAL))


def test_frame_cipher_refuses_encryption_only_unless_allowed() -> None:
    client, meter = association_ciphers()
    strict = FrameCipher(local_title=ST_S, peer_title=ST_C, key=EK, authentication_key=AK)
    sealed = client.seal(b"\xc0\x01\xc1", ENCRYPTED, 6, CipherForm.GENERAL_GLOBAL)
    assert meter.open(sealed).apdu == b"\xc0\x01\xc1"
    with pytest.raises(DecipheringFailed, match="encryption-only"):
        strict.open(sealed)


# ----------------------------------------------------------------------------- tags


@pytest.mark.parametrize(
    ("plain", "glo", "ded"),
    [
        (0x01, 0x21, 0x41),
        (0x08, 0x28, 0x48),
        (0x0E, 0x2E, 0x4E),
        (0xC0, 0xC8, 0xD0),
        (0xC1, 0xC9, 0xD1),
        (0xC2, 0xCA, 0xD2),
        (0xC3, 0xCB, 0xD3),
        (0xC4, 0xCC, 0xD4),
        (0xC5, 0xCD, 0xD5),
        (0xC7, 0xCF, 0xD7),
    ],
)
def test_ciphered_tag_table(plain: int, glo: int, ded: int) -> None:
    assert ciphered_tag(plain) == glo
    assert ciphered_tag(plain, dedicated=True) == ded
    assert plain_tag(glo) == plain_tag(ded) == plain
    assert is_ciphered(glo) and is_ciphered(ded)
    assert not is_ciphered(plain)


def test_unknown_tags() -> None:
    assert is_ciphered(GENERAL_GLO_CIPHERING) and is_ciphered(GENERAL_DED_CIPHERING)
    with pytest.raises(EncodeError):
        ciphered_tag(0x60)  # AARQ has no ciphered form
    with pytest.raises(DecodeError):
        plain_tag(0xC0)


def test_outer_tag_must_match_the_protected_apdu() -> None:
    # A get-request protected and then framed as glo-set-request: the outer tag is not
    # authenticated, so decipher_apdu checks it against the APDU inside.
    payload = protect(0x30, ST_S, IC, EK, AK, bytes.fromhex("C001C100080000010000FF0200"))
    relabelled = encode_service_specific(0xC9, payload)
    with pytest.raises(DecipheringFailed):
        decipher_apdu(relabelled, system_title=ST_S, encryption_key=EK, authentication_key=AK)


# ----------------------------------------------------------------------------- framing helpers


@pytest.mark.parametrize("size", [1, 0x7F, 0x80, 0xFF, 0x100, 0x1234])
def test_service_specific_length_forms(size: int) -> None:
    payload = bytes(size)
    encoded = encode_service_specific(0xCC, payload)
    if size < 0x80:
        assert encoded[1] == size
    elif size <= 0xFF:
        assert encoded[1:3] == bytes((0x81, size))
    else:
        assert encoded[1:4] == b"\x82" + size.to_bytes(2, "big")
    assert decode_service_specific(encoded) == (0xCC, payload)


def test_long_apdu_round_trips_through_0x82_length() -> None:
    apdu = b"\xc4\x01\xc1\x00\x09\x82\x03\xe8" + bytes(1000)
    ciphered = cipher_apdu(
        apdu,
        security_control=0x30,
        system_title=ST_S,
        invocation_counter=IC,
        encryption_key=EK,
        authentication_key=AK,
    )
    assert ciphered[:2] == b"\xcc\x82"
    result = decipher_apdu(ciphered, system_title=ST_S, encryption_key=EK, authentication_key=AK)
    assert result.apdu == apdu


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "C0",  # not a ciphered tag
        "C8",  # no length
        "C805300123",  # length longer than the rest
        "C80130AA",  # trailing octet
        "C885FFFFFFFFFF",  # 5-octet length
    ],
)
def test_decode_service_specific_rejects(raw: str) -> None:
    with pytest.raises(DecodeError):
        decode_service_specific(bytes.fromhex(raw))


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "C8",  # not general
        "DB",  # no title length
        "DB084D4D4D",  # truncated title
        "DB084D4D4D0000BC614E",  # no payload length
        "DB084D4D4D0000BC614E0230",  # payload shorter than its length
        "DB084D4D4D0000BC614E013001",  # trailing octet
    ],
)
def test_decode_general_ciphering_rejects(raw: str) -> None:
    with pytest.raises(DecodeError):
        decode_general_ciphering(bytes.fromhex(raw))


def test_encode_helpers_refuse_wrong_tags() -> None:
    with pytest.raises(EncodeError):
        encode_service_specific(0xDB, b"\x30")
    with pytest.raises(EncodeError):
        encode_general_ciphering(0xC8, ST_S, b"\x30")


# ----------------------------------------------------------------------------- tampering


def flips(value: bytes) -> list[bytes]:
    """Every single-bit flip of ``value``."""
    result = []
    for bit in range(len(value) * 8):
        flipped = bytearray(value)
        flipped[bit // 8] ^= 0x80 >> (bit % 8)
        result.append(bytes(flipped))
    return result


@pytest.mark.parametrize("vector_id", ["V1", "V2", "V2P-10", "V3", "V4"])
def test_every_bit_flip_of_security_header_and_payload_is_rejected(vector_id: str) -> None:
    payload = decode_service_specific(bytes.fromhex(vector(vector_id)["ciphered"]))[1]
    for tampered in flips(payload):
        with pytest.raises(REJECTED):
            unprotect(tampered, ST_S, EK, AK)


@pytest.mark.parametrize("vector_id", ["V1", "V2", "V3", "V5"])
def test_every_bit_flip_of_whole_ciphered_apdu_is_rejected(vector_id: str) -> None:
    ciphered = bytes.fromhex(vector(vector_id)["ciphered"])
    for tampered in flips(ciphered):
        for known_title in (ST_S, None) if tampered[0] == GENERAL_GLO_CIPHERING else (ST_S,):
            with pytest.raises(REJECTED):
                decipher_apdu(
                    tampered, system_title=known_title, encryption_key=EK, authentication_key=AK
                )


def test_downgrade_to_encryption_only_is_refused_by_default() -> None:
    payload = decode_service_specific(bytes.fromhex(vector("V2")["ciphered"]))[1]
    downgraded = b"\x20" + payload[1:]  # clear the authentication bit of 0x30
    with pytest.raises(DecipheringFailed):
        unprotect(downgraded, ST_S, EK, AK)
    # With encryption-only allowed the receiver's policy must catch it: nothing here can.
    result = unprotect(downgraded, ST_S, EK, AK, allow_encryption_only=True)
    assert result.security_control == 0x20
    assert not result.control.authenticated


@pytest.mark.parametrize("vector_id", ["V1", "V3", "V5"])
def test_wrong_keys_and_titles_are_rejected(vector_id: str) -> None:
    item = vector(vector_id)
    payload = unwrap_outer(bytes.fromhex(item["ciphered"]), item["form"])
    other = bytes(16)
    with pytest.raises(AuthenticationFailed):
        unprotect(payload, ST_S, other, AK)
    with pytest.raises(AuthenticationFailed):
        unprotect(payload, ST_S, EK, other)
    with pytest.raises(AuthenticationFailed):
        unprotect(payload, ST_C, EK, AK)
    with pytest.raises(AuthenticationFailed):
        unprotect(payload, ST_S, AK, EK)  # keys swapped


@pytest.mark.parametrize("vector_id", ["V1", "V2", "V3"])
def test_truncated_payloads_are_rejected(vector_id: str) -> None:
    payload = decode_service_specific(bytes.fromhex(vector(vector_id)["ciphered"]))[1]
    for size in range(len(payload)):
        with pytest.raises(REJECTED):
            unprotect(payload[:size], ST_S, EK, AK)
    # the tag cut short but the payload still long enough to hold one
    with pytest.raises(AuthenticationFailed):
        unprotect(payload[:-1], ST_S, EK, AK)


def test_appended_bytes_are_rejected() -> None:
    payload = decode_service_specific(bytes.fromhex(vector("V2")["ciphered"]))[1]
    with pytest.raises(AuthenticationFailed):
        unprotect(payload + b"\x00", ST_S, EK, AK)


@pytest.mark.parametrize(
    ("control", "reason"),
    [
        (0x00, "neither"),
        (0x40, "neither (broadcast bit only)"),
        (0x31, "suite 1"),
        (0x32, "suite 2"),
        (0x3F, "suite 15"),
        (0xB0, "compressed"),
        (0x90, "compressed"),
    ],
)
def test_unsupported_security_controls_are_deciphering_failures(control: int, reason: str) -> None:
    payload = bytes((control,)) + bytes(4) + bytes(30)
    with pytest.raises(DecipheringFailed):
        unprotect(payload, ST_S, EK, AK, allow_encryption_only=True)


def test_broadcast_key_bit_selects_the_broadcast_key() -> None:
    broadcast_key = bytes(range(100, 116))
    payload = protect(0x70, ST_S, IC, broadcast_key, AK, b"\xc2\x00")
    with pytest.raises(DecipheringFailed):
        unprotect(payload, ST_S, EK, AK)
    result = unprotect(payload, ST_S, EK, AK, broadcast_encryption_key=broadcast_key)
    assert result.apdu == b"\xc2\x00"
    assert result.control.broadcast_key
    with pytest.raises(AuthenticationFailed):
        unprotect(payload, ST_S, EK, AK, broadcast_encryption_key=EK)


@pytest.mark.parametrize(
    ("system_title", "encryption_key", "authentication_key"),
    [
        (ST_S[:7], EK, AK),
        (ST_S + b"\x00", EK, AK),
        (ST_S, EK[:15], AK),
        (ST_S, EK, AK + b"\x00"),
        (ST_S, bytes(32), AK),
    ],
)
def test_unprotect_refuses_bad_sizes_with_deciphering_failed(
    system_title: bytes, encryption_key: bytes, authentication_key: bytes
) -> None:
    payload = decode_service_specific(bytes.fromhex(vector("V2")["ciphered"]))[1]
    with pytest.raises(DecipheringFailed):
        unprotect(payload, system_title, encryption_key, authentication_key)


# ----------------------------------------------------------------------------- protect arguments


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        ((0x00, ST_S, IC, EK, AK, b"\xc0"), "no protection"),
        ((0x31, ST_S, IC, EK, AK, b"\xc0"), "suite 1"),
        ((0xB0, ST_S, IC, EK, AK, b"\xc0"), "compression"),
        ((0x130, ST_S, IC, EK, AK, b"\xc0"), "not an octet"),
        ((0x30, ST_S[:7], IC, EK, AK, b"\xc0"), "short title"),
        ((0x30, ST_S, -1, EK, AK, b"\xc0"), "negative counter"),
        ((0x30, ST_S, 2**32, EK, AK, b"\xc0"), "counter too large"),
        ((0x30, ST_S, IC, EK[:8], AK, b"\xc0"), "short key"),
        ((0x10, ST_S, IC, EK, AK[:8], b"\xc0"), "short authentication key"),
        ((0x30, ST_S, IC, EK, AK, b""), "empty APDU"),
    ],
)
def test_protect_refuses_bad_arguments(arguments: tuple[Any, ...], reason: str) -> None:
    with pytest.raises(EncodeError):
        protect(*arguments)


def test_encryption_only_does_not_need_an_authentication_key() -> None:
    payload = protect(0x20, ST_S, 5, EK, b"", b"\xc0\x01")
    assert unprotect(payload, ST_S, EK, b"", allow_encryption_only=True).apdu == b"\xc0\x01"


def test_counter_extremes_are_carried_big_endian() -> None:
    for counter in (0, 1, 0xFFFF_FFFF):
        payload = protect(0x30, ST_S, counter, EK, AK, b"\xc0")
        assert payload[1:5] == counter.to_bytes(4, "big")
        assert unprotect(payload, ST_S, EK, AK).invocation_counter == counter


# ----------------------------------------------------------------------------- properties

apdus = st.binary(min_size=1, max_size=200)
titles = st.binary(min_size=8, max_size=8)
counters = st.integers(0, 0xFFFF_FFFF)
key_bytes = st.binary(min_size=16, max_size=16)
controls = st.sampled_from([0x10, 0x20, 0x30, 0x50, 0x60, 0x70])


@settings(deadline=None, max_examples=150)
@given(
    control=controls,
    title=titles,
    counter=counters,
    encryption_key=key_bytes,
    authentication_key=key_bytes,
    apdu=apdus,
)
def test_protect_unprotect_round_trip(
    control: int,
    title: bytes,
    counter: int,
    encryption_key: bytes,
    authentication_key: bytes,
    apdu: bytes,
) -> None:
    payload = protect(control, title, counter, encryption_key, authentication_key, apdu)
    broadcast = bool(control & 0x40)
    result = unprotect(
        payload,
        title,
        b"\xff" * 16 if broadcast else encryption_key,  # bit 6 must select the broadcast key
        authentication_key,
        broadcast_encryption_key=encryption_key if broadcast else None,
        allow_encryption_only=True,
    )
    assert result == UnprotectedApdu(control, counter, apdu)
    overhead = 5 + (12 if control & 0x10 else 0)
    assert len(payload) == len(apdu) + overhead


@settings(deadline=None, max_examples=300)
@given(raw=st.binary(max_size=80))
def test_unprotect_raises_only_security_errors_on_garbage(raw: bytes) -> None:
    with contextlib.suppress(*REJECTED):
        unprotect(raw, ST_S, EK, AK, allow_encryption_only=True)


@settings(deadline=None, max_examples=300)
@given(
    raw=st.one_of(
        st.binary(max_size=80),
        st.builds(
            lambda tag, rest: bytes((tag,)) + rest,
            st.sampled_from([0x21, 0xC8, 0xCC, 0xDB, 0xDC, 0xD0]),
            st.binary(max_size=80),
        ),
    ),
    known_title=st.sampled_from([ST_S, None]),
)
def test_decipher_apdu_raises_only_security_errors_on_garbage(
    raw: bytes, known_title: bytes | None
) -> None:
    with contextlib.suppress(*REJECTED):
        decipher_apdu(
            raw,
            system_title=known_title,
            encryption_key=EK,
            authentication_key=AK,
            allow_encryption_only=True,
        )


# ----------------------------------------------------------------------------- independent oracle


@settings(deadline=None, max_examples=40)
@given(
    control=st.sampled_from([0x10, 0x20, 0x30]),
    general=st.booleans(),
    title=titles,
    counter=counters,
    encryption_key=key_bytes,
    authentication_key=key_bytes,
    body=st.binary(max_size=120),
)
def test_matches_gurux_pure_python_gcm(
    control: int,
    general: bool,
    title: bytes,
    counter: int,
    encryption_key: bytes,
    authentication_key: bytes,
    body: bytes,
) -> None:
    # gurux-dlms (GPL) is used only here, as an independent oracle with its own AES-GCM.
    from gurux_dlms.AesGcmParameter import AesGcmParameter  # type: ignore[import-untyped]
    from gurux_dlms.GXDLMSChippering import GXDLMSChippering  # type: ignore[import-untyped]

    apdu = b"\xc0" + body
    tag = GENERAL_GLO_CIPHERING if general else 0xC8
    parameter = AesGcmParameter(tag, title, encryption_key, authentication_key)
    parameter.security = control
    parameter.invocationCounter = counter
    expected = bytes(GXDLMSChippering.encryptAesGcm(parameter, apdu))
    ours = cipher_apdu(
        apdu,
        security_control=control,
        system_title=title,
        invocation_counter=counter,
        encryption_key=encryption_key,
        authentication_key=authentication_key,
        general=general,
    )
    assert ours == expected


def test_package_attribute_protect_is_the_module() -> None:
    # Re-exporting the protect() function from the package would shadow the module, and
    # mock.patch("securemeter.security.protect.gcm_open") would then patch the wrong object.
    import securemeter.security
    import securemeter.security.protect as module

    assert securemeter.security.protect is module
    assert module.protect is protect
