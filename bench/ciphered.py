"""Benchmark: meter CPU per ciphered GET and per HLS-GMAC association, beside a plain GET and
the floor of bench/run.py.

One meter process serves a public client (no security) and a reader (HLS-GMAC, authenticated
and encrypted requests, general-glo-ciphering). Measured, as in bench/run.py, from the meter's
/proc CPU time over N operations after a warm-up; each figure is the best of the rounds, and
the ciphered/plain ratio is the median of the rounds' own ratios (plain and ciphered GETs are
measured back to back in every round, in alternating order):

* plain GET: the clock, read by the public client (bench/run.py's workload);
* ciphered GET: the clock, read by the reader inside one HLS-GMAC association; every request
  carries a fresh invocation counter (the frames are built before the clock starts);
* HLS association: AARQ (ciphered initiate request) .. AARE .. pass 3 .. pass 4 .. RLRQ/RLRE on
  one TCP connection, with the meter's log records and counter writes;
* the floor: bench/floor_server.py answering the plain GET (asyncio BufferedProtocol, as the
  meter's transports).

``--profile`` runs the same ciphered GETs and associations in this process (a Meter on a real
store, APDUs handed to a MeterSession, no transport) under cProfile and prints where the time
goes.

Run: .venv/bin/python bench/ciphered.py [--requests 20000] [--associations 500] [--profile]
     [--spinning-client] [--json]
Targets (issue 6): ciphered GET <= 1.3 x plain GET; HLS association <= 2 ms meter CPU.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from run import cpu_seconds, exchange, exchange_spinning, measure, start_floor, start_meter

from securemeter.apdu.common import CosemAttributeDescriptor
from securemeter.apdu.enums import AuthenticationMechanism
from securemeter.apdu.get import GetRequestNormal
from securemeter.codec.obis import Obis
from securemeter.framing.wrapper import encode_wrapper
from securemeter.meter.config import Interface
from securemeter.meter.config_file import parse_config
from securemeter.meter.credentials import delivery_entry
from securemeter.meter.identity import load_or_create_identity
from securemeter.meter.meter import Meter, MeterSession
from securemeter.meter.timekeeping import HostTime, MeterTime
from securemeter.security.policy import request_satisfies
from securemeter.session.connection import AssociationProposal, Connection
from securemeter.session.events import AssociationAccepted, Authenticated, Event, Reply
from securemeter.session.protection import CipherForm, SecurityContext, decipher, encipher
from securemeter.session.state import Role
from securemeter.storage import open_store

READER = 1
PUBLIC = 16
BLOCK = 250  # requests of one kind in a row (see measure_gets)
GET_RESPONSE = 0xC4
CLIENT_TITLE = b"BENCH001"
GENERAL_GLO_CIPHERING = 0xDB
ROLES = """
[meter]
load_profile_history_days = 1

[[roles]]
sap = 16
name = "public"
mechanism = "none"
security = "none"
interfaces = ["tcp"]

[[roles.objects]]
obis = "0.0.1.0.0.255"
read = "all"

[[roles]]
sap = 1
name = "reader"
mechanism = "hls-gmac"
security = "auth-enc"
interfaces = ["tcp"]

