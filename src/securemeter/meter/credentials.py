"""Role credentials: generated into the store on first sight of a role (or imported once with
``securemeter meter init --import-keys``), delivered once in ``keys.json`` (mode 0600), never
logged, never an attribute of any object.

The store is authoritative for them (docs/CONFIGURATION.md, "Secrets"). At every start
(``prepare_credentials``, called by the Meter before key management starts):

* a key store owner ``sap<N>`` that no configured role has any more is retired: its invocation
  counters are tombstoned, its state blobs deleted and its key material retired (only the
  fingerprints stay, so ``was_used`` still knows it);
* a configured role whose counter space was retired (it was removed before) starts a fresh EK
  generation with fresh secrets, never the retired ones;
* a role's missing secrets are generated.

Every change is recorded in the standard and the security log, never with key material.
"""

from __future__ import annotations

import json
import os
import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from securemeter.errors import SecuremeterError, StorageError
from securemeter.meter.config import SERVER_LOGICAL_ADDRESS, MeterConfig, RoleConfig
from securemeter.meter.identity import MeterIdentity
from securemeter.meter.logbook import SECURITY, STANDARD, EventCode, Logbook
from securemeter.storage.base import FieldValue, KeyStore, MeterStore

KEY_NAMES = ("ek", "ak", "kek")
PASSWORD = "password"
KEY_LENGTH = 16  # suite 0: AES-128
PASSWORD_MAX_LENGTH = 64
_PASSWORD_ALPHABET = string.ascii_letters + string.digits
_OWNER = re.compile(r"sap([0-9]{1,3})")
_HEX_KEY = re.compile(r"[0-9a-fA-F]{32}")
_FIRST_GENERATION = 1  # meter/keys.py FIRST_GENERATION (not imported: keys.py imports us)
# A random source that repeats an old secret this often is broken, not unlucky.
_GENERATION_ATTEMPTS = 8


class CredentialsError(SecuremeterError):
    """Secrets that cannot be imported: a malformed key file (the message names the JSON
    path) or secrets the store already holds or held."""


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
) -> tuple[str, ...]:
    """Generate the secrets a role needs that the store does not hold yet; returns their names.

    A generated secret is never one this role held before (a returning role gets new ones).
    """
    generated: list[str] = []
    name = owner(role)

    def password() -> bytes:
        raw = random_bytes(16)
        return "".join(_PASSWORD_ALPHABET[b % len(_PASSWORD_ALPHABET)] for b in raw).encode()

    def key() -> bytes:
        return random_bytes(KEY_LENGTH)

    needed: list[tuple[str, Callable[[], bytes]]] = []
    if role.has_password:
        needed.append((PASSWORD, password))
    if role.has_keys:
        needed.extend((key_name, key) for key_name in KEY_NAMES)
    for secret_name, make in needed:
        if keys.get_key(name, secret_name) is None:
            keys.put_key(name, secret_name, _fresh(keys, name, secret_name, make))
            generated.append(secret_name)
    return tuple(generated)


def _fresh(keys: KeyStore, name: str, secret_name: str, make: Callable[[], bytes]) -> bytes:
    for _ in range(_GENERATION_ATTEMPTS):
        material = make()
        if not keys.was_used(name, secret_name, material):
            return material
    raise StorageError(
        f"the random source keeps producing {name}'s old {secret_name}: it is broken"
    )


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


# ---------------------------------------------------------------------- start-up lifecycle


def owner_sap(name: str) -> int | None:
    """The client SAP of a key store owner named ``sap<N>``, else None (not a role's)."""
    match = _OWNER.fullmatch(name)
    return int(match.group(1)) if match is not None else None


def counter_key_ids(name: str, generations: Sequence[int]) -> list[str]:
    """Counter key ids of an owner's EK generations (meter/keys.py counter_key_id scheme)."""
    return [f"{name}/ek/{generation}" for generation in generations]


def prepare_credentials(
    store: MeterStore,
    logbook: Logbook,
    roles: Sequence[RoleConfig],
    random_bytes: Callable[[int], bytes],
) -> None:
    """Retire removed roles, give returning roles a fresh start, generate missing secrets."""
    configured = {owner(role) for role in roles}
    for name in store.keys.owners():
        sap = owner_sap(name)
        if sap is not None and name not in configured:
            retire_owner(store, logbook, name)
    for role in roles:
        prepare_counter_space(store, logbook, role)
        generated = ensure_credentials(role, store.keys, random_bytes)
        if generated:
            # The standard log: a first start is no security event (nothing came from outside);
            # imports and retirements go to the security log too.
            _record(
                logbook,
                role.sap,
                role.name,
                keys=",".join(generated),
                cause="generated",
                logs=(STANDARD,),
            )


