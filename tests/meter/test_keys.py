"""Key management on the meter: key_transfer, security_activate, key generations.

In memory (tests/meter_harness.py): a security admin role transfers keys and activates
policies on the Security setup objects of the other roles, over HLS-GMAC with auth+enc.
The helpers here are shared with test_counters.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import pytest
from gurux_dlms.enums import InterfaceType
from gurux_dlms.objects import GXDLMSSecuritySetup
from gurux_dlms.objects.enums import GlobalKeyType
from gurux_dlms.secure import GXDLMSSecureClient

from meter_harness import Link, associate, make_meter
from securemeter.apdu.action import ActionRequestNormal, ActionResponseNormal
from securemeter.apdu.common import CosemMethodDescriptor
from securemeter.apdu.enums import ActionResult, AuthenticationMechanism, DataAccessResult
from securemeter.apdu.registry import decode_apdu
from securemeter.codec.axdr import (
    Array,
    Data,
    Enum,
    Integer,
    OctetString,
    Structure,
    Unsigned,
    decode_exact,
)
from securemeter.codec.obis import Obis
from securemeter.cosem.association_ln import CURRENT_ASSOCIATION
from securemeter.errors import StorageError
from securemeter.meter.access import ALL, Grant
from securemeter.meter.config import PUBLIC_CLIENT, Interface, MeterConfig, Protection, RoleConfig
from securemeter.meter.keys import Reason
from securemeter.meter.logbook import EventCode
from securemeter.meter.meter import Meter
from securemeter.security.keywrap import KeyId, wrap_key, wrap_keys_for_transfer
from securemeter.session.connection import AssociationProposal
from securemeter.session.events import (
    AssociationAccepted,
    AssociationRefused,
    Authenticated,
    Event,
    Released,
    ResponseReceived,
)
from securemeter.session.protection import SecurityContext
from securemeter.storage.memory import MemoryStore

READ_ALL = (Grant(None, read=frozenset({ALL})),)
SECURITY_ACTIVATE = 1
KEY_TRANSFER = 2
SECURITY_SETUP_CLASS = 64


def _hls_role(
    sap: int, name: str, protection: Protection, instance: int, grants: Iterable[Grant]
) -> RoleConfig:
    return RoleConfig(
        sap=sap,
        name=name,
        mechanism=AuthenticationMechanism.HIGH_GMAC,
        protection=protection,
        interfaces=frozenset({Interface.TCP}),
        grants=tuple(grants),
        instance=instance,
    )


READER = _hls_role(3, "reader", Protection.AUTHENTICATED_ENCRYPTED, 2, READ_ALL)
ADMIN = _hls_role(
    5,
    "security admin",
    Protection.AUTHENTICATED_ENCRYPTED,
    3,
    [
        *(
            Grant(
                Obis(0, 0, 43, 0, instance, 255),
                read=frozenset({ALL}),
                methods=frozenset({SECURITY_ACTIVATE, KEY_TRANSFER}),
            )
            for instance in range(1, 7)
        ),
        Grant(CURRENT_ASSOCIATION, read=frozenset({ALL})),
    ],
)
AUTH_READER = _hls_role(4, "auth reader", Protection.AUTHENTICATED, 4, READ_ALL)
# Built directly: the configuration file refuses write rights without request protection.
# It stands for a role whose policy may never become encrypt-only.
WRITER = _hls_role(
    6,
    "writer",
    Protection.NONE,
    5,
    [*READ_ALL, Grant(Obis(0, 0, 128, 0, 0, 255), write=frozenset({2}))],
)
OPEN_READER = _hls_role(7, "open reader", Protection.NONE, 6, READ_ALL)
CONFIG = MeterConfig(
    roles=(PUBLIC_CLIENT, READER, ADMIN, AUTH_READER, WRITER, OPEN_READER),
    load_profile_history_days=1,
)

NEW_EK = bytes.fromhex("11" * 16)
NEW_AK = bytes.fromhex("22" * 16)
NEW_KEK = bytes.fromhex("33" * 16)


@dataclass
class Client:
    """A head-end's keys and counters for one role; counters persist across associations
    (the meter remembers them) and restart with a new EK."""

    sap: int
    encryption_key: bytes
    authentication_key: bytes
    key_encryption_key: bytes
    outgoing: int = 0
    incoming: int | None = None

    @classmethod
    def of(cls, meter: Meter, role: RoleConfig) -> Client:
        credentials = meter.credentials[role.sap]
        assert credentials.encryption_key and credentials.authentication_key
        assert credentials.key_encryption_key
        return cls(
            role.sap,
            credentials.encryption_key,
            credentials.authentication_key,
            credentials.key_encryption_key,
        )

    def next(self) -> int:
        self.outgoing += 1
        return self.outgoing

    def accept(self, counter: int) -> None:
        assert self.incoming is None or counter > self.incoming, "the meter reused a counter"
        self.incoming = counter

    def rekey(
        self, *, ek: bytes | None = None, ak: bytes | None = None, kek: bytes | None = None
    ) -> None:
        if ek is not None:
            self.encryption_key = ek
            self.outgoing = 0
            self.incoming = None
        if ak is not None:
            self.authentication_key = ak
        if kek is not None:
            self.key_encryption_key = kek

    def proposal(self, security_control: int = 0x30) -> AssociationProposal:
        context = SecurityContext(
            local_system_title=b"CLIENT01",
            peer_system_title=None,
            encryption_key=self.encryption_key,
            authentication_key=self.authentication_key,
            accept_incoming=self.accept,
            last_incoming=lambda: self.incoming,
            next_outgoing=self.next,
        )
        return AssociationProposal(
            mechanism=AuthenticationMechanism.HIGH_GMAC,
            security=context,
            security_control=security_control,
            max_receive_pdu_size=512,
        )


def try_association(meter: Meter, client: Client, security_control: int = 0x30) -> Event:
    """Associate and run HLS pass 3; the link is released again if it got that far."""
    link, event = associate(meter, client.sap, client.proposal(security_control))
    if isinstance(event, AssociationAccepted):
        event = link.exchange(link.headend.authenticate())
        release(link)
    return event


def open_association(meter: Meter, client: Client, security_control: int = 0x30) -> Link:
    link, event = associate(meter, client.sap, client.proposal(security_control))
    assert isinstance(event, AssociationAccepted), event
    assert isinstance(link.exchange(link.headend.authenticate()), Authenticated)
    return link


def release(link: Link) -> None:
    assert isinstance(link.exchange(link.headend.release()), Released)


def invoke(link: Link, target: RoleConfig, method: int, parameter: Data) -> ActionResult:
    request = ActionRequestNormal(
        0xC1,
        CosemMethodDescriptor(SECURITY_SETUP_CLASS, target.security_setup_name, method),
        parameter,
    )
    event = link.exchange(link.headend.send_request(request))
    assert isinstance(event, ResponseReceived)
    response = event.response
    assert isinstance(response, ActionResponseNormal)
    return response.result


def transfer(link: Link, target: RoleConfig, kek: bytes, keys: list[tuple[KeyId, bytes]]) -> int:
    return invoke(link, target, KEY_TRANSFER, wrap_keys_for_transfer(kek, keys))


def activate(link: Link, target: RoleConfig, policy: int) -> int:
    return invoke(link, target, SECURITY_ACTIVATE, Enum(policy))


def last_security_reason(meter: Meter) -> object:
    return meter.store.logs.records("security")[-1].fields.get("reason")


def read_policy(link: Link, role: RoleConfig) -> Data | int:
    return link.get(SECURITY_SETUP_CLASS, str(role.security_setup_name), 2)


@pytest.fixture
def meter() -> Meter:
    return make_meter(CONFIG)


# ----------------------------------------------------------------------------- key_transfer


def test_new_keys_apply_from_the_next_association(meter: Meter) -> None:
    reader = Client.of(meter, READER)
    reader_link = open_association(meter, reader)
    admin = Client.of(meter, ADMIN)
    admin_link = open_association(meter, admin)
    result = transfer(
        admin_link,
        READER,
        reader.key_encryption_key,
        [(KeyId.GLOBAL_UNICAST_ENCRYPTION, NEW_EK), (KeyId.AUTHENTICATION, NEW_AK)],
    )
    assert result == ActionResult.SUCCESS
    # the running association keeps the keys (and counters) it started with
    assert isinstance(reader_link.get(8, "0.0.1.0.0.255", 2), OctetString)
    assert meter.store.counters.last_accepted("sap3/ek/1") == reader.outgoing
    release(reader_link)
    # the old keys are refused: the ciphered initiate request does not decipher
    assert isinstance(try_association(meter, reader), AssociationRefused)
    assert last_security_reason(meter) == "deciphering-failed"
    reader.rekey(ek=NEW_EK, ak=NEW_AK)
    link = open_association(meter, reader)
    assert isinstance(link.get(8, "0.0.1.0.0.255", 2), OctetString)
    assert meter.counter_key(READER) == "sap3/ek/2"
    assert meter.credentials[READER.sap].encryption_key == NEW_EK
    # no association uses the old EK any more: its counters are a tombstone
    assert "sap3/ek/1" not in meter.store.counters.list_keys()
    with pytest.raises(StorageError):
        meter.store.counters.next_outgoing("sap3/ek/1")


def test_the_admin_changes_its_own_keys(meter: Meter) -> None:
    admin = Client.of(meter, ADMIN)
    link = open_association(meter, admin)
    assert (
        transfer(link, ADMIN, admin.key_encryption_key, [(KeyId.GLOBAL_UNICAST_ENCRYPTION, NEW_EK)])
        == ActionResult.SUCCESS
    )
    # still answered under the old EK in this association
    assert read_policy(link, ADMIN) == Enum(0x0C)
    release(link)
    assert isinstance(try_association(meter, admin), AssociationRefused)
    admin.rekey(ek=NEW_EK)
    assert isinstance(try_association(meter, admin), Authenticated)


def test_a_master_key_transfer_then_keys_wrapped_with_the_new_master_key(meter: Meter) -> None:
    reader = Client.of(meter, READER)
    old_kek = reader.key_encryption_key
    link = open_association(meter, Client.of(meter, ADMIN))
    assert transfer(link, READER, old_kek, [(KeyId.MASTER, NEW_KEK)]) == ActionResult.SUCCESS
    # the KEK applies to the next transfer at once; the old one no longer unwraps
    assert (
        transfer(link, READER, old_kek, [(KeyId.GLOBAL_UNICAST_ENCRYPTION, NEW_EK)])
        == ActionResult.OTHER_REASON
    )
    assert last_security_reason(meter) == Reason.UNWRAP
    assert (
        transfer(link, READER, NEW_KEK, [(KeyId.GLOBAL_UNICAST_ENCRYPTION, NEW_EK)])
        == ActionResult.SUCCESS
    )
    assert meter.store.keys.get_key("sap3", "kek") == NEW_KEK
    reader.rekey(ek=NEW_EK)
    assert isinstance(try_association(meter, reader), Authenticated)


def test_an_ak_alone_keeps_the_ek_generation_and_its_counters(meter: Meter) -> None:
    reader = Client.of(meter, READER)
    release(open_association(meter, reader))
    last = meter.last_incoming(READER)
    link = open_association(meter, Client.of(meter, ADMIN))
    assert (
        transfer(link, READER, reader.key_encryption_key, [(KeyId.AUTHENTICATION, NEW_AK)])
        == ActionResult.SUCCESS
    )
    assert meter.counter_key(READER) == "sap3/ek/1"
    assert meter.last_incoming(READER) == last
    reader.rekey(ak=NEW_AK)  # counters go on under the same EK
    assert isinstance(try_association(meter, reader), Authenticated)
    assert meter.last_incoming(READER) == reader.outgoing


@pytest.mark.parametrize(
    "which",
    ["current-ek", "previous-ek", "current-ak-as-ek", "kek-as-ek", "other-role-ek", "same-twice"],
)
def test_reinstalling_a_used_key_is_refused(meter: Meter, which: str) -> None:
    reader = Client.of(meter, READER)
    admin = Client.of(meter, ADMIN)
    link = open_association(meter, admin)
    kek = reader.key_encryption_key
    entries: list[tuple[KeyId, bytes]]
    if which == "previous-ek":
        old_ek = reader.encryption_key
        assert (
            transfer(link, READER, kek, [(KeyId.GLOBAL_UNICAST_ENCRYPTION, NEW_EK)])
            == ActionResult.SUCCESS
        )
        entries = [(KeyId.GLOBAL_UNICAST_ENCRYPTION, old_ek)]
    else:
        key = {
            "current-ek": reader.encryption_key,
            "current-ak-as-ek": reader.authentication_key,
            "kek-as-ek": reader.key_encryption_key,
            "other-role-ek": admin.encryption_key,
            "same-twice": NEW_EK,
        }[which]
        entries = [(KeyId.GLOBAL_UNICAST_ENCRYPTION, key)]
        if which == "same-twice":
            entries.append((KeyId.AUTHENTICATION, NEW_EK))
    generation = meter.counter_key(READER)
    before = {name: meter.store.keys.get_key("sap3", name) for name in ("ek", "ak", "kek")}
    assert transfer(link, READER, kek, entries) == ActionResult.OTHER_REASON
    assert last_security_reason(meter) == Reason.REUSED
    assert meter.counter_key(READER) == generation
    assert {name: meter.store.keys.get_key("sap3", name) for name in ("ek", "ak", "kek")} == before


def test_a_broadcast_key_is_refused_and_nothing_is_stored(meter: Meter) -> None:
    reader = Client.of(meter, READER)
    link = open_association(meter, Client.of(meter, ADMIN))
    result = transfer(
        link,
        READER,
        reader.key_encryption_key,
        [(KeyId.GLOBAL_UNICAST_ENCRYPTION, NEW_EK), (KeyId.GLOBAL_BROADCAST_ENCRYPTION, NEW_AK)],
    )
    assert result == ActionResult.OTHER_REASON
    assert last_security_reason(meter) == Reason.BROADCAST
    assert meter.store.keys.get_key("sap3", "ek") == reader.encryption_key
    assert isinstance(try_association(meter, reader), Authenticated)


def test_a_tampered_wrapped_key_is_refused_and_nothing_is_stored(meter: Meter) -> None:
    reader = Client.of(meter, READER)
    link = open_association(meter, Client.of(meter, ADMIN))
    good = wrap_key(reader.key_encryption_key, NEW_EK)
    tampered = bytearray(wrap_key(reader.key_encryption_key, NEW_AK))
    tampered[10] ^= 0x01
    parameter = Array(
        (
            Structure((Enum(KeyId.GLOBAL_UNICAST_ENCRYPTION), OctetString(good))),
            Structure((Enum(KeyId.AUTHENTICATION), OctetString(bytes(tampered)))),
        )
    )
    assert invoke(link, READER, KEY_TRANSFER, parameter) == ActionResult.OTHER_REASON
    assert last_security_reason(meter) == Reason.UNWRAP
    assert meter.store.keys.get_key("sap3", "ek") == reader.encryption_key
    assert meter.store.keys.get_key("sap3", "ak") == reader.authentication_key
    assert meter.counter_key(READER) == "sap3/ek/1"
    assert not meter.store.keys.was_used("sap3", "ek", NEW_EK)
    assert isinstance(try_association(meter, reader), Authenticated)


def _wrapped(kek: bytes, key: bytes) -> Structure:
    return Structure((Enum(KeyId.GLOBAL_UNICAST_ENCRYPTION), OctetString(wrap_key(kek, key))))


@pytest.mark.parametrize(
    ("parameter", "result", "reason"),
    [
        (Integer(0), ActionResult.TYPE_UNMATCHED, Reason.MALFORMED),
        (Array((Structure((Enum(0),)),)), ActionResult.TYPE_UNMATCHED, Reason.MALFORMED),
        (
            Array((Structure((Unsigned(0), OctetString(bytes(24)))),)),
            ActionResult.TYPE_UNMATCHED,
            Reason.MALFORMED,
        ),
        (
            Array((Structure((Enum(9), OctetString(bytes(24)))),)),
            ActionResult.TYPE_UNMATCHED,
            Reason.MALFORMED,
        ),
        (Array(()), ActionResult.OTHER_REASON, Reason.MALFORMED),
        ("twice", ActionResult.OTHER_REASON, Reason.MALFORMED),
        ("long-key", ActionResult.OTHER_REASON, Reason.KEY_SIZE),
        ("short-wrap", ActionResult.OTHER_REASON, Reason.UNWRAP),
    ],
    ids=[
        "not-an-array",
        "short-entry",
        "id-not-enum",
        "unknown-id",
        "empty",
        "twice",
        "long-key",
        "short-wrap",
    ],
)
def test_malformed_transfers_are_refused(
    meter: Meter, parameter: Data | str, result: ActionResult, reason: str
) -> None:
    kek = Client.of(meter, READER).key_encryption_key
    if parameter == "twice":
        parameter = Array((_wrapped(kek, NEW_EK), _wrapped(kek, NEW_AK)))
    elif parameter == "long-key":
        parameter = Array((_wrapped(kek, bytes(range(32))),))
    elif parameter == "short-wrap":
        parameter = Array((Structure((Enum(0), OctetString(wrap_key(kek, NEW_EK)[:16]))),))
    assert isinstance(parameter, Data)
    link = open_association(meter, Client.of(meter, ADMIN))
    assert invoke(link, READER, KEY_TRANSFER, parameter) == result
    assert last_security_reason(meter) == reason
    assert meter.counter_key(READER) == "sap3/ek/1"


def test_a_role_without_the_method_right_cannot_transfer_keys(meter: Meter) -> None:
    reader = Client.of(meter, READER)
    link = open_association(meter, reader)
    assert (
        transfer(
            link, READER, reader.key_encryption_key, [(KeyId.GLOBAL_UNICAST_ENCRYPTION, NEW_EK)]
        )
        == ActionResult.READ_WRITE_DENIED
    )
    assert meter.store.keys.get_key("sap3", "ek") == reader.encryption_key


def test_a_role_without_keys_gets_none(meter: Meter) -> None:
    link = open_association(meter, Client.of(meter, ADMIN))
    parameter = wrap_keys_for_transfer(NEW_KEK, [(KeyId.GLOBAL_UNICAST_ENCRYPTION, NEW_EK)])
    assert invoke(link, PUBLIC_CLIENT, KEY_TRANSFER, parameter) == ActionResult.OTHER_REASON
    assert last_security_reason(meter) == Reason.NO_KEYS
    assert meter.store.keys.get_key("sap16", "ek") is None


def test_a_transfer_is_logged_without_key_material(meter: Meter) -> None:
    reader = Client.of(meter, READER)
    link = open_association(meter, Client.of(meter, ADMIN))
    wrapped = wrap_key(reader.key_encryption_key, NEW_EK)
    transfer(
        link,
        READER,
        reader.key_encryption_key,
        [(KeyId.GLOBAL_UNICAST_ENCRYPTION, NEW_EK), (KeyId.AUTHENTICATION, NEW_AK)],
    )
    for log in ("standard", "security"):
        record = meter.store.logs.records(log)[-1]
        assert record.event_code == 48 == int(EventCode.GLOBAL_KEYS_CHANGED)
        assert record.fields["target_sap"] == READER.sap
        assert record.fields["keys"] == "ek,ak"
        assert record.fields["generation"] == 2
    secrets = [
        value.hex()
        for value in (NEW_EK, NEW_AK, wrapped, reader.encryption_key, reader.key_encryption_key)
    ]
    for log in meter.store.logs.names():
        for record in meter.store.logs.records(log):
            text = repr(dict(record.fields)).lower()
            assert not any(secret in text for secret in secrets), record


def test_a_transfer_interrupted_by_a_store_failure_completes_at_the_next_start(
    meter: Meter, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = Client.of(meter, READER)
    admin = Client.of(meter, ADMIN)
    link = open_association(meter, admin)
    keys = meter.store.keys
    original = keys.put_key
    calls: list[str] = []

    def failing_put_key(owner: str, name: str, material: bytes) -> None:
        calls.append(name)
        if len(calls) == 2:  # the meter "dies" after the first key of the transfer
            raise StorageError("disk gone")
        original(owner, name, material)

    monkeypatch.setattr(keys, "put_key", failing_put_key)
    result = transfer(
        link,
        READER,
        reader.key_encryption_key,
        [(KeyId.GLOBAL_UNICAST_ENCRYPTION, NEW_EK), (KeyId.AUTHENTICATION, NEW_AK)],
    )
    assert result == ActionResult.HARDWARE_FAULT
    # keys in doubt: the role is closed until the restart, and nothing else may change them
    assert isinstance(try_association(meter, reader), AssociationRefused)
    assert last_security_reason(meter) == "role-busy"
    assert "keys in doubt" in str(meter.store.logs.records("security")[-1].fields["detail"])
    assert activate(link, READER, 0x0C) == ActionResult.TEMPORARY_FAILURE
    assert last_security_reason(meter) == Reason.INCOMPLETE
    release(link)
    monkeypatch.setattr(keys, "put_key", original)
    restarted = make_meter(CONFIG, store=meter.store)
    assert restarted.store.keys.get_key("sap3", "ek") == NEW_EK
    assert restarted.store.keys.get_key("sap3", "ak") == NEW_AK
    assert restarted.counter_key(READER) == "sap3/ek/2"
    completed = restarted.store.logs.records("security")
    assert any(
        record.event_code == EventCode.GLOBAL_KEYS_CHANGED
        and record.fields.get("outcome") == "completed-at-start"
        for record in completed
    )
    reader.rekey(ek=NEW_EK, ak=NEW_AK)
    assert isinstance(try_association(restarted, reader), Authenticated)


def test_keys_and_generation_survive_a_restart(meter: Meter) -> None:
    reader = Client.of(meter, READER)
    link = open_association(meter, Client.of(meter, ADMIN))
    transfer(link, READER, reader.key_encryption_key, [(KeyId.GLOBAL_UNICAST_ENCRYPTION, NEW_EK)])
    restarted = make_meter(CONFIG, store=meter.store)
    assert restarted.counter_key(READER) == "sap3/ek/2"
    # the old generation's counters are a tombstone
    assert "sap3/ek/1" not in restarted.store.counters.list_keys()
    with pytest.raises(StorageError):
        restarted.store.counters.last_accepted("sap3/ek/1")
    reader.rekey(ek=NEW_EK)
    assert isinstance(try_association(restarted, reader), Authenticated)


# ----------------------------------------------------------------------------- oracles


def test_the_rfc_3394_vector_as_a_key_transfer_is_accepted() -> None:
    # RFC 3394 section 4.1: KEK 000102...0F wraps 00112233...FF into 1FA68B0A...CFE5;
    # the key_transfer parameter carries it as the global unicast encryption key.
    store = MemoryStore()
    store.keys.put_key("sap3", "kek", bytes.fromhex("000102030405060708090A0B0C0D0E0F"))
    meter = make_meter(CONFIG, store=store)
    parameter = decode_exact(
        bytes.fromhex("01010202160009181FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5")
    )
    link = open_association(meter, Client.of(meter, ADMIN))
    assert invoke(link, READER, KEY_TRANSFER, parameter) == ActionResult.SUCCESS
    assert store.keys.get_key("sap3", "ek") == bytes.fromhex("00112233445566778899AABBCCDDEEFF")


def test_a_key_transfer_built_by_gurux_is_accepted(meter: Meter) -> None:
    # gurux-dlms (test-only oracle) wraps the keys and encodes the ACTION; our head-end only
    # ciphers the APDU it produced.
    reader = Client.of(meter, READER)
    client = GXDLMSSecureClient(True, ADMIN.sap, 1, interfaceType=InterfaceType.WRAPPER)
    setup = GXDLMSSecuritySetup(str(READER.security_setup_name))
    frames = setup.globalKeyTransfer(
        client,
        reader.key_encryption_key,
        [(GlobalKeyType.UNICAST_ENCRYPTION, NEW_EK), (GlobalKeyType.AUTHENTICATION, NEW_AK)],
    )
    assert len(frames) == 1
    frame = bytes(frames[0])
    assert frame[:2] == b"\x00\x01" and int.from_bytes(frame[6:8], "big") == len(frame) - 8
    request = decode_apdu(frame[8:])
    assert isinstance(request, ActionRequestNormal)
    link = open_association(meter, Client.of(meter, ADMIN))
    event = link.exchange(link.headend.send_request(request))
    assert isinstance(event, ResponseReceived)
    assert event.response.result == ActionResult.SUCCESS  # type: ignore[union-attr]
    reader.rekey(ek=NEW_EK, ak=NEW_AK)
    assert isinstance(try_association(meter, reader), Authenticated)


# ----------------------------------------------------------------------------- security_activate


def test_security_activate_strengthens_from_the_next_association(meter: Meter) -> None:
    reader = Client.of(meter, AUTH_READER)
    running = open_association(meter, reader, security_control=0x10)
    admin_link = open_association(meter, Client.of(meter, ADMIN))
    assert read_policy(admin_link, AUTH_READER) == Enum(0x04)
    assert activate(admin_link, AUTH_READER, 0x0C) == ActionResult.SUCCESS
    assert read_policy(admin_link, AUTH_READER) == Enum(0x0C)
    # the association that was running keeps its terms
    assert isinstance(running.get(8, "0.0.1.0.0.255", 2), OctetString)
    release(running)
    # the next one must encrypt too: an authenticated-only initiate request is refused
    assert isinstance(try_association(meter, reader, security_control=0x10), AssociationRefused)
    assert last_security_reason(meter) == "protection-below-policy"
    link = open_association(meter, reader, security_control=0x30)
    assert isinstance(link.get(8, "0.0.1.0.0.255", 2), OctetString)
    records = meter.store.logs.records("standard")
    assert records[-1].event_code == EventCode.CONFIGURATION_CHANGED
    assert records[-1].fields["cause"] == "security_activate"
    assert (records[-1].fields["old"], records[-1].fields["new"]) == (0x04, 0x0C)


@pytest.mark.parametrize(
    ("start", "policy", "result", "reason"),
    [
        (0x0C, 0x04, ActionResult.OTHER_REASON, Reason.POLICY_WEAKER),  # lower
        (0x04, 0x08, ActionResult.OTHER_REASON, Reason.POLICY_WEAKER),  # different
        (0x04, 0x00, ActionResult.OTHER_REASON, Reason.POLICY_WEAKER),
        (0x04, 0x14, ActionResult.OTHER_REASON, Reason.POLICY_UNSUPPORTED),  # signed request
        (0x04, 0x8C, ActionResult.OTHER_REASON, Reason.POLICY_UNSUPPORTED),  # signed response
        (0x04, 0x44, ActionResult.OTHER_REASON, Reason.POLICY_UNSUPPORTED),  # enc. response only
        (0x04, 0x05, ActionResult.OTHER_REASON, Reason.POLICY_UNSUPPORTED),  # reserved bit
        (0x04, 0x2C, ActionResult.SUCCESS, None),  # authenticated responses come with it
        (0x04, 0x04, ActionResult.SUCCESS, None),  # the same again changes nothing
    ],
)
def test_security_activate_only_adds_protection(
    meter: Meter, start: int, policy: int, result: ActionResult, reason: str | None
) -> None:
    link = open_association(meter, Client.of(meter, ADMIN))
    if start != 0x04:
        assert activate(link, AUTH_READER, start) == ActionResult.SUCCESS
    records_before = meter.store.logs.sequence("standard")
    assert activate(link, AUTH_READER, policy) == result
    expected = policy if result == ActionResult.SUCCESS else start
    assert meter.key_management.policy(AUTH_READER) == expected
    assert read_policy(link, AUTH_READER) == Enum(expected)
    if reason is not None:
        assert last_security_reason(meter) == reason
        assert meter.store.logs.sequence("standard") == records_before
    elif policy == start:
        assert meter.store.logs.sequence("standard") == records_before  # no change, no record


def test_security_activate_wants_an_enum(meter: Meter) -> None:
    link = open_association(meter, Client.of(meter, ADMIN))
    assert invoke(link, AUTH_READER, SECURITY_ACTIVATE, Unsigned(0x0C)) == (
        ActionResult.TYPE_UNMATCHED
    )
    assert last_security_reason(meter) == Reason.POLICY_MALFORMED


def test_encrypt_only_only_for_read_only_roles(meter: Meter) -> None:
    link = open_association(meter, Client.of(meter, ADMIN))
    assert activate(link, WRITER, 0x08) == ActionResult.OTHER_REASON
    assert last_security_reason(meter) == Reason.ENCRYPT_ONLY
    assert meter.key_management.policy(WRITER) == 0
    assert activate(link, WRITER, 0x0C) == ActionResult.SUCCESS
    assert activate(link, OPEN_READER, 0x08) == ActionResult.SUCCESS
    assert meter.key_management.policy(OPEN_READER) == 0x08


def test_a_role_without_keys_cannot_be_given_protection(meter: Meter) -> None:
    link = open_association(meter, Client.of(meter, ADMIN))
    assert activate(link, PUBLIC_CLIENT, 0x04) == ActionResult.OTHER_REASON
    assert last_security_reason(meter) == Reason.NO_KEYS
    assert activate(link, PUBLIC_CLIENT, 0x00) == ActionResult.SUCCESS


def test_an_activated_policy_survives_a_restart_and_wins_over_the_configuration(
    meter: Meter,
) -> None:
    link = open_association(meter, Client.of(meter, ADMIN))
    assert activate(link, AUTH_READER, 0x0C) == ActionResult.SUCCESS
    restarted = make_meter(CONFIG, store=meter.store)
    assert restarted.key_management.policy(AUTH_READER) == 0x0C
    kept = [
        record
        for record in restarted.store.logs.records("standard")
        if record.fields.get("outcome") == "stored-policy-kept"
    ]
    assert kept and kept[-1].fields["target_sap"] == AUTH_READER.sap
    assert (kept[-1].fields["old"], kept[-1].fields["new"]) == (0x04, 0x0C)
    reader = Client.of(restarted, AUTH_READER)
    assert isinstance(try_association(restarted, reader, security_control=0x10), AssociationRefused)
    assert isinstance(try_association(restarted, reader, security_control=0x30), Authenticated)


def test_only_a_configuration_change_lowers_a_policy(meter: Meter) -> None:
    link = open_association(meter, Client.of(meter, ADMIN))
    assert activate(link, AUTH_READER, 0x0C) == ActionResult.SUCCESS
    lowered = replace(AUTH_READER, protection=Protection.NONE)
    config = replace(CONFIG, roles=tuple(lowered if r is AUTH_READER else r for r in CONFIG.roles))
    restarted = make_meter(config, store=meter.store)
    assert restarted.key_management.policy(lowered) == 0
    record = restarted.store.logs.records("security")[-1]
    assert record.event_code == EventCode.CONFIGURATION_CHANGED
    assert record.fields["cause"] == "configuration"
    assert (record.fields["old"], record.fields["new"]) == (0x0C, 0x00)
    # the same configuration again: nothing to reconcile, nothing logged
    sequence = restarted.store.logs.sequence("security")
    again = make_meter(config, store=meter.store)
    assert again.key_management.policy(lowered) == 0
    assert again.store.logs.sequence("security") == sequence


def test_the_public_client_reads_a_policy_but_cannot_activate(meter: Meter) -> None:
    link, _ = associate(meter)
    assert read_policy(link, AUTH_READER) == Enum(0x04)
    request = ActionRequestNormal(
        0xC1,
        CosemMethodDescriptor(SECURITY_SETUP_CLASS, AUTH_READER.security_setup_name, 1),
        Enum(0x0C),
    )
    event = link.exchange(link.headend.send_request(request))
    assert isinstance(event, ResponseReceived)
    assert event.response.result == DataAccessResult.READ_WRITE_DENIED  # type: ignore[union-attr]
    assert meter.key_management.policy(AUTH_READER) == 0x04