[[roles.objects]]
obis = "0.0.1.0.0.255"
read = "all"
"""
CLOCK_GET = GetRequestNormal(0xC1, CosemAttributeDescriptor(8, Obis(0, 0, 1, 0, 0, 255), 2), None)


class HeadEnd:
    """The reader's head-end: keys from keys.json and one counter across its associations."""

    def __init__(self, keys: dict[str, str]) -> None:
        self.encryption_key = bytes.fromhex(keys["ek"])
        self.authentication_key = bytes.fromhex(keys["ak"])
        self.counter = 0
        self.connection = Connection(Role.HEADEND)

    def _next(self) -> int:
        self.counter += 1
        return self.counter

    def proposal(self) -> AssociationProposal:
        security = SecurityContext(
            local_system_title=CLIENT_TITLE,
            peer_system_title=None,
            encryption_key=self.encryption_key,
            authentication_key=self.authentication_key,
            accept_incoming=lambda counter: None,
            last_incoming=lambda: None,
            next_outgoing=self._next,
        )
        return AssociationProposal(
            mechanism=AuthenticationMechanism.HIGH_GMAC,
            security=security,
            cipher_form=CipherForm.GENERAL_GLOBAL,
            security_control=0x30,
        )

    def associate(self, send: Callable[[bytes], bytes]) -> None:
        """AARQ .. pass 4 through ``send`` (one APDU in, the meter's answer out)."""
        self.connection = Connection(Role.HEADEND)
        accepted = self.connection.receive(
            send(self.connection.request_association(self.proposal()))
        )
        assert isinstance(accepted, AssociationAccepted) and accepted.authentication_pending
        done = self.connection.receive(send(self.connection.authenticate()))
        assert isinstance(done, Authenticated), done

    def release(self, send: Callable[[bytes], bytes]) -> None:
        event: Event = self.connection.receive(send(self.connection.release()))
        assert not isinstance(event, Reply)

    def get_frames(self, count: int) -> list[bytes]:
        """``count`` ciphered clock GETs, each under its own counter."""
        return [self.connection.send_request(CLOCK_GET) for _ in range(count)]


def wrapper_sender(sock: socket.socket, client_sap: int) -> Callable[[bytes], bytes]:
    return lambda apdu: exchange(sock, encode_wrapper(client_sap, 1, apdu))


@contextmanager
def connected(port: int) -> Iterator[socket.socket]:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        yield sock


def measure_gets(
    port: int,
    pid: int,
    head: HeadEnd,
    blocks: int,
    block_size: int,
    warmup: int,
    exchange_with: Callable[[socket.socket, bytes], bytes] = exchange,
) -> dict[str, tuple[float, float]]:
    """Plain and ciphered GETs in alternating blocks on two open connections: per kind,
    (requests per second, meter CPU microseconds per request).

    The shared machine's speed drifts over seconds; blocks of a few hundred requests, taken
    in turn (plain-ciphered, then ciphered-plain), see the same drift, so the ratio of the
    two sums is fair even when the absolute figures move. ``exchange_with`` sends a frame and
    reads the answer (``exchange_spinning``: a client that polls without sleeping)."""
    plain = encode_wrapper(PUBLIC, 1, CLOCK_GET.to_bytes())
    cpu = {"plain GET": 0.0, "ciphered GET": 0.0}
    elapsed = {"plain GET": 0.0, "ciphered GET": 0.0}
    with connected(port) as public, connected(port) as reader:
        aarq = Connection(Role.HEADEND).request_association(AssociationProposal())
        exchange(public, encode_wrapper(PUBLIC, 1, aarq))
        send = wrapper_sender(reader, READER)
        head.associate(send)
        frames = [
            encode_wrapper(READER, 1, frame)
            for frame in head.get_frames(warmup + blocks * block_size)
        ]
        for frame in frames[:warmup]:
            exchange(public, plain)
            exchange(reader, frame)
        position = warmup
        for block in range(blocks):
            order = ["plain GET", "ciphered GET"]
            if block % 2:
                order.reverse()
            for name in order:
                cpu_before = cpu_seconds(pid)
                start = time.perf_counter()
                if name == "plain GET":
                    for _ in range(block_size):
                        answer = exchange_with(public, plain)
                    assert answer[0] == GET_RESPONSE, answer.hex()
                else:
                    for frame in frames[position : position + block_size]:
                        answer = exchange_with(reader, frame)
                    position += block_size
                    assert answer[0] == GENERAL_GLO_CIPHERING, answer.hex()
                elapsed[name] += time.perf_counter() - start
                cpu[name] += cpu_seconds(pid) - cpu_before
        head.release(send)
    requests = blocks * block_size
    return {name: (requests / elapsed[name], cpu[name] / requests * 1e6) for name in cpu}


