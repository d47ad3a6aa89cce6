"""The real store: a private state directory holding SQLite (WAL) and two memory-mapped files.

Directory layout (mode 0700, files 0600)::

    meter.lock      fcntl lock of the one meter process using the directory; holds its pid
    counters.map    invocation counters and the generation (mmap_slots format)
    slots.map       general slots (mmap_slots format)
    meter.sqlite    logs, state blobs, keys, firmware transfer (+ -wal and -shm files)

SQLite runs in WAL mode with synchronous=NORMAL: a commit reaches the operating system (and so
survives kill -9) without an fsync; calls promising power-loss durability switch that one
transaction to synchronous=FULL, which fsyncs the WAL at commit. WAL also lets a reader in
another process (open_store_readonly) read while the meter writes.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from securemeter.crashpoints import crash_point
from securemeter.errors import StorageError
from securemeter.storage import _common
from securemeter.storage._files import (
    create_private_file,
    fsync_directory,
    prepare_private_directory,
)
from securemeter.storage.base import LogRecord, Sealer, StoredRecord, TransferInfo
from securemeter.storage.counters import CellCounterStore, CellSlots
from securemeter.storage.mmap_slots import SlotFile
from securemeter.storage.sealing import PlainSealer, seal_context

LOCK_FILE = "meter.lock"
COUNTERS_FILE = "counters.map"
SLOTS_FILE = "slots.map"
DATABASE_FILE = "meter.sqlite"

_SCHEMA_VERSION = 1
_SCHEMA = (
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID",
    "CREATE TABLE logs (name TEXT PRIMARY KEY, depth INTEGER NOT NULL,"
    " sequence INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE TABLE log_records (log TEXT NOT NULL, sequence INTEGER NOT NULL,"
    " time_utc_ms INTEGER NOT NULL, event_code INTEGER NOT NULL, fields TEXT NOT NULL,"
    " count INTEGER NOT NULL, PRIMARY KEY (log, sequence)) WITHOUT ROWID",
    "CREATE TABLE state (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID",
    "CREATE TABLE keys (owner TEXT NOT NULL, name TEXT NOT NULL, material BLOB NOT NULL,"
    " PRIMARY KEY (owner, name)) WITHOUT ROWID",
    "CREATE TABLE key_fingerprints (owner TEXT NOT NULL, name TEXT NOT NULL,"
    " fingerprint BLOB NOT NULL, PRIMARY KEY (owner, name, fingerprint)) WITHOUT ROWID",
    "CREATE TABLE transfer (singleton INTEGER PRIMARY KEY CHECK (singleton = 1),"
    " transfer_id TEXT NOT NULL, identification BLOB NOT NULL, image_size INTEGER NOT NULL,"
    " block_size INTEGER NOT NULL)",
    "CREATE TABLE transfer_blocks (number INTEGER PRIMARY KEY, data BLOB NOT NULL)",
)
_SEALER_CHECK = b"securemeter sealer check v1"
_SEALER_CHECK_CONTEXT = seal_context("meta", "sealer_check")
_FINGERPRINT_KEY_CONTEXT = seal_context("meta", "fingerprint_key")


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as error:
        raise StorageError(f"database error: {error}") from error


class _Database:
    """One SQLite connection with explicit transactions and error translation."""

    def __init__(self, connection: sqlite3.Connection, *, writable: bool) -> None:
        self._connection: sqlite3.Connection | None = connection
        self.writable = writable

    def query(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[Any]:
        with _translated():
            return self._open().execute(sql, parameters).fetchall()

    @contextmanager
    def writing(self, *, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """A write transaction, committed on leaving; with ``durable`` the commit fsyncs."""
        if not self.writable:
            raise StorageError("the store is open read-only")
        connection = self._open()
        with _translated():
            if durable:
                connection.execute("PRAGMA synchronous=FULL")
            try:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    yield connection
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
                connection.execute("COMMIT")
            finally:
                if durable:
                    connection.execute("PRAGMA synchronous=NORMAL")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            raise StorageError("the store is closed")
        return self._connection


def _log_sequence(connection: sqlite3.Connection | _Database, log: str) -> int:
    """The log's last sequence; StorageError if it is not configured."""
    sql, parameters = "SELECT sequence FROM logs WHERE name = ?", (log,)
    if isinstance(connection, _Database):
        rows = connection.query(sql, parameters)
    else:
        rows = connection.execute(sql, parameters).fetchall()
    if not rows:
        raise StorageError(f"log {log!r} is not configured")
    return int(rows[0][0])


