"""A memory-mapped file of named unsigned 64-bit cells: the backend of counters and slots.

Why a shared memory map: a store into a MAP_SHARED page is in the kernel's page cache the
moment the CPU executes it, so it survives kill -9 of the process at the cost of a memory
write; ``flush`` (msync) makes it survive a power cut.

Layout (little-endian), never rewritten in place except a record's values and state byte::

    header (64 bytes): magic "SMSLOTS\\0", version u32, record size u32, zero padding
    record i (128 bytes) at 64 + 128 * i:
        0  copy A: value u64, check u64
        16 copy B: value u64, check u64
        32 state u8 (0 free, 1 live, 2 retired)
        33 name length u8
        34 name (UTF-8, up to 94 bytes)

A value is written to copy A, then to copy B, each with a check (a 64-bit mix of the value).
A kill in the middle of copy A leaves A failing its check and B holding the previous value; a
kill in the middle of B leaves A complete. A reader takes A if it checks, else B: it never sees
a torn value. Records are allocated in order and never freed (a retired name stays as a
tombstone), so an index built by one scan stays valid and the file only grows.
"""

from __future__ import annotations

import mmap
import os
import struct
from pathlib import Path

from securemeter.errors import StorageError
from securemeter.storage._files import create_private_file

_MAGIC = b"SMSLOTS\x00"
_VERSION = 1
_HEADER = struct.Struct("<8sII")
_HEADER_SIZE = 64
_RECORD_SIZE = 128
_COPY = struct.Struct("<QQ")
_COPY_B_OFFSET = 16
_STATE_OFFSET = 32
_NAME_LENGTH_OFFSET = 33
_NAME_OFFSET = 34
NAME_LIMIT = _RECORD_SIZE - _NAME_OFFSET
_FREE, _LIVE, _RETIRED = 0, 1, 2
_INITIAL_CAPACITY = 64
# A reader racing the writer may see both copies mid-write once; a few retries settle it.
_READ_ATTEMPTS = 8
_MASK = 2**64 - 1


