"""Invocation counter rules that depend on keys: a fresh counter space per EK generation, no
outgoing counter ever reused under one EK, exhaustion at 2**32-1 and the public counter object.
"""

from __future__ import annotations

import weakref
from collections import Counter
from pathlib import Path

import pytest
from test_keys import (
    ADMIN,
    CONFIG,
    NEW_AK,
    NEW_EK,
    READER,
    Client,
    open_association,
    release,
    transfer,
    try_association,
)

from meter_harness import associate, make_meter
from securemeter.apdu.common import CosemAttributeDescriptor
from securemeter.apdu.enums import ActionResult, ServiceError
from securemeter.apdu.errors import ExceptionResponse
from securemeter.apdu.get import GetRequestNormal
from securemeter.codec.axdr import DoubleLongUnsigned, OctetString
from securemeter.codec.obis import Obis
from securemeter.meter.logbook import EventCode
from securemeter.meter.meter import Meter
from securemeter.security.keywrap import KeyId
from securemeter.session.events import AssociationRefused, Authenticated
from securemeter.storage import open_store
from securemeter.storage.base import INVOCATION_COUNTER_LIMIT

SECOND_EK = bytes.fromhex("44" * 16)
# Keyed by the meter itself, not id(meter): a later meter may reuse a collected one's id and
# would then meet an admin client with that meter's counters.
ADMINS: weakref.WeakKeyDictionary[Meter, Client] = weakref.WeakKeyDictionary()


@pytest.fixture
def meter() -> Meter:
    return make_meter(CONFIG)


def record_outgoing(meter: Meter) -> list[tuple[str, int]]:
    """Every outgoing counter the meter takes from its store, with the key id it took it for:
    frame headers, ciphered initiate responses and f(CtoS) alike."""
    counters = meter.store.counters
    original = counters.next_outgoing
    used: list[tuple[str, int]] = []

    def next_outgoing(key_id: str) -> int:
        value = original(key_id)
        used.append((key_id, value))
        return value

    counters.next_outgoing = next_outgoing  # type: ignore[method-assign]
    return used


def rekey_reader(meter: Meter, reader: Client, ek: bytes) -> None:
    """The security admin transfers a new EK for the reader (the admin's counters persist)."""
    admin = ADMINS.setdefault(meter, Client.of(meter, ADMIN))
    link = open_association(meter, admin)
    assert (
        transfer(link, READER, reader.key_encryption_key, [(KeyId.GLOBAL_UNICAST_ENCRYPTION, ek)])
        == ActionResult.SUCCESS
    )
    release(link)
    reader.rekey(ek=ek)


def read_counter_object(meter: Meter) -> object:
    link, _ = associate(meter)  # the public client
    value = link.get(1, str(READER.invocation_counter_name), 2)
    release_public = link.exchange(link.headend.release())
    assert release_public is not None
    return value


def test_a_new_ek_starts_fresh_counters_and_no_nonce_repeats(meter: Meter) -> None:
    used = record_outgoing(meter)
    reader = Client.of(meter, READER)
    encryption_keys = {"sap3/ek/1": reader.encryption_key}
    for _ in range(2):  # two associations under the first EK, with block transfers
        link = open_association(meter, reader)
        assert link.get(7, "1.0.99.1.0.255", 2) is not None
        release(link)
    old_last_accepted = meter.last_incoming(READER)
    assert old_last_accepted == reader.outgoing > 5
    rekey_reader(meter, reader, NEW_EK)
    encryption_keys["sap3/ek/2"] = NEW_EK
    assert meter.last_incoming(READER) is None  # nothing accepted under the new EK yet
    link = open_association(meter, reader)  # the client counts from 1 again: accepted
    assert isinstance(link.get(8, "0.0.1.0.0.255", 2), OctetString)
    assert meter.last_incoming(READER) == reader.outgoing < old_last_accepted
    release(link)
    rekey_reader(meter, reader, SECOND_EK)
    encryption_keys["sap3/ek/3"] = SECOND_EK
    release(open_association(meter, reader))

    reader_nonces = [(encryption_keys[key], value) for key, value in used if key in encryption_keys]
    duplicates = [pair for pair, count in Counter(reader_nonces).items() if count > 1]
    assert duplicates == []
    by_key: dict[str, list[int]] = {}
    for key, value in used:
        by_key.setdefault(key, []).append(value)
    assert set(encryption_keys) <= set(by_key)
    for key in encryption_keys:
        values = by_key[key]
        assert values == sorted(values) and len(set(values)) == len(values)
        assert values[0] == 1  # each EK generation starts its outgoing counters at 1
    # the admin's own nonces never repeat either
    admin_values = by_key["sap5/ek/1"]
    assert len(set(admin_values)) == len(admin_values)


