"""The event logs read by real clients (issue 8): a failed association from gurux-dlms with a
wrong key leaves a communication and a security record naming 127.0.0.1, the client's source
port, the SAP and the reason; both event counters move by exactly what happened; selective
access by entry (gurux) and by range (gurux and dlms-cosem) returns exactly the right rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, timedelta
from typing import Any

import pytest
from dlms_cosem import utils
from dlms_cosem.cosem.capture_object import CaptureObject
from dlms_cosem.cosem.selective_access import RangeDescriptor
from dlms_cosem.time import datetime_from_bytes
from gurux_dlms.enums import Authentication, ObjectType
from gurux_dlms.objects import GXDLMSProfileGeneric
from tests.interop.clients import (
    AssociationRejected,
    GuruxCiphering,
    GuruxSession,
    cosem_attribute,
    cosem_session,
    cosem_wrapper_client,
    gurux_object,
)
from tests.interop.harness import TEST_CLOCK, client_entry, running_meter

from meter_process import MeterProcess

pytestmark = pytest.mark.interop

READER = 2
COMMUNICATION_LOG = "0.0.99.98.4.255"
SECURITY_LOG = "0.0.99.98.6.255"
COMMUNICATION_COUNTER = "0.0.96.15.4.255"
SECURITY_COUNTER = "0.0.96.15.6.255"
# Columns of the communication and security logs (docs/LOGS.md).
CLOCK, CODE, COUNTER, COUNT, INTERFACE, ADDRESS, PORT = range(7)
SAP, REASON = 8, 12

LOG_GRANTS = "\n".join(
    f'[[roles.objects]]\nobis = "{obis}"\nread = "all"\n'
    for obis in (
        COMMUNICATION_LOG,
        SECURITY_LOG,
        COMMUNICATION_COUNTER,
        SECURITY_COUNTER,
        "0.0.96.11.4.255",
        "0.0.96.11.6.255",
        "0.0.1.0.0.255",
        "0.0.43.1.2.255",
        *(f"0.0.128.4.{field}.255" for field in range(1, 11)),
        *(f"0.0.128.6.{field}.255" for field in range(1, 11)),
    )
)
ROLES = f"""
[interfaces.tcp]
lockout = false

[[roles]]
sap = 16
name = "auditor"
mechanism = "none"
security = "none"
interfaces = ["tcp"]

{LOG_GRANTS}

[[roles]]
sap = 2
name = "reader"
mechanism = "hls-gmac"
security = "auth-enc"
interfaces = ["tcp"]

[[roles.objects]]
obis = "0.0.1.0.0.255"
read = "all"
"""


@pytest.fixture(scope="module")
def meter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MeterProcess]:
    with running_meter(tmp_path_factory.mktemp("logs"), ROLES) as running:
        yield running


def counters(auditor: GuruxSession) -> tuple[int, int]:
    return (
        int(auditor.read(gurux_object(ObjectType.DATA, COMMUNICATION_COUNTER), 2)),
        int(auditor.read(gurux_object(ObjectType.DATA, SECURITY_COUNTER), 2)),
    )


def last_rows(auditor: GuruxSession, log: str, count: int) -> list[list[Any]]:
    profile = GXDLMSProfileGeneric(log)
    auditor.read(profile, 3)  # gurux needs the capture objects first
    in_use = int(auditor.read(profile, 7))
    return auditor.read_rows_by_entry(profile, in_use - count + 1, count)


def plain(rows: list[list[Any]]) -> list[list[Any]]:
    """Rows with gurux's date-time objects (which do not compare equal) as datetimes."""
    return [[getattr(cell, "value", cell) for cell in row] for row in rows]


def wrong_key_attempt(meter: MeterProcess) -> int:
    """A gurux HLS-GMAC association with a wrong EK; returns the client's source port."""
    keys = client_entry(meter, READER)
    session = GuruxSession(
        meter.tcp_port,
        client_address=READER,
        authentication=Authentication.HIGH_GMAC,
        ciphering=GuruxCiphering(
            system_title=b"ATTACKER",
            encryption_key=bytes(16),
            authentication_key=bytes.fromhex(keys["ak"]),
            invocation_counter=1,
        ),
    )
    session.connect()
    try:
        assert session._socket is not None
        port = int(session._socket.getsockname()[1])
        with pytest.raises(AssociationRejected):
            session.associate()
    finally:
        session.close()
    return port


def test_a_wrong_key_leaves_one_record_in_each_log(meter: MeterProcess) -> None:
    with GuruxSession(meter.tcp_port) as auditor:
        communication_before, security_before = counters(auditor)
    port = wrong_key_attempt(meter)
    with GuruxSession(meter.tcp_port) as auditor:
        communication_after, security_after = counters(auditor)
        communication = last_rows(auditor, COMMUNICATION_LOG, 3)
        security = last_rows(auditor, SECURITY_LOG, 1)

    # communication: the first auditor's release, the refused attempt, the second auditor's
    # association; security: the refused attempt only.
    assert communication_after - communication_before == 3
    assert security_after - security_before == 1
    refused = communication[1]
    assert refused[COUNTER] == communication_before + 2
    assert (refused[ADDRESS], refused[PORT], refused[SAP]) == ("127.0.0.1", port, READER)
    assert refused[REASON] == "deciphering-failed"
    (record,) = security
    assert record[COUNTER] == security_after
    assert (record[ADDRESS], record[PORT], record[SAP]) == ("127.0.0.1", port, READER)
    assert record[REASON] == "deciphering-failed"


def test_selective_access_by_entry_and_range_returns_exactly_those_rows(
    meter: MeterProcess,
) -> None:
    clock = meter.clock
    assert clock is not None
    marks = []
    for _ in range(3):  # three refused attempts a minute apart
        clock.advance(60)
        marks.append(clock.utc())
        wrong_key_attempt(meter)

    with GuruxSession(meter.tcp_port) as auditor:
        profile = GXDLMSProfileGeneric(SECURITY_LOG)
        auditor.read(profile, 3)
        everything = plain([list(row) for row in auditor.read(profile, 2)])
        in_use = int(auditor.read(profile, 7))
        by_entry = plain(auditor.read_rows_by_entry(profile, in_use - 2, 3))
        by_range = plain(
            auditor.read_rows_by_range(
                profile, marks[1] - timedelta(seconds=30), marks[1] + timedelta(seconds=30)
            )
        )

    assert len(everything) == in_use
    assert by_entry == everything[-3:]
    assert len(by_range) == 1
    assert by_range[0][COUNTER] == everything[-2][COUNTER]
    assert by_range[0][CLOCK].astimezone(UTC) == marks[1]

    client = cosem_wrapper_client(meter.tcp_port)
    descriptor = RangeDescriptor(
        restricting_object=CaptureObject(
            cosem_attribute=cosem_attribute(8, "0.0.1.0.0.255", 2), data_index=0
        ),
        from_value=marks[0] - timedelta(seconds=1),
        to_value=marks[2] + timedelta(seconds=1),
    )
    with cosem_session(client):
        raw = client.get(cosem_attribute(7, SECURITY_LOG, 2), access_descriptor=descriptor)
    rows = utils.parse_as_dlms_data(raw)
    assert [row[COUNTER] for row in rows] == [row[COUNTER] for row in everything[-3:]]
    times = [datetime_from_bytes(row[CLOCK])[0].astimezone(UTC) for row in rows]
    assert times == marks
    assert marks[0] > TEST_CLOCK
