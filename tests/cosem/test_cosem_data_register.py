"""Data (IC 1) and Register (IC 3)."""

from __future__ import annotations

import pytest

from securemeter.codec.axdr import (
    Data,
    DoubleLongUnsigned,
    Enum,
    Integer,
    LongUnsigned,
    NullData,
    OctetString,
    Structure,
    Unsigned,
    VisibleString,
    encode,
)
from securemeter.codec.obis import Obis
from securemeter.cosem.base import ChangeEvent, ObjectError, ObjectResult
from securemeter.cosem.data import (
    DataObject,
    integer_validator,
    octet_string_validator,
    type_validator,
)
from securemeter.cosem.register import Register, Unit
from securemeter.errors import StorageError

DEVICE_ID = Obis(0, 0, 96, 1, 0, 255)
ENERGY = Obis(1, 0, 1, 8, 0, 255)


def refused(call: object, result: ObjectResult) -> None:
    assert callable(call)
    with pytest.raises(ObjectError) as caught:
        call()
    assert caught.value.result is result


# ----------------------------------------------------------------------------- Data


def test_fixed_value_is_read_only() -> None:
    data = DataObject(DEVICE_ID, value=VisibleString("SM-0001"))
    assert (data.CLASS_ID, data.VERSION) == (1, 0)
    assert data.get_attribute(1) == OctetString(bytes((0, 0, 96, 1, 0, 255)))
    assert data.get_attribute(2) == VisibleString("SM-0001")
    assert not data.writable
    refused(lambda: data.set_attribute(2, VisibleString("x")), ObjectResult.READ_WRITE_DENIED)
    refused(lambda: data.set_attribute(1, OctetString(bytes(6))), ObjectResult.READ_WRITE_DENIED)
    refused(lambda: data.get_attribute(3), ObjectResult.OBJECT_UNAVAILABLE)
    refused(lambda: data.invoke_method(1, Integer(0)), ObjectResult.OBJECT_UNAVAILABLE)
    assert encode(data.get_attribute(2)) == bytes.fromhex("0a07534d2d30303031")


def test_provided_value_is_asked_on_every_get() -> None:
    counter = iter(range(10))
    data = DataObject(DEVICE_ID, provider=lambda: DoubleLongUnsigned(next(counter)))
    assert data.get_attribute(2) == DoubleLongUnsigned(0)
    assert data.get_attribute(2) == DoubleLongUnsigned(1)
    refused(lambda: data.set_attribute(2, DoubleLongUnsigned(5)), ObjectResult.READ_WRITE_DENIED)


def test_holder_up_to_128_octets_stores_then_reports() -> None:
    stored: list[Data] = []
    events: list[ChangeEvent] = []
    data = DataObject(
        DEVICE_ID,
        value=OctetString(b""),
        validator=octet_string_validator(max_length=128),
        on_store=stored.append,
        on_change=events.append,
    )
    assert data.writable
    data.set_attribute(2, OctetString(bytes(128)))
    assert data.get_attribute(2) == OctetString(bytes(128))
    assert stored == [OctetString(bytes(128))]
    assert events == [
        ChangeEvent(
            DEVICE_ID, "configuration-changed", {"attribute_index": 2, "attribute": "value"}
        )
    ]
    data.set_attribute(2, OctetString(b"short"))
    assert data.get_attribute(2) == OctetString(b"short")
    for bad in (OctetString(bytes(129)), VisibleString("text"), NullData()):
        refused(lambda bad=bad: data.set_attribute(2, bad), ObjectResult.TYPE_UNMATCHED)
    assert data.get_attribute(2) == OctetString(b"short")
    assert len(stored) == 2 and len(events) == 2


def test_holder_of_exactly_128_octets() -> None:
    data = DataObject(
        DEVICE_ID,
        value=OctetString(bytes(128)),
        validator=octet_string_validator(min_length=128, max_length=128),
    )
    data.set_attribute(2, OctetString(b"\x01" * 128))
    refused(lambda: data.set_attribute(2, OctetString(bytes(127))), ObjectResult.TYPE_UNMATCHED)
    with pytest.raises(ObjectError):
        DataObject(
            DEVICE_ID,
            value=OctetString(b""),
            validator=octet_string_validator(min_length=128, max_length=128),
        )
    with pytest.raises(ValueError):
        octet_string_validator(min_length=5, max_length=4)


def test_failed_store_leaves_the_value_unchanged() -> None:
    def failing_store(value: Data) -> None:
        raise StorageError("disk full")

    events: list[ChangeEvent] = []
    data = DataObject(
        DEVICE_ID,
        value=Unsigned(1),
        validator=type_validator(Unsigned),
        on_store=failing_store,
        on_change=events.append,
    )
    with pytest.raises(StorageError):
        data.set_attribute(2, Unsigned(2))
    assert data.get_attribute(2) == Unsigned(1)
    assert events == []


