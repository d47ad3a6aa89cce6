"""dlms-cosem with HLS-GMAC (mechanism 5) and authenticated encryption (general-glo-ciphering,
the one protection it offers): it reads the clock, a register and the load profile, the last in
GET blocks within its 256-octet PDU. The recorded wrapper frames show general-glo with security
control 0x30 both ways after the AARQ, and answers no longer than the client's PDU.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from dlms_cosem import utils
from dlms_cosem.client import DlmsClient
from dlms_cosem.io import TcpTransport
from dlms_cosem.security import HighLevelSecurityGmacAuthentication
from dlms_cosem.time import datetime_from_bytes
from gurux_dlms.enums import ObjectType
from tests.interop.clients import (
    HOST,
    SOCKET_TIMEOUT,
    GuruxSession,
    RecordingTcpIO,
    cosem_attribute,
    cosem_session,
    gurux_object,
    wrapper_apdus,
)
from tests.interop.harness import LOAD_PROFILE_PERIOD, TEST_CLOCK, client_entry, running_meter

from meter_process import MeterProcess
from securemeter.apdu.acse import AARE, AARQ, RLRE, RLRQ
from securemeter.security.protect import GENERAL_GLO_CIPHERING, decode_general_ciphering

pytestmark = pytest.mark.interop

ROLES = Path(__file__).parent.parent / "attacks" / "roles.toml"
READER = 4  # HLS-GMAC, security "auth-enc"
CLIENT_SYSTEM_TITLE = b"DLC00042"
CLIENT_PDU = 256
NEW_METER_ENERGY = 1_234_567  # Wh; the test clock stands still, so nothing accumulates
GLO_INITIATE_REQUEST, GLO_INITIATE_RESPONSE = 0x21, 0x28


@pytest.fixture(scope="module")
def meter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MeterProcess]:
    roles = ROLES.read_text(encoding="utf-8")
    with running_meter(tmp_path_factory.mktemp("hls-cosem"), roles) as meter:
        yield meter


def last_accepted_counter(meter: MeterProcess) -> int:
    logical_name = client_entry(meter, READER)["invocation_counter_ln"]
    with GuruxSession(meter.tcp_port) as public:
        return int(public.read(gurux_object(ObjectType.DATA, logical_name), 2))


def security_control(apdu: bytes) -> int:
    assert apdu[0] == GENERAL_GLO_CIPHERING, apdu[:1].hex()
    _, title, payload = decode_general_ciphering(apdu)
    assert len(title) == 8
    return payload[0]


def test_dlms_cosem_reads_with_hls_gmac_and_general_glo(meter: MeterProcess) -> None:
    keys = client_entry(meter, READER)
    io = RecordingTcpIO(host=HOST, port=meter.tcp_port, timeout=int(SOCKET_TIMEOUT))
    client = DlmsClient(
        transport=TcpTransport(
            client_logical_address=READER,
            server_logical_address=1,
            io=io,
            timeout=int(SOCKET_TIMEOUT),
        ),
        authentication=HighLevelSecurityGmacAuthentication(challenge_length=32),
        encryption_key=bytes.fromhex(keys["ek"]),
        authentication_key=bytes.fromhex(keys["ak"]),
        client_system_title=CLIENT_SYSTEM_TITLE,
        client_initial_invocation_counter=last_accepted_counter(meter) + 1,
        max_pdu_size=CLIENT_PDU,
        timeout=int(SOCKET_TIMEOUT),
    )

    with cosem_session(client):
        clock = client.get(cosem_attribute(8, "0.0.1.0.0.255", 2))
        energy = client.get(cosem_attribute(3, "1.0.1.8.0.255", 2))
        answers_before = len(wrapper_apdus(bytes(io.received_bytes)))
        buffer = utils.parse_as_dlms_data(client.get(cosem_attribute(7, "1.0.99.1.0.255", 2)))
        profile_answers = len(wrapper_apdus(bytes(io.received_bytes))) - answers_before
        entries = utils.parse_as_dlms_data(client.get(cosem_attribute(7, "1.0.99.1.0.255", 7)))

    time, _ = datetime_from_bytes(utils.parse_as_dlms_data(clock))
    assert time.astimezone(UTC) == TEST_CLOCK
    assert utils.parse_as_dlms_data(energy) == NEW_METER_ENERGY
    assert len(buffer) == entries > 100
    newest, _ = datetime_from_bytes(buffer[-1][0])
    oldest, _ = datetime_from_bytes(buffer[0][0])
    assert newest.astimezone(UTC) == TEST_CLOCK
    assert oldest.astimezone(UTC) == TEST_CLOCK - timedelta(
        seconds=LOAD_PROFILE_PERIOD * (len(buffer) - 1)
    )
    assert profile_answers > 5  # the profile came in GET blocks

    requests = wrapper_apdus(bytes(io.sent_bytes))
    answers = wrapper_apdus(bytes(io.received_bytes))
    initiate_request = AARQ.from_bytes(requests[0]).user_information
    initiate_response = AARE.from_bytes(answers[0]).user_information
    assert initiate_request is not None and initiate_response is not None
    assert initiate_request[0] == GLO_INITIATE_REQUEST and initiate_request[2] == 0x30
    assert initiate_response[0] == GLO_INITIATE_RESPONSE and initiate_response[2] == 0x30
    assert requests[-1][0] == RLRQ.TAG and answers[-1][0] == RLRE.TAG
    assert len(requests) == len(answers)
    # HLS pass 3/4 and every GET: general-glo with authentication and encryption, both ways.
    for request, answer in zip(requests[1:-1], answers[1:-1], strict=True):
        assert security_control(request) == security_control(answer) == 0x30
    assert max(len(answer) for answer in answers) <= CLIENT_PDU
