"""The real meter process over real sockets: wrapper and HDLC clients, the test clock,
restarts, power records, a crash point, connection limits, garbage and a socket-level fuzz."""

from __future__ import annotations

import json
import random
import socket
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from meter_process import (
    CRASH_POINT_ENVIRONMENT,
    HdlcClient,
    MeterProcess,
    WrapperClient,
    send_and_collect,
)
from securemeter.apdu.acse import RLRQ
from securemeter.apdu.common import CosemAttributeDescriptor
from securemeter.apdu.get import GetRequestNormal
from securemeter.codec.axdr import OctetString
from securemeter.codec.cosem_time import CosemDateTime
from securemeter.codec.obis import Obis
from securemeter.framing.wrapper import WrapperDecoder, encode_wrapper
from securemeter.meter.logbook import COMMUNICATION, SECURITY, STANDARD, EventCode
from securemeter.session.connection import AssociationProposal, Connection
from securemeter.session.events import AssociationAccepted
from securemeter.session.state import Role
from securemeter.storage import StoredRecord, open_store_readonly

CLOCK = "0.0.1.0.0.255"
START = "2026-03-01T12:00:00+00:00"


def read_clock(client: WrapperClient | HdlcClient) -> datetime:
    value = client.get(8, CLOCK, 2)
    assert isinstance(value, OctetString), value
    return CosemDateTime.from_bytes(value.value).to_datetime()


def logged(state: Path, log: str) -> list[StoredRecord]:
    """The records of one log, read without the lock (the meter may be running)."""
    with open_store_readonly(state) as store:
        return store.logs.records(log)


def codes(records: list[StoredRecord]) -> list[int]:
    return [record.event_code for record in records]


# A public role that reads everything; lockout off on TCP because the socket fuzz floods
# failed associations (docs/ACCESS.md).
SHARED_CONFIG = """
[interfaces.tcp]
lockout = false

[[roles]]
sap = 16
name = "public"
mechanism = "none"
security = "none"
interfaces = ["tcp", "optical"]

[[roles.objects]]
obis = "*"
read = "all"
"""


@pytest.fixture(scope="module")
def shared_meter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MeterProcess]:
    """One meter on a test clock for the tests that only talk to it."""
    directory = tmp_path_factory.mktemp("shared")
    config = directory / "shared.toml"
    config.write_text(SHARED_CONFIG, encoding="utf-8")
    process = MeterProcess(directory / "state", config=config, test_clock=START)
    with process:
        yield process


# ---------------------------------------------------------------------------- talking


def test_a_raw_wrapper_aarq_gets_an_aare(shared_meter: MeterProcess) -> None:
    headend = Connection(Role.HEADEND)
    aarq = headend.request_association(AssociationProposal())
    with shared_meter.connect() as connection:
        connection.sendall(encode_wrapper(16, 1, aarq))
        decoder = WrapperDecoder(0xFFFF)
        frame = None
        while frame is None:
            chunk = connection.recv(65536)
            assert chunk, "the meter closed the connection instead of answering"
            decoder.receive_data(chunk)
            frame = decoder.next_frame()
    assert (frame.source_wport, frame.destination_wport) == (1, 16)
    event = headend.receive(frame.apdu)
    assert isinstance(event, AssociationAccepted)
    assert not event.authentication_pending


def test_the_clock_reads_over_the_wrapper_and_over_hdlc(shared_meter: MeterProcess) -> None:
    with WrapperClient(shared_meter.host, shared_meter.tcp_port) as client:
        assert isinstance(client.associate(), AssociationAccepted)
        assert read_clock(client) == datetime.fromisoformat(START)
    port = shared_meter.hdlc_port
    assert port is not None
    physical = shared_meter.keys["hdlc"]["physical_address"]
    with HdlcClient(shared_meter.host, port, physical_address=physical) as client:
        client.connect()
        assert isinstance(client.associate(), AssociationAccepted)
        assert read_clock(client) == datetime.fromisoformat(START)
        client.disconnect()


def test_framing_garbage_closes_one_connection_and_the_meter_serves_others(
    shared_meter: MeterProcess,
) -> None:
    with shared_meter.connect() as garbage:
        assert send_and_collect(garbage, b"GET / HTTP/1.1\r\nHost: meter\r\n\r\n") == b""
    with WrapperClient(shared_meter.host, shared_meter.tcp_port) as client:
        client.associate()
        assert read_clock(client) == datetime.fromisoformat(START)
    framing = [
        r for r in logged(shared_meter.state_dir, SECURITY) if r.fields["reason"] == "framing"
    ]
    assert framing and "version" in str(framing[-1].fields["detail"])


