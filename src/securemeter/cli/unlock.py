"""``securemeter meter unlock --state DIR --interface tcp|optical``: lift a port lockout locally.

For an operator at the meter (docs/ACCESS.md). It works on a stopped meter only: it opens the
store for writing, which a running meter holds. If one runs, it exits with code 3 and says how
to lift the lockout instead (the lockout object's ``lift`` method over another interface, with
the management or security admin role). The lift is recorded in the security log and printed
as one JSON line.
"""

from __future__ import annotations

import argparse

# The command's module is imported when the parser is built: keep the heavy imports inside.

INTERFACE_NAMES = ("tcp", "optical")


def add_unlock_command(meter_commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``unlock`` under ``securemeter meter``."""
    unlock_parser = meter_commands.add_parser(
        "unlock",
        help="lift the port lockout of an interface (stopped meter)",
        description=(
            "Lift the port lockout of one interface in the state directory of a stopped meter "
            "and record it in the meter's security log. Exit code 3 if a meter runs on DIR: "
            "then lift it over another interface with the management or security admin role."
        ),
    )
    unlock_parser.add_argument("--state", metavar="DIR", required=True, help="state directory")
    unlock_parser.add_argument(
        "--interface",
        required=True,
        choices=INTERFACE_NAMES,
        help="the locked interface: tcp (the wrapper port) or optical (HDLC)",
    )
    unlock_parser.set_defaults(command=unlock)


def unlock(arguments: argparse.Namespace) -> int:
    import json
    import sys
    from pathlib import Path

    from securemeter.cli._common import CliError, ExitCode, has_state, open_state
    from securemeter.meter.config import Interface
    from securemeter.meter.lockout import lift_stored, lockout_name
    from securemeter.meter.logbook import SECURITY, EventCode
    from securemeter.meter.timekeeping import HostTime, MeterTime
    from securemeter.storage import LogRecord

    state_dir = Path(arguments.state).absolute()
    interface = Interface(arguments.interface)
    if not has_state(state_dir):
        raise CliError(f"{state_dir} holds no meter state: there is nothing to unlock")
    try:
        store = open_state(state_dir)
    except CliError as error:
        if error.code is not ExitCode.STATE_LOCKED:
            raise
        raise CliError(
            f"a meter is running on {state_dir}: unlock works on a stopped meter only. Stop "
            f"the meter first, or lift the lockout while it runs: method 1 (lift) of "
            f"{lockout_name(interface)} over another interface, with the management or "
            f"security admin role ({error})",
            ExitCode.STATE_LOCKED,
        ) from None
    try:
        before, was_locked = lift_stored(store.state, interface)
        now = MeterTime(HostTime(), store.state).now_utc()
        remaining_ms = round(before.remaining * 1000) if before is not None else None
        store.logs.append(
            SECURITY,
            LogRecord(
                int(now.timestamp() * 1000),
                int(EventCode.INTERFACE_LOCKOUT_LIFTED),
                {
                    "interface": interface.value,
                    "via": "cli",
                    "was_locked": int(was_locked),
                    "remaining_ms": remaining_ms,
                    "detail": None if before is not None else "unreadable state replaced",
                },
            ),
        )
    finally:
        store.close()
    summary = {
        "event": "unlocked",
        "interface": interface.value,
        "was_locked": was_locked,
        "remaining_seconds": None if before is None else round(before.remaining, 3),
        "lockout_count": None if before is None else before.lockout_count,
        "state_was_readable": before is not None,
    }
    sys.stdout.write(json.dumps(summary) + "\n")
    sys.stdout.flush()
    return ExitCode.OK
