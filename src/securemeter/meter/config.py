"""The meter's configuration: client roles and interfaces (the demo default lives here).

A role is one client SAP with its own Association LN, Security setup and invocation counter
objects, its own credentials (generated into the store, never in the configuration) and
its own grants.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from securemeter.apdu.enums import AuthenticationMechanism
from securemeter.codec.obis import Obis
from securemeter.meter.access import ALL, Grant
from securemeter.meter.logbook import LogSettings
from securemeter.security.policy import SecurityPolicy

MAX_ROLES = 14
SERVER_LOGICAL_ADDRESS = 1  # the management logical device


class Interface(StrEnum):
    TCP = "tcp"
    OPTICAL = "optical"


class Protection(StrEnum):
    """The initial security policy of a role, as keys.json names it."""

    NONE = "none"
    AUTHENTICATED = "auth"
    ENCRYPTED = "enc"
    AUTHENTICATED_ENCRYPTED = "auth-enc"

    @property
    def policy(self) -> SecurityPolicy:
        return {
            Protection.NONE: SecurityPolicy(0),
            Protection.AUTHENTICATED: SecurityPolicy.AUTHENTICATED_REQUEST,
            Protection.ENCRYPTED: SecurityPolicy.ENCRYPTED_REQUEST,
            Protection.AUTHENTICATED_ENCRYPTED: SecurityPolicy.AUTHENTICATED_REQUEST
            | SecurityPolicy.ENCRYPTED_REQUEST,
        }[self]


@dataclass(frozen=True, slots=True)
class User:
    user_id: int
    name: str


@dataclass(frozen=True, slots=True)
class RoleConfig:
    sap: int
    name: str
    mechanism: AuthenticationMechanism
    protection: Protection
    interfaces: frozenset[Interface]
    grants: tuple[Grant, ...]
    instance: int  # e in 0.0.40.0.e.255, 0.0.43.0.e.255 and 0.0.43.1.e.255
    users: tuple[User, ...] = ()

    @property
    def association_name(self) -> Obis:
        return Obis(0, 0, 40, 0, self.instance, 255)

    @property
    def security_setup_name(self) -> Obis:
        return Obis(0, 0, 43, 0, self.instance, 255)

    @property
    def invocation_counter_name(self) -> Obis:
        return Obis(0, 0, 43, 1, self.instance, 255)

    @property
    def has_keys(self) -> bool:
        """Roles with ciphering or HLS-GMAC get an EK, AK and KEK in the store."""
        return (
            self.protection is not Protection.NONE
            or self.mechanism == AuthenticationMechanism.HIGH_GMAC
        )

    @property
    def has_password(self) -> bool:
        return self.mechanism == AuthenticationMechanism.LOW


@dataclass(frozen=True, slots=True)
class LockoutSettings:
    """Port lockout of one interface (docs/ACCESS.md, meter/lockout.py): ``failures`` counted
    failures within ``window`` seconds refuse every new association for ``lockout_time``
    seconds, doubling with each further lockout up to ``max_lockout_time``; a lockout that
    starts ``quiet_period`` seconds after the previous one ended starts from the first step."""

    enabled: bool = True
    failures: int = 3
    window: float = 300.0
    lockout_time: float = 60.0
    max_lockout_time: float = 86_400.0
    quiet_period: float = 86_400.0

    def __post_init__(self) -> None:
        if self.failures < 1:
            raise ValueError("lockout needs at least one failure to count")
        if not 0 < self.lockout_time <= self.max_lockout_time:
            raise ValueError("lockout times must be positive, the first at most the maximum")
        if self.window <= 0 or self.quiet_period <= 0:
            raise ValueError("lockout window and quiet period must be positive")


@dataclass(frozen=True, slots=True)
class InterfaceConfig:
    name: Interface
    max_connections: int = 8
    inactivity_timeout: float = 120.0  # seconds without a frame before the link is closed
    lockout: LockoutSettings = LockoutSettings()


@dataclass(frozen=True, slots=True)
class MeterConfig:
    roles: tuple[RoleConfig, ...]
    interfaces: tuple[InterfaceConfig, ...] = (
        InterfaceConfig(Interface.TCP),
        InterfaceConfig(Interface.OPTICAL),
    )
    max_receive_pdu_size: int = 1024
    load_profile_history_days: int = 30
    extra: dict[str, object] = field(default_factory=dict)
    logs: LogSettings = field(default_factory=LogSettings)  # event logs (docs/LOGS.md)

    def role(self, sap: int) -> RoleConfig | None:
        for role in self.roles:
            if role.sap == sap:
                return role
        return None

    def interface(self, name: Interface) -> InterfaceConfig:
        for interface in self.interfaces:
            if interface.name is name:
                return interface
        return InterfaceConfig(name)


PUBLIC_CLIENT = RoleConfig(
    sap=16,
    name="public",
    mechanism=AuthenticationMechanism.NONE,
    protection=Protection.NONE,
    interfaces=frozenset({Interface.TCP, Interface.OPTICAL}),
    # A read-everything public client for tests and examples (the access layer never lets the
    # Association LN secret be read); the demo meter's public role reads far less
    # (meter/default_roles.py).
    grants=(Grant(None, read=frozenset({ALL})),),
    instance=1,
)


def demo_config() -> MeterConfig:
    """The demo meter: the six default roles and their rights matrix (docs/ACCESS.md)."""
    from securemeter.meter.default_roles import default_roles  # it reads the object catalogue

    return MeterConfig(roles=default_roles())
