"""xDLMS APDUs against published and captured vectors, plus refusals of malformed input."""

from __future__ import annotations

import pytest

from securemeter.apdu.action import (
    ActionRequest,
    ActionRequestNormal,
    ActionRequestWithList,
    ActionResponseNormal,
)
from securemeter.apdu.ciphered import (
    DEDICATED_TAG_FOR_PLAIN,
    GLOBAL_TAG_FOR_PLAIN,
    PLAIN_TAG_FOR_CIPHERED,
    CipheredApdu,
    GeneralDedCiphering,
    GeneralGloCiphering,
)
from securemeter.apdu.common import (
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    InvokeIdAndPriority,
    SelectiveAccess,
    invoke_id_of,
)
from securemeter.apdu.enums import (
    ActionResult,
    ApduTag,
    ConfirmedService,
    Conformance,
    DataAccessResult,
    InitiateError,
    ServiceError,
    ServiceErrorClass,
    StateError,
)
from securemeter.apdu.errors import ExceptionResponse
from securemeter.apdu.get import (
    GetRequest,
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponse,
    GetResponseNormal,
    GetResponseWithDataBlock,
    GetResponseWithList,
)
from securemeter.apdu.initiate import ConfirmedServiceError, InitiateRequest, InitiateResponse
from securemeter.apdu.notification import DataNotification
from securemeter.apdu.registry import decode_apdu
from securemeter.apdu.set import (
    SetRequestNormal,
    SetRequestWithList,
    SetResponseLastDataBlock,
    SetResponseNormal,
)
from securemeter.codec.axdr import (
    Array,
    DoubleLongUnsigned,
    Enum,
    Integer,
    LongUnsigned,
    OctetString,
    Structure,
    Unsigned,
)
from securemeter.codec.obis import Obis
from securemeter.errors import DecodeError, EncodeError

CLOCK_TIME = CosemAttributeDescriptor(8, Obis(0, 0, 1, 0, 0, 255), 2)
CURRENT_ASSOCIATION = Obis(0, 0, 40, 0, 0, 255)

# ----------------------------------------------------------------------------- initiate

V1_PLAIN = bytes.fromhex("01011000112233445566778899AABBCCDDEEFF0000065F1F0400007E1F04B0")


def test_v1_plain_initiate_request() -> None:
    request = InitiateRequest.from_bytes(V1_PLAIN)
    assert request == InitiateRequest(
        dedicated_key=bytes.fromhex("00112233445566778899AABBCCDDEEFF"),
        response_allowed=True,
        proposed_quality_of_service=None,
        proposed_dlms_version=6,
        proposed_conformance=Conformance(0x007E1F),
        client_max_receive_pdu_size=0x04B0,
    )
    assert request.to_bytes() == V1_PLAIN
    conformance = request.proposed_conformance
    assert Conformance.GET in conformance and Conformance.ACTION in conformance
    assert Conformance.GENERAL_PROTECTION not in conformance


def test_conformance_bit_numbering() -> None:
    # ASN.1 bit n has the value 1 << (23 - n)
    assert Conformance.GENERAL_PROTECTION == 1 << (23 - 1)
    assert Conformance.ATTRIBUTE0_SUPPORTED_WITH_SET == 1 << (23 - 8)
    assert Conformance.MULTIPLE_REFERENCES == 1 << (23 - 14)
    assert Conformance.ACTION == 1
    assert len([member for member in Conformance if member]) == 22


def test_initiate_request_options() -> None:
    raw = bytes.fromhex("01 00 0100 0105 06 5F1F0400 00101D 0100".replace(" ", ""))
    request = InitiateRequest.from_bytes(raw)
    assert request.dedicated_key is None
    assert request.response_allowed is False
    assert request.proposed_quality_of_service == 5
    assert request.client_max_receive_pdu_size == 0x100
    assert request.to_bytes() == raw
    # an explicit TRUE decodes like the default and is re-encoded as the default
    explicit_true = bytes.fromhex("01 00 01FF 00 06 5F1F0400 00101D 0100".replace(" ", ""))
    assert InitiateRequest.from_bytes(explicit_true).response_allowed is True


