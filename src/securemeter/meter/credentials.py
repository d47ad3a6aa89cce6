"""Role credentials: generated into the store on first sight of a role, delivered once in
``keys.json`` (mode 0600), never logged, never an attribute of any object."""

from __future__ import annotations

import json
import os
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from securemeter.meter.config import SERVER_LOGICAL_ADDRESS, RoleConfig
from securemeter.meter.identity import MeterIdentity
from securemeter.storage.base import KeyStore

KEY_NAMES = ("ek", "ak", "kek")
PASSWORD = "password"
_PASSWORD_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True, slots=True)
class RoleCredentials:
    password: bytes | None
    encryption_key: bytes | None
    authentication_key: bytes | None
    key_encryption_key: bytes | None


def owner(role: RoleConfig) -> str:
    return f"sap{role.sap}"


def ensure_credentials(
    role: RoleConfig, keys: KeyStore, random_bytes: Callable[[int], bytes]
) -> bool:
    """Generate the secrets a role needs that the store does not hold yet; True if any."""
    created = False
    name = owner(role)
    if role.has_password and keys.get_key(name, PASSWORD) is None:
        raw = random_bytes(16)
        password = "".join(_PASSWORD_ALPHABET[b % len(_PASSWORD_ALPHABET)] for b in raw)
        keys.put_key(name, PASSWORD, password.encode("ascii"))
        created = True
    if role.has_keys:
        for key_name in KEY_NAMES:
            if keys.get_key(name, key_name) is None:
                keys.put_key(name, key_name, random_bytes(16))
                created = True
    return created


def load_credentials(role: RoleConfig, keys: KeyStore) -> RoleCredentials:
    name = owner(role)
    return RoleCredentials(
        password=keys.get_key(name, PASSWORD),
        encryption_key=keys.get_key(name, "ek"),
        authentication_key=keys.get_key(name, "ak"),
        key_encryption_key=keys.get_key(name, "kek"),
    )


def delivery_entry(role: RoleConfig, credentials: RoleCredentials) -> dict[str, object]:
    """One role's entry of the key delivery file (hex strings, null where not applicable)."""

    def hexed(value: bytes | None) -> str | None:
        return value.hex() if value is not None else None

    return {
        "sap": role.sap,
        "role": role.name,
        "mechanism": _MECHANISM_NAMES[int(role.mechanism)],
        "security": role.protection.value,
        "suite": 0,
        "interfaces": sorted(interface.value for interface in role.interfaces),
        "association_ln": str(role.association_name),
        "security_setup_ln": str(role.security_setup_name),
        "invocation_counter_ln": str(role.invocation_counter_name),
        "users": [{"id": user.user_id, "name": user.name} for user in role.users],
        "password": credentials.password.decode("ascii") if credentials.password else None,
        "ek": hexed(credentials.encryption_key),
        "ak": hexed(credentials.authentication_key),
        "kek": hexed(credentials.key_encryption_key),
    }


def delivery_document(
    identity: MeterIdentity, entries: list[dict[str, object]]
) -> dict[str, object]:
    return {
        "serial": identity.serial,
        "system_title": identity.system_title.hex(),
        "logical_device_name": identity.logical_device_name.decode("ascii"),
        "server_logical_address": SERVER_LOGICAL_ADDRESS,
        "hdlc": {
            "physical_address": identity.hdlc_physical_address,
            "address_size": identity.hdlc_address_size,
        },
        "clients": entries,
    }


def write_secret_file(path: Path, document: dict[str, object]) -> None:
    """Write JSON readable by the owner only; created with mode 0600 from the start."""
    data = json.dumps(document, indent=2).encode() + b"\n"
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    descriptor = os.open(path, flags, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, data)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


_MECHANISM_NAMES = {0: "none", 1: "low", 5: "hls-gmac"}
