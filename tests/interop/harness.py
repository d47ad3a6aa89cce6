"""Meter processes for the interop tests: the real ``securemeter meter serve`` on a test clock."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from meter_process import MeterProcess

# The meter's test clock stands still unless a test moves it: clock reads are exact.
TEST_CLOCK = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LOAD_PROFILE_PERIOD = 900  # seconds (the demo meter's quarter-hour load profile)


@contextlib.contextmanager
def running_meter(directory: Path, config: str | None = None) -> Iterator[MeterProcess]:
    """A meter on ``directory`` with the demo roles, or with the roles of TOML ``config``."""
    config_path = None
    if config is not None:
        config_path = directory / "roles.toml"
        config_path.write_text(config, encoding="utf-8")
    with MeterProcess(
        directory / "state", config=config_path, test_clock=TEST_CLOCK.isoformat()
    ) as meter:
        yield meter


def client_entry(meter: MeterProcess, sap: int) -> dict[str, Any]:
    """The keys.json entry of the role with client SAP ``sap``."""
    for entry in meter.keys["clients"]:
        if entry["sap"] == sap:
            return dict(entry)
    raise LookupError(f"no role with SAP {sap} in keys.json")