@pytest.mark.parametrize(
    "raw_hex",
    [
        "01 02 00 00 06 5F1F0400 00101D 0100",  # presence flag 2
        "01 00 00 00 06 5F1F0300 00101D 0100",  # conformance length 3
        "01 00 00 00 06 5F1F0401 00101D 0100",  # unused bits
        "01 00 00 00 06 5F1F0400 00101D 01",  # truncated PDU size
        "01 00 00 00 06 5F1F0400 00101D 0100 00",  # trailing octet
        "01 01 10 0011",  # key truncated
        "08 00 06 5F1F0400 00101D 0100",  # initiate-response tag
    ],
)
def test_initiate_request_refused(raw_hex: str) -> None:
    with pytest.raises(DecodeError):
        InitiateRequest.from_bytes(bytes.fromhex(raw_hex.replace(" ", "")))


def test_initiate_response_vector() -> None:
    raw = bytes.fromhex("0800065F1F040000501F01F40007")
    response = InitiateResponse.from_bytes(raw)
    assert response == InitiateResponse(None, 6, Conformance(0x00501F), 500, 0x0007)
    assert response.to_bytes() == raw
    short_name = InitiateResponse(None, 6, Conformance.READ, 500, 0xFA00).to_bytes()
    assert short_name.endswith(b"\xfa\x00")


def test_confirmed_service_error() -> None:
    raw = bytes.fromhex("0E010601")
    error = ConfirmedServiceError.from_bytes(raw)
    assert error == ConfirmedServiceError(
        ConfirmedService.INITIATE_ERROR,
        ServiceErrorClass.INITIATE,
        InitiateError.DLMS_VERSION_TOO_LOW,
    )
    assert error.error_value is InitiateError.DLMS_VERSION_TOO_LOW
    assert error.to_bytes() == raw
    assert ConfirmedServiceError.from_bytes(bytes.fromhex("0E010640")).error_value == 0x40
    for bad in ["0E000601", "0E010B01", "0E0106", "0E01060100"]:
        with pytest.raises(DecodeError):
            ConfirmedServiceError.from_bytes(bytes.fromhex(bad))
    with pytest.raises(EncodeError):
        ConfirmedServiceError(0, 6, 1).to_bytes()


# ----------------------------------------------------------------------------- GET


def test_get_request_vectors() -> None:
    # V2P plaintext (invoke-id octet 00) and V2 (C1)
    assert GetRequest.from_bytes(bytes.fromhex("C0010000080000010000FF0200")) == GetRequestNormal(
        0x00, CLOCK_TIME
    )
    request = GetRequestNormal(0xC1, CLOCK_TIME)
    assert request.to_bytes() == bytes.fromhex("C001C100080000010000FF0200")


def test_get_request_with_entry_selector() -> None:
    # gurux-dlms readRowsByEntry(profile 1.0.99.1.0.255, 1, 10)
    raw = bytes.fromhex("C001C100070100630100FF02010202040600000001060000000A120001120000")
    request = GetRequestNormal.from_bytes(raw)
    assert request.attribute == CosemAttributeDescriptor(7, Obis(1, 0, 99, 1, 0, 255), 2)
    assert request.access_selection == SelectiveAccess(
        2,
        Structure(
            (DoubleLongUnsigned(1), DoubleLongUnsigned(10), LongUnsigned(1), LongUnsigned(0))
        ),
    )
    assert request.to_bytes() == raw


def test_get_request_with_list_vector() -> None:
    # gurux-dlms readList([(data 0.0.96.1.0.255, 2), (clock, 2)])
    raw = bytes.fromhex("C003C10200010000600100FF020000080000010000FF0200")
    request = GetRequest.from_bytes(raw)
    assert request == GetRequestWithList(
        0xC1,
        (
            (CosemAttributeDescriptor(1, Obis(0, 0, 96, 1, 0, 255), 2), None),
            (CLOCK_TIME, None),
        ),
    )


