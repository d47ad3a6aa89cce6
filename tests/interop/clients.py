"""Small drivers that let independent DLMS clients talk to our meter over TCP.

* :class:`GuruxSession`: gurux-dlms ``GXDLMSClient`` (``GXDLMSSecureClient`` when ciphering
  is given) over a TCP socket, with the IEC 62056-47 wrapper (``InterfaceType.WRAPPER``) or
  HDLC frames (``InterfaceType.HDLC``). gurux-dlms only builds and parses bytes; this class
  does the socket work and the "read until complete, then ask for the next block or
  segment" loop.
* :func:`cosem_wrapper_client` / :func:`cosem_hdlc_client`: a dlms-cosem ``DlmsClient`` with
  its own ``TcpTransport`` / ``HdlcTransport`` over its ``BlockingTcpIO``, and
  :func:`cosem_session` to associate and release around a block.
* :class:`EntryDescriptor`: selective access by entry (selector 2) for dlms-cosem, whose own
  entry descriptor cannot encode itself.

Both libraries are test-only oracles (GPL and BSL): nothing here is imported by ``src/``.
Every client quirk accommodated here is listed in docs/INTEROP.md.
"""

from __future__ import annotations

import contextlib
import io
import re
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, ClassVar

import attr
from dlms_cosem import enumerations as cosem_enumerations
from dlms_cosem.client import DlmsClient
from dlms_cosem.cosem import CosemAttribute
from dlms_cosem.cosem import Obis as CosemObis
from dlms_cosem.exceptions import DlmsClientException
from dlms_cosem.hdlc.frames import HDLC_FLAG
from dlms_cosem.hdlc.state import NEED_DATA
from dlms_cosem.io import BlockingTcpIO, HdlcTransport, TcpTransport
from dlms_cosem.security import LowLevelSecurityAuthentication, NoSecurityAuthentication
from gurux_dlms import GXByteBuffer, GXDLMSClient, GXDLMSException, GXReplyData
from gurux_dlms.enums import Authentication, Conformance, InterfaceType, ObjectType, Security
from gurux_dlms.objects import GXDLMSObject, GXDLMSObjectCollection, GXDLMSProfileGeneric
from gurux_dlms.secure import GXDLMSSecureClient

from securemeter.framing.wrapper import WrapperDecoder

HOST = "127.0.0.1"
PUBLIC_CLIENT = 16
MANAGEMENT_LOGICAL_DEVICE = 1
SOCKET_TIMEOUT = 10.0  # seconds; a meter that does not answer fails the test, never hangs it
_WRAPPER_HEADER = 8


class DlmsError(Exception):
    """The meter answered a request with an error code (gurux's ``GXReplyData.error``)."""

    def __init__(self, code: int, what: str) -> None:
        super().__init__(f"{what}: error {code}")
        self.code = code


class AssociationRejected(Exception):
    """The meter did not accept the AARQ: AARE ``result`` and ``diagnostic`` as received."""

    def __init__(self, message: str, result: int | None, diagnostic: int | None) -> None:
        super().__init__(message)
        self.result = result
        self.diagnostic = diagnostic


class NoAnswer(Exception):
    """The meter closed the connection or stayed silent."""


# ---------------------------------------------------------------------------- gurux-dlms


@dataclass(frozen=True)
class GuruxCiphering:
    """Suite 0 authenticated encryption for gurux-dlms (``Security.AUTHENTICATION_ENCRYPTION``)."""

    system_title: bytes
    encryption_key: bytes
    authentication_key: bytes
    invocation_counter: int  # the first counter value the client uses (the AARQ's)


def hdlc_server_address(logical: int, physical: int | None, size: int) -> int:
    """gurux's server address value for an HDLC address of ``size`` (1, 2 or 4) bytes.

    The 1-byte form carries the logical device alone; the 2- and 4-byte forms come from
    ``GXDLMSClient.getServerAddress``, which packs logical and physical into one integer
    (the 2-byte form holds 7 bits of each, so it needs a physical address below 0x80).
    """
    if size == 1:
        return logical
    assert physical is not None
    return int(GXDLMSClient.getServerAddress(logical, physical, size))


