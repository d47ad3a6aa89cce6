"""Argument checks and encodings shared by the memory and SQLite stores, so both agree."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping

from securemeter.errors import StorageError
from securemeter.storage.base import (
    SEQUENCE_LIMIT,
    FieldValue,
    LogRecord,
    StoredRecord,
    TransferInfo,
)
from securemeter.storage.sealing import seal_context

FINGERPRINT_KEY_SIZE = 32


def check_name(kind: str, name: str) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError(f"a {kind} name is a non-empty str, got {name!r}")


def check_depth(depth: int) -> None:
    if type(depth) is not int or not 1 <= depth <= SEQUENCE_LIMIT:
        raise ValueError(f"a log depth is an int >= 1, got {depth!r}")


def check_query(since_sequence: int | None, limit: int | None) -> tuple[int, int]:
    """Normalise a records() query to (exclusive lower sequence, row limit or -1)."""
    if since_sequence is not None and (type(since_sequence) is not int or since_sequence < 0):
        raise ValueError(f"since_sequence is an int >= 0 or None, got {since_sequence!r}")
    if limit is not None and (type(limit) is not int or limit < 0):
        raise ValueError(f"limit is an int >= 0 or None, got {limit!r}")
    return (since_sequence or 0), (-1 if limit is None else limit)


def check_seed(current: int, value: int) -> None:
    if type(value) is not int or not 0 <= value <= SEQUENCE_LIMIT:
        raise ValueError(f"a log sequence is an int in 0..2**63-1, got {value!r}")
    if value < current:
        raise StorageError(f"refusing to lower a log sequence from {current} to {value}")


def next_sequence(log: str, current: int) -> int:
    if current >= SEQUENCE_LIMIT:
        raise StorageError(f"log {log!r} sequence exhausted")
    return current + 1


def check_record(record: LogRecord) -> None:
    if not isinstance(record, LogRecord):
        raise ValueError(f"expected a LogRecord, got {record!r}")
    for name in ("time_utc_ms", "event_code", "count"):
        if not -(2**63) <= getattr(record, name) <= SEQUENCE_LIMIT:
            raise ValueError(f"LogRecord.{name} does not fit a signed 64-bit integer")


def fields_to_json(fields: Mapping[str, FieldValue]) -> str:
    return json.dumps(dict(fields), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def stored_record(
    sequence: int, time_utc_ms: int, event_code: int, fields_json: str, count: int
) -> StoredRecord:
    """Rebuild a record read from disk; anything malformed is a StorageError."""
    try:
        fields = json.loads(fields_json)
        if not isinstance(fields, dict):
            raise ValueError("fields are not a JSON object")
        return StoredRecord(time_utc_ms, event_code, fields, count, sequence=sequence)
    except ValueError as error:
        raise StorageError(f"stored log record {sequence} is corrupt: {error}") from None


def check_blob(value: bytes) -> None:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise ValueError(f"expected bytes, got {type(value).__name__}")


def fingerprint(secret: bytes, owner: str, name: str, material: bytes) -> bytes:
    """A keyed fingerprint of key material: reveals nothing without the store's secret."""
    message = seal_context("fingerprint", owner, name) + bytes(material)
    return hmac.new(secret, message, hashlib.sha256).digest()


def matches_any(candidate: bytes, fingerprints: Iterable[bytes]) -> bool:
    """Constant-time membership: every fingerprint is compared, with no early exit."""
    found = False
    for known in fingerprints:
        found |= hmac.compare_digest(candidate, known)
    return found


def new_transfer(
    transfer_id: str, image_size: int, block_size: int, identification: bytes
) -> TransferInfo:
    check_name("transfer", transfer_id)
    for label, value in (("image_size", image_size), ("block_size", block_size)):
        if type(value) is not int or not 1 <= value <= SEQUENCE_LIMIT:
            raise ValueError(f"{label} is an int >= 1, got {value!r}")
    check_blob(identification)
    return TransferInfo(transfer_id, bytes(identification), image_size, block_size)


def check_block(current: TransferInfo | None, transfer_id: str, number: int, data: bytes) -> None:
    check_current(current, transfer_id)
    assert current is not None
    check_blob(data)
    if type(number) is not int or not 0 <= number < current.block_count:
        raise StorageError(
            f"block {number!r} is outside 0..{current.block_count - 1} of {transfer_id!r}"
        )
    expected = current.expected_block_size(number)
    if len(data) != expected:
        raise StorageError(
            f"block {number} of {transfer_id!r} is {len(data)} bytes, not {expected}"
        )


def check_current(current: TransferInfo | None, transfer_id: str) -> None:
    if current is None or current.transfer_id != transfer_id:
        raise StorageError(f"{transfer_id!r} is not the transfer in progress")


def missing_blocks(info: TransferInfo, received: Iterable[int], limit: int = 10) -> list[int]:
    """The first ``limit`` missing block numbers (without building a set of every block)."""
    have = set(received)
    missing: list[int] = []
    number = 0
    while len(missing) < limit and number < info.block_count and len(have) < info.block_count:
        if number not in have:
            missing.append(number)
        number += 1
    return missing
