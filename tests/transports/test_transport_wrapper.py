"""The wrapper listener in process: sessions per connection, limits, inactivity, failures."""

from __future__ import annotations

import asyncio
import logging
import math

import pytest
from tests.meter_harness import START
from transport_helpers import (
    clock_of,
    limited_config,
    new_meter,
    open_client,
    open_socket,
    read_until_closed,
    records,
    run,
    serve_wrapper,
)

from securemeter.codec.axdr import LongUnsigned, OctetString
from securemeter.codec.cosem_time import CosemDateTime
from securemeter.framing.wrapper import WrapperDecoder, encode_wrapper
from securemeter.meter.logbook import COMMUNICATION, SECURITY, EventCode
from securemeter.session.connection import AssociationProposal, Connection
from securemeter.session.events import AssociationAccepted
from securemeter.session.state import Role
from securemeter.transports._links import effective_timeout, remote_name
from securemeter.transports.tcp_wrapper import WrapperServer

CLOCK = "0.0.1.0.0.255"


def test_a_client_associates_and_reads_the_clock_over_the_wrapper() -> None:
    meter = new_meter()

    async def scenario() -> None:
        service, port = await serve_wrapper(meter)
        client = await open_client(port)
        try:
            assert isinstance(await asyncio.to_thread(client.associate), AssociationAccepted)
            value = await asyncio.to_thread(client.get, 8, CLOCK, 2)
            assert isinstance(value, OctetString)
            assert CosemDateTime.from_bytes(value.value).to_datetime() == START
            assert service.connection_count == 1
        finally:
            client.close()
            await service.shutdown()

    run(scenario())
    accepted = [
        r for r in records(meter, COMMUNICATION) if r.event_code == EventCode.ASSOCIATION_ACCEPTED
    ]
    assert accepted and accepted[-1].fields["interface"] == "tcp"
    assert str(accepted[-1].fields["remote"]).startswith("127.0.0.1:")


def test_the_answer_swaps_the_wports_and_is_one_frame() -> None:
    meter = new_meter()

    async def scenario() -> bytes:
        service, port = await serve_wrapper(meter)
        connection = await open_socket(port)
        try:
            aarq = Connection(Role.HEADEND).request_association(AssociationProposal())
            await asyncio.to_thread(connection.sendall, encode_wrapper(16, 1, aarq))
            return await asyncio.to_thread(connection.recv, 65536)
        finally:
            connection.close()
            await service.shutdown()

    answer = run(scenario())
    decoder = WrapperDecoder(0xFFFF)
    decoder.receive_data(answer)
    frame = decoder.next_frame()
    assert frame is not None and decoder.buffered_size == 0
    assert (frame.source_wport, frame.destination_wport) == (1, 16)
    assert frame.apdu[0] == 0x61  # AARE


def test_framing_garbage_closes_that_connection_only_and_is_logged() -> None:
    meter = new_meter()

    async def scenario() -> None:
        service, port = await serve_wrapper(meter)
        good = await open_client(port)
        bad = await open_socket(port)
        try:
            assert isinstance(await asyncio.to_thread(good.associate), AssociationAccepted)
            # Version 2 is no wrapper frame: the stream is out of sync.
            await asyncio.to_thread(bad.sendall, bytes.fromhex("0002 0010 0001 0003 c00181"))
            assert await read_until_closed(bad) == b""
            value = await asyncio.to_thread(good.get, 8, CLOCK, 2)
            assert isinstance(value, OctetString)
        finally:
            good.close()
            bad.close()
            await service.shutdown()

    run(scenario())
    framing = [r for r in records(meter, SECURITY) if r.fields.get("reason") == "framing"]
    assert len(framing) == 1
    assert framing[0].event_code == EventCode.REQUEST_REFUSED
    assert "version" in str(framing[0].fields["detail"])


def test_an_announced_length_above_the_limit_is_refused_before_buffering() -> None:
    meter = new_meter()
    limit = meter.config.max_receive_pdu_size + 64

    async def scenario() -> bytes:
        service, port = await serve_wrapper(meter)
        bad = await open_socket(port)
        try:
            header = encode_wrapper(16, 1, b"")[:6] + (limit + 1).to_bytes(2, "big")
            await asyncio.to_thread(bad.sendall, header)
            return await read_until_closed(bad)
        finally:
            bad.close()
            await service.shutdown()

    assert run(scenario()) == b""
    assert records(meter, SECURITY)[-1].fields["reason"] == "framing"