def test_get_responses() -> None:
    raw = bytes.fromhex("C401C100090C07E4010103000000FF800000")
    assert GetResponse.from_bytes(raw) == GetResponseNormal(
        0xC1, OctetString(bytes.fromhex("07E4010103000000FF800000"))
    )
    error = GetResponseNormal(0xC1, DataAccessResult.OBJECT_UNDEFINED)
    assert error.to_bytes() == bytes.fromhex("C401C10104")
    assert GetResponse.from_bytes(error.to_bytes()) == error
    block = GetResponseWithDataBlock(0xC1, False, 1, bytes(256))
    assert block.to_bytes()[:12] == bytes.fromhex("C402C100000000010082 0100".replace(" ", ""))
    failed = GetResponseWithDataBlock(0xC1, True, 2, DataAccessResult.DATA_BLOCK_UNAVAILABLE)
    assert failed.to_bytes() == bytes.fromhex("C402C10100000002010E")
    listed = GetResponseWithList(0xC1, (Unsigned(5), DataAccessResult.READ_WRITE_DENIED))
    assert listed.to_bytes() == bytes.fromhex("C403C102001105 0103".replace(" ", ""))


@pytest.mark.parametrize(
    "raw_hex",
    [
        "C004C1",  # unknown choice
        "C001C100080000010000FF02",  # truncated access-selection flag
        "C001C100080000010000FF0202",  # access-selection flag 2
        "C001C100080000010000FF020100",  # selector without parameters
        "C001C100080000010000FF020000",  # trailing octet
        "C002C1000001",  # truncated block number
        "C003C1847FFFFFFF",  # hostile element count
        "C003C102 00080000010000FF0200",  # fewer elements than counted
        "C401C102",  # Get-Data-Result choice 2
        "C401C10107",  # unknown data-access-result
        "C402C1010000000102",  # DataBlock-G choice 2
        "C402C10100000001008105AA",  # raw-data shorter than its length
        "C403C182FFFF",  # hostile result count
        "C401C100",  # no data after the choice
        "C401C100FE",  # unknown data tag
    ],
)
def test_get_refused(raw_hex: str) -> None:
    with pytest.raises(DecodeError):
        decode_apdu(bytes.fromhex(raw_hex.replace(" ", "")))


def test_variant_decoder_accepts_only_its_variant() -> None:
    raw = GetRequestNormal(0xC1, CLOCK_TIME).to_bytes()
    assert GetRequestNormal.from_bytes(raw) == GetRequestNormal(0xC1, CLOCK_TIME)
    with pytest.raises(DecodeError):
        GetRequestNext.from_bytes(raw)
    with pytest.raises(DecodeError):
        GetResponse.from_bytes(raw)
    with pytest.raises(DecodeError):
        ActionRequest.from_bytes(raw)


# ----------------------------------------------------------------------------- SET


def test_set_vectors() -> None:
    # gurux-dlms write(data 0.0.96.1.0.255 attribute 2 = octet-string "hello")
    raw = bytes.fromhex("C101C100010000600100FF0200090568656C6C6F")
    assert decode_apdu(raw) == SetRequestNormal(
        0xC1, CosemAttributeDescriptor(1, Obis(0, 0, 96, 1, 0, 255), 2), None, OctetString(b"hello")
    )
    assert SetResponseNormal(0xC1, DataAccessResult.SUCCESS).to_bytes() == bytes.fromhex("C501C100")
    last = SetResponseLastDataBlock(0xC1, DataAccessResult.SUCCESS, 3)
    assert last.to_bytes() == bytes.fromhex("C503C10000000003")


def test_set_with_list_count_mismatch_refused() -> None:
    # two attributes, one value: each list element needs its partner
    raw = bytes.fromhex(
        "C104C1 02 00080000010000FF0200 00080000010000FF0200 01 1105".replace(" ", "")
    )
    with pytest.raises(DecodeError):
        decode_apdu(raw)
    with pytest.raises(DecodeError):
        decode_apdu(bytes.fromhex("C303C1 01 00080000010000FF01 02 1101 1102".replace(" ", "")))


# ----------------------------------------------------------------------------- ACTION

V7_F_STOC = bytes.fromhex("10000000011A52FE7DD3E72748973C1E28")
V8_F_CTOS = bytes.fromhex("1001234567FE1466AFB3DBCD4F9389E2B7")


