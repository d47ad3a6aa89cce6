"""Meter roles from a TOML configuration file, validated before anything runs.

``parse_config`` turns the text of a configuration file into a ``MeterConfig`` or raises one
``ConfigError`` for the first problem found. The error names the key path
(``roles[3].sap``, ``roles[0].objects[2].write[1]``), the line where the key is written, and
how to fix it. docs/CONFIGURATION.md describes the format and every rule checked here.

The device is built after the configuration is loaded, so object names are checked against a
static catalogue: the demo device's objects (``demo_device_objects``) plus the objects each
role brings (its Association LN, Security setup and invocation counter) and the current
association. Attribute and method names and indices are checked against the interface class
descriptions of ``securemeter.cosem.registry``.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from securemeter.apdu.enums import AuthenticationMechanism
from securemeter.codec.obis import Obis
from securemeter.cosem.association_ln import CURRENT_ASSOCIATION, AssociationLN
from securemeter.cosem.clock import Clock
from securemeter.cosem.data import DataObject
from securemeter.cosem.hdlc_setup import HdlcSetup
from securemeter.cosem.profile_generic import ProfileGeneric
from securemeter.cosem.register import Register
from securemeter.cosem.registry import InterfaceClassDescription, describe
from securemeter.cosem.security_setup import SecuritySetup
from securemeter.cosem.tcp_udp_setup import TcpUdpSetup
from securemeter.errors import SecuremeterError
from securemeter.meter import device
from securemeter.meter.access import ALL, NEVER_READABLE, Grant
from securemeter.meter.config import (
    MAX_ROLES,
    Interface,
    InterfaceConfig,
    LockoutSettings,
    MeterConfig,
    Protection,
    RoleConfig,
    User,
)
from securemeter.meter.lockout import lockout_objects
from securemeter.meter.logs.objects import is_log_object, log_object_catalogue
from securemeter.session.connection import MIN_CLIENT_PDU_SIZE

# Client SAPs: 0 is no-station and 127 all-station (HDLC's 7-bit client address), so a role
# may use 1 to 126.
MIN_CLIENT_SAP = 1
MAX_CLIENT_SAP = 126
MIN_PDU_SIZE = MIN_CLIENT_PDU_SIZE  # what the meter asks of clients it asks of itself
MAX_PDU_SIZE = 0xFFFF
MAX_HISTORY_DAYS = device.LOAD_PROFILE_DEPTH // 96  # the load profile holds this many days
MAX_CONNECTIONS = 1024
MAX_INACTIVITY_TIMEOUT = 86_400.0  # one day
MAX_LOCKOUT_FAILURES = 1000
MAX_LOCKOUT_SECONDS = 30 * 86_400.0  # lockout times, window and quiet period: 30 days at most
MAX_USER_ID = 0xFF  # user_id is an unsigned in Association LN user_list
# Role and user names end up in logs: printable ASCII only, no line breaks, no edge spaces.
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9 _.\-]{0,30}[A-Za-z0-9_.\-])?$")
EVERY_OBJECT = "*"
EVERYTHING = "all"
REPLY_TO_HLS_AUTHENTICATION = 1  # the one method a read-only role may hold (Association LN)

MECHANISMS: Mapping[str, AuthenticationMechanism] = {
    "none": AuthenticationMechanism.NONE,
    "low": AuthenticationMechanism.LOW,
    "hls-gmac": AuthenticationMechanism.HIGH_GMAC,
}
PROTECTIONS: Mapping[str, Protection] = {protection.value: protection for protection in Protection}
INTERFACES: Mapping[str, Interface] = {interface.value: interface for interface in Interface}

_TOP_KEYS = ("meter", "interfaces", "roles")
_METER_KEYS = ("max_receive_pdu_size", "load_profile_history_days")
_LOCKOUT_KEYS = (
    "lockout",
    "lockout_failures",
    "lockout_window",
    "lockout_time",
    "lockout_max_time",
    "lockout_quiet_period",
)
_INTERFACE_KEYS = ("max_connections", "inactivity_timeout", *_LOCKOUT_KEYS)
_ROLE_KEYS = ("sap", "name", "mechanism", "security", "interfaces", "users", "objects")
_USER_KEYS = ("id", "name")
_OBJECT_KEYS = ("obis", "read", "write", "methods")

PathPart = str | int


class ConfigError(SecuremeterError):
    """A configuration file that cannot be used; the message says where and how to fix it."""

    def __init__(
        self,
        problem: str,
        *,
        path: str = "",
        hint: str = "",
        line: int | None = None,
        source: str = "<config>",
    ) -> None:
        self.problem = problem
        self.path = path
        self.hint = hint
        self.line = line
        self.source = source
        where = source if line is None else f"{source}:{line}"
        message = f"{where}: {path}: {problem}" if path else f"{where}: {problem}"
        if hint:
            message = f"{message}. Fix: {hint}"
        super().__init__(message)


# ---------------------------------------------------------------------------- the catalogue


def demo_device_objects() -> tuple[tuple[Obis, int], ...]:
    """(logical name, class id) of every object ``meter.device.build_device`` creates."""
    return (
        (device.CLOCK, Clock.CLASS_ID),
        (device.LOGICAL_DEVICE_NAME, DataObject.CLASS_ID),
        (device.SERIAL_NUMBER, DataObject.CLASS_ID),
        (device.FIRMWARE_IDENTIFIER, DataObject.CLASS_ID),
        (device.ACTIVE_ENERGY_IMPORT, Register.CLASS_ID),
        (device.ACTIVE_ENERGY_EXPORT, Register.CLASS_ID),
        (device.VOLTAGE, Register.CLASS_ID),
        (device.CURRENT, Register.CLASS_ID),
        (device.LOAD_PROFILE, ProfileGeneric.CLASS_ID),
        (device.TCP_UDP_SETUP, TcpUdpSetup.CLASS_ID),
        (device.HDLC_SETUP, HdlcSetup.CLASS_ID),
        (device.TEST_OCTETS, DataObject.CLASS_ID),
    )


def role_objects(instance: int) -> tuple[tuple[Obis, int], ...]:
    """(logical name, class id) of the objects a role at this instance brings."""
    return (
        (Obis(0, 0, 40, 0, instance, 255), AssociationLN.CLASS_ID),
        (Obis(0, 0, 43, 0, instance, 255), SecuritySetup.CLASS_ID),
        (Obis(0, 0, 43, 1, instance, 255), DataObject.CLASS_ID),
    )


# Data objects of the catalogue whose value is fixed or computed: a SET is always refused.
FIXED_VALUE_OBJECTS = frozenset(
    {device.LOGICAL_DEVICE_NAME, device.SERIAL_NUMBER, device.FIRMWARE_IDENTIFIER}
)


def settable_attributes(logical_name: Obis, class_id: int) -> frozenset[int]:
    """The attributes of this object that a SET can change (write "all" means these)."""
    if is_log_object(logical_name):
        return frozenset()  # event logs and their objects are read-only (docs/LOGS.md)
    if class_id == DataObject.CLASS_ID and (
        logical_name in FIXED_VALUE_OBJECTS or _is_invocation_counter(logical_name)
    ):
        return frozenset()
    return describe(class_id).writable_attributes


def _is_invocation_counter(logical_name: Obis) -> bool:
    return (logical_name.c, logical_name.d) == (43, 1)  # 0.0.43.1.e.255, computed


def object_catalogue(role_count: int) -> dict[Obis, int]:
    """Every object a meter with ``role_count`` roles (instances 1..n) serves: name -> class."""
    catalogue = dict(demo_device_objects())
    for instance in range(1, role_count + 1):
        catalogue.update(role_objects(instance))
    catalogue[CURRENT_ASSOCIATION] = AssociationLN.CLASS_ID
    catalogue.update(lockout_objects())  # one per interface, 0.0.96.128.e.255 (docs/ACCESS.md)
    catalogue.update(log_object_catalogue())  # the event logs (docs/LOGS.md)
    return catalogue


# ---------------------------------------------------------------------------- entry points


def load_config(path: Path) -> MeterConfig:
    """Read and validate a configuration file; ConfigError for any problem, I/O included."""
    source = str(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read the file ({exc.strerror or exc})",
            hint="check the path and the file's permissions",
            source=source,
        ) from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise ConfigError(
            "the file is not UTF-8 text", hint="save it as UTF-8", line=line, source=source
        ) from None
    return parse_config(text, source=source)


def parse_config(text: str, *, source: str = "<config>") -> MeterConfig:
    """Validate the text of a configuration file and build the meter's configuration."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = re.search(r"\(at line (\d+), column \d+\)", message)
        line = int(found.group(1)) if found else None
        raise ConfigError(
            f"TOML syntax error: {message}",
            hint="check brackets, commas, '=' and quotes on that line "
            "(strings need double quotes, keys may appear only once per table)",
            line=line,
            source=source,
        ) from None
    return _Reader(source, KeyLines(text)).config(document)


