"""The meter's I/O edge: asyncio listeners (wrapper, HDLC over TCP) and the test clock channel.

The only package, with ``securemeter.cli``, that touches sockets or the event loop.
"""

from securemeter.transports.hdlc_tcp import HdlcTcpServer
from securemeter.transports.service import MeterService
from securemeter.transports.tcp_wrapper import WrapperServer
from securemeter.transports.test_clock import TestClockChannel

__all__ = ["HdlcTcpServer", "MeterService", "TestClockChannel", "WrapperServer"]