def _trim(connection: sqlite3.Connection, log: str, depth: int) -> None:
    # Keep the newest ``depth`` records: delete from the (depth+1)-th newest downwards.
    connection.execute(
        "DELETE FROM log_records WHERE log = ? AND sequence <= (SELECT sequence FROM log_records"
        " WHERE log = ? ORDER BY sequence DESC LIMIT 1 OFFSET ?)",
        (log, log, depth),
    )


class SqliteLogStore:
    def __init__(self, database: _Database) -> None:
        self._database = database

    def configure(self, log: str, depth: int) -> None:
        _common.check_name("log", log)
        _common.check_depth(depth)
        with self._database.writing() as connection:
            connection.execute(
                "INSERT INTO logs (name, depth, sequence) VALUES (?, ?, 0)"
                " ON CONFLICT (name) DO UPDATE SET depth = excluded.depth",
                (log, depth),
            )
            _trim(connection, log, depth)

    def append(self, log: str, record: LogRecord) -> int:
        _common.check_record(record)
        fields = _common.fields_to_json(record.fields)
        with self._database.writing() as connection:
            rows = connection.execute(
                "SELECT depth, sequence FROM logs WHERE name = ?", (log,)
            ).fetchall()
            if not rows:
                raise StorageError(f"log {log!r} is not configured")
            depth, current = rows[0]
            sequence = _common.next_sequence(log, current)
            connection.execute("UPDATE logs SET sequence = ? WHERE name = ?", (sequence, log))
            connection.execute(
                "INSERT INTO log_records (log, sequence, time_utc_ms, event_code, fields, count)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (log, sequence, record.time_utc_ms, record.event_code, fields, record.count),
            )
            _trim(connection, log, depth)
            crash_point("log.append:before-commit")
        crash_point("log.append:after-commit")
        return sequence

    def records(
        self, log: str, *, since_sequence: int | None = None, limit: int | None = None
    ) -> list[StoredRecord]:
        after, row_limit = _common.check_query(since_sequence, limit)
        _log_sequence(self._database, log)
        rows = self._database.query(
            "SELECT sequence, time_utc_ms, event_code, fields, count FROM log_records"
            " WHERE log = ? AND sequence > ? ORDER BY sequence LIMIT ?",
            (log, after, row_limit),
        )
        return [_common.stored_record(*row) for row in rows]

    def sequence(self, log: str) -> int:
        return _log_sequence(self._database, log)

    def clear(self, log: str) -> None:
        with self._database.writing() as connection:
            _log_sequence(connection, log)
            connection.execute("DELETE FROM log_records WHERE log = ?", (log,))

    def seed_sequence(self, log: str, value: int) -> None:
        with self._database.writing() as connection:
            _common.check_seed(_log_sequence(connection, log), value)
            connection.execute("UPDATE logs SET sequence = ? WHERE name = ?", (value, log))

    def names(self) -> list[str]:
        return [name for (name,) in self._database.query("SELECT name FROM logs ORDER BY name")]


class SqliteStateStore:
    def __init__(self, database: _Database, sealer: Sealer) -> None:
        self._database = database
        self._sealer = sealer

    def get(self, name: str) -> bytes | None:
        _common.check_name("state", name)
        rows = self._database.query("SELECT value FROM state WHERE name = ?", (name,))
        if not rows:
            return None
        return self._sealer.unseal(bytes(rows[0][0]), context=seal_context("state", name))

    def put(self, name: str, value: bytes, *, durable: bool = False) -> None:
        _common.check_name("state", name)
        _common.check_blob(value)
        sealed = self._sealer.seal(bytes(value), context=seal_context("state", name))
        with self._database.writing(durable=durable) as connection:
            connection.execute(
                "INSERT OR REPLACE INTO state (name, value) VALUES (?, ?)", (name, sealed)
            )
            crash_point("state.put:before-commit")
        crash_point("state.put:after-commit")

    def delete(self, name: str, *, durable: bool = False) -> None:
        _common.check_name("state", name)
        with self._database.writing(durable=durable) as connection:
            connection.execute("DELETE FROM state WHERE name = ?", (name,))

    def names(self) -> list[str]:
        return [name for (name,) in self._database.query("SELECT name FROM state ORDER BY name")]


