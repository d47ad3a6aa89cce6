"""Replays: a recorded frame again in the same association, in a new association and after
the meter restarted (cleanly or killed), and a head-end that starts its counter over.

docs/SECURITY.md: a frame whose invocation counter is not greater than the last accepted one of
its role and key is refused with an exception-response (invocation-counter-error, carrying the
last accepted counter) and logged as ``replay``; a replayed ciphered initiate request gets the
uniform AARE (rejected-permanent, authentication-failure). Counters are kept across restarts.
"""

from __future__ import annotations

import pytest
from tests.attacks.support import (
    SECURITY,
    TEST_OCTETS,
    WRITER,
    HeadEnd,
    Target,
    aare_of,
    assert_still_serving,
    exception_of,
    fresh_head_end,
    last_accepted,
    reasons,
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
from securemeter.session.events import AssociationAccepted, Authenticated, ResponseReceived

FIRST = OctetString(b"first value")
SECOND = OctetString(b"second value")
REJECTED = (AssociationResult.REJECTED_PERMANENT, AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE)


def replay_refusal(last: int) -> ExceptionResponse:
    return ExceptionResponse(
        StateError.SERVICE_NOT_ALLOWED, ServiceError.INVOCATION_COUNTER_ERROR, last
    )


def recorded_writer_session(target: Target) -> tuple[list[bytes], bytes]:
    """A whole legitimate writer association, recorded: (every APDU it sent, its SET frame).

    The SET sets the test object to FIRST.
    """
    with fresh_head_end(target, WRITER) as writer:
        writer.associate()
        set_first = writer.frame(writer.set_request(1, TEST_OCTETS, 2, FIRST))
        event = writer.connection.receive(writer.send(set_first))
        assert isinstance(event, ResponseReceived)
        assert event.response.result == DataAccessResult.SUCCESS  # type: ignore[union-attr]
        writer.release()
    return writer.sent, set_first


def test_a_replay_in_the_same_association_is_refused(target: Target) -> None:
    with fresh_head_end(target, WRITER) as writer:
        writer.associate()
        set_first = writer.frame(writer.set_request(1, TEST_OCTETS, 2, FIRST))
        assert isinstance(writer.connection.receive(writer.send(set_first)), ResponseReceived)
        assert writer.set(1, TEST_OCTETS, 2, SECOND) == DataAccessResult.SUCCESS
        last = writer.counters.next_value - 1
        since = target.sequence(SECURITY)

        answer = exception_of(writer.send(set_first))

        assert answer == replay_refusal(last)
        assert "replay" in reasons(target, since)
        assert writer.get(1, TEST_OCTETS, 2) == SECOND  # the replayed SET did nothing
        writer.release()
    assert_still_serving(target, SECOND)


def test_a_replay_in_a_new_association_is_refused(target: Target) -> None:
    _, set_first = recorded_writer_session(target)
    with fresh_head_end(target, WRITER) as writer:
        writer.associate()
        assert writer.set(1, TEST_OCTETS, 2, SECOND) == DataAccessResult.SUCCESS
        since = target.sequence(SECURITY)

        answer = exception_of(writer.send(set_first))

        assert answer == replay_refusal(writer.counters.next_value - 1)
        assert "replay" in reasons(target, since)
        assert writer.get(1, TEST_OCTETS, 2) == SECOND
        writer.release()
    assert_still_serving(target, SECOND)


def test_a_replayed_association_request_is_refused(target: Target) -> None:
    sent, _ = recorded_writer_session(target)
    before = last_accepted(target, WRITER)
    since = target.sequence(SECURITY)

    with HeadEnd(target, WRITER) as attacker:
        aare = aare_of(attacker.send(sent[0]))  # the recorded AARQ

    assert (aare.result, aare.diagnostic) == REJECTED
    assert "replay" in reasons(target, since)
    assert last_accepted(target, WRITER) == before
    assert_still_serving(target, FIRST)


def test_a_replayed_pass_3_in_a_new_association_is_refused(target: Target) -> None:
    sent, _ = recorded_writer_session(target)
    with fresh_head_end(target, WRITER) as writer:
        event = writer.exchange(writer.connection.request_association(writer.proposal))
        assert isinstance(event, AssociationAccepted) and event.authentication_pending
        since = target.sequence(SECURITY)

        # The old association's reply_to_HLS_authentication: an old counter (and an f(StoC)
        # over the old challenge).
        answer = exception_of(writer.send(sent[1]))

        assert answer.service_error == ServiceError.INVOCATION_COUNTER_ERROR
        assert "replay" in reasons(target, since)
        # The legitimate pass 3 still completes the association.
        assert isinstance(writer.exchange(writer.connection.authenticate()), Authenticated)
        assert writer.get(1, TEST_OCTETS, 2) == FIRST
        writer.release()


@pytest.mark.parametrize("kill", [False, True], ids=["stopped", "killed"])
def test_counters_are_not_rolled_back_by_a_restart(target: Target, kill: bool) -> None:
    sent, set_first = recorded_writer_session(target)
    before = last_accepted(target, WRITER)

    target.restart(kill=kill)

    assert last_accepted(target, WRITER) == before
    since = target.sequence(SECURITY)
    # The recorded association request, as it was.
    with HeadEnd(target, WRITER) as attacker:
        aare = aare_of(attacker.send(sent[0]))
    assert (aare.result, aare.diagnostic) == REJECTED
    # A head-end that lost its counter and starts over at 1.
    with HeadEnd(target, WRITER, counter=1) as forgetful:
        aarq = forgetful.connection.request_association(forgetful.proposal)
        aare = aare_of(forgetful.send(aarq))
        assert (aare.result, aare.diagnostic) == REJECTED
    assert reasons(target, since).count("replay") == 2
    # The recorded SET, injected into a new legitimate association.
    with fresh_head_end(target, WRITER) as writer:
        writer.associate()
        assert writer.set(1, TEST_OCTETS, 2, SECOND) == DataAccessResult.SUCCESS
        since = target.sequence(SECURITY)

        answer = exception_of(writer.send(set_first))

        assert answer == replay_refusal(writer.counters.next_value - 1)
        assert "replay" in reasons(target, since)
        assert writer.get(1, TEST_OCTETS, 2) == SECOND
        writer.release()
    assert_still_serving(target, SECOND)
