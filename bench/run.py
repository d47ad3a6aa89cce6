"""Benchmark: sequential GETs of the clock against the meter and against a floor server.

For each server (the securemeter demo meter, and bench/floor_server.py, a minimal asyncio
server that answers every wrapper frame with a fixed reply), one association is made, the
clock is read WARMUP times, then N times; the server's CPU time over the N requests comes
from /proc/PID/stat. Runs alternate between the two servers; the best of three counts.

Run: make bench   (or: .venv/bin/python bench/run.py --requests 20000)
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from securemeter.apdu.common import CosemAttributeDescriptor
from securemeter.apdu.get import GetRequestNormal
from securemeter.codec.obis import Obis
from securemeter.framing.wrapper import encode_wrapper
from securemeter.session.connection import AssociationProposal, Connection
from securemeter.session.state import Role

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time of all the process's threads in nanoseconds precision (schedstat), falling
    back to utime + stime in clock ticks where schedstat is missing."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            total += int((task / "schedstat").read_text().split()[0])
        return total / 1e9
    except (FileNotFoundError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def wait_for_file(path: Path, process: subprocess.Popen[bytes], timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear")
        time.sleep(0.05)
    return path.read_text()


def exchange(sock: socket.socket, frame: bytes) -> bytes:
    sock.sendall(frame)
    header = _read(sock, 8)
    return _read(sock, int.from_bytes(header[6:8], "big"))


def exchange_spinning(sock: socket.socket, frame: bytes) -> bytes:
    """``exchange`` with a client that polls without sleeping: waking a sleeping client is
    work the server's kernel does (and is billed for), and its cost on a virtual machine
    depends on how long the client slept (docs/PERFORMANCE.md)."""
    sock.sendall(frame)
    header = _read(sock, 8, socket.MSG_DONTWAIT)
    return _read(sock, int.from_bytes(header[6:8], "big"), socket.MSG_DONTWAIT)


def _read(sock: socket.socket, size: int, flags: int = 0) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        try:
            chunk = sock.recv(size - len(chunks), flags)
        except BlockingIOError:
            continue  # only with MSG_DONTWAIT: poll again
        if not chunk:
            raise ConnectionError("server closed the connection")
        chunks += chunk
    return bytes(chunks)


def measure(port: int, pid: int, requests: int, warmup: int) -> tuple[float, float]:
    """Return (requests per second, server CPU microseconds per request)."""
    headend = Connection(Role.HEADEND)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        aarq = headend.request_association(AssociationProposal())
        exchange(sock, encode_wrapper(16, 1, aarq))
        get = GetRequestNormal(
            0xC1, CosemAttributeDescriptor(8, Obis(0, 0, 1, 0, 0, 255), 2), None
        ).to_bytes()
        frame = encode_wrapper(16, 1, get)
        for _ in range(warmup):
            exchange(sock, frame)
        cpu_before = cpu_seconds(pid)
        start = time.perf_counter()
        for _ in range(requests):
            reply = exchange(sock, frame)
        elapsed = time.perf_counter() - start
        cpu = cpu_seconds(pid) - cpu_before
        assert reply[0] == 0xC4, reply.hex()
    return requests / elapsed, cpu / requests * 1e6


def start_meter(
    workdir: Path, extra_args: Sequence[str] = ()
) -> tuple[subprocess.Popen[bytes], int]:
    """The meter on a new state directory in ``workdir`` (``extra_args``: e.g. --config)."""
    ready = workdir / "ready.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "securemeter.cli.main",
            "meter",
            "serve",
            "--state",
            str(workdir / "state"),
            "--port",
            "0",
            "--hdlc-port",
            "0",
            "--ready-file",
            str(ready),
            "--log-level",
            "WARNING",
            *extra_args,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    info = json.loads(wait_for_file(ready, process))
    return process, int(info["tcp"]["port"])


def start_floor(workdir: Path, style: str) -> tuple[subprocess.Popen[bytes], int]:
    port_file = workdir / f"floor-{style}.port"
    script = str(ROOT / "bench" / "floor_server.py")
    process = subprocess.Popen([sys.executable, script, str(port_file), style])
    return process, int(wait_for_file(port_file, process))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    floors = ("floor-buffered", "floor-protocol", "floor-streams")
    names = ("meter", *floors)
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        servers = {
            "meter": start_meter(workdir),
            **{floor: start_floor(workdir, floor.removeprefix("floor-")) for floor in floors},
        }
        try:
            for _ in range(args.rounds):
                for name, (process, port) in servers.items():
                    results[name].append(measure(port, process.pid, args.requests, args.warmup))
        finally:
            for process, _ in servers.values():
                process.terminate()
                process.wait(timeout=30)
    best = {name: min(runs, key=lambda run: run[1]) for name, runs in results.items()}
    summary: dict[str, object] = {"requests": args.requests, "python": sys.version.split()[0]}
    for name in names:
        summary[name] = {
            "requests_per_second": round(best[name][0]),
            "cpu_us": round(best[name][1], 1),
        }
    ratios = {floor: round(best["meter"][1] / best[floor][1], 2) for floor in floors}
    summary["cpu_ratio"] = ratios
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"{'server':15} {'req/s':>8} {'CPU us/req':>11}")
    for name in names:
        rate, cpu = best[name]
        print(f"{name:15} {round(rate):>8} {cpu:>11.1f}")
    for floor, ratio in ratios.items():
        print(f"meter CPU / {floor} CPU = {ratio:.2f} (target <= 2.0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
