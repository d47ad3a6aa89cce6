"""Event logs with 32-bit counters: the writer (counter, wrap, aggregation, recovery), the
logbook rules, and the logs as COSEM objects read through the in-memory head-end."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meter_harness import START, Link, make_meter, seeded_random
from securemeter.apdu.action import ActionRequestNormal, ActionResponseNormal
from securemeter.apdu.common import (
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    SelectiveAccess,
)
from securemeter.apdu.enums import ActionResult, AuthenticationMechanism, DataAccessResult
from securemeter.apdu.set import SetRequestNormal, SetResponseNormal
from securemeter.codec.axdr import (
    Array,
    Data,
    DoubleLongUnsigned,
    Enum,
    Integer,
    LongUnsigned,
    NullData,
    Structure,
    Unsigned,
    VisibleString,
)
from securemeter.codec.obis import Obis
from securemeter.cosem.data import DataObject
from securemeter.cosem.profile_generic import CLOCK_CAPTURE, CaptureObject
from securemeter.meter import timekeeping
from securemeter.meter.access import ALL, Grant
from securemeter.meter.config import (
    PUBLIC_CLIENT,
    Interface,
    InterfaceConfig,
    LockoutSettings,
    MeterConfig,
    Protection,
    RoleConfig,
)
from securemeter.meter.config_file import object_catalogue, settable_attributes
from securemeter.meter.logbook import (
    COMMUNICATION,
    FRAUD,
    LOG_NAMES,
    SECURITY,
    STANDARD,
    EventCode,
    Logbook,
    LogSettings,
)
from securemeter.meter.logs.objects import (
    LOG_DEFINITIONS,
    EventOutcome,
    Field,
    is_log_object,
    log_object_catalogue,
)
from securemeter.meter.logs.writer import (
    COUNTER_MODULUS,
    EventLogWriter,
    FloodDetector,
    counter_value,
    description_key,
    event_slot,
    read_log,
    split_remote,
)
from securemeter.meter.meter import Meter
from securemeter.session.connection import AssociationProposal, Connection
from securemeter.session.events import AssociationAccepted, AssociationRefused, ResponseReceived
from securemeter.session.state import Role
from securemeter.storage.base import LogRecord, StoredRecord
from securemeter.storage.memory import MemoryStore

TOP = COUNTER_MODULUS - 1
WRAP = EventCode.EVENT_COUNTER_WRAPPED
UNKNOWN_FLOOD = EventCode.REQUEST_REFUSED
REFUSED = EventCode.ASSOCIATION_REFUSED

# Columns of the communication and security logs (docs/LOGS.md).
CLOCK, CODE, COUNTER, COUNT, INTERFACE, ADDRESS, PORT, HDLC, SAP, USER, MECHANISM = range(11)
OUTCOME, REASON = 11, 12

NO_LOCKOUT = LockoutSettings(enabled=False)
INTERFACES = (
    InterfaceConfig(Interface.TCP, lockout=NO_LOCKOUT),
    InterfaceConfig(Interface.OPTICAL, lockout=NO_LOCKOUT),
)
LOCAL_READER = RoleConfig(
    sap=32,
    name="local reader",
    mechanism=AuthenticationMechanism.LOW,
    protection=Protection.NONE,
    interfaces=frozenset({Interface.OPTICAL}),
    grants=(Grant(None, read=frozenset({ALL})),),
    instance=2,
)
# Everything a configuration could grant, to show that the log objects refuse by themselves.
ALMIGHTY = replace(
    PUBLIC_CLIENT,
    grants=(Grant(None, read=frozenset({ALL}), write=frozenset({ALL}), methods=frozenset({ALL})),),
)


def meter_config(
    logs: LogSettings | None = None, roles: Sequence[RoleConfig] = (PUBLIC_CLIENT, LOCAL_READER)
) -> MeterConfig:
    return MeterConfig(
        roles=tuple(roles),
        interfaces=INTERFACES,
        load_profile_history_days=0,
        logs=logs if logs is not None else LogSettings(),
    )


def new_writer(
    store: MemoryStore | None = None,
    *,
    log: str = COMMUNICATION,
    depth: int = 10,
    limit: int = 5,
    window: float = 60.0,
    summaries: list[StoredRecord] | None = None,
) -> EventLogWriter:
    return EventLogWriter(
        store if store is not None else MemoryStore(),
        log,
        depth,
        wrap_code=WRAP,
        unknown_flood_code=UNKNOWN_FLOOD,
        aggregate_limit=limit,
        window=window,
        on_summary=summaries.append if summaries is not None else None,
    )


def record(code: int = REFUSED, time_ms: int = 1000, **fields: str | int | None) -> LogRecord:
    return LogRecord(time_ms, int(code), fields)


def assert_accounted(entries: Sequence[StoredRecord], last_event: int) -> None:
    """The reader's rule: each entry's counter minus its count is the previous entry's."""
    assert entries, "no entries"
    for previous, entry in pairwise(entries):
        assert entry.sequence - entry.count == previous.sequence, (previous, entry)
    assert entries[-1].sequence == last_event


