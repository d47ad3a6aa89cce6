"""Child process for the crash tests: runs one scenario against a store until it is killed.

Usage: python crash_helper.py <state directory> <scenario>

Every value the store acknowledges is printed (and flushed) before the child uses it, so the
parent knows exactly what was acknowledged when SIGKILL arrived. A scenario that reaches its
end exits 0, which the parent treats as "the crash point never fired".
The "hold" scenario keeps the store open and obeys commands on stdin (for the lock and
concurrent-reader tests).
"""

from __future__ import annotations

import sys
from pathlib import Path

from securemeter.storage import AesGcmSealer, LogRecord, open_store

SEALING_KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
KEY_ID = "sap1/guek/1"
COUNTER_BLOCK = 4
ROUNDS = 40


def say(*values: object) -> None:
    print(*values, flush=True)


def main() -> int:
    directory, scenario = Path(sys.argv[1]), sys.argv[2]
    store = open_store(directory, sealer=AesGcmSealer(SEALING_KEY), counter_block=COUNTER_BLOCK)
    if scenario == "outgoing":
        for _ in range(ROUNDS):
            say(store.counters.next_outgoing(KEY_ID))
    elif scenario == "accept":
        for round_number in range(1, ROUNDS + 1):
            store.counters.accept(KEY_ID, 3 * round_number)
            say(3 * round_number)
    elif scenario == "log":
        store.logs.configure("standard", 1000)
        for round_number in range(ROUNDS):
            say(
                store.logs.append(
                    "standard", LogRecord(1000 + round_number, 7, {"n": round_number})
                )
            )
    elif scenario == "state":
        for round_number in range(ROUNDS):
            value = f"settings version {round_number}".encode()
            store.state.put("settings", value)
            say(value.decode())
    elif scenario == "keys":
        for round_number in range(ROUNDS):
            material = bytes([round_number]) * 16
            store.keys.put_key("sap1", "global_unicast_encryption_key", material)
            say(material.hex())
    elif scenario == "transfer":
        store.transfers.begin("image-1", 16 * ROUNDS, 16, b"model-x 2.0")
        for number in range(ROUNDS):
            store.transfers.put_block("image-1", number, bytes([number]) * 16)
            say(number)
    elif scenario == "hold":
        store.logs.configure("standard", 100)
        say("ready", store.logs.append("standard", LogRecord(1, 1)))
        for line in sys.stdin:
            command, _, argument = line.strip().partition(" ")
            if command == "append":
                say(store.logs.append("standard", LogRecord(int(argument), 2)))
            elif command == "accept":
                store.counters.accept(KEY_ID, int(argument))
                say("accepted", argument)
            elif command == "slot":
                store.slots.set("energy", int(argument))
                say("slot", argument)
    else:
        raise SystemExit(f"unknown scenario {scenario!r}")
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
