"""SecurityContext: the association's cipher follows what is learnt while associating."""

from __future__ import annotations

import pytest

from securemeter.errors import AuthenticationFailed, DecipheringFailed, EncodeError
from securemeter.security.protect import cipher_apdu
from securemeter.session.protection import CipherForm, SecurityContext, decipher, encipher

METER = b"METER001"
CLIENT = b"CLIENT01"
OTHER = b"CLIENT02"
EK = bytes(range(16))
AK = bytes(range(16, 32))
DEDICATED = bytes(range(32, 48))
GET = b"\xc0\x01\xc1\x00\x08\x00\x00\x01\x00\x00\xff\x02\x00"
ANSWER = b"\xc4\x01\xc1\x00\x09\x00"


def meter_context(**overrides: object) -> SecurityContext:
    counters = iter(range(100, 200))
    fields: dict[str, object] = {
        "local_system_title": METER,
        "peer_system_title": None,
        "encryption_key": EK,
        "authentication_key": AK,
        "accept_incoming": lambda counter: None,
        "last_incoming": lambda: None,
        "next_outgoing": lambda: next(counters),
    }
    fields.update(overrides)
    return SecurityContext(**fields)  # type: ignore[arg-type]


def client_frame(counter: int, *, title: bytes = CLIENT, dedicated: bool = False) -> bytes:
    return cipher_apdu(
        GET,
        security_control=0x30,
        system_title=title,
        invocation_counter=counter,
        encryption_key=DEDICATED if dedicated else EK,
        authentication_key=AK,
        dedicated=dedicated,
    )


def test_frames_are_refused_until_the_peer_title_is_known() -> None:
    context = meter_context()
    with pytest.raises(DecipheringFailed, match="no peer system title"):
        decipher(client_frame(1), context)
    context.peer_system_title = CLIENT
    assert decipher(client_frame(1), context).apdu == GET


def test_a_new_peer_title_replaces_the_cipher() -> None:
    context = meter_context(peer_system_title=CLIENT)
    assert decipher(client_frame(1), context).apdu == GET  # the cipher is built now
    context.peer_system_title = OTHER
    assert decipher(client_frame(2, title=OTHER), context).apdu == GET
    with pytest.raises(AuthenticationFailed):
        decipher(client_frame(3), context)


def test_a_dedicated_key_learnt_later_serves_the_ded_forms() -> None:
    context = meter_context(peer_system_title=CLIENT)
    assert decipher(client_frame(1), context).apdu == GET  # built without a dedicated key
    with pytest.raises(DecipheringFailed, match="dedicated key"):
        decipher(client_frame(2, dedicated=True), context)
    with pytest.raises(EncodeError, match="dedicated key"):
        encipher(ANSWER, context, CipherForm.DEDICATED, 0x30)
    context.dedicated_key = DEDICATED
    opened = decipher(client_frame(3, dedicated=True), context)
    assert (opened.apdu, opened.form) == (GET, CipherForm.DEDICATED)
    answer = encipher(ANSWER, context, CipherForm.DEDICATED, 0x30)
    assert answer[0] == 0xD4
    context.dedicated_key = None
    with pytest.raises(DecipheringFailed, match="dedicated key"):
        decipher(client_frame(4, dedicated=True), context)


def test_answers_take_the_next_outgoing_counter() -> None:
    context = meter_context(peer_system_title=CLIENT)
    first = encipher(ANSWER, context, CipherForm.GENERAL_GLOBAL, 0x30)
    second = encipher(ANSWER, context, CipherForm.GENERAL_GLOBAL, 0x30)
    # general-glo: tag, title length, title, length, SC, then the counter
    assert int.from_bytes(first[12:16], "big") == 100
    assert int.from_bytes(second[12:16], "big") == 101


def test_an_unsupported_suite_refuses_every_frame() -> None:
    context = meter_context(peer_system_title=CLIENT, security_suite=1)
    with pytest.raises(DecipheringFailed, match="suite 1"):
        decipher(client_frame(1), context)
    with pytest.raises(DecipheringFailed, match="suite 1"):
        encipher(ANSWER, context, CipherForm.GLOBAL, 0x30)


def test_keys_and_the_local_title_are_fixed() -> None:
    context = meter_context()
    with pytest.raises(AttributeError):
        context.encryption_key = AK  # type: ignore[misc]
    with pytest.raises(AttributeError):
        context.local_system_title = CLIENT  # type: ignore[misc]


def test_the_repr_shows_no_key() -> None:
    context = meter_context(peer_system_title=CLIENT, dedicated_key=DEDICATED)
    for secret in (EK, AK, DEDICATED):
        assert repr(secret) not in repr(context)
        assert secret.hex() not in repr(context)
