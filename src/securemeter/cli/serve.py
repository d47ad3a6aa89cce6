"""``securemeter meter serve``: run a meter on a state directory until SIGTERM or SIGINT.

Start-up: open the store (exit 3 if another meter holds it), load or create the identity,
build the meter, deliver the keys once (``DIR/keys.json``, mode 0600, first run only), record
the power-up, start the listeners, then print one JSON ready line on stdout (and write it to
``--ready-file``). Shutdown: stop listening, end every session, record the power-down, close
the store, exit 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Final

from securemeter.cli._common import (
    CliError,
    ExitCode,
    configure_logging,
    load_meter_config,
    open_state,
)
from securemeter.meter.credentials import delivery_document, delivery_entry, write_secret_file
from securemeter.meter.identity import load_or_create_identity
from securemeter.meter.meter import Meter
from securemeter.meter.timekeeping import HostTime, MeterTime, TestClock
from securemeter.transports.service import MeterService
from securemeter.transports.test_clock import SOCKET_NAME, parse_start, stored_test_clock_time

log = logging.getLogger("securemeter.cli")

TEST_CLOCK_ENVIRONMENT: Final = "SECUREMETER_TEST_CLOCK"
KEYS_FILE: Final = "keys.json"
# Set once keys.json has been written: it is never written again, even if deleted.
KEYS_DELIVERED_KEY: Final = "delivery.keys_json"
DEFAULT_TEST_CLOCK_START: Final = "2026-01-01T00:00:00+00:00"


def serve(arguments: argparse.Namespace) -> int:
    start_time = _test_clock_start(arguments.test_clock)
    config = load_meter_config(arguments.config)
    configure_logging(arguments.log_level)
    state_dir = Path(arguments.state).absolute()
    store = open_state(state_dir)
    try:
        identity, created = load_or_create_identity(store.state, os.urandom)
        base: HostTime | TestClock = HostTime()
        if arguments.test_clock is not None:
            start = start_time or stored_test_clock_time(store.state)
            base = TestClock(start or parse_start(DEFAULT_TEST_CLOCK_START))
            log.warning(
                "TEST CLOCK ACTIVE: time is controlled through %s; never use this for a real meter",
                state_dir / SOCKET_NAME,
            )
        meter = Meter(
            config=config,
            store=store,
            time=MeterTime(base, store.state),
            identity=identity,
            random_bytes=os.urandom,
        )
        keys_path = state_dir / KEYS_FILE
        _deliver_keys(meter, keys_path, first_run=created)
        meter.power_up()
        log.info(
            "meter %s (system title %s) started on %s%s",
            identity.serial,
            identity.system_title.hex(),
            state_dir,
            " (first run)" if created else "",
        )
        try:
            return asyncio.run(_run(meter, arguments, state_dir, keys_path))
        finally:
            meter.power_down()
            log.info("meter %s stopped", identity.serial)
    finally:
        store.close()


def _test_clock_start(option: str | None) -> datetime | None:
    if option is None:
        return None
    if os.environ.get(TEST_CLOCK_ENVIRONMENT) != "1":
        raise CliError(
            f"--test-clock is for tests only and needs the environment variable "
            f"{TEST_CLOCK_ENVIRONMENT}=1; a real meter must run on the host clock",
            ExitCode.USAGE,
        )
    if not option:
        return None
    try:
        return parse_start(option)
    except ValueError as error:
        raise CliError(
            f"--test-clock {option!r} is not an ISO-8601 time with a UTC offset ({error}); "
            "e.g. --test-clock 2026-03-01T12:00:00Z",
            ExitCode.USAGE,
        ) from None


def _deliver_keys(meter: Meter, path: Path, *, first_run: bool) -> None:
    """Write keys.json on the first run (or if a crash came between identity and delivery)."""
    state = meter.store.state
    if not first_run and (state.get(KEYS_DELIVERED_KEY) is not None or path.exists()):
        return
    entries = [delivery_entry(role, meter.credentials[role.sap]) for role in meter.config.roles]
    write_secret_file(path, delivery_document(meter.identity, entries))
    state.put(KEYS_DELIVERED_KEY, b"1", durable=True)
    log.info("key delivery file written to %s (mode 0600): move it to the head-end", path)


async def _run(
    meter: Meter, arguments: argparse.Namespace, state_dir: Path, keys_path: Path
) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop.set)
    service = MeterService(meter)
    try:
        host: str = arguments.host
        port, option = _wrapper_port(meter, arguments.port)
        tcp = await _listen(service.start_wrapper, host, port, option)
        hdlc = None
        if not arguments.no_hdlc:
            hdlc = await _listen(service.start_hdlc, host, arguments.hdlc_port, "--hdlc-port")
        clock_socket = None
        if service.test_clock is not None:
            clock_socket = await service.start_test_clock(state_dir / SOCKET_NAME)
        else:
            service.start_ticking()
        ready = {
            "event": "ready",
            "pid": os.getpid(),
            "state": str(state_dir),
            "serial": meter.identity.serial,
            "system_title": meter.identity.system_title.hex(),
            "keys": str(keys_path),
            "tcp": {"host": tcp[0], "port": tcp[1]},
            "hdlc": None if hdlc is None else {"host": hdlc[0], "port": hdlc[1]},
            "test_clock": None if clock_socket is None else str(clock_socket),
        }
        line = json.dumps(ready)
        if arguments.ready_file:
            _write_atomically(Path(arguments.ready_file), line + "\n")
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
        await stop.wait()
        log.info("stopping: %d connections to close", service.connection_count)
    finally:
        await service.shutdown()
    return ExitCode.OK


def _wrapper_port(meter: Meter, option: int | None) -> tuple[int, str]:
    """The wrapper port: an explicit --port (0 too) wins over the TCP-UDP setup object's port,
    so a SET of that port takes effect when the meter next starts without --port."""
    if option is not None:
        return option, "--port"
    return (
        meter.device.tcp_udp_setup.settings.port,
        "--port (it overrides the port of TCP-UDP setup 0.0.25.0.0.255)",
    )


async def _listen(
    start: Callable[[str, int], Awaitable[tuple[str, int]]], host: str, port: int, option: str
) -> tuple[str, int]:
    try:
        address = await start(host, port)
    except OSError as error:
        raise CliError(
            f"cannot listen on {host}:{port} ({error.strerror or error}): choose another "
            f"{option} (0 picks a free port) or stop the program using it"
        ) from None
    return address


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise CliError(f"cannot write the ready file {path}: {error.strerror or error}") from None
