"""The shared machinery: access modes, refusal codes, declarations and table dispatch."""

from __future__ import annotations

import pytest

from securemeter.codec.axdr import (
    Array,
    Data,
    Integer,
    LongUnsigned,
    NullData,
    OctetString,
    Structure,
    Unsigned,
)
from securemeter.codec.obis import Obis
from securemeter.cosem.base import (
    AccessSelection,
    AttributeAccess,
    AttributeDef,
    ChangeEvent,
    ChangeKind,
    CosemObject,
    MethodAccess,
    MethodDef,
    ObjectError,
    ObjectResult,
    expect,
    expect_in_range,
    expect_integer,
    expect_no_parameter,
    expect_octet_string,
    expect_structure,
)
from securemeter.errors import SecuremeterError

LN = Obis(1, 0, 0, 0, 0, 255)


class Sample(CosemObject):
    """A minimal interface class: one read-only, one writable, one selective attribute."""

    CLASS_ID = 9999
    VERSION = 0
    ATTRIBUTES = (
        AttributeDef(1, "logical_name"),
        AttributeDef(2, "fixed"),
        AttributeDef(3, "stored"),
        AttributeDef(4, "listing", selectors=(2,)),
    )
    METHODS = (MethodDef(1, "bump"),)

    def __init__(self) -> None:
        self.events: list[ChangeEvent] = []
        super().__init__(LN, on_change=self.events.append)
        self.stored = Unsigned(1)

    def _get_fixed(self) -> Data:
        return Unsigned(7)

    def _get_stored(self) -> Data:
        return self.stored

    def _set_stored(self, value: Data) -> None:
        self.stored = expect(value, Unsigned, "stored")
        self._notify(ChangeKind.CONFIGURATION_CHANGED, attribute_index=3)

    def _get_listing(self) -> Data:
        return Array((Unsigned(1), Unsigned(2), Unsigned(3)))

    def _select_listing(self, selection: AccessSelection) -> Data:
        count = expect_integer(selection.parameters, Unsigned, "count")
        return Array(tuple(Unsigned(n) for n in range(1, count + 1)))

    def _invoke_bump(self, parameter: Data) -> Data | None:
        expect_no_parameter(parameter, "bump")
        self.stored = Unsigned(self.stored.value + 1)
        return self.stored


@pytest.fixture
def sample() -> Sample:
    return Sample()


def test_access_mode_values_and_rights() -> None:
    assert [mode.value for mode in AttributeAccess] == list(range(7))
    readable = {mode for mode in AttributeAccess if mode.can_read}
    writable = {mode for mode in AttributeAccess if mode.can_write}
    assert readable == {
        AttributeAccess.READ_ONLY,
        AttributeAccess.READ_AND_WRITE,
        AttributeAccess.AUTHENTICATED_READ_ONLY,
        AttributeAccess.AUTHENTICATED_READ_AND_WRITE,
    }
    assert writable == {
        AttributeAccess.WRITE_ONLY,
        AttributeAccess.READ_AND_WRITE,
        AttributeAccess.AUTHENTICATED_WRITE_ONLY,
        AttributeAccess.AUTHENTICATED_READ_AND_WRITE,
    }
    assert not AttributeAccess.NO_ACCESS.can_read and not AttributeAccess.NO_ACCESS.can_write
    assert AttributeAccess.AUTHENTICATED_WRITE_ONLY.needs_authentication
    assert not AttributeAccess.READ_AND_WRITE.needs_authentication
    assert (MethodAccess.NO_ACCESS, MethodAccess.ACCESS, MethodAccess.AUTHENTICATED_ACCESS) == (
        0,
        1,
        2,
    )


def test_object_results_are_the_data_access_result_codes() -> None:
    assert {result.name: result.value for result in ObjectResult} == {
        "HARDWARE_FAULT": 1,
        "TEMPORARY_FAILURE": 2,
        "READ_WRITE_DENIED": 3,
        "OBJECT_UNDEFINED": 4,
        "OBJECT_CLASS_INCONSISTENT": 9,
        "OBJECT_UNAVAILABLE": 11,
        "TYPE_UNMATCHED": 12,
        "SCOPE_OF_ACCESS_VIOLATED": 13,
        "DATA_BLOCK_UNAVAILABLE": 14,
        "OTHER_REASON": 250,
    }
    error = ObjectError(ObjectResult.TYPE_UNMATCHED, "clock time must be an octet-string(12)")
    assert isinstance(error, SecuremeterError)
    assert error.result is ObjectResult.TYPE_UNMATCHED
    assert "octet-string(12)" in str(error)
    assert "TYPE_UNMATCHED" in repr(error)


def test_get_dispatch(sample: Sample) -> None:
    assert sample.get_attribute(1) == OctetString(bytes((1, 0, 0, 0, 0, 255)))
    assert sample.get_attribute(2) == Unsigned(7)
    assert sample.get_attribute(4) == Array((Unsigned(1), Unsigned(2), Unsigned(3)))
    assert sample.get_attribute(4, AccessSelection(2, Unsigned(2))) == Array(
        (Unsigned(1), Unsigned(2))
    )


@pytest.mark.parametrize("index", [0, 5, 255, -1])
def test_unknown_attribute_is_unavailable(sample: Sample, index: int) -> None:
    for call in (
        lambda: sample.get_attribute(index),
        lambda: sample.get_attribute(index, AccessSelection(2, Unsigned(1))),
        lambda: sample.set_attribute(index, Unsigned(1)),
    ):
        with pytest.raises(ObjectError) as caught:
            call()
        assert caught.value.result is ObjectResult.OBJECT_UNAVAILABLE