def test_connections_above_the_limit_are_closed_and_logged() -> None:
    meter = new_meter(limited_config(max_connections=2))

    async def scenario() -> None:
        service, port = await serve_wrapper(meter)
        first = await open_client(port)
        second = await open_client(port)
        third = await open_socket(port)
        try:
            for client in (first, second):  # both are counted in once they are answered
                assert isinstance(await asyncio.to_thread(client.associate), AssociationAccepted)
            assert await read_until_closed(third) == b""
            assert service.connection_count == 2
            # Once the meter has closed one (framing garbage), the freed place is usable.
            await asyncio.to_thread(first.socket.sendall, b"\xff" * 8)
            assert await read_until_closed(first.socket) == b""
            fourth = await open_client(port)
            try:
                assert isinstance(await asyncio.to_thread(fourth.associate), AssociationAccepted)
            finally:
                fourth.close()
        finally:
            first.close()
            second.close()
            third.close()
            await service.shutdown()

    run(scenario())
    refused = [
        r for r in records(meter, COMMUNICATION) if r.event_code == EventCode.CONNECTION_REFUSED
    ]
    assert refused, "the refused connection left no record"
    assert refused[0].fields["reason"] == "connection-limit"
    assert refused[0].fields["interface"] == "tcp"
    assert str(refused[0].fields["remote"]).startswith("127.0.0.1:")


def test_inactivity_on_the_test_clock_closes_the_connection() -> None:
    meter = new_meter(limited_config(inactivity_timeout=60))
    clock = clock_of(meter)

    async def scenario() -> None:
        service, port = await serve_wrapper(meter)
        client = await open_client(port)
        try:
            assert isinstance(await asyncio.to_thread(client.associate), AssociationAccepted)
            clock.advance(59)
            service.tick()
            await asyncio.to_thread(client.get, 8, CLOCK, 2)  # still open; the timer restarts
            clock.advance(59)
            service.tick()
            assert service.connection_count == 1
            clock.advance(1)
            service.tick()
            assert service.connection_count == 0
            assert await read_until_closed(client.socket) == b""
        finally:
            client.close()
            await service.shutdown()

    run(scenario())
    released = records(meter, COMMUNICATION)[-1]
    assert released.event_code == EventCode.ASSOCIATION_RELEASED
    assert released.fields["outcome"] == "closed"


def test_the_tcp_udp_setup_time_out_applies_from_the_next_connection() -> None:
    meter = new_meter(limited_config(inactivity_timeout=120))
    clock = clock_of(meter)

    async def scenario() -> None:
        service, port = await serve_wrapper(meter)
        before = await open_client(port)
        try:
            await asyncio.to_thread(before.associate)
            # A client with the right sets inactivity_time_out (attribute 6) to 30 s.
            meter.device.tcp_udp_setup.set_attribute(6, LongUnsigned(30))
            after = await open_client(port)
            try:
                await asyncio.to_thread(after.associate)
                clock.advance(30)
                service.tick()
                assert await read_until_closed(after.socket) == b""
                assert service.connection_count == 1  # the earlier connection keeps 120 s
                clock.advance(90)
                service.tick()
                assert await read_until_closed(before.socket) == b""
            finally:
                after.close()
        finally:
            before.close()
            await service.shutdown()

    run(scenario())


def test_the_configured_time_out_bounds_the_cosem_one() -> None:
    meter = new_meter(limited_config(inactivity_timeout=60))
    meter.device.tcp_udp_setup.set_attribute(6, LongUnsigned(0))  # 0 = "none" in COSEM
    assert WrapperServer(meter).inactivity_timeout() == 60
    assert effective_timeout(None, 0) == math.inf
    assert effective_timeout(120.0, 30) == 30


def test_a_failing_session_closes_its_connection_and_the_server_keeps_serving(
    caplog: pytest.LogCaptureFixture,
) -> None:
    meter = new_meter()
    sessions = []
    original = meter.new_session

    def new_session(interface, remote):  # type: ignore[no-untyped-def]
        session = original(interface, remote)
        if not sessions:

            def broken(client_sap: int, server_sap: int, apdu: bytes) -> None:
                raise RuntimeError("injected failure")

            session.receive = broken  # type: ignore[method-assign, assignment]
        sessions.append(session)
        return session

    meter.new_session = new_session  # type: ignore[method-assign]

    async def scenario() -> None:
        service, port = await serve_wrapper(meter)
        broken_client = await open_client(port)
        try:
            with pytest.raises(ConnectionError):
                await asyncio.to_thread(broken_client.associate)
            healthy = await open_client(port)
            try:
                assert isinstance(await asyncio.to_thread(healthy.associate), AssociationAccepted)
            finally:
                healthy.close()
        finally:
            broken_client.close()
            await service.shutdown()

    with caplog.at_level(logging.ERROR, logger="securemeter.transports"):
        run(scenario())
    failures = [r for r in caplog.records if "closing that connection" in r.getMessage()]
    assert failures and failures[0].exc_info is not None  # logged with its traceback


