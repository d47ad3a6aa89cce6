"""AARQ / AARE / RLRQ / RLRE against published vectors and hostile variants."""

from __future__ import annotations

import pytest

from securemeter.apdu.acse import AARE, AARQ, RLRE, RLRQ, application_context_oid, mechanism_oid
from securemeter.apdu.ciphered import CipheredApdu
from securemeter.apdu.enums import (
    AcseServiceProviderDiagnostic,
    AcseServiceUserDiagnostic,
    ApplicationContextName,
    AssociationResult,
    AuthenticationMechanism,
    Conformance,
    DiagnosticSource,
    InitiateError,
    ReleaseRequestReason,
    ReleaseResponseReason,
    ServiceErrorClass,
)
from securemeter.apdu.initiate import ConfirmedServiceError, InitiateRequest, InitiateResponse
from securemeter.apdu.registry import decode_apdu
from securemeter.codec.ber import BitString, ObjectIdentifier
from securemeter.errors import DecodeError, EncodeError

# HLS-GMAC example (Green Book, restated from public test suites): CtoS "K56iVagY".
HLS_AARQ = bytes.fromhex(
    "6036A1090607608574050801018A0207808B0760857405080205AC0A80084B35366956616759"
    "BE10040E01000000065F1F0400007E1F04B0"
)
# ... and the meter's answer: accepted, authentication-required, StoC "P6wRJ21F".
HLS_AARE = bytes.fromhex(
    "6142A109060760857405080101A203020100A305A10302010E88020780890760857405080205"
    "AA0A8008503677524A323146BE10040E0800065F1F040000501F01F40007"
)
# V15: ciphered context, LLS password "12345678", glo-initiate-request V1 as user-information.
V1_CIPHERED = bytes.fromhex(
    "213030012345678013 02FF8A7874133D414CED25B42534D28DB0047720606B175BD52211BE68"
    "41DB204D39EE6FDB8E356855".replace(" ", "")
)
V15_AARQ = (
    bytes.fromhex(
        "6066A109060760857405080103A60A04084D4D4D0000BC614E8A0207808B0760857405080201"
        "AC0A80083132333435363738BE340432"
    )
    + V1_CIPHERED
)

# A public Go DLMS client test session (ciphered LN context, LLS "JuS66BCZ").
GO_AARQ = bytes.fromhex(
    "6066A109060760857405080103A60A040843495200000000018A0207808B0760857405080201"
    "AC0A80084A7553363642435ABE3404322130300000005992D807DBCF8533E9AD675AE0948241"
    "FB8E6CF9AFA7006BAA134A473C9151B3362F56DC12F89E85DA97E176"
)
GO_AARE = bytes.fromhex(
    "6148A109060760857405080103A203020100A305A103020100A40A04084C475A2022604828"
    "BE230421281F300000005AE916783AF33B5317AD0E453A799A65F26AE97660CF8B14FEB7B0"
)
GO_RLRQ = bytes.fromhex(
    "6239800100BE3404322130300000005A8E9B83D641B89FAAF36DA504132C34F87E4BA66175A7"
    "DCED015460239699C72C18C06DB29C54673B83BAC0"
)
GO_RLRE = bytes.fromhex(
    "6328800100BE230421281F300000005BCD34827974EDCF8B1DAB306F62C58AB42052DB67361377507825"
)


def _sequence(tag: int, *components_hex: str) -> bytes:
    content = bytes.fromhex("".join(components_hex).replace(" ", ""))
    assert len(content) < 0x80
    return bytes((tag, len(content))) + content


CONTEXT_LN = "A109 0607 60857405080101"
USER_INFORMATION = "BE10 040E 01000000065F1F0400007E1F04B0"


# ----------------------------------------------------------------------------- vectors


def test_hls_aarq_vector() -> None:
    aarq = AARQ.from_bytes(HLS_AARQ)
    assert aarq == AARQ(
        application_context_name=ApplicationContextName.LOGICAL_NAME,
        sender_acse_requirements=True,
        mechanism_name=AuthenticationMechanism.HIGH_GMAC,
        calling_authentication_value=b"K56iVagY",
        user_information=bytes.fromhex("01000000065F1F0400007E1F04B0"),
    )
    assert aarq.to_bytes() == HLS_AARQ
    initiate = InitiateRequest.from_bytes(aarq.user_information or b"")
    assert initiate.proposed_conformance == Conformance(0x007E1F)
    assert initiate.client_max_receive_pdu_size == 0x04B0


