"""Association LN, interface class 15 version 2: what one association may see and do.

* object_list (2) comes from an injected :class:`ObjectListSource`; the encoded list is cached
  until the source's ``version`` changes, so re-reading it costs one copy of the octets.
* application_context_name (4) and authentication_mechanism_name (6) use the structure form
  of seven arcs {2, 16, 756, 5, 8, kind, id}, the country-name arc 756 being a long-unsigned
  (the form gurux-dlms reads and writes; dlms-cosem does not read these attributes).
* secret (7) is never readable, whatever the rights: a GET is refused with READ_WRITE_DENIED,
  and so is a SET: secrets change only through the meter's own credential flow.
* The methods are behaviour injected per association (the session's security layer supplies
  reply_to_HLS_authentication); a method without a handler is refused with READ_WRITE_DENIED
  and the meter marks it no-access in the object list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Final, Protocol

from securemeter.codec.axdr import (
    Array,
    BitString,
    Data,
    Enum,
    Integer,
    LongUnsigned,
    NullData,
    OctetString,
    Structure,
    Unsigned,
    VisibleString,
)
from securemeter.codec.identifiers import ApplicationContextName, AuthenticationMechanism
from securemeter.codec.obis import Obis
from securemeter.cosem.base import (
    AccessSelection,
    AttributeAccess,
    AttributeDef,
    ChangeObserver,
    CosemObject,
    MethodAccess,
    MethodDef,
    MethodHandler,
    ObjectError,
    ObjectResult,
)

CURRENT_ASSOCIATION: Final = Obis(0, 0, 40, 0, 0, 255)
_SECRET: Final = 7  # attribute index of secret

# {joint-iso-ccitt(2) country(16) country-name(756) identified-organization(5) DLMS-UA(8)}
_DLMS_UA_ARCS: Final = (2, 16, 756, 5, 8)
_APPLICATION_CONTEXT_ARC: Final = 1
_AUTHENTICATION_MECHANISM_ARC: Final = 2


class AssociationStatus(IntEnum):
    NON_ASSOCIATED = 0
    ASSOCIATION_PENDING = 1
    ASSOCIATED = 2


def _name_structure(kind: int, identifier: int) -> Structure:
    joint_iso_ccitt, country, country_name, organization, dlms_ua = _DLMS_UA_ARCS
    return Structure(
        (
            Unsigned(joint_iso_ccitt),
            Unsigned(country),
            LongUnsigned(country_name),
            Unsigned(organization),
            Unsigned(dlms_ua),
            Unsigned(kind),
            Unsigned(identifier),
        )
    )


@dataclass(frozen=True, slots=True)
class ObjectListEntry:
    """One object_list element: an object and the rights this association has on it.

    ``attribute_access`` holds (attribute_id, mode, access_selectors or None) and
    ``method_access`` (method_id, mode).
    """

    class_id: int
    version: int
    logical_name: Obis
    attribute_access: tuple[tuple[int, AttributeAccess, tuple[int, ...] | None], ...]
    method_access: tuple[tuple[int, MethodAccess], ...]

    def to_data(self) -> Structure:
        attributes = Array(
            tuple(
                Structure(
                    (
                        Integer(attribute_id),
                        Enum(mode),
                        NullData()
                        if selectors is None
                        else Array(tuple(Integer(selector) for selector in selectors)),
                    )
                )
                for attribute_id, mode, selectors in self.attribute_access
            )
        )
        methods = Array(
            tuple(
                Structure((Integer(method_id), Enum(mode)))
                for method_id, mode in self.method_access
            )
        )
        return Structure(
            (
                LongUnsigned(self.class_id),
                Unsigned(self.version),
                OctetString(self.logical_name.to_bytes()),
                Structure((attributes, methods)),
            )
        )


class ObjectListSource(Protocol):
    """The objects an association lists; ``version`` changes whenever the entries change."""

    @property
    def version(self) -> int: ...

    def entries(self) -> Iterable[ObjectListEntry]: ...


class ObjectList:
    """A simple ObjectListSource held in memory; add and remove bump the version."""

    def __init__(self, entries: Iterable[ObjectListEntry] = ()) -> None:
        self._entries: dict[tuple[int, Obis], ObjectListEntry] = {}
        self._version = 0
        for entry in entries:
            self.add(entry)

    @property
    def version(self) -> int:
        return self._version

    def entries(self) -> Iterable[ObjectListEntry]:
        return tuple(self._entries.values())

    def add(self, entry: ObjectListEntry) -> None:
        """Add an entry, or replace the one with the same class id and logical name."""
        self._entries[(entry.class_id, entry.logical_name)] = entry
        self._version += 1

    def remove(self, class_id: int, logical_name: Obis) -> bool:
        if self._entries.pop((class_id, logical_name), None) is None:
            return False
        self._version += 1
        return True


@dataclass(frozen=True, slots=True)
class XdlmsContextInfo:
    """xDLMS_context_info (5): what the meter accepts in an xDLMS initiate exchange."""

    conformance: int  # the 24-bit conformance block, ASN.1 bit n = 1 << (23 - n)
    max_receive_pdu_size: int
    max_send_pdu_size: int
    dlms_version: int = 6
    quality_of_service: int = 0
    cyphering_info: bytes = b""

    def __post_init__(self) -> None:
        if not 0 <= self.conformance < 1 << 24:
            raise ValueError(f"conformance is a 24-bit block: {self.conformance:#x}")

    def to_data(self) -> Structure:
        return Structure(
            (
                BitString(self.conformance.to_bytes(3, "big"), 24),
                LongUnsigned(self.max_receive_pdu_size),
                LongUnsigned(self.max_send_pdu_size),
                Unsigned(self.dlms_version),
                Integer(self.quality_of_service),
                OctetString(self.cyphering_info),
            )
        )


@dataclass(frozen=True, slots=True)
class User:
    user_id: int
    user_name: str

    def to_data(self) -> Structure:
        return Structure((Unsigned(self.user_id), VisibleString(self.user_name)))


_NO_USER: Final = User(0, "")


@dataclass(frozen=True, slots=True)
class _EncodedArray(Array):
    """An Array that carries its own encoding, so re-sending it costs one copy."""

    encoded: bytes

    def encode_into(self, out: bytearray) -> None:
        out += self.encoded


class AssociationLN(CosemObject):
    CLASS_ID = 15
    VERSION = 2
    ATTRIBUTES = (
        AttributeDef(1, "logical_name"),
        AttributeDef(2, "object_list"),
        AttributeDef(3, "associated_partners_id"),
        AttributeDef(4, "application_context_name"),
        AttributeDef(5, "xDLMS_context_info"),
        AttributeDef(6, "authentication_mechanism_name"),
        AttributeDef(7, "secret"),
        AttributeDef(8, "association_status"),
        AttributeDef(9, "security_setup_reference"),
        AttributeDef(10, "user_list"),
        AttributeDef(11, "current_user"),
    )
    METHODS = (
        MethodDef(1, "reply_to_HLS_authentication"),
        MethodDef(2, "change_HLS_secret"),
        MethodDef(3, "add_object"),
        MethodDef(4, "remove_object"),
        MethodDef(5, "add_user"),
        MethodDef(6, "remove_user"),
    )

    def __init__(
        self,
        logical_name: Obis = CURRENT_ASSOCIATION,
        *,
        object_list: ObjectListSource,
        client_sap: int,
        server_sap: int,
        application_context: ApplicationContextName,
        authentication_mechanism: AuthenticationMechanism,
        context_info: XdlmsContextInfo,
        security_setup_reference: Obis,
        association_status: Callable[[], AssociationStatus],
        users: Callable[[], Sequence[User]] = tuple,
        current_user: Callable[[], User | None] = lambda: None,
        reply_to_hls_authentication: MethodHandler | None = None,
        change_hls_secret: MethodHandler | None = None,
        add_object: MethodHandler | None = None,
        remove_object: MethodHandler | None = None,
        add_user: MethodHandler | None = None,
        remove_user: MethodHandler | None = None,
        on_change: ChangeObserver | None = None,
    ) -> None:
        super().__init__(logical_name, on_change=on_change)
        self._object_list = object_list
        self._cached_object_list: tuple[int, _EncodedArray] | None = None
        self._associated_partners_id = Structure((Integer(client_sap), LongUnsigned(server_sap)))
        self._application_context_name = _name_structure(
            _APPLICATION_CONTEXT_ARC, ApplicationContextName(application_context)
        )
        self._authentication_mechanism_name = _name_structure(
            _AUTHENTICATION_MECHANISM_ARC, AuthenticationMechanism(authentication_mechanism)
        )
        self._context_info = context_info.to_data()
        self._security_setup_reference = OctetString(security_setup_reference.to_bytes())
        self._association_status = association_status
        self._users = users
        self._current_user = current_user
        self._handlers: dict[int, MethodHandler | None] = {
            1: reply_to_hls_authentication,
            2: change_hls_secret,
            3: add_object,
            4: remove_object,
            5: add_user,
            6: remove_user,
        }

    def get_attribute(self, index: int, selection: AccessSelection | None = None) -> Data:
        if index == _SECRET:  # refused first, whatever selection comes with the request
            raise ObjectError(
                ObjectResult.READ_WRITE_DENIED, f"{self}: the secret is never readable"
            )
        return super().get_attribute(index, selection)

    # -- attributes

    def _get_object_list(self) -> Data:
        version = self._object_list.version
        cached = self._cached_object_list
        if cached is None or cached[0] != version:
            items = tuple(entry.to_data() for entry in self._object_list.entries())
            cached = (version, _EncodedArray(items, Array(items).to_bytes()))
            self._cached_object_list = cached
        return cached[1]

    def _get_associated_partners_id(self) -> Data:
        return self._associated_partners_id

    def _get_application_context_name(self) -> Data:
        return self._application_context_name

    def _get_xdlms_context_info(self) -> Data:
        return self._context_info

    def _get_authentication_mechanism_name(self) -> Data:
        return self._authentication_mechanism_name

    # No _set_secret: a SET is refused as read-only; secrets change through the meter only.
    def _get_secret(self) -> Data:
        raise ObjectError(ObjectResult.READ_WRITE_DENIED, f"{self}: the secret is never readable")

    def _get_association_status(self) -> Data:
        return Enum(AssociationStatus(self._association_status()))

    def _get_security_setup_reference(self) -> Data:
        return self._security_setup_reference

    def _get_user_list(self) -> Data:
        return Array(tuple(user.to_data() for user in self._users()))

    def _get_current_user(self) -> Data:
        user = self._current_user()
        return (user or _NO_USER).to_data()

    # -- methods: each delegated to its injected handler

    def _invoke_reply_to_hls_authentication(self, parameter: Data) -> Data | None:
        return self._delegate(self._handlers[1], 1, parameter, configuring=False)

    def _invoke_change_hls_secret(self, parameter: Data) -> Data | None:
        return self._delegate(self._handlers[2], 2, parameter, configuring=True)

    def _invoke_add_object(self, parameter: Data) -> Data | None:
        return self._delegate(self._handlers[3], 3, parameter, configuring=True)

    def _invoke_remove_object(self, parameter: Data) -> Data | None:
        return self._delegate(self._handlers[4], 4, parameter, configuring=True)

    def _invoke_add_user(self, parameter: Data) -> Data | None:
        return self._delegate(self._handlers[5], 5, parameter, configuring=True)

    def _invoke_remove_user(self, parameter: Data) -> Data | None:
        return self._delegate(self._handlers[6], 6, parameter, configuring=True)