class SqliteKeyStore:
    def __init__(self, database: _Database, sealer: Sealer, fingerprint_key: bytes) -> None:
        self._database = database
        self._sealer = sealer
        self._fingerprint_key = fingerprint_key

    def put_key(self, owner: str, name: str, material: bytes) -> None:
        _common.check_name("key owner", owner)
        _common.check_name("key", name)
        _common.check_blob(material)
        sealed = self._sealer.seal(bytes(material), context=seal_context("key", owner, name))
        new_fingerprint = _common.fingerprint(self._fingerprint_key, owner, name, material)
        with self._database.writing(durable=True) as connection:
            connection.execute(
                "INSERT OR REPLACE INTO keys (owner, name, material) VALUES (?, ?, ?)",
                (owner, name, sealed),
            )
            connection.execute(
                "INSERT OR IGNORE INTO key_fingerprints (owner, name, fingerprint)"
                " VALUES (?, ?, ?)",
                (owner, name, new_fingerprint),
            )
        crash_point("keys.put:after-commit")

    def get_key(self, owner: str, name: str) -> bytes | None:
        rows = self._database.query(
            "SELECT material FROM keys WHERE owner = ? AND name = ?", (owner, name)
        )
        if not rows:
            return None
        return self._sealer.unseal(bytes(rows[0][0]), context=seal_context("key", owner, name))

    def retire_key(self, owner: str, name: str) -> None:
        with self._database.writing(durable=True) as connection:
            connection.execute("DELETE FROM keys WHERE owner = ? AND name = ?", (owner, name))

    def was_used(self, owner: str, name: str, material: bytes) -> bool:
        _common.check_blob(material)
        candidate = _common.fingerprint(self._fingerprint_key, owner, name, material)
        rows = self._database.query(
            "SELECT fingerprint FROM key_fingerprints WHERE owner = ? AND name = ?", (owner, name)
        )
        return _common.matches_any(candidate, (bytes(known) for (known,) in rows))

    def owners(self) -> list[str]:
        rows = self._database.query("SELECT DISTINCT owner FROM keys ORDER BY owner")
        return [owner for (owner,) in rows]

    def key_names(self, owner: str) -> list[str]:
        rows = self._database.query("SELECT name FROM keys WHERE owner = ? ORDER BY name", (owner,))
        return [name for (name,) in rows]


def _read_transfer(connection: sqlite3.Connection | _Database) -> TransferInfo | None:
    sql = "SELECT transfer_id, identification, image_size, block_size FROM transfer"
    if isinstance(connection, _Database):
        rows = connection.query(sql)
    else:
        rows = connection.execute(sql).fetchall()
    if not rows:
        return None
    transfer_id, identification, image_size, block_size = rows[0]
    return TransferInfo(transfer_id, bytes(identification), image_size, block_size)


class SqliteTransferStore:
    def __init__(self, database: _Database) -> None:
        self._database = database

    def begin(
        self, transfer_id: str, image_size: int, block_size: int, identification: bytes
    ) -> TransferInfo:
        info = _common.new_transfer(transfer_id, image_size, block_size, identification)
        with self._database.writing() as connection:
            connection.execute("DELETE FROM transfer")
            connection.execute("DELETE FROM transfer_blocks")
            connection.execute(
                "INSERT INTO transfer (singleton, transfer_id, identification, image_size,"
                " block_size) VALUES (1, ?, ?, ?, ?)",
                (info.transfer_id, info.identification, info.image_size, info.block_size),
            )
        return info

    def put_block(self, transfer_id: str, number: int, data: bytes) -> None:
        with self._database.writing() as connection:
            _common.check_block(_read_transfer(connection), transfer_id, number, data)
            connection.execute(
                "INSERT OR REPLACE INTO transfer_blocks (number, data) VALUES (?, ?)",
                (number, bytes(data)),
            )
        crash_point("transfer.block:after-commit")

    def blocks_received(self, transfer_id: str) -> set[int]:
        _common.check_current(_read_transfer(self._database), transfer_id)
        return {number for (number,) in self._database.query("SELECT number FROM transfer_blocks")}

    def read_image(self, transfer_id: str) -> bytes:
        info = _read_transfer(self._database)
        _common.check_current(info, transfer_id)
        assert info is not None
        numbers = [
            number for (number,) in self._database.query("SELECT number FROM transfer_blocks")
        ]
        missing = _common.missing_blocks(info, numbers)
        if missing:
            raise StorageError(f"image {transfer_id!r} lacks blocks {missing}")
        rows = self._database.query("SELECT data FROM transfer_blocks ORDER BY number")
        return b"".join(bytes(data) for (data,) in rows)

    def abandon(self, transfer_id: str) -> None:
        with self._database.writing() as connection:
            info = _read_transfer(connection)
            if info is not None and info.transfer_id == transfer_id:
                connection.execute("DELETE FROM transfer")
                connection.execute("DELETE FROM transfer_blocks")

    def current(self) -> TransferInfo | None:
        return _read_transfer(self._database)


