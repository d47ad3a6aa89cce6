"""The test clock's control channel: requests, refusals, the socket's mode, the meter's tick."""

from __future__ import annotations

import asyncio
import json
import socket
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.meter_harness import START, seeded_random
from transport_helpers import (
    clock_of,
    limited_config,
    new_meter,
    open_client,
    read_until_closed,
    run,
)

from meter_process import TestClockClient, TestClockError
from securemeter.codec.axdr import OctetString
from securemeter.meter import timekeeping
from securemeter.meter.config import demo_config
from securemeter.meter.identity import load_or_create_identity
from securemeter.meter.meter import Meter
from securemeter.meter.timekeeping import HostTime, MeterTime
from securemeter.storage import MemoryStore
from securemeter.transports.service import MeterService
from securemeter.transports.test_clock import (
    TestClockChannel,
    store_test_clock_time,
    stored_test_clock_time,
)


def _channel() -> tuple[TestClockChannel, timekeeping.TestClock, list[str]]:
    clock = timekeeping.TestClock(START)
    moves: list[str] = []
    return TestClockChannel(clock, lambda: moves.append(clock.utc().isoformat())), clock, moves


def test_get_set_and_advance() -> None:
    channel, clock, moves = _channel()
    answer = channel.handle(b'{"op": "get"}')
    assert answer == {"ok": True, "utc": START.isoformat(), "monotonic": clock.monotonic()}
    assert moves == []
    answer = channel.handle(b'{"op": "advance", "seconds": 90.5}')
    assert answer["ok"] and answer["monotonic"] == 1_000_090.5
    assert datetime.fromisoformat(answer["utc"]) == START + timedelta(seconds=90.5)
    answer = channel.handle(b'{"op": "set", "utc": "2020-01-01T00:00:00Z"}')
    assert datetime.fromisoformat(answer["utc"]) == datetime(2020, 1, 1, tzinfo=UTC)
    assert answer["monotonic"] == 1_000_090.5  # set moves the wall clock only
    assert len(moves) == 2  # the meter ticked after each move


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"op": "rewind"}', "unknown op"),
        (b'{"op": "advance", "seconds": -1}', ">= 0"),
        (b'{"op": "advance", "seconds": "60"}', "number"),
        (b'{"op": "advance", "seconds": true}', "number"),
        (b'{"op": "advance", "seconds": 1e400}', "finite"),
        (b'{"op": "advance", "seconds": 1e12}', "range"),
        (b'{"op": "set", "utc": "2026-03-01T12:00:00"}', "UTC offset"),
        (b'{"op": "set", "utc": "yesterday"}', "isoformat"),
        (b'{"op": "set"}', "ISO-8601"),
    ],
)
def test_bad_requests_are_refused_and_change_nothing(line: bytes, message: str) -> None:
    channel, clock, moves = _channel()
    answer = channel.handle(line)
    assert answer["ok"] is False
    assert message in answer["error"]
    assert clock.utc() == START and moves == []


def test_the_socket_is_owner_only_and_serves_the_client(tmp_path: Path) -> None:
    channel, _, moves = _channel()
    path = tmp_path / "test-clock.sock"

    async def scenario() -> None:
        await channel.start(path)
        try:
            mode = path.stat().st_mode
            assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
            client = TestClockClient(path)
            answer = await asyncio.to_thread(client.advance, 60)
            assert datetime.fromisoformat(answer["utc"]) == START + timedelta(seconds=60)
            with pytest.raises(TestClockError, match="unknown op"):
                await asyncio.to_thread(client.request, {"op": "stop"})
            assert await asyncio.to_thread(client.utc) == START + timedelta(seconds=60)
        finally:
            channel.close()
            await channel.wait_closed()

    run(scenario())
    assert len(moves) == 1
    assert not path.exists()  # removed at shutdown