def test_v9_reply_to_hls_authentication() -> None:
    raw = bytes.fromhex("C301C1000F0000280000FF01010911") + V7_F_STOC
    request = decode_apdu(raw)
    assert request == ActionRequestNormal(
        0xC1, CosemMethodDescriptor(15, CURRENT_ASSOCIATION, 1), OctetString(V7_F_STOC)
    )
    assert request.to_bytes() == raw


def test_hls_pass_four_response() -> None:
    response = ActionResponseNormal(0xC1, ActionResult.SUCCESS, OctetString(V8_F_CTOS))
    raw = bytes.fromhex("C701C100010009 11".replace(" ", "")) + V8_F_CTOS
    assert response.to_bytes() == raw
    assert decode_apdu(raw) == response
    refused = ActionResponseNormal(0xC1, ActionResult.READ_WRITE_DENIED)
    assert refused.to_bytes() == bytes.fromhex("C701C10300")
    with_error = ActionResponseNormal(
        0xC1, ActionResult.OTHER_REASON, DataAccessResult.OTHER_REASON
    )
    assert with_error.to_bytes() == bytes.fromhex("C701C1FA0101FA")
    assert decode_apdu(with_error.to_bytes()) == with_error


def test_v11_key_transfer_action() -> None:
    wrapped_key = bytes.fromhex("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5")
    parameter = Array((Structure((Enum(0), OctetString(wrapped_key))),))
    request = ActionRequestNormal(
        0xC1, CosemMethodDescriptor(64, Obis(0, 0, 43, 0, 0, 255), 2), parameter
    )
    raw = request.to_bytes()
    assert (
        raw
        == bytes.fromhex("C301C10040 00002B0000FF 02 01 0101020216000918".replace(" ", ""))
        + wrapped_key
    )
    assert decode_apdu(raw) == request


def test_action_without_parameter_and_with_integer_zero() -> None:
    plain = ActionRequestNormal(0xC1, CosemMethodDescriptor(8, Obis(0, 0, 1, 0, 0, 255), 1))
    assert plain.to_bytes() == bytes.fromhex("C301C100080000010000FF0100")
    # gurux-dlms sends integer(0) for methods without a parameter
    raw = bytes.fromhex("C301C100080000010000FF01010F00")
    assert decode_apdu(raw) == ActionRequestNormal(
        0xC1, CosemMethodDescriptor(8, Obis(0, 0, 1, 0, 0, 255), 1), Integer(0)
    )


@pytest.mark.parametrize(
    "raw_hex",
    [
        "C307C1",  # unknown choice
        "C301C100080000010000FF0102",  # parameter flag 2
        "C701C10B",  # unknown action-result
        "C701C1000102",  # Get-Data-Result choice 2
        "C703C1847FFFFFFF",  # hostile count
        "C303C1850000000001",  # length of length 5
        "C306C101000000",  # truncated block number
    ],
)
def test_action_refused(raw_hex: str) -> None:
    with pytest.raises(DecodeError):
        decode_apdu(bytes.fromhex(raw_hex))


# ----------------------------------------------------------------------------- exception-response


def test_exception_response_forms() -> None:
    assert decode_apdu(bytes.fromhex("D80102")) == ExceptionResponse(
        StateError.SERVICE_NOT_ALLOWED, ServiceError.SERVICE_NOT_SUPPORTED
    )
    with_counter = ExceptionResponse(
        StateError.SERVICE_NOT_ALLOWED, ServiceError.INVOCATION_COUNTER_ERROR, 0x01234567
    )
    assert with_counter.to_bytes() == bytes.fromhex("D8010601234567")
    assert decode_apdu(with_counter.to_bytes()) == with_counter
    # an invocation-counter-error without the counter (older peers) also decodes
    assert decode_apdu(bytes.fromhex("D80106")) == ExceptionResponse(
        StateError.SERVICE_NOT_ALLOWED, ServiceError.INVOCATION_COUNTER_ERROR, None
    )
    for bad in ["D801", "D80306", "D80107", "D8010300", "D801060102", "D8010601234567FF"]:
        with pytest.raises(DecodeError):
            decode_apdu(bytes.fromhex(bad))
    with pytest.raises(EncodeError):
        ExceptionResponse(StateError.SERVICE_UNKNOWN, ServiceError.OTHER_REASON, 5).to_bytes()


