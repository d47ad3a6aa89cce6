"""Property: for random role configurations, no GET, SET or ACTION outside a role's rights
succeeds, and a refused SET or ACTION leaves every object as it was.

The requests go through the in-memory meter (session and dispatcher). The rights are
decided here by a model written from the rules (docs/CONFIGURATION.md and meter/access.py's
contract), not by calling the access code: a grant names an object (or every object, for
``None``) and attribute and method indices (or ALL); the Association LN secret is never
readable; a role sees exactly the objects it holds some right on. Roles are built directly
(bypassing the file's security rules) so that unauthenticated roles may hold write rights.

The SET values and ACTION parameters are ones the objects accept, so a forbidden request
would change something if it got through: test_every_candidate_succeeds_with_the_rights
checks that with a role holding every right.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.meter_harness import Link, associate, make_meter

from securemeter.apdu.action import ActionRequestNormal, ActionResponseNormal
from securemeter.apdu.common import CosemAttributeDescriptor, CosemMethodDescriptor
from securemeter.apdu.enums import AuthenticationMechanism, DataAccessResult
from securemeter.apdu.get import GetRequestNormal, GetResponseNormal
from securemeter.apdu.set import SetRequestNormal, SetResponseNormal
from securemeter.codec.axdr import (
    Boolean,
    Data,
    DoubleLongUnsigned,
    Enum,
    Integer,
    Long,
    LongUnsigned,
    OctetString,
    Unsigned,
)
from securemeter.codec.cosem_time import CosemDateTime
from securemeter.codec.obis import Obis
from securemeter.cosem.base import ObjectError
from securemeter.cosem.registry import describe
from securemeter.meter.access import ALL, Grant
from securemeter.meter.config import (
    PUBLIC_CLIENT,
    Interface,
    MeterConfig,
    Protection,
    RoleConfig,
)
from securemeter.meter.config_file import object_catalogue, settable_attributes
from securemeter.meter.logs.objects import is_log_object
from securemeter.meter.meter import Meter
from securemeter.session.connection import AssociationProposal
from securemeter.session.events import AssociationAccepted, ResponseReceived

SAPS = (16, 2, 3)
CURRENT_ASSOCIATION = Obis(0, 0, 40, 0, 0, 255)
NOWHERE = Obis(1, 0, 99, 99, 0, 255)  # no meter has it
SECRET = (15, 7)


# ---------------------------------------------------------------------------- the model


def _covers(indices: frozenset[int], index: int, available: set[int]) -> bool:
    return index in available and (ALL in indices or index in indices)


def granted(
    grants: tuple[Grant, ...], catalogue: dict[Obis, int], obis: Obis, kind: str, index: int
) -> bool:
    """Whether ``grants`` give ``kind`` ("read", "write", "methods") on (obis, index)."""
    class_id = catalogue.get(obis)
    if class_id is None:
        return False
    description = describe(class_id)
    available = {
        item.index
        for item in (description.methods if kind == "methods" else description.attributes)
    }
    if kind == "read" and (class_id, index) == SECRET:
        return False
    return any(
        _covers(getattr(grant, kind), index, available)
        for grant in grants
        if grant.logical_name in (None, obis)
    )


def visible(grants: tuple[Grant, ...], catalogue: dict[Obis, int], obis: Obis) -> bool:
    class_id = catalogue.get(obis)
    if class_id is None:
        return False
    description = describe(class_id)
    return any(
        granted(grants, catalogue, obis, "read", a.index)
        or granted(grants, catalogue, obis, "write", a.index)
        for a in description.attributes
    ) or any(granted(grants, catalogue, obis, "methods", m.index) for m in description.methods)


# ---------------------------------------------------------------------------- requests


def set_value(meter: Meter, class_id: int, index: int) -> Data:
    """A value the object accepts for attribute ``index`` (and that differs from the current)."""
    if class_id == 8:  # clock
        if index == 2:
            later = meter.time.now_utc() + timedelta(hours=1, minutes=7)
            return CosemDateTime.from_datetime(later).to_octet_string()
        return {
            3: Long(120),
            5: OctetString(bytes.fromhex("ffff0401ff020000ff800000")),
            6: OctetString(bytes.fromhex("ffff0a01ff030000ff800000")),
            7: Integer(30),
            8: Boolean(False),
        }.get(index, Unsigned(0))
    if class_id == 1:
        return OctetString(b"\x55" * 16)
    if class_id == 7:
        return DoubleLongUnsigned(60)
    if class_id == 41:
        return {
            2: LongUnsigned(4060),
            3: OctetString(bytes(6)),
            4: LongUnsigned(576),
            5: Unsigned(2),
            6: LongUnsigned(60),
        }.get(index, Unsigned(0))
    if class_id == 23:
        return {
            2: Enum(6),
            3: Unsigned(2),
            4: Unsigned(2),
            5: LongUnsigned(256),
            6: LongUnsigned(256),
            7: LongUnsigned(30),
            8: LongUnsigned(60),
            9: LongUnsigned(0x20),
        }.get(index, Unsigned(0))
    return Unsigned(0)


def method_parameter(class_id: int, index: int) -> Data:
    if class_id == 8 and index == 6:  # shift_time
        return Long(60)
    return Integer(0)  # "no parameter" (Green Book)


@dataclass(frozen=True, slots=True)
class Request:
    service: str  # "get", "set" or "action"
    obis: Obis
    class_id: int
    index: int


@st.composite
def requests(draw: st.DrawFn, catalogue: dict[Obis, int]) -> Request:
    obis = draw(st.sampled_from([*sorted(catalogue), NOWHERE]))
    true_class = catalogue.get(obis, 3)
    class_id = draw(
        st.sampled_from([true_class, true_class, true_class, 1 if true_class != 1 else 8])
    )
    service = draw(st.sampled_from(["get", "set", "action"]))
    description = describe(true_class)
    items = description.methods if service == "action" else description.attributes
    index = draw(st.integers(min_value=0, max_value=len(items) + 1))
    return Request(service, obis, class_id, index)


def perform(link: Link, meter: Meter, request: Request) -> int:
    """Send one request; the result code (0 is success; a GET that returns data is 0)."""
    headend = link.headend
    if request.service == "get":
        get = GetRequestNormal(
            0xC1, CosemAttributeDescriptor(request.class_id, request.obis, request.index), None
        )
        event = link.exchange(headend.send_request(get))
        assert isinstance(event, ResponseReceived)
        assert isinstance(event.response, GetResponseNormal)
        result = event.response.result
        return int(result) if isinstance(result, DataAccessResult) else 0
    if request.service == "set":
        value = set_value(meter, request.class_id, request.index)
        put = SetRequestNormal(
            0xC1,
            CosemAttributeDescriptor(request.class_id, request.obis, request.index),
            None,
            value,
        )
        event = link.exchange(headend.send_request(put))
        assert isinstance(event, ResponseReceived)
        assert isinstance(event.response, SetResponseNormal)
        return int(event.response.result)
    action = ActionRequestNormal(
        0xC1,
        CosemMethodDescriptor(request.class_id, request.obis, request.index),
        method_parameter(request.class_id, request.index),
    )
    event = link.exchange(headend.send_request(action))
    assert isinstance(event, ResponseReceived)
    assert isinstance(event.response, ActionResponseNormal)
    return int(event.response.result)


def snapshot(meter: Meter) -> dict[tuple[Obis, int], object]:
    """Every attribute of every object as the objects themselves report it, and the time.

    The event logs are left out: a refused SET or ACTION is itself recorded there (as it
    must be), so they change on purpose; test_traceability covers what they hold."""
    state: dict[tuple[Obis, int], object] = {(NOWHERE, 0): meter.time.now_utc()}
    for name, obj in meter.objects.items():
        if is_log_object(name):
            continue
        for attribute in obj.ATTRIBUTES:
            try:
                state[name, attribute.index] = obj.get_attribute(attribute.index, None)
            except ObjectError as exc:
                state[name, attribute.index] = exc.result
    return state


def is_hls_reply(request: Request, role: RoleConfig) -> bool:
    """reply_to_HLS_authentication on the role's association: the session answers it (HLS
    pass 3 before the association is complete, read-write-denied after), never the rights."""
    return (
        request.service == "action"
        and request.class_id == 15
        and request.index == 1
        and request.obis in (CURRENT_ASSOCIATION, role.association_name)
    )


def expected_refusal(
    grants: tuple[Grant, ...], catalogue: dict[Obis, int], request: Request
) -> int | None:
    """The refusal a request outside the rights must get; None if the rights allow it."""
    if not visible(grants, catalogue, request.obis):
        return int(DataAccessResult.OBJECT_UNDEFINED)
    if catalogue[request.obis] != request.class_id:
        return int(DataAccessResult.OBJECT_CLASS_INCONSISTENT)
    kind = {"get": "read", "set": "write", "action": "methods"}[request.service]
    if not granted(grants, catalogue, request.obis, kind, request.index):
        return int(DataAccessResult.READ_WRITE_DENIED)
    return None


# ---------------------------------------------------------------------------- roles


@st.composite
def grants(draw: st.DrawFn, catalogue: dict[Obis, int]) -> tuple[Grant, ...]:
    names = sorted(catalogue)
    result: list[Grant] = []
    if draw(st.integers(min_value=0, max_value=5)) == 0:
        everything = frozenset({ALL})
        result.append(
            Grant(
                None,
                read=draw(st.sampled_from([everything, frozenset()])),
                methods=draw(st.sampled_from([everything, frozenset()])),
            )
        )
    for obis in draw(st.lists(st.sampled_from(names), unique=True, max_size=8)):
        description = describe(catalogue[obis])
        attributes = [attribute.index for attribute in description.attributes]
        methods = [method.index for method in description.methods]
        result.append(
            Grant(
                obis,
                read=draw(
                    st.one_of(st.just(frozenset({ALL})), st.frozensets(st.sampled_from(attributes)))
                ),
                write=draw(st.frozensets(st.sampled_from(attributes))),
                methods=draw(st.frozensets(st.sampled_from(methods))) if methods else frozenset(),
            )
        )
    return tuple(result)


@st.composite
def configurations(draw: st.DrawFn) -> tuple[MeterConfig, int]:
    """A meter with 1 to 3 roles, and the position of the role under test."""
    count = draw(st.integers(min_value=1, max_value=len(SAPS)))
    catalogue = object_catalogue(count)
    roles = tuple(
        RoleConfig(
            sap=SAPS[position],
            name=f"role{position}",
            mechanism=draw(
                st.sampled_from([AuthenticationMechanism.NONE, AuthenticationMechanism.LOW])
            ),
            protection=Protection.NONE,
            interfaces=frozenset({Interface.TCP}),
            grants=draw(grants(catalogue)),
            instance=position + 1,
        )
        for position in range(count)
    )
    subject = draw(st.integers(min_value=0, max_value=count - 1))
    return MeterConfig(roles=roles, load_profile_history_days=0), subject


def associate_as(meter: Meter, role: RoleConfig) -> Link:
    proposal = AssociationProposal()
    if role.mechanism == AuthenticationMechanism.LOW:
        proposal = AssociationProposal(
            mechanism=AuthenticationMechanism.LOW, password=meter.credentials[role.sap].password
        )
    link, event = associate(meter, role.sap, proposal)
    assert isinstance(event, AssociationAccepted)
    return link


# ---------------------------------------------------------------------------- properties


@settings(max_examples=100, deadline=None)
@given(setup=configurations(), data=st.data())
def test_no_operation_outside_the_rights_succeeds(
    setup: tuple[MeterConfig, int], data: st.DataObject
) -> None:
    config, subject = setup
    role = config.roles[subject]
    catalogue = object_catalogue(len(config.roles))
    meter = make_meter(config)
    link = associate_as(meter, role)
    for request in data.draw(st.lists(requests(catalogue), min_size=1, max_size=12)):
        if is_hls_reply(request, role):
            continue  # the session's own business: see test_a_refused_hls_reply_...
        refusal = expected_refusal(role.grants, catalogue, request)
        if refusal is None:
            perform(link, meter, request)  # allowed: the object may still refuse
            continue
        before = snapshot(meter) if request.service != "get" else None
        result = perform(link, meter, request)
        assert result == refusal, (request, result)
        if before is not None:
            assert snapshot(meter) == before, request


def test_every_candidate_succeeds_with_the_rights() -> None:
    """Without this the property could pass with values the objects would refuse anyway."""
    catalogue = object_catalogue(1)
    everything = RoleConfig(
        sap=16,
        name="everything",
        mechanism=AuthenticationMechanism.NONE,
        protection=Protection.NONE,
        interfaces=frozenset({Interface.TCP}),
        grants=(
            Grant(None, read=frozenset({ALL}), write=frozenset({ALL}), methods=frozenset({ALL})),
        ),
        instance=1,
    )
    meter = make_meter(MeterConfig(roles=(everything,), load_profile_history_days=0))
    link = associate_as(meter, everything)
    changed = 0
    for obis, class_id in sorted(catalogue.items()):
        for index in sorted(settable_attributes(obis, class_id)):
            before = snapshot(meter)
            assert perform(link, meter, Request("set", obis, class_id, index)) == 0, (obis, index)
            changed += snapshot(meter) != before
    assert changed >= 20  # nearly every SET changed something observable
    # The methods that have a behaviour: the clock's adjustments and the profile reset.
    clock = Obis(0, 0, 1, 0, 0, 255)
    for index in (6, 1):  # shift by a minute, then back to the quarter
        before = snapshot(meter)
        assert perform(link, meter, Request("action", clock, 8, index)) == 0, index
        assert snapshot(meter) != before, index
    assert perform(link, meter, Request("action", clock, 8, 3)) == 0
    profile = Request("action", Obis(1, 0, 99, 1, 0, 255), 7, 1)
    assert perform(link, meter, profile) == 0


def test_a_refused_hls_reply_keeps_the_association_usable() -> None:
    meter = make_meter(MeterConfig(roles=(PUBLIC_CLIENT,), load_profile_history_days=0))
    link = associate_as(meter, PUBLIC_CLIENT)
    reply = Request("action", CURRENT_ASSOCIATION, 15, 1)
    assert perform(link, meter, reply) == DataAccessResult.READ_WRITE_DENIED
    assert isinstance(link.get(8, "0.0.1.0.0.255", 2), OctetString)
