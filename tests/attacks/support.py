"""What the attack tests share: targets, a head-end with its own counters, frame surgery.

A *target* is a meter the tests talk to, either in memory (``MemoryTarget``: a ``Meter`` from
tests/meter_harness.py, APDUs handed to a ``MeterSession``) or a real ``securemeter meter serve``
process (``ProcessTarget``: raw TCP sockets with the IEC 62056-47 wrapper, logs read with
``open_store_readonly``). Both speak the same ``Channel`` API: one APDU in, the meter's answer
out, so every attack runs unchanged against both.

``HeadEnd`` is the legitimate client: the in-tree ``Connection(Role.HEADEND)`` with its own
invocation counter. Attack frames are either a legitimate frame changed afterwards (bit flips,
truncation, replay) or built here from the security primitives (wrong keys, other roles' keys,
lower protection, a dedicated key in clear).
"""

from __future__ import annotations

import contextlib
import socket
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from meter_harness import make_meter, seeded_random
from meter_process import SOCKET_TIMEOUT, MeterProcess
from securemeter.apdu.acse import AARE, AARQ, RLRQ
from securemeter.apdu.action import ActionRequestNormal, ActionResponseNormal
from securemeter.apdu.common import CosemAttributeDescriptor, CosemMethodDescriptor
from securemeter.apdu.enums import (
    ApplicationContextName,
    AuthenticationMechanism,
    Conformance,
    DataAccessResult,
)
from securemeter.apdu.errors import ExceptionResponse
from securemeter.apdu.get import GetRequestNormal
from securemeter.apdu.initiate import InitiateRequest
from securemeter.apdu.registry import decode_apdu
from securemeter.apdu.set import SetRequestNormal, SetResponseNormal
from securemeter.codec.axdr import Data, OctetString
from securemeter.codec.obis import Obis
from securemeter.framing.wrapper import WrapperDecoder, encode_wrapper
from securemeter.meter.config import Interface, MeterConfig
from securemeter.meter.config_file import load_config
from securemeter.meter.meter import Meter
from securemeter.security.hls import gmac_response
from securemeter.security.protect import (
    GENERAL_DED_CIPHERING,
    GENERAL_GLO_CIPHERING,
    cipher_apdu,
    decipher_apdu,
    decode_general_ciphering,
    decode_service_specific,
    encode_general_ciphering,
    encode_service_specific,
    is_ciphered,
    is_dedicated,
)
from securemeter.session.connection import AssociationProposal, Connection
from securemeter.session.events import (
    AssociationAccepted,
    Authenticated,
    Event,
    Reply,
    ResponseReceived,
)
from securemeter.session.protection import CipherForm, SecurityContext
from securemeter.session.state import Role
from securemeter.storage import open_store_readonly
from securemeter.storage.base import StoredRecord

ROLES_FILE = Path(__file__).with_name("roles.toml")
TEST_CLOCK = "2026-03-01T12:00:00+00:00"

# Client SAPs of tests/attacks/roles.toml; the instance e of each role's objects follows them.
PUBLIC = 16
AUTH_READER = 2
ENC_READER = 3
READER = 4
WRITER = 5
ADMIN = 6
INSTANCES = {PUBLIC: 1, AUTH_READER: 2, ENC_READER: 3, READER: 4, WRITER: 5, ADMIN: 6}

SERVER_SAP = 1
CLIENT_TITLE = b"HES00001"
TEST_OCTETS = Obis(0, 0, 128, 0, 0, 255)
CLOCK = Obis(0, 0, 1, 0, 0, 255)
ENERGY_IMPORT = Obis(1, 0, 1, 8, 0, 255)
LOAD_PROFILE = Obis(1, 0, 99, 1, 0, 255)
CURRENT_ASSOCIATION = Obis(0, 0, 40, 0, 0, 255)
SECURITY = "security"
AUTHENTICATED_ENCRYPTED = 0x30
AUTHENTICATED = 0x10
ENCRYPTED = 0x20
CONFORMANCE = (
    Conformance.GENERAL_PROTECTION
    | Conformance.GET
    | Conformance.SET
    | Conformance.ACTION
    | Conformance.SELECTIVE_ACCESS
    | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
    | Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE
    | Conformance.BLOCK_TRANSFER_WITH_ACTION
)