def test_several_requests_on_one_connection_and_an_overlong_line(tmp_path: Path) -> None:
    channel, _, _ = _channel()
    path = tmp_path / "test-clock.sock"

    def talk() -> list[dict[str, object]]:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(5)
            connection.connect(str(path))
            connection.sendall(b'{"op": "get"}\n\n{"op": "advance", "seconds": 1}\n')
            connection.sendall(b"x" * 10_000 + b"\n")
            data = bytearray()
            while chunk := connection.recv(4096):
                data += chunk
        return [json.loads(line) for line in data.splitlines()]

    async def scenario() -> list[dict[str, object]]:
        await channel.start(path)
        try:
            return await asyncio.to_thread(talk)
        finally:
            channel.close()
            await channel.wait_closed()

    answers = run(scenario())
    assert [answer["ok"] for answer in answers] == [True, True, False]
    assert answers[2]["error"] == "request line too long"


def test_a_long_socket_path_works_through_proc_self_fd(tmp_path: Path) -> None:
    directory = tmp_path / ("d" * 60) / ("e" * 60)
    directory.mkdir(parents=True)
    path = directory / "test-clock.sock"
    assert len(str(path)) > 108
    channel, _, _ = _channel()

    async def scenario() -> None:
        await channel.start(path)
        try:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            answer = await asyncio.to_thread(TestClockClient(path).get)
            assert answer["ok"]
        finally:
            channel.close()
            await channel.wait_closed()

    run(scenario())


def test_a_stale_socket_is_replaced_but_another_file_is_not(tmp_path: Path) -> None:
    path = tmp_path / "test-clock.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # a killed meter leaves its socket file behind

    async def scenario() -> None:
        channel, _, _ = _channel()
        await channel.start(path)
        channel.close()
        await channel.wait_closed()
        path.write_text("not a socket")
        with pytest.raises(FileExistsError):
            await _channel()[0].start(path)

    run(scenario())


def test_the_service_ticks_and_checks_inactivity_when_the_clock_moves(tmp_path: Path) -> None:
    meter = new_meter(limited_config(inactivity_timeout=30))
    path = tmp_path / "test-clock.sock"

    async def scenario() -> None:
        service = MeterService(meter)
        _, port = await service.start_wrapper("127.0.0.1", 0)
        await service.start_test_clock(path)
        client = await open_client(port)
        try:
            await asyncio.to_thread(client.associate)
            before = await asyncio.to_thread(client.get, 8, "0.0.1.0.0.255", 2)
            assert isinstance(before, OctetString)
            answer = await asyncio.to_thread(TestClockClient(path).advance, 30)
            assert answer["meter_utc"] == (START + timedelta(seconds=30)).isoformat()
            # The answer came after the inactivity check: the meter has closed the connection.
            assert await read_until_closed(client.socket) == b""
        finally:
            client.close()
            await service.shutdown()

    run(scenario())
    assert stored_test_clock_time(meter.store.state) == START + timedelta(seconds=30)


def test_the_test_clock_time_round_trips_through_the_store() -> None:
    store = MemoryStore()
    assert stored_test_clock_time(store.state) is None
    when = datetime(1969, 7, 20, 20, 17, 40, 123456, tzinfo=UTC)
    store_test_clock_time(store.state, timekeeping.TestClock(when))
    assert stored_test_clock_time(store.state) == when


def test_the_channel_needs_a_test_clock_and_the_test_clock_no_periodic_tick(
    tmp_path: Path,
) -> None:
    store = MemoryStore()
    identity, _ = load_or_create_identity(store.state, seeded_random())
    host_meter = Meter(
        config=demo_config(),
        store=store,
        time=MeterTime(HostTime(), store.state),
        identity=identity,
        random_bytes=seeded_random(),
    )
    assert MeterService(host_meter).test_clock is None
    with pytest.raises(RuntimeError, match="test clock"):
        run(MeterService(host_meter).start_test_clock(tmp_path / "test-clock.sock"))
    test_meter = new_meter()
    assert MeterService(test_meter).test_clock is clock_of(test_meter)
    with pytest.raises(RuntimeError, match="ticks when the clock moves"):
        MeterService(test_meter).start_ticking()
