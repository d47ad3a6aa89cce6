"""IEC 62056-46 HDLC over a TCP socket: a stand-in for the optical port (interface ``optical``).

Each TCP connection carries one ``HdlcServerLink`` (upper address: the management logical
device 1; lower address: the HDLC setup object's device_address, which is the identity's
physical address unless a client changed it). An APDU from the link goes to the session as
(client SAP = the HDLC client address, server SAP = 1); the answer goes back through the link,
which segments it and sends it when the client polls.

A link that goes down (DISC, or a new SNRM while connected) ends the session's association;
the TCP connection stays and the next SNRM starts a fresh session, as on an optical port.
HDLC is built for noisy lines, so a damaged frame is dropped, not a reason to close: the first
drop of a connection leaves one security log record, later ones only a count in the log line
at close. Inactivity (no frame for the time-out) closes the TCP connection.

Link parameters and the inactivity time-out come from the HDLC setup object when the
connection is accepted, bounded by the optical interface's configured ``inactivity_timeout``.
"""

from __future__ import annotations

import logging
import math

from securemeter.crashpoints import crash_point
from securemeter.framing.hdlc import (
    ApduReceived,
    FrameDropped,
    HdlcServerLink,
    LinkConnected,
    LinkDisconnected,
    LinkEvent,
    LinkState,
)
from securemeter.meter.config import SERVER_LOGICAL_ADDRESS, Interface
from securemeter.transports._links import (
    APDU_SIZE_MARGIN,
    LinkProtocol,
    LinkServer,
    effective_timeout,
)

log = logging.getLogger("securemeter.transports")


class HdlcProtocol(LinkProtocol):
    dropped_frames = 0  # damaged or unexpected frames on this connection

    def opened(self) -> None:
        settings = self.meter.device.hdlc_setup.settings
        timeout = self.inactivity_timeout
        self.link = HdlcServerLink(
            settings.device_address,
            SERVER_LOGICAL_ADDRESS,
            min(settings.max_info_field_length_transmit, settings.max_info_field_length_receive),
            min(settings.window_size_transmit, settings.window_size_receive),
            inactivity_timeout=None if math.isinf(timeout) else timeout,
            max_apdu_size=self.meter.config.max_receive_pdu_size + APDU_SIZE_MARGIN,
        )
        self.dropped_frames = 0

    def received(self, data: bytes) -> None:
        now = self.meter.time.monotonic()
        events = self.link.receive_data(data, now)
        answered = self._handle(events)
        if not self.closed:
            output = self.link.data_to_send()
            if answered and output:
                # Everything the answer reports (counters, log records) is committed by now.
                crash_point("answer:before-send")
            self.write(output)

    def _handle(self, events: list[LinkEvent]) -> bool:
        """Act on the link's events in order; True if an APDU answer was queued."""
        answered = False
        for event in events:
            if self.closed:
                break
            if isinstance(event, FrameDropped):
                self._dropped(event)
                continue
            # Any other event stems from a valid frame of the connected client (or its SNRM).
            self.touch()
            if isinstance(event, ApduReceived):
                session = self.session
                assert session is not None
                session.hdlc_address = event.client_address  # named in the session's records
                output = session.receive(event.client_address, SERVER_LOGICAL_ADDRESS, event.apdu)
                if output.data is not None and self.link.state is LinkState.NRM:
                    self.link.send_apdu(output.data)
                    answered = True
                if output.close:
                    self.link.disconnect()
                    self.replace_session()
            elif isinstance(event, LinkDisconnected):
                log.debug("HDLC link of %s down: %s", self.remote, event.reason.value)
                self.replace_session()
            elif isinstance(event, LinkConnected):
                log.debug("HDLC link of %s up: client %d", self.remote, event.client_address)
        return answered

    def _dropped(self, event: FrameDropped) -> None:
        if self.dropped_frames == 0:
            self.record_framing(f"HDLC frame dropped: {event.reason.value}")
        self.dropped_frames += event.count

    def check_inactivity(self, now: float) -> None:
        if self.closed:
            return
        # While connected the link's own timer counts every valid frame (an RR poll too); when
        # it expires the connection goes with it. Disconnected, only SNRM and link changes
        # count as activity.
        for event in self.link.check_timeout(now):
            if isinstance(event, LinkDisconnected):
                log.info("HDLC link of %s down: %s", self.remote, event.reason.value)
                self.close("inactivity")
                return
        if self.link.state is not LinkState.NRM:
            super().check_inactivity(now)

    def close(self, reason: str) -> None:
        if not self.closed and self.dropped_frames:
            log.info("%s dropped %d damaged HDLC frames", self.remote, self.dropped_frames)
        super().close(reason)


class HdlcTcpServer(LinkServer):
    """The HDLC-over-TCP listener (interface ``optical``)."""

    interface = Interface.OPTICAL

    def make_protocol(self) -> HdlcProtocol:
        return HdlcProtocol(self)

    def inactivity_timeout(self) -> float:
        configured = self.meter.config.interface(self.interface).inactivity_timeout
        cosem = self.meter.device.hdlc_setup.settings.inactivity_time_out
        return effective_timeout(configured, cosem)