class SqliteMeterStore:
    """A MeterStore in a state directory; build it with open_store or open_store_readonly."""

    def __init__(
        self,
        *,
        counter_cells: SlotFile,
        slot_cells: SlotFile,
        database: _Database,
        sealer: Sealer,
        fingerprint_key: bytes,
        counter_block: int,
        lock_descriptor: int | None,
    ) -> None:
        self._counter_cells = counter_cells
        self._slot_cells = slot_cells
        self._database = database
        self._lock_descriptor = lock_descriptor
        self._counters = CellCounterStore(counter_cells, block=counter_block)
        self._slots = CellSlots(slot_cells)
        self._logs = SqliteLogStore(database)
        self._state = SqliteStateStore(database, sealer)
        self._keys = SqliteKeyStore(database, sealer, fingerprint_key)
        self._transfers = SqliteTransferStore(database)

    @property
    def counters(self) -> CellCounterStore:
        return self._counters

    @property
    def slots(self) -> CellSlots:
        return self._slots

    @property
    def logs(self) -> SqliteLogStore:
        return self._logs

    @property
    def state(self) -> SqliteStateStore:
        return self._state

    @property
    def keys(self) -> SqliteKeyStore:
        return self._keys

    @property
    def transfers(self) -> SqliteTransferStore:
        return self._transfers

    @property
    def generation(self) -> int:
        return self._counters.generation

    @property
    def read_only(self) -> bool:
        return not self._database.writable

    def close(self) -> None:
        self._database.close()
        self._counter_cells.close()
        self._slot_cells.close()
        if self._lock_descriptor is not None:
            # Closing the descriptor releases the flock.
            os.close(self._lock_descriptor)
            self._lock_descriptor = None

    def __enter__(self) -> SqliteMeterStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_store(
    directory: Path, *, sealer: Sealer | None = None, counter_block: int = 1000
) -> SqliteMeterStore:
    """Open (creating if needed) the state directory for the one meter process that owns it.

    Raises StorageError if another process holds the directory, if the directory is accessible
    by other users, or if ``sealer`` is not the one the store was created with. Bumps the
    generation (power-loss durably).
    """
    directory = Path(directory)
    if type(counter_block) is not int or counter_block < 1:
        raise ValueError(f"counter_block is an int >= 1, got {counter_block!r}")
    sealer = PlainSealer() if sealer is None else sealer
    prepare_private_directory(directory)
    cleanups: list[Callable[[], None]] = []
    try:
        lock_descriptor = _lock(directory)
        cleanups.append(lambda: os.close(lock_descriptor))
        counter_cells = SlotFile(directory / COUNTERS_FILE, writable=True)
        cleanups.append(counter_cells.close)
        slot_cells = SlotFile(directory / SLOTS_FILE, writable=True)
        cleanups.append(slot_cells.close)
        database = _open_database(directory / DATABASE_FILE, writable=True)
        cleanups.append(database.close)
        fingerprint_key = _initialise(database, sealer)
        store = SqliteMeterStore(
            counter_cells=counter_cells,
            slot_cells=slot_cells,
            database=database,
            sealer=sealer,
            fingerprint_key=fingerprint_key,
            counter_block=counter_block,
            lock_descriptor=lock_descriptor,
        )
        store.counters.bump_generation()
        counter_cells.flush()
    except BaseException:
        for cleanup in reversed(cleanups):
            cleanup()
        raise
    return store


