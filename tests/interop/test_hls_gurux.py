"""gurux-dlms with HLS-GMAC (mechanism 5) in every protection the meter offers.

Roles (tests/attacks/roles.toml): an auth-only reader (security "auth", SC 0x10), an
encrypt-only reader ("enc", 0x20) and an auth+encrypt reader ("auth-enc", 0x30). Each is
driven with general-glo-ciphering (the meter grants general-protection when proposed, and gurux
then protects every request after HLS pass 3 with 0xDB; pass 3 itself goes as a glo-action-
request) and with the service-specific glo- tags (gurux leaves general-protection out of its
proposed conformance); the auth+encrypt reader also with a dedicated key (general-ded 0xDC and
ded- 0xD0/0xD4, again after a glo- pass 3). Each session reads the clock, a register and the
load profile (GET blocks: the client's PDU is 256 octets), and the recording of the wrapper
frames shows that every request and every answer carried the protection of its case.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
from gurux_dlms.enums import ObjectType, Security
from tests.interop.clients import (
    GuruxCiphering,
    GuruxSession,
    RecordingGuruxSession,
    gurux_object,
    gurux_secured_session,
)
from tests.interop.harness import LOAD_PROFILE_PERIOD, TEST_CLOCK, client_entry, running_meter

from meter_process import MeterProcess
from securemeter.apdu.acse import AARE, AARQ, RLRE, RLRQ
from securemeter.security.protect import (
    GENERAL_DED_CIPHERING,
    GENERAL_GLO_CIPHERING,
    decode_general_ciphering,
    decode_service_specific,
)

pytestmark = pytest.mark.interop

ROLES = Path(__file__).parent.parent / "attacks" / "roles.toml"
AUTH_READER, ENC_READER, READER = 2, 3, 4
CLIENT_SYSTEM_TITLE = b"GRX00042"
DEDICATED_KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
CLIENT_PDU = 256
CLOCK = "0.0.1.0.0.255"
ENERGY_IMPORT = "1.0.1.8.0.255"
LOAD_PROFILE = "1.0.99.1.0.255"
NEW_METER_ENERGY = 1_234_567  # Wh; the test clock stands still, so nothing accumulates
GLO_INITIATE_REQUEST, GLO_INITIATE_RESPONSE = 0x21, 0x28
GLO_GET_REQUEST, GLO_GET_RESPONSE = 0xC8, 0xCC
GLO_ACTION_REQUEST, GLO_ACTION_RESPONSE = 0xCB, 0xCF
DED_GET_REQUEST, DED_GET_RESPONSE = 0xD0, 0xD4


@dataclass(frozen=True)
class Case:
    sap: int
    security: Security
    security_control: int
    general: bool
    dedicated: bool = False

    @property
    def request_tag(self) -> int:
        if self.general:
            return GENERAL_DED_CIPHERING if self.dedicated else GENERAL_GLO_CIPHERING
        return DED_GET_REQUEST if self.dedicated else GLO_GET_REQUEST

    @property
    def answer_tag(self) -> int:
        if self.general:
            return self.request_tag  # the general forms serve both directions
        return DED_GET_RESPONSE if self.dedicated else GLO_GET_RESPONSE


CASES = {
    "auth general-glo": Case(AUTH_READER, Security.AUTHENTICATION, 0x10, general=True),
    "auth glo": Case(AUTH_READER, Security.AUTHENTICATION, 0x10, general=False),
    "enc general-glo": Case(ENC_READER, Security.ENCRYPTION, 0x20, general=True),
    "enc glo": Case(ENC_READER, Security.ENCRYPTION, 0x20, general=False),
    "auth-enc general-glo": Case(READER, Security.AUTHENTICATION_ENCRYPTION, 0x30, general=True),
    "auth-enc glo": Case(READER, Security.AUTHENTICATION_ENCRYPTION, 0x30, general=False),
    "auth-enc general-ded": Case(
        READER, Security.AUTHENTICATION_ENCRYPTION, 0x30, general=True, dedicated=True
    ),
    "auth-enc ded": Case(
        READER, Security.AUTHENTICATION_ENCRYPTION, 0x30, general=False, dedicated=True
    ),
}


@pytest.fixture(scope="module")
def meter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MeterProcess]:
    roles = ROLES.read_text(encoding="utf-8")
    with running_meter(tmp_path_factory.mktemp("hls-gurux"), roles) as meter:
        yield meter


def last_accepted_counter(meter: MeterProcess, sap: int) -> int:
    """The role's last accepted invocation counter, read by the public client."""
    logical_name = client_entry(meter, sap)["invocation_counter_ln"]
    with GuruxSession(meter.tcp_port) as public:
        return int(public.read(gurux_object(ObjectType.DATA, logical_name), 2))


