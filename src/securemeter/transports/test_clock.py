"""The test clock's control channel: a Unix socket through which tests move the meter's time.

Only for tests (``securemeter meter serve --test-clock`` with SECUREMETER_TEST_CLOCK=1). The
socket is created with mode 0600 inside the meter's private state directory, so only the
meter's owner can move its clock. Protocol: one JSON object per line, each answered by one
line::

    {"op": "get"}
    {"op": "set", "utc": "2026-03-01T12:00:00Z"}      wall clock only; monotonic time stays
    {"op": "advance", "seconds": 60}                  both clocks move forward
    -> {"ok": true, "utc": "...", "monotonic": 1000060.0, "meter_utc": "..."}
    -> {"ok": false, "error": "..."}

``utc`` is the test clock; ``meter_utc`` is the meter's COSEM clock (the test clock plus the
offset a clock SET left). After a set or an advance the channel calls ``on_moved`` (the
service ticks the meter and checks inactivity) before it answers, so when a test gets the
answer, everything due at the new time has happened.

The last test clock time is kept in the store (not durably), so a restart with ``--test-clock``
and no start time continues where the previous run stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import stat
import struct
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from securemeter.meter.timekeeping import TEST_CLOCK_KEY, TestClock
from securemeter.storage.base import StateStore

log = logging.getLogger("securemeter.transports")

SOCKET_NAME: Final = "test-clock.sock"
MAX_REQUEST_LENGTH: Final = 4096
_UNIX_PATH_LIMIT: Final = 100  # sun_path holds 108 bytes; keep a margin
_MICROSECONDS: Final = struct.Struct(">q")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class TestClockChannel:
    """Serves the control socket of one test clock."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        clock: TestClock,
        on_moved: Callable[[], None],
        meter_utc: Callable[[], datetime] | None = None,
    ) -> None:
        self.clock = clock
        self.on_moved = on_moved
        self.meter_utc = meter_utc
        self.path: Path | None = None
        self._server: asyncio.Server | None = None

    async def start(self, path: Path) -> Path:
        """Listen on ``path`` (a stale socket left by a killed meter is replaced)."""
        _remove_stale_socket(path)
        with unix_socket_address(path) as address:
            # Created owner-only from the start: no window in which others could connect.
            previous = os.umask(0o177)
            try:
                self._server = await asyncio.start_unix_server(
                    self._serve, path=address, limit=MAX_REQUEST_LENGTH
                )
            finally:
                os.umask(previous)
        os.chmod(path, 0o600)
        self.path = path
        log.info("test clock control socket at %s", path)
        return path

    def close(self) -> None:
        if self._server is not None:
            self._server.close()

    async def wait_closed(self) -> None:
        if self._server is not None:
            await self._server.wait_closed()
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    def handle(self, line: bytes) -> dict[str, Any]:
        """Answer one request line (public for tests that need no socket)."""
        try:
            request = json.loads(line)
        except (ValueError, UnicodeDecodeError) as error:
            return {"ok": False, "error": f"not JSON: {error}"}
        if not isinstance(request, dict):
            return {"ok": False, "error": "a request is a JSON object with an 'op'"}
        operation = request.get("op")
        try:
            if operation == "get":
                pass
            elif operation == "set":
                self.clock.set_utc(_parse_utc(request.get("utc")))
                self.on_moved()
            elif operation == "advance":
                self.clock.advance(_parse_seconds(request.get("seconds")))
                self.on_moved()
            else:
                return {"ok": False, "error": f"unknown op {operation!r}: use get, set, advance"}
        except (ValueError, OverflowError) as error:
            return {"ok": False, "error": str(error)}
        return {"ok": True, **self.reading()}

    def reading(self) -> dict[str, Any]:
        reading: dict[str, Any] = {
            "utc": self.clock.utc().isoformat(),
            "monotonic": self.clock.monotonic(),
        }
        if self.meter_utc is not None:
            reading["meter_utc"] = self.meter_utc().isoformat()
        return reading

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    line = await reader.readline()
                except ValueError:  # longer than MAX_REQUEST_LENGTH
                    answer: dict[str, Any] = {"ok": False, "error": "request line too long"}
                    writer.write(json.dumps(answer).encode() + b"\n")
                    break
                if not line:
                    break
                if not line.strip():
                    continue
                try:
                    answer = self.handle(line)
                except Exception:
                    log.exception("test clock request failed")
                    answer = {"ok": False, "error": "internal error (see the meter's log)"}
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


def _parse_utc(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("'utc' must be an ISO-8601 string with a UTC offset")
    when = datetime.fromisoformat(value)
    if when.tzinfo is None:
        raise ValueError(f"'utc' {value!r} has no UTC offset (add Z or +00:00)")
    return when.astimezone(UTC)


def _parse_seconds(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("'seconds' must be a number")
    seconds = float(value)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError("'seconds' must be finite and >= 0 (use set to move the clock back)")
    return seconds


def parse_start(text: str) -> datetime:
    """A ``--test-clock`` start time; ValueError with a readable message if it is not one."""
    return _parse_utc(text)


def stored_test_clock_time(state: StateStore) -> datetime | None:
    raw = state.get(TEST_CLOCK_KEY)
    if raw is None or len(raw) != _MICROSECONDS.size:
        return None
    (microseconds,) = _MICROSECONDS.unpack(raw)
    return _EPOCH + timedelta(microseconds=microseconds)


def store_test_clock_time(state: StateStore, clock: TestClock) -> None:
    microseconds = (clock.utc() - _EPOCH) // timedelta(microseconds=1)
    state.put(TEST_CLOCK_KEY, _MICROSECONDS.pack(microseconds))


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


def _remove_stale_socket(path: Path) -> None:
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise FileExistsError(f"{path} exists and is not a socket; remove it")
    path.unlink()