def assert_rows_accounted(rows: Sequence[Data], counter: int) -> None:
    """The same rule on profile rows (32-bit counter and count columns)."""
    pairs = []
    for row in rows:
        assert isinstance(row, Structure)
        column, events = row.items[COUNTER], row.items[COUNT]
        assert isinstance(column, DoubleLongUnsigned) and isinstance(events, DoubleLongUnsigned)
        pairs.append((column.value, events.value))
    for (previous, _), (number, count) in pairwise(pairs):
        assert (number - count) % COUNTER_MODULUS == previous
    assert pairs[-1][0] == counter


# ============================================================================ unit: helpers


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("127.0.0.1:40000", ("127.0.0.1", 40000)),
        ("[::1]:4059", ("::1", 4059)),
        ("[fe80::1%eth0]:1", ("fe80::1%eth0", 1)),
        ("optical", ("optical", None)),
        ("10.0.0.1:99999", ("10.0.0.1:99999", None)),
        ("::1", ("::1", None)),
        ("[::1]", ("[::1]", None)),
        ("host:", ("host:", None)),
    ],
)
def test_split_remote(remote: str, expected: tuple[str, int | None]) -> None:
    assert split_remote(remote) == expected


def test_flood_detector_counts_per_source_within_the_window() -> None:
    detector = FloodDetector(threshold=3, window=10.0)
    assert [detector.exceeded("a", t) for t in (0, 1, 2)] == [False] * 3
    assert detector.exceeded("a", 3)  # the fourth within 10 s
    assert not detector.exceeded("b", 3)  # another source has its own count
    assert detector.exceeded("a", 9.9)
    # Slow enough: the 3 newest before this one are older than the window.
    slow = FloodDetector(threshold=3, window=10.0)
    assert not any(slow.exceeded("a", t * 5.0) for t in range(10))


def test_flood_detector_threshold_zero_aggregates_everything() -> None:
    detector = FloodDetector(threshold=0, window=1.0)
    assert detector.exceeded("a", 0.0) and detector.exceeded("b", 100.0)


def test_flood_detector_memory_is_bounded() -> None:
    detector = FloodDetector(threshold=1, window=10.0, max_sources=4)
    for index in range(100):
        detector.exceeded(f"host{index}", float(index))
    assert len(detector._hits) <= 4
    assert detector.exceeded("host99", 99.5)  # the newest source is still tracked


def test_flood_detector_and_settings_refuse_nonsense() -> None:
    with pytest.raises(ValueError):
        FloodDetector(threshold=-1, window=1.0)
    with pytest.raises(ValueError):
        FloodDetector(threshold=1, window=0.0)
    for bad in (
        {"depth": 0},
        {"flood_threshold": -1},
        {"flood_window": 0.0},
        {"aggregate_limit": 0},
        {"depth": 1.5},
    ):
        with pytest.raises(ValueError):
            LogSettings(**bad)


# ============================================================================ unit: writer


def test_each_event_takes_the_next_sequence_and_the_counter_is_it() -> None:
    store = MemoryStore()
    writer = new_writer(store)
    numbers = [writer.append(record(time_ms=t)) for t in range(15)]
    assert numbers == list(range(1, 16))
    assert writer.counter == 15 == store.logs.sequence(COMMUNICATION)
    assert [r.sequence for r in writer.entries()] == list(range(6, 16))  # depth 10
    assert [r.sequence for r in store.logs.records(COMMUNICATION)] == list(range(6, 16))
    assert_accounted(writer.entries(), 15)


def test_counter_wraps_through_a_wrap_record_holding_zero() -> None:
    store = MemoryStore()
    store.logs.configure(COMMUNICATION, 10)
    store.logs.seed_sequence(COMMUNICATION, TOP - 2)
    writer = new_writer(store)
    assert writer.counter == TOP - 2
    numbers = [writer.append(record(time_ms=t)) for t in range(4)]
    assert [counter_value(n) for n in numbers] == [TOP - 1, TOP, 1, 2]
    entries = writer.entries()
    assert [(counter_value(r.sequence), r.event_code, r.count) for r in entries] == [
        (TOP - 1, REFUSED, 1),
        (TOP, REFUSED, 1),
        (0, WRAP, 1),
        (1, REFUSED, 1),
        (2, REFUSED, 1),
    ]
    assert_accounted(entries, writer.last_event)
    assert writer.last_event == COUNTER_MODULUS + 2  # the 64-bit number never wraps