def measure_associations(
    port: int, pid: int, head: HeadEnd, associations: int, warmup: int
) -> tuple[float, float]:
    """(associations per second, meter CPU microseconds per HLS-GMAC association)."""
    with connected(port) as sock:
        send = wrapper_sender(sock, READER)
        for _ in range(warmup):
            head.associate(send)
            head.release(send)
        cpu_before = cpu_seconds(pid)
        start = time.perf_counter()
        for _ in range(associations):
            head.associate(send)
            head.release(send)
        elapsed = time.perf_counter() - start
        cpu = cpu_seconds(pid) - cpu_before
    return associations / elapsed, cpu / associations * 1e6


# ---------------------------------------------------------------------------- profile


def profile(requests: int, associations: int, workdir: Path) -> None:
    """The ciphered GETs and the associations in this process, under cProfile."""
    state = workdir / "profile-state"
    state.mkdir(mode=0o700)
    store = open_store(state)
    identity, _ = load_or_create_identity(store.state, os.urandom)
    config = parse_config(ROLES, source="bench")
    meter = Meter(
        config=config,
        store=store,
        time=MeterTime(HostTime(), store.state),
        identity=identity,
        random_bytes=os.urandom,
    )
    meter.power_up()
    role = config.role(READER)
    assert role is not None
    keys = delivery_entry(role, meter.credentials[READER])
    head = HeadEnd({"ek": str(keys["ek"]), "ak": str(keys["ak"])})
    session = meter.new_session(Interface.TCP, "127.0.0.1:1")

    def send(apdu: bytes) -> bytes:
        output = session.receive(READER, 1, apdu)
        assert output.data is not None
        return output.data

    def ciphered_gets() -> None:
        for frame in frames:
            send(frame)

    def associations_and_releases() -> None:
        for _ in range(associations):
            head.associate(send)
            head.release(send)

    head.associate(send)
    frames = head.get_frames(requests)
    run_profiled("ciphered GET", ciphered_gets, requests)
    breakdown(meter, session, head, requests)
    head.release(send)
    run_profiled("HLS association", associations_and_releases, associations)
    meter.power_down()
    store.close()


def breakdown(meter: Meter, session: MeterSession, head: HeadEnd, requests: int) -> None:
    """Without the profiler: a plain and a ciphered GET through the session, and the steps
    a ciphered GET adds, each timed on its own (microseconds, best of three)."""

    public = meter.new_session(Interface.TCP, "127.0.0.1:2")
    public.receive(16, 1, Connection(Role.HEADEND).request_association(AssociationProposal()))
    plain = CLOCK_GET.to_bytes()
    security = session.connection.security
    assert security is not None
    frame = head.get_frames(1)[0]
    answer = session.receive(READER, 1, frame).data
    assert answer is not None
    response = decipher(answer, head.connection.security).apdu  # type: ignore[arg-type]
    counters = meter.store.counters
    key_id = meter.counter_key(meter.config.role(READER))  # type: ignore[arg-type]
    accepted = iter(range(10**9, 2 * 10**9))
    policy = meter.key_management.policy(meter.config.role(READER))  # type: ignore[arg-type]
    frames = iter(head.get_frames(3 * requests))
    steps: dict[str, Callable[[], object]] = {
        "plain GET (session)": lambda: public.receive(16, 1, plain),
        "ciphered GET (session)": lambda: session.receive(READER, 1, next(frames)),
        "  decipher request": lambda: decipher(frame, security),
        "  policy check": lambda: request_satisfies(policy, 0x30),
        "  accept counter": lambda: counters.accept(key_id, next(accepted)),
        "  encipher answer": lambda: encipher(response, security, CipherForm.GENERAL_GLOBAL, 0x30),
    }
    print("\n=== without the profiler, in this process (us per call, best of 3) ===")
    for name, step in steps.items():
        best = min(_per_call(step, requests) for _ in range(3))
        print(f"{name:26} {best:6.2f}")
    head.counter = next(accepted)  # the head-end goes on above what was accepted here


