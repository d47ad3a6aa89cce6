"""In-process helpers: a meter on a test clock served by MeterService on this event loop.

The blocking test clients of meter_process run in a worker thread (asyncio.to_thread) while
the loop serves them, so a scenario reads top to bottom with no sleeps.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any, TypeVar

from tests.meter_harness import make_meter

from meter_process import SOCKET_TIMEOUT, WrapperClient
from securemeter.meter.config import Interface, InterfaceConfig, MeterConfig, demo_config
from securemeter.meter.meter import Meter
from securemeter.meter.timekeeping import TestClock
from securemeter.storage import StoredRecord
from securemeter.transports.service import MeterService

_T = TypeVar("_T")
HOST = "127.0.0.1"


def run(coroutine: Coroutine[Any, Any, _T], timeout: float = 20.0) -> _T:
    """Run an in-process scenario on a fresh event loop, bounded in time."""
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


def limited_config(*, max_connections: int = 8, inactivity_timeout: float = 120.0) -> MeterConfig:
    interfaces = tuple(
        InterfaceConfig(name, max_connections, inactivity_timeout) for name in Interface
    )
    return replace(demo_config(), interfaces=interfaces)


def new_meter(config: MeterConfig | None = None) -> Meter:
    """A powered-up meter on a MemoryStore and a test clock (tests.meter_harness)."""
    return make_meter(config, history_days=0)


def clock_of(meter: Meter) -> TestClock:
    base = meter.time.base
    assert isinstance(base, TestClock)
    return base


async def serve_wrapper(meter: Meter) -> tuple[MeterService, int]:
    service = MeterService(meter)
    _, port = await service.start_wrapper(HOST, 0)
    return service, port


async def serve_hdlc(meter: Meter) -> tuple[MeterService, int]:
    service = MeterService(meter)
    _, port = await service.start_hdlc(HOST, 0)
    return service, port


async def open_client(port: int, **options: Any) -> WrapperClient:
    return await asyncio.to_thread(WrapperClient, HOST, port, **options)


async def open_socket(port: int) -> socket.socket:
    return await asyncio.to_thread(socket.create_connection, (HOST, port), SOCKET_TIMEOUT)


async def read_until_closed(connection: socket.socket) -> bytes:
    """Everything the meter sends until it closes the connection."""

    def read() -> bytes:
        received = bytearray()
        while chunk := connection.recv(65536):
            received += chunk
        return bytes(received)

    return await asyncio.to_thread(read)


def records(meter: Meter, log: str) -> list[StoredRecord]:
    return meter.store.logs.records(log)