def test_hls_aare_vector() -> None:
    aare = AARE.from_bytes(HLS_AARE)
    assert aare == AARE(
        application_context_name=ApplicationContextName.LOGICAL_NAME,
        result=AssociationResult.ACCEPTED,
        diagnostic_source=DiagnosticSource.USER,
        diagnostic=AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED,
        responder_acse_requirements=True,
        mechanism_name=AuthenticationMechanism.HIGH_GMAC,
        responding_authentication_value=b"P6wRJ21F",
        user_information=bytes.fromhex("0800065F1F040000501F01F40007"),
    )
    assert aare.to_bytes() == HLS_AARE
    response = InitiateResponse.from_bytes(aare.user_information or b"")
    assert response.server_max_receive_pdu_size == 500
    assert response.vaa_name == 0x0007


def test_v15_ciphered_aarq_vector() -> None:
    aarq = AARQ.from_bytes(V15_AARQ)
    assert aarq.application_context_name is ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING
    assert aarq.calling_ap_title == bytes.fromhex("4D4D4D0000BC614E")
    assert aarq.sender_acse_requirements
    assert aarq.mechanism_name is AuthenticationMechanism.LOW
    assert aarq.calling_authentication_value == b"12345678"
    assert aarq.user_information == V1_CIPHERED
    assert aarq.to_bytes() == V15_AARQ
    inner = decode_apdu(V1_CIPHERED)
    assert inner == CipheredApdu(0x21, 0x30, 0x01234567, V1_CIPHERED[7:])


@pytest.mark.parametrize(
    "raw", [GO_AARQ, GO_AARE, GO_RLRQ, GO_RLRE], ids=["aarq", "aare", "rlrq", "rlre"]
)
def test_go_client_session_vectors(raw: bytes) -> None:
    apdu = decode_apdu(raw)
    assert apdu.to_bytes() == raw
    assert isinstance(apdu, AARQ | AARE | RLRQ | RLRE)
    assert apdu.user_information is not None
    ciphered = decode_apdu(apdu.user_information)
    assert isinstance(ciphered, CipheredApdu)
    assert ciphered.security_control == 0x30
    assert ciphered.plain_tag in (0x01, 0x08)


def test_go_client_aare_fields() -> None:
    aare = AARE.from_bytes(GO_AARE)
    assert aare.application_context_name is ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING
    assert aare.result is AssociationResult.ACCEPTED
    assert aare.diagnostic == AcseServiceUserDiagnostic.NULL
    assert aare.responding_ap_title == bytes.fromhex("4C475A2022604828")
    assert aare.mechanism_name is None
    assert not aare.responder_acse_requirements


def test_go_client_release_reasons() -> None:
    assert RLRQ.from_bytes(GO_RLRQ).reason is ReleaseRequestReason.NORMAL
    assert RLRE.from_bytes(GO_RLRE).reason is ReleaseResponseReason.NORMAL


def test_release_minimal_forms() -> None:
    assert RLRQ.from_bytes(bytes.fromhex("6203800100")) == RLRQ(reason=0)
    assert RLRQ.from_bytes(bytes.fromhex("6200")) == RLRQ()
    assert RLRQ().to_bytes() == bytes.fromhex("6200")
    assert RLRE(ReleaseResponseReason.NOT_FINISHED).to_bytes() == bytes.fromhex("6303800101")
    assert RLRQ(reason=77).to_bytes() == bytes.fromhex("620380014D")
    assert RLRQ.from_bytes(bytes.fromhex("620380014D")).reason == 77


# ----------------------------------------------------------------------------- unknown values


def test_unknown_mechanism_oid_still_decodes() -> None:
    raw = _sequence(0x60, CONTEXT_LN, "8A020780", "8B07 60857405080209", USER_INFORMATION)
    aarq = AARQ.from_bytes(raw)
    assert aarq.mechanism_name == ObjectIdentifier((2, 16, 756, 5, 8, 2, 9))
    assert not isinstance(aarq.mechanism_name, AuthenticationMechanism)
    assert aarq.to_bytes() == raw


def test_foreign_mechanism_oid_still_decodes() -> None:
    raw = _sequence(0x60, CONTEXT_LN, "8B03 2A0304", USER_INFORMATION)
    assert AARQ.from_bytes(raw).mechanism_name == ObjectIdentifier((1, 2, 3, 4))