def test_flood_events_share_one_record_and_count_one_by_one() -> None:
    store = MemoryStore()
    summaries: list[StoredRecord] = []
    writer = new_writer(store, limit=100, summaries=summaries)
    writer.append(record(EventCode.ASSOCIATION_ACCEPTED))
    key = ("10.0.0.9", int(REFUSED), "unknown-sap")
    numbers = [
        writer.aggregate(key, record(time_ms=2000 + i, remote=f"10.0.0.9:{i}"), 0.0)
        for i in range(7)
    ]
    assert numbers == list(range(2, 9))
    assert writer.counter == 8
    assert store.logs.sequence(COMMUNICATION) == 1  # nothing appended yet: slots only
    assert store.slots.get(event_slot(COMMUNICATION)) == 8
    open_entry = writer.entries()[-1]
    assert (open_entry.sequence, open_entry.count) == (8, 7)
    assert open_entry.fields["remote"] == "10.0.0.9"  # the port changes in a flood
    assert open_entry.fields["first_time_ms"] == 2000
    writer.append(record(EventCode.ASSOCIATION_ACCEPTED, time_ms=3000))  # closes the aggregate
    assert [(r.sequence, r.count) for r in store.logs.records(COMMUNICATION)] == [
        (1, 1),
        (8, 7),
        (9, 1),
    ]
    assert [(s.sequence, s.count, s.time_utc_ms) for s in summaries] == [(8, 7, 2006)]
    assert_accounted(writer.entries(), 9)


def test_an_aggregate_closes_at_its_limit_on_another_key_and_after_the_window() -> None:
    store = MemoryStore()
    writer = new_writer(store, limit=3, window=10.0)
    a, b = ("a", int(REFUSED), "x"), ("b", int(REFUSED), "x")
    for _ in range(7):
        writer.aggregate(a, record(), 0.0)
    writer.aggregate(b, record(), 0.0)
    writer.aggregate(a, record(), 0.0)
    writer.aggregate(a, record(), 10.0)  # the open one spans the window now
    writer.aggregate(a, record(), 19.0)
    assert writer.expire(19.9) is None
    closed = writer.expire(20.0)  # ten seconds after its first event, busy or quiet
    assert closed is not None and closed.count == 2
    counts = [r.count for r in store.logs.records(COMMUNICATION)]
    assert counts == [3, 3, 1, 1, 1, 2]
    assert_accounted(writer.entries(), 11)


def test_an_aggregate_never_spans_the_wrap() -> None:
    store = MemoryStore()
    store.logs.configure(SECURITY, 20)
    store.logs.seed_sequence(SECURITY, TOP - 3)
    writer = new_writer(store, log=SECURITY, limit=100)
    key = ("a", int(REFUSED), "x")
    for _ in range(6):
        writer.aggregate(key, record(), 0.0)
    writer.flush()
    entries = writer.entries()
    assert [(counter_value(r.sequence), r.count, r.event_code) for r in entries] == [
        (TOP, 3, REFUSED),
        (0, 1, WRAP),
        (3, 3, REFUSED),
    ]
    assert_accounted(entries, COUNTER_MODULUS + 3)


def test_clear_empties_the_ring_and_the_counter_goes_on() -> None:
    store = MemoryStore()
    writer = new_writer(store, log=STANDARD)
    for _ in range(4):
        writer.append(record(EventCode.POWER_UP))
    writer.clear()
    assert writer.entries() == [] and store.logs.records(STANDARD) == []
    assert writer.counter == 4
    assert writer.append(record(EventCode.LOG_CLEARED)) == 5
    assert new_writer(store, log=STANDARD).counter == 5  # after a restart too


# ---------------------------------------------------------------------------- recovery


def crashed_open_aggregate(count: int) -> tuple[MemoryStore, int]:
    """A store as a kill -9 leaves it while an aggregate of ``count`` events is open."""
    store = MemoryStore()
    writer = new_writer(store, limit=100)
    writer.append(record(EventCode.ASSOCIATION_ACCEPTED))
    for i in range(count):
        writer.aggregate(("h", int(REFUSED), "x"), record(time_ms=5000 + i, remote="h:1"), 0.0)
    return store, writer.last_event


def test_a_restart_closes_the_aggregate_a_crash_left_open() -> None:
    store, last = crashed_open_aggregate(6)
    view = read_log(store, COMMUNICATION)  # a reader sees it, and reading changes nothing
    assert view.open_aggregate is not None
    assert (view.open_aggregate.sequence, view.open_aggregate.count) == (last, 6)
    assert view.counter == last and store.logs.sequence(COMMUNICATION) == 1
    summaries: list[StoredRecord] = []
    restarted = new_writer(store, summaries=summaries)
    assert restarted.counter == last
    stored = store.logs.records(COMMUNICATION)[-1]
    assert (stored.sequence, stored.count, stored.event_code) == (last, 6, REFUSED)
    assert (stored.time_utc_ms, stored.fields["first_time_ms"]) == (5005, 5000)
    assert stored.fields["remote"] == "h"
    assert summaries == [stored]
    assert new_writer(store).entries() == restarted.entries()  # closed once, not twice
    assert_accounted(restarted.entries(), last)


def test_a_restart_after_the_seed_but_before_the_append_closes_it_exactly() -> None:
    store, last = crashed_open_aggregate(5)
    store.logs.seed_sequence(COMMUNICATION, last - 1)  # flush died between its two steps
    restarted = new_writer(store)
    assert [(r.sequence, r.count) for r in restarted.entries()] == [(1, 1), (last, 5)]
    assert_accounted(restarted.entries(), last)