def _fuzz_frames(generator: random.Random, count: int, client_sap: int) -> bytes:
    """``count`` wrapper frames: an AARQ, then random and mutated APDUs (valid headers)."""
    aarq = Connection(Role.HEADEND).request_association(AssociationProposal())
    get = GetRequestNormal(0xC1, CosemAttributeDescriptor(8, Obis.parse(CLOCK), 2), None).to_bytes()
    release = RLRQ(reason=0, user_information=None).to_bytes()
    seeds = (aarq, get, get, release)
    frames = [encode_wrapper(client_sap, 1, aarq)]
    for _ in range(count - 1):
        choice = generator.random()
        apdu = bytearray(generator.choice(seeds))
        if choice < 0.3:
            apdu = bytearray(generator.randbytes(generator.randrange(0, 80)))
        elif choice < 0.7:
            for _ in range(generator.randrange(1, 4)):
                apdu[generator.randrange(len(apdu))] = generator.randrange(256)
        elif choice < 0.85:
            del apdu[generator.randrange(len(apdu)) :]
        else:
            apdu += generator.randbytes(generator.randrange(1, 40))
        server_sap = 1 if generator.random() < 0.9 else generator.randrange(0x10000)
        frames.append(encode_wrapper(client_sap, server_sap, bytes(apdu)))
    return b"".join(frames)


def test_socket_fuzz_leaves_the_meter_serving(shared_meter: MeterProcess) -> None:
    generator = random.Random(62056)
    for index, client_sap in enumerate((16, 16, 1, 99)):
        stream = _fuzz_frames(generator, 700, client_sap)
        if index % 2:
            stream += generator.randbytes(64)  # then garbage: a framing error ends it
        with shared_meter.connect() as connection:
            answers = send_and_collect(connection, stream)
        decoder = WrapperDecoder(0xFFFF)
        decoder.receive_data(answers)
        answered = 0
        while (frame := decoder.next_frame()) is not None:  # every answer is a whole frame
            assert frame.destination_wport == client_sap
            answered += 1
        assert decoder.buffered_size == 0
        assert answered > 500, "the meter stopped reading early: the fuzz did not go deep"
    with shared_meter.connect() as connection:  # pure noise
        send_and_collect(connection, generator.randbytes(4096))
    assert shared_meter.alive
    with WrapperClient(shared_meter.host, shared_meter.tcp_port) as client:
        assert isinstance(client.associate(), AssociationAccepted)
        assert read_clock(client) == datetime.fromisoformat(START)
    assert "Traceback" not in shared_meter.stderr_text()


# ---------------------------------------------------------------------------- the test clock


def test_the_test_clock_moves_the_cosem_clock_and_times_out_connections(
    start_meter: Callable[..., MeterProcess],
) -> None:
    meter = start_meter(test_clock=START)
    assert meter.clock is not None
    socket_path = Path(meter.ready["test_clock"])  # type: ignore[index]
    assert stat.S_IMODE(socket_path.stat().st_mode) == 0o600
    assert "TEST CLOCK ACTIVE" in meter.stderr_text()
    with WrapperClient(meter.host, meter.tcp_port) as client:
        client.associate()
        assert read_clock(client) == datetime.fromisoformat(START)
        meter.clock.set("2026-06-01T00:00:00Z")
        assert read_clock(client) == datetime(2026, 6, 1, tzinfo=UTC)
        # The demo's TCP time-out is 120 s (interface) against 180 s (TCP-UDP setup).
        meter.clock.advance(119)
        assert read_clock(client) == datetime(2026, 6, 1, 0, 1, 59, tzinfo=UTC)
        meter.clock.advance(119)
        assert read_clock(client) == datetime(2026, 6, 1, 0, 3, 58, tzinfo=UTC)
        meter.clock.advance(120)
        # The control answer came after the inactivity check: the meter has closed.
        assert client.wait_closed() == b""
    meter.stop()


# ---------------------------------------------------------------------------- lifecycle


def _keys_file(meter: MeterProcess) -> tuple[bytes, int]:
    return meter.keys_path.read_bytes(), stat.S_IMODE(meter.keys_path.stat().st_mode)


