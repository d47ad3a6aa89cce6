"""The running meter on an event loop: listeners, the periodic tick, the test clock, shutdown.

With the host clock the service ticks the meter (load profile captures) and checks every
connection's inactivity once a second. With the test clock nothing runs by itself: the
control channel ticks and checks after each move, so tests are deterministic.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Final

from securemeter.meter.meter import Meter
from securemeter.meter.timekeeping import TestClock
from securemeter.transports._links import LinkServer
from securemeter.transports.hdlc_tcp import HdlcTcpServer
from securemeter.transports.tcp_wrapper import WrapperServer
from securemeter.transports.test_clock import TestClockChannel, store_test_clock_time

log = logging.getLogger("securemeter.transports")

TICK_INTERVAL: Final = 1.0  # seconds between ticks with the host clock


class MeterService:
    """Owns the listeners of one meter; call ``shutdown`` before ``meter.power_down``."""

    def __init__(self, meter: Meter) -> None:
        self.meter = meter
        base = meter.time.base
        self.test_clock: TestClock | None = base if isinstance(base, TestClock) else None
        self.servers: list[LinkServer] = []
        self.channel: TestClockChannel | None = None
        self._tick_handle: asyncio.TimerHandle | None = None

    async def start_wrapper(self, host: str, port: int) -> tuple[str, int]:
        return await self._start(WrapperServer(self.meter), host, port)

    async def start_hdlc(self, host: str, port: int) -> tuple[str, int]:
        return await self._start(HdlcTcpServer(self.meter), host, port)

    async def _start(self, server: LinkServer, host: str, port: int) -> tuple[str, int]:
        address = await server.start(host, port)
        self.servers.append(server)
        return address

    async def start_test_clock(self, path: Path) -> Path:
        if self.test_clock is None:
            raise RuntimeError("the meter does not run on a test clock")
        self.channel = TestClockChannel(self.test_clock, self._clock_moved, self.meter.time.now_utc)
        return await self.channel.start(path)

    def start_ticking(self) -> None:
        """Tick once a second with the host clock (not with the test clock)."""
        if self.test_clock is not None:
            raise RuntimeError("with the test clock the meter ticks when the clock moves")
        self._schedule_tick()

    def _schedule_tick(self) -> None:
        loop = asyncio.get_running_loop()
        self._tick_handle = loop.call_later(TICK_INTERVAL, self._periodic_tick)

    def _periodic_tick(self) -> None:
        self.tick()
        self._schedule_tick()

    def tick(self) -> None:
        """Periodic work now: the meter's tick, then inactivity of every connection."""
        try:
            self.meter.tick()
        except Exception:
            log.exception("meter tick failed")
        for server in self.servers:
            server.check_inactivity()

    def _clock_moved(self) -> None:
        assert self.test_clock is not None
        store_test_clock_time(self.meter.store.state, self.test_clock)
        self.tick()

    @property
    def connection_count(self) -> int:
        return sum(len(server.links) for server in self.servers)

    async def shutdown(self) -> None:
        """Stop listening, end every session (with its records) and close the connections."""
        if self._tick_handle is not None:
            self._tick_handle.cancel()
            self._tick_handle = None
        for server in self.servers:
            server.stop_listening()
        if self.channel is not None:
            self.channel.close()
        for server in self.servers:
            server.close_links("shutdown")
        for server in self.servers:
            await server.wait_closed()
        if self.channel is not None:
            await self.channel.wait_closed()