def test_an_undescribed_aggregate_keeps_its_count_and_says_so() -> None:
    store, last = crashed_open_aggregate(4)
    store.state.delete(description_key(COMMUNICATION))
    restarted = new_writer(store)
    recovered = restarted.entries()[-1]
    assert (recovered.sequence, recovered.count) == (last, 4)
    assert recovered.event_code == UNKNOWN_FLOOD
    assert recovered.fields["reason"] == "unknown-after-restart"


def test_a_stale_description_is_not_applied_to_other_events() -> None:
    store, last = crashed_open_aggregate(3)
    new_writer(store)  # closes it
    store.slots.set(event_slot(COMMUNICATION), last + 2)  # counted, but described by nothing
    recovered = new_writer(store).entries()[-1]
    assert (recovered.sequence, recovered.count) == (last + 2, 2)
    assert recovered.fields["reason"] == "unknown-after-restart"


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["event", "flood-a", "flood-b", "expire", "restart"])),
        max_size=60,
    ),
    seed_top=st.booleans(),
)
def test_any_history_is_accounted_for(steps: list[tuple[str]], seed_top: bool) -> None:
    store = MemoryStore()
    if seed_top:
        store.logs.configure(SECURITY, 8)
        store.logs.seed_sequence(SECURITY, TOP - 3)
    writer = new_writer(store, log=SECURITY, depth=8, limit=4, window=5.0)
    now = 0.0
    counted = writer.last_event
    for (step,) in steps:
        now += 1.0
        if step == "event":
            writer.append(record(EventCode.ASSOCIATION_ACCEPTED))
        elif step.startswith("flood"):
            writer.aggregate((step, int(REFUSED), "x"), record(), now)
        elif step == "expire":
            writer.expire(now + 5.0)
            continue
        else:
            writer = new_writer(store, log=SECURITY, depth=8, limit=4, window=5.0)
            assert writer.last_event == counted  # a restart loses no count
            continue
        counted += 1 + (counter_value(counted + 1) == 0)  # a wrap record counts once
        assert writer.last_event == counted
    if writer.entries():
        assert_accounted(writer.entries(), writer.last_event)
        assert len(writer.entries()) <= 8


# ============================================================================ unit: logbook


def new_logbook(
    store: MemoryStore | None = None, clock: list[float] | None = None, **settings: int
) -> Logbook:
    now = clock if clock is not None else [0.0]
    return Logbook(
        store if store is not None else MemoryStore(),
        lambda: 1_000_000,
        monotonic=lambda: now[0],
        settings=LogSettings(**settings),
    )


def test_only_refusals_from_a_host_are_aggregated() -> None:
    logbook = new_logbook(flood_threshold=2, aggregate_limit=100)
    for _ in range(5):
        logbook.record(COMMUNICATION, EventCode.ASSOCIATION_ACCEPTED, remote="1.2.3.4:5")
        logbook.record(COMMUNICATION, REFUSED, reason="x")  # no remote: no source
    for port in range(5):
        logbook.record(COMMUNICATION, REFUSED, remote=f"1.2.3.4:{port}", reason="unknown-sap")
    view = logbook.view(COMMUNICATION)
    assert [r.count for r in view.records] == [1] * 12
    assert view.open_aggregate is not None and view.open_aggregate.count == 3
    assert logbook.counter(COMMUNICATION) == 15


def test_a_security_flood_is_summarised_in_the_fraud_log() -> None:
    logbook = new_logbook(flood_threshold=1, aggregate_limit=4)
    for _ in range(9):
        logbook.record(SECURITY, REFUSED, remote="9.9.9.9:1", sap=7, reason="unknown-sap")
    for _ in range(3):
        logbook.record(SECURITY, EventCode.DECRYPTION_OR_AUTHENTICATION_FAILURE, remote="9.9.9.9:1")
    logbook.flush()
    fraud = logbook.view(FRAUD).records
    assert [(r.event_code, r.fields["failures"], r.fields["remote"]) for r in fraud] == [
        (EventCode.ASSOCIATION_AUTHENTICATION_FAILURE, 4, "9.9.9.9"),
        (EventCode.ASSOCIATION_AUTHENTICATION_FAILURE, 4, "9.9.9.9"),
        (EventCode.DECRYPTION_OR_AUTHENTICATION_FAILURE, 3, "9.9.9.9"),
    ]
    security = logbook.view(SECURITY).records
    assert [r.fields["security_counter"] for r in fraud] == [
        r.sequence for r in security if r.count > 1
    ]


def test_each_replay_is_a_fraud_record() -> None:
    logbook = new_logbook()
    logbook.record(SECURITY, EventCode.REPLAY_ATTACK, remote="5.5.5.5:9", sap=1, reason="replay")
    (fraud,) = logbook.view(FRAUD).records
    assert fraud.event_code == EventCode.REPLAY_ATTACK
    assert dict(fraud.fields) == {
        "interface": None,
        "remote": "5.5.5.5:9",
        "sap": 1,
        "reason": "replay",
        "failures": 1,
        "security_counter": 1,
    }


