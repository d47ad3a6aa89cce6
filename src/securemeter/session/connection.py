"""The sans-IO association: one ``Connection`` type for the meter and the head-end role.

Bytes in, events out (h11 style): ``receive(apdu_bytes)`` returns one event, and the
methods that answer return the bytes to send. The link layer (wrapper or HDLC) delivers
whole APDUs; no socket, clock or file is touched here. Randomness (HLS challenges) is
injected.

The meter role deciphers, checks counters and the security policy, runs HLS pass 3/4,
and reassembles and segments block transfers by itself; the application sees only complete,
authorised requests (``ServiceRequested``) and decides associations (``AssociationRequested``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from securemeter.apdu.acse import AARE, AARQ, RLRE, RLRQ
from securemeter.apdu.action import (
    ActionRequestNextPBlock,
    ActionRequestNormal,
    ActionRequestWithFirstPBlock,
    ActionRequestWithList,
    ActionRequestWithPBlock,
    ActionResponseNextPBlock,
    ActionResponseNormal,
)
from securemeter.apdu.common import CosemMethodDescriptor
from securemeter.apdu.enums import (
    AcseServiceUserDiagnostic,
    ActionResult,
    ApplicationContextName,
    AssociationResult,
    AuthenticationMechanism,
    ConfirmedService,
    Conformance,
    DataAccessResult,
    DiagnosticSource,
    InitiateError,
    ServiceError,
    ServiceErrorClass,
    StateError,
)
from securemeter.apdu.errors import ExceptionResponse
from securemeter.apdu.get import (
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDataBlock,
    GetResponseWithList,
)
from securemeter.apdu.initiate import (
    ConfirmedServiceError,
    InitiateRequest,
    InitiateResponse,
)
from securemeter.apdu.registry import decode_apdu
from securemeter.apdu.set import (
    SetRequestNormal,
    SetRequestWithDataBlock,
    SetRequestWithFirstDataBlock,
    SetRequestWithList,
    SetResponseDataBlock,
    SetResponseLastDataBlock,
    SetResponseNormal,
)
from securemeter.codec.axdr import Data, OctetString, decode_exact
from securemeter.codec.obis import Obis
from securemeter.errors import (
    AuthenticationFailed,
    CounterExhausted,
    DecipheringFailed,
    DecodeError,
    LocalProtocolError,
    ReplayDetected,
)
from securemeter.security.hls import (
    gmac_response,
    make_challenge,
    verify_gmac_response,
    verify_password,
)
from securemeter.security.policy import SecurityPolicy, request_satisfies
from securemeter.security.protect import is_ciphered
from securemeter.session.blocks import (
    BlockReassembler,
    BlockSegmenter,
    BlockTransferError,
    get_response_block_capacity,
)
from securemeter.session.events import (
    AssociationAccepted,
    AssociationRefused,
    AssociationRequested,
    Authenticated,
    Event,
    Outcome,
    Refusal,
    Released,
    Reply,
    ResponseReceived,
    ServiceRequest,
    ServiceRequested,
    ServiceResponse,
)
from securemeter.session.events import (
    AuthenticationFailed as AuthenticationFailedEvent,
)
from securemeter.session.protection import (
    MAX_CIPHERING_OVERHEAD,
    CipherForm,
    SecurityContext,
    ciphering_overhead,
    decipher,
    encipher,
)
from securemeter.session.state import AssociationState, Role, Trigger, next_state

CURRENT_ASSOCIATION = Obis(0, 0, 40, 0, 0, 255)
ASSOCIATION_LN_CLASS = 15
REPLY_TO_HLS_AUTHENTICATION = 1
DLMS_VERSION = 6
MIN_CLIENT_PDU_SIZE = 64  # below this not even a block header and a GMAC tag fit


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """Limits of the local side."""

    max_receive_pdu_size: int = 1024
    max_reassembly_size: int = 64 * 1024  # largest SET/ACTION value accepted in blocks
    challenge_length: int = 32


@dataclass(frozen=True, slots=True)
class AssociationTerms:
    """What the meter requires of one client role; given to ``accept_association``."""

    mechanism: AuthenticationMechanism
    conformance: Conformance
    policy: SecurityPolicy = SecurityPolicy.NOTHING
    password: bytes | None = None  # LLS secret
    security: SecurityContext | None = None  # required for ciphering and HLS-GMAC
    association_name: Obis | None = None  # the role's own Association LN (besides 0.0.40.0.0.255)


@dataclass(frozen=True, slots=True)
class AssociationProposal:
    """What the head-end proposes in its AARQ."""

    mechanism: AuthenticationMechanism = AuthenticationMechanism.NONE
    conformance: Conformance = (
        Conformance.GET
        | Conformance.SET
        | Conformance.ACTION
        | Conformance.SELECTIVE_ACCESS
        | Conformance.MULTIPLE_REFERENCES
        | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
        | Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE
        | Conformance.BLOCK_TRANSFER_WITH_ACTION
    )
    password: bytes | None = None
    security: SecurityContext | None = None
    security_control: int = 0x30  # protection of ciphered requests
    cipher_form: CipherForm = CipherForm.GLOBAL
    dedicated_key: bytes | None = None
    max_receive_pdu_size: int = 0xFFFF
    user_id: int | None = None


class Connection:
    """One association's state, for either role. Not thread-safe; one per link."""

    def __init__(
        self,
        role: Role,
        settings: SessionSettings | None = None,
        *,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.role = role
        self.settings = settings or SessionSettings()
        self.state = AssociationState.IDLE
        self._random_bytes = random_bytes
        self._aarq: AARQ | None = None
        self._terms: AssociationTerms | None = None
        self._proposal: AssociationProposal | None = None
        self._security: SecurityContext | None = None
        self._policy = SecurityPolicy(0)
        self._conformance = Conformance(0)
        self._peer_max_pdu = 0xFFFF
        self._own_challenge = b""  # StoC on the meter, CtoS on the head-end
        self._peer_challenge = b""
        # Protection of the request being answered (the meter answers in the same form).
        self._request_form: CipherForm | None = None
        self._request_security_control: int | None = None
        self._get_blocks: BlockSegmenter | None = None
        self._get_invoke = 0
        self._set_blocks: BlockReassembler | None = None
        self._set_head: SetRequestWithFirstDataBlock | None = None
        self._action_blocks: BlockReassembler | None = None
        self._action_head: ActionRequestWithFirstPBlock | None = None
        self._last_request_block = 0  # block number of a reassembled SET being answered
        # Head-end side of block transfers.
        self._response_blocks: BlockReassembler | None = None
        self._outgoing_blocks: BlockSegmenter | None = None
        self._outgoing_head: SetRequestNormal | ActionRequestNormal | None = None
        self.negotiated: InitiateResponse | None = None

    # ------------------------------------------------------------------ common

    @property
    def security(self) -> SecurityContext | None:
        return self._security

    @property
    def conformance(self) -> Conformance:
        return self._conformance

    def _move(self, trigger: Trigger) -> None:
        self.state = next_state(self.role, self.state, trigger)

    def _require(self, role: Role) -> None:
        if self.role is not role:
            raise LocalProtocolError(f"only the {role.value} role may do this")

    def receive(self, raw: bytes) -> Event:
        """Hand over one complete APDU as received from the link; get what it means."""
        if self.role is Role.METER:
            return self._meter_receive(raw)
        return self._headend_receive(raw)

    # ------------------------------------------------------------------ meter role

    def _meter_receive(self, raw: bytes) -> Event:
        if not raw:
            return self._exception(Refusal.MALFORMED, "empty APDU", ServiceError.OTHER_REASON)
        if len(raw) > self.settings.max_receive_pdu_size:
            return self._exception(
                Refusal.TOO_LONG, f"{len(raw)} octets", ServiceError.PDU_TOO_LONG
            )
        tag = raw[0]
        if tag == AARQ.TAG:
            return self._on_aarq(raw)
        if tag == RLRQ.TAG:
            return self._on_rlrq(raw)
        if self.state not in (AssociationState.ASSOCIATED, AssociationState.AUTHENTICATING):
            return self._exception(
                Refusal.NOT_ASSOCIATED, f"tag 0x{tag:02X}", ServiceError.OPERATION_NOT_POSSIBLE
            )
        self._request_form = None
        self._request_security_control = None
        frame_counter: int | None = None
        prior_counter: int | None = None
        if is_ciphered(tag):
            security = self._security
            if security is None:
                return self._exception(
                    Refusal.DECIPHERING,
                    "ciphered APDU in an association without security",
                    ServiceError.DECIPHERING_ERROR,
                    counts_as_failure=True,
                )
            try:
                deciphered = decipher(raw, security)
            except AuthenticationFailed as exc:
                return self._exception(
                    Refusal.AUTHENTICATION,
                    str(exc),
                    ServiceError.DECIPHERING_ERROR,
                    counts_as_failure=True,
                )
            except DecipheringFailed as exc:
                return self._exception(
                    Refusal.DECIPHERING,
                    str(exc),
                    ServiceError.DECIPHERING_ERROR,
                    counts_as_failure=True,
                )
            if self.state is AssociationState.AUTHENTICATING:
                prior_counter = security.last_incoming()  # pass 3 may need to roll back to it
            frame_counter = deciphered.invocation_counter
            if (
                deciphered.security_control & 0x10
                and (refused := self._accept_counter(frame_counter)) is not None
            ):
                return refused
            raw = deciphered.apdu
            self._request_form = deciphered.form
            self._request_security_control = deciphered.security_control
        security_control = self._request_security_control
        if self._policy and not request_satisfies(self._policy, security_control or 0):
            return self._exception(
                Refusal.PROTECTION,
                f"policy {self._policy!r}, request SC {security_control}",
                ServiceError.OPERATION_NOT_POSSIBLE,
                counts_as_failure=True,
            )
        try:
            apdu = decode_apdu(raw)
        except DecodeError as exc:
            return self._exception(Refusal.MALFORMED, str(exc), ServiceError.OTHER_REASON)
        if (
            frame_counter is not None
            and security_control is not None
            and not security_control & 0x10
            and (refused := self._accept_counter(frame_counter)) is not None
        ):
            return refused  # encrypt-only: the counter counts once the APDU decoded
        if self.state is AssociationState.AUTHENTICATING:
            return self._on_hls_reply(apdu, prior_counter)
        return self._meter_dispatch(apdu)

    def _accept_counter(self, counter: int) -> Reply | None:
        assert self._security is not None
        try:
            self._security.accept_incoming(counter)
        except ReplayDetected as exc:
            return self._exception(
                Refusal.REPLAY,
                str(exc),
                ServiceError.INVOCATION_COUNTER_ERROR,
                counts_as_failure=True,
            )
        return None

    def _meter_dispatch(self, apdu: object) -> Event:
        security_control = self._request_security_control
        if isinstance(apdu, _SIMPLE_REQUESTS):
            self._abort_long_transfers()
            return ServiceRequested(apdu, security_control)
        if isinstance(apdu, _LIST_REQUESTS):
            self._abort_long_transfers()
            return ServiceRequested(apdu, security_control)
        if isinstance(apdu, ActionRequestNormal):
            self._abort_long_transfers()
            if self._is_hls_reply(apdu):
                return self._answer(
                    ActionResponseNormal(
                        apdu.invoke_id_and_priority, ActionResult.READ_WRITE_DENIED, None
                    ),
                    Outcome.REFUSED,
                    refusal=Refusal.HLS,
                    detail="a second reply_to_HLS_authentication",
                    counts_as_failure=True,
                )
            return ServiceRequested(apdu, security_control)
        if isinstance(apdu, GetRequestNext):
            return self._next_get_block(apdu)
        if isinstance(apdu, SetRequestWithFirstDataBlock | SetRequestWithDataBlock):
            return self._set_block(apdu)
        if isinstance(apdu, ActionRequestWithFirstPBlock | ActionRequestWithPBlock):
            return self._action_block(apdu)
        if isinstance(apdu, ActionRequestNextPBlock):
            return self._answer(
                ActionResponseNormal(
                    apdu.invoke_id_and_priority, ActionResult.NO_LONG_ACTION_IN_PROGRESS, None
                ),
                Outcome.REFUSED,
                refusal=Refusal.BLOCK,
                detail="no action response in blocks",
            )
        return self._exception(
            Refusal.UNEXPECTED, type(apdu).__name__, ServiceError.SERVICE_NOT_SUPPORTED
        )

    def _abort_long_transfers(self) -> None:
        self._get_blocks = None
        self._set_blocks = None
        self._set_head = None
        self._action_blocks = None
        self._action_head = None
        self._last_request_block = 0

    # association establishment

    def _on_aarq(self, raw: bytes) -> Event:
        if self.state is not AssociationState.IDLE:
            return Reply(
                self._aare_rejected(
                    ApplicationContextName.LOGICAL_NAME,
                    AssociationResult.REJECTED_TRANSIENT,
                    AcseServiceUserDiagnostic.NO_REASON_GIVEN,
                ),
                Outcome.REJECTED,
                refusal=Refusal.UNEXPECTED,
                detail="AARQ inside an established association",
            )
        try:
            aarq = AARQ.from_bytes(raw)
        except DecodeError as exc:
            return Reply(
                self._aare_rejected(
                    ApplicationContextName.LOGICAL_NAME,
                    AssociationResult.REJECTED_PERMANENT,
                    AcseServiceUserDiagnostic.NO_REASON_GIVEN,
                ),
                Outcome.REJECTED,
                refusal=Refusal.MALFORMED,
                detail=str(exc),
            )
        self._move(Trigger.AARQ)
        self._aarq = aarq
        return AssociationRequested(aarq)

    def reject_association(
        self,
        refusal: Refusal,
        detail: str = "",
        *,
        result: AssociationResult = AssociationResult.REJECTED_PERMANENT,
        diagnostic: AcseServiceUserDiagnostic = AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE,
        counts_as_failure: bool = True,
        service_error: ConfirmedServiceError | None = None,
    ) -> Reply:
        """Refuse the pending AARQ. Credential failures all get the same answer on the wire."""
        self._require(Role.METER)
        aarq = self._aarq
        if aarq is None or self.state is not AssociationState.REQUESTED:
            raise LocalProtocolError("no association request is pending")
        self._move(Trigger.REJECTED)
        self._aarq = None
        self._security = None
        context = (
            aarq.application_context_name
            if aarq.application_context_name in _SUPPORTED_CONTEXTS
            else ApplicationContextName.LOGICAL_NAME
        )
        data = self._aare_rejected(context, result, diagnostic, service_error)
        return Reply(
            data,
            Outcome.REJECTED,
            refusal=refusal,
            detail=detail,
            counts_as_failure=counts_as_failure,
        )

    def accept_association(self, terms: AssociationTerms) -> Reply:
        """Check the pending AARQ against the role's terms; answer with an AARE.

        Returns a rejected AARE (and the refusal) when the AARQ does not meet the terms.
        """
        self._require(Role.METER)
        aarq = self._aarq
        if aarq is None or self.state is not AssociationState.REQUESTED:
            raise LocalProtocolError("no association request is pending")
        context = aarq.application_context_name
        if context not in _SUPPORTED_CONTEXTS or (
            context is ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING and terms.security is None
        ):
            return self.reject_association(
                Refusal.APPLICATION_CONTEXT,
                f"application context {context!r}",
                diagnostic=AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED,
                counts_as_failure=False,
            )
        mechanism = aarq.mechanism_name or AuthenticationMechanism.NONE
        if mechanism != terms.mechanism:
            return self.reject_association(
                Refusal.MECHANISM, f"mechanism {mechanism!r} for a {terms.mechanism.name} role"
            )
        security = terms.security
        if mechanism == AuthenticationMechanism.LOW:
            value = aarq.calling_authentication_value
            if (
                terms.password is None
                or value is None
                or not verify_password(terms.password, value)
            ):
                return self.reject_association(Refusal.PASSWORD, "LLS password mismatch")
        if mechanism == AuthenticationMechanism.HIGH_GMAC:
            challenge = aarq.calling_authentication_value
            if security is None:
                raise LocalProtocolError("HLS-GMAC terms need a security context")
            if challenge is None or not 8 <= len(challenge) <= 64:
                return self.reject_association(Refusal.CHALLENGE, "CtoS must be 8 to 64 octets")
            self._peer_challenge = challenge
        if security is not None:
            title = aarq.calling_ap_title
            if title is None or len(title) != 8:
                return self.reject_association(
                    Refusal.CHALLENGE, "calling-AP-title must be an 8-octet system title"
                )
            security.peer_system_title = title
            security.dedicated_key = None
        self._security = security
        self._policy = terms.policy
        # xDLMS initiate request (possibly ciphered)
        user_information = aarq.user_information
        if not user_information:
            return self.reject_association(
                Refusal.INITIATE, "no xDLMS initiate request", counts_as_failure=False
            )
        initiate_form: CipherForm | None = None
        initiate_security_control = 0
        if is_ciphered(user_information[0]):
            if security is None:
                return self.reject_association(
                    Refusal.DECIPHERING, "ciphered initiate request for a role without keys"
                )
            try:
                deciphered = decipher(user_information, security)
            except (AuthenticationFailed, DecipheringFailed) as exc:
                return self.reject_association(Refusal.DECIPHERING, str(exc))
            if deciphered.form.dedicated:
                return self.reject_association(
                    Refusal.DECIPHERING, "initiate request under a dedicated key"
                )
            if not request_satisfies(terms.policy, deciphered.security_control):
                # An unauthenticated (encrypt-only) initiate request must not move the
                # counter of a role whose policy requires authentication.
                return self.reject_association(
                    Refusal.PROTECTION, "initiate request below the role's policy"
                )
            initiate_bytes = deciphered.apdu
            initiate_form = deciphered.form
            initiate_security_control = deciphered.security_control
        else:
            initiate_bytes = user_information
        try:
            initiate = InitiateRequest.from_bytes(initiate_bytes)
        except DecodeError as exc:
            return self.reject_association(
                Refusal.MALFORMED, f"initiate request: {exc}", counts_as_failure=False
            )
        if initiate_form is not None:
            assert security is not None
            try:  # counted only now: an encrypt-only frame must first decode (no tag)
                security.accept_incoming(deciphered.invocation_counter)
            except ReplayDetected as exc:
                return self.reject_association(Refusal.REPLAY, str(exc))
        if initiate.dedicated_key is not None:
            if initiate_form is None or not initiate_security_control & 0x20:
                return self.reject_association(
                    Refusal.DEDICATED_KEY, "a dedicated key may only travel encrypted"
                )
            if security is None or len(initiate.dedicated_key) != 16:
                return self.reject_association(Refusal.INITIATE, "dedicated key of wrong size")
            security.dedicated_key = initiate.dedicated_key
        initiate_error = self._check_initiate(initiate, terms)
        if initiate_error is not None:
            return self.reject_association(
                Refusal.INITIATE,
                f"initiate error {initiate_error}",
                diagnostic=AcseServiceUserDiagnostic.NO_REASON_GIVEN,
                counts_as_failure=False,
                service_error=ConfirmedServiceError(
                    ConfirmedService.INITIATE_ERROR, ServiceErrorClass.INITIATE, initiate_error
                ),
            )
        self._conformance = initiate.proposed_conformance & terms.conformance
        self._peer_max_pdu = initiate.client_max_receive_pdu_size or 0xFFFF
        response = InitiateResponse(
            negotiated_quality_of_service=None,
            negotiated_dlms_version=DLMS_VERSION,
            negotiated_conformance=self._conformance,
            server_max_receive_pdu_size=self.settings.max_receive_pdu_size,
        )
        self.negotiated = response
        response_bytes = response.to_bytes()
        if initiate_form is not None:
            assert security is not None
            try:
                response_bytes = encipher(
                    response_bytes, security, initiate_form, initiate_security_control
                )
            except CounterExhausted as exc:
                return self.reject_association(Refusal.COUNTER_EXHAUSTED, str(exc))
        hls = mechanism == AuthenticationMechanism.HIGH_GMAC
        if hls:
            self._own_challenge = make_challenge(
                self.settings.challenge_length, random_source=self._random_bytes
            )
        aare = AARE(
            application_context_name=context,
            result=AssociationResult.ACCEPTED,
            diagnostic_source=_USER,
            diagnostic=(
                AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED
                if hls
                else AcseServiceUserDiagnostic.NULL
            ),
            responding_ap_title=security.local_system_title if security is not None else None,
            responder_acse_requirements=mechanism != AuthenticationMechanism.NONE,
            mechanism_name=mechanism if mechanism != AuthenticationMechanism.NONE else None,
            responding_authentication_value=self._own_challenge if hls else None,
            user_information=response_bytes,
        )
        self._terms = terms
        self._move(Trigger.ACCEPTED_HLS if hls else Trigger.ACCEPTED)
        return Reply(
            aare.to_bytes(),
            Outcome.AUTHENTICATION_PENDING if hls else Outcome.ASSOCIATED,
        )

    def _check_initiate(
        self, initiate: InitiateRequest, terms: AssociationTerms
    ) -> InitiateError | None:
        if initiate.proposed_dlms_version < DLMS_VERSION:
            return InitiateError.DLMS_VERSION_TOO_LOW
        if not initiate.proposed_conformance & terms.conformance:
            return InitiateError.INCOMPATIBLE_CONFORMANCE
        size = initiate.client_max_receive_pdu_size
        if size and size < MIN_CLIENT_PDU_SIZE:
            return InitiateError.PDU_SIZE_TOO_SHORT
        return None

    def _aare_rejected(
        self,
        context: ApplicationContextName,
        result: AssociationResult,
        diagnostic: AcseServiceUserDiagnostic,
        service_error: ConfirmedServiceError | None = None,
    ) -> bytes:
        return AARE(
            application_context_name=context,
            result=result,
            diagnostic_source=_USER,
            diagnostic=diagnostic,
            responding_ap_title=None,
            responder_acse_requirements=False,
            mechanism_name=None,
            responding_authentication_value=None,
            user_information=service_error.to_bytes() if service_error is not None else None,
        ).to_bytes()

    def _is_hls_reply(self, apdu: ActionRequestNormal) -> bool:
        method = apdu.method
        own = self._terms.association_name if self._terms is not None else None
        return (
            method.class_id == ASSOCIATION_LN_CLASS
            and method.method_id == REPLY_TO_HLS_AUTHENTICATION
            and (method.instance_id == CURRENT_ASSOCIATION or method.instance_id == own)
        )

    def _on_hls_reply(self, apdu: object, prior_counter: int | None) -> Event:
        """HLS pass 3: verify f(StoC), answer f(CtoS) (pass 4). Anything else is refused."""
        if not isinstance(apdu, ActionRequestNormal) or not self._is_hls_reply(apdu):
            return self._exception(
                Refusal.UNEXPECTED,
                "only reply_to_HLS_authentication is allowed before HLS completes",
                ServiceError.OPERATION_NOT_POSSIBLE,
            )
        security = self._security
        assert security is not None
        invoke = apdu.invoke_id_and_priority
        parameter = apdu.parameter
        try:
            if not isinstance(parameter, OctetString):
                raise AuthenticationFailed("f(StoC) must be an octet-string")
            counter = verify_gmac_response(
                parameter.value,
                security.peer_system_title or b"",
                security.encryption_key,
                security.authentication_key,
                self._own_challenge,
            )
            # Rule (docs/SECURITY.md): the counter inside f(StoC) must be fresh against what
            # was accepted before the carrying frame; it may equal the carrying frame's own
            # counter (dlms-cosem does that), and the larger of the two is recorded.
            if prior_counter is not None and counter <= prior_counter:
                raise ReplayDetected(f"f(StoC) counter {counter} is not fresh")
            last = security.last_incoming()
            if last is None or counter > last:
                security.accept_incoming(counter)
        except (AuthenticationFailed, ReplayDetected, DecodeError) as exc:
            self._move(Trigger.HLS_FAILED)
            return self._answer(
                ActionResponseNormal(invoke, ActionResult.OTHER_REASON, None),
                Outcome.REFUSED,
                refusal=Refusal.HLS,
                detail=str(exc),
                counts_as_failure=True,
            )
        try:
            f_ctos = gmac_response(
                security.local_system_title,
                security.next_outgoing(),
                security.encryption_key,
                security.authentication_key,
                self._peer_challenge,
            )
        except CounterExhausted as exc:
            self._move(Trigger.HLS_FAILED)
            return self._answer(
                ActionResponseNormal(invoke, ActionResult.TEMPORARY_FAILURE, None),
                Outcome.REFUSED,
                refusal=Refusal.COUNTER_EXHAUSTED,
                detail=str(exc),
            )
        self._move(Trigger.HLS_SUCCEEDED)
        return self._answer(
            ActionResponseNormal(invoke, ActionResult.SUCCESS, OctetString(f_ctos)),
            Outcome.AUTHENTICATED,
        )

    def _on_rlrq(self, raw: bytes) -> Event:
        try:
            RLRQ.from_bytes(raw)
        except DecodeError as exc:
            return self._exception(Refusal.MALFORMED, f"RLRQ: {exc}", ServiceError.OTHER_REASON)
        if self.state in (AssociationState.ASSOCIATED, AssociationState.AUTHENTICATING):
            self._move(Trigger.RLRQ)
        self._forget_association()
        return Reply(RLRE(reason=0, user_information=None).to_bytes(), Outcome.RELEASED)

    def _forget_association(self) -> None:
        self._abort_long_transfers()
        self._aarq = None
        self._terms = None
        self._security = None
        self._policy = SecurityPolicy(0)
        self._conformance = Conformance(0)
        self._own_challenge = b""
        self._peer_challenge = b""

    # answering

    def respond(self, response: ServiceResponse) -> Reply:
        """Answer the last ServiceRequested; long GET answers go out in blocks."""
        self._require(Role.METER)
        if self.state is not AssociationState.ASSOCIATED:
            raise LocalProtocolError("no association to answer in")
        if isinstance(response, _GET_RESPONSES):
            encoded = response.to_bytes()
            if (
                len(encoded) > self._peer_max_pdu - MAX_CIPHERING_OVERHEAD
                and len(encoded) > self._room()
            ):
                return self._start_get_blocks(response)
            return Reply(self._protect(encoded), Outcome.ANSWERED)
        if isinstance(response, SetResponseNormal) and self._last_request_block:
            block_number = self._last_request_block
            self._last_request_block = 0
            return self._answer(
                SetResponseLastDataBlock(
                    response.invoke_id_and_priority, response.result, block_number
                ),
                Outcome.ANSWERED,
            )
        return self._answer(response, Outcome.ANSWERED)

    def _room(self) -> int:
        """The longest plain APDU that still fits the client's max PDU once ciphered."""
        overhead = 0
        if self._request_form is not None and self._request_security_control is not None:
            overhead = ciphering_overhead(self._request_form, self._request_security_control)
        return self._peer_max_pdu - overhead

    def _start_get_blocks(self, response: GetResponseNormal | GetResponseWithList) -> Reply:
        invoke = response.invoke_id_and_priority
        if not self._conformance & Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ:
            refusal = GetResponseNormal(invoke, DataAccessResult.OTHER_REASON)
            return self._answer(
                refusal, Outcome.REFUSED, refusal=Refusal.TOO_LONG, detail="no block transfer"
            )
        if isinstance(response, GetResponseNormal):
            assert isinstance(response.result, Data)
            raw = response.result.to_bytes()
        else:
            raw = response.to_bytes()[3:]  # the list of results, after tag, choice, invoke-id
        overhead = self._peer_max_pdu - self._room()
        block_size = get_response_block_capacity(self._peer_max_pdu, protection_overhead=overhead)
        if block_size < 1:
            return self._answer(
                GetResponseNormal(invoke, DataAccessResult.OTHER_REASON),
                Outcome.REFUSED,
                refusal=Refusal.TOO_LONG,
                detail="client PDU too small for a block",
            )
        self._get_blocks = BlockSegmenter(raw, block_size)
        self._get_invoke = invoke
        return self._send_get_block(Outcome.ANSWERED)

    def _send_get_block(self, outcome: Outcome) -> Reply:
        segmenter = self._get_blocks
        assert segmenter is not None
        block_number, last, chunk = segmenter.next_block()
        if last:
            self._get_blocks = None
        return self._answer(
            GetResponseWithDataBlock(self._get_invoke, last, block_number, bytes(chunk)), outcome
        )

    def _next_get_block(self, apdu: GetRequestNext) -> Reply:
        segmenter = self._get_blocks
        if segmenter is None or apdu.block_number != segmenter.next_block_number - 1:
            self._get_blocks = None
            result = (
                DataAccessResult.NO_LONG_GET_IN_PROGRESS
                if segmenter is None
                else DataAccessResult.DATA_BLOCK_NUMBER_INVALID
            )
            return self._answer(
                GetResponseWithDataBlock(
                    apdu.invoke_id_and_priority, True, apdu.block_number, result
                ),
                Outcome.REFUSED,
                refusal=Refusal.BLOCK,
                detail=f"get next block {apdu.block_number}",
            )
        return self._send_get_block(Outcome.BLOCK)

    def _set_block(self, apdu: SetRequestWithFirstDataBlock | SetRequestWithDataBlock) -> Event:
        invoke = apdu.invoke_id_and_priority
        if isinstance(apdu, SetRequestWithFirstDataBlock):
            self._abort_long_transfers()
            self._set_head = apdu
            self._set_blocks = BlockReassembler(self.settings.max_reassembly_size)
        reassembler, head = self._set_blocks, self._set_head
        if reassembler is None or head is None:
            return self._answer(
                SetResponseLastDataBlock(
                    invoke, DataAccessResult.NO_LONG_SET_IN_PROGRESS, apdu.block_number
                ),
                Outcome.REFUSED,
                refusal=Refusal.BLOCK,
                detail="set block without a first block",
            )
        try:
            whole = reassembler.add(apdu.block_number, apdu.last_block, apdu.raw_data)
            if whole is None:
                return self._answer(SetResponseDataBlock(invoke, apdu.block_number), Outcome.BLOCK)
            value = decode_exact(whole)
        except (BlockTransferError, DecodeError) as exc:
            self._abort_long_transfers()
            return self._answer(
                SetResponseLastDataBlock(
                    invoke,
                    DataAccessResult.DATA_BLOCK_NUMBER_INVALID
                    if isinstance(exc, BlockTransferError)
                    else DataAccessResult.TYPE_UNMATCHED,
                    apdu.block_number,
                ),
                Outcome.REFUSED,
                refusal=Refusal.BLOCK,
                detail=str(exc),
            )
        self._abort_long_transfers()
        self._last_request_block = apdu.block_number
        request = SetRequestNormal(invoke, head.attribute, head.access_selection, value)
        return ServiceRequested(request, self._request_security_control)

    def _action_block(self, apdu: ActionRequestWithFirstPBlock | ActionRequestWithPBlock) -> Event:
        invoke = apdu.invoke_id_and_priority
        if isinstance(apdu, ActionRequestWithFirstPBlock):
            self._abort_long_transfers()
            self._action_head = apdu
            self._action_blocks = BlockReassembler(self.settings.max_reassembly_size)
        reassembler, head = self._action_blocks, self._action_head
        if reassembler is None or head is None:
            return self._answer(
                ActionResponseNormal(invoke, ActionResult.NO_LONG_ACTION_IN_PROGRESS, None),
                Outcome.REFUSED,
                refusal=Refusal.BLOCK,
                detail="action block without a first block",
            )
        try:
            whole = reassembler.add(apdu.block_number, apdu.last_block, apdu.raw_data)
            if whole is None:
                return self._answer(
                    ActionResponseNextPBlock(invoke, apdu.block_number), Outcome.BLOCK
                )
            parameter = decode_exact(whole)
        except (BlockTransferError, DecodeError) as exc:
            self._abort_long_transfers()
            return self._answer(
                ActionResponseNormal(invoke, ActionResult.LONG_ACTION_ABORTED, None),
                Outcome.REFUSED,
                refusal=Refusal.BLOCK,
                detail=str(exc),
            )
        self._abort_long_transfers()
        request = ActionRequestNormal(invoke, head.method, parameter)
        if self._is_hls_reply(request):
            return self._meter_dispatch(request)
        return ServiceRequested(request, self._request_security_control)

    def _answer(
        self,
        apdu: ServiceResponse
        | GetResponseWithDataBlock
        | SetResponseDataBlock
        | SetResponseLastDataBlock
        | ActionResponseNextPBlock,
        outcome: Outcome,
        *,
        refusal: Refusal | None = None,
        detail: str = "",
        counts_as_failure: bool = False,
    ) -> Reply:
        return Reply(
            self._protect(apdu.to_bytes()),
            outcome,
            refusal=refusal,
            detail=detail,
            counts_as_failure=counts_as_failure,
        )

    def _protect(self, apdu: bytes) -> bytes:
        """Cipher an answer in the form and protection of the request it answers."""
        form = self._request_form
        security_control = self._request_security_control
        if form is None or security_control is None or self._security is None:
            return apdu
        return encipher(apdu, self._security, form, security_control)

    def _exception(
        self,
        refusal: Refusal,
        detail: str,
        service_error: ServiceError,
        *,
        counts_as_failure: bool = False,
    ) -> Reply:
        """A refusal answered with a plain exception-response (no keys are trusted here)."""
        state_error = (
            StateError.SERVICE_UNKNOWN
            if refusal in (Refusal.MALFORMED, Refusal.UNEXPECTED)
            else StateError.SERVICE_NOT_ALLOWED
        )
        counter = None
        if service_error is ServiceError.INVOCATION_COUNTER_ERROR and self._security is not None:
            counter = self._security.last_incoming()
        return Reply(
            ExceptionResponse(state_error, service_error, counter).to_bytes(),
            Outcome.REFUSED,
            refusal=refusal,
            detail=detail,
            counts_as_failure=counts_as_failure,
        )

    # ------------------------------------------------------------------ head-end role

    def request_association(self, proposal: AssociationProposal) -> bytes:
        """Build the AARQ (pass 1)."""
        self._require(Role.HEADEND)
        security = proposal.security
        initiate = InitiateRequest(
            dedicated_key=proposal.dedicated_key,
            response_allowed=True,
            proposed_quality_of_service=None,
            proposed_dlms_version=DLMS_VERSION,
            proposed_conformance=proposal.conformance,
            client_max_receive_pdu_size=proposal.max_receive_pdu_size,
        )
        user_information = initiate.to_bytes()
        if security is not None:
            form = CipherForm.GLOBAL
            user_information = encipher(user_information, security, form, proposal.security_control)
        mechanism = proposal.mechanism
        authentication_value: bytes | None = None
        if mechanism == AuthenticationMechanism.LOW:
            authentication_value = proposal.password
        elif mechanism == AuthenticationMechanism.HIGH_GMAC:
            self._own_challenge = make_challenge(
                self.settings.challenge_length, random_source=self._random_bytes
            )
            authentication_value = self._own_challenge
        aarq = AARQ(
            application_context_name=(
                ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING
                if security is not None
                else ApplicationContextName.LOGICAL_NAME
            ),
            calling_ap_title=security.local_system_title if security is not None else None,
            calling_ae_qualifier=None,
            calling_ae_invocation_id=proposal.user_id,
            sender_acse_requirements=mechanism != AuthenticationMechanism.NONE,
            mechanism_name=mechanism if mechanism != AuthenticationMechanism.NONE else None,
            calling_authentication_value=authentication_value,
            user_information=user_information,
        )
        self._proposal = proposal
        self._security = security
        self._move(Trigger.AARQ)
        return aarq.to_bytes()

    def authenticate(self) -> bytes:
        """Build HLS pass 3: reply_to_HLS_authentication carrying f(StoC)."""
        self._require(Role.HEADEND)
        security = self._security
        if self.state is not AssociationState.AUTHENTICATING or security is None:
            raise LocalProtocolError("no HLS authentication is pending")
        # f(StoC) gets its own counter value, distinct from the carrying frame's, so that
        # no GCM nonce is used twice under the key.
        f_stoc = gmac_response(
            security.local_system_title,
            security.next_outgoing(),
            security.encryption_key,
            security.authentication_key,
            self._peer_challenge,
        )
        request = ActionRequestNormal(
            0xC1,
            CosemMethodDescriptor(
                ASSOCIATION_LN_CLASS, CURRENT_ASSOCIATION, REPLY_TO_HLS_AUTHENTICATION
            ),
            OctetString(f_stoc),
        )
        return self._protect_request(request.to_bytes())

    def send_request(self, request: ServiceRequest) -> bytes:
        """Build one request; a SET or ACTION too long for the meter goes out in blocks."""
        self._require(Role.HEADEND)
        if self.state is not AssociationState.ASSOCIATED:
            raise LocalProtocolError("not associated")
        self._response_blocks = None
        encoded = request.to_bytes()
        limit = self._peer_max_pdu - self._request_overhead()
        if len(encoded) > limit and isinstance(request, SetRequestNormal | ActionRequestNormal):
            return self._start_request_blocks(request, limit)
        return self._protect_request(encoded)

    def release(self) -> bytes:
        self._require(Role.HEADEND)
        self._move(Trigger.RLRQ)
        return RLRQ(reason=0, user_information=None).to_bytes()

    def _request_overhead(self) -> int:
        proposal = self._proposal
        if proposal is None or self._security is None:
            return 0
        return ciphering_overhead(proposal.cipher_form, proposal.security_control)

    def _protect_request(self, apdu: bytes) -> bytes:
        proposal = self._proposal
        if proposal is None or self._security is None:
            return apdu
        return encipher(apdu, self._security, proposal.cipher_form, proposal.security_control)

    def _start_request_blocks(
        self, request: SetRequestNormal | ActionRequestNormal, limit: int
    ) -> bytes:
        invoke = request.invoke_id_and_priority
        if isinstance(request, SetRequestNormal):
            raw = request.value.to_bytes()
        else:
            raw = request.parameter.to_bytes() if request.parameter is not None else b""
        block_size = limit - 32  # header with descriptor and selective access, generously
        self._outgoing_blocks = BlockSegmenter(raw, block_size)
        self._outgoing_head = request
        block_number, last, chunk = self._outgoing_blocks.next_block()
        first: SetRequestWithFirstDataBlock | ActionRequestWithFirstPBlock
        if isinstance(request, SetRequestNormal):
            first = SetRequestWithFirstDataBlock(
                invoke,
                request.attribute,
                request.access_selection,
                last,
                block_number,
                bytes(chunk),
            )
        else:
            first = ActionRequestWithFirstPBlock(
                invoke, request.method, last, block_number, bytes(chunk)
            )
        if last:
            self._outgoing_blocks = None
        return self._protect_request(first.to_bytes())

    def _next_request_block(self) -> bytes:
        segmenter, head = self._outgoing_blocks, self._outgoing_head
        assert segmenter is not None and head is not None
        block_number, last, chunk = segmenter.next_block()
        if last:
            self._outgoing_blocks = None
        invoke = head.invoke_id_and_priority
        following: SetRequestWithDataBlock | ActionRequestWithPBlock
        if isinstance(head, SetRequestNormal):
            following = SetRequestWithDataBlock(invoke, last, block_number, bytes(chunk))
        else:
            following = ActionRequestWithPBlock(invoke, last, block_number, bytes(chunk))
        return self._protect_request(following.to_bytes())

    def _headend_receive(self, raw: bytes) -> Event:
        if not raw:
            raise DecodeError("empty APDU")
        tag = raw[0]
        if tag == AARE.TAG:
            return self._on_aare(AARE.from_bytes(raw))
        if tag == RLRE.TAG:
            RLRE.from_bytes(raw)
            self._move(Trigger.RLRE)
            self._forget_association()
            return Released()
        security_control: int | None = None
        if is_ciphered(tag):
            if self._security is None:
                raise DecipheringFailed("ciphered response without security")
            deciphered = decipher(raw, self._security)
            self._security.accept_incoming(deciphered.invocation_counter)
            raw = deciphered.apdu
            security_control = deciphered.security_control
        apdu = decode_apdu(raw)
        if self.state is AssociationState.AUTHENTICATING:
            return self._on_hls_answer(apdu)
        if isinstance(apdu, GetResponseWithDataBlock):
            return self._on_get_block(apdu, security_control)
        if isinstance(apdu, SetResponseDataBlock | ActionResponseNextPBlock):
            if self._outgoing_blocks is None:
                raise DecodeError("block acknowledged but no block transfer in progress")
            return Reply(self._next_request_block(), Outcome.BLOCK)
        if isinstance(apdu, SetResponseLastDataBlock):
            self._outgoing_head = None
            return ResponseReceived(
                SetResponseNormal(apdu.invoke_id_and_priority, apdu.result), security_control
            )
        if isinstance(apdu, ServiceResponse):
            self._outgoing_head = None
            self._outgoing_blocks = None
            return ResponseReceived(apdu, security_control)
        raise DecodeError(f"unexpected APDU {type(apdu).__name__}")

    def _on_aare(self, aare: AARE) -> Event:
        if self.state is not AssociationState.REQUESTED:
            raise DecodeError("AARE without a pending AARQ")
        if aare.result != AssociationResult.ACCEPTED:
            self._move(Trigger.REJECTED)
            error = None
            if aare.user_information:
                try:
                    error = ConfirmedServiceError.from_bytes(aare.user_information)
                except DecodeError:
                    error = None
            return AssociationRefused(aare, error)
        security = self._security
        information = aare.user_information or b""
        if security is not None:
            if aare.responding_ap_title is None:
                raise DecipheringFailed("the meter did not send its system title")
            security.peer_system_title = aare.responding_ap_title
        if information and is_ciphered(information[0]):
            if security is None:
                raise DecipheringFailed("ciphered initiate response without security")
            deciphered = decipher(information, security)
            security.accept_incoming(deciphered.invocation_counter)
            information = deciphered.apdu
        response = InitiateResponse.from_bytes(information)
        self.negotiated = response
        self._conformance = response.negotiated_conformance
        self._peer_max_pdu = response.server_max_receive_pdu_size or 0xFFFF
        pending = aare.diagnostic == AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED
        if pending:
            self._peer_challenge = aare.responding_authentication_value or b""
            self._move(Trigger.ACCEPTED_HLS)
        else:
            self._move(Trigger.ACCEPTED)
        return AssociationAccepted(aare, response, pending)

    def _on_hls_answer(self, apdu: object) -> Event:
        security = self._security
        assert security is not None
        if (
            isinstance(apdu, ActionResponseNormal)
            and apdu.result == ActionResult.SUCCESS
            and isinstance(apdu.return_parameters, OctetString)
        ):
            try:
                verify_gmac_response(
                    apdu.return_parameters.value,
                    security.peer_system_title or b"",
                    security.encryption_key,
                    security.authentication_key,
                    self._own_challenge,
                )
            except (AuthenticationFailed, DecodeError) as exc:
                self._move(Trigger.HLS_FAILED)
                return AuthenticationFailedEvent(f"f(CtoS) did not verify: {exc}")
            self._move(Trigger.HLS_SUCCEEDED)
            return Authenticated()
        self._move(Trigger.HLS_FAILED)
        return AuthenticationFailedEvent(f"the meter refused pass 3: {apdu!r}")

    def _on_get_block(self, apdu: GetResponseWithDataBlock, security_control: int | None) -> Event:
        invoke = apdu.invoke_id_and_priority
        if not isinstance(apdu.raw_data, bytes):
            self._response_blocks = None
            return ResponseReceived(GetResponseNormal(invoke, apdu.raw_data), security_control)
        if self._response_blocks is None:
            self._response_blocks = BlockReassembler(16 * 1024 * 1024)
        whole = self._response_blocks.add(apdu.block_number, apdu.last_block, apdu.raw_data)
        if whole is None:
            request = GetRequestNext(invoke, apdu.block_number)
            return Reply(self._protect_request(request.to_bytes()), Outcome.BLOCK)
        self._response_blocks = None
        return ResponseReceived(GetResponseNormal(invoke, decode_exact(whole)), security_control)


_USER = DiagnosticSource.USER
# isinstance targets of the hot path as tuples: an `A | B` union is built anew at each use.
_SIMPLE_REQUESTS = (GetRequestNormal, GetRequestWithList, SetRequestNormal)
_LIST_REQUESTS = (SetRequestWithList, ActionRequestWithList)
_GET_RESPONSES = (GetResponseNormal, GetResponseWithList)
_SUPPORTED_CONTEXTS = (
    ApplicationContextName.LOGICAL_NAME,
    ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING,
)
