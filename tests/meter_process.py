"""Run the real meter (``securemeter meter serve``) as a subprocess, for end-to-end tests.

Import it like tests/strategies.py (``from meter_process import MeterProcess``)::

    with MeterProcess(tmp_path / "state", test_clock="2026-03-01T12:00:00Z") as meter:
        with WrapperClient("127.0.0.1", meter.tcp_port) as client:
            client.associate()
            value = client.get(8, "0.0.1.0.0.255", 2)
        meter.clock.advance(60)

The meter binds free ports (``--port 0 --hdlc-port 0``) and reports them in its ready file;
``start`` polls for that file (bounded, 20 s), which is the one wait in here. Its stdout and
stderr go to ``<state>.stdout.log`` / ``<state>.stderr.log`` next to the state directory
(appended across restarts, so a test can read the whole history).

Stable API (other test directories rely on it): MeterProcess, TestClockClient, TestClockError,
WrapperClient, HdlcClient, send_and_collect, unix_socket_address.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from securemeter.apdu.common import CosemAttributeDescriptor, SelectiveAccess
from securemeter.apdu.get import GetRequestNormal
from securemeter.codec.axdr import Data
from securemeter.codec.obis import Obis
from securemeter.framing.hdlc import (
    ApduReceived,
    HdlcAddress,
    HdlcClientLink,
    LinkConnected,
    LinkDisconnected,
    LinkEvent,
)
from securemeter.framing.wrapper import WrapperDecoder, encode_wrapper
from securemeter.session.connection import AssociationProposal, Connection
from securemeter.session.events import Event, Reply, ResponseReceived
from securemeter.session.state import Role

READY_TIMEOUT = 20.0  # seconds for the meter to report ready
STOP_TIMEOUT = 15.0  # seconds for a SIGTERM'd meter to exit
SOCKET_TIMEOUT = 10.0  # seconds any single blocking socket call may take
TEST_CLOCK_ENVIRONMENT = "SECUREMETER_TEST_CLOCK"
CRASH_POINT_ENVIRONMENT = "SECUREMETER_CRASH_POINT"
_UNIX_PATH_LIMIT = 100  # sun_path holds 108 bytes; keep a margin


class MeterProcess:
    """One ``securemeter meter serve`` subprocess on a state directory."""

    def __init__(
        self,
        state_dir: Path,
        *,
        config: Path | None = None,
        test_clock: str | None = None,
        hdlc: bool = True,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        """``test_clock``: None for the host clock, "" for the test clock at its default (or
        stored) start, or an ISO-8601 UTC start. ``env`` overrides the inherited environment
        (the inherited SECUREMETER_CRASH_POINT is always dropped unless ``env`` sets it)."""
        self.state_dir = Path(state_dir).absolute()
        self.config = config
        self.test_clock = test_clock
        self.hdlc = hdlc
        self.extra_args = tuple(extra_args)
        self.env = dict(env) if env is not None else {}
        base = self.state_dir.parent / self.state_dir.name
        self.ready_path = base.with_name(base.name + ".ready.json")
        self.stdout_path = base.with_name(base.name + ".stdout.log")
        self.stderr_path = base.with_name(base.name + ".stderr.log")
        self.process: subprocess.Popen[bytes] | None = None
        self.ready: dict[str, Any] | None = None
        self.clock: TestClockClient | None = None

    # ------------------------------------------------------------------ lifecycle

    def command(self) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "securemeter.cli.main",
            "meter",
            "serve",
            "--state",
            str(self.state_dir),
            "--port",
            "0",
            "--ready-file",
            str(self.ready_path),
        ]
        command += ["--hdlc-port", "0"] if self.hdlc else ["--no-hdlc"]
        if self.config is not None:
            command += ["--config", str(self.config)]
        if self.test_clock is not None:
            command += ["--test-clock"] + ([self.test_clock] if self.test_clock else [])
        return command + list(self.extra_args)

    def environment(self) -> dict[str, str]:
        environment = {
            name: value for name, value in os.environ.items() if name != CRASH_POINT_ENVIRONMENT
        }
        if self.test_clock is not None:
            environment[TEST_CLOCK_ENVIRONMENT] = "1"
        environment.update(self.env)
        return environment

    def start(self) -> dict[str, Any]:
        """Start the meter and wait until it is ready; return its ready information."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("the meter is already running")
        self.ready_path.unlink(missing_ok=True)
        self.state_dir.parent.mkdir(parents=True, exist_ok=True)
        with (
            open(self.stdout_path, "ab") as stdout,
            open(self.stderr_path, "ab") as stderr,
        ):
            self.process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                env=self.environment(),
            )
        deadline = time.monotonic() + READY_TIMEOUT
        # Polling for a condition (the ready file exists), bounded; not a synchronising sleep.
        while not self.ready_path.exists():
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the meter exited with code {self.process.returncode} before it was "
                    f"ready; stderr:\n{self.stderr_text()}"
                )
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(
                    f"the meter was not ready within {READY_TIMEOUT} s; stderr:\n"
                    f"{self.stderr_text()}"
                )
            time.sleep(0.02)
        self.ready = json.loads(self.ready_path.read_text(encoding="utf-8"))
        socket_path = self.ready.get("test_clock")
        self.clock = TestClockClient(Path(socket_path)) if socket_path else None
        return self.ready

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM, wait, and assert the meter exited cleanly (code 0)."""
        process = self._running()
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError(
                f"the meter did not stop within {timeout} s of SIGTERM; stderr:\n"
                f"{self.stderr_text()}"
            ) from None
        assert code == 0, f"the meter exited with code {code}; stderr:\n{self.stderr_text()}"

    def kill(self) -> None:
        """SIGKILL (an unclean stop) and reap the process."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()

    def wait(self, timeout: float = STOP_TIMEOUT) -> int:
        """Wait for the process to end by itself (e.g. at a crash point); its return code."""
        return self._running(alive=False).wait(timeout)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def _running(self, *, alive: bool = True) -> subprocess.Popen[bytes]:
        if self.process is None:
            raise RuntimeError("the meter was never started")
        if alive and self.process.poll() is not None:
            raise AssertionError(
                f"the meter is not running (exit code {self.process.returncode}); stderr:\n"
                f"{self.stderr_text()}"
            )
        return self.process

    def __enter__(self) -> MeterProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None and self.alive:
            self.stop()
        else:
            self.kill()

    # ------------------------------------------------------------------ information

    def _ready_info(self) -> dict[str, Any]:
        if self.ready is None:
            raise RuntimeError("the meter has not been started")
        return self.ready

    @property
    def host(self) -> str:
        return str(self._ready_info()["tcp"]["host"])

    @property
    def tcp_port(self) -> int:
        return int(self._ready_info()["tcp"]["port"])

    @property
    def hdlc_port(self) -> int | None:
        hdlc = self._ready_info()["hdlc"]
        return None if hdlc is None else int(hdlc["port"])

    @property
    def pid(self) -> int:
        return int(self._ready_info()["pid"])

    @property
    def keys_path(self) -> Path:
        return self.state_dir / "keys.json"

    @property
    def keys(self) -> dict[str, Any]:
        """The key delivery file the meter wrote on its first run."""
        document: dict[str, Any] = json.loads(self.keys_path.read_text(encoding="utf-8"))
        return document

    def stdout_text(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8", errors="replace")

    def stderr_text(self) -> str:
        if not self.stderr_path.exists():
            return ""
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def connect(self) -> socket.socket:
        """A raw TCP connection to the wrapper port (blocking, with a timeout)."""
        return socket.create_connection((self.host, self.tcp_port), timeout=SOCKET_TIMEOUT)


# ---------------------------------------------------------------------------- test clock


class TestClockError(RuntimeError):
    """The meter refused a test clock request ({"ok": false})."""

    __test__ = False  # not a pytest test class


@contextlib.contextmanager
def unix_socket_address(path: Path) -> Iterator[str]:
    """An address for ``path`` that fits sun_path: long paths go through /proc/self/fd."""
    text = str(path)
    if len(text.encode()) <= _UNIX_PATH_LIMIT:
        yield text
        return
    descriptor = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{descriptor}/{path.name}"
    finally:
        os.close(descriptor)


class TestClockClient:
    """Moves a meter's test clock through its control socket (one request per connection)."""

    __test__ = False  # not a pytest test class

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def request(self, message: Mapping[str, Any]) -> dict[str, Any]:
        """Send one request line; return the answer; TestClockError if it is not ok."""
        with (
            unix_socket_address(self.path) as address,
            socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection,
        ):
            connection.settimeout(SOCKET_TIMEOUT)
            connection.connect(address)
            connection.sendall(json.dumps(message).encode() + b"\n")
            answer = _read_line(connection)
        result: dict[str, Any] = json.loads(answer)
        if not result.get("ok"):
            raise TestClockError(str(result.get("error")))
        return result

    def get(self) -> dict[str, Any]:
        return self.request({"op": "get"})

    def set(self, utc: datetime | str) -> dict[str, Any]:
        text = utc.isoformat() if isinstance(utc, datetime) else utc
        return self.request({"op": "set", "utc": text})

    def advance(self, seconds: float) -> dict[str, Any]:
        return self.request({"op": "advance", "seconds": seconds})

    def utc(self) -> datetime:
        return datetime.fromisoformat(self.get()["utc"])


def _read_line(connection: socket.socket) -> bytes:
    data = bytearray()
    while not data.endswith(b"\n"):
        chunk = connection.recv(4096)
        if not chunk:
            raise TestClockError(f"the meter closed the control socket; got {bytes(data)!r}")
        data += chunk
    return bytes(data)


# ---------------------------------------------------------------------------- wire client


class _Headend(ABC):
    """The head-end service calls shared by the wire clients (over ``exchange``)."""

    headend: Connection
    _invoke_id = 0

    @abstractmethod
    def exchange(self, apdu: bytes) -> Event:
        """Send one APDU, follow block transfers, return the head-end event of the answer."""

    def associate(self, proposal: AssociationProposal | None = None) -> Event:
        return self.exchange(self.headend.request_association(proposal or AssociationProposal()))

    def get(
        self, class_id: int, obis: str, attribute: int, selection: SelectiveAccess | None = None
    ) -> Data | int:
        """GET one attribute: its value, or the data-access-result number of a refusal."""
        self._invoke_id = (self._invoke_id + 1) % 16
        request = GetRequestNormal(
            0xC0 | self._invoke_id,
            CosemAttributeDescriptor(class_id, Obis.parse(obis), attribute),
            selection,
        )
        event = self.exchange(self.headend.send_request(request))
        if not isinstance(event, ResponseReceived):
            raise AssertionError(f"unexpected answer to GET: {event!r}")
        result: Data | int = event.response.result  # type: ignore[union-attr]
        return result

    def release(self) -> Event:
        return self.exchange(self.headend.release())


class WrapperClient(_Headend):
    """A minimal blocking head-end over the IEC 62056-47 wrapper, built on the sans-IO
    ``Connection(Role.HEADEND)``: associate, GET, release. For tests only."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_sap: int = 16,
        server_sap: int = 1,
        timeout: float = SOCKET_TIMEOUT,
    ) -> None:
        self.client_sap = client_sap
        self.server_sap = server_sap
        self.socket = socket.create_connection((host, port), timeout=timeout)
        self.headend = Connection(Role.HEADEND)
        self._decoder = WrapperDecoder(0xFFFF)

    def __enter__(self) -> WrapperClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.socket.close()

    def send_apdu(self, apdu: bytes) -> None:
        self.socket.sendall(encode_wrapper(self.client_sap, self.server_sap, apdu))

    def receive_apdu(self) -> bytes:
        """The next APDU from the meter; ConnectionError if the meter closed the connection."""
        while True:
            frame = self._decoder.next_frame()
            if frame is not None:
                return frame.apdu
            chunk = self.socket.recv(65536)
            if not chunk:
                raise ConnectionError("the meter closed the connection")
            self._decoder.receive_data(chunk)

    def exchange(self, apdu: bytes) -> Event:
        """Send one APDU, follow block transfers, return the head-end event of the answer."""
        while True:
            self.send_apdu(apdu)
            event = self.headend.receive(self.receive_apdu())
            if isinstance(event, Reply):
                apdu = event.data
                continue
            return event

    def wait_closed(self) -> bytes:
        """Read until the meter closes the connection; return what came before (no frame)."""
        received = bytearray()
        while True:
            chunk = self.socket.recv(65536)
            if not chunk:
                return bytes(received)
            received += chunk


class HdlcClient(_Headend):
    """A minimal blocking head-end over HDLC on a TCP socket (the meter's optical stand-in),
    built on ``HdlcClientLink`` and ``Connection(Role.HEADEND)``. For tests only."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        physical_address: int,
        client_sap: int = 16,
        logical_address: int = 1,
        timeout: float = SOCKET_TIMEOUT,
    ) -> None:
        self.socket = socket.create_connection((host, port), timeout=timeout)
        server = HdlcAddress.server(logical_address, physical_address, 4)
        self.link = HdlcClientLink(server, client_sap)
        self.headend = Connection(Role.HEADEND)
        self._events: list[LinkEvent] = []

    def __enter__(self) -> HdlcClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.socket.close()

    def wait_for(self, kind: type[LinkEvent]) -> LinkEvent:
        """Send what the link has queued and read until an event of ``kind`` arrives."""
        while True:
            output = self.link.data_to_send()
            if output:
                self.socket.sendall(output)
            while self._events:
                event = self._events.pop(0)
                if isinstance(event, kind):
                    return event
                if isinstance(event, LinkDisconnected):
                    raise ConnectionError(f"the HDLC link went down: {event.reason.value}")
            chunk = self.socket.recv(65536)
            if not chunk:
                raise ConnectionError("the meter closed the connection")
            self._events += self.link.receive_data(chunk, time.monotonic())

    def connect(self) -> LinkEvent:
        self.link.connect()
        return self.wait_for(LinkConnected)

    def disconnect(self) -> LinkEvent:
        self.link.disconnect()
        return self.wait_for(LinkDisconnected)

    def exchange(self, apdu: bytes) -> Event:
        while True:
            self.link.send_apdu(apdu)
            received = self.wait_for(ApduReceived)
            assert isinstance(received, ApduReceived)
            event = self.headend.receive(received.apdu)
            if isinstance(event, Reply):
                apdu = event.data
                continue
            return event


def send_and_collect(connection: socket.socket, data: bytes) -> bytes:
    """Send ``data`` then half-close, while a thread reads everything the meter answers
    until it closes; return the answers. Reading concurrently keeps a meter that pauses
    reading under write back-pressure from deadlocking with us."""
    received = bytearray()
    failure: list[BaseException] = []

    def reader() -> None:
        try:
            while chunk := connection.recv(65536):
                received.extend(chunk)
        except OSError as error:  # a reset after the meter closed on us counts as closed
            failure.append(error)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        connection.sendall(data)
        connection.shutdown(socket.SHUT_WR)
    thread.join(SOCKET_TIMEOUT * 3)
    if thread.is_alive():
        raise AssertionError("the meter neither answered nor closed the connection")
    if failure and not isinstance(failure[0], ConnectionResetError):
        raise failure[0]
    return bytes(received)
