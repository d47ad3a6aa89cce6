"""Port lockout (docs/ACCESS.md): the rule, the meter's use of it, restarts, lifting.

The rule is tested on ``PortLockout`` with explicit times; the meter in memory on the default
roles with the test clock (meter/timekeeping.py: ``TestClock.advance`` moves monotonic time);
restarts on a reused MemoryStore and on SQLite; lifting over the optical interface and with
``securemeter meter unlock``; and once over real sockets (the meter process, wrapper and HDLC).
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_default_roles import (
    MANAGEMENT,
    OPTICAL_LOCKOUT,
    READER,
    SECURITY_ADMIN,
    TCP_LOCKOUT,
    clock_value,
    get,
    hls_link,
    invoke,
    public_link,
    set_attribute,
    try_hls,
)

from meter_harness import START, Link, associate, make_meter
from meter_process import HdlcClient, MeterProcess, WrapperClient
from securemeter.apdu.common import CosemAttributeDescriptor
from securemeter.apdu.enums import AssociationResult, DataAccessResult
from securemeter.apdu.get import GetRequestNormal
from securemeter.cli.main import main
from securemeter.codec.axdr import DoubleLongUnsigned, Enum, Long, OctetString
from securemeter.codec.obis import Obis
from securemeter.cosem.interface_lockout import LockoutState
from securemeter.errors import StorageError
from securemeter.meter.config import (
    Interface,
    InterfaceConfig,
    LockoutSettings,
    MeterConfig,
    demo_config,
)
from securemeter.meter.config_file import ConfigError, parse_config
from securemeter.meter.lockout import (
    LockoutSnapshot,
    PortLockout,
    lockout_name,
    state_key,
)
from securemeter.meter.logbook import EventCode
from securemeter.meter.meter import Meter
from securemeter.meter.timekeeping import TestClock as ManualClock  # not a test class
from securemeter.session.events import AssociationAccepted, AssociationRefused, Event
from securemeter.storage import open_store
from securemeter.storage.base import MeterStore
from securemeter.storage.memory import MemoryStore

RULE = LockoutSettings(
    failures=3, window=300.0, lockout_time=60.0, max_lockout_time=240.0, quiet_period=1000.0
)
UNKNOWN_SAP = 99

# ---------------------------------------------------------------------------- the rule


def lock(port: PortLockout, now: float) -> float:
    """Three failures at ``now``; the lockout time they started."""
    assert port.failure(now) is None
    assert port.failure(now) is None
    duration = port.failure(now)
    assert duration is not None
    return duration


def test_three_failures_within_the_window_lock() -> None:
    port = PortLockout(RULE, LockoutSnapshot(), 0.0)
    assert port.failure(0.0) is None
    assert port.failure(100.0) is None
    assert not port.locked(100.0)
    assert port.failure(299.0) == 60.0
    assert port.locked(299.0) and port.locked(358.9)
    assert port.remaining(329.0) == pytest.approx(30.0)
    assert not port.locked(359.0)
    assert port.expire(359.0) and not port.expire(359.0)


def test_failures_older_than_the_window_do_not_count() -> None:
    port = PortLockout(RULE, LockoutSnapshot(), 0.0)
    assert port.failure(0.0) is None
    assert port.failure(1.0) is None
    assert port.failure(300.5) is None  # the first one left the window
    assert port.failures(300.5) == 2
    assert port.failure(300.9) == 60.0


def test_the_lockout_doubles_up_to_the_maximum_and_falls_back_after_the_quiet_period() -> None:
    port = PortLockout(RULE, LockoutSnapshot(), 0.0)
    now = 0.0
    durations = []
    for _ in range(4):
        durations.append(lock(port, now))
        now += durations[-1]
        assert port.expire(now)
        now += 999.0  # just short of the quiet period
    assert durations == [60.0, 120.0, 240.0, 240.0]
    now += 1.0  # a full quiet period since the last lockout ended
    assert lock(port, now) == 60.0
    assert port.lockout_count == 5


def test_failures_while_locked_are_not_counted() -> None:
    port = PortLockout(RULE, LockoutSnapshot(), 0.0)
    lock(port, 0.0)
    for second in range(1, 50):
        assert port.failure(float(second)) is None
    assert port.remaining(50.0) == pytest.approx(10.0)  # not extended
    assert port.expire(60.0)
    assert port.failures(60.0) == 0


def test_a_lift_ends_the_lockout_and_keeps_the_step() -> None:
    port = PortLockout(RULE, LockoutSnapshot(), 0.0)
    lock(port, 0.0)
    assert port.lift(10.0)
    assert not port.locked(10.0) and not port.lift(11.0)
    assert lock(port, 20.0) == 120.0  # an attacker who goes on gets the next step


def test_switched_off_it_never_locks() -> None:
    port = PortLockout(replace(RULE, enabled=False), LockoutSnapshot(), 0.0)
    for second in range(10):
        assert port.failure(float(second)) is None
    assert not port.locked(10.0)
    assert port.reading(10.0).state is LockoutState.DISABLED


def test_a_snapshot_resumes_the_remaining_time_not_counting_downtime() -> None:
    port = PortLockout(RULE, LockoutSnapshot(), 500.0)
    lock(port, 500.0)
    snapshot = port.snapshot(520.0)  # saved 20 s into a 60 s lockout
    assert LockoutSnapshot.from_bytes(snapshot.to_bytes()) == snapshot
    resumed = PortLockout(RULE, snapshot, 7.0)  # another process: another monotonic clock
    assert resumed.locked(7.0) and resumed.remaining(7.0) == pytest.approx(40.0)
    assert resumed.locked(46.9) and not resumed.locked(47.0)
    assert resumed.reading(7.0).lockout_count == 1


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.floats(min_value=0.0, max_value=400.0, allow_nan=False),
            st.sampled_from(["failure", "lift", "save"]),
        ),
        max_size=40,
    )
)
def test_the_rule_holds_for_any_sequence(steps: list[tuple[float, str]]) -> None:
    """Lockouts start only on the N-th failure within the window, last between the first
    step and the maximum, and survive a save/restore unchanged."""
    port = PortLockout(RULE, LockoutSnapshot(), 0.0)
    now = 0.0
    recent: list[float] = []  # counted failures of the model
    for delta, action in steps:
        now += delta
        if port.expire(now):
            recent = []
        if action == "failure":
            counted = not port.locked(now)
            if counted:
                recent = [t for t in recent if now - t <= RULE.window] + [now]
            duration = port.failure(now)
            if duration is not None:
                assert counted and len(recent) == RULE.failures
                assert RULE.lockout_time <= duration <= RULE.max_lockout_time
                assert math.log2(duration / RULE.lockout_time) % 1 == 0 or (
                    duration == RULE.max_lockout_time
                )
                recent = []
        elif action == "lift":
            port.lift(now)
            recent = []
        else:
            snapshot = port.snapshot(now)
            restored = PortLockout(RULE, LockoutSnapshot.from_bytes(snapshot.to_bytes()), now)
            assert restored.reading(now) == port.reading(now)
            port = restored
        assert port.remaining(now) <= RULE.max_lockout_time


@settings(max_examples=200, deadline=None)
@given(raw=st.one_of(st.binary(max_size=80), st.text(max_size=80).map(str.encode)))
def test_an_unreadable_snapshot_is_a_storage_error(raw: bytes) -> None:
    try:
        snapshot = LockoutSnapshot.from_bytes(raw)
    except StorageError:
        return
    assert snapshot.to_bytes()  # parsed: a complete, valid snapshot


@pytest.mark.parametrize(
    "raw",
    [
        b'{"version": 1}',
        b'{"version": 2, "failure_ages": [], "remaining": 0, "step": 0, '
        b'"since_last_end": null, "lockout_count": 0}',
        b'{"version": 1, "failure_ages": [-1], "remaining": 0, "step": 0, '
        b'"since_last_end": null, "lockout_count": 0}',
        b'{"version": 1, "failure_ages": [], "remaining": true, "step": 0, '
        b'"since_last_end": null, "lockout_count": 0}',
        b'{"version": 1, "failure_ages": [], "remaining": 0, "step": 1.5, '
        b'"since_last_end": null, "lockout_count": 0}',
        b"[1, 2]",
        b"\xff",
    ],
)
def test_malformed_snapshots_are_refused(raw: bytes) -> None:
    with pytest.raises(StorageError, match="unlock"):
        LockoutSnapshot.from_bytes(raw)


# ---------------------------------------------------------------------------- in the meter


def fail_unknown_sap(meter: Meter, interface: Interface = Interface.TCP) -> Event:
    _, event = associate(meter, UNKNOWN_SAP, interface=interface)
    assert isinstance(event, AssociationRefused)
    return event


def lock_tcp(meter: Meter) -> None:
    """Three counted failures of three kinds on TCP."""
    fail_unknown_sap(meter)
    _, event = try_hls(meter, 3, Interface.TCP)  # the installer is optical only
    assert isinstance(event, AssociationRefused)
    _, event = try_hls(meter, READER, key=bytes(16))  # a wrong key
    assert isinstance(event, AssociationRefused)


def public_attempt(meter: Meter, interface: Interface = Interface.TCP) -> Event:
    return associate(meter, 16, interface=interface)[1]


def is_locked_refusal(event: Event) -> bool:
    return (
        isinstance(event, AssociationRefused)
        and event.aare.result == AssociationResult.REJECTED_TRANSIENT
    )


def lockout_reading(link: Link, obis: str) -> tuple[int, int, int, int]:
    values = [get(link, 8193, obis, attribute) for attribute in (2, 3, 4, 5)]
    assert isinstance(values[0], Enum)
    assert all(isinstance(value, DoubleLongUnsigned) for value in values[1:])
    return tuple(value.value for value in values)  # type: ignore[union-attr, return-value]


def records(meter: Meter, log: str, code: EventCode) -> list[dict[str, object]]:
    return [dict(r.fields) for r in meter.store.logs.records(log) if r.event_code == code]


def with_lockout(lockout: LockoutSettings, interface: Interface = Interface.TCP) -> MeterConfig:
    config = demo_config()
    interfaces = tuple(
        InterfaceConfig(name, lockout=lockout if name is interface else LockoutSettings())
        for name in Interface
    )
    return replace(config, interfaces=interfaces, load_profile_history_days=0)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def meter(clock: ManualClock) -> Meter:
    return make_meter(clock=clock, history_days=0)


def test_three_failures_lock_tcp_while_optical_still_works(
    meter: Meter, clock: ManualClock
) -> None:
    fail_unknown_sap(meter)
    fail_unknown_sap(meter)
    assert isinstance(public_attempt(meter), AssociationAccepted)  # two are not enough
    lock_tcp(meter)
    started = records(meter, "security", EventCode.INTERFACE_LOCKED)
    assert len(started) == 1 and started[0]["interface"] == "tcp"
    assert started[0]["duration_ms"] == 60_000
    # Every role is refused on TCP, with a transient refusal recorded in both logs.
    assert is_locked_refusal(public_attempt(meter))
    _, event = try_hls(meter, MANAGEMENT)
    assert is_locked_refusal(event)
    for log in ("communication", "security"):
        last = meter.store.logs.records(log)[-1]
        assert (last.fields["outcome"], last.fields["reason"]) == ("refused", "interface-locked")
    # The optical port is not affected; management reads the TCP lockout there.
    link = hls_link(meter, MANAGEMENT, Interface.OPTICAL)
    state, failures, remaining, count = lockout_reading(link, TCP_LOCKOUT)
    assert (state, failures, remaining, count) == (LockoutState.LOCKED, 0, 60, 1)
    assert lockout_reading(link, OPTICAL_LOCKOUT) == (LockoutState.UNLOCKED, 0, 0, 0)


def test_the_lockout_lifts_after_its_time_and_refusals_do_not_extend_it(
    meter: Meter, clock: ManualClock
) -> None:
    lock_tcp(meter)
    for _ in range(5):
        clock.advance(11.0)
        assert is_locked_refusal(public_attempt(meter))
        fail_unknown_sap(meter)  # refused as locked: not counted, nothing extended
    clock.advance(4.0)  # 59 s in
    assert is_locked_refusal(public_attempt(meter))
    clock.advance(1.0)
    assert isinstance(public_attempt(meter), AssociationAccepted)
    ended = records(meter, "security", EventCode.INTERFACE_UNLOCKED)
    assert len(ended) == 1 and ended[0]["refused"] == 11
    # The count starts afresh: two failures do not lock again.
    fail_unknown_sap(meter)
    fail_unknown_sap(meter)
    assert isinstance(public_attempt(meter), AssociationAccepted)


def test_the_next_lockout_doubles_and_falls_back_after_the_quiet_period(clock: ManualClock) -> None:
    meter = make_meter(with_lockout(RULE), clock=clock)
    for expected in (60, 120, 240, 240):
        lock_tcp(meter)
        clock.advance(expected - 0.5)
        assert is_locked_refusal(public_attempt(meter)), expected
        clock.advance(0.5)
        assert isinstance(public_attempt(meter), AssociationAccepted), expected
        clock.advance(10.0)
    clock.advance(RULE.quiet_period)
    lock_tcp(meter)
    durations = [r["duration_ms"] for r in records(meter, "security", EventCode.INTERFACE_LOCKED)]
    assert durations == [60_000, 120_000, 240_000, 240_000, 60_000]


def test_setting_the_clock_never_shortens_a_lockout(meter: Meter, clock: ManualClock) -> None:
    lock_tcp(meter)
    clock.set_utc(START + timedelta(days=3))  # the wall clock jumps, monotonic time does not
    assert is_locked_refusal(public_attempt(meter))
    link = hls_link(meter, MANAGEMENT, Interface.OPTICAL)
    later = START + timedelta(days=30)
    assert set_attribute(link, 8, "0.0.1.0.0.255", 2, clock_value(later)) == 0
    assert invoke(link, 8, "0.0.1.0.0.255", 6, Long(900)) == 0  # shift_time
    meter.tick()
    assert is_locked_refusal(public_attempt(meter))
    assert lockout_reading(link, TCP_LOCKOUT)[2] == 60


def test_associations_established_before_the_lockout_keep_working(meter: Meter) -> None:
    public = public_link(meter)
    reader = hls_link(meter, READER)
    for _ in range(3):
        fail_unknown_sap(meter)
    assert is_locked_refusal(public_attempt(meter))
    assert isinstance(public.get(8, "0.0.1.0.0.255", 2), OctetString)
    assert isinstance(reader.get(3, "1.0.1.8.0.255", 2), DoubleLongUnsigned)


def test_deciphering_and_replay_failures_inside_an_association_count(meter: Meter) -> None:
    link = hls_link(meter, READER)
    request = link.headend.send_request(
        GetRequestNormal(0xC1, CosemAttributeDescriptor(8, Obis.parse("0.0.1.0.0.255"), 2), None)
    )
    assert link.session.receive(READER, 1, request).data is not None
    tampered = request[:-1] + bytes([request[-1] ^ 1])  # a broken tag
    for frame in (request, tampered, request):  # a replay, a forgery, a replay
        assert link.session.receive(READER, 1, frame).data is not None
    refusals = [r.fields.get("reason") for r in meter.store.logs.records("security")[-4:]]
    assert refusals[:3] == ["replay", "authentication-failed", "replay"]
    started = records(meter, "security", EventCode.INTERFACE_LOCKED)
    assert [r["reason"] for r in started] == ["replay"]  # the third counted failure
    assert is_locked_refusal(public_attempt(meter))


def test_refused_operations_and_noise_are_not_counted(meter: Meter) -> None:
    link = public_link(meter)
    for _ in range(5):
        assert set_attribute(link, 8, "0.0.1.0.0.255", 2, clock_value(START)) == 3
        assert get(link, 3, "1.0.1.8.0.255", 2) == DataAccessResult.OBJECT_UNDEFINED
        link.session.receive(16, 7, b"\x00")  # another server address
        link.session.receive(16, 1, b"\xff\xff")  # an undecodable APDU
    other = meter.new_session(Interface.TCP, "192.0.2.1:5000")
    for _ in range(5):
        other.receive(16, 1, b"\x60\x03\x00")  # a malformed AARQ
    assert isinstance(public_attempt(meter), AssociationAccepted)
    management = hls_link(meter, MANAGEMENT, Interface.OPTICAL)
    assert lockout_reading(management, TCP_LOCKOUT)[:2] == (LockoutState.UNLOCKED, 0)


def test_failures_on_one_interface_do_not_lock_the_other(meter: Meter) -> None:
    for _ in range(2):
        fail_unknown_sap(meter, Interface.TCP)
        fail_unknown_sap(meter, Interface.OPTICAL)
    assert isinstance(public_attempt(meter, Interface.TCP), AssociationAccepted)
    assert isinstance(public_attempt(meter, Interface.OPTICAL), AssociationAccepted)
    fail_unknown_sap(meter, Interface.OPTICAL)
    assert is_locked_refusal(public_attempt(meter, Interface.OPTICAL))
    assert isinstance(public_attempt(meter, Interface.TCP), AssociationAccepted)


def test_switched_off_the_interface_is_never_locked(clock: ManualClock) -> None:
    meter = make_meter(with_lockout(LockoutSettings(enabled=False)), clock=clock)
    for _ in range(10):
        fail_unknown_sap(meter)
    assert isinstance(public_attempt(meter), AssociationAccepted)
    link = hls_link(meter, MANAGEMENT, Interface.OPTICAL)
    assert lockout_reading(link, TCP_LOCKOUT) == (LockoutState.DISABLED, 0, 0, 0)
    assert records(meter, "security", EventCode.INTERFACE_LOCKED) == []


# ---------------------------------------------------------------------------- restarts


def restart(store: MeterStore, clean: bool, meter: Meter) -> tuple[Meter, ManualClock]:
    """A new meter process on the same store after an hour stopped: the wall clock moved on,
    and the new process's monotonic clock reads something else entirely."""
    if clean:
        meter.power_down()
    clock = ManualClock(meter.time.base.utc() + timedelta(hours=1))
    clock.advance(12_345.0)
    return make_meter(store=store, clock=clock), clock


