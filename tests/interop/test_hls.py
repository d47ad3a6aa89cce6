"""HLS-GMAC (mechanism 5) with suite 0 authenticated encryption, with both clients.

The head-end's side of the counter rule: before associating, a client reads the role's last
accepted invocation counter (0.0.43.1.e.255) as the public client and starts above it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC

import pytest
from dlms_cosem import utils
from dlms_cosem.client import DlmsClient
from dlms_cosem.io import BlockingTcpIO, TcpTransport
from dlms_cosem.security import HighLevelSecurityGmacAuthentication
from dlms_cosem.time import datetime_from_bytes
from gurux_dlms.enums import Authentication, ObjectType
from tests.interop.clients import (
    HOST,
    SOCKET_TIMEOUT,
    AssociationRejected,
    GuruxCiphering,
    GuruxSession,
    cosem_attribute,
    cosem_session,
    gurux_object,
)
from tests.interop.harness import TEST_CLOCK, client_entry, running_meter

from meter_process import MeterProcess

pytestmark = pytest.mark.interop

READER = 2
CLIENT_SYSTEM_TITLE = b"HES00042"
# AARE result rejected-permanent (1), diagnostic authentication-failure (13): the meter
# answers a glo-initiate-request it cannot decipher or authenticate like a wrong password.
REJECTED_AUTHENTICATION = (1, 13)

ROLES = """
[[roles]]
sap = 16
name = "public"
mechanism = "none"
security = "none"
interfaces = ["tcp"]

[[roles.objects]]
obis = "0.0.43.1.2.255"
read = "all"

[[roles]]
sap = 2
name = "reader"
mechanism = "hls-gmac"
security = "auth-enc"
interfaces = ["tcp"]

[[roles.objects]]
obis = "0.0.1.0.0.255"
read = "all"

[[roles.objects]]
obis = "0.0.40.0.0.255"
read = "all"
"""


@pytest.fixture(scope="module")
def hls_meter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MeterProcess]:
    with running_meter(tmp_path_factory.mktemp("hls"), ROLES) as meter:
        yield meter


def last_accepted_counter(meter: MeterProcess) -> int:
    """The reader role's last accepted invocation counter, read by the public client."""
    logical_name = client_entry(meter, READER)["invocation_counter_ln"]
    with GuruxSession(meter.tcp_port) as public:
        return int(public.read(gurux_object(ObjectType.DATA, logical_name), 2))


def gurux_reader(
    meter: MeterProcess, *, encryption_key: bytes | None = None, counter: int | None = None
) -> GuruxSession:
    keys = client_entry(meter, READER)
    ciphering = GuruxCiphering(
        system_title=CLIENT_SYSTEM_TITLE,
        encryption_key=encryption_key or bytes.fromhex(keys["ek"]),
        authentication_key=bytes.fromhex(keys["ak"]),
        invocation_counter=counter if counter is not None else last_accepted_counter(meter) + 1,
    )
    return GuruxSession(
        meter.tcp_port,
        client_address=READER,
        authentication=Authentication.HIGH_GMAC,
        ciphering=ciphering,
    )


def cosem_reader(meter: MeterProcess, *, encryption_key: bytes | None = None) -> DlmsClient:
    keys = client_entry(meter, READER)
    return DlmsClient(
        transport=TcpTransport(
            client_logical_address=READER,
            server_logical_address=1,
            io=BlockingTcpIO(host=HOST, port=meter.tcp_port, timeout=int(SOCKET_TIMEOUT)),
            timeout=int(SOCKET_TIMEOUT),
        ),
        authentication=HighLevelSecurityGmacAuthentication(challenge_length=32),
        encryption_key=encryption_key or bytes.fromhex(keys["ek"]),
        authentication_key=bytes.fromhex(keys["ak"]),
        client_system_title=CLIENT_SYSTEM_TITLE,
        # dlms-cosem keeps no counter of its own: the caller passes the next one.
        client_initial_invocation_counter=last_accepted_counter(meter) + 1,
        timeout=int(SOCKET_TIMEOUT),
    )


def test_gurux_authenticates_and_reads_ciphered(hls_meter: MeterProcess) -> None:
    before = last_accepted_counter(hls_meter)

    with gurux_reader(hls_meter) as session:
        time = session.read(gurux_object(ObjectType.CLOCK, "0.0.1.0.0.255"), 2)

    assert time.value.astimezone(UTC) == TEST_CLOCK
    # AARQ, HLS pass 3, the GET: each ciphered request took a fresh counter value.
    assert last_accepted_counter(hls_meter) >= before + 3


def test_dlms_cosem_authenticates_and_reads_ciphered(hls_meter: MeterProcess) -> None:
    client = cosem_reader(hls_meter)

    with cosem_session(client):
        raw = client.get(cosem_attribute(8, "0.0.1.0.0.255", 2))

    time, _ = datetime_from_bytes(utils.parse_as_dlms_data(raw))
    assert time.astimezone(UTC) == TEST_CLOCK


def test_gurux_replaying_an_old_counter_is_refused(hls_meter: MeterProcess) -> None:
    last = last_accepted_counter(hls_meter)
    assert last > 0

    session = gurux_reader(hls_meter, counter=last)  # one the meter has already accepted

    with pytest.raises(AssociationRejected) as rejected, session:
        pass

    assert (rejected.value.result, rejected.value.diagnostic) == REJECTED_AUTHENTICATION
    assert last_accepted_counter(hls_meter) == last


def test_gurux_with_a_wrong_key_is_rejected(hls_meter: MeterProcess) -> None:
    session = gurux_reader(hls_meter, encryption_key=bytes(16))

    with pytest.raises(AssociationRejected) as rejected, session:
        pass

    assert (rejected.value.result, rejected.value.diagnostic) == REJECTED_AUTHENTICATION


def test_dlms_cosem_with_a_wrong_key_is_rejected(hls_meter: MeterProcess) -> None:
    client = cosem_reader(hls_meter, encryption_key=bytes(16))

    with pytest.raises(AssociationRejected) as rejected, cosem_session(client):
        pass

    assert (rejected.value.result, rejected.value.diagnostic) == REJECTED_AUTHENTICATION
