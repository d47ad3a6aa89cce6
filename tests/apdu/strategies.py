"""Hypothesis strategies that generate valid Data values and valid APDUs of every class."""

from __future__ import annotations

from hypothesis import strategies as st

from securemeter.apdu import acse, action, ciphered, errors, get, initiate, notification
from securemeter.apdu import set as set_
from securemeter.apdu.common import CosemAttributeDescriptor, CosemMethodDescriptor, SelectiveAccess
from securemeter.apdu.enums import (
    ActionResult,
    ApplicationContextName,
    AssociationResult,
    AuthenticationMechanism,
    ConfirmedService,
    Conformance,
    DataAccessResult,
    DiagnosticSource,
    ServiceError,
    ServiceErrorClass,
    StateError,
)
from securemeter.codec import axdr
from securemeter.codec.ber import BitString, ObjectIdentifier
from securemeter.codec.obis import Obis

u8 = st.integers(0, 0xFF)
i8 = st.integers(-0x80, 0x7F)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)
ber_integer = st.integers(-(2**63), 2**63 - 1)
# long enough to need the 0x81 and 0x82 length forms now and then
raw_bytes = st.one_of(st.binary(max_size=40), st.binary(min_size=120, max_size=300))


# ----------------------------------------------------------------------------- Data


def _bit_string() -> st.SearchStrategy[axdr.BitString]:
    return st.integers(0, 40).flatmap(
        lambda bits: st.binary(min_size=(bits + 7) // 8, max_size=(bits + 7) // 8).map(
            lambda value: axdr.BitString(value, bits)
        )
    )


_leaves: st.SearchStrategy[axdr.Data] = st.one_of(
    st.just(axdr.NullData()),
    st.just(axdr.DontCare()),
    st.booleans().map(axdr.Boolean),
    _bit_string(),
    st.binary(max_size=20).map(axdr.OctetString),
    st.text(st.characters(max_codepoint=0xFF), max_size=10).map(axdr.VisibleString),
    st.text(max_size=10).map(axdr.Utf8String),
    i8.map(axdr.Integer),
    st.integers(-(2**15), 2**15 - 1).map(axdr.Long),
    st.integers(-(2**31), 2**31 - 1).map(axdr.DoubleLong),
    st.integers(-(2**63), 2**63 - 1).map(axdr.Long64),
    u8.map(axdr.Unsigned),
    u16.map(axdr.LongUnsigned),
    u32.map(axdr.DoubleLongUnsigned),
    st.integers(0, 2**64 - 1).map(axdr.Long64Unsigned),
    u8.map(axdr.Enum),
    u8.map(axdr.Bcd),
    st.floats(width=32, allow_nan=False).map(axdr.Float32),
    st.floats(allow_nan=False).map(axdr.Float64),
    st.binary(min_size=12, max_size=12).map(axdr.DateTime),
    st.binary(min_size=5, max_size=5).map(axdr.Date),
    st.binary(min_size=4, max_size=4).map(axdr.Time),
)

data_values: st.SearchStrategy[axdr.Data] = st.recursive(
    _leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4).map(lambda items: axdr.Array(tuple(items))),
        st.lists(children, max_size=4).map(lambda items: axdr.Structure(tuple(items))),
    ),
    max_leaves=8,
)


# ----------------------------------------------------------------------------- pieces

obis_codes = st.builds(Obis, u8, u8, u8, u8, u8, u8)
attribute_descriptors = st.builds(CosemAttributeDescriptor, u16, obis_codes, i8)
method_descriptors = st.builds(CosemMethodDescriptor, u16, obis_codes, i8)
selective_access = st.none() | st.builds(SelectiveAccess, u8, data_values)
attributes_with_selection = st.lists(
    st.tuples(attribute_descriptors, selective_access), max_size=4
).map(tuple)
data_access_results = st.sampled_from(DataAccessResult)
action_results = st.sampled_from(ActionResult)
get_data_results = st.one_of(data_values, data_access_results)

# ----------------------------------------------------------------------------- GET

get_requests = st.one_of(
    st.builds(get.GetRequestNormal, u8, attribute_descriptors, selective_access),
    st.builds(get.GetRequestNext, u8, u32),
    st.builds(get.GetRequestWithList, u8, attributes_with_selection),
)
get_responses = st.one_of(
    st.builds(get.GetResponseNormal, u8, get_data_results),
    st.builds(
        get.GetResponseWithDataBlock,
        u8,
        st.booleans(),
        u32,
        st.one_of(raw_bytes, data_access_results),
    ),
    st.builds(get.GetResponseWithList, u8, st.lists(get_data_results, max_size=4).map(tuple)),
)