@pytest.mark.parametrize("clean", [True, False], ids=["clean-stop", "kill"])
def test_a_lockout_survives_a_restart_and_downtime_does_not_count(
    clock: ManualClock, clean: bool
) -> None:
    store = MemoryStore()
    meter = make_meter(store=store, clock=clock, history_days=0)
    lock_tcp(meter)
    clock.advance(20.0)
    meter, clock = restart(store, clean, meter)
    # A clean stop saved 40 s left; a kill left the save made when the lockout started.
    left = 40.0 if clean else 60.0
    link = hls_link(meter, MANAGEMENT, Interface.OPTICAL)
    assert lockout_reading(link, TCP_LOCKOUT) == (LockoutState.LOCKED, 0, int(left), 1)
    clock.advance(left - 0.5)
    assert is_locked_refusal(public_attempt(meter))
    clock.advance(0.5)
    assert isinstance(public_attempt(meter), AssociationAccepted)


def test_a_running_lockout_is_saved_every_minute(clock: ManualClock) -> None:
    store = MemoryStore()
    long_rule = replace(RULE, lockout_time=600.0, max_lockout_time=600.0)
    meter = make_meter(with_lockout(long_rule), store=store, clock=clock)
    lock_tcp(meter)
    clock.advance(100.0)
    meter.tick()
    meter, clock = restart(store, False, meter)  # killed after the tick's save
    assert LockoutSnapshot.from_bytes(store.state.get(state_key(Interface.TCP)) or b"").remaining
    link = hls_link(meter, MANAGEMENT, Interface.OPTICAL)
    assert lockout_reading(link, TCP_LOCKOUT)[2] == 500


