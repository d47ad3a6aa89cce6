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
class InterfaceConfig:
    name: Interface
    max_connections: int = 8
    inactivity_timeout: float = 120.0  # seconds without a frame before the link is closed


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
    # Until the roles work narrows it: read everything but secrets (the access layer never
    # lets the Association LN secret be read).
    grants=(Grant(None, read=frozenset({ALL})),),
    instance=1,
)


def demo_config() -> MeterConfig:
    return MeterConfig(roles=(PUBLIC_CLIENT,))
