"""A simulated metrology engine for the demo meter: energy registers that only move forward.

The load is synthetic and deterministic (documented in docs/DEMO_METER.md): consumption
follows a daily curve around 450 W, production a midday solar bump up to 1.5 kW, both as
functions of UTC time of day. Energy accumulates with *monotonic* time while the meter
runs (a stopped meter measures nothing) and lives in durable slots written before any value
is answered, so a value once read never goes backwards, not even across kill -9.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime

from securemeter.storage.base import Slots

IMPORT_SLOT = "energy.import_mwh"
EXPORT_SLOT = "energy.export_mwh"
INITIAL_IMPORT_WH = 1_234_567  # a demo meter arrives with some history
INITIAL_EXPORT_WH = 345_678


def import_power_w(when: datetime) -> float:
    hour = when.hour + when.minute / 60 + when.second / 3600
    return (
        450.0
        + 250.0 * math.sin(2 * math.pi * (hour - 9.0) / 24.0)
        + 80.0 * math.sin(2 * math.pi * hour / 6.0)
    )


def export_power_w(when: datetime) -> float:
    hour = when.hour + when.minute / 60 + when.second / 3600
    if not 6.0 <= hour <= 18.0:
        return 0.0
    return 1500.0 * math.sin(math.pi * (hour - 6.0) / 12.0)


def voltage_dv(when: datetime) -> int:
    """Phase voltage in decivolts (scaler -1)."""
    return 2300 + round(40 * math.sin(2 * math.pi * when.minute / 60))


class Metrology:
    def __init__(
        self,
        slots: Slots,
        now_utc: Callable[[], datetime],
        monotonic: Callable[[], float],
    ) -> None:
        self._slots = slots
        self._now_utc = now_utc
        self._monotonic = monotonic
        if IMPORT_SLOT not in slots.names():
            slots.set(IMPORT_SLOT, INITIAL_IMPORT_WH * 1000)
            slots.set(EXPORT_SLOT, INITIAL_EXPORT_WH * 1000)
            slots.sync()
        self._import_mwh = slots.get(IMPORT_SLOT)
        self._export_mwh = slots.get(EXPORT_SLOT)
        self._last = monotonic()

    def _advance(self) -> datetime:
        now = self._now_utc()
        current = self._monotonic()
        elapsed = max(0.0, current - self._last)
        self._last = current
        if elapsed:
            # mWh = W * s / 3.6; integer accumulation keeps the slots exact.
            self._import_mwh += int(import_power_w(now) * elapsed / 3.6)
            self._export_mwh += int(export_power_w(now) * elapsed / 3.6)
            self._slots.set(IMPORT_SLOT, self._import_mwh)
            self._slots.set(EXPORT_SLOT, self._export_mwh)
        return now

    def import_wh(self) -> int:
        self._advance()
        return self._import_mwh // 1000

    def export_wh(self) -> int:
        self._advance()
        return self._export_mwh // 1000

    def voltage_dv(self) -> int:
        return voltage_dv(self._now_utc())

    def current_ca(self) -> int:
        """Phase current in centiamperes (scaler -2), from the net power and voltage."""
        now = self._now_utc()
        watts = abs(import_power_w(now) - export_power_w(now))
        return round(watts / (voltage_dv(now) / 10) * 100)
