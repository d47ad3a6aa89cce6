"""HDLC over TCP in process: links, sessions per link, damaged frames, inactivity."""

from __future__ import annotations

import asyncio

import pytest
from tests.meter_harness import START
from transport_helpers import (
    HOST,
    clock_of,
    limited_config,
    new_meter,
    open_socket,
    read_until_closed,
    records,
    run,
    serve_hdlc,
)

from meter_process import HdlcClient
from securemeter.codec.axdr import OctetString
from securemeter.codec.cosem_time import CosemDateTime
from securemeter.framing.hdlc import HdlcAddress, HdlcFrame, LinkConnected, LinkDisconnected
from securemeter.framing.hdlc.frames import FrameType
from securemeter.meter.logbook import COMMUNICATION, SECURITY, EventCode
from securemeter.session.events import AssociationAccepted

CLOCK = "0.0.1.0.0.255"


def _client(port: int, physical_address: int, **options: object) -> HdlcClient:
    return HdlcClient(HOST, port, physical_address=physical_address, **options)  # type: ignore[arg-type]


def test_a_client_connects_associates_and_reads_the_clock_over_hdlc() -> None:
    meter = new_meter()
    physical = meter.identity.hdlc_physical_address

    async def scenario() -> None:
        service, port = await serve_hdlc(meter)
        client = await asyncio.to_thread(_client, port, physical)
        try:
            connected = await asyncio.to_thread(client.connect)
            assert isinstance(connected, LinkConnected)
            assert isinstance(await asyncio.to_thread(client.associate), AssociationAccepted)
            value = await asyncio.to_thread(client.get, 8, CLOCK, 2)
            assert isinstance(value, OctetString)
            assert CosemDateTime.from_bytes(value.value).to_datetime() == START
            # The object list is far longer than one I-frame: segmentation both ways works.
            objects = await asyncio.to_thread(client.get, 15, "0.0.40.0.0.255", 2)
            assert not isinstance(objects, int)
            await asyncio.to_thread(client.disconnect)
            # The TCP connection stays; the next SNRM gets a fresh session.
            client.headend = type(client.headend)(client.headend.role)
            await asyncio.to_thread(client.connect)
            assert isinstance(await asyncio.to_thread(client.associate), AssociationAccepted)
        finally:
            client.close()
            await service.shutdown()

    run(scenario())
    communication = records(meter, COMMUNICATION)
    optical = [r for r in communication if r.fields.get("interface") == "optical"]
    codes = [r.event_code for r in optical]
    assert codes.count(EventCode.ASSOCIATION_ACCEPTED) == 2
    assert EventCode.ASSOCIATION_RELEASED in codes  # the DISC ended the first association
    # Records of the optical port name the client's HDLC address (issue 8).
    assert {r.fields.get("hdlc_address") for r in optical} == {16}


def test_frames_for_another_station_get_no_answer() -> None:
    meter = new_meter()
    other = (meter.identity.hdlc_physical_address + 1) % 0x3FFD or 16

    async def scenario() -> None:
        service, port = await serve_hdlc(meter)
        client = await asyncio.to_thread(_client, port, other, timeout=0.5)
        try:
            with pytest.raises(TimeoutError):
                await asyncio.to_thread(client.connect)
        finally:
            client.close()
            await service.shutdown()

    run(scenario())


def test_damaged_frames_are_dropped_and_recorded_once() -> None:
    meter = new_meter()
    physical = meter.identity.hdlc_physical_address
    snrm = HdlcFrame(
        False, HdlcAddress.server(1, physical, 4), HdlcAddress.client(16), FrameType.SNRM | 0x10
    ).to_bytes()
    damaged = snrm[:-3] + bytes([snrm[-3] ^ 0xFF]) + snrm[-2:]  # wrong FCS

    async def scenario() -> None:
        service, port = await serve_hdlc(meter)
        noisy = await open_socket(port)
        try:
            await asyncio.to_thread(noisy.sendall, damaged * 20 + b"\x00\xff" * 50)
            # The noisy connection stays open: HDLC drops damaged frames and carries on.
            await asyncio.to_thread(noisy.sendall, snrm)
            answer = await asyncio.to_thread(noisy.recv, 4096)
            assert answer.startswith(b"\x7e") and answer.endswith(b"\x7e")  # its UA
        finally:
            noisy.close()
            await service.shutdown()

    run(scenario())
    framing = [r for r in records(meter, SECURITY) if r.fields.get("reason") == "framing"]
    assert len(framing) == 1
    assert framing[0].fields["interface"] == "optical"


def test_inactivity_drops_the_link_and_closes_the_connection() -> None:
    meter = new_meter(limited_config(inactivity_timeout=60))
    clock = clock_of(meter)
    physical = meter.identity.hdlc_physical_address

    async def scenario() -> None:
        service, port = await serve_hdlc(meter)
        client = await asyncio.to_thread(_client, port, physical)
        idle = await open_socket(port)
        try:
            await asyncio.to_thread(client.connect)
            await asyncio.to_thread(client.associate)
            clock.advance(59)
            service.tick()
            assert service.connection_count == 2
            clock.advance(1)
            service.tick()
            assert service.connection_count == 0  # the linked one and the one never linked
            assert await read_until_closed(client.socket) == b""
            assert await read_until_closed(idle) == b""
        finally:
            client.close()
            idle.close()
            await service.shutdown()

    run(scenario())
    last = records(meter, COMMUNICATION)[-1]
    assert (last.event_code, last.fields["outcome"]) == (EventCode.ASSOCIATION_RELEASED, "closed")


def test_the_link_disconnected_event_is_what_a_client_sees_on_disc() -> None:
    meter = new_meter()
    physical = meter.identity.hdlc_physical_address

    async def scenario() -> None:
        service, port = await serve_hdlc(meter)
        client = await asyncio.to_thread(_client, port, physical)
        try:
            await asyncio.to_thread(client.connect)
            event = await asyncio.to_thread(client.disconnect)
            assert isinstance(event, LinkDisconnected)
            assert service.connection_count == 1
        finally:
            client.close()
            await service.shutdown()

    run(scenario())
