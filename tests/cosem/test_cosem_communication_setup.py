"""TCP-UDP setup (IC 41 v0) and IEC HDLC setup (IC 23 v1): validated, persisted settings."""

from __future__ import annotations

import pytest

from securemeter.codec.axdr import Data, Enum, Integer, LongUnsigned, OctetString, Unsigned
from securemeter.codec.obis import Obis
from securemeter.cosem.base import ChangeEvent, ObjectError, ObjectResult
from securemeter.cosem.hdlc_setup import BaudRate, HdlcSettings, HdlcSetup
from securemeter.cosem.tcp_udp_setup import TcpUdpSettings, TcpUdpSetup
from securemeter.errors import StorageError

TCP = Obis(0, 0, 25, 0, 0, 255)
HDLC = Obis(0, 0, 22, 0, 0, 255)


def refused(call: object, result: ObjectResult) -> None:
    assert callable(call)
    with pytest.raises(ObjectError) as caught:
        call()
    assert caught.value.result is result


def make_tcp() -> tuple[TcpUdpSetup, list[TcpUdpSettings], list[ChangeEvent]]:
    stored: list[TcpUdpSettings] = []
    events: list[ChangeEvent] = []
    setup = TcpUdpSetup(
        TCP, settings=TcpUdpSettings(), on_settings_changed=stored.append, on_change=events.append
    )
    return setup, stored, events


def make_hdlc() -> tuple[HdlcSetup, list[HdlcSettings], list[ChangeEvent]]:
    stored: list[HdlcSettings] = []
    events: list[ChangeEvent] = []
    setup = HdlcSetup(
        HDLC, settings=HdlcSettings(), on_settings_changed=stored.append, on_change=events.append
    )
    return setup, stored, events


# ----------------------------------------------------------------------------- TCP-UDP


def test_tcp_udp_attributes() -> None:
    setup, _, _ = make_tcp()
    assert (setup.CLASS_ID, setup.VERSION) == (41, 0)
    assert [setup.get_attribute(index) for index in range(1, 7)] == [
        OctetString(bytes((0, 0, 25, 0, 0, 255))),
        LongUnsigned(4059),
        OctetString(bytes((0, 0, 25, 1, 0, 255))),
        LongUnsigned(576),
        Unsigned(1),
        LongUnsigned(180),
    ]
    refused(lambda: setup.get_attribute(7), ObjectResult.OBJECT_UNAVAILABLE)
    refused(lambda: setup.set_attribute(1, OctetString(bytes(6))), ObjectResult.READ_WRITE_DENIED)


@pytest.mark.parametrize(
    ("index", "value", "field", "expected"),
    [
        (2, LongUnsigned(4060), "port", 4060),
        (3, OctetString(bytes((0, 0, 25, 7, 0, 255))), "ip_reference", Obis(0, 0, 25, 7, 0, 255)),
        (4, LongUnsigned(1460), "maximum_segment_size", 1460),
        (5, Unsigned(4), "simultaneous_connections", 4),
        (6, LongUnsigned(0), "inactivity_time_out", 0),
    ],
)
def test_tcp_udp_writes(index: int, value: Data, field: str, expected: object) -> None:
    setup, stored, events = make_tcp()
    setup.set_attribute(index, value)
    assert setup.get_attribute(index) == value
    assert getattr(setup.settings, field) == expected
    assert stored == [setup.settings]
    assert len(events) == 1 and events[0].kind == "configuration-changed"
    assert events[0].details["attribute_index"] == index
    assert events[0].details["attribute"] == TcpUdpSetup.ATTRIBUTES[index - 1].name


@pytest.mark.parametrize(
    ("index", "value", "result"),
    [
        (2, LongUnsigned(0), ObjectResult.OTHER_REASON),
        (2, Unsigned(80), ObjectResult.TYPE_UNMATCHED),
        (3, OctetString(bytes(5)), ObjectResult.TYPE_UNMATCHED),
        (3, LongUnsigned(1), ObjectResult.TYPE_UNMATCHED),
        (4, LongUnsigned(39), ObjectResult.OTHER_REASON),
        (5, Unsigned(0), ObjectResult.OTHER_REASON),
        (5, LongUnsigned(2), ObjectResult.TYPE_UNMATCHED),
        (6, Integer(5), ObjectResult.TYPE_UNMATCHED),
    ],
)
def test_tcp_udp_refusals(index: int, value: Data, result: ObjectResult) -> None:
    setup, stored, events = make_tcp()
    refused(lambda: setup.set_attribute(index, value), result)
    assert setup.settings == TcpUdpSettings() and stored == [] and events == []


