"""gurux-dlms (test-only oracle): the meter must parse exactly what its client sends, and
the client must accept what we encode.

The client is driven with the IEC 62056-47 wrapper; the 8-octet wrapper header is checked
and stripped here so that only APDUs reach our decoders.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator

import pytest
from gurux_dlms import (
    ConnectionState,
    GXByteBuffer,
    GXDateTime,
    GXDLMSClient,
    GXDLMSException,
    GXDLMSExceptionResponse,
    GXReplyData,
)
from gurux_dlms.enums import (
    Authentication,
    DataType,
    InterfaceType,
    RequestTypes,
    Security,
)
from gurux_dlms.enums import Conformance as GxConformance
from gurux_dlms.objects import (
    GXDLMSAssociationLogicalName,
    GXDLMSCaptureObject,
    GXDLMSClock,
    GXDLMSData,
    GXDLMSProfileGeneric,
)
from gurux_dlms.secure import GXDLMSSecureClient

from securemeter.apdu.acse import AARE, AARQ, RLRQ
from securemeter.apdu.action import (
    ActionRequestNormal,
    ActionRequestWithFirstPBlock,
    ActionRequestWithPBlock,
)
from securemeter.apdu.ciphered import CipheredApdu, GeneralDedCiphering, GeneralGloCiphering
from securemeter.apdu.common import CosemAttributeDescriptor, CosemMethodDescriptor
from securemeter.apdu.enums import (
    AcseServiceUserDiagnostic,
    ApplicationContextName,
    AssociationResult,
    AuthenticationMechanism,
    Conformance,
    DiagnosticSource,
    InitiateError,
    ReleaseRequestReason,
    ServiceError,
    ServiceErrorClass,
    StateError,
)
from securemeter.apdu.errors import ExceptionResponse
from securemeter.apdu.get import (
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDataBlock,
)
from securemeter.apdu.initiate import ConfirmedServiceError, InitiateRequest, InitiateResponse
from securemeter.apdu.registry import Apdu, decode_apdu
from securemeter.apdu.set import (
    SetRequestNormal,
    SetRequestWithDataBlock,
    SetRequestWithFirstDataBlock,
)
from securemeter.codec.axdr import (
    Array,
    DateTime,
    DoubleLongUnsigned,
    Integer,
    LongUnsigned,
    OctetString,
    Structure,
    Unsigned,
    decode_exact,
)
from securemeter.codec.obis import Obis
from securemeter.session.blocks import BlockReassembler

CLIENT_SYSTEM_TITLE = bytes.fromhex("4D4D4D0000000001")
DATA_OBJECT = Obis(0, 0, 96, 1, 0, 255)
CLOCK = Obis(0, 0, 1, 0, 0, 255)
CURRENT_ASSOCIATION = Obis(0, 0, 40, 0, 0, 255)
PROFILE = Obis(1, 0, 99, 1, 0, 255)
# what a meter grants so that the client may use lists and blocks
GRANTED = (
    Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
    | Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE
    | Conformance.BLOCK_TRANSFER_WITH_ACTION
    | Conformance.MULTIPLE_REFERENCES
    | Conformance.GET
    | Conformance.SET
    | Conformance.SELECTIVE_ACCESS
    | Conformance.ACTION
)
MAX_PDU = 500


def _frames(generated: object) -> Iterator[bytes]:
    if isinstance(generated, bytes | bytearray):
        yield bytes(generated)
    else:
        assert isinstance(generated, Iterable)
        for item in generated:
            yield from _frames(item)


def _apdus(generated: object) -> list[bytes]:
    """The APDUs inside the client's wrapper frames (header checked and removed)."""
    result = []
    for frame in _frames(generated):
        assert frame[:2] == b"\x00\x01"  # wrapper version 1
        assert int.from_bytes(frame[6:8], "big") == len(frame) - 8
        result.append(frame[8:])
    return result


def _single(generated: object) -> Apdu:
    (raw,) = _apdus(generated)
    apdu = decode_apdu(raw)
    assert apdu.to_bytes() == raw  # the same octets come back out
    return apdu


def _wrap(apdu: bytes) -> bytes:
    """A wrapper frame from the meter (wPort 1) to the client (wPort 16)."""
    return b"\x00\x01\x00\x01\x00\x10" + len(apdu).to_bytes(2, "big") + apdu


def _associated_client(authentication: Authentication = Authentication.NONE) -> GXDLMSClient:
    password = "12345678" if authentication == Authentication.LOW else None
    client = GXDLMSClient(True, 16, 1, authentication, password, InterfaceType.WRAPPER)
    client.aarqRequest()
    aare = AARE(
        ApplicationContextName.LOGICAL_NAME,
        AssociationResult.ACCEPTED,
        DiagnosticSource.USER,
        AcseServiceUserDiagnostic.NULL,
        user_information=InitiateResponse(None, 6, GRANTED, MAX_PDU).to_bytes(),
    )
    client.parseAareResponse(GXByteBuffer(aare.to_bytes()))
    return client


