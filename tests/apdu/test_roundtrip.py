"""decode(encode(x)) == x for every APDU class, through its own class, its family and the
registry; and the encoding is canonical (re-encoding the decoded value gives the same bytes).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from securemeter.apdu import action, get
from securemeter.apdu import set as set_
from securemeter.apdu.common import ChoiceApdu
from securemeter.apdu.registry import decode_apdu

from .strategies import STRATEGIES_BY_FAMILY, apdus

FAMILY_STRATEGIES = sorted(STRATEGIES_BY_FAMILY.items())


@pytest.mark.parametrize(
    ("family", "strategy"), FAMILY_STRATEGIES, ids=[f for f, _ in FAMILY_STRATEGIES]
)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_round_trip_per_family(
    family: str, strategy: st.SearchStrategy[object], data: st.DataObject
) -> None:
    apdu = data.draw(strategy)
    raw = apdu.to_bytes()  # type: ignore[attr-defined]
    assert type(apdu).from_bytes(raw) == apdu  # type: ignore[attr-defined]
    decoded = decode_apdu(raw)
    assert decoded == apdu
    assert type(decoded) is type(apdu)
    assert decoded.to_bytes() == raw


@settings(max_examples=100, deadline=None)
@given(apdus)
def test_choice_apdus_decode_through_their_family(apdu: object) -> None:
    if not isinstance(apdu, ChoiceApdu):
        return
    raw = apdu.to_bytes()
    families = (
        get.GetRequest,
        get.GetResponse,
        set_.SetRequest,
        set_.SetResponse,
        action.ActionRequest,
        action.ActionResponse,
    )
    (family,) = [f for f in families if isinstance(apdu, f)]
    assert family.from_bytes(raw) == apdu
    assert raw[0] == family.TAG and raw[1] == apdu.CHOICE