# ----------------------------------------------------------------------------- SET


@st.composite
def _set_with_list(draw: st.DrawFn) -> set_.SetRequestWithList:
    items = draw(attributes_with_selection)
    values = draw(st.lists(data_values, min_size=len(items), max_size=len(items)))
    return set_.SetRequestWithList(draw(u8), items, tuple(values))


set_requests = st.one_of(
    st.builds(set_.SetRequestNormal, u8, attribute_descriptors, selective_access, data_values),
    st.builds(
        set_.SetRequestWithFirstDataBlock,
        u8,
        attribute_descriptors,
        selective_access,
        st.booleans(),
        u32,
        raw_bytes,
    ),
    st.builds(set_.SetRequestWithDataBlock, u8, st.booleans(), u32, raw_bytes),
    _set_with_list(),
    st.builds(
        set_.SetRequestWithListAndFirstDataBlock,
        u8,
        attributes_with_selection,
        st.booleans(),
        u32,
        raw_bytes,
    ),
)
_results = st.lists(data_access_results, max_size=5).map(tuple)
set_responses = st.one_of(
    st.builds(set_.SetResponseNormal, u8, data_access_results),
    st.builds(set_.SetResponseDataBlock, u8, u32),
    st.builds(set_.SetResponseLastDataBlock, u8, data_access_results, u32),
    st.builds(set_.SetResponseLastDataBlockWithList, u8, _results, u32),
    st.builds(set_.SetResponseWithList, u8, _results),
)

# ----------------------------------------------------------------------------- ACTION


@st.composite
def _action_with_list(draw: st.DrawFn) -> action.ActionRequestWithList:
    methods = draw(st.lists(method_descriptors, max_size=4))
    parameters = draw(st.lists(data_values, min_size=len(methods), max_size=len(methods)))
    return action.ActionRequestWithList(draw(u8), tuple(methods), tuple(parameters))


_methods = st.lists(method_descriptors, max_size=4).map(tuple)
action_requests = st.one_of(
    st.builds(action.ActionRequestNormal, u8, method_descriptors, st.none() | data_values),
    st.builds(action.ActionRequestNextPBlock, u8, u32),
    _action_with_list(),
    st.builds(
        action.ActionRequestWithFirstPBlock, u8, method_descriptors, st.booleans(), u32, raw_bytes
    ),
    st.builds(
        action.ActionRequestWithListAndFirstPBlock, u8, _methods, st.booleans(), u32, raw_bytes
    ),
    st.builds(action.ActionRequestWithPBlock, u8, st.booleans(), u32, raw_bytes),
)
_return_parameters = st.none() | get_data_results
action_responses = st.one_of(
    st.builds(action.ActionResponseNormal, u8, action_results, _return_parameters),
    st.builds(action.ActionResponseWithPBlock, u8, st.booleans(), u32, raw_bytes),
    st.builds(
        action.ActionResponseWithList,
        u8,
        st.lists(st.tuples(action_results, _return_parameters), max_size=4).map(tuple),
    ),
    st.builds(action.ActionResponseNextPBlock, u8, u32),
)

# ----------------------------------------------------------------------------- ACSE


def _is_dlms_name(oid: ObjectIdentifier) -> bool:
    """OIDs that decode to an enum member instead of staying an ObjectIdentifier."""
    arcs = oid.arcs
    if len(arcs) != 7 or arcs[:5] != acse.DLMS_OID_PREFIX:
        return False
    if arcs[5] == acse.APPLICATION_CONTEXT_ARC:
        return 1 <= arcs[6] <= 4
    return arcs[5] == acse.MECHANISM_ARC and arcs[6] <= 7


foreign_oids = st.one_of(
    st.builds(
        lambda first, second, rest: ObjectIdentifier((first, second, *rest)),
        st.integers(0, 1),
        st.integers(0, 39),
        st.lists(st.integers(0, 2**40), max_size=6),
    ),
    st.builds(
        lambda second, rest: ObjectIdentifier((2, second, *rest)),
        st.integers(0, 2**20),
        st.lists(st.integers(0, 2**40), max_size=6),
    ),
    # the DLMS prefix with an unknown last arc
    st.builds(
        lambda kind, arc: ObjectIdentifier((*acse.DLMS_OID_PREFIX, kind, arc)),
        st.integers(1, 2),
        st.integers(0, 300),
    ),
).filter(lambda oid: not _is_dlms_name(oid))

