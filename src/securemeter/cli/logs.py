"""``securemeter meter logs``: the event logs of a stopped or running meter.

The store is opened read-only (no lock, nothing changed; docs/DURABILITY.md), so this works
while the meter runs. Each entry shows its log, its 32-bit event counter, its time (UTC), its
event code and name, the number of events it stands for and its other fields; an aggregate
still counting shows as ``open``. Output is an aligned table, or JSON lines with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from securemeter.cli._common import CliError, ExitCode, has_state
from securemeter.meter.logbook import LOG_NAMES, EventCode
from securemeter.meter.logs.writer import counter_value, read_log
from securemeter.storage.base import FieldValue, MeterStore, StoredRecord

_COLUMNS = ("LOG", "COUNTER", "TIME (UTC)", "CODE", "EVENT", "COUNT", "FIELDS")


def add_logs_command(commands: Any) -> None:
    """Register ``logs`` on the ``meter`` subcommands (an argparse subparsers object)."""
    parser = commands.add_parser(
        "logs",
        help="print the event logs of a stopped or running meter",
        description=(
            "Print the event logs (standard, fraud, firmware, communication, security) of a "
            "meter's state directory, oldest first per log. Reads without the meter's lock, "
            "so the meter may be running. COUNTER is the log's 32-bit event counter, COUNT the "
            "number of events an entry stands for (an aggregated flood counts many)."
        ),
    )
    parser.add_argument(
        "--state",
        metavar="DIR",
        default="./meter-state",
        help="state directory (default: %(default)s)",
    )
    parser.add_argument(
        "--log", metavar="NAME", choices=LOG_NAMES, help=f"one log: {', '.join(LOG_NAMES)}"
    )
    parser.add_argument(
        "--since",
        metavar="T",
        type=_instant,
        help="only entries at or after T (ISO-8601, e.g. 2026-03-01T12:00:00Z; no zone = UTC)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.set_defaults(command=show_logs)


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO-8601 time such as 2026-03-01T12:00:00Z"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def show_logs(arguments: argparse.Namespace, out: TextIO | None = None) -> int:
    from securemeter.errors import StorageError
    from securemeter.storage import open_store_readonly

    out = out if out is not None else sys.stdout
    state_dir = Path(arguments.state).absolute()
    if not has_state(state_dir):
        raise CliError(
            f"{state_dir} holds no meter state: give the --state of a meter that has run "
            f"(`securemeter meter serve --state {state_dir}` creates it)"
        )
    try:
        store = open_store_readonly(state_dir)
    except StorageError as error:
        raise CliError(f"cannot read {state_dir}: {error}") from None
    try:
        since_ms = None if arguments.since is None else int(arguments.since.timestamp() * 1000)
        entries = list(_entries(store, [arguments.log] if arguments.log else LOG_NAMES, since_ms))
    except StorageError as error:
        raise CliError(f"cannot read the logs in {state_dir}: {error}") from None
    finally:
        store.close()
    if arguments.json:
        for log, record, is_open in entries:
            out.write(json.dumps(_as_json(log, record, is_open), ensure_ascii=False) + "\n")
    else:
        _write_table(out, [_as_row(log, record, is_open) for log, record, is_open in entries])
    out.flush()
    return ExitCode.OK


def _entries(
    store: MeterStore, logs: Iterable[str], since_ms: int | None
) -> Iterable[tuple[str, StoredRecord, bool]]:
    configured = set(store.logs.names())
    for log in logs:
        if log not in configured:
            continue  # the meter never wrote this log
        view = read_log(store, log, fallback_code=EventCode.REQUEST_REFUSED)
        for record in view.records:
            if since_ms is None or record.time_utc_ms >= since_ms:
                yield log, record, False
        aggregate = view.open_aggregate
        if aggregate is not None and (since_ms is None or aggregate.time_utc_ms >= since_ms):
            yield log, aggregate, True


def event_name(code: int) -> str:
    try:
        return EventCode(code).name.lower().replace("_", "-")
    except ValueError:
        return f"code-{code}"


def _time_text(time_utc_ms: int) -> str:
    instant = datetime.fromtimestamp(time_utc_ms / 1000, UTC)
    return instant.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _as_json(log: str, record: StoredRecord, is_open: bool) -> dict[str, object]:
    return {
        "log": log,
        "counter": counter_value(record.sequence),
        "event_number": record.sequence,
        "time": _time_text(record.time_utc_ms),
        "code": record.event_code,
        "event": event_name(record.event_code),
        "count": record.count,
        "open": is_open,
        "fields": dict(record.fields),
    }


def _as_row(log: str, record: StoredRecord, is_open: bool) -> tuple[str, ...]:
    return (
        log,
        str(counter_value(record.sequence)),
        _time_text(record.time_utc_ms),
        str(record.event_code),
        event_name(record.event_code),
        f"{record.count} open" if is_open else str(record.count),
        _fields_text(record.fields),
    )


def _fields_text(fields: Mapping[str, FieldValue]) -> str:
    parts = []
    for name, value in fields.items():
        if value is None:
            continue
        if name == "first_time_ms" and isinstance(value, int):  # an aggregate's first event
            name, value = "first", _time_text(value)
        text = str(value)
        # One line per entry: a value with spaces or control characters is quoted.
        if not text or any(c.isspace() or not c.isprintable() or c in "\"'=" for c in text):
            text = json.dumps(text)
        parts.append(f"{name}={text}")
    return " ".join(parts)


def _write_table(out: TextIO, rows: list[tuple[str, ...]]) -> None:
    widths = [len(title) for title in _COLUMNS]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    numeric = {1, 3, 5}  # right-aligned columns
    for row in (_COLUMNS, *rows):
        cells = [
            cell.rjust(width) if index in numeric and row is not _COLUMNS else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        out.write("  ".join(cells).rstrip() + "\n")
