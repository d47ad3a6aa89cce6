"""The six default roles of the demo meter and their rights matrix (docs/ACCESS.md).

In memory (tests/meter_harness.py), through the session and the dispatcher: each role's
object list holds exactly the objects of the matrix, restated here as OBIS codes; allowed
operations succeed; a sample of forbidden ones is refused and changes nothing. The HLS-GMAC
roles associate as a head-end does (tests/integration/test_inmemory_security.py).

The helpers at the top are shared with test_lockout.py and test_users.py.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from gurux_dlms.enums import Authentication, InterfaceType, ObjectType
from tests.interop.clients import (
    AssociationRejected,
    DlmsError,
    GuruxCiphering,
    GuruxSession,
    gurux_object,
    hdlc_server_address,
)

from meter_harness import START, Link, associate, make_meter
from meter_process import MeterProcess, WrapperClient
from securemeter.apdu.action import ActionRequestNormal, ActionResponseNormal
from securemeter.apdu.common import CosemAttributeDescriptor, CosemMethodDescriptor
from securemeter.apdu.enums import AuthenticationMechanism, DataAccessResult
from securemeter.apdu.set import SetRequestNormal, SetResponseNormal
from securemeter.codec.axdr import (
    Array,
    Data,
    DoubleLongUnsigned,
    Integer,
    Long,
    LongUnsigned,
    OctetString,
    Structure,
)
from securemeter.codec.cosem_time import CosemDateTime
from securemeter.codec.obis import Obis
from securemeter.cosem.base import AttributeAccess, MethodAccess
from securemeter.cosem.registry import describe
from securemeter.meter.access import ALL, NEVER_READABLE, Grant
from securemeter.meter.config import Interface, Protection, RoleConfig, demo_config
from securemeter.meter.config_file import load_config, object_catalogue
from securemeter.meter.meter import Meter
from securemeter.session.connection import AssociationProposal
from securemeter.session.events import (
    AssociationAccepted,
    AssociationRefused,
    Authenticated,
    Event,
    ResponseReceived,
)
from securemeter.session.protection import SecurityContext

ROOT = Path(__file__).resolve().parents[2]
TEST_START = START.isoformat()

# ---------------------------------------------------------------------------- helpers


@dataclass
class Client:
    """A head-end's keys and invocation counters for one HLS-GMAC role."""

    sap: int
    encryption_key: bytes
    authentication_key: bytes
    outgoing: int = 0
    incoming: int | None = None

    @classmethod
    def of(cls, meter: Meter, sap: int) -> Client:
        credentials = meter.credentials[sap]
        assert credentials.encryption_key is not None
        assert credentials.authentication_key is not None
        return cls(sap, credentials.encryption_key, credentials.authentication_key)

    def next(self) -> int:
        self.outgoing += 1
        return self.outgoing

    def accept(self, counter: int) -> None:
        assert self.incoming is None or counter > self.incoming, "the meter reused a counter"
        self.incoming = counter

    def proposal(
        self, *, user_id: int | None = None, key: bytes | None = None
    ) -> AssociationProposal:
        context = SecurityContext(
            local_system_title=b"CLIENT01",
            peer_system_title=None,
            encryption_key=key if key is not None else self.encryption_key,
            authentication_key=self.authentication_key,
            accept_incoming=self.accept,
            last_incoming=lambda: self.incoming,
            next_outgoing=self.next,
        )
        return AssociationProposal(
            mechanism=AuthenticationMechanism.HIGH_GMAC,
            security=context,
            max_receive_pdu_size=512,
            user_id=user_id,
        )


def try_hls(
    meter: Meter,
    sap: int,
    interface: Interface = Interface.TCP,
    *,
    user_id: int | None = None,
    key: bytes | None = None,
) -> tuple[Link, Event]:
    """Associate a HLS-GMAC role and, if the AARQ is accepted, run pass 3."""
    client = Client.of(meter, sap)
    link, event = associate(meter, sap, client.proposal(user_id=user_id, key=key), interface)
    if isinstance(event, AssociationAccepted):
        event = link.exchange(link.headend.authenticate())
    return link, event


def hls_link(
    meter: Meter, sap: int, interface: Interface = Interface.TCP, *, user_id: int | None = None
) -> Link:
    link, event = try_hls(meter, sap, interface, user_id=user_id)
    assert isinstance(event, Authenticated), event
    return link


