"""Energy registers never go backwards across kill -9 relative to any value already answered.

A real meter process on the test clock is read over the wrapper while the clock advances (so
energy accrues), killed with SIGKILL right after an answered read (or after a further clock
move that nobody read), restarted on the same state directory, and read again: the first value
after the restart is at least the last value the meter ever answered. Rounds, clock steps and
kill moments come from a seeded generator, so every run is the same.
"""

from __future__ import annotations

import random
from pathlib import Path

from meter_process import MeterProcess, WrapperClient
from securemeter.codec.axdr import DoubleLongUnsigned

REGISTER_CLASS = 3
VALUE = 2
ENERGY = {"import": "1.0.1.8.0.255", "export": "1.0.2.8.0.255"}
SEED = 20260301
ROUNDS = 4
READS_PER_ROUND = (2, 5)
MAX_STEP = 110  # seconds per clock move; the TCP inactivity time-out is 120 s
# Midday UTC: both the consumption curve and the solar production are above zero.
START = "2026-06-01T11:00:00+00:00"

CONFIG = """
[meter]
load_profile_history_days = 0

[[roles]]
sap = 16
name = "public"
mechanism = "none"
security = "none"
interfaces = ["tcp"]

[[roles.objects]]
obis = "1.0.1.8.0.255"
read = "all"

[[roles.objects]]
obis = "1.0.2.8.0.255"
read = "all"
"""


def read_energy(client: WrapperClient) -> dict[str, int]:
    values = {}
    for name, obis in ENERGY.items():
        value = client.get(REGISTER_CLASS, obis, VALUE)
        assert isinstance(value, DoubleLongUnsigned), value
        values[name] = value.value
    return values


def test_energy_never_goes_backwards_across_kill_9(tmp_path: Path) -> None:
    generator = random.Random(SEED)
    config = tmp_path / "roles.toml"
    config.write_text(CONFIG, encoding="utf-8")
    meter = MeterProcess(tmp_path / "state", config=config, test_clock=START, hdlc=False)
    answered: dict[str, int] | None = None  # the last values the meter answered
    increases = 0
    try:
        meter.start()
        meter.test_clock = ""  # later starts resume the stored test clock
        for _ in range(ROUNDS):
            assert meter.clock is not None
            with WrapperClient(meter.host, meter.tcp_port) as client:
                client.associate()
                first = read_energy(client)
                if answered is not None:
                    for name, value in first.items():
                        assert value >= answered[name], (
                            f"{name} energy went backwards across kill -9: "
                            f"answered {answered[name]} Wh, then {value} Wh after the restart"
                        )
                answered = first
                for _ in range(generator.randint(*READS_PER_ROUND)):
                    # Consumption is at least 120 W, so >= 2 Wh per step; steps stay below
                    # the 120 s inactivity time-out, so the association stays open.
                    meter.clock.advance(generator.randint(60, MAX_STEP))
                    values = read_energy(client)
                    assert values["import"] > answered["import"], (values, answered)
                    assert values["export"] >= answered["export"], (values, answered)
                    increases += 1
                    answered = values
                if generator.random() < 0.5:
                    # Energy accrued after the last answer may be lost, never what was answered.
                    meter.clock.advance(generator.randint(1, MAX_STEP))
                meter.kill()  # with the association still open: no release, no power-down
            assert meter.returncode == -9
            meter.start()
        assert increases >= ROUNDS * READS_PER_ROUND[0]
        with WrapperClient(meter.host, meter.tcp_port) as client:
            client.associate()
            final = read_energy(client)
        assert answered is not None
        assert all(final[name] >= answered[name] for name in ENERGY), (final, answered)
        meter.stop()
    finally:
        meter.kill()
