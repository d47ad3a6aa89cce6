"""Attacks on suite 0 ciphering: wrong keys, another role's keys, bit flips, a truncated tag.

Each attack is an AARQ or a SET of the test object (0.0.128.0.0.255) that a man in the middle
built or changed. Each must be refused with the answer docs/SECURITY.md gives, change nothing,
leave a security log record with its reason, and leave the meter serving the legitimate writer.
"""

from __future__ import annotations

import pytest
from tests.attacks.support import (
    AUTHENTICATED_ENCRYPTED,
    READER,
    SECURITY,
    TEST_OCTETS,
    WRITER,
    HeadEnd,
    RoleKeys,
    Target,
    aare_of,
    assert_still_serving,
    exception_of,
    flip_bit,
    fresh_head_end,
    hls_aarq,
    last_accepted,
    payload_offset,
    protect,
    read_test_octets,
    reasons,
    truncate_tag,
)

from securemeter.apdu.enums import (
    AcseServiceUserDiagnostic,
    AssociationResult,
    DataAccessResult,
    ServiceError,
    StateError,
)
from securemeter.apdu.errors import ExceptionResponse
from securemeter.codec.axdr import OctetString

ORIGINAL = OctetString(b"set by the writer")
FORGED = OctetString(b"forged")
WRONG_KEY = bytes.fromhex("00112233445566778899aabbccddeeff")
DECIPHERING_ERROR = ExceptionResponse(
    StateError.SERVICE_NOT_ALLOWED, ServiceError.DECIPHERING_ERROR
)
REJECTED = (AssociationResult.REJECTED_PERMANENT, AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE)


def writer_session(target: Target) -> HeadEnd:
    """The legitimate writer, associated, having set the test object to ORIGINAL."""
    writer = fresh_head_end(target, WRITER)
    writer.associate()
    assert writer.set(1, TEST_OCTETS, 2, ORIGINAL) == DataAccessResult.SUCCESS
    return writer


def forged_set(writer: HeadEnd) -> bytes:
    """The writer's next SET frame, with FORGED as the value (one counter used, not sent)."""
    return writer.frame(writer.set_request(1, TEST_OCTETS, 2, FORGED))


def assert_refused_in_association(
    target: Target, writer: HeadEnd, attack: bytes, reason: str
) -> None:
    """``attack`` inside the writer's association: refused, logged, nothing changed, and the
    association goes on."""
    since = target.sequence(SECURITY)

    answer = exception_of(writer.send(attack))

    assert answer == DECIPHERING_ERROR
    assert reason in reasons(target, since)
    assert writer.get(1, TEST_OCTETS, 2) == ORIGINAL  # not acted on; association still usable


def assert_aarq_refused(target: Target, sap: int, aarq: bytes, reason: str) -> None:
    since = target.sequence(SECURITY)
    with HeadEnd(target, sap) as attacker:
        aare = aare_of(attacker.send(aarq))
        assert (aare.result, aare.diagnostic) == REJECTED
        assert aare.user_information is None  # nothing ciphered comes back
        # No association came of it: a request is answered "not associated".
        get = attacker.get_request(1, TEST_OCTETS, 2).to_bytes()
        refusal = exception_of(attacker.send(get))
        assert refusal.service_error == ServiceError.OPERATION_NOT_POSSIBLE
    assert reason in reasons(target, since)


# ---------------------------------------------------------------------------- wrong keys


@pytest.mark.parametrize("key", ["encryption", "authentication"])
def test_a_request_under_a_wrong_key_is_refused(target: Target, key: str) -> None:
    with writer_session(target) as writer:
        keys = writer.keys
        assert keys is not None
        wrong = RoleKeys(
            WRITER,
            WRONG_KEY if key == "encryption" else keys.encryption_key,
            WRONG_KEY if key == "authentication" else keys.authentication_key,
            keys.key_encryption_key,
        )
        request = writer.set_request(1, TEST_OCTETS, 2, FORGED).to_bytes()
        attack = protect(request, keys=wrong, counter=writer.counters.take())

        assert_refused_in_association(target, writer, attack, "authentication-failed")
        writer.release()
    assert_still_serving(target, ORIGINAL)


