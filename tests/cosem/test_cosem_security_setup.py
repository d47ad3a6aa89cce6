"""Security setup (IC 64 v1): attributes from providers, methods only through handlers."""

from __future__ import annotations

import pytest

from securemeter.codec.axdr import (
    Array,
    Data,
    Enum,
    Integer,
    NullData,
    OctetString,
    Structure,
    encode,
)
from securemeter.codec.obis import Obis
from securemeter.cosem.base import ChangeEvent, ObjectError, ObjectResult
from securemeter.cosem.security_setup import SecurityPolicy, SecuritySetup, SecuritySuite

SETUP = Obis(0, 0, 43, 0, 1, 255)
SERVER_TITLE = bytes.fromhex("4d4d4d0000bc614e")
CLIENT_TITLE = bytes.fromhex("4142434445464748")
METHOD_NAMES = (
    "security_activate",
    "key_transfer",
    "key_agreement",
    "generate_key_pair",
    "generate_certificate_request",
    "import_certificate",
    "export_certificate",
    "remove_certificate",
)


def make_setup(**handlers: object) -> tuple[SecuritySetup, list[ChangeEvent], list[SecurityPolicy]]:
    policy = [SecurityPolicy.AUTHENTICATED_REQUEST | SecurityPolicy.ENCRYPTED_REQUEST]
    events: list[ChangeEvent] = []
    setup = SecuritySetup(
        SETUP,
        security_policy=lambda: policy[0],
        security_suite=SecuritySuite.AES_GCM_128,
        client_system_title=lambda: CLIENT_TITLE,
        server_system_title=SERVER_TITLE,
        on_change=events.append,
        **handlers,  # type: ignore[arg-type]
    )
    return setup, events, policy


def refused(call: object, result: ObjectResult) -> None:
    assert callable(call)
    with pytest.raises(ObjectError) as caught:
        call()
    assert caught.value.result is result


def test_attributes() -> None:
    setup, _, policy = make_setup()
    assert (setup.CLASS_ID, setup.VERSION) == (64, 1)
    assert setup.get_attribute(1) == OctetString(bytes((0, 0, 43, 0, 1, 255)))
    assert setup.get_attribute(2) == Enum(0x0C)
    policy[0] = SecurityPolicy(0xFC)
    assert encode(setup.get_attribute(2)) == bytes.fromhex("16fc")
    assert setup.get_attribute(3) == Enum(0)
    assert setup.get_attribute(4) == OctetString(CLIENT_TITLE)
    assert setup.get_attribute(5) == OctetString(SERVER_TITLE)
    assert setup.get_attribute(6) == Array(())
    refused(lambda: setup.get_attribute(7), ObjectResult.OBJECT_UNAVAILABLE)


def test_policy_bits() -> None:
    assert [flag.value for flag in SecurityPolicy] == [0x04, 0x08, 0x10, 0x20, 0x40, 0x80]
    assert [suite.value for suite in SecuritySuite] == [0, 1, 2]


def test_nothing_is_writable() -> None:
    setup, events, _ = make_setup()
    assert SecuritySetup.writable_attributes() == frozenset()
    for index in range(1, 7):
        refused(lambda i=index: setup.set_attribute(i, NullData()), ObjectResult.READ_WRITE_DENIED)
    assert events == []


def test_server_system_title_is_eight_octets() -> None:
    with pytest.raises(ValueError):
        SecuritySetup(
            SETUP,
            security_policy=lambda: SecurityPolicy(0),
            security_suite=SecuritySuite.AES_GCM_128,
            client_system_title=lambda: b"",
            server_system_title=b"short",
        )


def test_methods_without_handlers_are_refused() -> None:
    setup, events, _ = make_setup()
    assert [method.name for method in SecuritySetup.METHODS] == list(METHOD_NAMES)
    for index in range(1, 9):
        refused(lambda i=index: setup.invoke_method(i, Integer(0)), ObjectResult.READ_WRITE_DENIED)
    refused(lambda: setup.invoke_method(9, Integer(0)), ObjectResult.OBJECT_UNAVAILABLE)
    assert events == []


@pytest.mark.parametrize(("index", "name"), list(enumerate(METHOD_NAMES, start=1)))
def test_each_method_is_delegated(index: int, name: str) -> None:
    received: list[Data] = []

    def handler(parameter: Data) -> Data:
        received.append(parameter)
        return OctetString(b"result")

    setup, events, _ = make_setup(**{name: handler})
    parameter = Array((Structure((Enum(0), OctetString(bytes(24)))),))
    assert setup.invoke_method(index, parameter) == OctetString(b"result")
    assert received == [parameter]
    reporting = name not in ("generate_certificate_request", "export_certificate")
    expected = [
        ChangeEvent(SETUP, "configuration-changed", {"method_index": index, "method": name})
    ]
    assert events == (expected if reporting else [])
    for other in set(range(1, 9)) - {index}:
        refused(lambda o=other: setup.invoke_method(o, Integer(0)), ObjectResult.READ_WRITE_DENIED)


def test_a_refusing_handler_reports_nothing() -> None:
    def refuse(parameter: Data) -> None:
        raise ObjectError(ObjectResult.OTHER_REASON, "policy may only be strengthened")

    setup, events, _ = make_setup(security_activate=refuse)
    refused(lambda: setup.invoke_method(1, Enum(0)), ObjectResult.OTHER_REASON)
    assert events == []