def test_shutdown_ends_every_session_with_a_record() -> None:
    meter = new_meter()

    async def scenario() -> None:
        service, port = await serve_wrapper(meter)
        client = await open_client(port)
        try:
            await asyncio.to_thread(client.associate)
            await service.shutdown()
            assert await read_until_closed(client.socket) == b""
            with pytest.raises(OSError):
                await open_client(port)
        finally:
            client.close()

    run(scenario())
    last = records(meter, COMMUNICATION)[-1]
    assert (last.event_code, last.fields["outcome"]) == (EventCode.ASSOCIATION_RELEASED, "closed")


def test_remote_names() -> None:
    class Transport(asyncio.BaseTransport):
        def __init__(self, peer: object) -> None:
            super().__init__()
            self.peer = peer

        def get_extra_info(self, name: str, default: object = None) -> object:
            return self.peer if name == "peername" else default

    assert remote_name(Transport(("10.0.0.1", 4059))) == "10.0.0.1:4059"
    assert remote_name(Transport(("::1", 4059, 0, 0))) == "[::1]:4059"
    assert remote_name(Transport(None)) == "unknown"


def test_a_partial_frame_does_not_keep_the_connection_alive() -> None:
    meter = new_meter(limited_config(inactivity_timeout=60))
    clock = clock_of(meter)

    async def scenario() -> None:
        service, port = await serve_wrapper(meter)
        client = await open_client(port)
        try:
            await asyncio.to_thread(client.associate)  # counted in, timer started
            for _ in range(3):  # a header trickled byte by byte is no frame
                await asyncio.to_thread(client.socket.sendall, b"\x00")
                clock.advance(20)
                service.tick()
            assert await read_until_closed(client.socket) == b""
        finally:
            client.close()
            await service.shutdown()

    run(scenario())


def test_a_peer_that_does_not_read_is_not_read_either() -> None:
    meter = new_meter()
    calls: list[str] = []

    class Transport(asyncio.Transport):
        def pause_reading(self) -> None:
            calls.append("pause")

        def resume_reading(self) -> None:
            calls.append("resume")

        def get_extra_info(self, name: str, default: object = None) -> object:
            return ("127.0.0.1", 40000) if name == "peername" else default

        def close(self) -> None:
            calls.append("close")

    protocol = WrapperServer(meter).make_protocol()
    protocol.connection_made(Transport())
    protocol.pause_writing()
    protocol.resume_writing()
    protocol.connection_lost(None)
    protocol.pause_writing()  # after the close: nothing to pause any more
    assert calls == ["pause", "resume", "close"]


def test_frames_split_across_reads_or_sharing_one_are_all_answered() -> None:
    """The receive buffer is reused for every read: a frame cut by the reads, and several
    frames in one read, each get their answer (bytes are copied out before the next read)."""
    meter = new_meter()
    written: list[bytes] = []

    class Transport(asyncio.Transport):
        def get_extra_info(self, name: str, default: object = None) -> object:
            return ("127.0.0.1", 40001) if name == "peername" else default

        def write(self, data: bytes | bytearray | memoryview) -> None:
            written.append(bytes(data))

        def close(self) -> None:
            pass

    protocol = WrapperServer(meter).make_protocol()
    protocol.connection_made(Transport())

    def read(data: bytes) -> None:
        buffer = protocol.get_buffer(-1)
        assert len(buffer) >= len(data)
        buffer[: len(data)] = data
        protocol.buffer_updated(len(data))
        buffer[: len(data)] = bytes(len(data))  # the next read overwrites it anyway

    aarq = encode_wrapper(
        16, 1, Connection(Role.HEADEND).request_association(AssociationProposal())
    )
    read(aarq[:5])
    read(aarq[5:])
    get = encode_wrapper(16, 1, bytes.fromhex("C001C100080000010000FF0200"))
    read(get + get + get[:3])
    read(get[3:])
    decoder = WrapperDecoder(0xFFFF)
    for chunk in written:
        decoder.receive_data(chunk)
    answers = []
    while (frame := decoder.next_frame()) is not None:
        answers.append(frame.apdu)
    assert [answer[0] for answer in answers] == [0x61, 0xC4, 0xC4, 0xC4]  # AARE, 3 answers
    assert all(answer[3] == 0 for answer in answers[1:])  # each GET succeeded
    protocol.connection_lost(None)
