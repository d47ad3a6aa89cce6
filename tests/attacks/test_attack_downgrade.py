"""Downgrades and HLS misuse: requests below the role's security policy, a dedicated key in a
clear initiate request, a second pass 3 and a bad f(StoC).

The answers are those of docs/SECURITY.md: a request below the policy gets an exception-response
(service-not-allowed, operation-not-possible) and ``protection-below-policy``; an initiate
request below the policy or with a dedicated key not encrypted gets the uniform AARE
(rejected-permanent, authentication-failure); a second reply_to_HLS_authentication gets
read-write-denied, a bad f(StoC) other-reason and ends the association (``bad-f-stoc`` both).
"""

from __future__ import annotations

import pytest
from tests.attacks.support import (
    AUTH_READER,
    AUTHENTICATED,
    AUTHENTICATED_ENCRYPTED,
    CLOCK,
    ENC_READER,
    ENCRYPTED,
    SECURITY,
    TEST_OCTETS,
    WRITER,
    HeadEnd,
    Target,
    aare_of,
    assert_still_serving,
    exception_of,
    fresh_head_end,
    hls_aarq,
    hls_reply,
    hls_reply_request,
    last_accepted,
    protect,
    read_answer,
    read_test_octets,
    reasons,
)

from securemeter.apdu.action import ActionResponseNormal
from securemeter.apdu.enums import (
    AcseServiceUserDiagnostic,
    ActionResult,
    AssociationResult,
    DataAccessResult,
    ServiceError,
    StateError,
)
from securemeter.apdu.errors import ExceptionResponse
from securemeter.apdu.set import SetResponseNormal
from securemeter.codec.axdr import OctetString
from securemeter.session.events import AssociationAccepted
from securemeter.session.protection import CipherForm

ORIGINAL = OctetString(b"set by the writer")
FORGED = OctetString(b"forged")
BELOW_POLICY = ExceptionResponse(
    StateError.SERVICE_NOT_ALLOWED, ServiceError.OPERATION_NOT_POSSIBLE
)
REJECTED = (AssociationResult.REJECTED_PERMANENT, AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE)
DEDICATED_KEY = bytes(range(16))
PROTECTIONS = {"plain": None, "auth-only": AUTHENTICATED, "encrypt-only": ENCRYPTED}


def writer_session(target: Target) -> HeadEnd:
    writer = fresh_head_end(target, WRITER)
    writer.associate()
    assert writer.set(1, TEST_OCTETS, 2, ORIGINAL) == DataAccessResult.SUCCESS
    return writer


# ---------------------------------------------------------------------------- below the policy


@pytest.mark.parametrize("protection", list(PROTECTIONS))
def test_a_request_below_the_writers_policy_is_refused(target: Target, protection: str) -> None:
    security_control = PROTECTIONS[protection]
    with writer_session(target) as writer:
        assert writer.keys is not None
        request = writer.set_request(1, TEST_OCTETS, 2, FORGED).to_bytes()
        attack = (
            request
            if security_control is None
            else protect(
                request,
                keys=writer.keys,
                counter=writer.counters.take(),
                security_control=security_control,
            )
        )
        since = target.sequence(SECURITY)

        answer = exception_of(writer.send(attack))

        assert answer == BELOW_POLICY
        assert "protection-below-policy" in reasons(target, since)
        assert writer.get(1, TEST_OCTETS, 2) == ORIGINAL
        writer.release()
    assert_still_serving(target, ORIGINAL)


@pytest.mark.parametrize("protection", ["plain", "encrypt-only"])
def test_a_read_below_the_auth_readers_policy_is_refused(target: Target, protection: str) -> None:
    security_control = PROTECTIONS[protection]
    with fresh_head_end(target, AUTH_READER, security_control=AUTHENTICATED) as reader:
        reader.associate()
        assert reader.keys is not None
        request = reader.get_request(1, TEST_OCTETS, 2).to_bytes()
        attack = (
            request
            if security_control is None
            else protect(
                request,
                keys=reader.keys,
                counter=reader.counters.take(),
                security_control=security_control,
            )
        )
        since = target.sequence(SECURITY)

        answer = exception_of(reader.send(attack))

        assert answer == BELOW_POLICY  # no data came back
        assert "protection-below-policy" in reasons(target, since)
        assert not isinstance(reader.get(1, TEST_OCTETS, 2), DataAccessResult)
        reader.release()


@pytest.mark.parametrize("security_control", [AUTHENTICATED, ENCRYPTED], ids=["auth", "enc"])
def test_an_initiate_request_below_the_policy_is_refused(
    target: Target, security_control: int
) -> None:
    keys = target.keys(WRITER)
    before = last_accepted(target, WRITER)
    baseline = read_test_octets(target)
    since = target.sequence(SECURITY)

    with HeadEnd(target, WRITER) as attacker:
        aarq = hls_aarq(keys=keys, counter=before + 1, security_control=security_control)
        aare = aare_of(attacker.send(aarq))

    assert (aare.result, aare.diagnostic) == REJECTED
    assert "protection-below-policy" in reasons(target, since)
    assert last_accepted(target, WRITER) == before  # its counter did not count
    assert_still_serving(target, baseline)


