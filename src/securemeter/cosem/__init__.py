"""The COSEM object model: interface classes and their behaviour, without I/O.

Each interface class is declared in its own module; ``registry`` maps class ids to them.
"""

from securemeter.codec.identifiers import (
    AuthenticationMechanism,
    SecurityPolicy,
    SecuritySuite,
)
from securemeter.cosem.association_ln import (
    CURRENT_ASSOCIATION,
    AssociationLN,
    AssociationStatus,
    ObjectList,
    ObjectListEntry,
    ObjectListSource,
    User,
    XdlmsContextInfo,
)
from securemeter.cosem.base import (
    AccessSelection,
    AttributeAccess,
    AttributeDef,
    ChangeEvent,
    ChangeKind,
    ChangeObserver,
    CosemObject,
    MethodAccess,
    MethodDef,
    MethodHandler,
    ObjectError,
    ObjectResult,
)
from securemeter.cosem.clock import (
    CLOCK_LOGICAL_NAME,
    Clock,
    ClockBase,
    ClockSettings,
    TimeSource,
    local_to_utc,
)
from securemeter.cosem.data import (
    DataObject,
    Validator,
    integer_validator,
    octet_string_validator,
    type_validator,
)
from securemeter.cosem.hdlc_setup import HDLC_SETUP, BaudRate, HdlcSettings, HdlcSetup
from securemeter.cosem.profile_generic import (
    CLOCK_CAPTURE,
    CaptureObject,
    ListProfileBuffer,
    ProfileBuffer,
    ProfileGeneric,
    Row,
    SortMethod,
)
from securemeter.cosem.register import Register, Unit
from securemeter.cosem.registry import INTERFACE_CLASSES, InterfaceClassDescription, describe
from securemeter.cosem.security_setup import (
    SECURITY_SETUP,
    SecuritySetup,
)
from securemeter.cosem.tcp_udp_setup import TCP_UDP_SETUP, TcpUdpSettings, TcpUdpSetup

__all__ = [
    "CLOCK_CAPTURE",
    "CLOCK_LOGICAL_NAME",
    "CURRENT_ASSOCIATION",
    "HDLC_SETUP",
    "INTERFACE_CLASSES",
    "SECURITY_SETUP",
    "TCP_UDP_SETUP",
    "AccessSelection",
    "AssociationLN",
    "AssociationStatus",
    "AttributeAccess",
    "AttributeDef",
    "AuthenticationMechanism",
    "BaudRate",
    "CaptureObject",
    "ChangeEvent",
    "ChangeKind",
    "ChangeObserver",
    "Clock",
    "ClockBase",
    "ClockSettings",
    "CosemObject",
    "DataObject",
    "HdlcSettings",
    "HdlcSetup",
    "InterfaceClassDescription",
    "ListProfileBuffer",
    "MethodAccess",
    "MethodDef",
    "MethodHandler",
    "ObjectError",
    "ObjectList",
    "ObjectListEntry",
    "ObjectListSource",
    "ObjectResult",
    "ProfileBuffer",
    "ProfileGeneric",
    "Register",
    "Row",
    "SecurityPolicy",
    "SecuritySetup",
    "SecuritySuite",
    "SortMethod",
    "TcpUdpSettings",
    "TcpUdpSetup",
    "TimeSource",
    "Unit",
    "User",
    "Validator",
    "XdlmsContextInfo",
    "describe",
    "integer_validator",
    "local_to_utc",
    "octet_string_validator",
    "type_validator",
]