def public_link(meter: Meter, interface: Interface = Interface.TCP) -> Link:
    link, event = associate(meter, 16, interface=interface)
    assert isinstance(event, AssociationAccepted), event
    return link


def get(link: Link, class_id: int, obis: str, attribute: int) -> Data | int:
    return link.get(class_id, obis, attribute)


def set_attribute(link: Link, class_id: int, obis: str, attribute: int, value: Data) -> int:
    request = SetRequestNormal(
        0xC1, CosemAttributeDescriptor(class_id, Obis.parse(obis), attribute), None, value
    )
    event = link.exchange(link.headend.send_request(request))
    assert isinstance(event, ResponseReceived)
    assert isinstance(event.response, SetResponseNormal)
    return int(event.response.result)


def invoke(link: Link, class_id: int, obis: str, method: int, parameter: Data | None = None) -> int:
    request = ActionRequestNormal(
        0xC1,
        CosemMethodDescriptor(class_id, Obis.parse(obis), method),
        parameter if parameter is not None else Integer(0),
    )
    event = link.exchange(link.headend.send_request(request))
    assert isinstance(event, ResponseReceived)
    assert isinstance(event.response, ActionResponseNormal)
    return int(event.response.result)


@dataclass(frozen=True)
class Entry:
    """One object_list element as the client sees it."""

    class_id: int
    attributes: dict[int, int]  # attribute -> access mode
    methods: dict[int, int]  # method -> access mode


def object_list(link: Link) -> dict[str, Entry]:
    value = get(link, 15, "0.0.40.0.0.255", 2)
    assert isinstance(value, Array)
    entries: dict[str, Entry] = {}
    for item in value.items:
        assert isinstance(item, Structure)
        class_id, _, name, rights = item.items
        assert isinstance(class_id, LongUnsigned) and isinstance(name, OctetString)
        assert isinstance(rights, Structure)
        attributes, methods = rights.items
        assert isinstance(attributes, Array) and isinstance(methods, Array)
        entries[str(Obis.from_bytes(name.value))] = Entry(
            class_id.value, _modes(attributes), _modes(methods)
        )
    return entries


def _modes(rights: Array) -> dict[int, int]:
    """{index: access mode} of an attribute_access or method_access array."""
    modes: dict[int, int] = {}
    for right in rights.items:
        assert isinstance(right, Structure)
        index, mode = right.items[0], right.items[1]
        modes[index.value] = mode.value  # type: ignore[attr-defined]
    return modes


def clock_instant(link: Link) -> datetime:
    value = get(link, 8, CLOCK, 2)
    assert isinstance(value, OctetString)
    return CosemDateTime.from_bytes(value.value).to_datetime()


# ---------------------------------------------------------------------------- the matrix

CLOCK = "0.0.1.0.0.255"
IDENTITY = {"0.0.42.0.0.255", "0.0.96.1.0.255", "1.0.0.2.0.255"}
REGISTERS = {"1.0.1.8.0.255", "1.0.2.8.0.255", "1.0.32.7.0.255", "1.0.31.7.0.255"}
ENERGY = "1.0.1.8.0.255"
LOAD_PROFILE = "1.0.99.1.0.255"
TCP_UDP_SETUP = "0.0.25.0.0.255"
HDLC_SETUP = "0.0.22.0.0.255"
TEST_OCTETS = "0.0.128.0.0.255"
CURRENT = "0.0.40.0.0.255"
TCP_LOCKOUT = "0.0.96.128.0.255"
OPTICAL_LOCKOUT = "0.0.96.128.1.255"
LOCKOUTS = {TCP_LOCKOUT, OPTICAL_LOCKOUT}
COUNTERS = {f"0.0.43.1.{e}.255" for e in range(1, 7)}
SECURITY_SETUPS = {f"0.0.43.0.{e}.255" for e in range(1, 7)}


def log(e: int) -> set[str]:
    """An event log (issue 8): the profile, its event code and its event counter."""
    return {f"0.0.99.98.{e}.255", f"0.0.96.11.{e}.255", f"0.0.96.15.{e}.255"}


STANDARD_LOG, FRAUD_LOG, COMMUNICATION_LOG, SECURITY_LOG = log(0), log(1), log(4), log(6)