def _secure_client(authentication: Authentication) -> GXDLMSSecureClient:
    client = GXDLMSSecureClient(True, 1, 1, authentication, None, InterfaceType.WRAPPER)
    client.ciphering.security = Security.AUTHENTICATION_ENCRYPTION
    client.ciphering.systemTitle = CLIENT_SYSTEM_TITLE
    client.ciphering.blockCipherKey = bytes(range(16))
    client.ciphering.authenticationKey = bytes(range(0xD0, 0xE0))
    return client


# ----------------------------------------------------------------------------- AARQ


def test_aarq_without_authentication() -> None:
    client = GXDLMSClient(True, 16, 1, Authentication.NONE, None, InterfaceType.WRAPPER)
    aarq = _single(client.aarqRequest())
    assert isinstance(aarq, AARQ)
    assert aarq.application_context_name is ApplicationContextName.LOGICAL_NAME
    assert aarq.mechanism_name is None and not aarq.sender_acse_requirements
    initiate = decode_apdu(aarq.user_information or b"")
    assert isinstance(initiate, InitiateRequest)
    assert initiate.proposed_dlms_version == 6
    assert initiate.dedicated_key is None and initiate.response_allowed
    assert Conformance.GET in initiate.proposed_conformance
    assert initiate.client_max_receive_pdu_size == client.maxReceivePDUSize


def test_aarq_with_low_level_security() -> None:
    client = GXDLMSClient(True, 1, 1, Authentication.LOW, "12345678", InterfaceType.WRAPPER)
    aarq = _single(client.aarqRequest())
    assert isinstance(aarq, AARQ)
    assert aarq.sender_acse_requirements
    assert aarq.mechanism_name is AuthenticationMechanism.LOW
    assert aarq.calling_authentication_value == b"12345678"


@pytest.mark.parametrize("user_id", [None, 5])
def test_ciphered_aarq_with_hls_gmac(user_id: int | None) -> None:
    client = _secure_client(Authentication.HIGH_GMAC)
    if user_id is not None:
        client.userId = user_id
    aarq = _single(client.aarqRequest())
    assert isinstance(aarq, AARQ)
    assert aarq.application_context_name is ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING
    assert aarq.calling_ap_title == CLIENT_SYSTEM_TITLE
    assert aarq.calling_ae_invocation_id == user_id
    assert aarq.mechanism_name is AuthenticationMechanism.HIGH_GMAC
    challenge = aarq.calling_authentication_value or b""
    assert 8 <= len(challenge) <= 64
    initiate = decode_apdu(aarq.user_information or b"")
    assert isinstance(initiate, CipheredApdu)
    assert initiate.tag == 0x21 and initiate.security_control == 0x30
    assert initiate.invocation_counter == 1  # gurux-dlms starts its counter at 1


def test_ciphered_requests_after_association() -> None:
    client = _secure_client(Authentication.NONE)
    client.aarqRequest()
    client.settings.connected |= ConnectionState.DLMS
    glo_get = _single(client.read(GXDLMSData(str(DATA_OBJECT)), 2))
    assert isinstance(glo_get, CipheredApdu)
    assert glo_get.tag == 0xC8 and glo_get.plain_tag == 0xC0 and not glo_get.dedicated
    client.ciphering.dedicatedKey = bytes(range(0x40, 0x50))
    ded_get = _single(client.read(GXDLMSData(str(DATA_OBJECT)), 2))
    assert isinstance(ded_get, CipheredApdu)
    assert ded_get.tag == 0xD0 and ded_get.dedicated
    # once general-protection is granted the client switches to general ciphering
    client.negotiatedConformance |= GxConformance.GENERAL_PROTECTION
    general_ded = _single(client.read(GXDLMSData(str(DATA_OBJECT)), 2))
    assert isinstance(general_ded, GeneralDedCiphering)
    client.ciphering.dedicatedKey = None
    general = _single(client.read(GXDLMSData(str(DATA_OBJECT)), 2))
    assert isinstance(general, GeneralGloCiphering)
    assert general.system_title == CLIENT_SYSTEM_TITLE
    assert general.security_control == 0x30
    assert general.invocation_counter > ded_get.invocation_counter > glo_get.invocation_counter


def test_release_request() -> None:
    assert _single(_associated_client().releaseRequest()) == RLRQ(ReleaseRequestReason.NORMAL)


# ----------------------------------------------------------------------------- GET