class NoAnswer(Exception):
    """The meter closed the link or stayed silent."""


def invocation_counter_name(sap: int) -> Obis:
    return Obis(0, 0, 43, 1, INSTANCES[sap], 255)


def security_setup_name(sap: int) -> Obis:
    return Obis(0, 0, 43, 0, INSTANCES[sap], 255)


@dataclass(frozen=True, slots=True)
class RoleKeys:
    """A role's keys as its head-end holds them."""

    sap: int
    encryption_key: bytes
    authentication_key: bytes
    key_encryption_key: bytes


# ---------------------------------------------------------------------------- channels


class Channel(ABC):
    """One link to the meter for one client SAP: an APDU in, the meter's answer out."""

    def __init__(self, client_sap: int) -> None:
        self.client_sap = client_sap

    @abstractmethod
    def send(self, apdu: bytes) -> bytes:
        """Send one APDU; return the APDU the meter answered (NoAnswer if none)."""

    @abstractmethod
    def disconnect(self) -> None:
        """Drop the link as it is (no release): what a vanished client does."""

    def close(self) -> None:
        """Release whatever association is left, then drop the link.

        The RLRQ frees the role inside the meter before the RLRE comes back, so the next
        association of the same role never races a close the meter has not seen yet.
        """
        with contextlib.suppress(NoAnswer, OSError):
            self.send(RLRQ(reason=0, user_information=None).to_bytes())
        self.disconnect()


class MemoryChannel(Channel):
    def __init__(self, meter: Meter, client_sap: int, interface: Interface) -> None:
        super().__init__(client_sap)
        self.session = meter.new_session(interface, "127.0.0.1:40000")

    def send(self, apdu: bytes) -> bytes:
        output = self.session.receive(self.client_sap, SERVER_SAP, apdu)
        if output.data is None:
            raise NoAnswer("the meter sent nothing")
        return output.data

    def disconnect(self) -> None:
        self.session.closed()


class SocketChannel(Channel):
    """The wrapper over a raw TCP socket."""

    def __init__(self, host: str, port: int, client_sap: int, source_host: str) -> None:
        super().__init__(client_sap)
        self.socket = socket.create_connection(
            (host, port), timeout=SOCKET_TIMEOUT, source_address=(source_host, 0)
        )
        self._decoder = WrapperDecoder(0xFFFF)

    def send(self, apdu: bytes) -> bytes:
        self.socket.sendall(encode_wrapper(self.client_sap, SERVER_SAP, apdu))
        while True:
            frame = self._decoder.next_frame()
            if frame is not None:
                return frame.apdu
            try:
                chunk = self.socket.recv(65536)
            except TimeoutError as exc:
                raise NoAnswer("the meter did not answer") from exc
            if not chunk:
                raise NoAnswer("the meter closed the connection")
            self._decoder.receive_data(chunk)

    def disconnect(self) -> None:
        self.socket.close()


# ---------------------------------------------------------------------------- targets


class Target(ABC):
    """A meter to attack."""

    name: str

    @property
    @abstractmethod
    def system_title(self) -> bytes: ...

    @abstractmethod
    def keys(self, sap: int) -> RoleKeys: ...

    @abstractmethod
    def open(self, client_sap: int, interface: Interface = Interface.TCP) -> Channel: ...

    @abstractmethod
    def records(self, log: str, since: int = 0) -> list[StoredRecord]:
        """Records of ``log`` after sequence ``since``, oldest first."""

    @abstractmethod
    def sequence(self, log: str) -> int:
        """The last sequence number of ``log``."""

    @abstractmethod
    def restart(self, *, kill: bool) -> None:
        """Stop the meter (cleanly, or with SIGKILL semantics) and start it on the same state."""


def roles_config() -> MeterConfig:
    return load_config(ROLES_FILE)