def test_a_clear_is_recorded_and_only_standard_and_fraud_can_be_cleared() -> None:
    logbook = new_logbook()
    for _ in range(3):
        logbook.record(STANDARD, EventCode.POWER_UP)
        logbook.record(FRAUD, EventCode.REPLAY_ATTACK)
    logbook.clear(FRAUD)
    assert [(r.sequence, r.event_code) for r in logbook.view(FRAUD).records] == [
        (4, EventCode.LOG_CLEARED)
    ]
    standard = logbook.view(STANDARD).records
    assert (standard[-1].event_code, standard[-1].fields["cleared_log"]) == (
        EventCode.LOG_CLEARED,
        FRAUD,
    )
    for log in (COMMUNICATION, SECURITY, "firmware"):
        with pytest.raises(ValueError):
            logbook.clear(log)


def test_an_aggregate_is_closed_by_the_tick_after_the_window() -> None:
    now = [0.0]
    logbook = new_logbook(clock=now, flood_threshold=0, flood_window=30)
    logbook.record(COMMUNICATION, REFUSED, remote="7.7.7.7:1")
    logbook.tick()
    assert logbook.view(COMMUNICATION).open_aggregate is not None
    now[0] = 29.9
    logbook.tick()
    assert logbook.view(COMMUNICATION).open_aggregate is not None
    now[0] = 30.0
    logbook.tick()
    view = logbook.view(COMMUNICATION)
    assert view.open_aggregate is None and view.records[-1].count == 1


def test_event_codes_fit_the_unsigned_event_code_objects() -> None:
    assert all(0 < code <= 0xFF for code in EventCode)
    with pytest.raises(ValueError):
        new_logbook().record(STANDARD, 256)


# ============================================================================ in the meter


def open_link(
    meter: Meter,
    client_sap: int = 16,
    *,
    interface: Interface = Interface.TCP,
    remote: str = "127.0.0.1:50000",
) -> Link:
    session = meter.new_session(interface, remote)
    headend = Connection(Role.HEADEND, random_bytes=seeded_random(2))
    return Link(meter, session, headend, client_sap)


def associate_link(meter: Meter, client_sap: int = 16, **where: object) -> Link:
    link = open_link(meter, client_sap, **where)  # type: ignore[arg-type]
    event = link.exchange(link.headend.request_association(AssociationProposal()))
    assert isinstance(event, AssociationAccepted)
    return link


def value(link: Link, class_id: int, obis: Obis | str, attribute: int = 2) -> Data:
    result = link.get(class_id, str(obis), attribute)
    assert isinstance(result, Data), f"GET {obis}/{attribute} refused: {result}"
    return result


def counter(link: Link, log: str) -> int:
    data = value(link, 1, LOG_DEFINITIONS[log].counter_name)
    assert isinstance(data, DoubleLongUnsigned)
    return data.value


def rows(link: Link, log: str, selection: SelectiveAccess | None = None) -> list[Structure]:
    result = link.get(7, str(LOG_DEFINITIONS[log].profile_name), 2, selection)
    assert isinstance(result, Array), result
    assert all(isinstance(row, Structure) for row in result.items)
    return list(result.items)  # type: ignore[arg-type]


def by_entry(first: int, last: int, first_column: int = 1, last_column: int = 0) -> SelectiveAccess:
    return SelectiveAccess(
        2,
        Structure(
            (
                DoubleLongUnsigned(first),
                DoubleLongUnsigned(last),
                LongUnsigned(first_column),
                LongUnsigned(last_column),
            )
        ),
    )


def by_range(
    meter: Meter, start: datetime, end: datetime, columns: Sequence[CaptureObject] = ()
) -> SelectiveAccess:
    clock = meter.device.clock
    return SelectiveAccess(
        1,
        Structure(
            (
                CLOCK_CAPTURE.to_data(),
                clock.to_local(start).to_octet_string(),
                clock.to_local(end).to_octet_string(),
                Array(tuple(column.to_data() for column in columns)),
            )
        ),
    )


def last_row(link: Link, log: str) -> Structure:
    entries = value(link, 7, LOG_DEFINITIONS[log].profile_name, 7)
    assert isinstance(entries, DoubleLongUnsigned)
    (row,) = rows(link, log, by_entry(entries.value, entries.value))
    return row