def hdlc_addresses(frame: bytes) -> tuple[bytes, bytes]:
    """Destination and source address of the HDLC frame at the start of ``frame``.

    Each address byte carries 7 bits; bit 0 set marks the address's last byte.
    """
    position = 3  # after the opening flag and the 2-byte format field
    addresses = []
    for _ in range(2):
        end = position
        while not frame[end] & 1:
            end += 1
        addresses.append(frame[position : end + 1])
        position = end + 1
    return addresses[0], addresses[1]


def gurux_object(object_type: ObjectType, logical_name: str) -> GXDLMSObject:
    """A gurux COSEM object of ``object_type`` named ``logical_name``."""
    obj = GXDLMSClient.createObject(object_type)
    obj.logicalName = logical_name
    return obj


class GuruxSession:
    """One gurux-dlms client over one TCP connection.

    ``GuruxSession(port)`` speaks the wrapper to the public client's association. For HDLC
    pass ``interface=InterfaceType.HDLC`` and ``server_address``/``server_address_size``
    (see :func:`hdlc_server_address`). Used as a context manager it connects (SNRM/UA over
    HDLC) and associates (with HLS pass 3/4 when the meter asks for it) on entry, and
    releases (RLRQ/RLRE, then DISC/UA over HDLC) and disconnects on exit.
    """

    def __init__(
        self,
        port: int,
        *,
        interface: InterfaceType = InterfaceType.WRAPPER,
        client_address: int = PUBLIC_CLIENT,
        server_address: int = MANAGEMENT_LOGICAL_DEVICE,
        server_address_size: int = 0,
        authentication: Authentication = Authentication.NONE,
        password: bytes | None = None,
        ciphering: GuruxCiphering | None = None,
        max_receive_pdu_size: int | None = None,
        host: str = HOST,
        timeout: float = SOCKET_TIMEOUT,
    ) -> None:
        arguments = (True, client_address, server_address, authentication, password, interface)
        if ciphering is None:
            self.client = GXDLMSClient(*arguments)
        else:
            self.client = GXDLMSSecureClient(*arguments)
            self.client.ciphering.security = Security.AUTHENTICATION_ENCRYPTION
            self.client.ciphering.systemTitle = ciphering.system_title
            self.client.ciphering.blockCipherKey = ciphering.encryption_key
            self.client.ciphering.authenticationKey = ciphering.authentication_key
            self.client.ciphering.invocationCounter = ciphering.invocation_counter
        if server_address_size:
            self.client.serverAddressSize = server_address_size
        if max_receive_pdu_size is not None:
            self.client.maxReceivePDUSize = max_receive_pdu_size
        self.interface = interface
        self._address = (host, port)
        self._timeout = timeout
        self._socket: socket.socket | None = None
        self._received = GXByteBuffer()
        self._wrapper_stream = bytearray()
        self.requests_sent = 0  # wrapper PDUs or HDLC frames: shows blocks/segments happened
        self.first_request = b""  # the SNRM over HDLC, the AARQ over the wrapper
        self.first_answer = b""  # the first bytes the meter sent
        self.largest_answer = 0  # largest APDU in a wrapper frame from the meter

    # ------------------------------------------------------------------ connection

    def __enter__(self) -> GuruxSession:
        self.connect()
        try:
            self.associate()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.release()
        finally:
            self.close()

    def connect(self) -> None:
        """Open the socket; over HDLC also set up the link (SNRM, UA)."""
        self._socket = socket.create_connection(self._address, timeout=self._timeout)
        if self.interface == InterfaceType.HDLC:
            reply = self._exchange(self.client.snrmRequest())
            self.client.parseUAResponse(reply.data)

    def associate(self) -> None:
        """AARQ/AARE, then HLS pass 3/4 if the AARE asks for authentication.

        Raises :class:`AssociationRejected` if the meter refuses the AARQ.
        """
        with _quiet():  # gurux prints which protection it applies
            requests = self.client.aarqRequest()
        reply = self._exchange_all(requests)
        try:
            with _quiet():
                self.client.parseAareResponse(reply.data)
        except GXDLMSException as exc:
            raise AssociationRejected(
                str(exc), _int_or_none(exc.result), _int_or_none(exc.diagnostic)
            ) from exc
        if self.client.getIsAuthenticationRequired():
            reply = self._exchange_all(self.client.getApplicationAssociationRequest())
            self._raise_for(reply, "reply_to_HLS_authentication")
            with _quiet():
                self.client.parseApplicationAssociationResponse(reply.data)

    def release(self) -> None:
        """RLRQ/RLRE, then DISC/UA over HDLC."""
        request = self.client.releaseRequest()
        if request:
            self._exchange_all(request)
        if self.interface == InterfaceType.HDLC:
            disconnect = self.client.disconnectRequest()
            if disconnect:
                self._exchange(disconnect)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    # ------------------------------------------------------------------ services

    def read(self, obj: GXDLMSObject, attribute: int) -> Any:
        """GET one attribute into ``obj``; return its value as gurux holds it.

        Raises :class:`DlmsError` with the data-access-result if the meter refuses.
        """
        reply = self._exchange_all(self.client.read(obj, attribute))
        self._raise_for(reply, f"GET {obj.logicalName} attribute {attribute}")
        self.client.updateValue(obj, attribute, reply.value)
        return obj.getValues()[attribute - 1]

    def read_list(self, items: Sequence[tuple[GXDLMSObject, int]]) -> list[Any]:
        """GET several attributes with one get-request-with-list (gurux splits long lists)."""
        values: list[Any] = []
        for request in self.client.readList(list(items)):
            reply = self._exchange_all(request)
            self._raise_for(reply, "GET with list")
            values.extend(reply.value)
        self.client.updateValues(list(items), values)
        return [obj.getValues()[attribute - 1] for obj, attribute in items]

    def write(self, obj: GXDLMSObject, attribute: int) -> None:
        """SET one attribute from ``obj``; raises :class:`DlmsError` if refused."""
        reply = self._exchange_all(self.client.write(obj, attribute))
        self._raise_for(reply, f"SET {obj.logicalName} attribute {attribute}")

    def read_object_list(self) -> GXDLMSObjectCollection:
        """GET the current association's object_list, parsed by gurux (known classes only)."""
        reply = self._exchange_all([self.client.getObjectsRequest()])
        self._raise_for(reply, "GET object_list")
        return self.client.parseObjects(reply.data, True)

    def read_rows_by_entry(
        self, profile: GXDLMSProfileGeneric, index: int, count: int
    ) -> list[list[Any]]:
        """Rows ``index`` to ``index + count - 1`` (1-based) of the buffer (selector 2).

        gurux needs the profile's capture_objects (attribute 3) read first.
        """
        reply = self._exchange_all(self.client.readRowsByEntry(profile, index, count))
        self._raise_for(reply, f"GET {profile.logicalName} buffer by entry")
        self.client.updateValue(profile, 2, reply.value)
        return list(profile.buffer)

    def read_rows_by_range(
        self, profile: GXDLMSProfileGeneric, start: datetime, end: datetime
    ) -> list[list[Any]]:
        """Rows whose clock column lies in [start, end] (selector 1, the clock restricting).

        Pass time-zone aware datetimes: gurux takes naive ones as the host's local time.
        """
        reply = self._exchange_all(self.client.readRowsByRange(profile, start, end))
        self._raise_for(reply, f"GET {profile.logicalName} buffer by range")
        self.client.updateValue(profile, 2, reply.value)
        return list(profile.buffer)

    # ------------------------------------------------------------------ transport

    @staticmethod
    def _raise_for(reply: GXReplyData, what: str) -> None:
        # gurux does not raise for a refused GET/SET/ACTION: it sets the reply's error.
        if reply.error:
            raise DlmsError(int(reply.error), what)

    def _exchange_all(self, requests: Sequence[bytes] | bytes) -> GXReplyData:
        """Send the frames of one request and follow the answer to its end.

        ``isMoreData`` covers HDLC segments (an RR asks for the next) and GET blocks (a
        get-request-next asks for the next block); ``receiverReady`` builds whichever is due.
        """
        if isinstance(requests, bytes | bytearray):
            requests = [requests]
        reply = GXReplyData()
        for request in requests:
            reply = self._exchange(request)
        while reply.isMoreData():
            reply = self._exchange(self.client.receiverReady(reply), reply)
        return reply

    def _exchange(self, request: bytes | None, reply: GXReplyData | None = None) -> GXReplyData:
        reply = reply if reply is not None else GXReplyData()
        if request is not None:
            self._send(bytes(request))
        notify = GXReplyData()
        while True:
            with _quiet():
                complete = self.client.getData(self._received, reply, notify)
            if complete:
                self._received.trim()
                return reply
            self._receive_more()

    def _send(self, data: bytes) -> None:
        if self._socket is None:
            raise NoAnswer("not connected")
        self.requests_sent += 1
        self.first_request = self.first_request or data
        self._socket.sendall(data)

    def _receive_more(self) -> None:
        if self._socket is None:
            raise NoAnswer("not connected")
        try:
            data = self._socket.recv(4096)
        except TimeoutError as exc:
            raise NoAnswer("the meter did not answer in time") from exc
        if not data:
            raise NoAnswer("the meter closed the connection")
        self.first_answer = self.first_answer or data
        if self.interface == InterfaceType.WRAPPER:
            self._measure_wrapper_frames(data)
        self._received.set(data)

    def _measure_wrapper_frames(self, data: bytes) -> None:
        stream = self._wrapper_stream
        stream += data
        while len(stream) >= _WRAPPER_HEADER:
            length = int.from_bytes(stream[6:8], "big")
            if len(stream) < _WRAPPER_HEADER + length:
                return
            self.largest_answer = max(self.largest_answer, length)
            del stream[: _WRAPPER_HEADER + length]