def retire_owner(store: MeterStore, logbook: Logbook, name: str) -> None:
    """Retire everything of a removed role: counters, state blobs, then key material.

    Keys go last: while the owner still has keys the next start retries, and every step
    may run twice. Recorded first, so no retirement goes unrecorded (a crash may record it
    twice).
    """
    keys = store.keys
    key_names = keys.key_names(name)
    sap = owner_sap(name)
    generations = _stored_generations(store, name)
    prefix = f"{name}/"
    key_ids = {key_id for key_id in store.counters.list_keys() if key_id.startswith(prefix)}
    key_ids.update(counter_key_ids(name, generations))
    fields: dict[str, FieldValue] = {
        "target_sap": sap,
        "target_role": None,  # the configuration no longer names it
        "change": "role-removed",
        "keys": ",".join(key_names),
        "counters": len(key_ids),
    }
    for log_name in (STANDARD, SECURITY):
        logbook.record(log_name, EventCode.CONFIGURATION_CHANGED, **fields)
    for key_id in sorted(key_ids):
        store.counters.retire(key_id)
    store.state.delete(_state_name(name), durable=True)
    store.state.delete(_journal_name(name), durable=True)
    for key_name in key_names:
        keys.retire_key(name, key_name)


def prepare_counter_space(store: MeterStore, logbook: Logbook, role: RoleConfig) -> None:
    """A role whose current counter space was retired (removed, then configured again) gets
    a fresh EK generation; key material left of its retired life is retired too."""
    name = owner(role)
    generations = _stored_generations(store, name)
    current = generations[0]
    if not _retired(store, counter_key_ids(name, [current])[0]):
        return
    leftover = store.keys.key_names(name)
    if leftover:
        # A crash came between retiring the counters and the keys: finish the retirement.
        retire_owner(store, logbook, name)
    from securemeter.meter.keys import RoleSecurityState  # keys.py imports this module

    generation = current + 1
    used = set(store.counters.list_keys())
    while True:
        key_id = counter_key_ids(name, [generation])[0]
        if key_id not in used and not _retired(store, key_id):
            break
        generation += 1
    policy = role.protection.policy
    state = RoleSecurityState(generation, policy, policy)
    store.state.put(_state_name(name), state.to_bytes(), durable=True)


def _stored_generations(store: MeterStore, name: str) -> list[int]:
    """The current EK generation first, then those still to retire; [1] without a state."""
    raw = store.state.get(_state_name(name))
    if raw is None:
        return [_FIRST_GENERATION]
    from securemeter.meter.keys import RoleSecurityState  # keys.py imports this module

    state = RoleSecurityState.from_bytes(raw)
    return [state.ek_generation, *state.retiring]


def _retired(store: MeterStore, key_id: str) -> bool:
    try:
        store.counters.last_accepted(key_id)
    except StorageError:
        return True  # a tombstone
    return False


def _state_name(name: str) -> str:
    return f"security.{name}"  # meter/keys.py state_name


def _journal_name(name: str) -> str:
    return f"security.{name}.pending"  # meter/keys.py journal_name


def _record(
    logbook: Logbook,
    sap: int,
    role_name: str,
    *,
    keys: str,
    cause: str,
    logs: tuple[str, ...] = (STANDARD, SECURITY),
) -> None:
    for log_name in logs:
        logbook.record(
            log_name,
            EventCode.GLOBAL_KEYS_CHANGED,
            target_sap=sap,
            target_role=role_name,
            keys=keys,
            cause=cause,
        )


# ---------------------------------------------------------------------- import


@dataclass(frozen=True, slots=True)
class ImportedCredentials:
    """One role's secrets from a key delivery file."""

    role: RoleConfig
    credentials: RoleCredentials

    def secrets(self) -> tuple[tuple[str, bytes], ...]:
        credentials = self.credentials
        pairs = (
            (PASSWORD, credentials.password),
            ("ek", credentials.encryption_key),
            ("ak", credentials.authentication_key),
            ("kek", credentials.key_encryption_key),
        )
        return tuple((name, value) for name, value in pairs if value is not None)


