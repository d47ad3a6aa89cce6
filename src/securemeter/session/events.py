"""What a Connection hands its user: frozen event values (h11 style, no behaviour)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from securemeter.apdu.acse import AARE, AARQ
from securemeter.apdu.action import (
    ActionRequestNormal,
    ActionRequestWithList,
    ActionResponseNormal,
    ActionResponseWithList,
)
from securemeter.apdu.errors import ExceptionResponse
from securemeter.apdu.get import (
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithList,
)
from securemeter.apdu.initiate import ConfirmedServiceError, InitiateRequest, InitiateResponse
from securemeter.apdu.set import (
    SetRequestNormal,
    SetRequestWithList,
    SetResponseNormal,
    SetResponseWithList,
)

# Complete requests as the meter application sees them: block transfers are already
# reassembled, so a SET or ACTION that came in blocks arrives as its normal form.
ServiceRequest = (
    GetRequestNormal
    | GetRequestWithList
    | SetRequestNormal
    | SetRequestWithList
    | ActionRequestNormal
    | ActionRequestWithList
)
# Complete responses as the head-end application sees them (GET blocks reassembled).
ServiceResponse = (
    GetResponseNormal
    | GetResponseWithList
    | SetResponseNormal
    | SetResponseWithList
    | ActionResponseNormal
    | ActionResponseWithList
    | ExceptionResponse
    | ConfirmedServiceError
)


class Outcome(Enum):
    """What a Reply did, for logs and lockout counting."""

    ASSOCIATED = "associated"
    AUTHENTICATION_PENDING = "authentication-pending"
    AUTHENTICATED = "authenticated"
    REJECTED = "rejected"
    RELEASED = "released"
    BLOCK = "block"  # one block of a block transfer; more to come
    ANSWERED = "answered"  # a complete answer to a service request
    REFUSED = "refused"  # a refusal on the protocol or security level


class Refusal(Enum):
    """Why the session refused something. Values are the reasons written to the logs."""

    MALFORMED = "malformed-apdu"
    UNEXPECTED = "unexpected-apdu"  # not allowed in the association's state
    NOT_ASSOCIATED = "not-associated"
    APPLICATION_CONTEXT = "application-context-not-supported"
    MECHANISM = "mechanism-not-allowed"
    PASSWORD = "wrong-password"
    CHALLENGE = "challenge-refused"
    INITIATE = "initiate-request-refused"
    DECIPHERING = "deciphering-failed"
    AUTHENTICATION = "authentication-failed"
    REPLAY = "replay"
    PROTECTION = "protection-below-policy"
    HLS = "bad-f-stoc"
    COUNTER_EXHAUSTED = "counter-exhausted"
    DEDICATED_KEY = "dedicated-key-in-clear"
    TOO_LONG = "pdu-too-long"
    BLOCK = "block-transfer-error"
    # Decided by the meter application rather than the session:
    UNKNOWN_SAP = "unknown-sap"
    INTERFACE = "interface-not-allowed"
    BUSY = "role-busy"
    STORE = "store-refused"  # a counter retired by a key change meanwhile, or a failing store
    LOCKED = "interface-locked"  # port lockout (docs/ACCESS.md)
    USER = "user-not-allowed"  # a role with a user list and an unknown or missing user id


# ----------------------------------------------------------------------------- meter role


@dataclass(frozen=True, slots=True)
class AssociationRequested:
    """An AARQ arrived. The meter decides (role, interface, credentials) and then calls
    ``Connection.accept_association`` or ``Connection.reject_association``."""

    aarq: AARQ


@dataclass(frozen=True, slots=True)
class ServiceRequested:
    """A complete, deciphered, replay-checked request the application must answer with
    ``Connection.respond``. ``security_control`` is None for a request that came in clear."""

    request: ServiceRequest
    security_control: int | None


@dataclass(frozen=True, slots=True)
class Reply:
    """Bytes the session produced by itself (an AARE, a block, a refusal ...): send them.

    ``refusal`` says why something was refused; ``counts_as_failure`` marks refusals that
    count as an unauthorized attempt (bad credentials, deciphering, replay); ``close``
    asks the transport to close the connection after sending."""

    data: bytes
    outcome: Outcome
    refusal: Refusal | None = None
    detail: str = ""
    counts_as_failure: bool = False
    close: bool = False


@dataclass(frozen=True, slots=True)
class Silence:
    """Nothing to send (e.g. a request for which no answer is allowed); ``refusal`` says why."""

    refusal: Refusal
    detail: str = ""
    counts_as_failure: bool = False


# ----------------------------------------------------------------------------- head-end role


@dataclass(frozen=True, slots=True)
class AssociationAccepted:
    aare: AARE
    initiate_response: InitiateResponse
    authentication_pending: bool  # True: call Connection.authenticate() for HLS pass 3


@dataclass(frozen=True, slots=True)
class AssociationRefused:
    aare: AARE
    service_error: ConfirmedServiceError | None


@dataclass(frozen=True, slots=True)
class Authenticated:
    """HLS pass 4 verified: the meter proved it holds the keys."""


@dataclass(frozen=True, slots=True)
class AuthenticationFailed:
    detail: str


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    response: ServiceResponse
    security_control: int | None


@dataclass(frozen=True, slots=True)
class Released:
    pass


Event = (
    AssociationRequested
    | ServiceRequested
    | Reply
    | Silence
    | AssociationAccepted
    | AssociationRefused
    | Authenticated
    | AuthenticationFailed
    | ResponseReceived
    | Released
)

__all__ = [
    "AssociationAccepted",
    "AssociationRefused",
    "AssociationRequested",
    "Authenticated",
    "AuthenticationFailed",
    "Event",
    "InitiateRequest",
    "Outcome",
    "Refusal",
    "Released",
    "Reply",
    "ResponseReceived",
    "ServiceRequest",
    "ServiceRequested",
    "ServiceResponse",
    "Silence",
]
