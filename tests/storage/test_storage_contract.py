"""The storage contract, run against the memory store and the SQLite store alike."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from securemeter.errors import CounterExhausted, ReplayDetected, StorageError
from securemeter.storage import (
    AesGcmSealer,
    CounterStore,
    KeyStore,
    LogRecord,
    LogStore,
    MemoryStore,
    MeterStore,
    Slots,
    StateStore,
    StoredRecord,
    TransferStore,
)
from securemeter.storage.base import INVOCATION_COUNTER_LIMIT

KEY = "sap1/guek/1"
SEALING_KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
StoreFactory = Callable[..., MeterStore]


def test_implements_the_protocols(store: MeterStore) -> None:
    assert isinstance(store, MeterStore)
    assert isinstance(store.counters, CounterStore)
    assert isinstance(store.slots, Slots)
    assert isinstance(store.logs, LogStore)
    assert isinstance(store.state, StateStore)
    assert isinstance(store.keys, KeyStore)
    assert isinstance(store.transfers, TransferStore)


# -- incoming counters -----------------------------------------------------------------------


def test_accept_records_the_last_accepted_counter(store: MeterStore) -> None:
    assert store.counters.last_accepted(KEY) is None
    store.counters.accept(KEY, 0)
    assert store.counters.last_accepted(KEY) == 0
    store.counters.accept(KEY, 7)
    store.counters.accept(KEY, INVOCATION_COUNTER_LIMIT)
    assert store.counters.last_accepted(KEY) == INVOCATION_COUNTER_LIMIT


@pytest.mark.parametrize("replayed", [7, 6, 0])
def test_accept_refuses_a_counter_not_greater_than_the_last(
    store: MeterStore, replayed: int
) -> None:
    store.counters.accept(KEY, 7)
    with pytest.raises(ReplayDetected):
        store.counters.accept(KEY, replayed)
    assert store.counters.last_accepted(KEY) == 7


@pytest.mark.parametrize("bad", [-1, 2**32, True, 1.0])
def test_accept_rejects_out_of_range_counters(store: MeterStore, bad: object) -> None:
    with pytest.raises(ValueError):
        store.counters.accept(KEY, bad)  # type: ignore[arg-type]
    assert store.counters.last_accepted(KEY) is None


def test_key_ids_have_independent_counters(store: MeterStore) -> None:
    store.counters.accept("sap1/guek/1", 100)
    store.counters.accept("sap2/guek/1", 5)
    assert store.counters.last_accepted("sap1/guek/1") == 100
    assert store.counters.last_accepted("sap2/guek/1") == 5
    assert store.counters.next_outgoing("sap3/guek/1") == 1
    assert store.counters.list_keys() == ["sap1/guek/1", "sap2/guek/1", "sap3/guek/1"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(offers=st.lists(st.integers(0, INVOCATION_COUNTER_LIMIT), max_size=30))
def test_accept_matches_a_strictly_increasing_model(
    make_store: StoreFactory, offers: list[int]
) -> None:
    counters = make_store().counters
    last: int | None = None
    for offer in offers:
        if last is None or offer > last:
            counters.accept(KEY, offer)
            last = offer
        else:
            with pytest.raises(ReplayDetected):
                counters.accept(KEY, offer)
        assert counters.last_accepted(KEY) == last


# -- outgoing counters -----------------------------------------------------------------------


def test_next_outgoing_counts_up_from_one_across_blocks(store: MeterStore) -> None:
    # The fixture's block is 3, so ten values cross three reservations.
    assert [store.counters.next_outgoing(KEY) for _ in range(10)] == list(range(1, 11))


def test_next_outgoing_is_exhausted_at_the_last_counter(store: MeterStore) -> None:
    store.counters.skip_outgoing_to(KEY, INVOCATION_COUNTER_LIMIT - 2)
    assert store.counters.next_outgoing(KEY) == INVOCATION_COUNTER_LIMIT - 2
    assert store.counters.next_outgoing(KEY) == INVOCATION_COUNTER_LIMIT - 1
    for _ in range(2):
        with pytest.raises(CounterExhausted):
            store.counters.next_outgoing(KEY)


def test_skip_outgoing_never_lowers(store: MeterStore) -> None:
    store.counters.skip_outgoing_to(KEY, 500)
    assert store.counters.next_outgoing(KEY) == 500
    store.counters.skip_outgoing_to(KEY, 10)
    assert store.counters.next_outgoing(KEY) == 501
    store.counters.skip_outgoing_to(KEY, 502)
    assert store.counters.next_outgoing(KEY) == 502


def test_generation_grows_with_reservations(make_store: StoreFactory) -> None:
    store = make_store(counter_block=2)
    before = store.generation
    assert before >= 1
    store.counters.next_outgoing(KEY)  # reserves 1..2
    store.counters.next_outgoing(KEY)
    assert store.generation == before + 1
    store.counters.next_outgoing(KEY)  # reserves 3..4
    assert store.generation == before + 2


def test_a_retired_key_id_is_a_tombstone(store: MeterStore) -> None:
    store.counters.accept(KEY, 9)
    store.counters.next_outgoing(KEY)
    store.counters.retire(KEY)
    assert store.counters.list_keys() == []
    calls: list[Callable[[], object]] = [
        lambda: store.counters.last_accepted(KEY),
        lambda: store.counters.accept(KEY, 10),
        lambda: store.counters.next_outgoing(KEY),
        lambda: store.counters.skip_outgoing_to(KEY, 10),
    ]
    for call in calls:
        with pytest.raises(StorageError):
            call()
    store.counters.retire("never-used")
    with pytest.raises(StorageError):
        store.counters.next_outgoing("never-used")
    assert store.counters.next_outgoing("sap1/guek/2") == 1


def test_counter_sync_keeps_values(store: MeterStore) -> None:
    store.counters.accept(KEY, 3)
    store.counters.sync()
    assert store.counters.last_accepted(KEY) == 3


def test_counter_key_ids_are_checked(store: MeterStore) -> None:
    with pytest.raises(ValueError):
        store.counters.accept("", 1)
    with pytest.raises(ValueError):
        store.counters.next_outgoing("")


# -- slots -----------------------------------------------------------------------------------


def test_slots_hold_unsigned_64_bit_values(store: MeterStore) -> None:
    assert store.slots.get("energy/1.0.1.8.0.255") == 0
    assert store.slots.get("energy/1.0.1.8.0.255", default=42) == 42
    store.slots.set("energy/1.0.1.8.0.255", 2**64 - 1)
    store.slots.set("energy/1.0.2.8.0.255", 0)
    assert store.slots.get("energy/1.0.1.8.0.255") == 2**64 - 1
    assert store.slots.get("energy/1.0.2.8.0.255", default=5) == 0
    store.slots.sync()
    assert store.slots.names() == ["energy/1.0.1.8.0.255", "energy/1.0.2.8.0.255"]


@pytest.mark.parametrize("bad", [-1, 2**64, None, True])
def test_slots_reject_out_of_range_values(store: MeterStore, bad: object) -> None:
    with pytest.raises(ValueError):
        store.slots.set("x", bad)  # type: ignore[arg-type]
    assert store.slots.names() == []


def test_slots_and_counters_do_not_share_names(store: MeterStore) -> None:
    store.slots.set("in:" + KEY, 99)
    assert store.counters.last_accepted(KEY) is None


# -- logs ------------------------------------------------------------------------------------


def test_log_operations_refuse_an_unconfigured_log(store: MeterStore) -> None:
    calls: list[Callable[[], object]] = [
        lambda: store.logs.append("nope", LogRecord(0, 1)),
        lambda: store.logs.records("nope"),
        lambda: store.logs.sequence("nope"),
        lambda: store.logs.clear("nope"),
        lambda: store.logs.seed_sequence("nope", 5),
    ]
    for call in calls:
        with pytest.raises(StorageError):
            call()


def test_append_returns_consecutive_sequences_and_keeps_records(store: MeterStore) -> None:
    store.logs.configure("security", 10)
    assert store.logs.sequence("security") == 0
    records = [
        LogRecord(1_700_000_000_000, 1, {"client_sap": 1, "reason": "wrong key", "obis": None}),
        LogRecord(1_700_000_000_500, 2, {"text": "ünïcode ✓"}, count=5),
        LogRecord(-5, 0),
    ]
    assert [store.logs.append("security", record) for record in records] == [1, 2, 3]
    stored = store.logs.records("security")
    assert [entry.sequence for entry in stored] == [1, 2, 3]
    for entry, record in zip(stored, records, strict=True):
        assert isinstance(entry, StoredRecord)
        assert (entry.time_utc_ms, entry.event_code, entry.count) == (
            record.time_utc_ms,
            record.event_code,
            record.count,
        )
        assert dict(entry.fields) == dict(record.fields)
    assert store.logs.sequence("security") == 3
    assert store.logs.names() == ["security"]


def test_records_since_and_limit(store: MeterStore) -> None:
    store.logs.configure("standard", 100)
    for time in range(10):
        store.logs.append("standard", LogRecord(time, 1))
    assert [r.sequence for r in store.logs.records("standard", since_sequence=7)] == [8, 9, 10]
    assert [r.sequence for r in store.logs.records("standard", limit=2)] == [1, 2]
    assert [r.sequence for r in store.logs.records("standard", since_sequence=3, limit=2)] == [4, 5]
    assert store.logs.records("standard", limit=0) == []
    assert store.logs.records("standard", since_sequence=10) == []
    with pytest.raises(ValueError):
        store.logs.records("standard", limit=-1)


def test_ring_buffer_keeps_the_newest_depth_records(store: MeterStore) -> None:
    store.logs.configure("standard", 3)
    sequences = [store.logs.append("standard", LogRecord(time, 1)) for time in range(7)]
    assert sequences == list(range(1, 8))
    assert [r.time_utc_ms for r in store.logs.records("standard")] == [4, 5, 6]
    assert store.logs.sequence("standard") == 7


def test_clear_empties_the_buffer_but_never_resets_the_sequence(store: MeterStore) -> None:
    store.logs.configure("standard", 3)
    for time in range(5):
        store.logs.append("standard", LogRecord(time, 1))
    store.logs.clear("standard")
    assert store.logs.records("standard") == []
    assert store.logs.sequence("standard") == 5
    assert store.logs.append("standard", LogRecord(9, 1)) == 6
    assert [r.sequence for r in store.logs.records("standard")] == [6]


def test_configure_changes_depth_and_keeps_the_sequence(store: MeterStore) -> None:
    store.logs.configure("standard", 5)
    for time in range(5):
        store.logs.append("standard", LogRecord(time, 1))
    store.logs.configure("standard", 2)
    assert [r.sequence for r in store.logs.records("standard")] == [4, 5]
    store.logs.configure("standard", 10)
    assert store.logs.append("standard", LogRecord(5, 1)) == 6
    assert [r.sequence for r in store.logs.records("standard")] == [4, 5, 6]
    with pytest.raises(ValueError):
        store.logs.configure("standard", 0)


def test_seed_sequence_crosses_the_32_bit_boundary(store: MeterStore) -> None:
    store.logs.configure("standard", 2)
    store.logs.append("standard", LogRecord(0, 1))
    store.logs.seed_sequence("standard", 2**32 - 2)
    assert [store.logs.append("standard", LogRecord(t, 1)) for t in range(3)] == [
        2**32 - 1,
        2**32,
        2**32 + 1,
    ]
    assert [r.sequence for r in store.logs.records("standard")] == [2**32, 2**32 + 1]
    store.logs.seed_sequence("standard", 2**32 + 1)  # equal: allowed, changes nothing
    with pytest.raises(StorageError):
        store.logs.seed_sequence("standard", 2**32)
    assert store.logs.sequence("standard") == 2**32 + 1


def test_ring_counts_records_not_sequence_distance(store: MeterStore) -> None:
    store.logs.configure("standard", 3)
    store.logs.append("standard", LogRecord(0, 1))
    store.logs.seed_sequence("standard", 1000)
    store.logs.append("standard", LogRecord(1, 1))
    assert [r.sequence for r in store.logs.records("standard")] == [1, 1001]


def test_log_record_is_a_validated_value() -> None:
    record = LogRecord(1, 2, {"a": 1})
    with pytest.raises(TypeError):
        record.fields["a"] = 2  # type: ignore[index]
    assert record == LogRecord(1, 2, {"a": 1})
    invalid_records: list[Callable[[], object]] = [
        lambda: LogRecord(1, 2, {"flag": True}),
        lambda: LogRecord(1, 2, {"value": 1.5}),  # type: ignore[dict-item]
        lambda: LogRecord(1, 2, {3: "x"}),  # type: ignore[dict-item]
        lambda: LogRecord(1.0, 2),  # type: ignore[arg-type]
        lambda: LogRecord(1, 2, count=0),
    ]
    for bad in invalid_records:
        with pytest.raises(ValueError):
            bad()


def test_append_rejects_values_beyond_64_bits(store: MeterStore) -> None:
    store.logs.configure("standard", 3)
    with pytest.raises(ValueError):
        store.logs.append("standard", LogRecord(2**63, 1))
    assert store.logs.sequence("standard") == 0


# -- state -----------------------------------------------------------------------------------


@pytest.mark.parametrize("durable", [False, True])
def test_state_put_get_delete(store: MeterStore, durable: bool) -> None:
    assert store.state.get("identity") is None
    store.state.put("identity", b"meter 1", durable=durable)
    store.state.put("settings", b"\x00\x01", durable=durable)
    assert store.state.get("identity") == b"meter 1"
    store.state.put("identity", b"", durable=durable)
    assert store.state.get("identity") == b""
    assert store.state.names() == ["identity", "settings"]
    store.state.delete("identity", durable=durable)
    store.state.delete("absent")
    assert store.state.get("identity") is None
    assert store.state.get("settings") == b"\x00\x01"


# -- keys ------------------------------------------------------------------------------------

MATERIAL_1 = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
MATERIAL_2 = bytes.fromhex("101112131415161718191a1b1c1d1e1f")


def test_keys_put_get_retire(store: MeterStore) -> None:
    assert store.keys.get_key("sap1", "global_unicast_encryption_key") is None
    store.keys.put_key("sap1", "global_unicast_encryption_key", MATERIAL_1)
    store.keys.put_key("sap1", "authentication_key", MATERIAL_2)
    store.keys.put_key("sap48", "authentication_key", MATERIAL_2)
    assert store.keys.get_key("sap1", "global_unicast_encryption_key") == MATERIAL_1
    assert store.keys.owners() == ["sap1", "sap48"]
    assert store.keys.key_names("sap1") == [
        "authentication_key",
        "global_unicast_encryption_key",
    ]
    store.keys.retire_key("sap48", "authentication_key")
    assert store.keys.get_key("sap48", "authentication_key") is None
    assert store.keys.owners() == ["sap1"]


def test_was_used_remembers_every_installed_material(store: MeterStore) -> None:
    name = "global_unicast_encryption_key"
    assert not store.keys.was_used("sap1", name, MATERIAL_1)
    store.keys.put_key("sap1", name, MATERIAL_1)
    store.keys.put_key("sap1", name, MATERIAL_2)
    store.keys.put_key("sap1", name, MATERIAL_1)  # reinstalling must not break anything
    store.keys.retire_key("sap1", name)
    assert store.keys.was_used("sap1", name, MATERIAL_1)
    assert store.keys.was_used("sap1", name, MATERIAL_2)
    assert not store.keys.was_used("sap1", name, bytes(16))
    assert not store.keys.was_used("sap2", name, MATERIAL_1)
    assert not store.keys.was_used("sap1", "authentication_key", MATERIAL_1)


# -- transfers -------------------------------------------------------------------------------


def test_transfer_collects_blocks_into_the_image(store: MeterStore) -> None:
    assert store.transfers.current() is None
    image = bytes(range(250))
    info = store.transfers.begin("fw-2.0", len(image), 64, b"model-x 2.0")
    assert info.block_count == 4
    assert store.transfers.current() == info
    for number in (3, 0, 2):
        store.transfers.put_block("fw-2.0", number, image[number * 64 : number * 64 + 64])
    assert store.transfers.blocks_received("fw-2.0") == {0, 2, 3}
    with pytest.raises(StorageError):
        store.transfers.read_image("fw-2.0")
    store.transfers.put_block("fw-2.0", 1, bytes(64))
    store.transfers.put_block("fw-2.0", 1, image[64:128])  # a resent block replaces
    assert store.transfers.read_image("fw-2.0") == image


def test_transfer_refuses_bad_blocks(store: MeterStore) -> None:
    store.transfers.begin("fw-2.0", 100, 64, b"id")
    calls: list[Callable[[], object]] = [
        lambda: store.transfers.put_block("fw-2.0", 0, bytes(63)),
        lambda: store.transfers.put_block("fw-2.0", 1, bytes(64)),  # last block is 36 bytes
        lambda: store.transfers.put_block("fw-2.0", 2, bytes(36)),
        lambda: store.transfers.put_block("fw-2.0", -1, bytes(64)),
        lambda: store.transfers.put_block("other", 0, bytes(64)),
        lambda: store.transfers.blocks_received("other"),
    ]
    for call in calls:
        with pytest.raises(StorageError):
            call()
    store.transfers.put_block("fw-2.0", 1, bytes(36))
    assert store.transfers.blocks_received("fw-2.0") == {1}


def test_begin_replaces_and_abandon_drops(store: MeterStore) -> None:
    store.transfers.begin("fw-1", 10, 5, b"a")
    store.transfers.put_block("fw-1", 0, bytes(5))
    store.transfers.begin("fw-2", 10, 5, b"b")
    assert store.transfers.blocks_received("fw-2") == set()
    store.transfers.abandon("fw-1")  # not current: no effect
    assert store.transfers.current() is not None
    store.transfers.abandon("fw-2")
    assert store.transfers.current() is None
    with pytest.raises(ValueError):
        store.transfers.begin("fw-3", 0, 5, b"c")


# -- sealing ---------------------------------------------------------------------------------


def test_memory_store_seals_blobs_with_its_sealer() -> None:
    store = MemoryStore(sealer=AesGcmSealer(SEALING_KEY))
    store.state.put("settings", b"secret settings")
    store.keys.put_key("sap1", "kek", MATERIAL_1)
    assert store.state._blobs["settings"] != b"secret settings"
    assert store.state.get("settings") == b"secret settings"
    assert store.keys.get_key("sap1", "kek") == MATERIAL_1


def test_an_incomplete_huge_image_is_reported_cheaply(store: MeterStore) -> None:
    # 2**32 one-byte blocks: listing the missing ones must not enumerate them all.
    store.transfers.begin("huge", 2**32, 1, b"id")
    store.transfers.put_block("huge", 1, b"x")
    with pytest.raises(StorageError, match=r"lacks blocks \[0, 2, 3"):
        store.transfers.read_image("huge")