def parse_key_file(text: str, config: MeterConfig) -> tuple[ImportedCredentials, ...]:
    """The secrets of a keys.json-format document (``{"clients": [{"sap", "password", "ek",
    "ak", "kek", ...}]}``) for the configured roles; CredentialsError naming the JSON path.

    Each entry must give exactly the secrets its role needs (null or absent for the others):
    keys 32 hex digits (16 octets), passwords printable ASCII. Other fields are ignored, but a
    ``role`` name must be the configured one (a guard against a shifted file).
    """
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise CredentialsError(f"$: not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise CredentialsError('$: expected a JSON object with a "clients" array')
    clients = document.get("clients")
    if not isinstance(clients, list):
        raise CredentialsError("clients: expected an array of role entries")
    if not clients:
        raise CredentialsError("clients: the array is empty: there is nothing to import")
    imported: list[ImportedCredentials] = []
    seen_saps: dict[int, int] = {}
    seen_keys: dict[bytes, str] = {}
    for index, entry in enumerate(clients):
        path = f"clients[{index}]"
        if not isinstance(entry, dict):
            raise CredentialsError(f"{path}: expected an object")
        role = _entry_role(entry, path, config)
        if role.sap in seen_saps:
            raise CredentialsError(
                f"{path}.sap: SAP {role.sap} already appears in clients[{seen_saps[role.sap]}]"
            )
        seen_saps[role.sap] = index
        password = _entry_password(entry, path, role)
        found: dict[str, bytes | None] = {}
        for key_name in KEY_NAMES:
            found[key_name] = _entry_key(entry, f"{path}.{key_name}", key_name, role)
            material = found[key_name]
            if material is not None:
                if material in seen_keys:
                    raise CredentialsError(
                        f"{path}.{key_name}: the same key as {seen_keys[material]}: every key "
                        "of every role must differ"
                    )
                seen_keys[material] = f"{path}.{key_name}"
        imported.append(
            ImportedCredentials(
                role,
                RoleCredentials(password, found["ek"], found["ak"], found["kek"]),
            )
        )
    return tuple(imported)


def _entry_role(entry: Mapping[str, object], path: str, config: MeterConfig) -> RoleConfig:
    sap = entry.get("sap")
    if "sap" not in entry:
        raise CredentialsError(f"{path}.sap: missing: each entry names its role's client SAP")
    if type(sap) is not int:
        raise CredentialsError(f"{path}.sap: expected an integer, got {sap!r}")
    role = config.role(sap)
    if role is None:
        known = ", ".join(str(r.sap) for r in config.roles)
        raise CredentialsError(
            f"{path}.sap: no role has SAP {sap} in the configuration (its SAPs: {known}): "
            "remove the entry or add the role first"
        )
    name = entry.get("role")
    if name is not None and (not isinstance(name, str) or name.lower() != role.name.lower()):
        raise CredentialsError(
            f"{path}.role: {name!r} but SAP {sap} is {role.name!r} in the configuration: "
            "check that the file belongs to this configuration"
        )
    return role


def _entry_password(entry: Mapping[str, object], path: str, role: RoleConfig) -> bytes | None:
    value = entry.get(PASSWORD)
    path = f"{path}.{PASSWORD}"
    if not role.has_password:
        if value is not None:
            raise CredentialsError(
                f"{path}: role {role.name!r} has no password (it does not use LLS): "
                "set it to null or leave it out"
            )
        return None
    if value is None:
        raise CredentialsError(f"{path}: missing: role {role.name!r} uses LLS and needs one")
    if not isinstance(value, str):
        raise CredentialsError(f"{path}: expected a string")
    if not 1 <= len(value) <= PASSWORD_MAX_LENGTH:
        raise CredentialsError(f"{path}: 1 to {PASSWORD_MAX_LENGTH} characters, got {len(value)}")
    if any(not " " <= character <= "~" for character in value):
        raise CredentialsError(f"{path}: only printable ASCII characters (space to ~)")
    return value.encode("ascii")


def _entry_key(
    entry: Mapping[str, object], path: str, key_name: str, role: RoleConfig
) -> bytes | None:
    value = entry.get(key_name)
    if not role.has_keys:
        if value is not None:
            raise CredentialsError(
                f"{path}: role {role.name!r} has no keys (no HLS-GMAC, no protection): "
                "set it to null or leave it out"
            )
        return None
    if value is None:
        raise CredentialsError(f"{path}: missing: role {role.name!r} needs ek, ak and kek")
    if not isinstance(value, str) or _HEX_KEY.fullmatch(value) is None:
        raise CredentialsError(f"{path}: expected 32 hex digits (a 16-octet key)")
    material = bytes.fromhex(value)
    if len(set(material)) == 1:
        raise CredentialsError(f"{path}: one octet repeated 16 times is not a key")
    return material


def import_problems(keys: KeyStore, imported: Sequence[ImportedCredentials]) -> list[str]:
    """Why these secrets cannot be imported into this store (empty: they can).

    The store is authoritative once a role has secrets; a secret that was ever installed
    (any role, any kind) is never installed again.
    """
    problems: list[str] = []
    owners = set(keys.owners()) | {owner(item.role) for item in imported}
    for item in imported:
        name = owner(item.role)
        held = keys.key_names(name)
        if held:
            problems.append(
                f"the store already holds secrets of SAP {item.role.sap} ({item.role.name}): "
                f"{', '.join(held)}; the store is authoritative, change keys with key_transfer"
            )
            continue
        for secret_name, material in item.secrets():
            kinds = (PASSWORD,) if secret_name == PASSWORD else KEY_NAMES
            if any(
                keys.was_used(other, kind, material) for other in sorted(owners) for kind in kinds
            ):
                problems.append(
                    f"the {secret_name} of SAP {item.role.sap} ({item.role.name}) was installed "
                    "in this store before: old secrets are never installed again"
                )
    return problems


def import_credentials(
    store: MeterStore, logbook: Logbook, imported: Sequence[ImportedCredentials]
) -> None:
    """Install imported secrets (after ``import_problems`` found none); recorded per role."""
    problems = import_problems(store.keys, imported)
    if problems:
        raise CredentialsError("; ".join(problems))
    for item in imported:
        role = item.role
        prepare_counter_space(store, logbook, role)
        secrets = item.secrets()
        _record(
            logbook, role.sap, role.name, keys=",".join(n for n, _ in secrets), cause="imported"
        )
        for secret_name, material in secrets:
            store.keys.put_key(owner(role), secret_name, material)
