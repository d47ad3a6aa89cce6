"""The six default roles of the demo meter and their rights matrix (docs/ACCESS.md).

| SAP | role | mechanism | policy | interfaces |
|---|---|---|---|---|
| 16 | public | none | none | tcp, optical |
| 1 | management | HLS-GMAC | authenticated + encrypted | tcp, optical |
| 2 | reader | HLS-GMAC | authenticated + encrypted | tcp |
| 3 | installer | HLS-GMAC | authenticated + encrypted | optical |
| 4 | firmware | HLS-GMAC | authenticated + encrypted | tcp |
| 5 | security admin | HLS-GMAC | authenticated + encrypted | tcp, optical |

This module is the one source of truth for the demo meter (``config.demo_config()``);
``examples/roles.toml`` writes the same six roles in TOML and a test keeps them equal.

Grants are made only for objects the meter serves: objects that later work adds (the event
logs, image transfer, alarm filter) are granted as soon as they are in the object catalogue
(``config_file.object_catalogue``), which a test keeps equal to what the meter builds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from securemeter.apdu.enums import AuthenticationMechanism
from securemeter.codec.obis import Obis
from securemeter.cosem.base import CosemObject
from securemeter.cosem.clock import Clock
from securemeter.cosem.security_setup import SecuritySetup
from securemeter.meter import device
from securemeter.meter.access import ALL, Grant
from securemeter.meter.config import Interface, Protection, RoleConfig
from securemeter.meter.config_file import object_catalogue, settable_attributes
from securemeter.meter.lockout import lockout_name

ROLE_COUNT: Final = 6
CURRENT_ASSOCIATION: Final = Obis(0, 0, 40, 0, 0, 255)

IDENTITY: Final = (device.LOGICAL_DEVICE_NAME, device.SERIAL_NUMBER, device.FIRMWARE_IDENTIFIER)
REGISTERS: Final = (
    device.ACTIVE_ENERGY_IMPORT,
    device.ACTIVE_ENERGY_EXPORT,
    device.VOLTAGE,
    device.CURRENT,
)
COMMUNICATION_SETUP: Final = (device.TCP_UDP_SETUP, device.HDLC_SETUP)
LOCKOUTS: Final = tuple(lockout_name(interface) for interface in Interface)

# Objects of later work, granted once the meter serves them.
STANDARD_LOG: Final = 0
FRAUD_LOG: Final = 1
COMMUNICATION_LOG: Final = 4
SECURITY_LOG: Final = 6
IMAGE_TRANSFER: Final = Obis(0, 0, 44, 0, 0, 255)
ALARM_FILTER: Final = Obis(0, 0, 97, 98, 10, 255)

_RESET: Final = 1  # Register reset and Profile generic reset (clear) are method 1
_LIFT: Final = 1
_SECURITY_SETUP_METHODS: Final = frozenset(
    {SecuritySetup.METHODS[0].index, SecuritySetup.METHODS[1].index}  # activate, key_transfer
)
_EVERYTHING: Final = frozenset({ALL})
_HLS: Final = AuthenticationMechanism.HIGH_GMAC
_PROTECTED: Final = Protection.AUTHENTICATED_ENCRYPTED  # authenticated + encrypted requests


def log_objects(instance: int) -> tuple[Obis, ...]:
    """An event log (Profile generic 0.0.99.98.e.255) with its event code and its counter."""
    return (
        Obis(0, 0, 99, 98, instance, 255),
        Obis(0, 0, 96, 11, instance, 255),
        Obis(0, 0, 96, 15, instance, 255),
    )


def firmware_identifiers(catalogue: Mapping[Obis, int]) -> tuple[Obis, ...]:
    """Firmware identifiers and signatures (1.b.0.2.e.255) the meter serves."""
    return tuple(name for name in catalogue if (name.a, name.c, name.d) == (1, 0, 2))


def default_roles() -> tuple[RoleConfig, ...]:
    """The six default roles with the rights matrix of docs/ACCESS.md."""
    catalogue = object_catalogue(ROLE_COUNT)

    def present(names: Iterable[Obis]) -> tuple[Obis, ...]:
        return tuple(name for name in names if name in catalogue)

    def read(names: Iterable[Obis]) -> tuple[Grant, ...]:
        return tuple(Grant(name, read=_EVERYTHING) for name in present(names))

    def write(names: Iterable[Obis]) -> tuple[Grant, ...]:
        # "write" = every attribute a SET can change, so the object list stays truthful.
        return tuple(
            Grant(name, write=settable_attributes(name, catalogue[name]))
            for name in present(names)
            if settable_attributes(name, catalogue[name])
        )

    def invoke(names: Iterable[Obis], methods: frozenset[int]) -> tuple[Grant, ...]:
        return tuple(Grant(name, methods=methods) for name in present(names))

    clock = (device.CLOCK,)
    counters = tuple(Obis(0, 0, 43, 1, e, 255) for e in range(1, ROLE_COUNT + 1))
    security_setups = tuple(Obis(0, 0, 43, 0, e, 255) for e in range(1, ROLE_COUNT + 1))
    reader_logs = (
        log_objects(STANDARD_LOG) + log_objects(FRAUD_LOG) + log_objects(COMMUNICATION_LOG)
    )
    security_logs = log_objects(SECURITY_LOG) + log_objects(COMMUNICATION_LOG)
    clearable_logs = (log_objects(STANDARD_LOG)[0], log_objects(FRAUD_LOG)[0])
    own_association = read((CURRENT_ASSOCIATION,))

    public = RoleConfig(
        sap=16,
        name="public",
        mechanism=AuthenticationMechanism.NONE,
        protection=Protection.NONE,
        interfaces=frozenset({Interface.TCP, Interface.OPTICAL}),
        grants=read((*clock, *IDENTITY, CURRENT_ASSOCIATION, *counters)),
        instance=1,
    )
    management = RoleConfig(
        sap=1,
        name="management",
        mechanism=_HLS,
        protection=_PROTECTED,
        interfaces=frozenset({Interface.TCP, Interface.OPTICAL}),
        grants=(
            # Everything is readable but key material, which is never an attribute (and the
            # Association LN secret is never readable, whatever a grant says).
            Grant(None, read=_EVERYTHING),
            *write((*clock, *COMMUNICATION_SETUP, ALARM_FILTER)),
            *invoke(clock, _methods(Clock)),
            *invoke(REGISTERS, frozenset({_RESET})),
            *invoke(clearable_logs, frozenset({_RESET})),
            *invoke(LOCKOUTS, frozenset({_LIFT})),
        ),
        instance=2,
    )
    reader = RoleConfig(
        sap=2,
        name="reader",
        mechanism=_HLS,
        protection=_PROTECTED,
        interfaces=frozenset({Interface.TCP}),
        grants=(
            *read((*clock, *IDENTITY, *REGISTERS, device.LOAD_PROFILE, *reader_logs)),
            *own_association,
        ),
        instance=3,
    )
    installer = RoleConfig(
        sap=3,
        name="installer",
        mechanism=_HLS,
        protection=_PROTECTED,
        interfaces=frozenset({Interface.OPTICAL}),
        grants=(
            *read((*clock, *IDENTITY, *REGISTERS, *COMMUNICATION_SETUP)),
            *write((*clock, *COMMUNICATION_SETUP)),
            *invoke(clock, _methods(Clock)),
            *own_association,
        ),
        instance=4,
    )
    firmware = RoleConfig(
        sap=4,
        name="firmware",
        mechanism=_HLS,
        protection=_PROTECTED,
        interfaces=frozenset({Interface.TCP}),
        grants=(
            *read((IMAGE_TRANSFER, *firmware_identifiers(catalogue), *clock)),
            *write((IMAGE_TRANSFER,)),
            *invoke((IMAGE_TRANSFER,), _EVERYTHING),
            *own_association,
        ),
        instance=5,
    )
    security_admin = RoleConfig(
        sap=5,
        name="security admin",
        mechanism=_HLS,
        protection=_PROTECTED,
        interfaces=frozenset({Interface.TCP, Interface.OPTICAL}),
        grants=(
            *read((*security_setups, *security_logs, *LOCKOUTS)),
            *invoke(security_setups, _SECURITY_SETUP_METHODS),
            *invoke(LOCKOUTS, frozenset({_LIFT})),
            *own_association,
        ),
        instance=6,
    )
    return (public, management, reader, installer, firmware, security_admin)


def _methods(cls: type[CosemObject]) -> frozenset[int]:
    return frozenset(method.index for method in cls.METHODS)