def test_a_plain_pass_3_is_refused(target: Target) -> None:
    with fresh_head_end(target, WRITER) as writer:
        event = writer.exchange(writer.connection.request_association(writer.proposal))
        assert isinstance(event, AssociationAccepted) and event.authentication_pending
        stoc = event.aare.responding_authentication_value
        assert stoc is not None
        plain = hls_reply_request(writer, stoc=stoc, counter=writer.counters.take())
        since = target.sequence(SECURITY)

        answer = exception_of(writer.send(plain))

        assert answer == BELOW_POLICY
        assert "protection-below-policy" in reasons(target, since)
        # Still waiting for a proper pass 3, which completes the association.
        writer.authenticate()
        assert not isinstance(writer.get(8, CLOCK, 2), DataAccessResult)
        writer.release()


# ---------------------------------------------------------------------------- dedicated key


@pytest.mark.parametrize(
    ("sap", "security_control"),
    [(WRITER, None), (AUTH_READER, AUTHENTICATED)],
    ids=["plain initiate request", "auth-only initiate request"],
)
def test_a_dedicated_key_in_clear_is_refused(
    target: Target, sap: int, security_control: int | None
) -> None:
    keys = target.keys(sap)
    before = last_accepted(target, sap)
    since = target.sequence(SECURITY)

    with HeadEnd(target, sap) as attacker:
        aarq = hls_aarq(
            keys=keys,
            counter=before + 1,
            ciphered=security_control is not None,
            security_control=security_control or AUTHENTICATED_ENCRYPTED,
            dedicated_key=DEDICATED_KEY,
        )
        aare = aare_of(attacker.send(aarq))
        # No association: a request under the offered dedicated key finds nobody to talk to.
        attack = protect(
            attacker.get_request(1, TEST_OCTETS, 2).to_bytes(),
            keys=keys,
            counter=before + 2,
            form=CipherForm.DEDICATED,
            encryption_key=DEDICATED_KEY,
        )
        refusal = exception_of(attacker.send(attack))

    assert (aare.result, aare.diagnostic) == REJECTED
    assert refusal.service_error == ServiceError.OPERATION_NOT_POSSIBLE
    assert "dedicated-key-in-clear" in reasons(target, since)
    assert_still_serving(target, read_test_octets(target))


# ---------------------------------------------------------------------------- pass 3 misuse


def test_a_second_pass_3_is_refused(target: Target) -> None:
    with writer_session(target) as writer:
        aare = aare_of(writer.received[0])
        stoc = aare.responding_authentication_value
        assert stoc is not None
        attack = hls_reply(
            writer, stoc=stoc, counter=writer.counters.take(), frame_counter=writer.counters.take()
        )
        since = target.sequence(SECURITY)

        answer = read_answer(writer.send(attack), target.system_title, writer.keys)

        assert answer.security_control == AUTHENTICATED_ENCRYPTED  # in the request's form
        assert answer.apdu == ActionResponseNormal(0xC1, ActionResult.READ_WRITE_DENIED, None)
        assert "bad-f-stoc" in reasons(target, since)
        # The association goes on.
        assert writer.get(1, TEST_OCTETS, 2) == ORIGINAL
        writer.release()
    assert_still_serving(target, ORIGINAL)


def test_a_bad_f_stoc_ends_the_association(target: Target) -> None:
    with fresh_head_end(target, WRITER) as writer:
        event = writer.exchange(writer.connection.request_association(writer.proposal))
        assert isinstance(event, AssociationAccepted) and event.authentication_pending
        attack = hls_reply(
            writer,
            stoc=b"not the meter's challenge",
            counter=writer.counters.take(),
            frame_counter=writer.counters.take(),
        )
        since = target.sequence(SECURITY)

        answer = read_answer(writer.send(attack), target.system_title, writer.keys)

        assert answer.apdu == ActionResponseNormal(0xC1, ActionResult.OTHER_REASON, None)
        assert "bad-f-stoc" in reasons(target, since)
        # Back to no association: even a properly ciphered request is not served.
        assert writer.keys is not None
        request = protect(
            writer.set_request(1, TEST_OCTETS, 2, FORGED).to_bytes(),
            keys=writer.keys,
            counter=writer.counters.take(),
        )
        refusal = exception_of(writer.send(request))
        assert refusal.service_error == ServiceError.OPERATION_NOT_POSSIBLE
    assert read_test_octets(target) != FORGED
    assert_still_serving(target, read_test_octets(target))


# ---------------------------------------------------------------------------- encrypt-only


def test_an_encrypt_only_role_changes_nothing(target: Target) -> None:
    # Encrypt-only frames have no tag (docs/SECURITY.md); the rule that such roles are
    # read-only is what keeps a forged frame harmless.
    baseline = read_test_octets(target)
    with fresh_head_end(target, ENC_READER, security_control=ENCRYPTED) as reader:
        reader.associate()
        request = reader.frame(reader.set_request(1, TEST_OCTETS, 2, FORGED))

        answer = read_answer(reader.send(request), target.system_title, reader.keys)

        assert answer.security_control == ENCRYPTED
        assert isinstance(answer.apdu, SetResponseNormal)
        assert answer.apdu.result == DataAccessResult.READ_WRITE_DENIED
        reader.release()
    assert read_test_octets(target) == baseline