def _per_call(step: Callable[[], object], count: int) -> float:
    start = time.process_time()
    for _ in range(count):
        step()
    return (time.process_time() - start) / count * 1e6


def run_profiled(name: str, work: Callable[[], None], count: int) -> None:
    profiler = cProfile.Profile()
    start = time.process_time()
    profiler.runcall(work)
    cpu = time.process_time() - start
    print(f"\n=== {name}: {cpu / count * 1e6:.1f} us CPU each, under cProfile ===")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(18)


# ---------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--associations", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--profile", action="store_true", help="profile in-process instead")
    parser.add_argument(
        "--spinning-client",
        action="store_true",
        help="GET clients poll without sleeping (the meter's kernel then wakes nobody)",
    )
    args = parser.parse_args()
    warmup = max(args.requests // 10, 1)
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        if args.profile:
            profile(args.requests // 4, args.associations // 4, workdir)
            return 0
        config = workdir / "roles.toml"
        config.write_text(ROLES, encoding="utf-8")
        meter, port = start_meter(workdir, ["--config", str(config)])
        floor, floor_port = start_floor(workdir, "buffered")
        keys = json.loads((workdir / "state" / "keys.json").read_text(encoding="utf-8"))
        reader = next(entry for entry in keys["clients"] if entry["sap"] == READER)
        head = HeadEnd(reader)
        runs: dict[str, list[tuple[float, float]]] = {
            "plain GET": [],
            "ciphered GET": [],
            "HLS association": [],
            "floor": [],
        }
        ratios: list[float] = []
        try:
            for _ in range(args.rounds):
                measured = measure_gets(
                    port,
                    meter.pid,
                    head,
                    args.requests // BLOCK,
                    BLOCK,
                    warmup,
                    exchange_spinning if args.spinning_client else exchange,
                )
                for name, result in measured.items():
                    runs[name].append(result)
                ratios.append(measured["ciphered GET"][1] / measured["plain GET"][1])
                runs["HLS association"].append(
                    measure_associations(
                        port, meter.pid, head, args.associations, args.associations // 10
                    )
                )
                runs["floor"].append(measure(floor_port, floor.pid, args.requests, warmup))
        finally:
            for process in (meter, floor):
                process.terminate()
                process.wait(timeout=30)
    best = {name: min(results, key=lambda run: run[1]) for name, results in runs.items()}
    ratio = statistics.median(ratios)
    association_ms = best["HLS association"][1] / 1000
    if args.json:
        summary: dict[str, object] = {
            name: {"per_second": round(rate), "cpu_us": round(cpu, 1)}
            for name, (rate, cpu) in best.items()
        }
        summary["ciphered_over_plain"] = round(ratio, 2)
        summary["ciphered_over_plain_per_round"] = [round(value, 2) for value in ratios]
        summary["requests"] = args.requests
        summary["spinning_client"] = args.spinning_client
        summary["associations"] = args.associations
        summary["python"] = sys.version.split()[0]
        print(json.dumps(summary))
        return 0
    print(f"{'operation':16} {'per s':>8} {'meter CPU us':>13}")
    for name, (rate, cpu) in best.items():
        print(f"{name:16} {round(rate):>8} {cpu:>13.1f}")
    per_round = ", ".join(f"{value:.2f}" for value in ratios)
    print(f"ciphered GET / plain GET CPU = {ratio:.2f}, median of the rounds (target <= 1.3)")
    print(f"  per round: {per_round}")
    print(f"HLS-GMAC association = {association_ms:.2f} ms meter CPU (target <= 2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