def session_for(meter: MeterProcess, case: Case) -> RecordingGuruxSession:
    keys = client_entry(meter, case.sap)
    return gurux_secured_session(
        meter.tcp_port,
        client_address=case.sap,
        ciphering=GuruxCiphering(
            system_title=CLIENT_SYSTEM_TITLE,
            encryption_key=bytes.fromhex(keys["ek"]),
            authentication_key=bytes.fromhex(keys["ak"]),
            invocation_counter=last_accepted_counter(meter, case.sap) + 1,
        ),
        security=case.security,
        general_protection=case.general,
        dedicated_key=DEDICATED_KEY if case.dedicated else None,
        max_receive_pdu_size=CLIENT_PDU,
    )


def protection(apdu: bytes) -> tuple[int, int]:
    """(tag, security control) of a ciphered APDU."""
    if apdu[0] in (GENERAL_GLO_CIPHERING, GENERAL_DED_CIPHERING):
        _, _, payload = decode_general_ciphering(apdu)
    else:
        _, payload = decode_service_specific(apdu)
    return apdu[0], payload[0]


def read_clock_register_and_load_profile(session: RecordingGuruxSession) -> None:
    time = session.read(gurux_object(ObjectType.CLOCK, CLOCK), 2)
    assert time.value.astimezone(UTC) == TEST_CLOCK

    assert session.read(gurux_object(ObjectType.REGISTER, ENERGY_IMPORT), 2) == NEW_METER_ENERGY

    profile = gurux_object(ObjectType.PROFILE_GENERIC, LOAD_PROFILE)
    session.read(profile, 3)  # gurux needs the capture objects to parse rows
    before = session.requests_sent
    rows: list[list[Any]] = session.read(profile, 2)
    # Several kilobytes for a 256-octet client PDU: get-request-next went out for more blocks.
    assert session.requests_sent - before > 5
    assert len(rows) == session.read(profile, 7) > 100
    assert rows[-1][0].value.astimezone(UTC) == TEST_CLOCK
    assert rows[0][0].value.astimezone(UTC) == TEST_CLOCK - timedelta(
        seconds=LOAD_PROFILE_PERIOD * (len(rows) - 1)
    )


@pytest.mark.parametrize("name", list(CASES))
def test_gurux_reads_with_hls_gmac(meter: MeterProcess, name: str) -> None:
    case = CASES[name]

    with session_for(meter, case) as session:
        read_clock_register_and_load_profile(session)

    requests, answers = session.requests(), session.answers()
    # The association: a glo-initiate-request / -response with the case's protection.
    initiate_request = AARQ.from_bytes(requests[0]).user_information
    initiate_response = AARE.from_bytes(answers[0]).user_information
    assert initiate_request is not None and initiate_response is not None
    assert protection(initiate_request) == (GLO_INITIATE_REQUEST, case.security_control)
    assert protection(initiate_response) == (GLO_INITIATE_RESPONSE, case.security_control)
    # HLS pass 3 and 4: gurux sends pass 3 before it counts itself connected, so always as a
    # glo-action-request under the global key; the meter answers in that form.
    assert protection(requests[1]) == (GLO_ACTION_REQUEST, case.security_control)
    assert protection(answers[1]) == (GLO_ACTION_RESPONSE, case.security_control)
    # Every GET and every answer in the case's form; the release in clear.
    assert requests[-1][0] == RLRQ.TAG and answers[-1][0] == RLRE.TAG
    assert len(requests) == len(answers) > 20
    for request, answer in zip(requests[2:-1], answers[2:-1], strict=True):
        assert protection(request) == (case.request_tag, case.security_control)
        assert protection(answer) == (case.answer_tag, case.security_control)
    assert max(len(answer) for answer in answers) <= CLIENT_PDU
