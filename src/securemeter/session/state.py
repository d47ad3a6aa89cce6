"""Association states and every transition between them, for both roles.

Everything that moves an association from one state to another is in the tables below (h11's
rule): the connection code only looks transitions up, so ``tools/state_diagram.py`` can draw
the whole machine from this module. The tables do not know which side "we" are: the meter
and the head-end walk through the same states, triggered by what they send and receive.
"""

from __future__ import annotations

from enum import Enum

from securemeter.errors import LocalProtocolError


class Role(Enum):
    METER = "meter"
    HEADEND = "headend"


class AssociationState(Enum):
    IDLE = "idle"  # no association; only an AARQ may start one
    REQUESTED = "requested"  # AARQ sent or received; the AARE is pending
    AUTHENTICATING = "authenticating"  # accepted, HLS pass 3/4 pending
    ASSOCIATED = "associated"
    RELEASING = "releasing"  # RLRQ sent (head-end) and the RLRE is pending
    CLOSED = "closed"  # aborted: the transport must close


class Trigger(Enum):
    """Pseudo-events that drive transitions (some come from an APDU, some from a decision)."""

    AARQ = "aarq"  # an AARQ was sent (head-end) or received (meter)
    ACCEPTED = "accepted"  # AARE accepted, no further authentication
    ACCEPTED_HLS = "accepted-hls"  # AARE accepted, HLS pass 3/4 required
    REJECTED = "rejected"  # AARE rejected
    HLS_SUCCEEDED = "hls-succeeded"
    HLS_FAILED = "hls-failed"
    RLRQ = "rlrq"  # release requested
    RLRE = "rlre"  # release answered
    ABORT = "abort"  # a fatal protocol or security failure


S = AssociationState
T = Trigger

# TRANSITIONS[role][state][trigger] -> next state. A missing entry is an illegal transition.
TRANSITIONS: dict[Role, dict[AssociationState, dict[Trigger, AssociationState]]] = {
    Role.METER: {
        S.IDLE: {T.AARQ: S.REQUESTED, T.ABORT: S.CLOSED},
        S.REQUESTED: {
            T.ACCEPTED: S.ASSOCIATED,
            T.ACCEPTED_HLS: S.AUTHENTICATING,
            T.REJECTED: S.IDLE,
            T.ABORT: S.CLOSED,
        },
        S.AUTHENTICATING: {
            T.HLS_SUCCEEDED: S.ASSOCIATED,
            T.HLS_FAILED: S.IDLE,
            T.RLRQ: S.IDLE,
            T.ABORT: S.CLOSED,
        },
        S.ASSOCIATED: {T.RLRQ: S.IDLE, T.ABORT: S.CLOSED},
        S.CLOSED: {},
    },
    Role.HEADEND: {
        S.IDLE: {T.AARQ: S.REQUESTED, T.ABORT: S.CLOSED},
        S.REQUESTED: {
            T.ACCEPTED: S.ASSOCIATED,
            T.ACCEPTED_HLS: S.AUTHENTICATING,
            T.REJECTED: S.IDLE,
            T.ABORT: S.CLOSED,
        },
        S.AUTHENTICATING: {
            T.HLS_SUCCEEDED: S.ASSOCIATED,
            T.HLS_FAILED: S.IDLE,
            T.RLRQ: S.RELEASING,
            T.ABORT: S.CLOSED,
        },
        S.ASSOCIATED: {T.RLRQ: S.RELEASING, T.ABORT: S.CLOSED},
        S.RELEASING: {T.RLRE: S.IDLE, T.ABORT: S.CLOSED},
        S.CLOSED: {},
    },
}


def next_state(role: Role, state: AssociationState, trigger: Trigger) -> AssociationState:
    try:
        return TRANSITIONS[role][state][trigger]
    except KeyError:
        raise LocalProtocolError(
            f"{role.value}: {trigger.value} is not allowed in state {state.value}"
        ) from None