@pytest.mark.parametrize(
    ("context_hex", "expected"),
    [
        ("A109 0607 60857405080105", ObjectIdentifier((2, 16, 756, 5, 8, 1, 5))),
        ("A109 0607 60857405080201", ObjectIdentifier((2, 16, 756, 5, 8, 2, 1))),
        ("A105 0603 2A0304", ObjectIdentifier((1, 2, 3, 4))),
        ("A10A 0608 6085740508010100", ObjectIdentifier((2, 16, 756, 5, 8, 1, 1, 0))),
    ],
)
def test_unknown_application_context_still_decodes(context_hex: str, expected: object) -> None:
    raw = _sequence(0x60, context_hex, USER_INFORMATION)
    aarq = AARQ.from_bytes(raw)
    assert aarq.application_context_name == expected
    assert aarq.to_bytes() == raw


def test_known_oids() -> None:
    assert str(application_context_oid(ApplicationContextName.SHORT_NAME)) == "2.16.756.5.8.1.2"
    assert str(mechanism_oid(AuthenticationMechanism.HIGH_ECDSA)) == "2.16.756.5.8.2.7"


@pytest.mark.parametrize(
    "components",
    [
        [CONTEXT_LN, "A204 0602 2A03", USER_INFORMATION],  # called-AP-title
        [CONTEXT_LN, "A303 020101", USER_INFORMATION],  # called-AE-qualifier
        [CONTEXT_LN, "A803 020105", USER_INFORMATION],  # calling-AP-invocation-id
        [CONTEXT_LN, "BD03 040100", USER_INFORMATION],  # implementation-information
        [CONTEXT_LN, "AD00", USER_INFORMATION],  # application-context-name-list, empty
        [CONTEXT_LN, USER_INFORMATION, "9F1F00"],  # a high tag number [31] after [30]
        [CONTEXT_LN, USER_INFORMATION, "BF8148 03 020101"],  # [200], constructed
    ],
)
def test_unused_components_are_skipped(components: list[str]) -> None:
    base = AARQ.from_bytes(_sequence(0x60, CONTEXT_LN, USER_INFORMATION))
    assert AARQ.from_bytes(_sequence(0x60, *components)) == base


def test_protocol_version_and_user_id_are_kept() -> None:
    raw = _sequence(
        0x60, "80020780", CONTEXT_LN, "A60A 0408 4D4D4D0000000001", "A903 020107", USER_INFORMATION
    )
    aarq = AARQ.from_bytes(raw)
    assert aarq.protocol_version == BitString(b"\x80", 7)
    assert aarq.calling_ae_invocation_id == 7
    assert aarq.calling_ap_title == bytes.fromhex("4D4D4D0000000001")
    assert aarq.to_bytes() == raw


def test_acse_requirements_without_authentication_bit() -> None:
    aarq = AARQ.from_bytes(_sequence(0x60, CONTEXT_LN, "8A020700", USER_INFORMATION))
    assert aarq.sender_acse_requirements is False


# ----------------------------------------------------------------------------- refused


@pytest.mark.parametrize(
    "components",
    [
        [
            CONTEXT_LN,
            "A60A04084D4D4D0000000001",
            "A60A04084D4D4D0000000002",
            USER_INFORMATION,
        ],  # dup
        [CONTEXT_LN, CONTEXT_LN, USER_INFORMATION],  # duplicated mandatory component
        [USER_INFORMATION, CONTEXT_LN],  # out of order
        [CONTEXT_LN, "8A020780", "8A020780"],  # duplicated primitive component
        [USER_INFORMATION],  # no application-context-name
        ["8109 0607 60857405080101", USER_INFORMATION],  # context name in primitive form
        ["A109 0407 60857405080101", USER_INFORMATION],  # context name not an OID
        [CONTEXT_LN, "0401 00", USER_INFORMATION],  # a universal-class component
        [CONTEXT_LN, "6001 00", USER_INFORMATION],  # an application-class component
        [CONTEXT_LN, "AC0A 8108 3132333435363738", USER_INFORMATION],  # bitstring auth value
        [CONTEXT_LN, "AC0A 8008 31323334353637", USER_INFORMATION],  # inner length short
        [CONTEXT_LN, "AB07 60857405080205", USER_INFORMATION],  # mechanism in constructed form
        [CONTEXT_LN, "8B00", USER_INFORMATION],  # empty mechanism OID
        [CONTEXT_LN, "BE10 030E 01000000065F1F0400007E1F04B0"],  # user-information not OCTET STRING
        [CONTEXT_LN, "BE11 040E 01000000065F1F0400007E1F04B0 00"],  # junk after the octet string
        [CONTEXT_LN, "A903 040107", USER_INFORMATION],  # user id not an INTEGER
        [CONTEXT_LN, "A902 0200", USER_INFORMATION],  # empty INTEGER
        [CONTEXT_LN, "8A00", USER_INFORMATION],  # empty BIT STRING
    ],
)
def test_malformed_aarq_refused(components: list[str]) -> None:
    with pytest.raises(DecodeError):
        AARQ.from_bytes(_sequence(0x60, *components))


