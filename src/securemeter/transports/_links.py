"""What every TCP listener of the meter shares: the connection limit, inactivity, shutdown.

A listener serves one interface (the wrapper port is ``tcp``, HDLC over TCP stands in for the
``optical`` port). Each accepted connection is one :class:`LinkProtocol` with its own
``MeterSession``. Sessions are synchronous objects called straight from ``buffer_updated``.

Connections read into one receive buffer each (``asyncio.BufferedProtocol``): asyncio's plain
``Protocol`` reads with ``recv(256 KiB)``, a fresh 256 KiB buffer per read, which glibc maps
and unmaps for every request (three system calls and two page faults per GET).

Inactivity is measured with ``meter.time.monotonic()``, which is the host's monotonic clock or
the test clock. Nothing here schedules timers: the owner calls :meth:`LinkServer.check_inactivity`
(every second with the host clock, after each move of the test clock), so tests never sleep.

A failure inside one connection (a bug, a storage error) is logged with its traceback and
closes that connection only; the listener keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
import math
from abc import ABC, abstractmethod
from typing import Final

from securemeter.meter.config import Interface
from securemeter.meter.logbook import COMMUNICATION, SECURITY, EventCode
from securemeter.meter.meter import Meter, MeterSession

log = logging.getLogger("securemeter.transports")

#: Bytes a frame may carry beyond the negotiated APDU size (ciphering header and tag, slack).
APDU_SIZE_MARGIN: Final = 64
#: Bytes one read may take from the socket; longer frames arrive over several reads.
RECEIVE_BUFFER_SIZE: Final = 16 * 1024
_DETAIL_LIMIT: Final = 200


def remote_name(transport: asyncio.BaseTransport) -> str:
    """``ip:port`` of the peer (``[ip]:port`` for IPv6), or ``unknown``."""
    peer = transport.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        host, port = str(peer[0]), peer[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return "unknown"


def effective_timeout(*limits: float | None) -> float:
    """The smallest positive limit; 0 or None means "no limit" (math.inf if none is left)."""
    positive = [float(limit) for limit in limits if limit is not None and limit > 0]
    return min(positive, default=math.inf)


class LinkProtocol(asyncio.BufferedProtocol, ABC):
    """One accepted TCP connection: a session, an inactivity deadline, a clean close."""

    def __init__(self, server: LinkServer) -> None:
        self._receive_buffer = memoryview(bytearray(RECEIVE_BUFFER_SIZE))
        self.server = server
        self.meter = server.meter
        self.remote = "unknown"
        self.transport: asyncio.Transport | None = None
        self.session: MeterSession | None = None
        self.inactivity_timeout = math.inf
        self.last_activity = 0.0
        self.closed = False

    # ------------------------------------------------------------------ asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.remote = remote_name(transport)
        if not self.server.admit(self):
            self.closed = True
            transport.close()
            return
        try:
            self.inactivity_timeout = self.server.inactivity_timeout()
            self.last_activity = self.meter.time.monotonic()
            self.session = self.meter.new_session(self.server.interface, self.remote)
            self.opened()
        except Exception:
            log.exception("cannot serve %s on %s", self.remote, self.server.interface.value)
            self.close("internal error")
            return
        log.debug("connection from %s on %s", self.remote, self.server.interface.value)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._receive_buffer

    def buffer_updated(self, nbytes: int) -> None:
        if self.closed:
            return
        try:
            self.received(bytes(self._receive_buffer[:nbytes]))
        except Exception:
            log.exception(
                "error while serving %s on %s; closing that connection",
                self.remote,
                self.server.interface.value,
            )
            self.close("internal error")

    def eof_received(self) -> bool | None:
        self.close("peer closed")
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.close("peer closed" if exc is None else f"connection lost: {exc}")

    def pause_writing(self) -> None:
        # The peer does not read its answers: stop reading its requests until it does.
        if self.transport is not None and not self.closed:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.resume_reading()

    # ------------------------------------------------------------------ for subclasses

    def opened(self) -> None:
        """Set up the link state of a new connection (the session exists already)."""

    @abstractmethod
    def received(self, data: bytes) -> None:
        """Feed bytes from the peer to the link and the session; write the answers."""

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.closed and data:
            self.transport.write(data)

    def touch(self) -> None:
        """A complete frame arrived: the inactivity time starts again."""
        self.last_activity = self.meter.time.monotonic()

    def check_inactivity(self, now: float) -> None:
        if not self.closed and now - self.last_activity >= self.inactivity_timeout:
            log.info(
                "closing %s on %s: no frame for %g s",
                self.remote,
                self.server.interface.value,
                self.inactivity_timeout,
            )
            self.close("inactivity")

    def framing_error(self, detail: str) -> None:
        """Bytes that are no frame: the stream cannot be trusted any more; log and close."""
        log.warning(
            "framing error from %s on %s: %s; closing the connection",
            self.remote,
            self.server.interface.value,
            detail,
        )
        self.record_framing(detail)
        self.close("framing error")

    def record_framing(self, detail: str) -> None:
        self.meter.logbook.record(
            SECURITY,
            EventCode.REQUEST_REFUSED,
            interface=self.server.interface.value,
            remote=self.remote,
            sap=None,
            reason="framing",
            detail=detail[:_DETAIL_LIMIT],
        )

    def replace_session(self) -> None:
        """The link went down but the connection stays: end the session, start a new one."""
        session = self.session
        self.session = None
        if session is not None:
            session.closed()
        self.session = self.meter.new_session(self.server.interface, self.remote)

    def close(self, reason: str) -> None:
        """End the session (its records) and close the connection; idempotent."""
        if self.closed:
            return
        self.closed = True
        self.server.discard(self)
        session = self.session
        self.session = None
        try:
            if session is not None:
                session.closed()
        except Exception:
            log.exception("error while closing the session of %s", self.remote)
        finally:
            if self.transport is not None:
                self.transport.close()
        log.debug("closed %s on %s: %s", self.remote, self.server.interface.value, reason)


class LinkServer(ABC):
    """A TCP listener of one interface: admits connections within the limit, tracks them."""

    interface: Interface

    def __init__(self, meter: Meter) -> None:
        self.meter = meter
        self.links: set[LinkProtocol] = set()
        self._server: asyncio.Server | None = None
        self.address: tuple[str, int] | None = None

    @abstractmethod
    def make_protocol(self) -> LinkProtocol:
        """A protocol object for a new connection."""

    @abstractmethod
    def inactivity_timeout(self) -> float:
        """Seconds without a frame before a new connection is closed (math.inf: never)."""

    @property
    def max_connections(self) -> int:
        return self.meter.config.interface(self.interface).max_connections

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Listen on ``host:port`` (0 picks a free port); return the bound address."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self.make_protocol, host, port)
        bound = self._server.sockets[0].getsockname()
        self.address = (str(bound[0]), int(bound[1]))
        log.info("%s listening on %s:%d", self.interface.value, *self.address)
        return self.address

    def admit(self, link: LinkProtocol) -> bool:
        """Count a new connection in, or refuse it (logged) when the limit is reached."""
        if len(self.links) >= self.max_connections:
            log.warning(
                "refused %s on %s: %d connections open (the limit)",
                link.remote,
                self.interface.value,
                len(self.links),
            )
            try:
                self.meter.logbook.record(
                    COMMUNICATION,
                    EventCode.CONNECTION_REFUSED,
                    interface=self.interface.value,
                    remote=link.remote,
                    reason="connection-limit",
                )
            except Exception:
                log.exception("cannot record the refused connection from %s", link.remote)
            return False
        self.links.add(link)
        return True

    def discard(self, link: LinkProtocol) -> None:
        self.links.discard(link)

    def check_inactivity(self) -> None:
        now = self.meter.time.monotonic()
        for link in list(self.links):
            try:
                link.check_inactivity(now)
            except Exception:
                log.exception("inactivity check of %s failed", link.remote)
                link.close("internal error")

    def stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()

    def close_links(self, reason: str) -> None:
        for link in list(self.links):
            link.close(reason)

    async def wait_closed(self) -> None:
        if self._server is not None:
            await self._server.wait_closed()
