"""Micro-benchmark of the invocation-counter hot paths (not a test).

Measures nanoseconds per CounterStore.accept() and per next_outgoing() on the real store (a
memory-mapped file in a temporary state directory) and on the in-memory store, plus the cost
of one sync() (msync). Run: .venv/bin/python bench/storage_counters.py [iterations]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from securemeter.storage import MemoryStore, open_store
from securemeter.storage.base import MeterStore

KEY_ID = "sap1/guek/1"


def nanoseconds_per_call(call: Callable[[int], object], iterations: int) -> float:
    start = time.perf_counter_ns()
    for counter in range(1, iterations + 1):
        call(counter)
    return (time.perf_counter_ns() - start) / iterations


def measure(label: str, store: MeterStore, iterations: int) -> None:
    counters = store.counters
    counters.accept(KEY_ID, 0)  # warm the key's cache entry
    accept = nanoseconds_per_call(lambda counter: counters.accept(KEY_ID, counter), iterations)
    outgoing = nanoseconds_per_call(lambda _: counters.next_outgoing(KEY_ID), iterations)
    sync = nanoseconds_per_call(lambda _: counters.sync(), 100)
    print(
        f"{label:<28} accept {accept:8.0f} ns   next_outgoing {outgoing:8.0f} ns"
        f"   sync {sync / 1000:8.1f} us"
    )


def main() -> None:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    print(f"{iterations} calls each; next_outgoing includes one msync per block of 1000")
    with (
        tempfile.TemporaryDirectory() as temporary,
        open_store(Path(temporary) / "state", counter_block=1000) as store,
    ):
        measure("sqlite store (mmap cells)", store, iterations)
    measure("memory store", MemoryStore(counter_block=1000), iterations)


if __name__ == "__main__":
    main()
