"""Key transfer end to end: the security admin replaces a role's keys (Security setup
key_transfer, RFC 3394 wrapped with the role's KEK); the new keys work from the role's next
association, the old ones are refused from then on, and no key can be installed twice.

Product rule (docs/SECURITY.md, "Key management"): a transferred key applies from the role's
next association; an association that is running keeps the keys it started with.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.attacks.support import (
    ADMIN,
    CLOCK,
    READER,
    SECURITY,
    WRITER,
    HeadEnd,
    MemoryTarget,
    ProcessTarget,
    RoleKeys,
    Target,
    aare_of,
    fresh_head_end,
    hls_aarq,
    last_accepted,
    reasons,
    security_setup_name,
)

from securemeter.apdu.action import ActionResponseNormal
from securemeter.apdu.enums import (
    AcseServiceUserDiagnostic,
    ActionResult,
    AssociationResult,
    DataAccessResult,
)
from securemeter.codec.axdr import Data
from securemeter.meter.logbook import EventCode
from securemeter.security.keywrap import KeyId, wrap_keys_for_transfer

SECURITY_SETUP = 64
KEY_TRANSFER = 2
NEW_ENCRYPTION_KEY = bytes.fromhex("7d3f9a0c5be1482296e4a1c3d5f70b19")
NEW_AUTHENTICATION_KEY = bytes.fromhex("c40e6b9d2a17f35880ce49b2d16a7f03")
REJECTED = (AssociationResult.REJECTED_PERMANENT, AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE)


@pytest.fixture(params=["memory", "process"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    """A fresh meter for each test: a key transfer changes the meter for good."""
    if request.param == "memory":
        yield MemoryTarget()
        return
    meter = ProcessTarget.start(tmp_path)
    try:
        yield meter
    finally:
        if meter.process.alive:
            meter.process.stop()


def transfer(
    target: Target, role_keys: RoleKeys, keys: list[tuple[KeyId, bytes]]
) -> ActionResponseNormal:
    """key_transfer for ``role_keys``' role, invoked by the security admin."""
    parameter: Data = wrap_keys_for_transfer(role_keys.key_encryption_key, keys)
    with fresh_head_end(target, ADMIN) as admin:
        admin.associate()
        response = admin.action(
            SECURITY_SETUP, security_setup_name(role_keys.sap), KEY_TRANSFER, parameter
        )
        admin.release()
    return response


def reads_the_clock(target: Target, keys: RoleKeys, counter: int) -> bool:
    """Whether an association with ``keys`` is accepted and serves a GET."""
    with HeadEnd(target, keys.sap, keys=keys, counter=counter) as head:
        head.associate()
        value = head.get(8, CLOCK, 2)
        head.release()
    return not isinstance(value, DataAccessResult)


def test_new_keys_apply_from_the_next_association(target: Target) -> None:
    old = target.keys(READER)
    new = RoleKeys(READER, NEW_ENCRYPTION_KEY, NEW_AUTHENTICATION_KEY, old.key_encryption_key)
    running = fresh_head_end(target, READER)
    running.associate()
    since = target.sequence(SECURITY)

    response = transfer(
        target,
        old,
        [
            (KeyId.GLOBAL_UNICAST_ENCRYPTION, NEW_ENCRYPTION_KEY),
            (KeyId.AUTHENTICATION, NEW_AUTHENTICATION_KEY),
        ],
    )

    assert response.result == ActionResult.SUCCESS
    records = target.records(SECURITY, since)
    assert [r for r in records if r.event_code == EventCode.GLOBAL_KEYS_CHANGED]
    # The running association keeps the keys it started with.
    assert not isinstance(running.get(8, CLOCK, 2), DataAccessResult)
    old_counter = running.counters.next_value
    running.release()
    running.close()
    # The next association: the old keys are refused, the new ones work (a new EK starts a
    # fresh counter space, so counter 1 is fine again).
    since = target.sequence(SECURITY)
    with HeadEnd(target, READER, keys=old, counter=old_counter) as stale:
        aare = aare_of(stale.send(hls_aarq(keys=old, counter=old_counter)))
    assert (aare.result, aare.diagnostic) == REJECTED
    assert "deciphering-failed" in reasons(target, since)
    assert reads_the_clock(target, new, counter=1)
    assert last_accepted(target, READER) > 1


def test_a_frame_under_the_old_keys_is_refused_in_a_new_association(target: Target) -> None:
    old = target.keys(READER)
    new = RoleKeys(READER, NEW_ENCRYPTION_KEY, NEW_AUTHENTICATION_KEY, old.key_encryption_key)
    with fresh_head_end(target, READER) as before:
        before.associate()
        recorded = before.frame(before.get_request(8, CLOCK, 2))
        before.release()
    assert (
        transfer(
            target,
            old,
            [
                (KeyId.GLOBAL_UNICAST_ENCRYPTION, NEW_ENCRYPTION_KEY),
                (KeyId.AUTHENTICATION, NEW_AUTHENTICATION_KEY),
            ],
        ).result
        == ActionResult.SUCCESS
    )

    with HeadEnd(target, READER, keys=new, counter=1) as after:
        after.associate()
        since = target.sequence(SECURITY)
        answer = after.send(recorded)
        assert answer[0] == 0xD8  # exception-response: it does not authenticate
        assert "authentication-failed" in reasons(target, since)
        assert not isinstance(after.get(8, CLOCK, 2), DataAccessResult)
        after.release()


@pytest.mark.parametrize("which", ["current", "previous", "another role's"])
def test_reinstalling_a_key_is_refused(target: Target, which: str) -> None:
    old = target.keys(READER)
    if which == "previous":
        assert (
            transfer(target, old, [(KeyId.GLOBAL_UNICAST_ENCRYPTION, NEW_ENCRYPTION_KEY)]).result
            == ActionResult.SUCCESS
        )
    current = RoleKeys(
        READER,
        NEW_ENCRYPTION_KEY if which == "previous" else old.encryption_key,
        old.authentication_key,
        old.key_encryption_key,
    )
    again = {
        "current": old.encryption_key,
        "previous": old.encryption_key,
        "another role's": target.keys(WRITER).encryption_key,
    }[which]
    since = target.sequence(SECURITY)

    response = transfer(target, old, [(KeyId.GLOBAL_UNICAST_ENCRYPTION, again)])

    assert response.result == ActionResult.OTHER_REASON
    assert "key-reused" in reasons(target, since)
    # Nothing changed: the role's current keys still work.
    assert reads_the_clock(target, current, counter=last_accepted(target, READER) + 1)


def test_only_the_security_admin_may_transfer_keys(target: Target) -> None:
    writer_keys = target.keys(WRITER)
    parameter = wrap_keys_for_transfer(
        writer_keys.key_encryption_key, [(KeyId.GLOBAL_UNICAST_ENCRYPTION, NEW_ENCRYPTION_KEY)]
    )
    with fresh_head_end(target, WRITER) as writer:
        writer.associate()
        response = writer.action(
            SECURITY_SETUP, security_setup_name(WRITER), KEY_TRANSFER, parameter
        )
        writer.release()

    # The writer has no right on any Security setup: the object does not exist for it.
    assert response.result == ActionResult.OBJECT_UNDEFINED
    assert reads_the_clock(target, writer_keys, counter=last_accepted(target, WRITER) + 1)
