"""The interface-class registry and class descriptions."""

from __future__ import annotations

import pytest

from securemeter import cosem
from securemeter.cosem.registry import INTERFACE_CLASSES, describe


def test_registry_maps_class_ids_to_classes() -> None:
    assert {class_id: cls.__name__ for class_id, cls in INTERFACE_CLASSES.items()} == {
        1: "DataObject",
        3: "Register",
        7: "ProfileGeneric",
        8: "Clock",
        15: "AssociationLN",
        23: "HdlcSetup",
        41: "TcpUdpSetup",
        64: "SecuritySetup",
        8193: "InterfaceLockout",
    }
    assert {class_id: cls.VERSION for class_id, cls in INTERFACE_CLASSES.items()} == {
        1: 0,
        3: 0,
        7: 1,
        8: 0,
        15: 2,
        23: 1,
        41: 0,
        64: 1,
        8193: 0,
    }
    with pytest.raises(TypeError):
        INTERFACE_CLASSES[99] = cosem.Clock  # type: ignore[index]


def test_every_class_declares_logical_name_first() -> None:
    for cls in INTERFACE_CLASSES.values():
        assert cls.ATTRIBUTES[0].name == "logical_name"
        assert [a.index for a in cls.ATTRIBUTES] == list(range(1, len(cls.ATTRIBUTES) + 1))
        assert 1 not in cls.writable_attributes()


def test_describe_by_id_and_by_class() -> None:
    clock = describe(8)
    assert describe(cosem.Clock) == clock
    assert (clock.class_id, clock.version, clock.name) == (8, 0, "Clock")
    assert [a.name for a in clock.attributes] == [
        "logical_name",
        "time",
        "time_zone",
        "status",
        "daylight_savings_begin",
        "daylight_savings_end",
        "daylight_savings_deviation",
        "daylight_savings_enabled",
        "clock_base",
    ]
    assert clock.writable_attributes == frozenset({2, 3, 5, 6, 7, 8})
    assert clock.attribute("time_zone").index == 3
    assert clock.attribute(9).name == "clock_base"
    assert clock.method("shift_time").index == 6
    assert clock.method(1).name == "adjust_to_quarter"
    for lookup in (
        lambda: clock.attribute("timezone"),
        lambda: clock.attribute(10),
        lambda: clock.method(7),
    ):
        with pytest.raises(KeyError):
            lookup()
    with pytest.raises(KeyError):
        describe(70)


def test_selectors_are_declared_for_the_object_list() -> None:
    profile = describe(7)
    assert profile.attribute("buffer").selectors == (1, 2)
    assert profile.writable_attributes == frozenset({4})
    assert [m.name for m in profile.methods] == ["reset", "capture"]
    association = describe(15)
    assert association.attribute(7).name == "secret"
    assert 7 not in association.writable_attributes
    assert [m.name for m in association.methods][:2] == [
        "reply_to_HLS_authentication",
        "change_HLS_secret",
    ]


def test_attribute_names_match_gurux_attribute_counts() -> None:
    from gurux_dlms.objects import (
        GXDLMSAssociationLogicalName,
        GXDLMSClock,
        GXDLMSData,
        GXDLMSHdlcSetup,
        GXDLMSProfileGeneric,
        GXDLMSRegister,
        GXDLMSSecuritySetup,
        GXDLMSTcpUdpSetup,
    )

    references = {
        1: GXDLMSData(),
        3: GXDLMSRegister(),
        7: GXDLMSProfileGeneric(),
        8: GXDLMSClock(),
        15: GXDLMSAssociationLogicalName(),
        23: GXDLMSHdlcSetup(),
        41: GXDLMSTcpUdpSetup(),
        64: GXDLMSSecuritySetup(),
    }
    for class_id, reference in references.items():
        reference.version = INTERFACE_CLASSES[class_id].VERSION
        description = describe(class_id)
        assert len(description.attributes) == reference.getAttributeCount(), description.name
        assert len(description.methods) == reference.getMethodCount(), description.name


def test_public_api_is_importable() -> None:
    for name in cosem.__all__:
        assert hasattr(cosem, name), name
