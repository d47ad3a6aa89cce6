"""User identification (docs/ACCESS.md): a role with a user list needs a known user id in the
AARQ (calling-AE-invocation-id); the user shows in current_user and in every log record of the
association; an unknown or missing user is refused like bad credentials and counted.

In memory on the default roles, with users added to management and the reader.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_default_roles import MANAGEMENT, READER, hls_link, invoke, set_attribute, try_hls

from meter_harness import Link, make_meter
from securemeter.apdu.enums import AcseServiceUserDiagnostic, AssociationResult
from securemeter.codec.axdr import Array, Data, OctetString, Structure, Unsigned, VisibleString
from securemeter.codec.cosem_time import CosemDateTime
from securemeter.meter.config import Interface, MeterConfig, User, demo_config
from securemeter.meter.logbook import EventCode
from securemeter.meter.meter import Meter
from securemeter.session.events import AssociationRefused, Released

OPERATIONS, FIELD_SERVICE, METER_READER = (
    User(1, "operations"),
    User(2, "field service"),
    User(5, "mr"),
)


def config_with_users() -> MeterConfig:
    roles = tuple(
        replace(role, users=(OPERATIONS, FIELD_SERVICE))
        if role.sap == MANAGEMENT
        else replace(role, users=(METER_READER,))
        if role.sap == READER
        else role
        for role in demo_config().roles
    )
    return replace(demo_config(), roles=roles, load_profile_history_days=0)


@pytest.fixture
def meter() -> Meter:
    return make_meter(config_with_users())


def user_data(user: User | None) -> Structure:
    if user is None:
        return Structure((Unsigned(0), VisibleString("")))
    return Structure((Unsigned(user.user_id), VisibleString(user.name)))


def current_user(link: Link, association: str = "0.0.40.0.0.255") -> Data | int:
    return link.get(15, association, 11)


def association_records(meter: Meter, log: str = "communication") -> list[dict[str, object]]:
    return [dict(r.fields) for r in meter.store.logs.records(log)]


def test_a_known_user_is_accepted_and_shown(meter: Meter) -> None:
    link = hls_link(meter, MANAGEMENT, user_id=2)
    assert current_user(link) == user_data(FIELD_SERVICE)
    assert link.get(15, "0.0.40.0.0.255", 10) == Array(
        (user_data(OPERATIONS), user_data(FIELD_SERVICE))
    )
    assert link.get(15, "0.0.40.0.2.255", 11) == user_data(FIELD_SERVICE)  # by its own name


def test_the_user_is_in_every_record_of_the_association(meter: Meter) -> None:
    before = len(meter.store.logs.records("communication"))
    link = hls_link(meter, MANAGEMENT, user_id=1)
    later = CosemDateTime.from_datetime(meter.time.now_utc()).to_octet_string()
    assert set_attribute(link, 8, "0.0.1.0.0.255", 2, later) == 0
    assert invoke(link, 8, "0.0.1.0.0.255", 1) == 0
    assert isinstance(link.exchange(link.headend.release()), Released)
    records = association_records(meter)[before:]
    outcomes = [record.get("outcome") for record in records]
    assert "authentication-pending" in outcomes and "released" in outcomes
    assert len(records) >= 5  # pending, authenticated, set, action, released
    assert all(record["user"] == 1 for record in records), records
    executed = [
        r
        for r in meter.store.logs.records("communication")[before:]
        if r.event_code in (EventCode.SET_EXECUTED, EventCode.ACTION_EXECUTED)
    ]
    assert len(executed) == 2 and all(r.fields["user"] == 1 for r in executed)


def test_another_session_sees_the_role_s_current_user(meter: Meter) -> None:
    reader = hls_link(meter, READER, user_id=5)
    management = hls_link(meter, MANAGEMENT, Interface.OPTICAL, user_id=1)
    assert current_user(management, "0.0.40.0.3.255") == user_data(METER_READER)
    assert current_user(management) == user_data(OPERATIONS)
    assert current_user(reader) == user_data(METER_READER)
    assert isinstance(reader.exchange(reader.headend.release()), Released)
    assert current_user(management, "0.0.40.0.3.255") == user_data(None)


@pytest.mark.parametrize("user_id", [None, 3, 5, 255], ids=["missing", "unknown", "other", "max"])
def test_an_unknown_or_missing_user_is_refused_and_counted(
    meter: Meter, user_id: int | None
) -> None:
    _, event = try_hls(meter, MANAGEMENT, user_id=user_id)
    assert isinstance(event, AssociationRefused)
    # The same answer as for bad credentials; the reason is only in the logs.
    assert event.aare.result == AssociationResult.REJECTED_PERMANENT
    assert event.aare.diagnostic == AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE
    for log in ("communication", "security"):
        last = meter.store.logs.records(log)[-1]
        assert last.fields["reason"] == "user-not-allowed" and last.fields["sap"] == MANAGEMENT
    assert meter.lockouts.reading(Interface.TCP).failed_attempts == 1
    assert meter.store.logs.records("security")[-1].fields["user"] is None


def test_three_refused_users_lock_the_interface(meter: Meter) -> None:
    for user_id in (None, 9, 10):
        _, event = try_hls(meter, MANAGEMENT, user_id=user_id)
        assert isinstance(event, AssociationRefused)
    _, event = try_hls(meter, MANAGEMENT, user_id=1)  # now even a known user is refused
    assert isinstance(event, AssociationRefused)
    assert event.aare.result == AssociationResult.REJECTED_TRANSIENT


def test_a_role_without_users_ignores_a_user_id() -> None:
    meter = make_meter(replace(demo_config(), load_profile_history_days=0))
    link = hls_link(meter, READER, user_id=42)
    assert current_user(link) == user_data(None)
    assert link.get(15, "0.0.40.0.0.255", 10) == Array(())
    assert association_records(meter)[-1]["user"] is None


def test_a_lift_names_the_user_who_lifted(meter: Meter) -> None:
    link = hls_link(meter, MANAGEMENT, Interface.OPTICAL, user_id=2)
    assert invoke(link, 8193, "0.0.96.128.0.255", 1) == 0
    (lifted,) = [
        r.fields
        for r in meter.store.logs.records("security")
        if r.event_code == EventCode.INTERFACE_LOCKOUT_LIFTED
    ]
    assert (lifted["user"], lifted["role"], lifted["via"]) == (2, "management", "optical")
    assert isinstance(link.get(1, "0.0.96.1.0.255", 2), OctetString)