def test_get_request_normal() -> None:
    request = _single(_associated_client().read(GXDLMSData(str(DATA_OBJECT)), 2))
    assert request == GetRequestNormal(0xC1, CosemAttributeDescriptor(1, DATA_OBJECT, 2))


def test_get_request_with_entry_and_range_selectors() -> None:
    client = _associated_client()
    profile = GXDLMSProfileGeneric(str(PROFILE))
    profile.captureObjects.append((GXDLMSClock(), GXDLMSCaptureObject(2, 0)))
    by_entry = _single(client.readRowsByEntry(profile, 1, 10))
    assert isinstance(by_entry, GetRequestNormal)
    assert by_entry.access_selection is not None
    assert by_entry.access_selection.selector == 2
    assert by_entry.access_selection.parameters == Structure(
        (DoubleLongUnsigned(1), DoubleLongUnsigned(10), LongUnsigned(1), LongUnsigned(0))
    )
    start = GXDateTime(datetime.datetime(2024, 1, 1))
    end = GXDateTime(datetime.datetime(2024, 1, 2))
    by_range = _single(client.readRowsByRange(profile, start, end))
    assert isinstance(by_range, GetRequestNormal)
    assert by_range.access_selection is not None
    assert by_range.access_selection.selector == 1
    parameters = by_range.access_selection.parameters
    assert isinstance(parameters, Structure) and len(parameters.items) == 4
    restricting, from_value, to_value, selected = parameters.items
    assert restricting == Structure(
        (LongUnsigned(8), OctetString(CLOCK.to_bytes()), Integer(2), LongUnsigned(0))
    )
    for value in (from_value, to_value):
        assert isinstance(value, OctetString | DateTime) and len(value.value) == 12
    assert isinstance(selected, Array)


def test_get_request_with_list_and_next() -> None:
    client = _associated_client()
    listed = _single(client.readList([(GXDLMSData(str(DATA_OBJECT)), 2), (GXDLMSClock(), 2)]))
    assert listed == GetRequestWithList(
        0xC1,
        (
            (CosemAttributeDescriptor(1, DATA_OBJECT, 2), None),
            (CosemAttributeDescriptor(8, CLOCK, 2), None),
        ),
    )
    following = _single([client.receiverReady(RequestTypes.DATABLOCK)])
    assert isinstance(following, GetRequestNext)


def test_client_reads_our_get_responses() -> None:
    client = _associated_client()
    data = GXDLMSData(str(DATA_OBJECT))
    client.read(data, 2)
    reply = GXReplyData()
    client.getData(_wrap(GetResponseNormal(0xC1, Unsigned(42)).to_bytes()), reply, None)
    assert reply.value == 42 and reply.error == 0

    # a value in two blocks: the client asks for the next one with GetRequestNext(1)
    value = Structure(tuple(OctetString(bytes([index]) * 50) for index in range(10)))
    encoded = value.to_bytes()
    client.read(data, 2)
    reply = GXReplyData()
    client.getData(
        _wrap(GetResponseWithDataBlock(0xC1, False, 1, encoded[:300]).to_bytes()), reply, None
    )
    assert reply.isMoreData()
    assert _single(client.receiverReady(reply)) == GetRequestNext(0xC1, 1)
    client.getData(
        _wrap(GetResponseWithDataBlock(0xC1, True, 2, encoded[300:]).to_bytes()), reply, None
    )
    assert not reply.isMoreData()
    assert [bytes(item) for item in reply.value] == [bytes([index]) * 50 for index in range(10)]


def test_client_reads_our_exception_response() -> None:
    client = _associated_client()
    client.read(GXDLMSData(str(DATA_OBJECT)), 2)
    response = ExceptionResponse(
        StateError.SERVICE_NOT_ALLOWED, ServiceError.INVOCATION_COUNTER_ERROR, 99
    )
    with pytest.raises(GXDLMSExceptionResponse) as raised:
        client.getData(_wrap(response.to_bytes()), GXReplyData(), None)
    assert raised.value.exceptionStateError == StateError.SERVICE_NOT_ALLOWED
    assert raised.value.exceptionServiceError == ServiceError.INVOCATION_COUNTER_ERROR
    assert raised.value.serviceErrorValue == 99


# ----------------------------------------------------------------------------- AARE


def _gurux_conformance(conformance: Conformance) -> int:
    """gurux-dlms numbers conformance bits the other way round: ASN.1 bit n is 1 << n."""
    return int(f"{int(conformance):024b}"[::-1], 2)


@pytest.mark.parametrize("member", [member for member in Conformance if member])
def test_conformance_bits_match_gurux(member: Conformance) -> None:
    assert member.name is not None
    name = member.name.replace("ATTRIBUTE0_", "ATTRIBUTE_0_").replace("UNCONFIRMED", "UN_CONFIRMED")
    assert GxConformance[name] == _gurux_conformance(member)