context_names = st.one_of(st.sampled_from(ApplicationContextName), foreign_oids)
mechanism_names = st.none() | st.sampled_from(AuthenticationMechanism) | foreign_oids
protocol_versions = (
    st.none()
    | st.just(BitString(b"\x80", 7))
    | st.builds(
        lambda value, unused: BitString(value, unused if value else 0),
        st.binary(min_size=0, max_size=3),
        st.integers(0, 7),
    )
)
optional_bytes = st.none() | raw_bytes

aarqs = st.builds(
    acse.AARQ,
    application_context_name=context_names,
    calling_ap_title=st.none() | st.binary(min_size=8, max_size=8) | st.binary(max_size=20),
    calling_ae_qualifier=optional_bytes,
    calling_ae_invocation_id=st.none() | ber_integer,
    sender_acse_requirements=st.booleans(),
    mechanism_name=mechanism_names,
    calling_authentication_value=optional_bytes,
    user_information=optional_bytes,
    protocol_version=protocol_versions,
)
aares = st.builds(
    acse.AARE,
    application_context_name=context_names,
    result=st.sampled_from(AssociationResult),
    diagnostic_source=st.sampled_from(DiagnosticSource),
    diagnostic=st.one_of(st.integers(0, 14), ber_integer),
    responding_ap_title=st.none() | st.binary(max_size=20),
    responder_acse_requirements=st.booleans(),
    mechanism_name=mechanism_names,
    responding_authentication_value=optional_bytes,
    user_information=optional_bytes,
    protocol_version=protocol_versions,
)
_reasons = st.none() | st.sampled_from([0, 1, 30]) | ber_integer
rlrqs = st.builds(acse.RLRQ, _reasons, optional_bytes)
rlres = st.builds(acse.RLRE, _reasons, optional_bytes)

# ----------------------------------------------------------------------------- the rest

conformances = st.integers(0, 0xFF_FFFF).map(Conformance)
initiate_requests = st.builds(
    initiate.InitiateRequest,
    st.none() | st.binary(max_size=40),
    st.booleans(),
    st.none() | i8,
    u8,
    conformances,
    u16,
)
initiate_responses = st.builds(
    initiate.InitiateResponse, st.none() | i8, u8, conformances, u16, u16
)
confirmed_service_errors = st.builds(
    initiate.ConfirmedServiceError,
    st.sampled_from(ConfirmedService),
    st.sampled_from(ServiceErrorClass),
    u8,
)
exception_responses = st.one_of(
    st.builds(
        errors.ExceptionResponse,
        st.sampled_from(StateError),
        st.sampled_from(ServiceError),
        st.none(),
    ),
    st.builds(
        errors.ExceptionResponse,
        st.sampled_from(StateError),
        st.just(ServiceError.INVOCATION_COUNTER_ERROR),
        u32,
    ),
)
data_notifications = st.builds(
    notification.DataNotification,
    u32,
    st.none() | st.binary(min_size=12, max_size=12),
    data_values,
)
ciphered_apdus = st.builds(
    ciphered.CipheredApdu,
    st.sampled_from(sorted(ciphered.CipheredApdu.TAGS)),
    u8,
    u32,
    raw_bytes,
)
_general = {
    "system_title": st.binary(min_size=8, max_size=8) | st.binary(max_size=20),
    "security_control": u8,
    "invocation_counter": u32,
    "payload": raw_bytes,
}
general_glo_cipherings = st.builds(ciphered.GeneralGloCiphering, **_general)
general_ded_cipherings = st.builds(ciphered.GeneralDedCiphering, **_general)

STRATEGIES_BY_FAMILY = {
    "AARQ": aarqs,
    "AARE": aares,
    "RLRQ": rlrqs,
    "RLRE": rlres,
    "InitiateRequest": initiate_requests,
    "InitiateResponse": initiate_responses,
    "ConfirmedServiceError": confirmed_service_errors,
    "GetRequest": get_requests,
    "GetResponse": get_responses,
    "SetRequest": set_requests,
    "SetResponse": set_responses,
    "ActionRequest": action_requests,
    "ActionResponse": action_responses,
    "ExceptionResponse": exception_responses,
    "DataNotification": data_notifications,
    "CipheredApdu": ciphered_apdus,
    "GeneralGloCiphering": general_glo_cipherings,
    "GeneralDedCiphering": general_ded_cipherings,
}
apdus = st.one_of(*STRATEGIES_BY_FAMILY.values())