PUBLIC, MANAGEMENT, READER, INSTALLER, FIRMWARE, SECURITY_ADMIN = 16, 1, 2, 3, 4, 5
EXPECTED_OBJECTS = {
    PUBLIC: {CLOCK, *IDENTITY, CURRENT, *COUNTERS},
    READER: {
        CLOCK,
        *IDENTITY,
        *REGISTERS,
        LOAD_PROFILE,
        *STANDARD_LOG,
        *FRAUD_LOG,
        *COMMUNICATION_LOG,
        CURRENT,
    },
    INSTALLER: {CLOCK, *IDENTITY, *REGISTERS, TCP_UDP_SETUP, HDLC_SETUP, CURRENT},
    FIRMWARE: {"1.0.0.2.0.255", CLOCK, CURRENT},
    SECURITY_ADMIN: {*SECURITY_SETUPS, *SECURITY_LOG, *COMMUNICATION_LOG, *LOCKOUTS, CURRENT},
}
INTERFACES = {
    PUBLIC: Interface.TCP,
    MANAGEMENT: Interface.TCP,
    READER: Interface.TCP,
    INSTALLER: Interface.OPTICAL,
    FIRMWARE: Interface.TCP,
    SECURITY_ADMIN: Interface.OPTICAL,
}


@pytest.fixture
def meter() -> Meter:
    return make_meter(history_days=1)


def link_of(meter: Meter, sap: int) -> Link:
    interface = INTERFACES[sap]
    return public_link(meter, interface) if sap == PUBLIC else hls_link(meter, sap, interface)


def later(meter: Meter, hours: int = 1) -> datetime:
    return meter.time.now_utc() + timedelta(hours=hours, minutes=7)


def clock_value(when: datetime) -> OctetString:
    return CosemDateTime.from_datetime(when).to_octet_string()


def test_the_demo_has_exactly_the_six_default_roles() -> None:
    roles = {
        role.sap: (role.name, role.mechanism, role.protection, role.interfaces, role.instance)
        for role in demo_config().roles
    }
    hls, protected = AuthenticationMechanism.HIGH_GMAC, Protection.AUTHENTICATED_ENCRYPTED
    tcp, optical = Interface.TCP, Interface.OPTICAL
    assert roles == {
        16: ("public", AuthenticationMechanism.NONE, Protection.NONE, {tcp, optical}, 1),
        1: ("management", hls, protected, {tcp, optical}, 2),
        2: ("reader", hls, protected, {tcp}, 3),
        3: ("installer", hls, protected, {optical}, 4),
        4: ("firmware", hls, protected, {tcp}, 5),
        5: ("security admin", hls, protected, {tcp, optical}, 6),
    }


@pytest.mark.parametrize("sap", sorted(EXPECTED_OBJECTS))
def test_each_role_sees_exactly_its_objects(meter: Meter, sap: int) -> None:
    assert set(object_list(link_of(meter, sap))) == EXPECTED_OBJECTS[sap]


def test_management_sees_every_object(meter: Meter) -> None:
    listed = object_list(link_of(meter, MANAGEMENT))
    assert set(listed) == {str(name) for name in meter.objects} | {CURRENT}
    assert {CLOCK, *REGISTERS, LOAD_PROFILE, *SECURITY_LOG, *LOCKOUTS} <= set(listed)


