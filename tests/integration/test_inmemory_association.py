"""Head-end <-> meter in memory: association, reads, block transfer, refusals."""

from __future__ import annotations

from meter_harness import START, associate, make_meter
from securemeter.apdu.enums import DataAccessResult
from securemeter.codec.axdr import Array, OctetString, Structure
from securemeter.codec.cosem_time import CosemDateTime
from securemeter.meter.config import PUBLIC_CLIENT, MeterConfig
from securemeter.session.events import AssociationAccepted, AssociationRefused


def test_public_client_reads_the_clock() -> None:
    meter = make_meter(history_days=1)
    link, event = associate(meter)
    assert isinstance(event, AssociationAccepted)
    value = link.get(8, "0.0.1.0.0.255", 2)
    assert isinstance(value, OctetString)
    when = CosemDateTime.from_bytes(value.value)
    assert when.to_datetime() == START
    assert when.deviation == -60  # 1 March: CET


def test_unknown_sap_is_refused_and_logged() -> None:
    meter = make_meter(history_days=0)
    _, event = associate(meter, client_sap=99)
    assert isinstance(event, AssociationRefused)
    records = meter.store.logs.records("communication")
    assert records[-1].fields["reason"] == "unknown-sap"


def test_object_list_and_long_profile_need_blocks() -> None:
    # A public client that reads everything (the demo's public role cannot read the profile).
    meter = make_meter(MeterConfig(roles=(PUBLIC_CLIENT,)), history_days=2)
    link, _ = associate(meter)
    objects = link.get(15, "0.0.40.0.0.255", 2)
    assert isinstance(objects, Array) and len(objects.items) > 10
    buffer = link.get(7, "1.0.99.1.0.255", 2)
    assert isinstance(buffer, Array)
    assert len(buffer.items) == 2 * 96 + 1 or len(buffer.items) == 2 * 96
    assert all(isinstance(row, Structure) for row in buffer.items)


def test_secret_is_never_readable() -> None:
    meter = make_meter(history_days=0)
    link, _ = associate(meter)
    assert link.get(15, "0.0.40.0.0.255", 7) == DataAccessResult.READ_WRITE_DENIED