def test_outgoing_counters_continue_across_restarts_under_one_key(meter: Meter) -> None:
    reader = Client.of(meter, READER)
    release(open_association(meter, reader))
    first = reader.incoming
    restarted = make_meter(CONFIG, store=meter.store)
    release(open_association(restarted, reader))  # Client.accept insists on greater
    assert reader.incoming is not None and first is not None and reader.incoming > first


def test_the_counter_object_shows_the_last_accepted_counter(meter: Meter) -> None:
    assert read_counter_object(meter) == DoubleLongUnsigned(0)
    reader = Client.of(meter, READER)
    link = open_association(meter, reader)
    for _ in range(3):
        link.get(8, "0.0.1.0.0.255", 2)
    release(link)
    # initiate request 1, f(StoC) 2 and its carrying frame 3, three GETs 4..6
    assert reader.outgoing == 6
    assert read_counter_object(meter) == DoubleLongUnsigned(6)
    rekey_reader(meter, reader, NEW_EK)
    assert read_counter_object(meter) == DoubleLongUnsigned(0)  # the new key's: none yet
    release(open_association(meter, reader))
    assert read_counter_object(meter) == DoubleLongUnsigned(reader.outgoing)


def _refusals(meter: Meter) -> list[dict[str, object]]:
    return [
        dict(record.fields)
        for record in meter.store.logs.records("communication")
        if record.event_code == EventCode.ASSOCIATION_REFUSED
    ]


def test_an_exhausted_outgoing_counter_refuses_new_associations(meter: Meter) -> None:
    meter.store.counters.skip_outgoing_to("sap3/ek/1", INVOCATION_COUNTER_LIMIT)
    reader = Client.of(meter, READER)
    assert isinstance(try_association(meter, reader), AssociationRefused)
    assert _refusals(meter)[-1]["reason"] == "counter-exhausted"
    needed = [
        record
        for record in meter.store.logs.records("security")
        if record.fields.get("reason") == "counter-exhausted"
        and "key change needed" in str(record.fields.get("detail"))
    ]
    assert needed
    # refused from now on before anything is deciphered: the incoming counter stays put
    accepted = meter.last_incoming(READER)
    assert isinstance(try_association(meter, reader), AssociationRefused)
    assert meter.last_incoming(READER) == accepted
    assert _refusals(meter)[-1]["reason"] == "counter-exhausted"
    # a new EK ends it
    rekey_reader(meter, reader, NEW_EK)
    assert isinstance(try_association(meter, reader), Authenticated)