def test_restarts_keep_the_identity_and_record_clean_and_unclean_stops(
    start_meter: Callable[..., MeterProcess],
) -> None:
    first = start_meter()
    ready = dict(first.ready or {})
    keys_bytes, mode = _keys_file(first)
    assert mode == 0o600
    keys: dict[str, Any] = json.loads(keys_bytes)
    assert (keys["serial"], keys["system_title"]) == (ready["serial"], ready["system_title"])
    assert set(keys) == {
        "serial",
        "system_title",
        "logical_device_name",
        "server_logical_address",
        "hdlc",
        "clients",
    }
    assert keys["server_logical_address"] == 1
    assert 16 <= keys["hdlc"]["physical_address"] <= 0x3FFD
    public = next(client for client in keys["clients"] if client["sap"] == 16)
    assert (public["role"], public["mechanism"], public["security"]) == ("public", "none", "none")
    assert public["ek"] is None and public["password"] is None
    assert ready["keys"] == str(first.keys_path)
    assert ready["state"] == str(first.state_dir)
    assert ready["tcp"]["host"] == "127.0.0.1" and ready["hdlc"]["port"] > 0
    assert ready["test_clock"] is None
    assert json.loads(first.stdout_text().splitlines()[-1]) == ready  # the stdout ready line
    first.stop()

    second = start_meter()  # SIGTERM then a normal start: no unclean-stop record
    assert (second.ready or {})["serial"] == ready["serial"]
    assert (second.ready or {})["system_title"] == ready["system_title"]
    assert _keys_file(second) == (keys_bytes, 0o600)
    second.kill()

    third = start_meter()  # SIGKILL then a start: the unclean stop is recorded
    assert (third.ready or {})["serial"] == ready["serial"]
    third.stop()
    assert _keys_file(third) == (keys_bytes, 0o600)

    standard = codes(logged(third.state_dir, STANDARD))
    up, down, unclean = (
        EventCode.POWER_UP,
        EventCode.POWER_DOWN,
        EventCode.POWER_UP_AFTER_UNCLEAN_STOP,
    )
    power = [code for code in standard if code in (up, down, unclean)]
    assert power == [up, down, up, unclean, up, down]


def test_deleted_keys_are_not_delivered_again(start_meter: Callable[..., MeterProcess]) -> None:
    first = start_meter(hdlc=False)
    assert first.hdlc_port is None
    first.stop()
    first.keys_path.unlink()  # the operator moved the file to the head-end
    second = start_meter(hdlc=False)
    assert not second.keys_path.exists()
    second.stop()


def test_the_association_is_durable_before_its_answer_leaves(
    start_meter: Callable[..., MeterProcess],
) -> None:
    crashing = start_meter(env={CRASH_POINT_ENVIRONMENT: "answer:before-send"})
    aarq = Connection(Role.HEADEND).request_association(AssociationProposal())
    with crashing.connect() as connection:
        host, port = connection.getsockname()[:2]
        local = f"{host}:{port}"
        received = send_and_collect(connection, encode_wrapper(16, 1, aarq))
    assert received == b"", "the AARE left the meter before the crash point"
    assert crashing.wait() == -9  # SIGKILL, sent by the meter to itself

    restarted = start_meter()
    restarted.stop()
    accepted = [
        record
        for record in logged(restarted.state_dir, COMMUNICATION)
        if record.event_code == EventCode.ASSOCIATION_ACCEPTED
    ]
    assert [record.fields["remote"] for record in accepted] == [local]
    standard = codes(logged(restarted.state_dir, STANDARD))
    assert EventCode.POWER_UP_AFTER_UNCLEAN_STOP in standard


# ---------------------------------------------------------------------------- limits


def test_connections_above_the_configured_limit_are_refused_and_logged(
    start_meter: Callable[..., MeterProcess], limited_config: Path
) -> None:
    meter = start_meter(config=limited_config)
    with (
        WrapperClient(meter.host, meter.tcp_port) as first,
        WrapperClient(meter.host, meter.tcp_port) as second,
    ):
        assert isinstance(first.associate(), AssociationAccepted)
        assert isinstance(second.associate(), AssociationAccepted)
        with meter.connect() as third:
            host, port = third.getsockname()[:2]
            local = f"{host}:{port}"
            assert third.recv(1024) == b""  # accepted, then closed at once
        assert read_clock(first).tzinfo is not None  # the others are unaffected
    refused = [
        record
        for record in logged(meter.state_dir, COMMUNICATION)
        if record.event_code == EventCode.CONNECTION_REFUSED
    ]
    assert len(refused) == 1
    assert refused[0].fields["reason"] == "connection-limit"
    assert refused[0].fields["interface"] == "tcp"
    assert refused[0].fields["remote"] == local
    meter.stop()


def test_a_socket_closed_by_the_meter_is_not_an_error(shared_meter: MeterProcess) -> None:
    # A client that connects and leaves at once must not disturb the meter.
    for _ in range(5):
        connection = socket.create_connection((shared_meter.host, shared_meter.tcp_port))
        connection.close()
    with WrapperClient(shared_meter.host, shared_meter.tcp_port) as client:
        client.associate()
        assert read_clock(client) == datetime.fromisoformat(START)
