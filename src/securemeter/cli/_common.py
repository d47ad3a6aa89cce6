"""What the commands share: exit codes, the error type, configuration and store opening."""

from __future__ import annotations

import fcntl
import logging
import os
import sys
from enum import IntEnum
from pathlib import Path

from securemeter.errors import StorageError
from securemeter.meter.config import MeterConfig, demo_config
from securemeter.storage import SqliteMeterStore, open_store
from securemeter.storage.sqlite import DATABASE_FILE, LOCK_FILE

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ExitCode(IntEnum):
    OK = 0
    RUNTIME_ERROR = 1
    USAGE = 2
    STATE_LOCKED = 3


class CliError(Exception):
    """A failure the user can act on: the message says what to do; ``code`` is the exit code."""

    def __init__(self, message: str, code: ExitCode = ExitCode.RUNTIME_ERROR) -> None:
        super().__init__(message)
        self.code = code


def configure_logging(level: str) -> None:
    logging.basicConfig(stream=sys.stderr, level=level.upper(), format=LOG_FORMAT, force=True)


def load_meter_config(path: str | None) -> MeterConfig:
    """The demo configuration, or the roles of a TOML file (docs/CONFIGURATION.md)."""
    if path is None:
        return demo_config()
    try:
        from securemeter.meter.config_file import ConfigError, load_config
    except ImportError:
        raise CliError(
            "this build cannot read configuration files (securemeter.meter.config_file is "
            "missing); run without --config to use the demo configuration",
            ExitCode.USAGE,
        ) from None
    try:
        return load_config(Path(path))
    except ConfigError as error:
        raise CliError(f"configuration not usable: {error}", ExitCode.USAGE) from None


def is_locked(directory: Path) -> bool:
    """Whether a process holds the state directory's lock (a running meter)."""
    try:
        descriptor = os.open(directory / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(descriptor)  # releases our probe lock, if we got it
    return False


def has_state(directory: Path) -> bool:
    return (directory / DATABASE_FILE).is_file()


def open_state(directory: Path) -> SqliteMeterStore:
    """Open the store for writing; exit code 3 if another process holds it."""
    try:
        return open_store(directory)
    except StorageError as error:
        if is_locked(directory):
            raise CliError(
                f"state directory {directory} is in use by process {_holder(directory)}: only "
                "one meter may run on a state directory; stop that meter first or choose "
                "another --state",
                ExitCode.STATE_LOCKED,
            ) from None
        raise CliError(f"cannot open the state directory {directory}: {error}") from None


def _holder(directory: Path) -> str:
    """The pid the lock holder wrote into the lock file, or "unknown"."""
    try:
        text = (directory / LOCK_FILE).read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return "unknown"
    return text if text.isdigit() else "unknown"