def open_store_readonly(directory: Path, *, sealer: Sealer | None = None) -> SqliteMeterStore:
    """Open a state directory for reading while its meter may be running (e.g. a CLI).

    Takes no lock and changes nothing (the generation is not bumped); every write raises
    StorageError. Sees what the meter has committed.
    """
    directory = Path(directory)
    sealer = PlainSealer() if sealer is None else sealer
    if not (directory / DATABASE_FILE).is_file():
        raise StorageError(f"{directory} holds no securemeter state ({DATABASE_FILE} missing)")
    cleanups: list[Callable[[], None]] = []
    try:
        counter_cells = SlotFile(directory / COUNTERS_FILE, writable=False)
        cleanups.append(counter_cells.close)
        slot_cells = SlotFile(directory / SLOTS_FILE, writable=False)
        cleanups.append(slot_cells.close)
        database = _open_database(directory / DATABASE_FILE, writable=False)
        cleanups.append(database.close)
        fingerprint_key = _check_sealer(database, sealer)
        return SqliteMeterStore(
            counter_cells=counter_cells,
            slot_cells=slot_cells,
            database=database,
            sealer=sealer,
            fingerprint_key=fingerprint_key,
            counter_block=1,
            lock_descriptor=None,
        )
    except BaseException:
        for cleanup in reversed(cleanups):
            cleanup()
        raise


def _lock(directory: Path) -> int:
    path = directory / LOCK_FILE
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        raise StorageError(f"cannot open lock file {path}: {error}") from error
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.pread(descriptor, 64, 0).decode("ascii", "replace").strip() or "unknown"
        os.close(descriptor)
        raise StorageError(
            f"state directory {directory} is in use by process {holder} (lock file {path}). "
            "Only one meter may use a state directory: stop that process first, or use "
            "open_store_readonly() to read the state while it runs."
        ) from None
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
    return descriptor


def _open_database(path: Path, *, writable: bool) -> _Database:
    try:
        if writable:
            # Created by us with mode 0600; SQLite gives its -wal and -shm files the same mode.
            create_private_file(path, b"")
            connection = sqlite3.connect(path, isolation_level=None)
        else:
            connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", isolation_level=None, uri=True)
    except sqlite3.Error as error:
        raise StorageError(f"cannot open {path}: {error}") from error
    database = _Database(connection, writable=writable)
    try:
        with _translated():
            if writable:
                mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if mode != "wal":
                    raise StorageError(f"{path}: SQLite refused WAL mode ({mode})")
                connection.execute("PRAGMA synchronous=NORMAL")
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version == 0 and writable:
                with database.writing(durable=True) as transaction:
                    for statement in _SCHEMA:
                        transaction.execute(statement)
                    transaction.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
            elif version != _SCHEMA_VERSION:
                raise StorageError(f"{path} has schema {version}, expected {_SCHEMA_VERSION}")
    except BaseException:
        database.close()
        raise
    fsync_directory(path.parent)
    return database


def _initialise(database: _Database, sealer: Sealer) -> bytes:
    """Create the sealer check and the fingerprint key on first open; return the key."""
    if not database.query("SELECT 1 FROM meta WHERE name = 'sealer_check'"):
        fingerprint_key = os.urandom(_common.FINGERPRINT_KEY_SIZE)
        with database.writing(durable=True) as connection:
            connection.executemany(
                "INSERT INTO meta (name, value) VALUES (?, ?)",
                (
                    (
                        "sealer_check",
                        sealer.seal(_SEALER_CHECK, context=_SEALER_CHECK_CONTEXT),
                    ),
                    (
                        "fingerprint_key",
                        sealer.seal(fingerprint_key, context=_FINGERPRINT_KEY_CONTEXT),
                    ),
                ),
            )
    return _check_sealer(database, sealer)


def _check_sealer(database: _Database, sealer: Sealer) -> bytes:
    rows = dict(database.query("SELECT name, value FROM meta"))
    if "sealer_check" not in rows or "fingerprint_key" not in rows:
        raise StorageError("the store is not initialised (meta rows missing)")
    try:
        check = sealer.unseal(bytes(rows["sealer_check"]), context=_SEALER_CHECK_CONTEXT)
    except StorageError:
        check = b""
    if check != _SEALER_CHECK:
        raise StorageError(
            "the store was sealed with a different sealer or key; refusing to open it with this one"
        )
    return sealer.unseal(bytes(rows["fingerprint_key"]), context=_FINGERPRINT_KEY_CONTEXT)
