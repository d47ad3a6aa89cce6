"""What only the SQLite store can show: persistence, files, the lock and concurrent readers."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from securemeter.errors import ReplayDetected, StorageError
from securemeter.storage import (
    AesGcmSealer,
    LogRecord,
    PlainSealer,
    open_store,
    open_store_readonly,
)
from securemeter.storage.mmap_slots import SlotFile

SEALING_KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
OTHER_KEY = bytes.fromhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
HELPER = Path(__file__).with_name("crash_helper.py")
KEY = "sap1/guek/1"


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return tmp_path / "state"


def test_everything_survives_a_reopen(directory: Path) -> None:
    sealer = AesGcmSealer(SEALING_KEY)
    with open_store(directory, sealer=sealer) as store:
        store.counters.accept(KEY, 41)
        store.counters.next_outgoing(KEY)
        store.slots.set("energy", 123_456)
        store.logs.configure("standard", 5)
        store.logs.append("standard", LogRecord(5, 9, {"who": "sap1"}))
        store.state.put("identity", b"meter-1")
        store.keys.put_key("sap1", "kek", b"k" * 16)
        store.transfers.begin("fw", 4, 2, b"id")
        store.transfers.put_block("fw", 1, b"cd")
        generation = store.generation
    with open_store(directory, sealer=sealer) as store:
        assert store.counters.last_accepted(KEY) == 41
        with pytest.raises(ReplayDetected):
            store.counters.accept(KEY, 41)
        assert store.counters.next_outgoing(KEY) > 1
        assert store.slots.get("energy") == 123_456
        assert [(r.sequence, dict(r.fields)) for r in store.logs.records("standard")] == [
            (1, {"who": "sap1"})
        ]
        assert store.state.get("identity") == b"meter-1"
        assert store.keys.get_key("sap1", "kek") == b"k" * 16
        assert store.keys.was_used("sap1", "kek", b"k" * 16)
        assert store.transfers.blocks_received("fw") == {1}
        assert store.generation > generation


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    block=st.integers(1, 5),
    runs=st.lists(st.integers(0, 7), min_size=1, max_size=5),
)
def test_next_outgoing_strictly_increases_across_reopens(
    tmp_path: Path, block: int, runs: list[int]
) -> None:
    directory = tmp_path / f"state-{os.urandom(4).hex()}"
    handed_out: list[int] = []
    for count in runs:
        with open_store(directory, counter_block=block) as store:
            handed_out.extend(store.counters.next_outgoing(KEY) for _ in range(count))
    assert handed_out == sorted(set(handed_out))
    # Skipping is bounded: at most one unused block per reopen.
    if handed_out:
        assert handed_out[-1] <= len(handed_out) + block * len(runs)


def test_generation_grows_at_every_open_but_not_for_readers(directory: Path) -> None:
    generations = []
    for _ in range(3):
        with open_store(directory) as store:
            generations.append(store.generation)
    assert generations == sorted(set(generations))
    with open_store_readonly(directory) as reader:
        assert reader.generation == generations[-1]
    with open_store_readonly(directory) as reader:
        assert reader.generation == generations[-1]


def test_files_are_private(directory: Path) -> None:
    with open_store(directory) as store:
        store.logs.configure("standard", 2)
        store.logs.append("standard", LogRecord(0, 1))
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        for path in directory.iterdir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_refuses_a_directory_others_can_access(tmp_path: Path) -> None:
    directory = tmp_path / "shared"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    with pytest.raises(StorageError, match="chmod 700"):
        open_store(directory)


def test_a_second_opener_in_the_same_process_is_refused(directory: Path) -> None:
    refusal = pytest.raises(StorageError, match=f"in use by process {os.getpid()}")
    with open_store(directory), refusal:
        open_store(directory)
    open_store(directory).close()


@pytest.fixture
def holder(directory: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process that holds the store open and obeys commands on stdin."""
    process = subprocess.Popen(
        [sys.executable, str(HELPER), str(directory), "hold"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().split() == ["ready", "1"]
    yield process
    if process.poll() is None:
        process.kill()
        process.wait()


def _command(process: subprocess.Popen[str], line: str) -> str:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(line + "\n")
    process.stdin.flush()
    return process.stdout.readline().strip()


def test_lock_refuses_a_second_meter_process(
    directory: Path, holder: subprocess.Popen[str]
) -> None:
    with pytest.raises(StorageError) as refusal:
        open_store(directory)
    message = str(refusal.value)
    assert f"process {holder.pid}" in message
    assert "open_store_readonly" in message
    assert holder.stdin is not None
    holder.stdin.close()
    assert holder.wait() == 0
    open_store(directory, sealer=AesGcmSealer(SEALING_KEY)).close()


def test_reader_sees_what_a_running_meter_commits(
    directory: Path, holder: subprocess.Popen[str]
) -> None:
    with open_store_readonly(directory, sealer=AesGcmSealer(SEALING_KEY)) as reader:
        assert [r.sequence for r in reader.logs.records("standard")] == [1]
        assert _command(holder, "append 77") == "2"
        assert [r.time_utc_ms for r in reader.logs.records("standard")] == [1, 77]
        assert reader.logs.sequence("standard") == 2
        assert _command(holder, "accept 500") == "accepted 500"
        assert reader.counters.last_accepted(KEY) == 500
        assert _command(holder, "slot 9000") == "slot 9000"
        assert reader.slots.get("energy") == 9000
        assert reader.slots.names() == ["energy"]


def test_reader_refuses_every_write(directory: Path) -> None:
    with open_store(directory) as store:
        store.logs.configure("standard", 2)
        store.transfers.begin("fw", 2, 1, b"")
    with open_store_readonly(directory) as reader:
        assert reader.read_only
        calls: list[Callable[[], object]] = [
            lambda: reader.counters.accept(KEY, 1),
            lambda: reader.counters.next_outgoing(KEY),
            lambda: reader.counters.retire(KEY),
            lambda: reader.slots.set("x", 1),
            lambda: reader.logs.append("standard", LogRecord(0, 1)),
            lambda: reader.logs.configure("other", 1),
            lambda: reader.state.put("x", b""),
            lambda: reader.keys.put_key("a", "b", b"c"),
            lambda: reader.transfers.put_block("fw", 0, b"x"),
        ]
        for call in calls:
            with pytest.raises(StorageError, match="read-only"):
                call()


def test_reader_needs_an_existing_store(tmp_path: Path) -> None:
    with pytest.raises(StorageError):
        open_store_readonly(tmp_path / "nothing")


def test_reader_sees_slots_allocated_after_it_opened(directory: Path) -> None:
    with open_store(directory) as store, open_store_readonly(directory) as reader:
        assert reader.slots.get("slot-2999") == 0
        for index in range(3000):  # grows the slot file several times
            store.slots.set(f"slot-{index}", index * 7)
        assert reader.slots.get("slot-2999") == 2999 * 7
        assert len(reader.slots.names()) == 3000


def test_thousands_of_slots_survive_a_reopen(directory: Path) -> None:
    with open_store(directory) as store:
        for index in range(3000):
            store.slots.set(f"energy/{index}", index)
        store.slots.sync()
    with open_store(directory) as store:
        assert all(store.slots.get(f"energy/{index}") == index for index in range(3000))


def test_wrong_sealer_is_refused(directory: Path) -> None:
    open_store(directory, sealer=AesGcmSealer(SEALING_KEY)).close()
    for sealer in (AesGcmSealer(OTHER_KEY), PlainSealer(), None):
        with pytest.raises(StorageError, match="different sealer"):
            open_store(directory, sealer=sealer)
    with pytest.raises(StorageError, match="different sealer"):
        open_store_readonly(directory, sealer=AesGcmSealer(OTHER_KEY))
    open_store(directory, sealer=AesGcmSealer(SEALING_KEY)).close()


def test_sealed_secrets_never_reach_disk_in_clear(directory: Path) -> None:
    material = bytes.fromhex("5eca7e5eca7e5eca7e5eca7e5eca7e00")
    secret_setting = b"very secret meter setting"
    with open_store(directory, sealer=AesGcmSealer(SEALING_KEY)) as store:
        store.keys.put_key("sap1", "kek", material)
        store.keys.put_key("sap1", "kek", bytes(16))  # retires the first into a fingerprint
        store.state.put("settings", secret_setting, durable=True)
        everything = b"".join(path.read_bytes() for path in directory.iterdir())
    assert material not in everything
    assert secret_setting not in everything


def test_a_closed_store_refuses_calls(directory: Path) -> None:
    store = open_store(directory)
    store.close()
    store.close()  # idempotent
    calls: list[Callable[[], object]] = [
        lambda: store.counters.accept(KEY, 1),
        lambda: store.slots.get("x"),
        lambda: store.logs.names(),
        lambda: store.state.get("x"),
    ]
    for call in calls:
        with pytest.raises(StorageError):
            call()


# -- the slot file's torn-write protection ---------------------------------------------------

HEADER_SIZE = 64
RECORD_SIZE = 128


def _patch(path: Path, offset: int, data: bytes) -> None:
    with path.open("r+b") as file:
        file.seek(offset)
        file.write(data)


def test_a_torn_first_copy_falls_back_to_the_previous_value(directory: Path) -> None:
    with open_store(directory) as store:
        store.slots.set("energy", 1000)
    # Simulate a kill in the middle of writing 2000: copy A half new, copy B still 1000.
    _patch(directory / "slots.map", HEADER_SIZE, (2000).to_bytes(8, "little")[:3])
    with open_store(directory) as store:
        assert store.slots.get("energy") == 1000
        store.slots.set("energy", 2000)
    with open_store(directory) as store:
        assert store.slots.get("energy") == 2000


def test_both_copies_torn_is_reported(directory: Path) -> None:
    with open_store(directory) as store:
        store.slots.set("energy", 1000)
    _patch(directory / "slots.map", HEADER_SIZE, b"\xff" * 32)
    with open_store(directory) as store, pytest.raises(StorageError, match="corrupt"):
        store.slots.get("energy")


def test_a_half_allocated_record_is_reused(directory: Path) -> None:
    with open_store(directory) as store:
        store.slots.set("first", 1)
    # A kill during allocation leaves a name without the state byte that makes it live.
    second = HEADER_SIZE + RECORD_SIZE
    _patch(directory / "slots.map", second + 33, bytes([4]) + b"junk")
    with open_store(directory) as store:
        assert store.slots.names() == ["first"]
        store.slots.set("second", 2)
    with open_store(directory) as store:
        assert store.slots.names() == ["first", "second"]
        assert store.slots.get("second") == 2


def test_a_foreign_slot_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "slots.map"
    path.write_bytes(b"NOTSLOTS" + bytes(200))
    with pytest.raises(StorageError, match="not a securemeter slot file"):
        SlotFile(path, writable=True)
    path.write_bytes(b"short")
    with pytest.raises(StorageError, match="too short"):
        SlotFile(path, writable=False)


def test_slot_names_are_bounded(directory: Path) -> None:
    with open_store(directory) as store:
        store.slots.set("n" * 94, 1)
        with pytest.raises(ValueError):
            store.slots.set("n" * 95, 1)


def test_corrupt_log_fields_are_a_storage_error(directory: Path) -> None:
    with open_store(directory) as store:
        store.logs.configure("standard", 5)
        store.logs.append("standard", LogRecord(0, 1, {"a": 1}))
        with store._database.writing() as connection:
            connection.execute("UPDATE log_records SET fields = '{\"a\": 1.5}'")
        with pytest.raises(StorageError, match="corrupt"):
            store.logs.records("standard")
        with store._database.writing() as connection:
            connection.execute("UPDATE log_records SET fields = 'not json'")
        with pytest.raises(StorageError, match="corrupt"):
            store.logs.records("standard")


def test_a_tampered_state_blob_is_a_storage_error(directory: Path) -> None:
    with open_store(directory, sealer=AesGcmSealer(SEALING_KEY)) as store:
        store.state.put("settings", b"value")
        with store._database.writing() as connection:
            (sealed,) = connection.execute("SELECT value FROM state").fetchone()
            tampered = bytes(sealed[:20]) + bytes([sealed[20] ^ 1]) + bytes(sealed[21:])
            connection.execute("UPDATE state SET value = ?", (tampered,))
        with pytest.raises(StorageError, match="authentication"):
            store.state.get("settings")