def test_exhaustion_during_an_association_stops_ciphering_under_the_key(meter: Meter) -> None:
    # three values left: the ciphered initiate response, f(CtoS) and the frame carrying it
    meter.store.counters.skip_outgoing_to("sap3/ek/1", INVOCATION_COUNTER_LIMIT - 3)
    reader = Client.of(meter, READER)
    link = open_association(meter, reader)
    assert reader.incoming == INVOCATION_COUNTER_LIMIT - 1  # the last one there is
    # nothing may be ciphered any more: a refusal in clear, recorded, and the link closes
    request = link.headend.send_request(
        GetRequestNormal(0xC1, CosemAttributeDescriptor(8, Obis(0, 0, 1, 0, 0, 255), 2))
    )
    output = link.session.receive(READER.sap, 1, request)
    assert output.close and output.data is not None
    assert ExceptionResponse.from_bytes(output.data).service_error == ServiceError.OTHER_REASON
    assert meter.store.logs.records("security")[-1].fields["reason"] == "counter-exhausted"
    assert isinstance(try_association(meter, reader), AssociationRefused)
    assert _refusals(meter)[-1]["reason"] == "counter-exhausted"
    rekey_reader(meter, reader, NEW_EK)
    assert isinstance(try_association(meter, reader), Authenticated)


def test_an_exhausted_incoming_counter_refuses_new_associations(meter: Meter) -> None:
    reader = Client.of(meter, READER)
    reader.outgoing = INVOCATION_COUNTER_LIMIT - 3
    # initiate request 2**32-2 and f(StoC) 2**32-1 are accepted: the key is used up
    assert isinstance(try_association(meter, reader), Authenticated)
    assert meter.last_incoming(READER) == INVOCATION_COUNTER_LIMIT
    reader.outgoing = 0  # nothing the client could send under this key would be fresh
    assert isinstance(try_association(meter, reader), AssociationRefused)
    refusal = meter.store.logs.records("security")[-1].fields
    assert refusal["reason"] == "counter-exhausted"
    assert "incoming" in str(refusal["detail"]) and "key change needed" in str(refusal["detail"])
    rekey_reader(meter, reader, NEW_EK)
    assert isinstance(try_association(meter, reader), Authenticated)


def test_an_ak_change_does_not_end_exhaustion(meter: Meter) -> None:
    meter.store.counters.skip_outgoing_to("sap3/ek/1", INVOCATION_COUNTER_LIMIT)
    reader = Client.of(meter, READER)
    assert isinstance(try_association(meter, reader), AssociationRefused)
    link = open_association(meter, Client.of(meter, ADMIN))
    assert (
        transfer(link, READER, reader.key_encryption_key, [(KeyId.AUTHENTICATION, NEW_AK)])
        == ActionResult.SUCCESS
    )
    reader.rekey(ak=NEW_AK)
    assert isinstance(try_association(meter, reader), AssociationRefused)
    assert _refusals(meter)[-1]["reason"] == "counter-exhausted"


def test_exhaustion_is_remembered_across_a_restart(meter: Meter) -> None:
    meter.store.counters.skip_outgoing_to("sap3/ek/1", INVOCATION_COUNTER_LIMIT)
    reader = Client.of(meter, READER)
    assert isinstance(try_association(meter, reader), AssociationRefused)
    restarted = make_meter(CONFIG, store=meter.store)
    accepted = restarted.last_incoming(READER)
    assert isinstance(try_association(restarted, reader), AssociationRefused)
    assert restarted.last_incoming(READER) == accepted


def test_with_the_sqlite_store_keys_and_counters_survive_a_reopen(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    store = open_store(directory)
    meter = make_meter(CONFIG, store=store)
    reader = Client.of(meter, READER)
    release(open_association(meter, reader))
    rekey_reader(meter, reader, NEW_EK)
    release(open_association(meter, reader))
    store.close()
    with open_store(directory) as reopened:
        restarted = make_meter(CONFIG, store=reopened)
        assert restarted.counter_key(READER) == "sap3/ek/2"
        assert reopened.keys.get_key("sap3", "ek") == NEW_EK
        assert reopened.state.get("security.sap3.pending") is None
        assert "sap3/ek/1" not in reopened.counters.list_keys()
        # Client.accept insists that the meter's counters under the new EK went on growing
        release(open_association(restarted, reader))
        assert restarted.last_incoming(READER) == reader.outgoing
