"""``securemeter meter export-keys``: one role's credentials from the store, as a JSON entry.

The entry has the format of one ``clients`` element of keys.json. It goes to stdout, or with
``--out`` to a new file of mode 0600. Secrets never go to stderr or the log.

If no meter runs on the state directory, the store is opened for writing and the export is
recorded in the meter's security log. If a meter runs (it holds the lock), the store is read
without the lock and the export cannot be recorded: the command says so on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from securemeter.cli._common import (
    CliError,
    ExitCode,
    has_state,
    load_meter_config,
    open_state,
)
from securemeter.errors import StorageError
from securemeter.meter.credentials import (
    RoleCredentials,
    delivery_entry,
    load_credentials,
    write_secret_file,
)
from securemeter.meter.identity import IDENTITY_KEY
from securemeter.meter.logbook import SECURITY, EventCode
from securemeter.meter.timekeeping import HostTime, MeterTime
from securemeter.storage import LogRecord, SqliteMeterStore, open_store_readonly

# Manufacturer-specific event code of the security log (after EventCode's 200-207): a role's
# credentials were exported through the CLI.


def export_keys(arguments: argparse.Namespace) -> int:
    state_dir = Path(arguments.state).absolute()
    if not has_state(state_dir):
        raise CliError(
            f"{state_dir} holds no meter state: run `securemeter meter serve --state "
            f"{state_dir}` once first (it creates the identity and the credentials)"
        )
    config = load_meter_config(arguments.config)
    role = config.role(arguments.sap)
    if role is None:
        known = ", ".join(str(r.sap) for r in config.roles)
        raise CliError(
            f"no role has client SAP {arguments.sap} in the "
            f"{'given' if arguments.config else 'demo'} configuration; known SAPs: {known}",
            ExitCode.USAGE,
        )
    store, recordable = _open(state_dir)
    try:
        if store.state.get(IDENTITY_KEY) is None:
            raise CliError(f"{state_dir} has no meter identity yet: start the meter once")
        credentials = load_credentials(role, store.keys)
        if not _complete(credentials, needs_keys=role.has_keys, needs_password=role.has_password):
            raise CliError(
                f"the store holds no credentials for SAP {role.sap} ({role.name}) yet: start "
                "the meter once with this configuration, then export again"
            )
        entry = delivery_entry(role, credentials)
        out = Path(arguments.out) if arguments.out else None
        if out is not None and out.exists():
            raise CliError(f"{out} exists: choose a new file (keys are never overwritten)")
        if recordable:
            # Recorded before the secrets leave: an export that cannot be logged does not happen.
            _record(store, role.sap, role.name, "stdout" if out is None else "file")
        if out is not None:
            try:
                write_secret_file(out, entry)
            except OSError as error:
                raise CliError(f"cannot write {out}: {error.strerror or error}") from None
            summary = {
                "event": "keys-exported",
                "sap": role.sap,
                "role": role.name,
                "out": str(out.absolute()),
                "recorded": recordable,
            }
            sys.stdout.write(json.dumps(summary) + "\n")
        else:
            sys.stdout.write(json.dumps(entry, indent=2) + "\n")
        sys.stdout.flush()
        if not recordable:
            sys.stderr.write(
                "note: a meter is running on this state directory, so the export was read "
                "without its lock and is NOT recorded in its security log\n"
            )
    finally:
        store.close()
    return ExitCode.OK


def _open(state_dir: Path) -> tuple[SqliteMeterStore, bool]:
    """The store and whether the export can be recorded (opened for writing)."""
    try:
        return open_state(state_dir), True
    except CliError as error:
        if error.code is not ExitCode.STATE_LOCKED:
            raise
    try:
        return open_store_readonly(state_dir), False
    except StorageError as error:
        raise CliError(f"cannot read {state_dir}: {error}") from None


def _complete(credentials: RoleCredentials, *, needs_keys: bool, needs_password: bool) -> bool:
    if needs_password and credentials.password is None:
        return False
    return not needs_keys or None not in (
        credentials.encryption_key,
        credentials.authentication_key,
        credentials.key_encryption_key,
    )


def _record(store: SqliteMeterStore, sap: int, role: str, destination: str) -> None:
    now = MeterTime(HostTime(), store.state).now_utc()
    store.logs.append(
        SECURITY,
        LogRecord(
            int(now.timestamp() * 1000),
            int(EventCode.KEYS_EXPORTED),
            {"sap": sap, "role": role, "destination": destination, "interface": "cli"},
        ),
    )