# ---------------------------------------------------------------------------- line numbers


_BARE_OR_QUOTED_KEY = r'(?:[A-Za-z0-9_\-]+|"(?:[^"\\]|\\.)*"|\'[^\']*\')'
_DOTTED_KEY = rf"{_BARE_OR_QUOTED_KEY}(?:\s*\.\s*{_BARE_OR_QUOTED_KEY})*"
_KEY_LINE = re.compile(rf"^\s*({_DOTTED_KEY})\s*=")
_ARRAY_HEADER = re.compile(rf"^\s*\[\[\s*({_DOTTED_KEY})\s*\]\]")
_TABLE_HEADER = re.compile(rf"^\s*\[\s*({_DOTTED_KEY})\s*\]")
_KEY_PART = re.compile(_BARE_OR_QUOTED_KEY)


def _key_parts(dotted: str) -> tuple[str, ...]:
    parts = []
    for part in _KEY_PART.findall(dotted):
        if part[:1] in ('"', "'"):
            part = part[1:-1]
        parts.append(part)
    return tuple(parts)


class KeyLines:
    """Where each key path of a TOML text is written (tomllib gives no positions).

    A light scan of headers and ``key =`` lines, following arrays of tables so that
    ``roles[2].objects[1].obis`` finds the right line; values that span lines (arrays,
    multi-line strings) are skipped over. Best effort: an unknown path has no line.
    """

    def __init__(self, text: str) -> None:
        self._lines: dict[tuple[PathPart, ...], int] = {}
        self._arrays: dict[tuple[PathPart, ...], int] = {}  # array of tables -> last index
        table: tuple[PathPart, ...] = ()
        depth = 0  # open [ and { of a value spanning lines
        closing: str | None = None  # the delimiter of an open multi-line string
        for number, line in enumerate(text.splitlines(), start=1):
            start = 0
            if closing is not None:
                end = line.find(closing)
                if end < 0:
                    continue
                closing = None
                start = end + 3
            elif depth == 0:
                if match := _ARRAY_HEADER.match(line):
                    parts = _key_parts(match.group(1))
                    array = (*self._resolve(parts[:-1]), parts[-1])
                    index = self._arrays.get(array, -1) + 1
                    self._arrays[array] = index
                    table = (*array, index)
                    self._lines.setdefault(array, number)
                    self._lines[table] = number
                    continue
                if match := _TABLE_HEADER.match(line):
                    table = self._resolve(_key_parts(match.group(1)))
                    self._lines.setdefault(table, number)
                    continue
                if match := _KEY_LINE.match(line):
                    self._lines.setdefault((*table, *_key_parts(match.group(1))), number)
                    start = match.end()
            depth, closing = _scan_value(line, start, depth)

    def _resolve(self, parts: Sequence[str]) -> tuple[PathPart, ...]:
        resolved: tuple[PathPart, ...] = ()
        for part in parts:
            resolved = (*resolved, part)
            if resolved in self._arrays:
                resolved = (*resolved, self._arrays[resolved])
        return resolved

    def line(self, path: Sequence[PathPart]) -> int | None:
        """The line of ``path`` or, failing that, of its nearest enclosing key."""
        key = tuple(path)
        while key:
            if key in self._lines:
                return self._lines[key]
            key = key[:-1]
        return None


