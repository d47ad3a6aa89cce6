"""OBIS codes (IEC 62056-61): six value groups A.B.C.D.E.F, carried as a 6-octet string."""

from __future__ import annotations

import re
from dataclasses import dataclass

from securemeter.errors import DecodeError

_TEXT = re.compile(
    r"^\s*(\d{1,3})[.\-:](\d{1,3})[.:](\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:[.*&](\d{1,3}))?\s*$"
)


@dataclass(frozen=True, slots=True, order=True)
class Obis:
    a: int
    b: int
    c: int
    d: int
    e: int
    f: int = 255

    def __post_init__(self) -> None:
        for group in (self.a, self.b, self.c, self.d, self.e, self.f):
            if not 0 <= group <= 255:
                raise ValueError(f"OBIS value group out of range: {group}")

    @classmethod
    def parse(cls, text: str) -> Obis:
        """Parse '1.0.1.8.0.255', '1-0:1.8.0.255' or '1-0:1.8.0' (F defaults to 255)."""
        match = _TEXT.match(text)
        if match is None:
            raise ValueError(f"not an OBIS code: {text!r}")
        groups = [int(g) for g in match.groups() if g is not None]
        return cls(*groups)

    @classmethod
    def from_bytes(cls, raw: bytes) -> Obis:
        # Requests name the same few objects again and again: reuse their values.
        cached = _FROM_BYTES.get(raw)
        if cached is not None:
            return cached
        if len(raw) != 6:
            raise DecodeError(f"an OBIS code is 6 octets, got {len(raw)}")
        obis = cls(*raw)
        if len(_FROM_BYTES) >= _CACHE_LIMIT:
            _FROM_BYTES.clear()
        _FROM_BYTES[bytes(raw)] = obis
        return obis

    def to_bytes(self) -> bytes:
        return bytes((self.a, self.b, self.c, self.d, self.e, self.f))

    def __str__(self) -> str:
        return f"{self.a}.{self.b}.{self.c}.{self.d}.{self.e}.{self.f}"


_CACHE_LIMIT = 4096
_FROM_BYTES: dict[bytes, Obis] = {}