def test_tcp_udp_refused_persistence() -> None:
    def refuse(settings: TcpUdpSettings) -> None:
        raise StorageError("locked")

    events: list[ChangeEvent] = []
    setup = TcpUdpSetup(
        TCP, settings=TcpUdpSettings(), on_settings_changed=refuse, on_change=events.append
    )
    with pytest.raises(StorageError):
        setup.set_attribute(2, LongUnsigned(1))
    assert setup.get_attribute(2) == LongUnsigned(4059) and events == []


def test_tcp_udp_settings_are_checked_at_construction() -> None:
    with pytest.raises(ValueError):
        TcpUdpSetup(TCP, settings=TcpUdpSettings(port=0))


def test_tcp_udp_agrees_with_gurux_types() -> None:
    from gurux_dlms.enums import DataType
    from gurux_dlms.objects import GXDLMSTcpUdpSetup

    setup, _, _ = make_tcp()
    reference = GXDLMSTcpUdpSetup()
    for index in range(1, 7):
        assert int(reference.getDataType(index)) == setup.get_attribute(index).TAG
    assert DataType.UINT16 == LongUnsigned.TAG


# ----------------------------------------------------------------------------- HDLC


def test_hdlc_attributes() -> None:
    setup, _, _ = make_hdlc()
    assert (setup.CLASS_ID, setup.VERSION) == (23, 1)
    assert [setup.get_attribute(index) for index in range(2, 10)] == [
        Enum(5),
        Unsigned(1),
        Unsigned(1),
        LongUnsigned(128),
        LongUnsigned(128),
        LongUnsigned(25),
        LongUnsigned(120),
        LongUnsigned(0x10),
    ]
    refused(lambda: setup.get_attribute(10), ObjectResult.OBJECT_UNAVAILABLE)


def test_hdlc_agrees_with_gurux_types() -> None:
    from gurux_dlms.objects import GXDLMSHdlcSetup

    setup, _, _ = make_hdlc()
    reference = GXDLMSHdlcSetup()
    for index in range(1, 10):
        assert int(reference.getDataType(index)) == setup.get_attribute(index).TAG


@pytest.mark.parametrize(
    ("index", "value", "field", "expected"),
    [
        (2, Enum(9), "comm_speed", BaudRate.BAUD_115200),
        (3, Unsigned(7), "window_size_transmit", 7),
        (4, Unsigned(7), "window_size_receive", 7),
        (5, LongUnsigned(2030), "max_info_field_length_transmit", 2030),
        (6, LongUnsigned(32), "max_info_field_length_receive", 32),
        (7, LongUnsigned(6000), "inter_octet_time_out", 6000),
        (8, LongUnsigned(0), "inactivity_time_out", 0),
        (9, LongUnsigned(0x3FFD), "device_address", 0x3FFD),
    ],
)
def test_hdlc_writes(index: int, value: Data, field: str, expected: object) -> None:
    setup, stored, events = make_hdlc()
    setup.set_attribute(index, value)
    assert setup.get_attribute(index) == value
    assert getattr(setup.settings, field) == expected
    assert stored == [setup.settings]
    assert events == [
        ChangeEvent(
            HDLC,
            "configuration-changed",
            {
                "attribute_index": index,
                "attribute": HdlcSetup.ATTRIBUTES[index - 1].name,
                "value": expected,
            },
        )
    ]
    assert isinstance(setup.settings.comm_speed, BaudRate)


@pytest.mark.parametrize(
    ("index", "value", "result"),
    [
        (2, Enum(10), ObjectResult.OTHER_REASON),
        (2, Unsigned(5), ObjectResult.TYPE_UNMATCHED),
        (3, Unsigned(0), ObjectResult.OTHER_REASON),
        (4, Unsigned(8), ObjectResult.OTHER_REASON),
        (5, LongUnsigned(31), ObjectResult.OTHER_REASON),
        (6, LongUnsigned(2031), ObjectResult.OTHER_REASON),
        (6, Unsigned(128), ObjectResult.TYPE_UNMATCHED),
        (7, LongUnsigned(19), ObjectResult.OTHER_REASON),
        (8, Unsigned(1), ObjectResult.TYPE_UNMATCHED),
        (9, LongUnsigned(0x0F), ObjectResult.OTHER_REASON),
        (9, LongUnsigned(0x3FFE), ObjectResult.OTHER_REASON),
    ],
)
def test_hdlc_refusals(index: int, value: Data, result: ObjectResult) -> None:
    setup, stored, events = make_hdlc()
    refused(lambda: setup.set_attribute(index, value), result)
    assert setup.settings == HdlcSettings() and stored == [] and events == []
