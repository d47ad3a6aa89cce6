"""Role secrets: generation on first sight, import once, retirement of removed roles."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from meter_harness import HLS_READER, LLS_READER, associate, make_meter
from securemeter.apdu.enums import AuthenticationMechanism
from securemeter.codec.axdr import OctetString
from securemeter.errors import StorageError
from securemeter.meter.config import PUBLIC_CLIENT, MeterConfig
from securemeter.meter.credentials import (
    CredentialsError,
    ImportedCredentials,
    RoleCredentials,
    ensure_credentials,
    import_credentials,
    import_problems,
    owner,
    parse_key_file,
)
from securemeter.meter.keys import counter_key_id
from securemeter.meter.logbook import SECURITY, STANDARD, EventCode, Logbook
from securemeter.meter.meter import Meter
from securemeter.session.connection import AssociationProposal
from securemeter.session.events import AssociationAccepted, AssociationRefused, Authenticated
from securemeter.session.protection import SecurityContext
from securemeter.storage.base import MeterStore, StoredRecord
from securemeter.storage.memory import MemoryStore

CONFIG = MeterConfig(roles=(PUBLIC_CLIENT, LLS_READER, HLS_READER), load_profile_history_days=0)
WITHOUT_ROLES = MeterConfig(roles=(PUBLIC_CLIENT,), load_profile_history_days=0)

PASSWORD = "Imported-Pass 1"
EK = "000102030405060708090a0b0c0d0e0f"
AK = "d0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
KEK = "101112131415161718191A1B1C1D1E1F"
KEY_FILE = {
    "serial": "12345678",
    "clients": [
        {"sap": 2, "role": "lls-reader", "password": PASSWORD, "ek": None},
        {"sap": 3, "role": "hls-reader", "password": None, "ek": EK, "ak": AK, "kek": KEK},
    ],
}


class ClientCounter:
    def __init__(self) -> None:
        self.outgoing = 0
        self.incoming: int | None = None

    def next(self) -> int:
        self.outgoing += 1
        return self.outgoing

    def accept(self, value: int) -> None:
        assert self.incoming is None or value > self.incoming
        self.incoming = value


def hls(meter: Meter, encryption_key: bytes, authentication_key: bytes) -> bool:
    """An HLS-GMAC association of SAP 3 with these keys, up to pass 4 and one GET."""
    counter = ClientCounter()
    context = SecurityContext(
        local_system_title=b"CLIENT01",
        peer_system_title=None,
        encryption_key=encryption_key,
        authentication_key=authentication_key,
        accept_incoming=counter.accept,
        last_incoming=lambda: counter.incoming,
        next_outgoing=counter.next,
    )
    proposal = AssociationProposal(
        mechanism=AuthenticationMechanism.HIGH_GMAC, security=context, max_receive_pdu_size=512
    )
    link, event = associate(meter, 3, proposal)
    if not isinstance(event, AssociationAccepted):
        return False
    assert isinstance(link.exchange(link.headend.authenticate()), Authenticated)
    assert isinstance(link.get(8, "0.0.1.0.0.255", 2), OctetString)
    link.session.closed()
    return True


def lls(meter: Meter, password: bytes) -> bool:
    proposal = AssociationProposal(mechanism=AuthenticationMechanism.LOW, password=password)
    link, event = associate(meter, 2, proposal)
    link.session.closed()
    assert isinstance(event, AssociationAccepted | AssociationRefused)
    return isinstance(event, AssociationAccepted)


def records(store: MeterStore, log: str, code: EventCode) -> list[StoredRecord]:
    return [record for record in store.logs.records(log) if record.event_code == code]


def logbook_of(store: MeterStore) -> Logbook:
    return Logbook(store, lambda: 0, monotonic=lambda: 0.0)


def imported(
    document: object = KEY_FILE, config: MeterConfig = CONFIG
) -> tuple[ImportedCredentials, ...]:
    return parse_key_file(json.dumps(document), config)


def assert_no_material(store: MeterStore, secrets: list[bytes]) -> None:
    text = json.dumps(
        [dict(r.fields) for log in (STANDARD, SECURITY) for r in store.logs.records(log)]
    )
    for secret in secrets:
        assert secret.hex() not in text.lower() and secret.hex().upper() not in text
        assert secret.decode("latin-1") not in text


# ---------------------------------------------------------------------- generation


def test_generation_on_first_sight_is_logged_without_material() -> None:
    meter = make_meter(CONFIG)
    generated = {
        (r.fields["target_sap"], r.fields["keys"])
        for r in records(meter.store, STANDARD, EventCode.GLOBAL_KEYS_CHANGED)
        if r.fields["cause"] == "generated"
    }
    assert generated == {(2, "password"), (3, "ek,ak,kek")}
    credentials = meter.credentials
    secrets = [
        credentials[2].password,
        *(
            getattr(credentials[3], n)
            for n in ("encryption_key", "authentication_key", "key_encryption_key")
        ),
    ]
    assert all(isinstance(s, bytes) for s in secrets)
    assert_no_material(meter.store, [s for s in secrets if s is not None])
    # a restart generates nothing and records nothing new
    before = len(records(meter.store, STANDARD, EventCode.GLOBAL_KEYS_CHANGED))
    again = make_meter(CONFIG, store=meter.store)
    assert again.credentials == meter.credentials
    assert len(records(meter.store, STANDARD, EventCode.GLOBAL_KEYS_CHANGED)) == before


def test_a_random_source_that_repeats_old_secrets_is_refused() -> None:
    store = MemoryStore()
    repeating: Callable[[int], bytes] = lambda n: bytes(range(1, n + 1))  # noqa: E731
    # one value for all three: was_used is per (owner, name), so that is not yet a repeat
    assert ensure_credentials(HLS_READER, store.keys, repeating) == ("ek", "ak", "kek")
    store.keys.retire_key(owner(HLS_READER), "ek")
    with pytest.raises(StorageError, match="random source"):
        ensure_credentials(HLS_READER, store.keys, repeating)


# ---------------------------------------------------------------------- import


def test_imported_secrets_are_the_ones_the_meter_serves() -> None:
    store = MemoryStore()
    import_credentials(store, logbook_of(store), imported())
    meter = make_meter(CONFIG, store=store)
    assert meter.credentials[2].password == PASSWORD.encode()
    assert meter.credentials[3].key_encryption_key == bytes.fromhex(KEK)
    assert lls(meter, PASSWORD.encode())
    assert not lls(meter, b"generated?")
    assert hls(meter, bytes.fromhex(EK), bytes.fromhex(AK))
    # the import was recorded (no material); nothing was generated for the imported roles
    imports = records(store, SECURITY, EventCode.GLOBAL_KEYS_CHANGED)
    assert {(r.fields["target_sap"], r.fields["cause"]) for r in imports} == {
        (2, "imported"),
        (3, "imported"),
    }
    generated = [
        r
        for r in records(store, STANDARD, EventCode.GLOBAL_KEYS_CHANGED)
        if r.fields["cause"] == "generated"
    ]
    assert generated == []
    assert_no_material(store, [PASSWORD.encode(), *(bytes.fromhex(k) for k in (EK, AK, KEK))])
    # imported keys count as used: a key transfer could never install them again
    assert store.keys.was_used("sap3", "ek", bytes.fromhex(EK))


def test_a_partial_import_leaves_the_other_roles_to_generation() -> None:
    store = MemoryStore()
    only_lls = {"clients": [KEY_FILE["clients"][0]]}  # type: ignore[index]
    import_credentials(store, logbook_of(store), imported(only_lls))
    meter = make_meter(CONFIG, store=store)
    assert meter.credentials[2].password == PASSWORD.encode()
    assert meter.credentials[3].encryption_key is not None


def test_import_is_refused_when_the_store_holds_secrets_of_the_role() -> None:
    meter = make_meter(CONFIG)
    items = imported()
    problems = import_problems(meter.store.keys, items)
    assert len(problems) == 2 and "already holds secrets of SAP 2" in problems[0]
    before = meter.credentials[3]
    with pytest.raises(CredentialsError, match="authoritative"):
        import_credentials(meter.store, meter.logbook, items)
    assert make_meter(CONFIG, store=meter.store).credentials[3] == before


def test_import_is_refused_for_secrets_used_before() -> None:
    store = MemoryStore()
    store.keys.put_key("sap9", "ak", bytes.fromhex(EK))  # another role's AK once
    store.keys.retire_key("sap9", "ak")
    store.keys.put_key("sap1", "ek", bytes.fromhex("ab" * 15 + "cd"))
    problems = import_problems(store.keys, imported())
    assert problems == []  # retired owners are no longer known (fingerprints per owner)
    store.keys.put_key("sap3", "ek", bytes.fromhex(EK))
    store.keys.retire_key("sap3", "ek")
    problems = import_problems(store.keys, imported())
    assert problems == [
        "the ek of SAP 3 (hls-reader) was installed in this store before: old secrets are "
        "never installed again"
    ]
    clash = json.loads(json.dumps(KEY_FILE))
    clash["clients"][1]["ak"] = "ab" * 15 + "cd"  # the current EK of sap1
    assert import_problems(MemoryStore().keys, imported(clash)) == []
    assert any("the ak of SAP 3" in p for p in import_problems(store.keys, imported(clash)))


def entry(**changes: object) -> dict[str, object]:
    document = json.loads(json.dumps(KEY_FILE))
    document["clients"][1].update(changes)
    for key, value in changes.items():
        if value is ...:
            del document["clients"][1][key]
    return document  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("[]", "$: expected a JSON object"),
        ('{"clients": 1}', "clients: expected an array"),
        ('{"clients": []}', "clients: the array is empty"),
        ('{"clients": [1]}', "clients[0]: expected an object"),
        ('{"clients": [{"ek": null}]}', "clients[0].sap: missing"),
        ('{"clients": [{"sap": "2"}]}', "clients[0].sap: expected an integer"),
        ('{"clients": [{"sap": true}]}', "clients[0].sap: expected an integer"),
        ('{"clients": [{"sap": 7}]}', "clients[0].sap: no role has SAP 7"),
        ("{", "$: not JSON"),
        (entry(ek="00" * 15), "clients[1].ek: expected 32 hex digits"),
        (entry(ak="zz" * 16), "clients[1].ak: expected 32 hex digits"),
        (entry(kek=5), "clients[1].kek: expected 32 hex digits"),
        (entry(ek="0x" + "01" * 15), "clients[1].ek: expected 32 hex digits"),
        (entry(ek=" " + EK), "clients[1].ek: expected 32 hex digits"),
        (entry(ek="77" * 16), "clients[1].ek: one octet repeated"),
        (entry(kek=...), "clients[1].kek: missing"),
        (entry(ak=EK), "clients[1].ak: the same key as clients[1].ek"),
        (entry(password="x"), "clients[1].password: role 'hls-reader' has no password"),
        (entry(role="installer"), "clients[1].role: 'installer' but SAP 3 is 'hls-reader'"),
        (entry(sap=2, role=None), "clients[1].sap: SAP 2 already appears in clients[0]"),
    ],
)
def test_malformed_key_files_name_the_json_path(document: object, message: str) -> None:
    text = document if isinstance(document, str) else json.dumps(document)
    with pytest.raises(CredentialsError) as error:
        parse_key_file(text, CONFIG)
    assert message in str(error.value)
    for secret in (EK, AK, KEK, PASSWORD):
        assert secret.lower() not in str(error.value).lower()  # values are never echoed


@pytest.mark.parametrize(
    ("password", "message"),
    [
        (None, "clients[0].password: missing"),
        (12, "clients[0].password: expected a string"),
        ("", "clients[0].password: 1 to 64 characters"),
        ("x" * 65, "clients[0].password: 1 to 64 characters"),
        ("tab\there", "clients[0].password: only printable ASCII"),
        ("caf\u00e9", "clients[0].password: only printable ASCII"),
    ],
)
def test_bad_passwords_are_refused(password: object, message: str) -> None:
    document = {"clients": [{"sap": 2, "password": password}]}
    with pytest.raises(CredentialsError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_key_file(json.dumps(document), CONFIG)


def test_keys_for_a_role_without_keys_are_refused() -> None:
    document = {"clients": [{"sap": 2, "password": PASSWORD, "ek": EK}]}
    with pytest.raises(CredentialsError, match=r"clients\[0\]\.ek: role 'lls-reader' has no keys"):
        parse_key_file(json.dumps(document), CONFIG)
    document = {"clients": [{"sap": 16, "password": "x"}]}
    with pytest.raises(CredentialsError, match=r"clients\[0\]\.password: role 'public'"):
        parse_key_file(json.dumps(document), CONFIG)


def test_printable_passwords_with_spaces_and_uppercase_hex_are_accepted() -> None:
    items = imported()
    assert items[0].credentials == RoleCredentials(PASSWORD.encode(), None, None, None)
    assert items[1].credentials.key_encryption_key == bytes.fromhex(KEK)
    assert items[1].secrets()[0][0] == "ek"


# ---------------------------------------------------------------------- removal


def used_meter() -> Meter:
    """A meter whose LLS and HLS roles both associated (so their counters exist)."""
    meter = make_meter(CONFIG)
    credentials = meter.credentials
    assert credentials[2].password is not None and lls(meter, credentials[2].password)
    ek, ak = credentials[3].encryption_key, credentials[3].authentication_key
    assert ek is not None and ak is not None and hls(meter, ek, ak)
    return meter


def test_removing_a_role_retires_its_keys_and_counters_once() -> None:
    meter = used_meter()
    store = meter.store
    assert counter_key_id(HLS_READER, 1) in store.counters.list_keys()
    assert store.counters.last_accepted(counter_key_id(HLS_READER, 1)) is not None
    make_meter(WITHOUT_ROLES, store=store)
    assert "sap2" not in store.keys.owners() and "sap3" not in store.keys.owners()
    assert not [k for k in store.counters.list_keys() if k.startswith("sap3/")]
    with pytest.raises(StorageError, match="retired"):
        store.counters.last_accepted(counter_key_id(HLS_READER, 1))
    removed = [
        r
        for r in records(store, SECURITY, EventCode.CONFIGURATION_CHANGED)
        if r.fields.get("change") == "role-removed"
    ]
    assert {(r.fields["target_sap"], r.fields["keys"]) for r in removed} == {
        (2, "password"),
        (3, "ak,ek,kek"),
    }
    assert all(r.fields["counters"] == 1 for r in removed)  # sap<N>/ek/1
    assert store.state.get("security.sap3") is None
    make_meter(WITHOUT_ROLES, store=store)  # nothing left to retire: no second record
    again = [
        r
        for r in records(store, SECURITY, EventCode.CONFIGURATION_CHANGED)
        if r.fields.get("change") == "role-removed"
    ]
    assert len(again) == 2


def test_a_returning_role_gets_fresh_secrets_and_a_fresh_counter_space() -> None:
    meter = used_meter()
    store = meter.store
    old = meter.credentials
    make_meter(WITHOUT_ROLES, store=store)
    # The harness uses the same seeded random source every start: only the was_used check
    # keeps the returning roles from getting secrets they had before.
    back = make_meter(CONFIG, store=store)
    new = back.credentials
    assert new[2].password != old[2].password
    for name in ("encryption_key", "authentication_key", "key_encryption_key"):
        assert getattr(new[3], name) != getattr(old[3], name)
    assert back.key_management.generation(HLS_READER) == 2
    assert back.last_incoming(HLS_READER) is None  # no counter carried over
    old_password = old[2].password
    assert old_password is not None and not lls(back, old_password)
    new_password = new[2].password
    assert new_password is not None and lls(back, new_password)
    old_ek, old_ak = old[3].encryption_key, old[3].authentication_key
    assert old_ek is not None and old_ak is not None and not hls(back, old_ek, old_ak)
    ek, ak = new[3].encryption_key, new[3].authentication_key
    assert ek is not None and ak is not None and hls(back, ek, ak)
    assert back.last_incoming(HLS_READER) is not None
    # retired secrets are refused as imports, too
    make_meter(WITHOUT_ROLES, store=store)
    document = {"clients": [{"sap": 3, "ek": old_ek.hex(), "ak": AK, "kek": KEK}]}
    items = parse_key_file(json.dumps(document), CONFIG)
    assert any("installed in this store before" in p for p in import_problems(store.keys, items))


def test_a_returning_role_can_be_given_imported_secrets() -> None:
    meter = used_meter()
    store = meter.store
    make_meter(WITHOUT_ROLES, store=store)
    import_credentials(store, logbook_of(store), imported())
    back = make_meter(CONFIG, store=store)
    assert back.key_management.generation(HLS_READER) == 2
    assert hls(back, bytes.fromhex(EK), bytes.fromhex(AK))
    assert lls(back, PASSWORD.encode())


def test_owners_that_are_not_roles_are_left_alone() -> None:
    store = MemoryStore()
    store.keys.put_key("meter", "seal", b"\x01" * 16)
    store.keys.put_key("sap0x", "ek", b"\x02" * 16)
    make_meter(WITHOUT_ROLES, store=store)
    assert store.keys.owners() == ["meter", "sap0x"]