class MemoryTarget(Target):
    name = "memory"

    def __init__(self, meter: Meter | None = None) -> None:
        self.meter = meter if meter is not None else make_meter(roles_config())

    @property
    def system_title(self) -> bytes:
        return self.meter.identity.system_title

    def keys(self, sap: int) -> RoleKeys:
        credentials = self.meter.credentials[sap]
        assert credentials.encryption_key is not None
        assert credentials.authentication_key is not None
        assert credentials.key_encryption_key is not None
        return RoleKeys(
            sap,
            credentials.encryption_key,
            credentials.authentication_key,
            credentials.key_encryption_key,
        )

    def open(self, client_sap: int, interface: Interface = Interface.TCP) -> Channel:
        return MemoryChannel(self.meter, client_sap, interface)

    def records(self, log: str, since: int = 0) -> list[StoredRecord]:
        return self.meter.store.logs.records(log, since_sequence=since)

    def sequence(self, log: str) -> int:
        return self.meter.store.logs.sequence(log)

    def restart(self, *, kill: bool) -> None:
        # A new Meter on the same store: what a restarted process finds on disk. A kill
        # skips the orderly power-down.
        if not kill:
            self.meter.power_down()
        self.meter = make_meter(self.meter.config, store=self.meter.store)


class ProcessTarget(Target):
    """A meter process. ``source_host`` is the loopback address the test connects from: the
    meter aggregates a flood of refusals from one host (docs/LOGS.md), so tests that share one
    meter each come from their own address (all of 127.0.0.0/8 reaches the loopback)."""

    name = "process"

    def __init__(self, process: MeterProcess, source_host: str = "127.0.0.1") -> None:
        self.process = process
        self.source_host = source_host

    @classmethod
    def start(cls, directory: Path) -> ProcessTarget:
        """A new meter with the test roles on a state directory in ``directory``."""
        process = MeterProcess(directory / "state", config=ROLES_FILE, test_clock=TEST_CLOCK)
        process.start()
        return cls(process)

    @property
    def system_title(self) -> bytes:
        return bytes.fromhex(self.process.keys["system_title"])

    def keys(self, sap: int) -> RoleKeys:
        for entry in self.process.keys["clients"]:
            if entry["sap"] == sap:
                return RoleKeys(
                    sap,
                    bytes.fromhex(entry["ek"]),
                    bytes.fromhex(entry["ak"]),
                    bytes.fromhex(entry["kek"]),
                )
        raise LookupError(f"no role with SAP {sap}")

    def open(self, client_sap: int, interface: Interface = Interface.TCP) -> Channel:
        assert interface is Interface.TCP, "raw sockets speak the wrapper only"
        return SocketChannel(self.process.host, self.process.tcp_port, client_sap, self.source_host)

    def records(self, log: str, since: int = 0) -> list[StoredRecord]:
        store = open_store_readonly(self.process.state_dir)
        try:
            return store.logs.records(log, since_sequence=since)
        finally:
            store.close()

    def sequence(self, log: str) -> int:
        store = open_store_readonly(self.process.state_dir)
        try:
            return store.logs.sequence(log)
        finally:
            store.close()

    def restart(self, *, kill: bool) -> None:
        if kill:
            self.process.kill()
        else:
            self.process.stop()
        self.process.start()


# ---------------------------------------------------------------------------- the head-end


@dataclass
class Counters:
    """The head-end's outgoing invocation counter and what it saw of the meter's."""

    next_value: int = 1
    seen: list[int] = field(default_factory=list)

    def take(self) -> int:
        value = self.next_value
        self.next_value += 1
        return value

    def accept(self, value: int) -> None:
        self.seen.append(value)

    def last(self) -> int | None:
        return self.seen[-1] if self.seen else None