def test_the_escalation_survives_a_restart_on_sqlite(tmp_path: Path, clock: ManualClock) -> None:
    directory = tmp_path / "state"
    store = open_store(directory)
    try:
        meter = make_meter(with_lockout(RULE), store=store, clock=clock)
        lock_tcp(meter)
        clock.advance(60.0)
        assert isinstance(public_attempt(meter), AssociationAccepted)
        meter.power_down()
    finally:
        store.close()
    store = open_store(directory)
    try:
        meter = make_meter(with_lockout(RULE), store=store, clock=ManualClock(START))
        lock_tcp(meter)  # the second lockout of the run: twice as long
        durations = [
            r["duration_ms"] for r in records(meter, "security", EventCode.INTERFACE_LOCKED)
        ]
        assert durations == [60_000, 120_000]
    finally:
        store.close()


# ---------------------------------------------------------------------------- lifting


@pytest.mark.parametrize("sap", [MANAGEMENT, SECURITY_ADMIN])
def test_a_lockout_is_lifted_over_the_optical_port(meter: Meter, sap: int) -> None:
    lock_tcp(meter)
    link = hls_link(meter, sap, Interface.OPTICAL)
    assert invoke(link, 8193, TCP_LOCKOUT, 1) == 0
    assert isinstance(public_attempt(meter), AssociationAccepted)
    (lifted,) = records(meter, "security", EventCode.INTERFACE_LOCKOUT_LIFTED)
    assert lifted["interface"] == "tcp" and lifted["via"] == "optical"
    assert lifted["sap"] == sap and lifted["was_locked"] == 1
    assert lockout_reading(link, TCP_LOCKOUT) == (LockoutState.UNLOCKED, 0, 0, 1)


