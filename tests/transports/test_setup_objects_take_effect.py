"""The TCP-UDP setup's port takes real effect: a SET of attribute 2 by a role allowed to write it
is where the meter listens after its next start without --port; an explicit --port (0 too)
overrides it. (The inactivity time-out and the HDLC link parameters applying to the next
connection or link are covered by tests/transports/test_transport_wrapper.py and
tests/interop/test_set_action.py.)"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from tests.attacks.support import HeadEnd, ProcessTarget

from meter_process import MeterProcess, WrapperClient
from securemeter.apdu.enums import DataAccessResult
from securemeter.cli.main import build_parser
from securemeter.codec.axdr import LongUnsigned
from securemeter.codec.obis import Obis

TCP_UDP_SETUP = Obis(0, 0, 25, 0, 0, 255)
TCP_UDP_SETUP_CLASS = 41
PORT_ATTRIBUTE = 2
PUBLIC, WRITER = 16, 5

# A public reader of the setup object and an HLS-GMAC role (authenticated encryption, as the
# security rules demand for write rights) that may change its port and nothing else.
CONFIG = """
[meter]
load_profile_history_days = 0

[interfaces.tcp]
lockout = false

[[roles]]
sap = 16
name = "public"
mechanism = "none"
security = "none"
interfaces = ["tcp"]

[[roles.objects]]
obis = "0.0.25.0.0.255"
read = "all"

[[roles]]
sap = 5
name = "installer"
mechanism = "hls-gmac"
security = "auth-enc"
interfaces = ["tcp"]

[[roles.objects]]
obis = "0.0.25.0.0.255"
read = "all"
write = ["port"]
"""


class StoredPortMeter(MeterProcess):
    """A MeterProcess started without ``--port`` after its first start (``port=None``), so
    that the meter picks the port stored in its TCP-UDP setup object."""

    port: int | None = 0

    def command(self) -> list[str]:
        command = super().command()
        if self.port is None:
            index = command.index("--port")
            del command[index : index + 2]
        else:
            command[command.index("--port") + 1] = str(self.port)
        return command


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def read_port(meter: MeterProcess) -> int:
    with WrapperClient(meter.host, meter.tcp_port, client_sap=PUBLIC) as client:
        client.associate()
        value = client.get(TCP_UDP_SETUP_CLASS, str(TCP_UDP_SETUP), PORT_ATTRIBUTE)
        client.release()
    assert isinstance(value, LongUnsigned), value
    return value.value


def test_serve_without_port_leaves_the_choice_to_the_meter() -> None:
    parser = build_parser()
    assert parser.parse_args(["meter", "serve"]).port is None
    assert parser.parse_args(["meter", "serve", "--port", "0"]).port == 0
    assert parser.parse_args(["meter", "serve", "--port", "4059"]).port == 4059


@pytest.mark.parametrize("kill", [False, True], ids=["stop", "kill"])
def test_a_set_port_is_where_the_meter_listens_after_a_restart_without_port(
    tmp_path: Path, kill: bool
) -> None:
    config = tmp_path / "roles.toml"
    config.write_text(CONFIG, encoding="utf-8")
    meter = StoredPortMeter(tmp_path / "state", config=config, hdlc=False)
    meter.start()
    try:
        first_port = meter.tcp_port
        assert read_port(meter) == 4059  # a new meter's default, not where --port 0 put it

        target = ProcessTarget(meter)
        new_port = free_port()
        assert new_port != first_port
        with HeadEnd(target, WRITER) as writer:
            writer.associate()
            assert (
                writer.set(
                    TCP_UDP_SETUP_CLASS, TCP_UDP_SETUP, PORT_ATTRIBUTE, LongUnsigned(new_port)
                )
                == DataAccessResult.SUCCESS
            )
            assert writer.get(TCP_UDP_SETUP_CLASS, TCP_UDP_SETUP, PORT_ATTRIBUTE) == LongUnsigned(
                new_port
            )
            writer.release()
        # Stored only until the next listener: the running one keeps its port.
        assert read_port(meter) == new_port

        # The SET was answered, so it is durable: a kill -9 keeps it as well as a clean stop.
        if kill:
            meter.kill()
        else:
            meter.stop()
        meter.port = None
        ready = meter.start()
        assert ready["tcp"]["port"] == new_port
        assert meter.tcp_port == new_port
        assert read_port(meter) == new_port

        # An explicit --port overrides the stored one, here while the stored port is taken.
        meter.stop()
        with socket.socket() as squatter:
            squatter.bind(("127.0.0.1", new_port))
            squatter.listen()
            meter.port = 0
            meter.start()
            assert meter.tcp_port not in (new_port, 0)
            assert read_port(meter) == new_port
        meter.stop()
    finally:
        meter.kill()


def test_a_taken_stored_port_is_a_clear_start_up_error(tmp_path: Path) -> None:
    config = tmp_path / "roles.toml"
    config.write_text(CONFIG, encoding="utf-8")
    meter = StoredPortMeter(tmp_path / "state", config=config, hdlc=False)
    meter.start()
    try:
        new_port = free_port()
        with HeadEnd(ProcessTarget(meter), WRITER) as writer:
            writer.associate()
            assert (
                writer.set(
                    TCP_UDP_SETUP_CLASS, TCP_UDP_SETUP, PORT_ATTRIBUTE, LongUnsigned(new_port)
                )
                == DataAccessResult.SUCCESS
            )
        meter.stop()
        with socket.socket() as squatter:
            squatter.bind(("127.0.0.1", new_port))
            squatter.listen()
            meter.port = None
            with pytest.raises(RuntimeError, match="exited with code 1"):
                meter.start()
        assert f"cannot listen on 127.0.0.1:{new_port}" in meter.stderr_text()
        assert "TCP-UDP setup" in meter.stderr_text()
    finally:
        meter.kill()


def test_the_public_role_cannot_change_the_port(tmp_path: Path) -> None:
    config = tmp_path / "roles.toml"
    config.write_text(CONFIG, encoding="utf-8")
    with StoredPortMeter(tmp_path / "state", config=config, hdlc=False) as meter:
        with HeadEnd(ProcessTarget(meter), PUBLIC) as public:
            public.associate()
            result = public.set(
                TCP_UDP_SETUP_CLASS, TCP_UDP_SETUP, PORT_ATTRIBUTE, LongUnsigned(free_port())
            )
            assert result == DataAccessResult.READ_WRITE_DENIED
            public.release()
        assert read_port(meter) == 4059