@pytest.mark.parametrize(
    "raw_hex",
    [
        "",
        "60",
        "6000",  # no application-context-name
        "6136A1090607608574050801018A0207808B0760857405080205",  # wrong tag for an AARQ
        "6037A1090607608574050801018A0207808B0760857405080205",  # length past the end
        "6080A109060760857405080101 0000",  # indefinite length
    ],
)
def test_broken_aarq_framing_refused(raw_hex: str) -> None:
    with pytest.raises(DecodeError):
        AARQ.from_bytes(bytes.fromhex(raw_hex.replace(" ", "")))


def test_trailing_octets_refused() -> None:
    with pytest.raises(DecodeError):
        AARQ.from_bytes(HLS_AARQ + b"\x00")
    with pytest.raises(DecodeError):
        AARE.from_bytes(HLS_AARE + b"\x00")
    with pytest.raises(DecodeError):
        RLRQ.from_bytes(bytes.fromhex("620380010000"))


# ----------------------------------------------------------------------------- AARE specifics

RESULT_ACCEPTED = "A203 020100"


def test_aare_provider_diagnostic() -> None:
    raw = _sequence(0x61, CONTEXT_LN, "A203 020101", "A305 A203 020102")
    aare = AARE.from_bytes(raw)
    assert aare.result is AssociationResult.REJECTED_PERMANENT
    assert aare.diagnostic_source is DiagnosticSource.PROVIDER
    assert aare.diagnostic is AcseServiceProviderDiagnostic.NO_COMMON_ACSE_VERSION
    assert aare.to_bytes() == raw


def test_aare_unknown_diagnostic_value_kept_as_int() -> None:
    raw = _sequence(0x61, CONTEXT_LN, RESULT_ACCEPTED, "A305 A103 020163")
    assert AARE.from_bytes(raw).diagnostic == 99


def test_aare_with_confirmed_service_error() -> None:
    error = ConfirmedServiceError(1, ServiceErrorClass.INITIATE, InitiateError.DLMS_VERSION_TOO_LOW)
    aare = AARE(
        ApplicationContextName.LOGICAL_NAME,
        AssociationResult.REJECTED_PERMANENT,
        DiagnosticSource.USER,
        AcseServiceUserDiagnostic.NO_REASON_GIVEN,
        user_information=error.to_bytes(),
    )
    raw = aare.to_bytes()
    assert raw == _sequence(
        0x61, CONTEXT_LN, "A203 020101", "A305 A103 020101", "BE06 0404 0E010601"
    )
    decoded = AARE.from_bytes(raw)
    assert decode_apdu(decoded.user_information or b"") == error


@pytest.mark.parametrize(
    "components",
    [
        [CONTEXT_LN, "A305 A103 020100"],  # no result
        [CONTEXT_LN, RESULT_ACCEPTED],  # no diagnostic
        [CONTEXT_LN, "A203 020103", "A305 A103 020100"],  # unknown result
        [CONTEXT_LN, RESULT_ACCEPTED, "A305 A303 020100"],  # diagnostic source [3]
        [CONTEXT_LN, RESULT_ACCEPTED, "A305 8103 020100"],  # diagnostic source primitive
        [CONTEXT_LN, RESULT_ACCEPTED, "A303 020100"],  # diagnostic without its CHOICE
        [CONTEXT_LN, "A305 A103 020100", RESULT_ACCEPTED],  # out of order
    ],
)
def test_malformed_aare_refused(components: list[str]) -> None:
    with pytest.raises(DecodeError):
        AARE.from_bytes(_sequence(0x61, *components))


def test_encode_refuses_bad_values() -> None:
    with pytest.raises(EncodeError):
        AARQ("LN").to_bytes()  # type: ignore[arg-type]
    with pytest.raises(EncodeError):
        AARQ(ApplicationContextName.LOGICAL_NAME, mechanism_name=5).to_bytes()  # type: ignore[arg-type]
    with pytest.raises(EncodeError):
        AARE(ApplicationContextName.LOGICAL_NAME, 7, DiagnosticSource.USER, 0).to_bytes()  # type: ignore[arg-type]
    with pytest.raises(EncodeError):
        RLRQ(reason=2**70).to_bytes()
