"""``securemeter meter init --state DIR [--config FILE] --import-keys FILE``: import role secrets.

Imports the secrets of a key delivery file (the keys.json format) once into a state directory,
before the meter first runs with them: only for roles of the configuration, only for roles the
store holds no secrets of yet (the store is authoritative afterwards), never secrets the store
held before. It creates the meter's identity as ``serve`` would and marks the key delivery as
done, so ``serve`` never writes the imported secrets to DIR/keys.json (the operator has them);
roles not in the file get their secrets at the meter's first start, delivered with
``export-keys``. Recorded in the security log, without material. Exit codes: 0 imported,
1 refused (secrets exist or were used before), 2 usage (bad option, configuration or key
file), 3 a meter runs on DIR.
"""

from __future__ import annotations

import argparse

# The command's module is imported when the parser is built: keep the heavy imports inside.

KEY_FILE_LIMIT = 1 << 20  # a key file for 14 roles is a few kilobytes


def add_init_command(meter_commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``init`` under ``securemeter meter``."""
    init_parser = meter_commands.add_parser(
        "init",
        help="import role secrets once into a new state directory",
        description=(
            "Import the client roles' secrets of a key delivery file (keys.json format) into "
            "a state directory before the meter runs with them, once: refused if the store "
            "already holds secrets of one of those roles. Creates the meter identity; serve "
            "then does not write keys.json. Exit code 3 if a meter runs on DIR."
        ),
    )
    init_parser.add_argument("--state", metavar="DIR", required=True, help="state directory")
    init_parser.add_argument(
        "--config", metavar="FILE", help="the TOML file the meter runs with (default: demo)"
    )
    init_parser.add_argument(
        "--import-keys",
        metavar="FILE",
        required=True,
        help='key delivery file: {"clients": [{"sap", "password", "ek", "ak", "kek"}, ...]}',
    )
    init_parser.set_defaults(command=init)


def init(arguments: argparse.Namespace) -> int:
    import json
    import os
    import sys
    from pathlib import Path

    from securemeter.cli._common import CliError, ExitCode, load_meter_config, open_state
    from securemeter.cli.serve import KEYS_DELIVERED_KEY
    from securemeter.meter.credentials import (
        CredentialsError,
        import_credentials,
        import_problems,
        parse_key_file,
    )
    from securemeter.meter.identity import load_or_create_identity
    from securemeter.meter.logbook import Logbook
    from securemeter.meter.timekeeping import HostTime, MeterTime

    config = load_meter_config(arguments.config)
    key_path = Path(arguments.import_keys)
    try:
        with key_path.open("rb") as key_file:
            raw = key_file.read(KEY_FILE_LIMIT + 1)
    except OSError as error:
        raise CliError(
            f"cannot read the key file {key_path}: {error.strerror or error}", ExitCode.USAGE
        ) from None
    if len(raw) > KEY_FILE_LIMIT:
        raise CliError(f"{key_path}: larger than {KEY_FILE_LIMIT} octets", ExitCode.USAGE)
    try:
        imported = parse_key_file(raw.decode("utf-8"), config)
    except UnicodeDecodeError:
        raise CliError(f"{key_path}: $: not UTF-8 text", ExitCode.USAGE) from None
    except CredentialsError as error:
        # Never echo values: the message names the JSON path, not the secret.
        raise CliError(f"{key_path}: {error}", ExitCode.USAGE) from None

    state_dir = Path(arguments.state).absolute()
    store = open_state(state_dir)  # exit 3 while a meter runs on it
    try:
        problems = import_problems(store.keys, imported)
        if problems:
            raise CliError(
                f"nothing imported into {state_dir}: " + "; ".join(problems),
                ExitCode.RUNTIME_ERROR,
            )
        identity, _ = load_or_create_identity(store.state, os.urandom)
        # Before any secret: serve must never write the imported secrets to keys.json.
        store.state.put(KEYS_DELIVERED_KEY, b"1", durable=True)
        time = MeterTime(HostTime(), store.state)
        logbook = Logbook(
            store,
            lambda: int(time.now_utc().timestamp() * 1000),
            monotonic=time.monotonic,
            settings=config.logs,
        )
        import_credentials(store, logbook, imported)
    finally:
        store.close()
    done = {item.role.sap for item in imported}
    summary = {
        "event": "keys-imported",
        "state": str(state_dir),
        "serial": identity.serial,
        "system_title": identity.system_title.hex(),
        "imported": [{"sap": item.role.sap, "role": item.role.name} for item in imported],
        # Generated at the meter's first start; deliver them with export-keys.
        "generated_at_start": [
            {"sap": role.sap, "role": role.name}
            for role in config.roles
            if role.sap not in done and (role.has_keys or role.has_password)
        ],
    }
    sys.stdout.write(json.dumps(summary) + "\n")
    sys.stdout.flush()
    return ExitCode.OK
