"""The meter's identity: created once on the first run, kept in the store ever after."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass

from securemeter.storage.base import StateStore

MANUFACTURER = "SMT"  # three-letter FLAG-style manufacturer id of the demo meter
IDENTITY_KEY = "identity"


@dataclass(frozen=True, slots=True)
class MeterIdentity:
    serial: str  # 8 decimal digits
    system_title: bytes  # 8 octets: manufacturer (3) + serial-derived (5)
    hdlc_physical_address: int  # 16..0x3FFD; fits the 2-octet (14-bit) form
    hdlc_address_size: int  # the recommended server address size (1, 2 or 4 octets)

    @property
    def logical_device_name(self) -> bytes:
        """16 octets: manufacturer id then the serial, as companion specs recommend."""
        return (MANUFACTURER + "securemtr" + self.serial)[:16].ljust(16, "0").encode("ascii")

    def to_json(self) -> bytes:
        record = asdict(self)
        record["system_title"] = self.system_title.hex()
        return json.dumps(record, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> MeterIdentity:
        record = json.loads(raw)
        record["system_title"] = bytes.fromhex(record["system_title"])
        return cls(**record)


def generate_identity(random_bytes: Callable[[int], bytes]) -> MeterIdentity:
    serial_number = int.from_bytes(random_bytes(4), "big") % 100_000_000
    serial = f"{serial_number:08d}"
    system_title = MANUFACTURER.encode("ascii") + random_bytes(5)
    physical = 16 + int.from_bytes(random_bytes(2), "big") % (0x3FFD - 16)
    return MeterIdentity(serial, system_title, physical, hdlc_address_size=4)


def load_or_create_identity(
    state: StateStore, random_bytes: Callable[[int], bytes]
) -> tuple[MeterIdentity, bool]:
    """The stored identity, or a new one stored durably; the flag says it was created."""
    raw = state.get(IDENTITY_KEY)
    if raw is not None:
        return MeterIdentity.from_json(raw), False
    identity = generate_identity(random_bytes)
    state.put(IDENTITY_KEY, identity.to_json(), durable=True)
    return identity, True