def test_the_object_lists_show_the_real_rights(meter: Meter) -> None:
    read, read_write = AttributeAccess.READ_ONLY, AttributeAccess.AUTHENTICATED_READ_AND_WRITE
    authenticated_read = AttributeAccess.AUTHENTICATED_READ_ONLY
    no_method, method = MethodAccess.NO_ACCESS, MethodAccess.AUTHENTICATED_ACCESS
    public = object_list(link_of(meter, PUBLIC))[CLOCK]
    assert public.attributes[2] == read and set(public.methods.values()) == {no_method}
    assert object_list(link_of(meter, PUBLIC))[CURRENT].attributes[7] == 0  # the secret
    installer = object_list(link_of(meter, INSTALLER))
    assert installer[CLOCK].attributes[2] == read_write
    assert installer[CLOCK].attributes[4] == authenticated_read  # status: never written
    assert set(installer[CLOCK].methods.values()) == {method}
    reader = object_list(link_of(meter, READER))
    assert reader[CLOCK].attributes[2] == authenticated_read
    assert set(reader[CLOCK].methods.values()) == {no_method}
    admin = object_list(link_of(meter, SECURITY_ADMIN))
    for setup in SECURITY_SETUPS:
        assert admin[setup].methods == {1: method, 2: method, **dict.fromkeys(range(3, 9), 0)}
    assert admin[TCP_LOCKOUT].methods == {1: method}
    management = object_list(link_of(meter, MANAGEMENT))
    for setup in SECURITY_SETUPS:
        assert set(management[setup].methods.values()) == {no_method}  # no key transfer
    assert management["0.0.99.98.0.255"].methods[1] == method  # clear the standard log
    assert management["0.0.99.98.1.255"].methods[1] == method  # and the fraud log
    assert management["0.0.99.98.6.255"].methods[1] == no_method  # never the security log
    assert management["0.0.99.98.4.255"].methods[1] == no_method  # nor the communication log
    assert management[ENERGY].methods == {1: method}  # register reset
    assert management[TEST_OCTETS].attributes[2] == authenticated_read


# ---------------------------------------------------------------------------- allowed


def test_public_reads_its_objects(meter: Meter) -> None:
    link = link_of(meter, PUBLIC)
    for obis, class_id in (
        (CLOCK, 8),
        ("0.0.42.0.0.255", 1),
        ("0.0.96.1.0.255", 1),
        ("1.0.0.2.0.255", 1),
        *((counter, 1) for counter in sorted(COUNTERS)),
    ):
        assert not isinstance(get(link, class_id, obis, 2), int), obis
    assert isinstance(get(link, 15, CURRENT, 2), Array)
    assert get(link, 15, CURRENT, 7) == DataAccessResult.READ_WRITE_DENIED  # never the secret


def test_management_reads_writes_adjusts_resets_clears_and_lifts(meter: Meter) -> None:
    resets: list[str] = []
    meter.objects[Obis.parse(ENERGY)]._reset = lambda: resets.append("reset")  # type: ignore[attr-defined]
    link = link_of(meter, MANAGEMENT)
    assert isinstance(get(link, 3, ENERGY, 2), DoubleLongUnsigned)
    assert isinstance(get(link, 7, LOAD_PROFILE, 2), Array)
    assert isinstance(get(link, 7, "0.0.99.98.6.255", 2), Array)  # the security log
    assert isinstance(get(link, 64, "0.0.43.0.3.255", 2), Data)
    when = later(meter)
    assert set_attribute(link, 8, CLOCK, 2, clock_value(when)) == DataAccessResult.SUCCESS
    assert clock_instant(link) == when
    assert set_attribute(link, 41, TCP_UDP_SETUP, 6, LongUnsigned(60)) == 0
    assert set_attribute(link, 23, HDLC_SETUP, 8, LongUnsigned(60)) == 0
    assert invoke(link, 8, CLOCK, 6, Long(60)) == 0  # shift_time
    assert invoke(link, 3, ENERGY, 1) == 0 and resets == ["reset"]
    assert invoke(link, 7, "0.0.99.98.0.255", 1) == 0  # clear the standard log
    assert invoke(link, 7, "0.0.99.98.1.255", 1) == 0  # and the fraud log
    assert invoke(link, 8193, TCP_LOCKOUT, 1) == 0  # lift


def test_reader_reads_metering_data_and_its_logs(meter: Meter) -> None:
    link = link_of(meter, READER)
    for register in sorted(REGISTERS):
        assert not isinstance(get(link, 3, register, 2), int), register
    assert isinstance(get(link, 7, LOAD_PROFILE, 2), Array)
    for profile in ("0.0.99.98.0.255", "0.0.99.98.1.255", "0.0.99.98.4.255"):
        assert isinstance(get(link, 7, profile, 2), Array), profile
    assert isinstance(get(link, 1, "0.0.96.15.4.255", 2), DoubleLongUnsigned)