# ----------------------------------------------------------------------------- data-notification


def test_data_notification() -> None:
    body = Structure((OctetString(b"\x01\x02"), DoubleLongUnsigned(7)))
    stamped = DataNotification(0x40000001, bytes(range(12)), body)
    raw = stamped.to_bytes()
    assert raw == bytes.fromhex(
        "0F400000010C000102030405060708090A0B 0202 09020102 0600000007".replace(" ", "")
    )
    assert decode_apdu(raw) == stamped
    plain = DataNotification(1, None, body)
    assert plain.to_bytes()[:6] == bytes.fromhex("0F0000000100")
    assert decode_apdu(plain.to_bytes()) == plain
    for bad in ["0F0000000105000102030411", "0F0000000100", "0F00000001001100FF"]:
        with pytest.raises(DecodeError):
            decode_apdu(bytes.fromhex(bad))
    with pytest.raises(EncodeError):
        DataNotification(1, b"\x00" * 5, body).to_bytes()


# ----------------------------------------------------------------------------- ciphered


@pytest.mark.parametrize(
    ("raw_hex", "security_control", "payload_hex"),
    [
        # V2P, Green Book glo-get example in its three protection modes
        (
            "C81E3001234567411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B",
            0x30,
            "411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B",
        ),
        (
            "C81E1001234567C0010000080000010000FF020006725D910F9221D263877516",
            0x10,
            "C0010000080000010000FF020006725D910F9221D263877516",
        ),
        ("C8122001234567411312FF935A47566827C467BC", 0x20, "411312FF935A47566827C467BC"),
    ],
)
def test_glo_get_request_vectors(raw_hex: str, security_control: int, payload_hex: str) -> None:
    apdu = decode_apdu(bytes.fromhex(raw_hex))
    assert apdu == CipheredApdu(0xC8, security_control, 0x01234567, bytes.fromhex(payload_hex))
    assert isinstance(apdu, CipheredApdu)
    assert apdu.plain_tag == ApduTag.GET_REQUEST
    assert not apdu.dedicated
    assert apdu.to_bytes() == bytes.fromhex(raw_hex)


def test_v5_general_glo_ciphering() -> None:
    raw = bytes.fromhex(
        "DB084D4D4D0000BC614E1E30012345674113D3FF935A47566827C467BC597F9FD4FAB3700DBB3BC330"
    )
    apdu = decode_apdu(raw)
    assert apdu == GeneralGloCiphering(
        bytes.fromhex("4D4D4D0000BC614E"),
        0x30,
        0x01234567,
        bytes.fromhex("4113D3FF935A47566827C467BC597F9FD4FAB3700DBB3BC330"),
    )
    assert apdu.to_bytes() == raw


def test_general_ciphering_with_empty_system_title_and_dedicated() -> None:
    empty = GeneralGloCiphering(b"", 0x30, 1, b"\xaa" * 20)
    assert empty.to_bytes()[:2] == b"\xdb\x00"
    assert decode_apdu(empty.to_bytes()) == empty
    dedicated = GeneralDedCiphering(b"ABCDEFGH", 0x30, 1, b"")
    assert decode_apdu(dedicated.to_bytes()) == dedicated
    assert dedicated != GeneralGloCiphering(b"ABCDEFGH", 0x30, 1, b"")


def test_ded_get_vectors_from_a_public_capture() -> None:
    request = decode_apdu(
        bytes.fromhex("D01E3000000001D3B903996D9508C5B6BCDEB025DD1800A5C92775FB55F317CF")
    )
    assert isinstance(request, CipheredApdu) and request.dedicated
    assert request.plain_tag == ApduTag.GET_REQUEST and request.invocation_counter == 1
    response = decode_apdu(
        bytes.fromhex("D4233000000001AA07A549F82E6B8EEA919659D91689BF995BE6F93C95A7208718A3B84EE4")
    )
    assert isinstance(response, CipheredApdu) and response.plain_tag == ApduTag.GET_RESPONSE