@pytest.mark.parametrize(
    ("sap", "interface", "proposal", "reason"),
    [
        (17, Interface.TCP, AssociationProposal(), "unknown-sap"),
        (32, Interface.TCP, AssociationProposal(), "interface-not-allowed"),
        (32, Interface.OPTICAL, AssociationProposal(), "mechanism-not-allowed"),
    ],
)
def test_a_refusal_without_keys_is_one_communication_and_one_security_record(
    sap: int, interface: Interface, proposal: AssociationProposal, reason: str
) -> None:
    meter = make_meter(meter_config())
    reader = associate_link(meter, remote="127.0.0.1:40100")  # GETs are never logged
    before = {log: counter(reader, log) for log in (COMMUNICATION, SECURITY)}
    link = open_link(meter, sap, interface=interface, remote="127.0.0.1:53117")
    event = link.exchange(link.headend.request_association(proposal))
    assert isinstance(event, AssociationRefused)
    # Recorded before the answer was returned: the store holds both records already.
    stored = {log: meter.store.logs.records(log)[-1] for log in (COMMUNICATION, SECURITY)}
    assert all(r.fields["reason"] == reason for r in stored.values())
    for log in (COMMUNICATION, SECURITY):
        assert counter(reader, log) == before[log] + 1
        row = last_row(reader, log).items
        assert row[CODE] == Unsigned(EventCode.ASSOCIATION_REFUSED)
        assert row[COUNTER] == DoubleLongUnsigned(before[log] + 1)
        assert row[COUNT] == DoubleLongUnsigned(1)
        assert row[INTERFACE] == VisibleString(interface.value)
        assert (row[ADDRESS], row[PORT]) == (VisibleString("127.0.0.1"), LongUnsigned(53117))
        assert row[SAP] == Unsigned(sap)
        assert row[OUTCOME] == Enum(EventOutcome.REFUSED)
        assert row[REASON] == VisibleString(reason)
        # The "last event" objects hold the columns of the newest entry.
        definition = LOG_DEFINITIONS[log]
        assert value(reader, 1, definition.field_name(Field.REMOTE_PORT)) == LongUnsigned(53117)
        assert value(reader, 1, definition.field_name(Field.REASON)) == VisibleString(reason)
        assert value(reader, 1, definition.event_code_name) == Unsigned(
            EventCode.ASSOCIATION_REFUSED
        )


def test_a_successful_association_leaves_a_record() -> None:
    meter = make_meter(meter_config())
    before = meter.logbook.counter(COMMUNICATION)
    reader = associate_link(meter, remote="[2001:db8::7]:61000")
    assert counter(reader, COMMUNICATION) == before + 1
    row = last_row(reader, COMMUNICATION).items
    assert row[CODE] == Unsigned(EventCode.ASSOCIATION_ACCEPTED)
    assert (row[ADDRESS], row[PORT]) == (VisibleString("2001:db8::7"), LongUnsigned(61000))
    assert (row[SAP], row[MECHANISM]) == (Unsigned(16), Enum(0))
    assert (row[OUTCOME], row[REASON], row[HDLC]) == (
        Enum(EventOutcome.ASSOCIATED),
        NullData(),
        NullData(),
    )
    assert row[USER] == NullData()


def test_ten_thousand_refusals_are_all_counted_in_hundred_entry_logs() -> None:
    logs = LogSettings(depth=100, flood_threshold=5, aggregate_limit=50)
    meter = make_meter(meter_config(logs))
    reader = associate_link(meter, remote="127.0.0.1:40001")
    before = {log: counter(reader, log) for log in (COMMUNICATION, SECURITY)}
    aarq = Connection(Role.HEADEND, random_bytes=seeded_random(3)).request_association(
        AssociationProposal()
    )
    for connection in range(4):
        session = meter.new_session(Interface.TCP, f"127.0.0.1:{41000 + connection}")
        for _ in range(2500):
            answer = session.receive(17, 1, aarq)
            assert answer.data is not None and answer.data[0] == 0x61  # an AARE every time
        session.closed()
    for log in (COMMUNICATION, SECURITY):
        now = counter(reader, log)
        assert now == before[log] + 10_000
        definition = LOG_DEFINITIONS[log]
        assert value(reader, 7, definition.profile_name, 7) == DoubleLongUnsigned(100)
        assert value(reader, 7, definition.profile_name, 8) == DoubleLongUnsigned(100)
        buffer = rows(reader, log)
        assert len(buffer) == 100
        assert_rows_accounted(buffer, now)
        # Every refusal is in the counter: overwritten ones before the oldest entry, the rest
        # in the counts of the entries.
        oldest_counter, oldest_count = buffer[0].items[COUNTER], buffer[0].items[COUNT]
        assert isinstance(oldest_counter, DoubleLongUnsigned)
        assert isinstance(oldest_count, DoubleLongUnsigned)
        overwritten = oldest_counter.value - oldest_count.value - before[log]
        counts = [row.items[COUNT] for row in buffer]
        kept = sum(c.value for c in counts if isinstance(c, DoubleLongUnsigned))
        assert overwritten + kept == 10_000
        assert max(c.value for c in counts if isinstance(c, DoubleLongUnsigned)) == 50
        assert all(row.items[REASON] == VisibleString("unknown-sap") for row in buffer)
    assert meter.logbook.view(FRAUD).records[-1].event_code == (
        EventCode.ASSOCIATION_AUTHENTICATION_FAILURE
    )


@pytest.fixture
def store_near_the_top() -> MemoryStore:
    """A store whose communication and security counters are 3 below the wrap."""
    store = MemoryStore()
    for log in (COMMUNICATION, SECURITY):
        store.logs.configure(log, 1000)
        store.logs.seed_sequence(log, TOP - 2)
    return store