class HeadEnd:
    """A legitimate client of one role: the in-tree head-end ``Connection`` over a channel."""

    def __init__(
        self,
        target: Target,
        sap: int,
        *,
        counter: int = 1,
        keys: RoleKeys | None = None,
        system_title: bytes = CLIENT_TITLE,
        form: CipherForm = CipherForm.GENERAL_GLOBAL,
        security_control: int = AUTHENTICATED_ENCRYPTED,
        dedicated_key: bytes | None = None,
        max_receive_pdu_size: int = 0xFFFF,
        interface: Interface = Interface.TCP,
    ) -> None:
        self.target = target
        self.sap = sap
        self.keys = keys if keys is not None or sap == PUBLIC else target.keys(sap)
        self.system_title = system_title
        self.counters = Counters(counter)
        self.security: SecurityContext | None = None
        if self.keys is not None:
            self.security = SecurityContext(
                local_system_title=system_title,
                peer_system_title=None,
                encryption_key=self.keys.encryption_key,
                authentication_key=self.keys.authentication_key,
                accept_incoming=self.counters.accept,
                last_incoming=self.counters.last,
                next_outgoing=self.counters.take,
            )
        self.proposal = AssociationProposal(
            mechanism=(
                AuthenticationMechanism.NONE
                if self.keys is None
                else AuthenticationMechanism.HIGH_GMAC
            ),
            conformance=CONFORMANCE,
            security=self.security,
            security_control=security_control,
            cipher_form=form,
            dedicated_key=dedicated_key,
            max_receive_pdu_size=max_receive_pdu_size,
        )
        self.connection = Connection(Role.HEADEND, random_bytes=seeded_random(sap))
        self.channel = target.open(sap, interface)
        self.sent: list[bytes] = []  # every APDU this head-end sent, for replays
        self.received: list[bytes] = []  # every answer, in order
        self._invoke = 0

    # ------------------------------------------------------------------ plumbing

    def send(self, apdu: bytes) -> bytes:
        self.sent.append(apdu)
        answer = self.channel.send(apdu)
        self.received.append(answer)
        return answer

    def exchange(self, apdu: bytes) -> Event:
        """Send one APDU, follow block transfers, return the head-end's event."""
        while True:
            event = self.connection.receive(self.send(apdu))
            if isinstance(event, Reply):
                apdu = event.data
                continue
            return event

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> HeadEnd:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ services

    def associate(self) -> None:
        """AARQ/AARE and, for HLS-GMAC, pass 3/4; fails the test unless both succeed."""
        event = self.exchange(self.connection.request_association(self.proposal))
        assert isinstance(event, AssociationAccepted), event
        if event.authentication_pending:
            self.authenticate()

    def authenticate(self) -> None:
        """HLS pass 3/4; fails the test unless the meter proves its keys."""
        done = self.exchange(self.connection.authenticate())
        assert isinstance(done, Authenticated), done

    def invoke_id(self) -> int:
        self._invoke = (self._invoke + 1) % 16
        return 0xC0 | self._invoke

    def get_request(self, class_id: int, obis: Obis, attribute: int) -> GetRequestNormal:
        return GetRequestNormal(
            self.invoke_id(), CosemAttributeDescriptor(class_id, obis, attribute), None
        )

    def set_request(
        self, class_id: int, obis: Obis, attribute: int, value: Data
    ) -> SetRequestNormal:
        return SetRequestNormal(
            self.invoke_id(), CosemAttributeDescriptor(class_id, obis, attribute), None, value
        )

    def action_request(
        self, class_id: int, obis: Obis, method: int, parameter: Data | None
    ) -> ActionRequestNormal:
        return ActionRequestNormal(
            self.invoke_id(), CosemMethodDescriptor(class_id, obis, method), parameter
        )

    def frame(self, request: GetRequestNormal | SetRequestNormal | ActionRequestNormal) -> bytes:
        """The protected bytes of ``request`` (one counter value used), not sent."""
        return self.connection.send_request(request)

    def get(self, class_id: int, obis: Obis, attribute: int) -> Data | DataAccessResult:
        event = self.exchange(self.frame(self.get_request(class_id, obis, attribute)))
        assert isinstance(event, ResponseReceived), event
        result = event.response.result  # type: ignore[union-attr]
        return result  # type: ignore[no-any-return]

    def set(self, class_id: int, obis: Obis, attribute: int, value: Data) -> DataAccessResult:
        event = self.exchange(self.frame(self.set_request(class_id, obis, attribute, value)))
        assert isinstance(event, ResponseReceived), event
        response = event.response
        assert isinstance(response, SetResponseNormal), response
        return response.result

    def action(
        self, class_id: int, obis: Obis, method: int, parameter: Data | None
    ) -> ActionResponseNormal:
        event = self.exchange(self.frame(self.action_request(class_id, obis, method, parameter)))
        assert isinstance(event, ResponseReceived), event
        response = event.response
        assert isinstance(response, ActionResponseNormal), response
        return response

    def release(self) -> None:
        self.exchange(self.connection.release())


