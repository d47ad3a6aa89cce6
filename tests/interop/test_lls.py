"""Low level security (mechanism 1, a password) with gurux-dlms and dlms-cosem.

The meter runs two read-only LLS roles: one the right password opens, one that only sees
wrong passwords (so that any failure counting or lockout cannot touch the first).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC

import pytest
from dlms_cosem import utils
from dlms_cosem.time import datetime_from_bytes
from gurux_dlms.enums import Authentication, InterfaceType, ObjectType
from tests.interop.clients import (
    AssociationRejected,
    GuruxSession,
    cosem_attribute,
    cosem_session,
    cosem_wrapper_client,
    gurux_object,
    hdlc_server_address,
)
from tests.interop.harness import TEST_CLOCK, client_entry, running_meter

from meter_process import MeterProcess

pytestmark = pytest.mark.interop

READER = 32  # the role the right password opens
PROBED = 33  # the role that only sees wrong passwords
REJECTED_PERMANENT = 1  # AARE result
AUTHENTICATION_FAILURE = 13  # ACSE service-user diagnostic
WRONG_PASSWORD = b"not-the-password"

ROLES = """
[[roles]]
sap = 16
name = "public"
mechanism = "none"
security = "none"
interfaces = ["tcp", "optical"]

[[roles.objects]]
obis = "0.0.40.0.0.255"
read = "all"

[[roles]]
sap = 32
name = "local reader"
mechanism = "low"
security = "none"
interfaces = ["tcp", "optical"]

[[roles.objects]]
obis = "0.0.1.0.0.255"
read = "all"

[[roles.objects]]
obis = "0.0.40.0.0.255"
read = "all"

[[roles]]
sap = 33
name = "probed reader"
mechanism = "low"
security = "none"
interfaces = ["tcp"]

[[roles.objects]]
obis = "0.0.1.0.0.255"
read = "all"
"""


@pytest.fixture(scope="module")
def lls_meter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MeterProcess]:
    with running_meter(tmp_path_factory.mktemp("lls"), ROLES) as meter:
        yield meter


@pytest.fixture(scope="module")
def password(lls_meter: MeterProcess) -> bytes:
    entry = client_entry(lls_meter, READER)
    assert entry["mechanism"] == "low"
    return str(entry["password"]).encode("ascii")


def read_clock_with_gurux(session: GuruxSession) -> None:
    time = session.read(gurux_object(ObjectType.CLOCK, "0.0.1.0.0.255"), 2)
    assert time.value.astimezone(UTC) == TEST_CLOCK


def test_gurux_associates_with_the_password(lls_meter: MeterProcess, password: bytes) -> None:
    with GuruxSession(
        lls_meter.tcp_port,
        client_address=READER,
        authentication=Authentication.LOW,
        password=password,
    ) as session:
        read_clock_with_gurux(session)


def test_gurux_associates_with_the_password_over_hdlc(
    lls_meter: MeterProcess, password: bytes
) -> None:
    assert lls_meter.hdlc_port is not None
    with GuruxSession(
        lls_meter.hdlc_port,
        interface=InterfaceType.HDLC,
        client_address=READER,
        server_address=hdlc_server_address(1, None, 1),
        server_address_size=1,
        authentication=Authentication.LOW,
        password=password,
    ) as session:
        read_clock_with_gurux(session)


def test_gurux_sees_a_wrong_password_rejected(lls_meter: MeterProcess) -> None:
    session = GuruxSession(
        lls_meter.tcp_port,
        client_address=PROBED,
        authentication=Authentication.LOW,
        password=WRONG_PASSWORD,
    )

    with pytest.raises(AssociationRejected) as rejected, session:
        pass

    assert rejected.value.result == REJECTED_PERMANENT
    assert rejected.value.diagnostic == AUTHENTICATION_FAILURE


def test_dlms_cosem_associates_with_the_password(lls_meter: MeterProcess, password: bytes) -> None:
    client = cosem_wrapper_client(lls_meter.tcp_port, client_address=READER, password=password)

    with cosem_session(client):
        raw = client.get(cosem_attribute(8, "0.0.1.0.0.255", 2))

    time, _ = datetime_from_bytes(utils.parse_as_dlms_data(raw))
    assert time.astimezone(UTC) == TEST_CLOCK


def test_dlms_cosem_sees_a_wrong_password_rejected(lls_meter: MeterProcess) -> None:
    client = cosem_wrapper_client(
        lls_meter.tcp_port, client_address=PROBED, password=WRONG_PASSWORD
    )

    with pytest.raises(AssociationRejected) as rejected, cosem_session(client):
        pass

    assert rejected.value.result == REJECTED_PERMANENT
    assert rejected.value.diagnostic == AUTHENTICATION_FAILURE


def test_the_right_password_of_another_role_is_refused(
    lls_meter: MeterProcess, password: bytes
) -> None:
    # Each role has its own secret: the reader's password does not open the probed role.
    client = cosem_wrapper_client(lls_meter.tcp_port, client_address=PROBED, password=password)

    with pytest.raises(AssociationRejected) as rejected, cosem_session(client):
        pass

    assert rejected.value.diagnostic == AUTHENTICATION_FAILURE