def test_the_counters_wrap_with_a_wrap_record(store_near_the_top: MemoryStore) -> None:
    meter = make_meter(meter_config(), store=store_near_the_top)
    reader = associate_link(meter)
    assert counter(reader, COMMUNICATION) == TOP - 1
    for port in range(3):
        link = open_link(meter, 17, remote=f"127.0.0.1:{port + 1000}")
        link.exchange(link.headend.request_association(AssociationProposal()))
    assert (counter(reader, COMMUNICATION), counter(reader, SECURITY)) == (2, 1)
    expected = {
        COMMUNICATION: [
            (TOP - 1, EventCode.ASSOCIATION_ACCEPTED),
            (TOP, REFUSED),
            (0, WRAP),
            (1, REFUSED),
            (2, REFUSED),
        ],
        SECURITY: [(TOP - 1, REFUSED), (TOP, REFUSED), (0, WRAP), (1, REFUSED)],
    }
    for log, wanted in expected.items():
        buffer = rows(reader, log)
        got = [(row.items[COUNTER], row.items[CODE]) for row in buffer]
        assert got == [(DoubleLongUnsigned(c), Unsigned(code)) for c, code in wanted]
        assert_rows_accounted(buffer, wanted[-1][0])
    meter.power_down()
    restarted = make_meter(meter_config(), store=store_near_the_top)
    assert restarted.logbook.counter(COMMUNICATION) == 2
    assert restarted.logbook.writer(COMMUNICATION).last_event == COUNTER_MODULUS + 2


def test_selective_access_by_range_and_by_entry_returns_exactly_the_rows() -> None:
    clock = timekeeping.TestClock(START)
    meter = make_meter(meter_config(), clock=clock)
    reader = associate_link(meter)
    start = meter.logbook.counter(COMMUNICATION)  # the reader's own record, at START
    instants = []
    for index in range(6):
        clock.advance(60)
        instants.append(START + timedelta(seconds=60 * (index + 1)))
        link = open_link(meter, 17, remote=f"127.0.0.1:{7000 + index}")
        link.exchange(link.headend.request_association(AssociationProposal()))

    def ports(selected: Sequence[Structure]) -> list[Data]:
        return [row.items[PORT] for row in selected]

    # Range, inclusive at both ends, on the capture instant.
    selected = rows(reader, COMMUNICATION, by_range(meter, instants[1], instants[3]))
    assert ports(selected) == [LongUnsigned(7001), LongUnsigned(7002), LongUnsigned(7003)]
    assert [row.items[COUNTER] for row in selected] == [
        DoubleLongUnsigned(start + n) for n in (2, 3, 4)
    ]
    between = by_range(meter, instants[1] + timedelta(seconds=1), instants[2])
    assert ports(rows(reader, COMMUNICATION, between)) == [LongUnsigned(7002)]
    assert rows(reader, COMMUNICATION, by_range(meter, instants[3], instants[1])) == []
    before_all = by_range(meter, START - timedelta(days=1), START - timedelta(seconds=1))
    assert rows(reader, COMMUNICATION, before_all) == []
    everything = rows(reader, COMMUNICATION, by_range(meter, START, instants[-1]))
    assert everything == rows(reader, COMMUNICATION)
    # Range with chosen columns, in the order asked.
    definition = LOG_DEFINITIONS[COMMUNICATION]
    columns = definition.capture_objects()
    chosen = rows(
        reader,
        COMMUNICATION,
        by_range(meter, instants[4], instants[5], (columns[PORT], columns[COUNTER])),
    )
    assert [row.items for row in chosen] == [
        (LongUnsigned(7004), DoubleLongUnsigned(start + 5)),
        (LongUnsigned(7005), DoubleLongUnsigned(start + 6)),
    ]
    # By entry: 1 is the oldest (the reader's association), 0 as to_entry the newest.
    assert ports(rows(reader, COMMUNICATION, by_entry(3, 5))) == [
        LongUnsigned(7001),
        LongUnsigned(7002),
        LongUnsigned(7003),
    ]
    assert ports(rows(reader, COMMUNICATION, by_entry(6, 0))) == [
        LongUnsigned(7004),
        LongUnsigned(7005),
    ]
    assert rows(reader, COMMUNICATION, by_entry(8, 9)) == []
    narrow = rows(reader, COMMUNICATION, by_entry(2, 2, CODE + 1, COUNTER + 1))
    assert [row.items for row in narrow] == [
        (Unsigned(EventCode.ASSOCIATION_REFUSED), DoubleLongUnsigned(start + 1))
    ]


def perform_set(link: Link, class_id: int, obis: Obis, attribute: int, new: Data) -> int:
    request = SetRequestNormal(0xC1, CosemAttributeDescriptor(class_id, obis, attribute), None, new)
    event = link.exchange(link.headend.send_request(request))
    assert isinstance(event, ResponseReceived) and isinstance(event.response, SetResponseNormal)
    return int(event.response.result)