def _scan_value(line: str, start: int, depth: int) -> tuple[int, str | None]:
    """Follow brackets and strings through one line; (depth, open multi-line delimiter)."""
    position = start
    while position < len(line):
        char = line[position]
        if char == "#":
            break
        if line.startswith(('"""', "'''"), position):
            delimiter = line[position : position + 3]
            end = line.find(delimiter, position + 3)
            if end < 0:
                return depth, delimiter
            position = end + 3
            continue
        if char == '"':
            position += 1
            while position < len(line) and line[position] != '"':
                position += 2 if line[position] == "\\" else 1
        elif char == "'":
            end = line.find("'", position + 1)
            position = len(line) if end < 0 else end
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth = max(depth - 1, 0)
        position += 1
    return depth, None


# ---------------------------------------------------------------------------- the reader


def format_path(path: Sequence[PathPart]) -> str:
    """('roles', 3, 'sap') -> 'roles[3].sap'."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def _choices(values: Iterable[str]) -> str:
    return ", ".join(f'"{value}"' for value in values)


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f'did you mean "{close[0]}"? ' if close else ""


def _nearest_obis(wanted: Obis, catalogue: Iterable[Obis]) -> str:
    """The catalogued code that differs in the fewest value groups (ties: the earliest)."""
    groups = wanted.to_bytes()

    def distance(candidate: Obis) -> int:
        return sum(a != b for a, b in zip(groups, candidate.to_bytes(), strict=True))

    best = min(catalogue, key=distance, default=None)
    if best is None or distance(best) > 2:
        return ""
    return f'did you mean "{best}"? '


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"  # dates and times


@dataclass(frozen=True, slots=True)
class _ObjectRights:
    """One parsed [[roles.objects]] entry, with where each right was written."""

    grants: tuple[Grant, ...]
    write_path: tuple[PathPart, ...] | None  # set when the entry grants some write
    method_path: tuple[PathPart, ...] | None  # set when it grants more than HLS pass 3


class _Reader:
    def __init__(self, source: str, lines: KeyLines) -> None:
        self._source = source
        self._lines = lines

    def fail(self, path: Sequence[PathPart], problem: str, hint: str) -> NoReturn:
        raise ConfigError(
            problem,
            path=format_path(path),
            hint=hint,
            line=self._lines.line(path),
            source=self._source,
        )

    # -- shapes and types

    def table(self, value: object, path: Sequence[PathPart]) -> dict[str, object]:
        if not isinstance(value, dict):
            self.fail(path, f"expected a table, found {_type_name(value)}", self._table_hint(path))
        return value

    def _table_hint(self, path: Sequence[PathPart]) -> str:
        if path and isinstance(path[-1], int):
            header = ".".join(part for part in path[:-1] if isinstance(part, str))
            return f"write it as a [[{header}]] table"
        return f"write it as a [{format_path(path)}] table"

    def known_keys(
        self, table: Mapping[str, object], path: Sequence[PathPart], allowed: Sequence[str]
    ) -> None:
        for key in table:
            if key not in allowed:
                self.fail(
                    (*path, key),
                    f'unknown key "{key}"',
                    f"{_did_you_mean(key, allowed)}allowed keys here: {_choices(allowed)}",
                )

    def required(self, table: Mapping[str, object], path: Sequence[PathPart], key: str) -> object:
        if key not in table:
            self.fail(path, f'missing key "{key}"', f"add {key} = ... to this table")
        return table[key]

    def integer(self, value: object, path: Sequence[PathPart], low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(
                path,
                f"expected an integer, found {_type_name(value)}",
                f"write a whole number from {low} to {high}, without quotes",
            )
        if not low <= value <= high:
            self.fail(path, f"{value} is out of range", f"use a value from {low} to {high}")
        return value

    def number(self, value: object, path: Sequence[PathPart], high: float) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(
                path,
                f"expected a number of seconds, found {_type_name(value)}",
                f"write a number greater than 0 and at most {high:g}, without quotes",
            )
        if not 0 < value <= high:
            self.fail(
                path,
                f"{value} is out of range",
                f"use a number greater than 0 and at most {high:g}",
            )
        return float(value)

    def string(self, value: object, path: Sequence[PathPart], hint: str) -> str:
        if not isinstance(value, str):
            self.fail(path, f"expected a string, found {_type_name(value)}", hint)
        return value

    def array(self, value: object, path: Sequence[PathPart], hint: str) -> list[object]:
        if not isinstance(value, list):
            self.fail(path, f"expected an array, found {_type_name(value)}", hint)
        return value

    def choice(
        self, value: object, path: Sequence[PathPart], choices: Mapping[str, object], what: str
    ) -> str:
        hint = f"use one of {_choices(choices)}"
        text = self.string(value, path, hint)
        if text not in choices:
            self.fail(path, f'unknown {what} "{text}"', f"{_did_you_mean(text, choices)}{hint}")
        return text

    def name(self, value: object, path: Sequence[PathPart]) -> str:
        hint = (
            "use 1 to 32 characters: letters, digits, space, '_', '-' or '.', "
            "starting with a letter or digit and not ending with a space"
        )
        text = self.string(value, path, hint)
        if not _NAME.match(text):
            self.fail(path, f"{text!r} is not a valid name", hint)
        return text

    # -- the document

    def config(self, document: dict[str, object]) -> MeterConfig:
        self.known_keys(document, (), _TOP_KEYS)
        max_receive_pdu_size, history_days = self.meter(document.get("meter", {}))
        interfaces = self.interfaces(document.get("interfaces", {}))
        roles = self.roles(document.get("roles"))
        return MeterConfig(
            roles=roles,
            interfaces=interfaces,
            max_receive_pdu_size=max_receive_pdu_size,
            load_profile_history_days=history_days,
        )

    def meter(self, value: object) -> tuple[int, int]:
        path = ("meter",)
        table = self.table(value, path)
        self.known_keys(table, path, _METER_KEYS)
        defaults = MeterConfig(roles=())
        size = defaults.max_receive_pdu_size
        if "max_receive_pdu_size" in table:
            size = self.integer(
                table["max_receive_pdu_size"],
                (*path, "max_receive_pdu_size"),
                MIN_PDU_SIZE,
                MAX_PDU_SIZE,
            )
        days = defaults.load_profile_history_days
        if "load_profile_history_days" in table:
            days = self.integer(
                table["load_profile_history_days"],
                (*path, "load_profile_history_days"),
                0,
                MAX_HISTORY_DAYS,
            )
        return size, days

    def interfaces(self, value: object) -> tuple[InterfaceConfig, ...]:
        path = ("interfaces",)
        table = self.table(value, path)
        self.known_keys(table, path, tuple(INTERFACES))
        result = []
        for interface in Interface:
            settings = self.table(table.get(interface.value, {}), (*path, interface.value))
            where = (*path, interface.value)
            self.known_keys(settings, where, _INTERFACE_KEYS)
            default = InterfaceConfig(interface)
            connections = default.max_connections
            if "max_connections" in settings:
                connections = self.integer(
                    settings["max_connections"], (*where, "max_connections"), 1, MAX_CONNECTIONS
                )
            timeout = default.inactivity_timeout
            if "inactivity_timeout" in settings:
                timeout = self.number(
                    settings["inactivity_timeout"],
                    (*where, "inactivity_timeout"),
                    MAX_INACTIVITY_TIMEOUT,
                )
            lockout = self.lockout(settings, where)
            result.append(InterfaceConfig(interface, connections, timeout, lockout))
        return tuple(result)

    def lockout(
        self, settings: Mapping[str, object], where: tuple[PathPart, ...]
    ) -> LockoutSettings:
        """The port lockout keys of one [interfaces.*] table (docs/ACCESS.md)."""
        default = LockoutSettings()
        enabled = settings.get("lockout", default.enabled)
        if not isinstance(enabled, bool):
            self.fail(
                (*where, "lockout"),
                f"expected true or false, found {_type_name(enabled)}",
                "write lockout = true (the default) or lockout = false, without quotes",
            )
        failures = default.failures
        if "lockout_failures" in settings:
            failures = self.integer(
                settings["lockout_failures"],
                (*where, "lockout_failures"),
                1,
                MAX_LOCKOUT_FAILURES,
            )
        seconds: dict[str, float] = {}
        for key, attribute in (
            ("lockout_window", "window"),
            ("lockout_time", "lockout_time"),
            ("lockout_max_time", "max_lockout_time"),
            ("lockout_quiet_period", "quiet_period"),
        ):
            value = getattr(default, attribute)
            if key in settings:
                value = self.number(settings[key], (*where, key), MAX_LOCKOUT_SECONDS)
            seconds[attribute] = value
        if seconds["lockout_time"] > seconds["max_lockout_time"]:
            key = "lockout_max_time" if "lockout_max_time" in settings else "lockout_time"
            self.fail(
                (*where, key),
                f"the first lockout ({seconds['lockout_time']:g} s) is longer than the longest "
                f"({seconds['max_lockout_time']:g} s)",
                "make lockout_max_time at least lockout_time",
            )
        return LockoutSettings(enabled=enabled, failures=failures, **seconds)

    def roles(self, value: object) -> tuple[RoleConfig, ...]:
        path = ("roles",)
        if value is None:
            self.fail(path, "no role is defined", "add at least one [[roles]] table")
        entries = self.array(value, path, "write each role as a [[roles]] table")
        if not entries:
            self.fail(path, "no role is defined", "add at least one [[roles]] table")
        if len(entries) > MAX_ROLES:
            self.fail(
                (*path, MAX_ROLES),
                f"{len(entries)} roles, at most {MAX_ROLES} are allowed",
                f"remove roles until {MAX_ROLES} are left (one Association LN object each)",
            )
        catalogue = object_catalogue(len(entries))
        roles: list[RoleConfig] = []
        for index, entry in enumerate(entries):
            role = self.role(entry, (*path, index), index + 1, catalogue)
            for earlier_index, earlier in enumerate(roles):
                if earlier.sap == role.sap:
                    self.fail(
                        (*path, index, "sap"),
                        f"SAP {role.sap} is already used by roles[{earlier_index}] "
                        f'("{earlier.name}")',
                        "give each role its own client SAP",
                    )
                if earlier.name.casefold() == role.name.casefold():
                    self.fail(
                        (*path, index, "name"),
                        f'name "{role.name}" is already used by roles[{earlier_index}]',
                        "give each role its own name (names are compared ignoring case)",
                    )
            roles.append(role)
        return tuple(roles)

    def role(
        self,
        value: object,
        path: tuple[PathPart, ...],
        instance: int,
        catalogue: Mapping[Obis, int],
    ) -> RoleConfig:
        table = self.table(value, path)
        self.known_keys(table, path, _ROLE_KEYS)
        sap = self.integer(
            self.required(table, path, "sap"), (*path, "sap"), MIN_CLIENT_SAP, MAX_CLIENT_SAP
        )
        name = self.name(self.required(table, path, "name"), (*path, "name"))
        mechanism = MECHANISMS[
            self.choice(
                self.required(table, path, "mechanism"),
                (*path, "mechanism"),
                MECHANISMS,
                "mechanism",
            )
        ]
        protection = PROTECTIONS[
            self.choice(
                self.required(table, path, "security"), (*path, "security"), PROTECTIONS, "security"
            )
        ]
        interfaces = self.role_interfaces(self.required(table, path, "interfaces"), path)
        users = self.users(table.get("users", []), (*path, "users"))
        objects = self.objects(table.get("objects", []), (*path, "objects"), catalogue)
        self.check_protection(path, mechanism, protection, objects)
        return RoleConfig(
            sap=sap,
            name=name,
            mechanism=mechanism,
            protection=protection,
            interfaces=interfaces,
            grants=tuple(grant for entry in objects for grant in entry.grants),
            instance=instance,
            users=users,
        )

    def role_interfaces(self, value: object, role_path: Sequence[PathPart]) -> frozenset[Interface]:
        path = (*role_path, "interfaces")
        hint = f'list one or more of {_choices(INTERFACES)}, e.g. interfaces = ["tcp"]'
        names = self.array(value, path, hint)
        if not names:
            self.fail(path, "no interface is listed: the role could never associate", hint)
        return frozenset(
            INTERFACES[self.choice(item, (*path, index), INTERFACES, "interface")]
            for index, item in enumerate(names)
        )

    def users(self, value: object, path: tuple[PathPart, ...]) -> tuple[User, ...]:
        entries = self.array(value, path, 'write users = [{ id = 1, name = "alice" }]')
        users: list[User] = []
        for index, entry in enumerate(entries):
            where = (*path, index)
            table = self.table(entry, where)
            self.known_keys(table, where, _USER_KEYS)
            user_id = self.integer(
                self.required(table, where, "id"), (*where, "id"), 0, MAX_USER_ID
            )
            name = self.name(self.required(table, where, "name"), (*where, "name"))
            for earlier_index, earlier in enumerate(users):
                if earlier.user_id == user_id:
                    self.fail(
                        (*where, "id"),
                        f"user id {user_id} is already used by users[{earlier_index}]",
                        "give each user of a role its own id",
                    )
            users.append(User(user_id, name))
        return tuple(users)

    def objects(
        self, value: object, path: tuple[PathPart, ...], catalogue: Mapping[Obis, int]
    ) -> list[_ObjectRights]:
        entries = self.array(value, path, "write each object as a [[roles.objects]] table")
        result: list[_ObjectRights] = []
        seen: dict[Obis | None, int] = {}
        for index, entry in enumerate(entries):
            where = (*path, index)
            table = self.table(entry, where)
            self.known_keys(table, where, _OBJECT_KEYS)
            logical_name = self.logical_name(
                self.required(table, where, "obis"), (*where, "obis"), catalogue
            )
            if logical_name in seen:
                self.fail(
                    (*where, "obis"),
                    f"{EVERY_OBJECT if logical_name is None else logical_name} is already "
                    f"listed at {format_path((*path, seen[logical_name]))}",
                    "merge the two entries into one",
                )
            seen[logical_name] = index
            if logical_name is None:
                result.append(self.every_object(table, where, catalogue))
            else:
                result.append(self.one_object(table, where, logical_name, catalogue[logical_name]))
        return result

    def logical_name(
        self, value: object, path: Sequence[PathPart], catalogue: Mapping[Obis, int]
    ) -> Obis | None:
        hint = f'write the OBIS code as a string, e.g. "0.0.1.0.0.255", or "{EVERY_OBJECT}"'
        text = self.string(value, path, hint)
        if text.strip() == EVERY_OBJECT:
            return None
        try:
            logical_name = Obis.parse(text)
        except ValueError:
            self.fail(path, f'"{text}" is not an OBIS code', hint)
        if logical_name not in catalogue:
            self.fail(
                path,
                f"the meter has no object {logical_name}",
                f"{_nearest_obis(logical_name, catalogue)}the objects are listed in "
                "docs/CONFIGURATION.md (role objects exist only for instances 1 to the "
                "number of roles)",
            )
        return logical_name

    def every_object(
        self, table: Mapping[str, object], path: tuple[PathPart, ...], catalogue: Mapping[Obis, int]
    ) -> _ObjectRights:
        """Rights on every object: only "all" is meaningful across interface classes."""
        given: dict[str, bool] = {}
        for key in ("read", "write", "methods"):
            value = table.get(key, [])
            if value == EVERYTHING:
                given[key] = True
            elif value == []:
                given[key] = False
            else:
                self.fail(
                    (*path, key),
                    f'rights on "{EVERY_OBJECT}" must be "{EVERYTHING}" or []',
                    "attribute and method numbers differ between interface classes: name "
                    "the object by its OBIS code to grant single attributes or methods",
                )
        grants: list[Grant] = []
        if given["read"] or given["methods"]:
            grants.append(
                Grant(
                    None,
                    read=frozenset({ALL}) if given["read"] else frozenset(),
                    methods=frozenset({ALL}) if given["methods"] else frozenset(),
                )
            )
        if given["write"]:
            # Write "all" means what a SET can change, so the object list stays truthful.
            for logical_name, class_id in catalogue.items():
                writable = settable_attributes(logical_name, class_id)
                if writable:
                    grants.append(Grant(logical_name, write=frozenset(writable)))
        return _ObjectRights(
            grants=tuple(grants),
            write_path=(*path, "write") if given["write"] else None,
            method_path=(*path, "methods") if given["methods"] else None,
        )

    def one_object(
        self,
        table: Mapping[str, object],
        path: tuple[PathPart, ...],
        logical_name: Obis,
        class_id: int,
    ) -> _ObjectRights:
        description = describe(class_id)
        read = self.attribute_rights(table.get("read", []), (*path, "read"), description, None)
        write = self.attribute_rights(
            table.get("write", []),
            (*path, "write"),
            description,
            settable_attributes(logical_name, class_id),
        )
        methods = self.method_rights(table.get("methods", []), (*path, "methods"), description)
        changing_methods = methods != frozenset() and not (
            class_id == AssociationLN.CLASS_ID and methods == {REPLY_TO_HLS_AUTHENTICATION}
        )
        grants: tuple[Grant, ...] = ()
        if read or write or methods:
            grants = (Grant(logical_name, read=read, write=write, methods=methods),)
        return _ObjectRights(
            grants=grants,
            write_path=(*path, "write") if write else None,
            method_path=(*path, "methods") if changing_methods else None,
        )

    def attribute_rights(
        self,
        value: object,
        path: tuple[PathPart, ...],
        description: InterfaceClassDescription,
        settable: frozenset[int] | None,
    ) -> frozenset[int]:
        """Read rights (``settable`` None) or write rights (the attributes a SET can change)."""
        attributes = {attribute.index: attribute.name for attribute in description.attributes}
        if value == EVERYTHING:
            return frozenset({ALL}) if settable is None else settable
        items = self.rights_list(value, path, "attribute")
        indices: set[int] = set()
        for position, item in enumerate(items):
            where = (*path, position)
            index = self.member(item, where, attributes, description, "attribute")
            if settable is None and (description.class_id, index) in NEVER_READABLE:
                self.fail(
                    where,
                    f"attribute {index} ({attributes[index]}) of {description.name} is never "
                    "readable",
                    "remove it: the meter refuses to read it whatever the configuration says",
                )
            if settable is not None and index not in settable:
                listing = ", ".join(f"{i} ({attributes[i]})" for i in sorted(settable))
                self.fail(
                    where,
                    f"attribute {index} ({attributes[index]}) of this {description.name} "
                    "cannot be written by SET",
                    f"remove it; attributes a SET can change here: {listing or 'none'}",
                )
            indices.add(index)
        return frozenset(indices)

    def method_rights(
        self, value: object, path: tuple[PathPart, ...], description: InterfaceClassDescription
    ) -> frozenset[int]:
        if value == EVERYTHING:
            return frozenset({ALL}) if description.methods else frozenset()
        methods = {method.index: method.name for method in description.methods}
        items = self.rights_list(value, path, "method")
        return frozenset(
            self.member(item, (*path, position), methods, description, "method")
            for position, item in enumerate(items)
        )

    def rights_list(self, value: object, path: Sequence[PathPart], what: str) -> list[object]:
        return self.array(
            value,
            path,
            f'list {what} indices or Blue Book names, e.g. [2, "time"], or write "{EVERYTHING}"',
        )

    def member(
        self,
        item: object,
        path: Sequence[PathPart],
        members: Mapping[int, str],
        description: InterfaceClassDescription,
        what: str,
    ) -> int:
        listing = ", ".join(f"{index} ({name})" for index, name in members.items()) or "none"
        hint = f"{description.name} (class {description.class_id}) {what}s: {listing}"
        if isinstance(item, bool) or not isinstance(item, int | str):
            self.fail(
                path,
                f"expected {'an' if what[0] in 'aeiou' else 'a'} {what} index or name, "
                f"found {_type_name(item)}",
                hint,
            )
        if isinstance(item, int):
            if item not in members:
                self.fail(path, f"{description.name} has no {what} {item}", hint)
            return item
        # Blue Book names are matched ignoring case ("xDLMS_context_info", "IP_reference").
        for index, name in members.items():
            if name.casefold() == item.casefold():
                return index
        self.fail(
            path,
            f'{description.name} has no {what} "{item}"',
            f"{_did_you_mean(item, members.values())}{hint}",
        )

    # -- security rules

    def check_protection(
        self,
        path: tuple[PathPart, ...],
        mechanism: AuthenticationMechanism,
        protection: Protection,
        objects: Sequence[_ObjectRights],
    ) -> None:
        """Only authenticated, protected roles may change anything (docs/CONFIGURATION.md)."""
        security_path = (*path, "security")
        changing = next(
            (
                right_path
                for entry in objects
                for right_path in (entry.write_path, entry.method_path)
                if right_path is not None
            ),
            None,
        )
        if mechanism == AuthenticationMechanism.NONE:
            if protection is not Protection.NONE:
                self.fail(
                    security_path,
                    f'security "{protection.value}" on a role without authentication',
                    'set mechanism = "hls-gmac" to give the role keys and authenticate it, or '
                    'security = "none" for an open role',
                )
            if changing is not None:
                self.fail(
                    changing,
                    "write or method rights on a role without authentication (mechanism "
                    '"none" makes the role read-only)',
                    f"remove this right, or set {format_path((*path, 'mechanism'))} = "
                    '"hls-gmac" with security = "auth-enc"',
                )
            return
        if changing is None:
            return
        if protection is Protection.ENCRYPTED:
            self.fail(
                security_path,
                'encrypt-only protection ("enc") on a role with write or method rights '
                f"({format_path(changing)}): it does not authenticate requests",
                'use security = "auth-enc", or make the role read-only',
            )
        if mechanism == AuthenticationMechanism.LOW and protection is not (
            Protection.AUTHENTICATED_ENCRYPTED
        ):
            self.fail(
                security_path,
                "LLS without encryption on a role with write or method rights "
                f"({format_path(changing)}): the password would cross the link in clear",
                'use security = "auth-enc" (better: mechanism = "hls-gmac"), or make the '
                "role read-only",
            )
        if protection is Protection.NONE:
            self.fail(
                security_path,
                'HLS-GMAC without protection ("none") on a role with write or method rights '
                f"({format_path(changing)}): requests after the association could be forged",
                'use security = "auth-enc" or "auth", or make the role read-only',
            )
