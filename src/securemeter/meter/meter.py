"""The meter application: roles, associations and requests on top of the sans-IO session.

``Meter`` owns the device, the store and the roles; a transport opens one ``MeterSession``
per link (a TCP connection or an HDLC link) and hands it every APDU with the addresses it
came with. The session decides associations (role, interface, credentials), lets the
``Connection`` do the protocol and security work, executes requests through the dispatcher
and writes the records the durability contract asks for. No sockets, no event loop here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from securemeter.apdu.enums import (
    AcseServiceUserDiagnostic,
    AssociationResult,
    AuthenticationMechanism,
    Conformance,
    ServiceError,
    StateError,
)
from securemeter.apdu.errors import ExceptionResponse
from securemeter.apdu.get import GetRequestNormal, GetRequestWithList
from securemeter.codec.axdr import DoubleLongUnsigned
from securemeter.codec.identifiers import ApplicationContextName, SecuritySuite
from securemeter.codec.obis import Obis
from securemeter.cosem.association_ln import (
    CURRENT_ASSOCIATION,
    AssociationLN,
    AssociationStatus,
    ObjectListEntry,
    XdlmsContextInfo,
)
from securemeter.cosem.association_ln import (
    User as CosemUser,
)
from securemeter.cosem.base import ChangeEvent, ChangeKind, CosemObject
from securemeter.cosem.data import DataObject
from securemeter.cosem.security_setup import SecuritySetup
from securemeter.errors import CounterExhausted, StorageError
from securemeter.meter.access import RoleRights, resolve_rights
from securemeter.meter.config import (
    SERVER_LOGICAL_ADDRESS,
    Interface,
    MeterConfig,
    RoleConfig,
    User,
)
from securemeter.meter.credentials import (
    RoleCredentials,
    load_credentials,
    prepare_credentials,
)
from securemeter.meter.device import Device, build_device
from securemeter.meter.dispatcher import Dispatcher, Executed
from securemeter.meter.identity import MeterIdentity
from securemeter.meter.keys import KeyManagement
from securemeter.meter.lockout import Lockouts, counts_as_failure
from securemeter.meter.logbook import COMMUNICATION, SECURITY, STANDARD, EventCode, Logbook
from securemeter.meter.logs.objects import build_log_objects
from securemeter.meter.timekeeping import MeterTime
from securemeter.session.connection import AssociationTerms, Connection, SessionSettings
from securemeter.session.events import (
    AssociationRequested,
    Outcome,
    Refusal,
    Reply,
    ServiceRequested,
    Silence,
)
from securemeter.session.protection import SecurityContext
from securemeter.session.state import AssociationState, Role
from securemeter.storage.base import MeterStore

log = logging.getLogger("securemeter.meter")

# What the meter offers; general-block-transfer is never granted (see INTEROP notes).
METER_CONFORMANCE = (
    Conformance.GENERAL_PROTECTION
    | Conformance.GET
    | Conformance.SET
    | Conformance.ACTION
    | Conformance.SELECTIVE_ACCESS
    | Conformance.MULTIPLE_REFERENCES
    | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
    | Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE
    | Conformance.BLOCK_TRANSFER_WITH_ACTION
    | Conformance.ATTRIBUTE0_SUPPORTED_WITH_GET
)
UNCLEAN_STOP_KEY = "power.running"
_GET_REQUESTS = (GetRequestNormal, GetRequestWithList)  # a tuple: no union built per call


@dataclass(frozen=True, slots=True)
class Output:
    """What a transport must do after one APDU: send ``data`` (if any), then maybe close."""

    data: bytes | None
    close: bool = False


class Meter:
    def __init__(
        self,
        *,
        config: MeterConfig,
        store: MeterStore,
        time: MeterTime,
        identity: MeterIdentity,
        random_bytes: Callable[[int], bytes],
    ) -> None:
        self.config = config
        self.store = store
        self.time = time
        self.identity = identity
        self._random_bytes = random_bytes
        self.logbook = Logbook(store, self._now_ms, monotonic=time.monotonic, settings=config.logs)
        self.device: Device = build_device(
            identity,
            store,
            time,
            on_change=self._on_change,
            history_days=config.load_profile_history_days,
        )
        self.credentials: dict[int, RoleCredentials] = {}
        self._active: dict[int, MeterSession] = {}  # roles with keys: one association each
        self._role_objects: dict[Obis, CosemObject] = {}
        self.rights: dict[int, RoleRights] = {}
        self._serving: MeterSession | None = None  # the session whose request is executing
        # Port lockout of each interface, with its objects (meter/lockout.py, docs/ACCESS.md).
        self.lockouts = Lockouts(
            config, store.state, time.monotonic, self.logbook, who=self._serving_who
        )
        # Removed roles' secrets retired, missing ones generated, all logged (credentials.py).
        prepare_credentials(store, self.logbook, config.roles, random_bytes)
        # Key generations, key transfer, security_activate, counter rules (meter/keys.py).
        self.key_management = KeyManagement(
            store,
            self.logbook,
            config.roles,
            self.credentials,
            rights=self.rights,
            objects=lambda: self.objects,
        )
        for role in config.roles:
            self.credentials[role.sap] = load_credentials(role, store.keys)
            self._role_objects.update(self._objects_of_role(role))
        self.objects: dict[Obis, CosemObject] = {
            **self.device.objects,
            **self._role_objects,
            **self.lockouts.objects,
            **build_log_objects(self.logbook, self.device.clock),  # docs/LOGS.md
        }
        for role in config.roles:
            visible = {
                **self.objects,
                CURRENT_ASSOCIATION: self._role_objects[role.association_name],
            }
            self.rights[role.sap] = resolve_rights(
                role.grants, visible, authenticated=role.mechanism != AuthenticationMechanism.NONE
            )

    # ------------------------------------------------------------------ lifecycle

    def power_up(self) -> None:
        """Record the start; a start after an unclean stop has an unknown power-down time."""
        state = self.store.state
        if state.get(UNCLEAN_STOP_KEY) == b"1":
            self.logbook.record(STANDARD, EventCode.POWER_UP_AFTER_UNCLEAN_STOP)
        self.logbook.record(STANDARD, EventCode.POWER_UP)
        state.put(UNCLEAN_STOP_KEY, b"1", durable=True)
        self.tick()

    def power_down(self) -> None:
        """A clean stop (SIGTERM/SIGINT): recorded, counters and slots synced."""
        self.tick()
        self.lockouts.save()
        self.logbook.flush()  # open flood aggregates become records
        self.logbook.record(STANDARD, EventCode.POWER_DOWN)
        self.store.counters.sync()
        self.store.slots.sync()
        self.store.state.put(UNCLEAN_STOP_KEY, b"0", durable=True)

    def tick(self) -> None:
        """Periodic work: load profile captures at period boundaries, lockouts that end."""
        self.device.tick(self.time.now_utc())
        self.lockouts.tick()
        self.logbook.tick()  # aggregates of floods that went quiet become records

    def _now_ms(self) -> int:
        return int(self.time.now_utc().timestamp() * 1000)

    def _on_change(self, event: ChangeEvent) -> None:
        code = {
            ChangeKind.CLOCK_SET: EventCode.CLOCK_ADJUSTED_NEW,
            ChangeKind.CLOCK_ADJUSTED: EventCode.CLOCK_ADJUSTED_NEW,
            ChangeKind.REGISTER_RESET: EventCode.REGISTERS_RESET,
        }.get(ChangeKind(event.kind), EventCode.CONFIGURATION_CHANGED)
        old = event.details.get("old")
        self.logbook.record(
            STANDARD,
            code,
            object=str(event.logical_name),
            change=str(event.kind),
            old=old.isoformat() if isinstance(old, datetime) else None,
        )

    # ------------------------------------------------------------------ roles

    def _objects_of_role(self, role: RoleConfig) -> dict[Obis, CosemObject]:
        association = self._association_object(
            role,
            role.association_name,
            lambda: self._status(role),
            lambda: self._current_user(role),
        )
        security_setup = SecuritySetup(
            role.security_setup_name,
            security_policy=lambda: self.key_management.policy(role),
            security_suite=SecuritySuite.AES_GCM_128,
            client_system_title=lambda: self._client_title(role),
            server_system_title=self.identity.system_title,
            security_activate=self.key_management.security_activate_handler(role),
            key_transfer=self.key_management.key_transfer_handler(role),
        )
        counter = DataObject(
            role.invocation_counter_name,
            provider=lambda: DoubleLongUnsigned(self.last_incoming(role) or 0),
        )
        return {
            role.association_name: association,
            role.security_setup_name: security_setup,
            role.invocation_counter_name: counter,
        }

    def _association_object(
        self,
        role: RoleConfig,
        logical_name: Obis,
        status: Callable[[], AssociationStatus],
        current_user: Callable[[], CosemUser | None] = lambda: None,
    ) -> AssociationLN:
        listing = _RoleObjectList(self, role)
        return AssociationLN(
            logical_name,
            object_list=listing,
            client_sap=role.sap,
            server_sap=SERVER_LOGICAL_ADDRESS,
            application_context=(
                ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING
                if role.has_keys
                else ApplicationContextName.LOGICAL_NAME
            ),
            authentication_mechanism=role.mechanism,
            context_info=XdlmsContextInfo(
                conformance=int(METER_CONFORMANCE),
                max_receive_pdu_size=self.config.max_receive_pdu_size,
                max_send_pdu_size=self.config.max_receive_pdu_size,
            ),
            security_setup_reference=role.security_setup_name,
            association_status=status,
            users=lambda: tuple(CosemUser(u.user_id, u.name) for u in role.users),
            current_user=current_user,
        )

    def _status(self, role: RoleConfig) -> AssociationStatus:
        session = self._active.get(role.sap)
        if session is not None and session.connection.state is AssociationState.ASSOCIATED:
            return AssociationStatus.ASSOCIATED
        return AssociationStatus.NON_ASSOCIATED

    def _current_user(self, role: RoleConfig) -> CosemUser | None:
        """The identified user of the role's association: the one being served, else the
        role's single association (roles with keys have at most one)."""
        serving = self._serving
        session = serving if serving is not None and serving.role is role else None
        session = session or self._active.get(role.sap)
        user = session.user if session is not None else None
        return CosemUser(user.user_id, user.name) if user is not None else None

    def _serving_who(self) -> dict[str, str | int | None]:
        """Who is making the request being executed (for records of what it did)."""
        return self._serving._who() if self._serving is not None else {}

    def _client_title(self, role: RoleConfig) -> bytes:
        session = self._active.get(role.sap)
        security = session.connection.security if session is not None else None
        return security.peer_system_title or b"" if security is not None else b""

    def counter_key(self, role: RoleConfig) -> str:
        return self.key_management.counter_key(role)  # sap<N>/ek/<EK generation>

    def last_incoming(self, role: RoleConfig) -> int | None:
        if not role.has_keys:
            return None
        return self.store.counters.last_accepted(self.counter_key(role))

    def security_context(self, role: RoleConfig) -> SecurityContext | None:
        # From the store's current keys: a transferred key applies from the next association.
        return self.key_management.security_context(role, self.identity.system_title)

    def new_session(self, interface: Interface, remote: str) -> MeterSession:
        return MeterSession(self, interface, remote)