# ---------------------------------------------------------------------------- frame surgery


def flip_bit(frame: bytes, offset: int, mask: int = 0x01) -> bytes:
    """``frame`` with one bit changed at ``offset`` (negative: from the end)."""
    changed = bytearray(frame)
    changed[offset] ^= mask
    return bytes(changed)


def split_ciphered(frame: bytes) -> tuple[int, bytes, bytes]:
    """(tag, carried system title or b"", security header and payload) of a ciphered APDU."""
    if frame[0] in (GENERAL_GLO_CIPHERING, GENERAL_DED_CIPHERING):
        return decode_general_ciphering(frame)
    tag, payload = decode_service_specific(frame)
    return tag, b"", payload


def join_ciphered(tag: int, title: bytes, payload: bytes) -> bytes:
    if tag in (GENERAL_GLO_CIPHERING, GENERAL_DED_CIPHERING):
        return encode_general_ciphering(tag, title, payload)
    return encode_service_specific(tag, payload)


def payload_offset(frame: bytes) -> int:
    """Where the security header (SC) starts inside a ciphered APDU."""
    _, _, payload = split_ciphered(frame)
    return len(frame) - len(payload)


def truncate_tag(frame: bytes, octets: int) -> bytes:
    """The frame with its GCM tag ``octets`` shorter, lengths re-encoded to match."""
    tag, title, payload = split_ciphered(frame)
    return join_ciphered(tag, title, payload[:-octets])


def protect(
    apdu: bytes,
    *,
    keys: RoleKeys,
    counter: int,
    security_control: int = AUTHENTICATED_ENCRYPTED,
    form: CipherForm = CipherForm.GENERAL_GLOBAL,
    system_title: bytes = CLIENT_TITLE,
    encryption_key: bytes | None = None,
) -> bytes:
    """``apdu`` ciphered as a client of ``keys``' role would (any key may be overridden)."""
    return cipher_apdu(
        apdu,
        security_control=security_control,
        system_title=system_title,
        invocation_counter=counter,
        encryption_key=encryption_key if encryption_key is not None else keys.encryption_key,
        authentication_key=keys.authentication_key,
        general=form in (CipherForm.GENERAL_GLOBAL, CipherForm.GENERAL_DEDICATED),
        dedicated=form.dedicated,
    )


def hls_aarq(
    *,
    keys: RoleKeys,
    counter: int,
    security_control: int = AUTHENTICATED_ENCRYPTED,
    ciphered: bool = True,
    dedicated_key: bytes | None = None,
    encryption_key: bytes | None = None,
    challenge: bytes = b"C2S-CHALLENGE-16",
    system_title: bytes = CLIENT_TITLE,
) -> bytes:
    """An HLS-GMAC AARQ built by hand, so that every field can be wrong on purpose."""
    initiate = InitiateRequest(
        dedicated_key=dedicated_key,
        response_allowed=True,
        proposed_quality_of_service=None,
        proposed_dlms_version=6,
        proposed_conformance=CONFORMANCE,
        client_max_receive_pdu_size=0xFFFF,
    ).to_bytes()
    if ciphered:
        initiate = protect(
            initiate,
            keys=keys,
            counter=counter,
            security_control=security_control,
            form=CipherForm.GLOBAL,
            system_title=system_title,
            encryption_key=encryption_key,
        )
    return AARQ(
        application_context_name=ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING,
        calling_ap_title=system_title,
        sender_acse_requirements=True,
        mechanism_name=AuthenticationMechanism.HIGH_GMAC,
        calling_authentication_value=challenge,
        user_information=initiate,
    ).to_bytes()


def hls_reply_request(head: HeadEnd, *, stoc: bytes, counter: int) -> bytes:
    """reply_to_HLS_authentication carrying f(StoC) with ``counter``, unprotected."""
    assert head.keys is not None
    f_stoc = gmac_response(
        head.system_title,
        counter,
        head.keys.encryption_key,
        head.keys.authentication_key,
        stoc,
    )
    request = ActionRequestNormal(
        0xC1, CosemMethodDescriptor(15, CURRENT_ASSOCIATION, 1), OctetString(f_stoc)
    )
    return request.to_bytes()