def perform_action(link: Link, class_id: int, obis: Obis, method: int) -> int:
    request = ActionRequestNormal(0xC1, CosemMethodDescriptor(class_id, obis, method), Integer(0))
    event = link.exchange(link.headend.send_request(request))
    assert isinstance(event, ResponseReceived) and isinstance(event.response, ActionResponseNormal)
    return int(event.response.result)


def test_no_role_can_write_a_log_or_its_counter() -> None:
    meter = make_meter(meter_config(roles=(ALMIGHTY,)))
    link = associate_link(meter)
    logs = {obis: obj for obis, obj in meter.objects.items() if is_log_object(obis)}
    assert set(logs) == {obis for obis, _ in log_object_catalogue()}
    for obis, obj in logs.items():
        if isinstance(obj, DataObject):
            assert not obj.writable, obis  # a provided value: its SET handler refuses
        else:
            assert type(obj).writable_attributes() == frozenset(), obis
        assert settable_attributes(obis, obj.CLASS_ID) == frozenset()  # nor can a config grant
        for attribute in obj.ATTRIBUTES:
            current = obj.get_attribute(attribute.index)
            result = perform_set(link, obj.CLASS_ID, obis, attribute.index, current)
            assert result == DataAccessResult.READ_WRITE_DENIED, (obis, attribute)
    counters = {log: counter(link, log) for log in LOG_NAMES}
    low = DoubleLongUnsigned(0)
    assert perform_set(link, 1, LOG_DEFINITIONS[SECURITY].counter_name, 2, low) != 0
    for log in LOG_NAMES:  # capture (method 2) is never offered
        assert perform_action(link, 7, LOG_DEFINITIONS[log].profile_name, 2) == (
            ActionResult.READ_WRITE_DENIED
        )
    assert all(counter(link, log) >= counters[log] for log in LOG_NAMES)


@pytest.mark.parametrize("log", [COMMUNICATION, SECURITY, "firmware"])
def test_the_other_logs_cannot_be_cleared_even_if_a_role_may_reset(log: str) -> None:
    meter = make_meter(meter_config(roles=(ALMIGHTY,)))
    link = associate_link(meter)
    before = meter.logbook.view(log).records
    result = perform_action(link, 7, LOG_DEFINITIONS[log].profile_name, 1)
    assert result == ActionResult.READ_WRITE_DENIED
    assert meter.logbook.view(log).records[: len(before)] == before


@pytest.mark.parametrize("log", [STANDARD, FRAUD])
def test_clearing_standard_or_fraud_is_recorded_and_keeps_the_counter(log: str) -> None:
    meter = make_meter(meter_config(roles=(ALMIGHTY,)))
    meter.logbook.record(FRAUD, EventCode.REPLAY_ATTACK, remote="1.1.1.1:1")
    link = associate_link(meter)
    before = counter(link, log)
    assert perform_action(link, 7, LOG_DEFINITIONS[log].profile_name, 1) == ActionResult.SUCCESS
    buffer = rows(link, log)
    assert [(row.items[CODE], row.items[COUNTER]) for row in buffer] == [
        (Unsigned(EventCode.LOG_CLEARED), DoubleLongUnsigned(before + 1))
    ]
    standard = meter.logbook.view(STANDARD).records[-1]
    assert (standard.event_code, standard.fields["cleared_log"]) == (EventCode.LOG_CLEARED, log)
    executed = meter.logbook.view(COMMUNICATION).records[-1]  # who did it
    assert (executed.event_code, executed.fields["sap"]) == (EventCode.ACTION_EXECUTED, 16)


def test_the_log_objects_are_in_the_configuration_catalogue() -> None:
    meter = make_meter(meter_config())
    served = {name: obj.CLASS_ID for name, obj in meter.objects.items() if is_log_object(name)}
    assert served == dict(log_object_catalogue())
    assert set(log_object_catalogue()) <= set(object_catalogue(1).items())
    assert Obis(0, 0, 128, 0, 0, 255) not in served  # the demo's test object stays apart
    profiles = [name for name, class_id in served.items() if class_id == 7]
    assert sorted(p.e for p in profiles) == [0, 1, 3, 4, 6]


def test_an_open_flood_shows_as_the_newest_entry_and_closes_at_power_down() -> None:
    meter = make_meter(meter_config(LogSettings(flood_threshold=2, aggregate_limit=1000)))
    reader = associate_link(meter)
    for port in range(7):
        link = open_link(meter, 17, remote=f"10.1.1.1:{port + 2000}")
        link.exchange(link.headend.request_association(AssociationProposal()))
    newest = last_row(reader, SECURITY).items
    assert (newest[COUNT], newest[ADDRESS], newest[PORT]) == (
        DoubleLongUnsigned(5),
        VisibleString("10.1.1.1"),
        NullData(),
    )
    assert meter.store.logs.sequence(SECURITY) == 2  # counted in slots so far
    meter.power_down()
    stored = meter.store.logs.records(SECURITY)[-1]
    assert (stored.sequence, stored.count) == (7, 5)
    fraud = meter.store.logs.records(FRAUD)[-1]
    assert (fraud.fields["failures"], fraud.fields["security_counter"]) == (5, 7)