@pytest.mark.parametrize("index", [0, 2, 99])
def test_unknown_method_is_unavailable(sample: Sample, index: int) -> None:
    with pytest.raises(ObjectError) as caught:
        sample.invoke_method(index, Integer(0))
    assert caught.value.result is ObjectResult.OBJECT_UNAVAILABLE


def test_selective_access_refusals(sample: Sample) -> None:
    with pytest.raises(ObjectError) as caught:
        sample.get_attribute(2, AccessSelection(1, NullData()))
    assert caught.value.result is ObjectResult.SCOPE_OF_ACCESS_VIOLATED
    with pytest.raises(ObjectError) as caught:
        sample.get_attribute(4, AccessSelection(1, Unsigned(1)))
    assert caught.value.result is ObjectResult.SCOPE_OF_ACCESS_VIOLATED
    with pytest.raises(ObjectError) as caught:
        sample.get_attribute(4, AccessSelection(2, Integer(1)))
    assert caught.value.result is ObjectResult.TYPE_UNMATCHED


def test_set_dispatch_and_refusals(sample: Sample) -> None:
    sample.set_attribute(3, Unsigned(42))
    assert sample.get_attribute(3) == Unsigned(42)
    assert sample.events == [ChangeEvent(LN, "configuration-changed", {"attribute_index": 3})]
    for index in (1, 2, 4):
        with pytest.raises(ObjectError) as caught:
            sample.set_attribute(index, Unsigned(1))
        assert caught.value.result is ObjectResult.READ_WRITE_DENIED
    with pytest.raises(ObjectError) as caught:
        sample.set_attribute(3, LongUnsigned(1))
    assert caught.value.result is ObjectResult.TYPE_UNMATCHED
    assert sample.get_attribute(3) == Unsigned(42)


def test_invoke_dispatch(sample: Sample) -> None:
    assert sample.invoke_method(1, Integer(0)) == Unsigned(2)
    assert sample.invoke_method(1, NullData()) == Unsigned(3)
    for bad in (Integer(1), Unsigned(0), Structure(())):
        with pytest.raises(ObjectError) as caught:
            sample.invoke_method(1, bad)
        assert caught.value.result is ObjectResult.TYPE_UNMATCHED


def test_writable_attributes_follow_the_setters() -> None:
    assert Sample.writable_attributes() == frozenset({3})


def test_subclass_overrides_take_effect(sample: Sample) -> None:
    class Louder(Sample):
        def _get_fixed(self) -> Data:
            return Unsigned(8)

    assert Louder().get_attribute(2) == Unsigned(8)
    assert sample.get_attribute(2) == Unsigned(7)


def test_declarations_are_checked_when_the_class_is_made() -> None:
    with pytest.raises(TypeError, match="no getter"):

        class MissingGetter(CosemObject):
            CLASS_ID = 1
            VERSION = 0
            ATTRIBUTES = (AttributeDef(1, "logical_name"), AttributeDef(2, "value"))

    with pytest.raises(TypeError, match="logical_name"):

        class NoLogicalName(CosemObject):
            CLASS_ID = 1
            VERSION = 0
            ATTRIBUTES = (AttributeDef(1, "value"),)

            def _get_value(self) -> Data:
                return NullData()

    with pytest.raises(TypeError, match="indices"):

        class Gap(CosemObject):
            CLASS_ID = 1
            VERSION = 0
            ATTRIBUTES = (AttributeDef(1, "logical_name"), AttributeDef(3, "value"))

            def _get_value(self) -> Data:
                return NullData()

    with pytest.raises(TypeError, match="selectors"):

        class SelectorWithoutHandler(CosemObject):
            CLASS_ID = 1
            VERSION = 0
            ATTRIBUTES = (AttributeDef(1, "logical_name"), AttributeDef(2, "value", (1,)))

            def _get_value(self) -> Data:
                return NullData()

    with pytest.raises(TypeError, match="method"):

        class MethodWithoutHandler(CosemObject):
            CLASS_ID = 1
            VERSION = 0
            ATTRIBUTES = (AttributeDef(1, "logical_name"),)
            METHODS = (MethodDef(1, "reset"),)


def test_value_checks() -> None:
    assert expect(Unsigned(1), Unsigned, "x") == Unsigned(1)
    assert expect_structure(Structure((Unsigned(1),)), 1, "x") == (Unsigned(1),)
    assert expect_octet_string(OctetString(b"ab"), "x", size=2) == b"ab"
    assert expect_integer(Unsigned(5), Unsigned, "x", low=0, high=5) == 5
    assert expect_in_range(3, 1, 3, "x") == 3
    refusals = [
        (lambda: expect(Integer(1), Unsigned, "x"), ObjectResult.TYPE_UNMATCHED),
        (lambda: expect_structure(Array(()), 0, "x"), ObjectResult.TYPE_UNMATCHED),
        (lambda: expect_structure(Structure(()), 1, "x"), ObjectResult.TYPE_UNMATCHED),
        (lambda: expect_octet_string(OctetString(b"a"), "x", size=2), ObjectResult.TYPE_UNMATCHED),
        (
            lambda: expect_integer(Unsigned(6), Unsigned, "x", low=0, high=5),
            ObjectResult.OTHER_REASON,
        ),
        (lambda: expect_in_range(0, 1, 3, "x"), ObjectResult.OTHER_REASON),
    ]
    for call, result in refusals:
        with pytest.raises(ObjectError) as caught:
            call()
        assert caught.value.result is result