def _check(value: int) -> int:
    # splitmix64's finaliser: every value bit affects every check bit, so a mix of old and new
    # bytes practically never checks; the added constant makes an all-zero record invalid.
    mixed = (value + 0x9E3779B97F4A7C15) & _MASK
    mixed = ((mixed ^ (mixed >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    mixed = ((mixed ^ (mixed >> 27)) * 0x94D049BB133111EB) & _MASK
    return mixed ^ (mixed >> 31)


class SlotFile:
    """Cells in one memory-mapped file. One writer (the lock holder); any number of readers."""

    def __init__(self, path: Path, *, writable: bool) -> None:
        self._path = path
        self._writable = writable
        if writable:
            header = _HEADER.pack(_MAGIC, _VERSION, _RECORD_SIZE).ljust(_HEADER_SIZE, b"\0")
            create_private_file(path, header + bytes(_RECORD_SIZE * _INITIAL_CAPACITY))
        try:
            self._descriptor = os.open(path, os.O_RDWR if writable else os.O_RDONLY)
        except OSError as error:
            raise StorageError(f"cannot open slot file {path}: {error}") from error
        self._map: mmap.mmap | None = None
        self._capacity = 0
        self._count = 0
        self._index: dict[str, int] = {}
        try:
            self._remap()
            self._validate_header()
            self._scan()
        except BaseException:
            self.close()
            raise

    @property
    def writable(self) -> bool:
        return self._writable

    # -- Cells ------------------------------------------------------------------------------

    def get(self, name: str) -> int | None:
        offset = self._locate(name)
        if offset is None:
            return None
        mapping = self._mapping()
        if mapping[offset + _STATE_OFFSET] != _LIVE:
            return None
        return self._read(mapping, offset, name)

    def set(self, name: str, value: int) -> None:
        mapping = self._writable_mapping()
        offset = self._index.get(name)
        if offset is None:
            self._allocate(name, value, _LIVE)
            return
        if mapping[offset + _STATE_OFFSET] != _LIVE:
            raise StorageError(f"slot {name!r} is retired")
        self._write(mapping, offset, value)

    def retire(self, name: str) -> None:
        mapping = self._writable_mapping()
        offset = self._index.get(name)
        if offset is None:
            self._allocate(name, 0, _RETIRED)
        else:
            mapping[offset + _STATE_OFFSET] = _RETIRED

    def is_retired(self, name: str) -> bool:
        offset = self._locate(name)
        return offset is not None and self._mapping()[offset + _STATE_OFFSET] == _RETIRED

    def names(self) -> list[str]:
        if not self._writable:
            self._refresh()
        mapping = self._mapping()
        return [
            name for name, offset in self._index.items() if mapping[offset + _STATE_OFFSET] == _LIVE
        ]

    def flush(self) -> None:
        mapping = self._mapping()
        if self._writable:
            mapping.flush()

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None
        if self._descriptor >= 0:
            os.close(self._descriptor)
            self._descriptor = -1

    # -- internals --------------------------------------------------------------------------

    def _mapping(self) -> mmap.mmap:
        if self._map is None:
            raise StorageError(f"slot file {self._path} is closed")
        return self._map

    def _writable_mapping(self) -> mmap.mmap:
        if not self._writable:
            raise StorageError("the store is open read-only")
        return self._mapping()

    def _locate(self, name: str) -> int | None:
        """The record offset of ``name``, or None; StorageError once closed."""
        self._mapping()
        offset = self._index.get(name)
        if offset is None and not self._writable:
            # The writer may have added the name since our last scan.
            self._refresh()
            offset = self._index.get(name)
        return offset

    def _read(self, mapping: mmap.mmap, offset: int, name: str) -> int:
        for _ in range(_READ_ATTEMPTS):
            value, check = _COPY.unpack_from(mapping, offset)
            if check == _check(value):
                return int(value)
            value, check = _COPY.unpack_from(mapping, offset + _COPY_B_OFFSET)
            if check == _check(value):
                return int(value)
        raise StorageError(f"slot {name!r} in {self._path} is corrupt (both copies fail)")

    @staticmethod
    def _write(mapping: mmap.mmap, offset: int, value: int) -> None:
        check = _check(value)
        _COPY.pack_into(mapping, offset, value, check)
        _COPY.pack_into(mapping, offset + _COPY_B_OFFSET, value, check)

    def _allocate(self, name: str, value: int, state: int) -> None:
        raw = name.encode("utf-8")
        if not 0 < len(raw) <= NAME_LIMIT:
            raise ValueError(f"a slot name is 1..{NAME_LIMIT} UTF-8 bytes, got {name!r}")
        if self._count >= self._capacity:
            self._grow()
        mapping = self._mapping()
        offset = _HEADER_SIZE + self._count * _RECORD_SIZE
        mapping[offset + _NAME_LENGTH_OFFSET] = len(raw)
        mapping[offset + _NAME_OFFSET : offset + _NAME_OFFSET + len(raw)] = raw
        self._write(mapping, offset, value)
        # Written last: a kill before this leaves a free record that is simply reused.
        mapping[offset + _STATE_OFFSET] = state
        self._index[name] = offset
        self._count += 1

    def _grow(self) -> None:
        size = _HEADER_SIZE + 2 * max(self._capacity, _INITIAL_CAPACITY) * _RECORD_SIZE
        # Extending only appends zeroed (free) records: existing offsets stay valid.
        os.ftruncate(self._descriptor, size)
        os.fsync(self._descriptor)
        self._remap()

    def _remap(self) -> None:
        size = os.fstat(self._descriptor).st_size
        if size < _HEADER_SIZE:
            raise StorageError(f"{self._path} is too short to be a slot file")
        if self._map is not None:
            self._map.close()
        access = mmap.ACCESS_WRITE if self._writable else mmap.ACCESS_READ
        self._map = mmap.mmap(self._descriptor, size, access=access)
        self._capacity = (size - _HEADER_SIZE) // _RECORD_SIZE

    def _refresh(self) -> None:
        mapping = self._mapping()
        if os.fstat(self._descriptor).st_size != len(mapping):
            self._remap()
        self._scan()

    def _validate_header(self) -> None:
        magic, version, record_size = _HEADER.unpack_from(self._mapping(), 0)
        if magic != _MAGIC:
            raise StorageError(f"{self._path} is not a securemeter slot file")
        if version != _VERSION or record_size != _RECORD_SIZE:
            raise StorageError(
                f"{self._path} has slot format {version}/{record_size}, expected "
                f"{_VERSION}/{_RECORD_SIZE}"
            )

    def _scan(self) -> None:
        mapping = self._mapping()
        while self._count < self._capacity:
            offset = _HEADER_SIZE + self._count * _RECORD_SIZE
            state = mapping[offset + _STATE_OFFSET]
            if state == _FREE:
                break
            length = mapping[offset + _NAME_LENGTH_OFFSET]
            raw = mapping[offset + _NAME_OFFSET : offset + _NAME_OFFSET + length]
            if state not in (_LIVE, _RETIRED) or not 0 < length <= NAME_LIMIT:
                raise StorageError(f"{self._path}: record {self._count} is corrupt")
            try:
                name = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise StorageError(f"{self._path}: record {self._count} is corrupt") from None
            self._index[name] = offset
            self._count += 1