def test_roles_without_the_right_cannot_lift(meter: Meter) -> None:
    link = public_link(meter, Interface.OPTICAL)
    assert invoke(link, 8193, TCP_LOCKOUT, 1) == DataAccessResult.OBJECT_UNDEFINED
    installer = hls_link(meter, 3, Interface.OPTICAL)
    assert invoke(installer, 8193, TCP_LOCKOUT, 1) == DataAccessResult.OBJECT_UNDEFINED
    lock_tcp(meter)
    assert invoke(link, 8193, TCP_LOCKOUT, 1) == DataAccessResult.OBJECT_UNDEFINED
    assert is_locked_refusal(public_attempt(meter))


def test_lift_wants_no_parameter(meter: Meter) -> None:
    link = hls_link(meter, MANAGEMENT, Interface.OPTICAL)
    lock_tcp(meter)
    assert invoke(link, 8193, TCP_LOCKOUT, 1, OctetString(b"x")) == 12  # type-unmatched
    assert is_locked_refusal(public_attempt(meter))


def locked_sqlite_state(tmp_path: Path) -> Path:
    directory = tmp_path / "state"
    store = open_store(directory)
    try:
        meter = make_meter(store=store, clock=ManualClock(START), history_days=0)
        lock_tcp(meter)
        meter.power_down()
    finally:
        store.close()
    return directory


