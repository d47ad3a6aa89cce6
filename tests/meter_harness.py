"""In-memory meter and head-end for tests: no sockets, no clocks, deterministic."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from securemeter.apdu.common import CosemAttributeDescriptor, SelectiveAccess
from securemeter.apdu.enums import AuthenticationMechanism
from securemeter.apdu.get import GetRequestNormal
from securemeter.codec.axdr import Data
from securemeter.codec.obis import Obis
from securemeter.meter.access import ALL, Grant
from securemeter.meter.config import (
    Interface,
    MeterConfig,
    Protection,
    RoleConfig,
    demo_config,
)
from securemeter.meter.identity import load_or_create_identity
from securemeter.meter.meter import Meter, MeterSession
from securemeter.meter.timekeeping import MeterTime, TestClock
from securemeter.session.connection import AssociationProposal, Connection
from securemeter.session.events import Event, Reply
from securemeter.session.state import Role
from securemeter.storage.base import MeterStore
from securemeter.storage.memory import MemoryStore

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

# Test roles shared by the in-memory security tests: an LLS and an HLS-GMAC reader.
READ_ALL = (Grant(None, read=frozenset({ALL})),)
LLS_READER = RoleConfig(
    sap=2,
    name="lls-reader",
    mechanism=AuthenticationMechanism.LOW,
    protection=Protection.NONE,
    interfaces=frozenset({Interface.TCP}),
    grants=READ_ALL,
    instance=2,
)
HLS_READER = RoleConfig(
    sap=3,
    name="hls-reader",
    mechanism=AuthenticationMechanism.HIGH_GMAC,
    protection=Protection.AUTHENTICATED_ENCRYPTED,
    interfaces=frozenset({Interface.TCP}),
    grants=READ_ALL,
    instance=3,
)


def seeded_random(seed: int = 1):  # type: ignore[no-untyped-def]
    generator = random.Random(seed)
    return lambda n: generator.randbytes(n)


def make_meter(
    config: MeterConfig | None = None,
    *,
    store: MeterStore | None = None,
    clock: TestClock | None = None,
    history_days: int | None = None,
) -> Meter:
    store = store if store is not None else MemoryStore()
    clock = clock if clock is not None else TestClock(START)
    random_bytes = seeded_random()
    identity, _ = load_or_create_identity(store.state, random_bytes)
    config = config or demo_config()
    if history_days is not None:
        config = replace(config, load_profile_history_days=history_days)
    meter = Meter(
        config=config,
        store=store,
        time=MeterTime(clock, store.state),
        identity=identity,
        random_bytes=random_bytes,
    )
    meter.power_up()
    return meter


@dataclass
class Link:
    """A head-end Connection wired to a MeterSession through plain function calls."""

    meter: Meter
    session: MeterSession
    headend: Connection
    client_sap: int

    def exchange(self, data: bytes) -> Event:
        """Send one APDU to the meter; follow block transfers; return the final event."""
        while True:
            output = self.session.receive(self.client_sap, 1, data)
            assert output.data is not None, "the meter did not answer"
            event = self.headend.receive(output.data)
            if isinstance(event, Reply):
                data = event.data
                continue
            return event

    def get(
        self, class_id: int, obis: str, attribute: int, selection: SelectiveAccess | None = None
    ) -> Data | int:
        request = GetRequestNormal(
            0xC1, CosemAttributeDescriptor(class_id, Obis.parse(obis), attribute), selection
        )
        event = self.exchange(self.headend.send_request(request))
        response = event.response  # type: ignore[union-attr]
        return response.result  # type: ignore[no-any-return]


def associate(
    meter: Meter,
    client_sap: int = 16,
    proposal: AssociationProposal | None = None,
    interface: Interface = Interface.TCP,
) -> tuple[Link, Event]:
    session = meter.new_session(interface, "127.0.0.1:40000")
    headend = Connection(Role.HEADEND, random_bytes=seeded_random(2))
    link = Link(meter, session, headend, client_sap)
    event = link.exchange(headend.request_association(proposal or AssociationProposal()))
    return link, event