def test_installer_sets_the_clock_and_the_communication_setup(meter: Meter) -> None:
    link = link_of(meter, INSTALLER)
    assert isinstance(get(link, 3, ENERGY, 2), DoubleLongUnsigned)
    when = later(meter, hours=2)
    assert set_attribute(link, 8, CLOCK, 2, clock_value(when)) == 0
    assert clock_instant(link) == when
    assert set_attribute(link, 41, TCP_UDP_SETUP, 6, LongUnsigned(90)) == 0
    assert set_attribute(link, 23, HDLC_SETUP, 8, LongUnsigned(90)) == 0
    assert invoke(link, 8, CLOCK, 1) == 0  # adjust_to_quarter


def test_firmware_reads_the_identifier_and_the_clock(meter: Meter) -> None:
    link = link_of(meter, FIRMWARE)
    assert isinstance(get(link, 1, "1.0.0.2.0.255", 2), OctetString)
    assert isinstance(get(link, 8, CLOCK, 2), OctetString)


def test_security_admin_reaches_every_security_setup_method(meter: Meter) -> None:
    link = link_of(meter, SECURITY_ADMIN)
    assert isinstance(get(link, 7, "0.0.99.98.6.255", 2), Array)
    assert isinstance(get(link, 7, "0.0.99.98.4.255", 2), Array)
    assert not isinstance(get(link, 8193, TCP_LOCKOUT, 2), int)
    for setup in sorted(SECURITY_SETUPS):
        # A malformed parameter reaches the method (the rights let it through) and is refused
        # there, with a result other than the rights' read-write-denied.
        for method in (1, 2):
            result = invoke(link, 64, setup, method, OctetString(b"?"))
            assert result not in (0, DataAccessResult.READ_WRITE_DENIED), (setup, method)
    assert invoke(link, 8193, OPTICAL_LOCKOUT, 1) == 0


# ---------------------------------------------------------------------------- forbidden


def test_installer_cannot_reset_a_register_clear_a_log_or_touch_keys(meter: Meter) -> None:
    resets: list[str] = []
    meter.objects[Obis.parse(ENERGY)]._reset = lambda: resets.append("reset")  # type: ignore[attr-defined]
    before = meter.store.keys.get_key("sap2", "global_unicast_encryption_key")
    link = link_of(meter, INSTALLER)
    assert invoke(link, 3, ENERGY, 1) == DataAccessResult.READ_WRITE_DENIED
    assert resets == []
    assert invoke(link, 7, "0.0.99.98.0.255", 1) == DataAccessResult.OBJECT_UNDEFINED
    assert invoke(link, 64, "0.0.43.0.3.255", 2, Array(())) == DataAccessResult.OBJECT_UNDEFINED
    assert meter.store.keys.get_key("sap2", "global_unicast_encryption_key") == before
    assert get(link, 7, LOAD_PROFILE, 2) == DataAccessResult.OBJECT_UNDEFINED


def test_reader_cannot_write_the_clock(meter: Meter) -> None:
    link = link_of(meter, READER)
    before = get(link, 8, CLOCK, 2)
    assert set_attribute(link, 8, CLOCK, 2, clock_value(later(meter))) == 3  # read-write-denied
    assert invoke(link, 8, CLOCK, 6, Long(60)) == 3
    assert get(link, 8, CLOCK, 2) == before
    assert get(link, 41, TCP_UDP_SETUP, 2) == DataAccessResult.OBJECT_UNDEFINED
    assert get(link, 7, "0.0.99.98.6.255", 2) == DataAccessResult.OBJECT_UNDEFINED


def test_firmware_cannot_read_energy(meter: Meter) -> None:
    link = link_of(meter, FIRMWARE)
    assert get(link, 3, ENERGY, 2) == DataAccessResult.OBJECT_UNDEFINED
    assert get(link, 7, LOAD_PROFILE, 2) == DataAccessResult.OBJECT_UNDEFINED
    assert set_attribute(link, 8, CLOCK, 2, clock_value(later(meter))) == 3


def test_public_cannot_write_anything(meter: Meter) -> None:
    link = link_of(meter, PUBLIC)
    before = get(link, 8, CLOCK, 2)
    assert set_attribute(link, 8, CLOCK, 2, clock_value(later(meter))) == 3
    assert invoke(link, 8, CLOCK, 6, Long(60)) == 3
    assert get(link, 8, CLOCK, 2) == before
    assert set_attribute(link, 1, TEST_OCTETS, 2, OctetString(b"x")) == 4  # object-undefined
    assert get(link, 3, ENERGY, 2) == DataAccessResult.OBJECT_UNDEFINED
    assert invoke(link, 8193, TCP_LOCKOUT, 1) == DataAccessResult.OBJECT_UNDEFINED