def test_the_cli_lifts_a_lockout_of_a_stopped_meter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = locked_sqlite_state(tmp_path)
    assert main(["meter", "unlock", "--state", str(directory), "--interface", "tcp"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["was_locked"] is True and summary["interface"] == "tcp"
    assert summary["lockout_count"] == 1 and 0 < summary["remaining_seconds"] <= 60
    store = open_store(directory)
    try:
        meter = make_meter(store=store, clock=ManualClock(START))
        assert isinstance(public_attempt(meter), AssociationAccepted)
        (lifted,) = records(meter, "security", EventCode.INTERFACE_LOCKOUT_LIFTED)
        assert lifted["via"] == "cli" and lifted["was_locked"] == 1
    finally:
        store.close()


def test_the_cli_refuses_while_a_meter_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = locked_sqlite_state(tmp_path)
    store = open_store(directory)  # a running meter holds the state directory
    try:
        assert main(["meter", "unlock", "--state", str(directory), "--interface", "tcp"]) == 3
        error = capsys.readouterr().err
        assert "stopped meter" in error and str(lockout_name(Interface.TCP)) in error
        assert LockoutSnapshot.from_bytes(store.state.get(state_key(Interface.TCP)) or b"")
    finally:
        store.close()


def test_the_cli_replaces_an_unreadable_state_and_refuses_a_missing_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["meter", "unlock", "--state", str(tmp_path / "none"), "--interface", "tcp"]) == 1
    assert "no meter state" in capsys.readouterr().err
    directory = locked_sqlite_state(tmp_path)
    store = open_store(directory)
    try:
        store.state.put(state_key(Interface.OPTICAL), b"garbage", durable=True)
        with pytest.raises(StorageError, match="unlock"):
            make_meter(store=store, clock=ManualClock(START))
    finally:
        store.close()
    assert main(["meter", "unlock", "--state", str(directory), "--interface", "optical"]) == 0
    assert json.loads(capsys.readouterr().out)["state_was_readable"] is False
    store = open_store(directory)
    try:
        make_meter(store=store, clock=ManualClock(START))  # starts again; TCP is still locked
        assert LockoutSnapshot.from_bytes(store.state.get(state_key(Interface.TCP)) or b"")
    finally:
        store.close()


# ---------------------------------------------------------------------------- configuration

PUBLIC_ROLE = """
[[roles]]
sap = 16
name = "public"
mechanism = "none"
security = "none"
interfaces = ["tcp"]
"""


def test_the_lockout_keys_of_an_interface_table() -> None:
    config = parse_config(
        """
[interfaces.tcp]
lockout_failures = 5
lockout_window = 0.5
lockout_time = 0.25
lockout_max_time = 2
lockout_quiet_period = 10

[interfaces.optical]
lockout = false
"""
        + PUBLIC_ROLE
    )
    assert config.interface(Interface.TCP).lockout == LockoutSettings(
        failures=5, window=0.5, lockout_time=0.25, max_lockout_time=2.0, quiet_period=10.0
    )
    assert config.interface(Interface.OPTICAL).lockout == LockoutSettings(enabled=False)
    assert parse_config(PUBLIC_ROLE).interface(Interface.TCP).lockout == LockoutSettings()


@pytest.mark.parametrize(
    ("table", "path", "problem"),
    [
        ('lockout = "no"', "interfaces.tcp.lockout", "expected true or false"),
        ("lockout = 0", "interfaces.tcp.lockout", "expected true or false"),
        ("lockout_failures = 0", "interfaces.tcp.lockout_failures", "out of range"),
        ("lockout_failures = 2.5", "interfaces.tcp.lockout_failures", "expected an integer"),
        ("lockout_window = 0", "interfaces.tcp.lockout_window", "out of range"),
        ("lockout_time = -1", "interfaces.tcp.lockout_time", "out of range"),
        ("lockout_max_time = 1e9", "interfaces.tcp.lockout_max_time", "out of range"),
        ("lockout_quiet_period = true", "interfaces.tcp.lockout_quiet_period", "expected"),
        ("lockout_time = 100\nlockout_max_time = 50", "interfaces.tcp.lockout_max_time", "longer"),
        ("lockout_time = 100000", "interfaces.tcp.lockout_time", "longer"),
        ("lockuot = true", "interfaces.tcp.lockuot", 'did you mean "lockout"'),
    ],
)
def test_bad_lockout_keys_are_refused(table: str, path: str, problem: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config(f"[interfaces.tcp]\n{table}\n" + PUBLIC_ROLE, source="roles.toml")
    assert refused.value.path == path
    assert problem in str(refused.value)
    assert refused.value.line is not None


def test_the_settings_refuse_impossible_values() -> None:
    with pytest.raises(ValueError):
        LockoutSettings(failures=0)
    with pytest.raises(ValueError):
        LockoutSettings(lockout_time=10.0, max_lockout_time=5.0)
    with pytest.raises(ValueError):
        LockoutSettings(window=0.0)


# ---------------------------------------------------------------------------- real sockets

LOCKOUT_CONFIG = """
[interfaces.tcp]
lockout_time = 60

[[roles]]
sap = 16
name = "public"
mechanism = "none"
security = "none"
interfaces = ["tcp", "optical"]

[[roles.objects]]
obis = "0.0.1.0.0.255"
read = "all"
"""


def test_over_sockets_tcp_locks_hdlc_works_the_test_clock_ends_it_and_the_cli_lifts_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "roles.toml"
    config.write_text(LOCKOUT_CONFIG, encoding="utf-8")
    process = MeterProcess(tmp_path / "state", config=config, test_clock=START.isoformat())

    def fail_three_times() -> None:
        for _ in range(3):
            with WrapperClient(process.host, process.tcp_port, client_sap=UNKNOWN_SAP) as client:
                assert isinstance(client.associate(), AssociationRefused)

    def public_over_tcp() -> Event:
        with WrapperClient(process.host, process.tcp_port) as client:
            return client.associate()

    with process:
        fail_three_times()
        assert is_locked_refusal(public_over_tcp())
        port = process.hdlc_port
        assert port is not None
        physical = process.keys["hdlc"]["physical_address"]
        with HdlcClient(process.host, port, physical_address=physical) as client:
            client.connect()
            assert isinstance(client.associate(), AssociationAccepted)
            client.disconnect()
        assert process.clock is not None
        process.clock.advance(60.0)
        assert isinstance(public_over_tcp(), AssociationAccepted)
        fail_three_times()  # locked again, now for 120 s
        assert main(["meter", "unlock", "--state", str(process.state_dir), "--interface", "tcp"])
        assert "stopped meter" in capsys.readouterr().err
        process.stop()
        assert (
            main(["meter", "unlock", "--state", str(process.state_dir), "--interface", "tcp"]) == 0
        )
        assert json.loads(capsys.readouterr().out)["was_locked"] is True
        process.start()
        assert isinstance(public_over_tcp(), AssociationAccepted)