def test_integer_validator_checks_type_and_range() -> None:
    data = DataObject(
        DEVICE_ID, value=LongUnsigned(10), validator=integer_validator(LongUnsigned, 1, 900)
    )
    data.set_attribute(2, LongUnsigned(900))
    refused(lambda: data.set_attribute(2, LongUnsigned(901)), ObjectResult.OTHER_REASON)
    refused(lambda: data.set_attribute(2, LongUnsigned(0)), ObjectResult.OTHER_REASON)
    refused(lambda: data.set_attribute(2, Unsigned(5)), ObjectResult.TYPE_UNMATCHED)
    assert data.get_attribute(2) == LongUnsigned(900)


def test_inconsistent_backings_are_refused() -> None:
    with pytest.raises(ValueError):
        DataObject(DEVICE_ID)
    with pytest.raises(ValueError):
        DataObject(DEVICE_ID, value=Unsigned(1), provider=lambda: Unsigned(1))
    with pytest.raises(ValueError):
        DataObject(DEVICE_ID, provider=lambda: Unsigned(1), validator=type_validator(Unsigned))
    with pytest.raises(ValueError):
        DataObject(DEVICE_ID, value=Unsigned(1), on_store=lambda value: None)


# ----------------------------------------------------------------------------- Register


def test_register_value_and_scaler_unit() -> None:
    register = Register(
        ENERGY, value=lambda: DoubleLongUnsigned(123456), scaler=-3, unit=Unit.WATT_HOUR
    )
    assert (register.CLASS_ID, register.VERSION) == (3, 0)
    assert register.get_attribute(2) == DoubleLongUnsigned(123456)
    assert register.get_attribute(3) == Structure((Integer(-3), Enum(30)))
    assert encode(register.get_attribute(3)) == bytes.fromhex("02020ffd161e")
    refused(
        lambda: register.set_attribute(2, DoubleLongUnsigned(0)), ObjectResult.READ_WRITE_DENIED
    )
    refused(lambda: register.set_attribute(3, Structure(())), ObjectResult.READ_WRITE_DENIED)
    refused(lambda: register.get_attribute(4), ObjectResult.OBJECT_UNAVAILABLE)


def test_register_reset_is_injected_and_reported() -> None:
    total = [500]
    events: list[ChangeEvent] = []

    def reset() -> None:
        total[0] = 0

    register = Register(
        ENERGY,
        value=lambda: DoubleLongUnsigned(total[0]),
        scaler=0,
        unit=Unit.WATT_HOUR,
        reset=reset,
        on_change=events.append,
    )
    assert register.invoke_method(1, Integer(0)) is None
    assert register.get_attribute(2) == DoubleLongUnsigned(0)
    assert events == [ChangeEvent(ENERGY, "register-reset", {"method_index": 1, "method": "reset"})]
    refused(lambda: register.invoke_method(1, Integer(1)), ObjectResult.TYPE_UNMATCHED)
    refused(lambda: register.invoke_method(2, Integer(0)), ObjectResult.OBJECT_UNAVAILABLE)


def test_register_without_reset_refuses_it() -> None:
    events: list[ChangeEvent] = []
    register = Register(
        ENERGY, value=lambda: Unsigned(1), scaler=0, unit=Unit.COUNT, on_change=events.append
    )
    refused(lambda: register.invoke_method(1, Integer(0)), ObjectResult.READ_WRITE_DENIED)
    assert events == []


def test_units_we_use_have_their_blue_book_codes() -> None:
    assert (Unit.SECOND, Unit.WATT, Unit.WATT_HOUR, Unit.VAR_HOUR, Unit.AMPERE, Unit.VOLT) == (
        7,
        27,
        30,
        32,
        33,
        35,
    )
    assert (Unit.VAR, Unit.VOLT_AMPERE, Unit.HERTZ, Unit.COUNT) == (29, 28, 44, 255)


def test_units_agree_with_gurux() -> None:
    from gurux_dlms.enums import Unit as GuruxUnit

    assert Unit.WATT_HOUR == GuruxUnit.ACTIVE_ENERGY
    assert Unit.VAR_HOUR == GuruxUnit.REACTIVE_ENERGY
    assert Unit.VOLT_AMPERE_HOUR == GuruxUnit.APPARENT_ENERGY
    assert Unit.WATT == GuruxUnit.ACTIVE_POWER
    assert Unit.VOLT == GuruxUnit.VOLTAGE
    assert Unit.AMPERE == GuruxUnit.CURRENT
    assert Unit.HERTZ == GuruxUnit.FREQUENCY
    assert Unit.PERCENTAGE == GuruxUnit.PERCENTAGE
    assert Unit.AMPERE_HOUR == GuruxUnit.AMPERE_HOURS