class _RoleObjectList:
    """The object_list of one role's Association LN (an ObjectListSource)."""

    version = 1  # rights do not change while the meter runs

    def __init__(self, meter: Meter, role: RoleConfig) -> None:
        self._meter = meter
        self._role = role
        self._entries: tuple[ObjectListEntry, ...] | None = None

    def entries(self) -> tuple[ObjectListEntry, ...]:
        if self._entries is None:
            rights = self._meter.rights[self._role.sap]
            visible = {
                **self._meter.objects,
                CURRENT_ASSOCIATION: self._meter.objects[self._role.association_name],
            }
            self._entries = tuple(rights.object_list(visible))
        return self._entries


class MeterSession:
    """One link's associations, one after another."""

    def __init__(self, meter: Meter, interface: Interface, remote: str) -> None:
        self.meter = meter
        self.interface = interface
        self.remote = remote
        self.connection = Connection(
            Role.METER,
            SessionSettings(max_receive_pdu_size=meter.config.max_receive_pdu_size),
            random_bytes=meter._random_bytes,
        )
        self.role: RoleConfig | None = None
        self.user: User | None = None  # identified by the AARQ's calling-AE-invocation-id
        # The client's HDLC address on the optical port (set by the HDLC transport).
        self.hdlc_address: int | None = None
        self._client_sap: int | None = None
        self._dispatcher: Dispatcher | None = None
        self.get_count = 0

    def receive(self, client_sap: int, server_sap: int, apdu: bytes) -> Output:
        if server_sap != SERVER_LOGICAL_ADDRESS:
            self._refused(Refusal.UNEXPECTED, f"server address {server_sap}", client_sap)
            return Output(None)
        connection = self.connection
        if (
            connection.state is not AssociationState.IDLE
            and self._client_sap is not None
            and client_sap != self._client_sap
        ):
            self._refused(
                Refusal.UNEXPECTED,
                f"SAP {client_sap} inside SAP {self._client_sap}'s association",
                client_sap,
            )
            return Output(None, close=True)
        try:
            event = connection.receive(apdu)
            if isinstance(event, AssociationRequested):
                return self._associate(client_sap, event)
            if isinstance(event, ServiceRequested):
                return self._serve(event)
        except (CounterExhausted, StorageError) as exc:
            return self._cannot_continue(exc, client_sap)
        if isinstance(event, Silence):
            self._refused(event.refusal, event.detail, client_sap)
            self._count_failure(event)
            return Output(None)
        assert isinstance(event, Reply)
        return self._reply(event, client_sap)

    def _cannot_continue(self, exc: CounterExhausted | StorageError, client_sap: int) -> Output:
        """A counter the association needs is exhausted or retired (a key changed meanwhile),
        or the store failed: nothing more may be ciphered or accepted under it. Refuse in
        clear, record it, and close the link."""
        refusal = Refusal.COUNTER_EXHAUSTED if isinstance(exc, CounterExhausted) else Refusal.STORE
        self._refused(refusal, str(exc), client_sap)
        self.closed()
        answer = ExceptionResponse(StateError.SERVICE_NOT_ALLOWED, ServiceError.OTHER_REASON, None)
        return Output(answer.to_bytes(), close=True)

    def _reply(self, reply: Reply, client_sap: int) -> Output:
        if reply.outcome is Outcome.AUTHENTICATED:
            if not self._claim_role():
                # Another association of the role authenticated first: this one ends here,
                # without its pass 4 answer (docs/SECURITY.md, "Concurrency").
                self._refused(Refusal.BUSY, "another one authenticated first", client_sap)
                self._release_role()
                return Output(None, close=True)
            self._record_association("authenticated", None, "")
        elif reply.outcome is Outcome.RELEASED:
            self._released()
        elif reply.refusal is not None:
            self._refused(reply.refusal, reply.detail, client_sap)
            self._count_failure(reply)
            if self.connection.state not in (
                AssociationState.ASSOCIATED,
                AssociationState.AUTHENTICATING,
            ):
                self._release_role()  # e.g. a failed pass 3 ended the association
        return Output(reply.data, reply.close)

    def _associate(self, client_sap: int, event: AssociationRequested) -> Output:
        meter = self.meter
        connection = self.connection
        if meter.lockouts.locked(self.interface):
            return self._refuse_locked(client_sap)
        role = meter.config.role(client_sap)
        user_id = event.aarq.calling_ae_invocation_id
        user = _known_user(role, user_id) if role is not None else None
        reply: Reply
        if role is None:
            reply = connection.reject_association(Refusal.UNKNOWN_SAP, f"SAP {client_sap}")
        elif self.interface not in role.interfaces:
            reply = connection.reject_association(
                Refusal.INTERFACE, f"role {role.name} not allowed on {self.interface.value}"
            )
        elif role.users and user is None:
            reply = connection.reject_association(
                Refusal.USER, f"user id {user_id} is not a user of role {role.name}"
            )
        elif role.has_keys and meter._active.get(role.sap) not in (None, self):
            reply = connection.reject_association(
                Refusal.BUSY,
                f"role {role.name} already has an association",
                result=AssociationResult.REJECTED_TRANSIENT,
                diagnostic=AcseServiceUserDiagnostic.NO_REASON_GIVEN,
                counts_as_failure=False,
            )
        elif (refused := meter.key_management.association_refusal(role)) is not None:
            reply = connection.reject_association(
                refused.refusal, refused.detail, counts_as_failure=False
            )
        else:
            credentials = meter.credentials[role.sap]
            security = meter.security_context(role) if role.has_keys else None
            try:
                reply = connection.accept_association(
                    AssociationTerms(
                        mechanism=role.mechanism,
                        conformance=METER_CONFORMANCE,
                        policy=meter.key_management.policy(role),
                        password=credentials.password,
                        security=security,
                        association_name=role.association_name,
                    )
                )
            except CounterExhausted as exc:
                reply = connection.reject_association(Refusal.COUNTER_EXHAUSTED, str(exc))
        if reply.outcome in (Outcome.ASSOCIATED, Outcome.AUTHENTICATION_PENDING):
            assert role is not None
            self.role = role
            self.user = user
            self._client_sap = client_sap
            if role.has_keys and reply.outcome is Outcome.ASSOCIATED:
                # HLS holds the role only from pass 4 on (_reply): an AARQ that nobody
                # authenticated must not lock the role's owner out.
                meter._active[role.sap] = self
            objects = {**meter.objects, CURRENT_ASSOCIATION: meter.objects[role.association_name]}
            self._dispatcher = Dispatcher(
                objects, meter.rights[role.sap], on_executed=self._executed
            )
            self.get_count = 0
            self._record_association(reply.outcome.value, None, "")
        else:
            self._record_association("refused", reply.refusal, reply.detail, sap=client_sap)
            self._count_failure(reply)
        return Output(reply.data, reply.close)

    def _refuse_locked(self, client_sap: int) -> Output:
        """The interface is locked: a transient refusal for everyone, recorded like every
        refusal (a flood from one host is aggregated by the logbook), never counted."""
        reply = self.connection.reject_association(
            Refusal.LOCKED,
            f"{self.interface.value} is locked",
            result=AssociationResult.REJECTED_TRANSIENT,
            diagnostic=AcseServiceUserDiagnostic.NO_REASON_GIVEN,
            counts_as_failure=False,
        )
        self.meter.lockouts.refused_while_locked(self.interface)
        self._record_association("refused", reply.refusal, reply.detail, sap=client_sap)
        return Output(reply.data, reply.close)

    def _count_failure(self, event: Reply | Silence) -> None:
        if counts_as_failure(event):
            self.meter.lockouts.failure(self.interface, event.refusal, self.remote)

    def _serve(self, event: ServiceRequested) -> Output:
        dispatcher = self._dispatcher
        assert dispatcher is not None
        request = event.request
        if isinstance(request, _GET_REQUESTS):
            self.get_count += 1
        else:
            # docs/DURABILITY.md: a state-changing request runs only once the counter that
            # authorised it survives a power cut.
            self.meter.store.counters.sync()
        self.meter._serving = self  # for the objects that ask who is acting
        try:
            response = dispatcher.execute(request)
        finally:
            self.meter._serving = None
        reply = self.connection.respond(response)
        return Output(reply.data, reply.close)

    def _executed(self, executed: Executed) -> None:
        self.meter.logbook.record(
            COMMUNICATION,
            EventCode.SET_EXECUTED if executed.service == "set" else EventCode.ACTION_EXECUTED,
            **self._who(),
            object=str(executed.logical_name),
            index=executed.index,
            result=executed.result,
        )

    def closed(self) -> None:
        """The transport closed the link (peer gone, timeout or shutdown)."""
        if self.connection.state is not AssociationState.IDLE and self.role is not None:
            self._record_association("closed", None, f"{self.get_count} GET requests")
        self._release_role()

    def _released(self) -> None:
        if self.role is not None:
            self._record_association("released", None, f"{self.get_count} GET requests")
        self._release_role()

    def _claim_role(self) -> bool:
        """Hold this session's role (one association per role with keys); False if another
        session holds it."""
        role = self.role
        if role is None or not role.has_keys:
            return True
        return self.meter._active.setdefault(role.sap, self) is self

    def _release_role(self) -> None:
        role = self.role
        if role is not None and self.meter._active.get(role.sap) is self:
            del self.meter._active[role.sap]
        self.role = None
        self.user = None
        self._client_sap = None
        self._dispatcher = None

    def _who(self, sap: int | None = None) -> dict[str, str | int | None]:
        role = self.role
        if role is None and sap is not None:
            role = self.meter.config.role(sap)  # a refused attempt still names its role
        return {
            "interface": self.interface.value,
            "remote": self.remote,
            "sap": sap if sap is not None else (role.sap if role is not None else None),
            "role": role.name if role is not None else None,
            "mechanism": int(role.mechanism) if role is not None else None,
            "user": self.user.user_id if self.user is not None else None,
            "hdlc_address": self.hdlc_address,
        }

    def _record_association(
        self, outcome: str, refusal: Refusal | None, detail: str, *, sap: int | None = None
    ) -> None:
        logbook = self.meter.logbook
        who = self._who(sap)
        reason = refusal.value if refusal is not None else None
        if refusal is None:
            code = (
                EventCode.ASSOCIATION_RELEASED
                if outcome in ("released", "closed")
                else EventCode.ASSOCIATION_ACCEPTED
            )
            logbook.record(COMMUNICATION, code, **who, outcome=outcome, reason=detail or None)
        else:
            logbook.record(
                COMMUNICATION, EventCode.ASSOCIATION_REFUSED, **who, outcome=outcome, reason=reason
            )
            logbook.record(
                SECURITY,
                EventCode.ASSOCIATION_REFUSED,
                **who,
                outcome=outcome,
                reason=reason,
                detail=detail[:200],
            )
        log.info(
            "association %s: sap=%s role=%s interface=%s remote=%s%s",
            outcome,
            who["sap"],
            who["role"],
            who["interface"],
            who["remote"],
            f" reason={reason}" if reason else "",
        )

    def _refused(self, refusal: Refusal, detail: str, sap: int | None) -> None:
        code = {
            Refusal.REPLAY: EventCode.REPLAY_ATTACK,
            Refusal.DECIPHERING: EventCode.DECRYPTION_OR_AUTHENTICATION_FAILURE,
            Refusal.AUTHENTICATION: EventCode.DECRYPTION_OR_AUTHENTICATION_FAILURE,
            Refusal.HLS: EventCode.ASSOCIATION_AUTHENTICATION_FAILURE,
        }.get(refusal, EventCode.REQUEST_REFUSED)
        who = self._who(sap)
        self.meter.logbook.record(SECURITY, code, **who, reason=refusal.value, detail=detail[:200])
        log.warning(
            "refused %s: sap=%s interface=%s remote=%s",
            refusal.value,
            who["sap"],
            who["interface"],
            who["remote"],
        )


def _known_user(role: RoleConfig, user_id: int | None) -> User | None:
    """The role's user with this id (calling-AE-invocation-id), or None."""
    return next((user for user in role.users if user.user_id == user_id), None)


def utc_now() -> datetime:
    return datetime.now(UTC)