def test_security_admin_reads_no_metering_data(meter: Meter) -> None:
    link = link_of(meter, SECURITY_ADMIN)
    assert get(link, 7, LOAD_PROFILE, 2) == DataAccessResult.OBJECT_UNDEFINED
    assert get(link, 3, ENERGY, 2) == DataAccessResult.OBJECT_UNDEFINED
    assert get(link, 7, "0.0.99.98.0.255", 2) == DataAccessResult.OBJECT_UNDEFINED


def test_management_cannot_transfer_keys_or_clear_the_security_log(meter: Meter) -> None:
    keys = {
        (owner, name): meter.store.keys.get_key(owner, name)
        for owner in meter.store.keys.owners()
        for name in meter.store.keys.key_names(owner)
    }
    link = link_of(meter, MANAGEMENT)
    security_records = len(meter.store.logs.records("security"))
    for setup in sorted(SECURITY_SETUPS):
        for method in (1, 2):
            assert invoke(link, 64, setup, method, Array(())) == 3, (setup, method)
    assert invoke(link, 7, "0.0.99.98.6.255", 1) == 3  # the security log
    assert invoke(link, 7, "0.0.99.98.4.255", 1) == 3  # the communication log
    assert set_attribute(link, 1, TEST_OCTETS, 2, OctetString(b"x")) == 3
    assert len(meter.store.logs.records("security")) >= security_records
    assert keys == {
        (owner, name): meter.store.keys.get_key(owner, name)
        for owner in meter.store.keys.owners()
        for name in meter.store.keys.key_names(owner)
    }


def test_installer_over_tcp_is_refused(meter: Meter) -> None:
    _, event = try_hls(meter, INSTALLER, Interface.TCP)
    assert isinstance(event, AssociationRefused)
    assert meter.store.logs.records("security")[-1].fields["reason"] == "interface-not-allowed"
    _, event = try_hls(meter, READER, Interface.OPTICAL)
    assert isinstance(event, AssociationRefused)


# ---------------------------------------------------------------------------- one source


def expand(grants: tuple[Grant, ...], catalogue: dict[Obis, int]) -> set[tuple[str, str, int]]:
    """Every (object, right, index) the grants give over ``catalogue``."""
    rights: set[tuple[str, str, int]] = set()
    for grant in grants:
        for name in catalogue if grant.logical_name is None else (grant.logical_name,):
            if name not in catalogue:
                continue  # an object of another configuration (the example's 7th role)
            description = describe(catalogue[name])
            attributes = {attribute.index for attribute in description.attributes}
            methods = {method.index for method in description.methods}
            for kind, indices, available in (
                ("read", grant.read, attributes),
                ("write", grant.write, attributes),
                ("methods", grant.methods, methods),
            ):
                for index in available if ALL in indices else indices:
                    if kind == "read" and (catalogue[name], index) in NEVER_READABLE:
                        continue
                    rights.add((str(name), kind, index))
    return rights


def test_the_shipped_example_writes_the_same_six_roles() -> None:
    example = load_config(ROOT / "examples" / "roles.toml").roles
    catalogue = object_catalogue(6)
    defaults = demo_config().roles
    assert len(example) >= len(defaults)
    for default, written in zip(defaults, example, strict=False):
        shape = ("sap", "name", "mechanism", "protection", "interfaces", "instance")
        assert [getattr(written, f) for f in shape] == [getattr(default, f) for f in shape]
        missing = expand(default.grants, catalogue) - expand(written.grants, catalogue)
        extra = expand(written.grants, catalogue) - expand(default.grants, catalogue)
        assert not missing and not extra, (
            f"examples/roles.toml role {default.name!r} differs from meter/default_roles.py: "
            f"missing {sorted(missing)[:10]}, extra {sorted(extra)[:10]}"
        )


def test_default_grants_name_only_objects_the_meter_serves() -> None:
    catalogue = object_catalogue(6)
    for role in demo_config().roles:
        for grant in role.grants:
            assert grant.logical_name is None or grant.logical_name in catalogue, grant