@pytest.mark.parametrize("key", ["encryption", "authentication"])
def test_an_association_under_a_wrong_key_is_refused(target: Target, key: str) -> None:
    keys = target.keys(WRITER)
    wrong = RoleKeys(
        WRITER,
        WRONG_KEY if key == "encryption" else keys.encryption_key,
        WRONG_KEY if key == "authentication" else keys.authentication_key,
        keys.key_encryption_key,
    )
    before = last_accepted(target, WRITER)
    baseline = read_test_octets(target)

    assert_aarq_refused(
        target, WRITER, hls_aarq(keys=wrong, counter=before + 1), "deciphering-failed"
    )

    assert last_accepted(target, WRITER) == before  # the forged counter did not count
    assert_still_serving(target, baseline)


# ---------------------------------------------------------------------------- another role


def test_a_request_under_another_roles_keys_is_refused(target: Target) -> None:
    # The reader's keys are real keys of this meter, just not the writer's.
    reader_keys = target.keys(READER)
    with writer_session(target) as writer:
        request = writer.set_request(1, TEST_OCTETS, 2, FORGED).to_bytes()
        attack = protect(request, keys=reader_keys, counter=writer.counters.take())

        assert_refused_in_association(target, writer, attack, "authentication-failed")
        writer.release()
    assert_still_serving(target, ORIGINAL)


def test_an_association_under_another_roles_keys_is_refused(target: Target) -> None:
    attack = hls_aarq(keys=target.keys(READER), counter=last_accepted(target, READER) + 1)
    baseline = read_test_octets(target)

    assert_aarq_refused(target, WRITER, attack, "deciphering-failed")

    assert_still_serving(target, baseline)


def test_a_frame_from_another_system_title_is_refused(target: Target) -> None:
    # general-glo carries the sender's title; a frame from another client (right keys) is not
    # the associated client's.
    with writer_session(target) as writer:
        keys = writer.keys
        assert keys is not None
        request = writer.set_request(1, TEST_OCTETS, 2, FORGED).to_bytes()
        attack = protect(
            request, keys=keys, counter=writer.counters.take(), system_title=b"EVE00001"
        )

        assert_refused_in_association(target, writer, attack, "deciphering-failed")
        writer.release()
    assert_still_serving(target, ORIGINAL)


# ---------------------------------------------------------------------------- bit flips


def _header(frame: bytes) -> int:
    return payload_offset(frame)


FLIPS = {
    # where: (offset in the frame, mask); the security header is SC (1) then IC (4)
    "ciphertext first octet": (lambda frame: _header(frame) + 5, 0x01),
    "ciphertext last octet": (lambda frame: -13, 0x80),
    "tag first octet": (lambda frame: -12, 0x01),
    "tag last octet": (lambda frame: -1, 0x80),
    "invocation counter": (lambda frame: _header(frame) + 4, 0x01),
    "security suite": (lambda frame: _header(frame), 0x01),
}


@pytest.mark.parametrize("where", list(FLIPS))
def test_a_bit_flipped_request_is_refused(target: Target, where: str) -> None:
    offset, mask = FLIPS[where]
    with writer_session(target) as writer:
        frame = forged_set(writer)
        attack = flip_bit(frame, offset(frame), mask)
        reason = "deciphering-failed" if where == "security suite" else "authentication-failed"

        assert_refused_in_association(target, writer, attack, reason)
        writer.release()
    assert_still_serving(target, ORIGINAL)


def test_authentication_bit_cleared_is_refused_as_below_policy(target: Target) -> None:
    # 0x30 -> 0x20 turns the frame into an encrypt-only one without a tag: it deciphers (the
    # tag's octets become trailing garbage) but is below the writer's auth+enc policy.
    with writer_session(target) as writer:
        frame = forged_set(writer)
        attack = flip_bit(frame, payload_offset(frame), 0x10)
        assert attack[payload_offset(frame)] == AUTHENTICATED_ENCRYPTED ^ 0x10
        since = target.sequence(SECURITY)

        answer = exception_of(writer.send(attack))

        assert answer == ExceptionResponse(
            StateError.SERVICE_NOT_ALLOWED, ServiceError.OPERATION_NOT_POSSIBLE
        )
        assert "protection-below-policy" in reasons(target, since)
        assert writer.get(1, TEST_OCTETS, 2) == ORIGINAL
        writer.release()
    assert_still_serving(target, ORIGINAL)


@pytest.mark.parametrize("octets", [1, 4, 12])
def test_a_truncated_tag_is_refused(target: Target, octets: int) -> None:
    with writer_session(target) as writer:
        attack = truncate_tag(forged_set(writer), octets)

        assert_refused_in_association(target, writer, attack, "authentication-failed")
        writer.release()
    assert_still_serving(target, ORIGINAL)
