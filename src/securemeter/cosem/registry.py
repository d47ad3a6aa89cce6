"""The interface classes this package implements, and a description of each.

The meter uses the descriptions to build object lists and to validate its configuration
(unknown attribute or method names and indices are refused before anything runs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from securemeter.cosem.association_ln import AssociationLN
from securemeter.cosem.base import AttributeDef, CosemObject, MethodDef
from securemeter.cosem.clock import Clock
from securemeter.cosem.data import DataObject
from securemeter.cosem.hdlc_setup import HdlcSetup
from securemeter.cosem.interface_lockout import InterfaceLockout
from securemeter.cosem.profile_generic import ProfileGeneric
from securemeter.cosem.register import Register
from securemeter.cosem.security_setup import SecuritySetup
from securemeter.cosem.tcp_udp_setup import TcpUdpSetup

INTERFACE_CLASSES: Final[Mapping[int, type[CosemObject]]] = MappingProxyType(
    {
        cls.CLASS_ID: cls
        for cls in (
            DataObject,
            Register,
            ProfileGeneric,
            Clock,
            AssociationLN,
            HdlcSetup,
            TcpUdpSetup,
            SecuritySetup,
            InterfaceLockout,
        )
    }
)
"""class_id -> implementing class, e.g. 8 -> Clock."""


@dataclass(frozen=True, slots=True)
class InterfaceClassDescription:
    class_id: int
    version: int
    name: str
    attributes: tuple[AttributeDef, ...]
    methods: tuple[MethodDef, ...]
    writable_attributes: frozenset[int]
    """Attributes a SET may change (for some instances: a fixed Data value stays read-only)."""

    def attribute(self, key: int | str) -> AttributeDef:
        """The attribute with this index or Blue Book name; KeyError if there is none."""
        for attribute in self.attributes:
            if key in (attribute.index, attribute.name):
                return attribute
        raise KeyError(f"{self.name} (class {self.class_id}) has no attribute {key!r}")

    def method(self, key: int | str) -> MethodDef:
        """The method with this index or Blue Book name; KeyError if there is none."""
        for method in self.methods:
            if key in (method.index, method.name):
                return method
        raise KeyError(f"{self.name} (class {self.class_id}) has no method {key!r}")


def describe(interface_class: int | type[CosemObject]) -> InterfaceClassDescription:
    """Describe an interface class given by class id or by class; KeyError if unknown."""
    if isinstance(interface_class, int):
        try:
            cls = INTERFACE_CLASSES[interface_class]
        except KeyError:
            raise KeyError(f"no interface class {interface_class}") from None
    else:
        cls = interface_class
    return InterfaceClassDescription(
        class_id=cls.CLASS_ID,
        version=cls.VERSION,
        name=cls.__name__,
        attributes=cls.ATTRIBUTES,
        methods=cls.METHODS,
        writable_attributes=cls.writable_attributes(),
    )