def test_every_default_role_is_valid_as_configuration(meter: Meter) -> None:
    # Roles that may change something authenticate and protect their requests.
    for role in meter.config.roles:
        changes = any(grant.write or grant.methods for grant in role.grants)
        if changes:
            assert role.mechanism == AuthenticationMechanism.HIGH_GMAC, role.name
            assert role.protection is Protection.AUTHENTICATED_ENCRYPTED, role.name
        assert isinstance(role, RoleConfig)


# ---------------------------------------------------------------------------- gurux-dlms


@pytest.fixture(scope="module")
def demo_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MeterProcess]:
    """The real demo meter (default roles) on a test clock, for the gurux-dlms client."""
    process = MeterProcess(tmp_path_factory.mktemp("demo") / "state", test_clock=TEST_START)
    with process:
        yield process


def gurux_session(
    process: MeterProcess, sap: int, interface: Interface | None = None
) -> GuruxSession:
    """gurux-dlms as role ``sap`` over ``interface`` (by default the role's own; optical is
    HDLC over TCP)."""
    options: dict[str, Any] = {"client_address": sap}
    if sap != PUBLIC:
        entry = next(e for e in process.keys["clients"] if e["sap"] == sap)
        options["authentication"] = Authentication.HIGH_GMAC
        options["ciphering"] = GuruxCiphering(
            system_title=b"HES00042",
            encryption_key=bytes.fromhex(entry["ek"]),
            authentication_key=bytes.fromhex(entry["ak"]),
            invocation_counter=last_accepted_counter(process, sap) + 1,
        )
    if (interface or INTERFACES[sap]) is Interface.OPTICAL:
        assert process.hdlc_port is not None
        physical = process.keys["hdlc"]["physical_address"]
        return GuruxSession(
            process.hdlc_port,
            interface=InterfaceType.HDLC,
            server_address=hdlc_server_address(1, physical, 4),
            server_address_size=4,
            **options,
        )
    return GuruxSession(process.tcp_port, **options)


def last_accepted_counter(process: MeterProcess, sap: int) -> int:
    """The role's last accepted invocation counter, as the public client reads it."""
    instance = next(role.instance for role in demo_config().roles if role.sap == sap)
    with WrapperClient(process.host, process.tcp_port) as public:
        public.associate()
        value = public.get(1, f"0.0.43.1.{instance}.255", 2)
        public.release()
    assert isinstance(value, DoubleLongUnsigned)
    return value.value


@pytest.mark.interop
@pytest.mark.parametrize("sap", [PUBLIC, READER, INSTALLER, FIRMWARE, SECURITY_ADMIN])
def test_gurux_sees_each_role_s_object_list(demo_process: MeterProcess, sap: int) -> None:
    with _quiet_stdout(), gurux_session(demo_process, sap) as session:
        # gurux lists the classes it knows: everything but the lockouts (class 8193).
        names = {obj.logicalName for obj in session.read_object_list()}
    assert names == EXPECTED_OBJECTS[sap] - LOCKOUTS


@pytest.mark.interop
def test_gurux_operations_allowed_and_refused(demo_process: MeterProcess) -> None:
    clock = gurux_object(ObjectType.CLOCK, CLOCK)
    energy = gurux_object(ObjectType.REGISTER, ENERGY)
    with _quiet_stdout():
        with gurux_session(demo_process, READER) as reader:
            assert reader.read(energy, 2) is not None
            before = reader.read(clock, 2).value
            with pytest.raises(DlmsError) as refused:
                reader.write(clock, 2)  # the reader writing the clock
            assert refused.value.code == DataAccessResult.READ_WRITE_DENIED
        with gurux_session(demo_process, FIRMWARE) as firmware:
            with pytest.raises(DlmsError) as refused:
                firmware.read(gurux_object(ObjectType.REGISTER, ENERGY), 2)
            assert refused.value.code == DataAccessResult.OBJECT_UNDEFINED
            assert firmware.read(clock, 2).value == before  # unchanged (a test clock)
        with pytest.raises(AssociationRejected):  # the installer over TCP
            gurux_session(demo_process, INSTALLER, Interface.TCP).__enter__()


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """gurux-dlms prints unknown objects and ciphering details to stdout."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield
