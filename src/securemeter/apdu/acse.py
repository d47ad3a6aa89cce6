"""ACSE APDUs (BER): AARQ (0x60), AARE (0x61), RLRQ (0x62), RLRE (0x63).

Each is an [APPLICATION n] SEQUENCE of context-tagged components. Decoding rules:

* components must be context-specific and in ascending tag order, which also refuses
  duplicates (X.690 SEQUENCE order; gurux-dlms and dlms-cosem both comply);
* a component this codec does not use (called-AP-title, implementation-information ...) is
  skipped, whatever its content;
* a component it uses must have the expected form, or the APDU is a :class:`DecodeError`.

An application-context-name or mechanism-name OID that is not one of the DLMS ones still
decodes: it stays an :class:`ObjectIdentifier` instead of becoming the enum, so the meter
can answer with the right diagnostic (application-context-name-not-supported,
authentication-mechanism-name-not-recognised) rather than drop the request.

The ``user_information`` fields hold the raw xDLMS APDU carried in the ``BE len 04 len``
wrapper (initiate-request/-response, their glo-/ded- ciphered forms, or a
confirmed-service-error); decoding it is the session's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar, Self, TypeVar

from securemeter.apdu.enums import (
    AcseServiceProviderDiagnostic,
    AcseServiceUserDiagnostic,
    ApduTag,
    ApplicationContextName,
    AssociationResult,
    AuthenticationMechanism,
    DiagnosticSource,
    ReleaseRequestReason,
    ReleaseResponseReason,
)
from securemeter.codec import ber
from securemeter.codec.ber import BitString, ObjectIdentifier, TagClass, UniversalTag
from securemeter.errors import DecodeError, EncodeError

_E = TypeVar("_E", bound=IntEnum)

DLMS_OID_PREFIX = (2, 16, 756, 5, 8)
APPLICATION_CONTEXT_ARC = 1
MECHANISM_ARC = 2

ContextName = ApplicationContextName | ObjectIdentifier
MechanismName = AuthenticationMechanism | ObjectIdentifier

# Authentication-value CHOICE: only charstring [0] is used by DLMS.
_CHARSTRING = ber.context_tag(0, constructed=False)
# acse-requirements BIT STRING {authentication(0)}: one bit, seven unused.
_AUTHENTICATION_FUNCTIONAL_UNIT = BitString(b"\x80", 7)

# component numbers of the ACSE SEQUENCEs
_PROTOCOL_VERSION = 0
_APPLICATION_CONTEXT_NAME = 1
_USER_INFORMATION = 30


# ----------------------------------------------------------------------------- OIDs


def application_context_oid(name: ApplicationContextName) -> ObjectIdentifier:
    return ObjectIdentifier((*DLMS_OID_PREFIX, APPLICATION_CONTEXT_ARC, int(name)))


def mechanism_oid(mechanism: AuthenticationMechanism) -> ObjectIdentifier:
    return ObjectIdentifier((*DLMS_OID_PREFIX, MECHANISM_ARC, int(mechanism)))


def _dlms_name(oid: ObjectIdentifier, arc: int, enum_type: type[_E]) -> _E | ObjectIdentifier:
    arcs = oid.arcs
    if len(arcs) == len(DLMS_OID_PREFIX) + 2 and arcs[:-1] == (*DLMS_OID_PREFIX, arc):
        try:
            return enum_type(arcs[-1])
        except ValueError:
            return oid
    return oid


def _context_oid(name: ContextName) -> ObjectIdentifier:
    if isinstance(name, ApplicationContextName):
        return application_context_oid(name)
    if isinstance(name, ObjectIdentifier):
        return name
    raise EncodeError(f"not an application context name: {name!r}")


def _mechanism_oid(name: MechanismName) -> ObjectIdentifier:
    if isinstance(name, AuthenticationMechanism):
        return mechanism_oid(name)
    if isinstance(name, ObjectIdentifier):
        return name
    raise EncodeError(f"not a mechanism name: {name!r}")


def _known(value: int, enum_type: type[_E]) -> int:
    """``value`` as a member of ``enum_type`` when it is one, else the plain int."""
    try:
        return enum_type(value)
    except ValueError:
        return value


# ----------------------------------------------------------------------------- components


def _components(
    raw: bytes, apdu_tag: int, expected: Mapping[int, bool], name: str
) -> dict[int, bytes]:
    """The content of the components in ``expected`` (number -> constructed), by number."""
    outer = ber.decode_tlv_exact(raw)
    if outer.tag != apdu_tag:
        raise DecodeError(f"{name}: expected tag 0x{apdu_tag:02X}, got 0x{outer.tag:02X}")
    fields: dict[int, bytes] = {}
    previous = -1
    for tlv in ber.iter_tlvs(outer.value):
        if ber.tag_class(tlv.tag) is not TagClass.CONTEXT_SPECIFIC:
            raise DecodeError(f"{name}: component with non-context tag 0x{tlv.tag:02X}")
        number = ber.tag_number(tlv.tag)
        if number <= previous:
            raise DecodeError(f"{name}: component [{number}] duplicated or out of order")
        previous = number
        constructed = expected.get(number)
        if constructed is None:
            continue  # a component DLMS does not use: skipped, not interpreted
        if ber.is_constructed(tlv.tag) != constructed:
            raise DecodeError(f"{name}: component [{number}] has the wrong form")
        fields[number] = tlv.value
    return fields


def _put(out: bytearray, number: int, constructed: bool, content: bytes) -> None:
    out += ber.encode_tlv(ber.context_tag(number, constructed=constructed), content)


def _explicit(tag: UniversalTag, content: bytes) -> bytes:
    return ber.encode_tlv(tag, content)


def _read_explicit(content: bytes, tag: UniversalTag, what: str) -> bytes:
    return ber.decode_explicit(content, tag, what)


def _read_oid(content: bytes) -> ObjectIdentifier:
    return ber.decode_object_identifier(content)


def _read_integer(content: bytes, what: str) -> int:
    return ber.decode_integer(_read_explicit(content, UniversalTag.INTEGER, what))


def _read_authentication_value(content: bytes) -> bytes:
    inner = ber.decode_tlv_exact(content)
    return ber.expect_tag(inner, _CHARSTRING, "authentication-value (charstring)")


def _read_acse_requirements(content: bytes) -> bool:
    return ber.decode_bit_string(content).bit(0)


def _put_common_head(
    out: bytearray, protocol_version: BitString | None, context: ContextName
) -> None:
    if protocol_version is not None:
        _put(out, _PROTOCOL_VERSION, False, ber.encode_bit_string(protocol_version))
    oid = ber.encode_object_identifier(_context_oid(context))
    _put(out, _APPLICATION_CONTEXT_NAME, True, _explicit(UniversalTag.OBJECT_IDENTIFIER, oid))


def _put_user_information(out: bytearray, user_information: bytes | None) -> None:
    if user_information is not None:
        inner = _explicit(UniversalTag.OCTET_STRING, user_information)
        _put(out, _USER_INFORMATION, True, inner)


def _put_authentication(
    out: bytearray,
    tags: tuple[int, int, int],
    requirements: bool,
    mechanism: MechanismName | None,
    value: bytes | None,
) -> None:
    """ACSE requirements, mechanism name and authentication value, under ``tags``."""
    requirements_tag, mechanism_tag, value_tag = tags
    if requirements:
        content = ber.encode_bit_string(_AUTHENTICATION_FUNCTIONAL_UNIT)
        _put(out, requirements_tag, False, content)
    if mechanism is not None:
        content = ber.encode_object_identifier(_mechanism_oid(mechanism))
        _put(out, mechanism_tag, False, content)
    if value is not None:
        _put(out, value_tag, True, ber.encode_tlv(_CHARSTRING, value))


def _read_authentication(
    fields: dict[int, bytes], tags: tuple[int, int, int]
) -> tuple[bool, MechanismName | None, bytes | None]:
    """The inverse of ``_put_authentication``."""
    requirements_tag, mechanism_tag, value_tag = tags
    requirements = fields.get(requirements_tag)
    mechanism = fields.get(mechanism_tag)
    value = fields.get(value_tag)
    return (
        requirements is not None and _read_acse_requirements(requirements),
        None
        if mechanism is None
        else _dlms_name(_read_oid(mechanism), MECHANISM_ARC, AuthenticationMechanism),
        None if value is None else _read_authentication_value(value),
    )


def _read_user_information(fields: dict[int, bytes]) -> bytes | None:
    content = fields.get(_USER_INFORMATION)
    if content is None:
        return None
    return _read_explicit(content, UniversalTag.OCTET_STRING, "user-information")


def _read_protocol_version(fields: dict[int, bytes]) -> BitString | None:
    content = fields.get(_PROTOCOL_VERSION)
    return None if content is None else ber.decode_bit_string(content)


def _read_context(fields: dict[int, bytes], name: str) -> ContextName:
    content = fields.get(_APPLICATION_CONTEXT_NAME)
    if content is None:
        raise DecodeError(f"{name} without application-context-name")
    oid = _read_oid(_read_explicit(content, UniversalTag.OBJECT_IDENTIFIER, "context name"))
    return _dlms_name(oid, APPLICATION_CONTEXT_ARC, ApplicationContextName)


def _wrap(tag: int, content: bytearray) -> bytes:
    return ber.encode_tlv(tag, bytes(content))


# ----------------------------------------------------------------------------- AARQ

_AARQ_CALLING_AP_TITLE = 6
_AARQ_CALLING_AE_QUALIFIER = 7
_AARQ_CALLING_AE_INVOCATION_ID = 9
_AARQ_SENDER_ACSE_REQUIREMENTS = 10
_AARQ_MECHANISM_NAME = 11
_AARQ_CALLING_AUTHENTICATION_VALUE = 12

# The authentication components (ACSE requirements, mechanism name, authentication value),
# tagged differently in the AARQ and the AARE.
_AARQ_AUTHENTICATION = (
    _AARQ_SENDER_ACSE_REQUIREMENTS,
    _AARQ_MECHANISM_NAME,
    _AARQ_CALLING_AUTHENTICATION_VALUE,
)

_AARQ_COMPONENTS: Mapping[int, bool] = {
    _PROTOCOL_VERSION: False,
    _APPLICATION_CONTEXT_NAME: True,
    _AARQ_CALLING_AP_TITLE: True,
    _AARQ_CALLING_AE_QUALIFIER: True,
    _AARQ_CALLING_AE_INVOCATION_ID: True,
    _AARQ_SENDER_ACSE_REQUIREMENTS: False,
    _AARQ_MECHANISM_NAME: False,
    _AARQ_CALLING_AUTHENTICATION_VALUE: True,
    _USER_INFORMATION: True,
}


@dataclass(frozen=True, slots=True)
class AARQ:
    """A-ASSOCIATE request.

    ``calling_ap_title`` is the client system title, ``calling_ae_qualifier`` its
    certificate (suites 1/2), ``calling_ae_invocation_id`` the user id;
    ``sender_acse_requirements`` is the authentication functional unit bit.
    """

    application_context_name: ContextName
    calling_ap_title: bytes | None = None
    calling_ae_qualifier: bytes | None = None
    calling_ae_invocation_id: int | None = None
    sender_acse_requirements: bool = False
    mechanism_name: MechanismName | None = None
    calling_authentication_value: bytes | None = None
    user_information: bytes | None = None
    protocol_version: BitString | None = None
    TAG: ClassVar[int] = ApduTag.AARQ

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        fields = _components(raw, cls.TAG, _AARQ_COMPONENTS, "AARQ")
        context = _read_context(fields, "AARQ")
        title = fields.get(_AARQ_CALLING_AP_TITLE)
        qualifier = fields.get(_AARQ_CALLING_AE_QUALIFIER)
        invocation = fields.get(_AARQ_CALLING_AE_INVOCATION_ID)
        requirements, mechanism, authentication = _read_authentication(fields, _AARQ_AUTHENTICATION)
        return cls(
            application_context_name=context,
            calling_ap_title=None
            if title is None
            else _read_explicit(title, UniversalTag.OCTET_STRING, "calling-AP-title"),
            calling_ae_qualifier=None
            if qualifier is None
            else _read_explicit(qualifier, UniversalTag.OCTET_STRING, "calling-AE-qualifier"),
            calling_ae_invocation_id=None
            if invocation is None
            else _read_integer(invocation, "calling-AE-invocation-id"),
            sender_acse_requirements=requirements,
            mechanism_name=mechanism,
            calling_authentication_value=authentication,
            user_information=_read_user_information(fields),
            protocol_version=_read_protocol_version(fields),
        )

    def to_bytes(self) -> bytes:
        out = bytearray()
        _put_common_head(out, self.protocol_version, self.application_context_name)
        if self.calling_ap_title is not None:
            inner = _explicit(UniversalTag.OCTET_STRING, self.calling_ap_title)
            _put(out, _AARQ_CALLING_AP_TITLE, True, inner)
        if self.calling_ae_qualifier is not None:
            inner = _explicit(UniversalTag.OCTET_STRING, self.calling_ae_qualifier)
            _put(out, _AARQ_CALLING_AE_QUALIFIER, True, inner)
        if self.calling_ae_invocation_id is not None:
            inner = _explicit(
                UniversalTag.INTEGER, ber.encode_integer(self.calling_ae_invocation_id)
            )
            _put(out, _AARQ_CALLING_AE_INVOCATION_ID, True, inner)
        _put_authentication(
            out,
            _AARQ_AUTHENTICATION,
            self.sender_acse_requirements,
            self.mechanism_name,
            self.calling_authentication_value,
        )
        _put_user_information(out, self.user_information)
        return _wrap(self.TAG, out)


# ----------------------------------------------------------------------------- AARE

_AARE_RESULT = 2
_AARE_RESULT_SOURCE_DIAGNOSTIC = 3
_AARE_RESPONDING_AP_TITLE = 4
_AARE_RESPONDER_ACSE_REQUIREMENTS = 8
_AARE_MECHANISM_NAME = 9
_AARE_RESPONDING_AUTHENTICATION_VALUE = 10

_AARE_AUTHENTICATION = (
    _AARE_RESPONDER_ACSE_REQUIREMENTS,
    _AARE_MECHANISM_NAME,
    _AARE_RESPONDING_AUTHENTICATION_VALUE,
)

_AARE_COMPONENTS: Mapping[int, bool] = {
    _PROTOCOL_VERSION: False,
    _APPLICATION_CONTEXT_NAME: True,
    _AARE_RESULT: True,
    _AARE_RESULT_SOURCE_DIAGNOSTIC: True,
    _AARE_RESPONDING_AP_TITLE: True,
    _AARE_RESPONDER_ACSE_REQUIREMENTS: False,
    _AARE_MECHANISM_NAME: False,
    _AARE_RESPONDING_AUTHENTICATION_VALUE: True,
    _USER_INFORMATION: True,
}


def _read_diagnostic(content: bytes) -> tuple[DiagnosticSource, int]:
    inner = ber.decode_tlv_exact(content)
    source_number = ber.tag_number(inner.tag)
    if inner.tag != ber.context_tag(source_number, constructed=True) or source_number not in (
        DiagnosticSource.USER,
        DiagnosticSource.PROVIDER,
    ):
        raise DecodeError(f"result-source-diagnostic: unexpected tag 0x{inner.tag:02X}")
    source = DiagnosticSource(source_number)
    value = _read_integer(inner.value, "result-source-diagnostic")
    if source is DiagnosticSource.USER:
        return source, _known(value, AcseServiceUserDiagnostic)
    return source, _known(value, AcseServiceProviderDiagnostic)


@dataclass(frozen=True, slots=True)
class AARE:
    """A-ASSOCIATE response.

    ``diagnostic`` is an :class:`AcseServiceUserDiagnostic` or
    :class:`AcseServiceProviderDiagnostic` value, as ``diagnostic_source`` says.
    ``responding_ap_title`` is the meter system title, ``responding_authentication_value``
    the StoC challenge of HLS.
    """

    application_context_name: ContextName
    result: AssociationResult
    diagnostic_source: DiagnosticSource
    diagnostic: int
    responding_ap_title: bytes | None = None
    responder_acse_requirements: bool = False
    mechanism_name: MechanismName | None = None
    responding_authentication_value: bytes | None = None
    user_information: bytes | None = None
    protocol_version: BitString | None = None
    TAG: ClassVar[int] = ApduTag.AARE

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        fields = _components(raw, cls.TAG, _AARE_COMPONENTS, "AARE")
        context = _read_context(fields, "AARE")
        result_content = fields.get(_AARE_RESULT)
        diagnostic_content = fields.get(_AARE_RESULT_SOURCE_DIAGNOSTIC)
        if result_content is None or diagnostic_content is None:
            raise DecodeError("AARE without result or result-source-diagnostic")
        result_value = _read_integer(result_content, "result")
        try:
            result = AssociationResult(result_value)
        except ValueError:
            raise DecodeError(f"AARE: unknown association result {result_value}") from None
        source, diagnostic = _read_diagnostic(diagnostic_content)
        title = fields.get(_AARE_RESPONDING_AP_TITLE)
        requirements, mechanism, authentication = _read_authentication(fields, _AARE_AUTHENTICATION)
        return cls(
            application_context_name=context,
            result=result,
            diagnostic_source=source,
            diagnostic=diagnostic,
            responding_ap_title=None
            if title is None
            else _read_explicit(title, UniversalTag.OCTET_STRING, "responding-AP-title"),
            responder_acse_requirements=requirements,
            mechanism_name=mechanism,
            responding_authentication_value=authentication,
            user_information=_read_user_information(fields),
            protocol_version=_read_protocol_version(fields),
        )

    def to_bytes(self) -> bytes:
        try:
            result = AssociationResult(self.result)
            source = DiagnosticSource(self.diagnostic_source)
        except ValueError as exc:
            raise EncodeError(str(exc)) from None
        out = bytearray()
        _put_common_head(out, self.protocol_version, self.application_context_name)
        _put(out, _AARE_RESULT, True, _explicit(UniversalTag.INTEGER, ber.encode_integer(result)))
        diagnostic = _explicit(UniversalTag.INTEGER, ber.encode_integer(self.diagnostic))
        inner = ber.encode_tlv(ber.context_tag(source, constructed=True), diagnostic)
        _put(out, _AARE_RESULT_SOURCE_DIAGNOSTIC, True, inner)
        if self.responding_ap_title is not None:
            inner = _explicit(UniversalTag.OCTET_STRING, self.responding_ap_title)
            _put(out, _AARE_RESPONDING_AP_TITLE, True, inner)
        _put_authentication(
            out,
            _AARE_AUTHENTICATION,
            self.responder_acse_requirements,
            self.mechanism_name,
            self.responding_authentication_value,
        )
        _put_user_information(out, self.user_information)
        return _wrap(self.TAG, out)


# ----------------------------------------------------------------------------- RLRQ / RLRE

_RELEASE_REASON = 0
_RELEASE_COMPONENTS: Mapping[int, bool] = {_RELEASE_REASON: False, _USER_INFORMATION: True}


def _release_to_bytes(tag: int, reason: int | None, user_information: bytes | None) -> bytes:
    out = bytearray()
    if reason is not None:
        _put(out, _RELEASE_REASON, False, ber.encode_integer(reason))
    _put_user_information(out, user_information)
    return _wrap(tag, out)


def _release_from_bytes(
    raw: bytes, tag: int, reasons: type[_E], name: str
) -> tuple[int | None, bytes | None]:
    fields = _components(raw, tag, _RELEASE_COMPONENTS, name)
    reason_content = fields.get(_RELEASE_REASON)
    reason = None if reason_content is None else _known(ber.decode_integer(reason_content), reasons)
    return reason, _read_user_information(fields)


@dataclass(frozen=True, slots=True)
class RLRQ:
    """A-RELEASE request; ``reason`` is a :class:`ReleaseRequestReason` value."""

    reason: int | None = None
    user_information: bytes | None = None
    TAG: ClassVar[int] = ApduTag.RLRQ

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        return cls(*_release_from_bytes(raw, cls.TAG, ReleaseRequestReason, "RLRQ"))

    def to_bytes(self) -> bytes:
        return _release_to_bytes(self.TAG, self.reason, self.user_information)


@dataclass(frozen=True, slots=True)
class RLRE:
    """A-RELEASE response; ``reason`` is a :class:`ReleaseResponseReason` value."""

    reason: int | None = None
    user_information: bytes | None = None
    TAG: ClassVar[int] = ApduTag.RLRE

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        return cls(*_release_from_bytes(raw, cls.TAG, ReleaseResponseReason, "RLRE"))

    def to_bytes(self) -> bytes:
        return _release_to_bytes(self.TAG, self.reason, self.user_information)
