"""The IEC 62056-47 wrapper over TCP: one ``MeterSession`` per TCP connection.

Every wrapper frame goes to ``session.receive(source wPort = client SAP, destination wPort =
server SAP, APDU)``; an answer goes back with the wPorts swapped. Bytes that are no wrapper
frame (wrong version, an announced length above the meter's limit) close the connection after
a log line and a security log record: the byte stream is out of sync and cannot be trusted.

The inactivity time-out of a new connection is the smaller of the TCP interface's configured
``inactivity_timeout`` and the TCP-UDP setup object's ``inactivity_time_out`` (0 = none), read
when the connection is accepted, so that a SET of the object applies from the next
connection on and never extends the configured bound.
"""

from __future__ import annotations

from securemeter.crashpoints import crash_point
from securemeter.errors import DecodeError
from securemeter.framing.wrapper import MAX_APDU_LENGTH, WrapperDecoder, encode_wrapper
from securemeter.meter.config import Interface
from securemeter.transports._links import (
    APDU_SIZE_MARGIN,
    LinkProtocol,
    LinkServer,
    effective_timeout,
)


class WrapperProtocol(LinkProtocol):
    def opened(self) -> None:
        limit = min(MAX_APDU_LENGTH, self.meter.config.max_receive_pdu_size + APDU_SIZE_MARGIN)
        self.decoder = WrapperDecoder(limit)

    def received(self, data: bytes) -> None:
        self.decoder.receive_data(data)
        while not self.closed:
            try:
                frame = self.decoder.next_frame()
            except DecodeError as error:
                self.framing_error(str(error))
                return
            if frame is None:
                return
            self.touch()
            session = self.session
            assert session is not None
            output = session.receive(frame.source_wport, frame.destination_wport, frame.apdu)
            if output.data is not None:
                answer = encode_wrapper(frame.destination_wport, frame.source_wport, output.data)
                # Everything the answer reports (counters, log records) is committed by now.
                crash_point("answer:before-send")
                self.write(answer)
            if output.close:
                self.close("closed by the session")


class WrapperServer(LinkServer):
    """The wrapper listener (interface ``tcp``)."""

    interface = Interface.TCP

    def make_protocol(self) -> WrapperProtocol:
        return WrapperProtocol(self)

    def inactivity_timeout(self) -> float:
        configured = self.meter.config.interface(self.interface).inactivity_timeout
        cosem = self.meter.device.tcp_udp_setup.settings.inactivity_time_out
        return effective_timeout(configured, cosem)
