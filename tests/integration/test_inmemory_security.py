"""Head-end <-> meter in memory with LLS and HLS-GMAC roles, ciphering and refusals."""

from __future__ import annotations

from dataclasses import replace

import pytest

from meter_harness import HLS_READER, LLS_READER, associate, make_meter
from securemeter.apdu.enums import AuthenticationMechanism, DataAccessResult
from securemeter.codec.axdr import OctetString
from securemeter.meter.config import PUBLIC_CLIENT, Interface, MeterConfig
from securemeter.session.connection import AssociationProposal
from securemeter.session.events import (
    AssociationAccepted,
    AssociationRefused,
    Authenticated,
    ResponseReceived,
)
from securemeter.session.protection import CipherForm, SecurityContext

CONFIG = MeterConfig(roles=(PUBLIC_CLIENT, LLS_READER, HLS_READER), load_profile_history_days=1)


class ClientCounter:
    """The head-end's own invocation counters (outgoing) and the meter's (incoming)."""

    def __init__(self) -> None:
        self.outgoing = 0
        self.incoming: int | None = None

    def next(self) -> int:
        self.outgoing += 1
        return self.outgoing

    def accept(self, value: int) -> None:
        assert self.incoming is None or value > self.incoming, "meter reused a counter"
        self.incoming = value


def hls_proposal(meter, *, form=CipherForm.GLOBAL, security_control=0x30, key=None):  # type: ignore[no-untyped-def]
    credentials = meter.credentials[3]
    counter = ClientCounter()
    context = SecurityContext(
        local_system_title=b"CLIENT01",
        peer_system_title=None,
        encryption_key=key or credentials.encryption_key,
        authentication_key=credentials.authentication_key,
        accept_incoming=counter.accept,
        last_incoming=lambda: counter.incoming,
        next_outgoing=counter.next,
    )
    return AssociationProposal(
        mechanism=AuthenticationMechanism.HIGH_GMAC,
        security=context,
        cipher_form=form,
        security_control=security_control,
        max_receive_pdu_size=512,
    ), counter


def test_lls_with_the_right_password() -> None:
    meter = make_meter(CONFIG)
    password = meter.credentials[2].password
    link, event = associate(
        meter, 2, AssociationProposal(mechanism=AuthenticationMechanism.LOW, password=password)
    )
    assert isinstance(event, AssociationAccepted)
    assert isinstance(link.get(8, "0.0.1.0.0.255", 2), OctetString)


def test_lls_with_a_wrong_password_is_refused_and_logged() -> None:
    meter = make_meter(CONFIG)
    _, event = associate(
        meter, 2, AssociationProposal(mechanism=AuthenticationMechanism.LOW, password=b"wrong")
    )
    assert isinstance(event, AssociationRefused)
    assert meter.store.logs.records("security")[-1].fields["reason"] == "wrong-password"


@pytest.mark.parametrize(
    "form", [CipherForm.GLOBAL, CipherForm.GENERAL_GLOBAL], ids=["glo", "general-glo"]
)
def test_hls_gmac_with_ciphering(form: CipherForm) -> None:
    meter = make_meter(CONFIG)
    proposal, counter = hls_proposal(meter, form=form)
    link, event = associate(meter, 3, proposal)
    assert isinstance(event, AssociationAccepted) and event.authentication_pending
    assert isinstance(link.exchange(link.headend.authenticate()), Authenticated)
    value = link.get(8, "0.0.1.0.0.255", 2)
    assert isinstance(value, OctetString)
    # the load profile needs GET blocks, each block ciphered under a fresh counter
    before = counter.incoming
    assert link.get(7, "1.0.99.1.0.255", 2) is not None
    assert counter.incoming is not None and before is not None and counter.incoming > before + 1


def test_hls_with_a_wrong_key_fails_pass_3() -> None:
    meter = make_meter(CONFIG)
    proposal, _ = hls_proposal(meter, key=bytes(16))
    _, event = associate(meter, 3, proposal)
    # the ciphered initiate request does not decipher: rejected AARE
    assert isinstance(event, AssociationRefused)
    assert meter.store.logs.records("security")[-1].fields["reason"] == "deciphering-failed"


def test_plain_request_below_policy_is_refused() -> None:
    meter = make_meter(CONFIG)
    proposal, _ = hls_proposal(meter)
    link, _ = associate(meter, 3, proposal)
    link.exchange(link.headend.authenticate())
    # a GET in clear, bypassing the head-end's ciphering
    from securemeter.apdu.common import CosemAttributeDescriptor
    from securemeter.apdu.get import GetRequestNormal
    from securemeter.codec.obis import Obis

    plain = GetRequestNormal(
        0xC1, CosemAttributeDescriptor(8, Obis.parse("0.0.1.0.0.255"), 2), None
    )
    output = link.session.receive(3, 1, plain.to_bytes())
    assert output.data is not None and output.data[0] == 0xD8  # exception-response
    assert meter.store.logs.records("security")[-1].fields["reason"] == "protection-below-policy"


def test_replayed_request_is_refused() -> None:
    meter = make_meter(CONFIG)
    proposal, _ = hls_proposal(meter)
    link, _ = associate(meter, 3, proposal)
    link.exchange(link.headend.authenticate())
    from securemeter.apdu.common import CosemAttributeDescriptor
    from securemeter.apdu.get import GetRequestNormal
    from securemeter.codec.obis import Obis

    request = link.headend.send_request(
        GetRequestNormal(0xC1, CosemAttributeDescriptor(8, Obis.parse("0.0.1.0.0.255"), 2), None)
    )
    first = link.session.receive(3, 1, request)
    assert isinstance(link.headend.receive(first.data or b""), ResponseReceived)
    again = link.session.receive(3, 1, request)
    assert again.data is not None and again.data[0] == 0xD8
    assert meter.store.logs.records("security")[-1].fields["reason"] == "replay"


def test_role_on_a_forbidden_interface_is_refused() -> None:
    meter = make_meter(CONFIG)
    password = meter.credentials[2].password
    _, event = associate(
        meter,
        2,
        AssociationProposal(mechanism=AuthenticationMechanism.LOW, password=password),
        interface=Interface.OPTICAL,
    )
    assert isinstance(event, AssociationRefused)


def test_public_role_cannot_write() -> None:
    meter = make_meter(replace(CONFIG))
    link, _ = associate(meter)
    from securemeter.apdu.common import CosemAttributeDescriptor
    from securemeter.apdu.set import SetRequestNormal
    from securemeter.codec.obis import Obis

    request = SetRequestNormal(
        0xC1, CosemAttributeDescriptor(1, Obis.parse("0.0.128.0.0.255"), 2), None, OctetString(b"x")
    )
    event = link.exchange(link.headend.send_request(request))
    assert isinstance(event, ResponseReceived)
    assert event.response.result == DataAccessResult.READ_WRITE_DENIED  # type: ignore[union-attr]