def test_long_ciphered_length_form() -> None:
    apdu = CipheredApdu(0xCC, 0x30, 7, bytes(300))
    raw = apdu.to_bytes()
    assert raw[:4] == bytes.fromhex("CC820131")
    assert decode_apdu(raw) == apdu


def test_tag_tables() -> None:
    assert GLOBAL_TAG_FOR_PLAIN[ApduTag.INITIATE_REQUEST] == 0x21
    assert DEDICATED_TAG_FOR_PLAIN[ApduTag.INITIATE_REQUEST] == 0x41
    assert GLOBAL_TAG_FOR_PLAIN[ApduTag.ACTION_RESPONSE] == 0xCF
    assert DEDICATED_TAG_FOR_PLAIN[ApduTag.ACTION_RESPONSE] == 0xD7
    for plain, glo in GLOBAL_TAG_FOR_PLAIN.items():
        assert PLAIN_TAG_FOR_CIPHERED[glo] == plain
        assert PLAIN_TAG_FOR_CIPHERED[DEDICATED_TAG_FOR_PLAIN[plain]] == plain
        if plain >= 0xC0:  # the service tags follow +8 (glo) and +16 (ded)
            assert glo == plain + 8 and DEDICATED_TAG_FOR_PLAIN[plain] == plain + 16
        else:
            assert glo == plain + 0x20 and DEDICATED_TAG_FOR_PLAIN[plain] == plain + 0x40


@pytest.mark.parametrize(
    "raw_hex",
    [
        "C804300000",  # content shorter than the security header
        "C8053000000001FF",  # trailing octet
        "C80630000000",  # truncated
        "DB08414243",  # truncated system title
        "DB0041424344",  # ciphered content length 0x41 runs past
        "DB0004300000",  # content shorter than the security header
    ],
)
def test_ciphered_refused(raw_hex: str) -> None:
    with pytest.raises(DecodeError):
        decode_apdu(bytes.fromhex(raw_hex))


# ----------------------------------------------------------------------------- helpers and registry


def test_invoke_id_and_priority() -> None:
    assert InvokeIdAndPriority(1, confirmed=True, high_priority=True).to_byte() == 0xC1
    assert InvokeIdAndPriority.from_byte(0x81) == InvokeIdAndPriority(1, False, True)
    assert InvokeIdAndPriority.from_byte(0x4F) == InvokeIdAndPriority(15, True, False)
    assert invoke_id_of(0xC7) == 7
    with pytest.raises(EncodeError):
        InvokeIdAndPriority(16)


@pytest.mark.parametrize(
    "apdu",
    [
        GetRequestNext(256, 1),
        GetRequestNext(0xC1, 2**32),
        GetRequestNormal(0xC1, CosemAttributeDescriptor(8, Obis(0, 0, 1, 0, 0, 255), 128)),
        GetRequestNormal(0xC1, CosemAttributeDescriptor(65536, Obis(0, 0, 1, 0, 0, 255), 2)),
        GetResponseNormal(0xC1, 5),  # type: ignore[arg-type]
        GetResponseWithDataBlock(0xC1, True, 1, "text"),  # type: ignore[arg-type]
        SetResponseNormal(0xC1, 7),  # type: ignore[arg-type]
        SetRequestWithList(0xC1, ((CLOCK_TIME, None),), ()),
        ActionRequestWithList(0xC1, (), (Integer(0),)),
        ActionRequestNormal(0xC1, CosemMethodDescriptor(8, CURRENT_ASSOCIATION, 1), b"raw"),  # type: ignore[arg-type]
        CipheredApdu(0xC0, 0x30, 1, b""),
        CipheredApdu(0xC8, 0x30, 2**32, b""),
        InitiateRequest(None, True, 200, 6, Conformance.GET, 1024),
        InitiateResponse(None, 6, Conformance(1 << 24), 1024),
    ],
)
def test_encoders_refuse_out_of_range_values(apdu: object) -> None:
    with pytest.raises(EncodeError):
        apdu.to_bytes()  # type: ignore[attr-defined]


def test_registry_refuses_unknown_tags() -> None:
    for raw in [b"", b"\x00", b"\xe0\x00", b"\xc2\x00", b"\xdd\x00", b"\xff"]:
        with pytest.raises(DecodeError):
            decode_apdu(raw)