def hls_reply(
    head: HeadEnd,
    *,
    stoc: bytes,
    counter: int,
    frame_counter: int,
    security_control: int = AUTHENTICATED_ENCRYPTED,
) -> bytes:
    """The same, ciphered in a frame with ``frame_counter``."""
    assert head.keys is not None
    return protect(
        hls_reply_request(head, stoc=stoc, counter=counter),
        keys=head.keys,
        counter=frame_counter,
        security_control=security_control,
        system_title=head.system_title,
    )


# ---------------------------------------------------------------------------- answers


@dataclass(frozen=True, slots=True)
class Answer:
    """A meter answer with its protection undone."""

    apdu: object
    security_control: int | None
    invocation_counter: int | None
    tag: int


def read_answer(
    raw: bytes,
    meter_title: bytes,
    keys: RoleKeys | None = None,
    *,
    dedicated_key: bytes | None = None,
) -> Answer:
    """Decode an answer; a ciphered one is checked and deciphered with ``keys``."""
    if raw[0] == AARE.TAG:
        return Answer(AARE.from_bytes(raw), None, None, raw[0])
    if not is_ciphered(raw[0]):
        return Answer(decode_apdu(raw), None, None, raw[0])
    assert keys is not None, f"a ciphered answer (0x{raw[0]:02X}) needs keys"
    key = dedicated_key if is_dedicated(raw[0]) else keys.encryption_key
    assert key is not None
    deciphered = decipher_apdu(
        raw,
        system_title=meter_title,
        encryption_key=key,
        authentication_key=keys.authentication_key,
        allow_encryption_only=True,
    )
    return Answer(
        decode_apdu(deciphered.apdu),
        deciphered.security_control,
        deciphered.invocation_counter,
        raw[0],
    )


def exception_of(raw: bytes) -> ExceptionResponse:
    """The meter's answer, which must be a plain exception-response."""
    assert raw[0] == ExceptionResponse.TAG, f"expected an exception-response, got {raw.hex()}"
    return ExceptionResponse.from_bytes(raw)


def aare_of(raw: bytes) -> AARE:
    assert raw[0] == AARE.TAG, f"expected an AARE, got {raw.hex()}"
    return AARE.from_bytes(raw)


def reasons(target: Target, since: int, log: str = SECURITY) -> list[str | int | None]:
    """The ``reason`` field of every record of ``log`` after sequence ``since``."""
    return [record.fields.get("reason") for record in target.records(log, since)]


def last_accepted(target: Target, sap: int) -> int:
    """The role's last accepted invocation counter, read as the public client (0.0.43.1.e.255)."""
    with HeadEnd(target, PUBLIC) as public:
        public.associate()
        value = public.get(1, invocation_counter_name(sap), 2)
        public.release()
    assert not isinstance(value, DataAccessResult), value
    return int(value.value)  # type: ignore[attr-defined]


def read_test_octets(target: Target) -> Data:
    """The test object's value, read as the public client."""
    with HeadEnd(target, PUBLIC) as public:
        public.associate()
        value = public.get(1, TEST_OCTETS, 2)
        public.release()
    assert not isinstance(value, DataAccessResult), value
    return value


def assert_still_serving(target: Target, expected: Data) -> None:
    """A legitimate writer is served after an attack: it associates, finds the test object
    unchanged (``expected``), changes it and reads the change back."""
    with fresh_head_end(target, WRITER) as writer:
        writer.associate()
        assert writer.get(1, TEST_OCTETS, 2) == expected
        changed = OctetString(b"served after the attack")
        assert writer.set(1, TEST_OCTETS, 2, changed) == DataAccessResult.SUCCESS
        assert writer.get(1, TEST_OCTETS, 2) == changed
        writer.release()


def fresh_head_end(target: Target, sap: int, **kwargs: object) -> HeadEnd:
    """A head-end of ``sap`` whose counter starts above the meter's last accepted one."""
    return HeadEnd(target, sap, counter=last_accepted(target, sap) + 1, **kwargs)  # type: ignore[arg-type]