def test_client_accepts_our_aare() -> None:
    client = _associated_client()
    assert client.negotiatedConformance == _gurux_conformance(GRANTED)
    assert client.negotiatedConformance & GxConformance.MULTIPLE_REFERENCES
    assert client.maxReceivePDUSize == MAX_PDU


@pytest.mark.parametrize(
    ("user_information", "diagnostic"),
    [
        (None, AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE),
        (
            ConfirmedServiceError(
                1, ServiceErrorClass.INITIATE, InitiateError.DLMS_VERSION_TOO_LOW
            ),
            AcseServiceUserDiagnostic.NO_REASON_GIVEN,
        ),
    ],
)
def test_client_reads_our_rejection(
    user_information: ConfirmedServiceError | None, diagnostic: AcseServiceUserDiagnostic
) -> None:
    client = GXDLMSClient(True, 16, 1, Authentication.NONE, None, InterfaceType.WRAPPER)
    client.aarqRequest()
    aare = AARE(
        ApplicationContextName.LOGICAL_NAME,
        AssociationResult.REJECTED_PERMANENT,
        DiagnosticSource.USER,
        diagnostic,
        user_information=None if user_information is None else user_information.to_bytes(),
    )
    with pytest.raises(GXDLMSException) as raised:
        client.parseAareResponse(GXByteBuffer(aare.to_bytes()))
    assert raised.value.result == AssociationResult.REJECTED_PERMANENT
    assert raised.value.diagnostic == diagnostic


# ----------------------------------------------------------------------------- SET and ACTION


def test_set_request_normal() -> None:
    # (its writeList cannot run: GXWriteItem lacks the getDataType it calls)
    client = _associated_client()
    data = GXDLMSData(str(DATA_OBJECT))
    data.value = b"hello"
    data.setDataType(2, DataType.OCTET_STRING)
    assert _single(client.write(data, 2)) == SetRequestNormal(
        0xC1, CosemAttributeDescriptor(1, DATA_OBJECT, 2), None, OctetString(b"hello")
    )


def test_set_request_with_blocks_reassembles() -> None:
    client = _associated_client()
    data = GXDLMSData(str(DATA_OBJECT))
    data.value = bytes(range(256)) * 3
    data.setDataType(2, DataType.OCTET_STRING)
    apdus = [decode_apdu(raw) for raw in _apdus(client.write(data, 2))]
    first, *rest = apdus
    assert isinstance(first, SetRequestWithFirstDataBlock)
    assert first.attribute == CosemAttributeDescriptor(1, DATA_OBJECT, 2)
    assert rest and all(isinstance(apdu, SetRequestWithDataBlock) for apdu in rest)
    reassembler = BlockReassembler(4096)
    whole = None
    for apdu in apdus:
        assert isinstance(apdu, SetRequestWithFirstDataBlock | SetRequestWithDataBlock)
        assert len(apdu.to_bytes()) <= MAX_PDU
        whole = reassembler.add(apdu.block_number, apdu.last_block, apdu.raw_data)
    assert whole is not None
    assert decode_exact(whole) == OctetString(bytes(range(256)) * 3)


def test_action_requests() -> None:
    client = _associated_client()
    association = GXDLMSAssociationLogicalName()
    reply = _single(client.method(association, 1, b"\x01\x02", DataType.OCTET_STRING))
    assert reply == ActionRequestNormal(
        0xC1, CosemMethodDescriptor(15, CURRENT_ASSOCIATION, 1), OctetString(b"\x01\x02")
    )
    # a method without a parameter is sent with integer(0)
    without = _single(client.method(GXDLMSClock(), 1, 0, DataType.INT8))
    assert without == ActionRequestNormal(0xC1, CosemMethodDescriptor(8, CLOCK, 1), Integer(0))


def test_action_request_with_pblocks_reassembles() -> None:
    client = _associated_client()
    apdus = [
        decode_apdu(raw)
        for raw in _apdus(
            client.method(GXDLMSAssociationLogicalName(), 1, bytes(1200), DataType.OCTET_STRING)
        )
    ]
    first, *rest = apdus
    assert isinstance(first, ActionRequestWithFirstPBlock)
    assert first.method == CosemMethodDescriptor(15, CURRENT_ASSOCIATION, 1)
    assert rest and all(isinstance(apdu, ActionRequestWithPBlock) for apdu in rest)
    reassembler = BlockReassembler(4096)
    whole = None
    for apdu in apdus:
        assert isinstance(apdu, ActionRequestWithFirstPBlock | ActionRequestWithPBlock)
        whole = reassembler.add(apdu.block_number, apdu.last_block, apdu.raw_data)
    assert whole is not None and decode_exact(whole) == OctetString(bytes(1200))
