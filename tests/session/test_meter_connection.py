"""The meter role of the session, byte for byte: initiate refusals, association states, block
transfer edge cases (in memory, through MeterSession)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from meter_harness import associate, make_meter
from securemeter.apdu.acse import AARE, AARQ, RLRE, RLRQ
from securemeter.apdu.common import CosemAttributeDescriptor
from securemeter.apdu.enums import (
    AcseServiceUserDiagnostic,
    ApplicationContextName,
    AssociationResult,
    Conformance,
    DataAccessResult,
    InitiateError,
    ServiceError,
    StateError,
)
from securemeter.apdu.errors import ExceptionResponse
from securemeter.apdu.get import (
    GetRequestNext,
    GetRequestNormal,
    GetResponseWithDataBlock,
)
from securemeter.apdu.initiate import ConfirmedServiceError, InitiateRequest
from securemeter.apdu.set import SetRequestNormal, SetResponseNormal
from securemeter.codec.axdr import OctetString
from securemeter.codec.obis import Obis
from securemeter.meter.access import ALL, Grant
from securemeter.meter.config import PUBLIC_CLIENT, Interface, MeterConfig
from securemeter.meter.meter import Meter, MeterSession
from securemeter.session.connection import AssociationProposal
from securemeter.session.events import ResponseReceived

CLOCK = CosemAttributeDescriptor(8, Obis(0, 0, 1, 0, 0, 255), 2)
OFFERED = Conformance.GET | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ


def meter() -> Meter:
    return make_meter(MeterConfig(roles=(PUBLIC_CLIENT,), load_profile_history_days=1))


def aarq(
    *,
    version: int = 6,
    conformance: Conformance = OFFERED,
    pdu: int = 1024,
    context: ApplicationContextName = ApplicationContextName.LOGICAL_NAME,
) -> bytes:
    initiate = InitiateRequest(None, True, None, version, conformance, pdu)
    return AARQ(application_context_name=context, user_information=initiate.to_bytes()).to_bytes()


def send(session: MeterSession, apdu: bytes) -> bytes:
    output = session.receive(16, 1, apdu)
    assert output.data is not None
    return output.data


@pytest.mark.parametrize(
    ("request_bytes", "error"),
    [
        (aarq(version=5), InitiateError.DLMS_VERSION_TOO_LOW),
        (aarq(conformance=Conformance.DATA_NOTIFICATION), InitiateError.INCOMPATIBLE_CONFORMANCE),
        (aarq(pdu=20), InitiateError.PDU_SIZE_TOO_SHORT),
    ],
    ids=["dlms-version", "conformance", "pdu-size"],
)
def test_initiate_refusals_carry_a_confirmed_service_error(
    request_bytes: bytes, error: InitiateError
) -> None:
    subject = meter()
    session = subject.new_session(Interface.TCP, "test:1")
    aare = AARE.from_bytes(send(session, request_bytes))
    assert aare.result == AssociationResult.REJECTED_PERMANENT
    assert aare.user_information is not None
    assert ConfirmedServiceError.from_bytes(aare.user_information).error_value == error
    assert subject.store.logs.records("communication")[-1].fields["reason"] == (
        "initiate-request-refused"
    )


def test_a_short_name_context_is_refused_as_unsupported() -> None:
    session = meter().new_session(Interface.TCP, "test:1")
    aare = AARE.from_bytes(send(session, aarq(context=ApplicationContextName.SHORT_NAME)))
    assert aare.result == AssociationResult.REJECTED_PERMANENT
    assert aare.diagnostic == AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED


def test_requests_without_an_association_get_an_exception_response() -> None:
    session = meter().new_session(Interface.TCP, "test:1")
    answer = ExceptionResponse.from_bytes(send(session, GetRequestNormal(0xC1, CLOCK).to_bytes()))
    assert answer.state_error == StateError.SERVICE_NOT_ALLOWED
    assert answer.service_error == ServiceError.OPERATION_NOT_POSSIBLE


def test_a_malformed_aarq_is_rejected_not_crashed() -> None:
    session = meter().new_session(Interface.TCP, "test:1")
    aare = AARE.from_bytes(send(session, b"\x60\x05\xa1\x03\x06\x01\xff"))
    assert aare.result == AssociationResult.REJECTED_PERMANENT
    # and the session still serves a proper association afterwards
    assert AARE.from_bytes(send(session, aarq())).result == AssociationResult.ACCEPTED


def test_an_aarq_inside_an_association_is_refused_and_the_association_stays() -> None:
    link, _ = associate(meter())
    again = AARE.from_bytes(send(link.session, aarq()))
    assert again.result == AssociationResult.REJECTED_TRANSIENT
    assert isinstance(link.get(8, "0.0.1.0.0.255", 2), OctetString)


def test_release_ends_the_association() -> None:
    link, _ = associate(meter())
    RLRE.from_bytes(send(link.session, RLRQ(reason=0, user_information=None).to_bytes()))
    refused = send(link.session, GetRequestNormal(0xC1, CLOCK).to_bytes())
    assert ExceptionResponse.from_bytes(refused).service_error == (
        ServiceError.OPERATION_NOT_POSSIBLE
    )


def test_a_wrong_next_block_number_ends_the_long_get() -> None:
    link, _ = associate(meter(), proposal=AssociationProposal(max_receive_pdu_size=128))
    profile = CosemAttributeDescriptor(7, Obis(1, 0, 99, 1, 0, 255), 2)
    first = GetResponseWithDataBlock.from_bytes(
        send(link.session, GetRequestNormal(0xC1, profile).to_bytes())
    )
    assert not first.last_block and first.block_number == 1
    wrong = GetResponseWithDataBlock.from_bytes(
        send(link.session, GetRequestNext(0xC1, 5).to_bytes())
    )
    assert wrong.last_block and wrong.raw_data == DataAccessResult.DATA_BLOCK_NUMBER_INVALID
    # the transfer is gone: even the right number now finds none in progress
    gone = GetResponseWithDataBlock.from_bytes(
        send(link.session, GetRequestNext(0xC1, 1).to_bytes())
    )
    assert gone.raw_data == DataAccessResult.NO_LONG_GET_IN_PROGRESS


def test_a_set_longer_than_the_meters_pdu_goes_in_blocks() -> None:
    writer = replace(
        PUBLIC_CLIENT,
        grants=(
            Grant(None, read=frozenset({ALL})),
            Grant(Obis(0, 0, 128, 0, 0, 255), write=frozenset({2})),
        ),
    )
    subject = make_meter(
        MeterConfig(roles=(writer,), max_receive_pdu_size=64, load_profile_history_days=0)
    )
    link, _ = associate(subject)
    value = OctetString(bytes(range(128)))
    request = SetRequestNormal(
        0xC1, CosemAttributeDescriptor(1, Obis(0, 0, 128, 0, 0, 255), 2), None, value
    )
    event = link.exchange(link.headend.send_request(request))
    assert isinstance(event, ResponseReceived)
    assert isinstance(event.response, SetResponseNormal)
    assert event.response.result == DataAccessResult.SUCCESS
    assert link.get(1, "0.0.128.0.0.255", 2) == value


def test_a_counter_the_store_refuses_mid_association_closes_with_a_refusal() -> None:
    """A key changed meanwhile (its counters retired) or a failing store: the meter answers an
    exception-response in clear, records it and closes the link instead of crashing it."""
    from securemeter.errors import StorageError

    subject = meter()
    link, _ = associate(subject)

    def refuse(_: bytes) -> object:
        raise StorageError("counter sap16/ek/1 is retired")

    link.session.connection.receive = refuse  # type: ignore[method-assign]
    output = link.session.receive(16, 1, GetRequestNormal(0xC1, CLOCK).to_bytes())
    assert output.close and output.data is not None
    assert ExceptionResponse.from_bytes(output.data).service_error == ServiceError.OTHER_REASON
    assert subject.store.logs.records("security")[-1].fields["reason"] == "store-refused"