def _quiet() -> contextlib.AbstractContextManager[object]:
    return contextlib.redirect_stdout(io.StringIO())


def _int_or_none(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


# ---------------------------------------------------------------------------- dlms-cosem


def cosem_wrapper_client(
    port: int,
    *,
    client_address: int = PUBLIC_CLIENT,
    server_address: int = MANAGEMENT_LOGICAL_DEVICE,
    password: bytes | None = None,
    max_pdu_size: int = 65535,
    host: str = HOST,
) -> DlmsClient:
    """A dlms-cosem client over the TCP wrapper (no authentication, or LLS with a password)."""
    transport = TcpTransport(
        client_logical_address=client_address,
        server_logical_address=server_address,
        io=BlockingTcpIO(host=host, port=port, timeout=int(SOCKET_TIMEOUT)),
        timeout=int(SOCKET_TIMEOUT),
    )
    return DlmsClient(
        transport=transport,
        authentication=_cosem_authentication(password),
        max_pdu_size=max_pdu_size,
        timeout=int(SOCKET_TIMEOUT),
    )


def cosem_hdlc_client(
    port: int,
    *,
    server_physical_address: int | None,
    server_address_size: int = 4,
    client_address: int = PUBLIC_CLIENT,
    server_address: int = MANAGEMENT_LOGICAL_DEVICE,
    password: bytes | None = None,
    host: str = HOST,
) -> DlmsClient:
    """A dlms-cosem client over its HDLC transport, carried by a TCP socket.

    dlms-cosem leaves out every zero address byte unless ``extended_addressing`` is set, so
    the 4-byte form (logical 1 is ``00 02``) needs it, or the frame carries a 3-byte address
    that no meter accepts. Without it, a physical address below 0x80 gives the 2-byte form;
    the 1-byte form is the logical device alone.
    """
    transport = FramedHdlcTransport(
        client_logical_address=client_address,
        server_logical_address=server_address,
        server_physical_address=server_physical_address if server_address_size > 1 else None,
        extended_addressing=server_address_size == 4,
        io=BlockingTcpIO(host=host, port=port, timeout=int(SOCKET_TIMEOUT)),
        timeout=int(SOCKET_TIMEOUT),
    )
    return DlmsClient(
        transport=transport,
        authentication=_cosem_authentication(password),
        timeout=int(SOCKET_TIMEOUT),
    )


class FramedHdlcTransport(HdlcTransport):  # type: ignore[misc]
    """dlms-cosem's HDLC transport, reading frames by their length instead of by flags.

    DLMS HDLC does not stuff bytes: 0x7E may occur inside a frame (data, HCS or FCS), and
    only the format field's length says where the frame ends. dlms-cosem 25.1.0 reads "up
    to the next 0x7E" and then blocks for bytes the meter never sends (it waits for an RR).
    Its frame parser copes with an early flag (it widens its search), so this transport
    hands it whole frames and lets it search again before reading more.
    """

    def recv_frame(self) -> bytes:
        first = self.io.recv(1)
        # After a frame, its closing flag may also open the next one (7E frame 7E frame 7E).
        if first == HDLC_FLAG or not getattr(self, "_closing_flag_read", False):
            while first != HDLC_FLAG:  # skip anything before an opening flag
                first = self.io.recv(1)
            while first == HDLC_FLAG:
                first = self.io.recv(1)
        second = self.io.recv(1)
        length = (first[0] & 0x07) << 8 | second[0]  # 11-bit length between the flags
        rest = self.io.recv(length - 2)
        closing = self.io.recv(1)
        self._closing_flag_read = closing == HDLC_FLAG
        return bytes(HDLC_FLAG + first + second + rest + closing)

    def next_event(self) -> Any:
        connection = self.hdlc_connection
        while True:
            event = connection.next_event()
            if event is not NEED_DATA:
                return event
            if HDLC_FLAG not in connection.buffer[connection.buffer_search_position :]:
                connection.receive_data(self.recv_frame())


def _cosem_authentication(
    password: bytes | None,
) -> NoSecurityAuthentication | LowLevelSecurityAuthentication:
    if password is None:
        return NoSecurityAuthentication()
    return LowLevelSecurityAuthentication(secret=password)


@contextlib.contextmanager
def cosem_session(client: DlmsClient) -> Iterator[DlmsClient]:
    """Connect and associate; release and disconnect afterwards (also after a failure).

    Raises :class:`AssociationRejected` if the meter refuses the AARQ.
    """
    client.connect()
    try:
        try:
            client.associate()
        except DlmsClientException as exc:
            # dlms-cosem raises with the AARE's result and diagnostic in the message only.
            message = str(exc)
            raise AssociationRejected(
                message,
                _enum_value(r"AssociationResult\.\w+: (\d+)", message),
                _enum_value(r"Diagnostics\.\w+: (\d+)", message),
            ) from exc
        try:
            yield client
        finally:
            client.release_association()
    finally:
        client.disconnect()


def _enum_value(pattern: str, message: str) -> int | None:
    found = re.search(pattern, message)
    return int(found.group(1)) if found else None


def cosem_attribute(class_id: int, logical_name: str, attribute: int) -> CosemAttribute:
    """dlms-cosem's attribute descriptor for ``class_id``, ``logical_name``, ``attribute``."""
    parts = [int(part) for part in logical_name.split(".")]
    return CosemAttribute(
        interface=cosem_enumerations.CosemInterface(class_id),
        instance=CosemObis(*parts),
        attribute=attribute,
    )


@dataclass(frozen=True)
class EntryDescriptor:
    """entry_descriptor (selector 2) of a profile's buffer, for dlms-cosem's ``get``.

    ``structure{from_entry double-long-unsigned, to_entry double-long-unsigned (0 = last),
    from_selected_value long-unsigned, to_selected_value long-unsigned (0 = last)}``;
    dlms-cosem's own ``EntryDescriptor.to_bytes`` raises NotImplementedError.
    """

    ACCESS_DESCRIPTOR: ClassVar[int] = 2

    from_entry: int
    to_entry: int = 0
    from_selected_value: int = 1
    to_selected_value: int = 0

    def to_bytes(self) -> bytes:
        return (
            bytes((self.ACCESS_DESCRIPTOR, 0x02, 0x04, 0x06))  # structure of 4, then u32
            + self.from_entry.to_bytes(4, "big")
            + b"\x06"
            + self.to_entry.to_bytes(4, "big")
            + b"\x12"  # long-unsigned
            + self.from_selected_value.to_bytes(2, "big")
            + b"\x12"
            + self.to_selected_value.to_bytes(2, "big")
        )


# ---------------------------------------------------------------------------- what went over
# the wire (data protection tests: test_hls_*.py, test_set_action.py)


def wrapper_apdus(stream: bytes) -> list[bytes]:
    """The APDUs of a recorded byte stream of IEC 62056-47 wrapper frames, in order."""
    decoder = WrapperDecoder(0xFFFF)
    decoder.receive_data(stream)
    apdus = []
    while (frame := decoder.next_frame()) is not None:
        apdus.append(frame.apdu)
    assert decoder.buffered_size == 0, "the stream ends inside a frame"
    return apdus


class _RecordingSocket:
    """A socket that keeps a copy of every byte sent and received."""

    def __init__(self, wrapped: socket.socket, sent: bytearray, received: bytearray) -> None:
        self._wrapped = wrapped
        self._sent = sent
        self._received = received

    def sendall(self, data: bytes) -> None:
        self._sent += data
        self._wrapped.sendall(data)

    def recv(self, size: int) -> bytes:
        data = self._wrapped.recv(size)
        self._received += data
        return data

    def close(self) -> None:
        self._wrapped.close()


class RecordingGuruxSession(GuruxSession):
    """A :class:`GuruxSession` that records the bytes of its connection (after the HDLC link
    set-up), and that can invoke methods.

    ``requests()`` and ``answers()`` split a wrapper session's recording into APDUs, so that a
    test can check the tags and security control bytes each side used.
    """

    def __init__(self, port: int, **kwargs: Any) -> None:
        super().__init__(port, **kwargs)
        self.sent_bytes = bytearray()
        self.received_bytes = bytearray()

    def connect(self) -> None:
        super().connect()
        assert self._socket is not None
        self._socket = _RecordingSocket(  # type: ignore[assignment]
            self._socket, self.sent_bytes, self.received_bytes
        )

    def requests(self) -> list[bytes]:
        assert self.interface == InterfaceType.WRAPPER
        return wrapper_apdus(bytes(self.sent_bytes))

    def answers(self) -> list[bytes]:
        assert self.interface == InterfaceType.WRAPPER
        return wrapper_apdus(bytes(self.received_bytes))

    def invoke(self, requests: Sequence[bytes] | bytes, what: str) -> Any:
        """Send an ACTION built by gurux (e.g. ``clock.adjustToQuarter(client)``); return the
        reply's value. Raises :class:`DlmsError` with the action-result if it is refused."""
        reply = self._exchange_all(requests)
        self._raise_for(reply, what)
        return reply.value


def gurux_secured_session(
    port: int,
    *,
    client_address: int,
    ciphering: GuruxCiphering,
    security: Security = Security.AUTHENTICATION_ENCRYPTION,
    general_protection: bool = True,
    dedicated_key: bytes | None = None,
    **kwargs: Any,
) -> RecordingGuruxSession:
    """A recording gurux-dlms HLS-GMAC session with the given protection.

    ``security``: gurux's security control (AUTHENTICATION 0x10, ENCRYPTION 0x20,
    AUTHENTICATION_ENCRYPTION 0x30). ``general_protection=False`` leaves general-protection out
    of the proposed conformance, so that gurux uses the service-specific glo-/ded- tags instead
    of general-glo/general-ded-ciphering. ``dedicated_key`` is sent (encrypted) in the initiate
    request and protects the association's requests (ded- or general-ded-ciphering).
    """
    session = RecordingGuruxSession(
        port,
        client_address=client_address,
        authentication=Authentication.HIGH_GMAC,
        ciphering=ciphering,
        **kwargs,
    )
    session.client.ciphering.security = security
    if not general_protection:
        session.client.proposedConformance &= ~Conformance.GENERAL_PROTECTION
    if dedicated_key is not None:
        session.client.ciphering.dedicatedKey = dedicated_key
    return session


@attr.s(auto_attribs=True)
class RecordingTcpIO(BlockingTcpIO):  # type: ignore[misc]
    """dlms-cosem's blocking TCP I/O, keeping a copy of every byte sent and received."""

    sent_bytes: bytearray = attr.ib(init=False, factory=bytearray)
    received_bytes: bytearray = attr.ib(init=False, factory=bytearray)

    def send(self, data: bytes) -> None:
        self.sent_bytes += data
        super().send(data)

    def recv(self, amount: int = 1) -> bytes:
        data: bytes = super().recv(amount)
        self.received_bytes += data
        return data
