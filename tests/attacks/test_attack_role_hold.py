"""Holding a role without its keys: a role with keys has one association at a time
(docs/SECURITY.md, "Concurrency"), and the AARQ of an HLS-GMAC association may come in clear.
An accepted AARQ therefore proves nothing; only an association that authenticated (pass 4)
holds the role. Before, an AARQ with a clear initiate request locked the role's owner out
(role-busy) for as long as its sender kept the link open, without any key.
"""

from __future__ import annotations

import pytest
from tests.attacks.support import (
    CURRENT_ASSOCIATION,
    SECURITY,
    TEST_OCTETS,
    WRITER,
    HeadEnd,
    NoAnswer,
    RoleKeys,
    Target,
    aare_of,
    assert_still_serving,
    fresh_head_end,
    hls_aarq,
    hls_reply,
    read_answer,
    read_test_octets,
    reasons,
)

from securemeter.apdu.action import ActionResponseNormal
from securemeter.apdu.enums import ActionResult, AssociationResult, DataAccessResult
from securemeter.codec.axdr import OctetString
from securemeter.session.events import AssociationAccepted

NO_KEYS = RoleKeys(WRITER, bytes(16), bytes(16), bytes(16))
VALUE = OctetString(b"written while someone held an AARQ open")


def test_an_unauthenticated_association_request_holds_nothing(target: Target) -> None:
    baseline = read_test_octets(target)
    with HeadEnd(target, WRITER, keys=NO_KEYS) as squatter:
        # No key is needed for this: the initiate request in clear, any challenge and title.
        aare = aare_of(squatter.send(hls_aarq(keys=NO_KEYS, counter=1, ciphered=False)))
        assert aare.result == AssociationResult.ACCEPTED  # pending pass 3
        stoc = aare.responding_authentication_value
        assert stoc is not None

        # The owner of the role associates and works while that link stays open.
        with fresh_head_end(target, WRITER) as writer:
            writer.associate()
            assert writer.get(1, TEST_OCTETS, 2) == baseline
            assert writer.set(1, TEST_OCTETS, 2, VALUE) == DataAccessResult.SUCCESS
            writer.release()

        # Without the keys the squatter cannot complete pass 3.
        since = target.sequence(SECURITY)
        answer = read_answer(
            squatter.send(hls_reply(squatter, stoc=stoc, counter=2, frame_counter=3)),
            target.system_title,
            target.keys(WRITER),
        )
        assert answer.security_control is None  # refused in clear: its frame did not decipher
        assert "authentication-failed" in reasons(target, since)
    assert_still_serving(target, VALUE)


def test_of_two_waiting_associations_the_first_to_authenticate_holds_the_role(
    target: Target,
) -> None:
    first = fresh_head_end(target, WRITER)
    base = first.counters.next_value
    second = HeadEnd(target, WRITER, counter=base + 1)
    try:
        # Both AARQs are accepted, each waiting for its pass 3. The role's counters are shared,
        # so each frame takes the next value in the order the meter sees them.
        accepted = first.exchange(first.connection.request_association(first.proposal))
        assert isinstance(accepted, AssociationAccepted) and accepted.authentication_pending
        accepted = second.exchange(second.connection.request_association(second.proposal))
        assert isinstance(accepted, AssociationAccepted) and accepted.authentication_pending

        second.counters.next_value = base + 2
        second.authenticate()  # the second authenticates first: it holds the role
        first.counters.next_value = second.counters.next_value
        since = target.sequence(SECURITY)
        with pytest.raises(NoAnswer):  # no pass 4, and the link is closed
            first.exchange(first.connection.authenticate())
        assert "role-busy" in reasons(target, since)

        # The refused pass 3 still authenticated, so its counters count for the role.
        second.counters.next_value = first.counters.next_value
        assert second.set(1, TEST_OCTETS, 2, VALUE) == DataAccessResult.SUCCESS
        response = second.action(15, CURRENT_ASSOCIATION, 1, OctetString(bytes(17)))
        assert isinstance(response, ActionResponseNormal)
        assert response.result == ActionResult.READ_WRITE_DENIED  # it is authenticated already
        second.release()
    finally:
        first.channel.disconnect()
        second.close()
    assert_still_serving(target, VALUE)
