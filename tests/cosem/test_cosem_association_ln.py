"""Association LN (IC 15 v2): object list, names, context info, secret, delegated methods."""

from __future__ import annotations

import pytest

from securemeter.codec.axdr import (
    Array,
    BitString,
    Data,
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
from securemeter.codec.identifiers import ApplicationContextName
from securemeter.codec.obis import Obis
from securemeter.cosem.association_ln import (
    AssociationLN,
    AssociationStatus,
    AuthenticationMechanism,
    ObjectList,
    ObjectListEntry,
    User,
    XdlmsContextInfo,
)
from securemeter.cosem.base import (
    AccessSelection,
    AttributeAccess,
    ChangeEvent,
    MethodAccess,
    ObjectError,
    ObjectResult,
)

CURRENT = Obis(0, 0, 40, 0, 0, 255)
A = AttributeAccess
M = MethodAccess

CLOCK_ENTRY = ObjectListEntry(
    8,
    0,
    Obis(0, 0, 1, 0, 0, 255),
    (
        (1, A.READ_ONLY, None),
        (2, A.READ_AND_WRITE, None),
        (3, A.AUTHENTICATED_READ_AND_WRITE, None),
    ),
    ((1, M.NO_ACCESS), (6, M.AUTHENTICATED_ACCESS)),
)
PROFILE_ENTRY = ObjectListEntry(
    7,
    1,
    Obis(1, 0, 99, 1, 0, 255),
    ((1, A.READ_ONLY, None), (2, A.READ_ONLY, (1, 2)), (4, A.WRITE_ONLY, None)),
    ((1, M.ACCESS),),
)
ASSOCIATION_ENTRY = ObjectListEntry(
    15,
    2,
    CURRENT,
    ((1, A.READ_ONLY, None), (2, A.READ_ONLY, None), (7, A.NO_ACCESS, None)),
    ((1, M.ACCESS), (2, M.NO_ACCESS)),
)
# conformance: get, set, action, selective-access, block-transfer-with-get (ASN.1 bits)
CONFORMANCE = (
    (1 << (23 - 19)) | (1 << (23 - 20)) | (1 << (23 - 23)) | (1 << (23 - 21)) | (1 << (23 - 11))
)


def make_association(
    object_list: ObjectList | None = None, **options: object
) -> tuple[AssociationLN, list[ChangeEvent]]:
    events: list[ChangeEvent] = []
    association = AssociationLN(
        object_list=object_list or ObjectList([ASSOCIATION_ENTRY, CLOCK_ENTRY, PROFILE_ENTRY]),
        client_sap=1,
        server_sap=1,
        application_context=ApplicationContextName.LOGICAL_NAME_WITH_CIPHERING,
        authentication_mechanism=AuthenticationMechanism.HIGH_GMAC,
        context_info=XdlmsContextInfo(CONFORMANCE, 1024, 512, cyphering_info=b"\x01\x02"),
        security_setup_reference=Obis(0, 0, 43, 0, 1, 255),
        association_status=lambda: AssociationStatus.ASSOCIATED,
        on_change=events.append,
        **options,  # type: ignore[arg-type]
    )
    return association, events


def refused(call: object, result: ObjectResult) -> None:
    assert callable(call)
    with pytest.raises(ObjectError) as caught:
        call()
    assert caught.value.result is result


# ----------------------------------------------------------------------------- object_list


def test_object_list_entry_encoding() -> None:
    assert encode(PROFILE_ENTRY.to_data()) == bytes.fromhex(
        "0204"
        "120007"  # class_id 7
        "1101"  # version 1
        "09060100630100ff"  # logical name
        "0202"  # access_rights
        "0103"  # attribute_access
        "02030f011601"
        "00"  # {1, read-only, null}
        "02030f021601"
        "01020f010f02"  # {2, read-only, [1, 2]}
        "02030f041602"
        "00"  # {4, write-only, null}
        "0101"  # method_access
        "02020f011601"  # {1, access}
    )


def test_object_list_decodes_with_gurux() -> None:
    from gurux_dlms import GXByteBuffer, GXDLMSClient
    from gurux_dlms.enums import AccessMode, MethodAccessMode

    association, _ = make_association()
    client = GXDLMSClient(True)
    objects = client.parseObjects(GXByteBuffer(encode(association.get_attribute(2))), False)
    parsed = {(int(obj.objectType), obj.logicalName): obj for obj in objects}
    assert set(parsed) == {(15, "0.0.40.0.0.255"), (8, "0.0.1.0.0.255"), (7, "1.0.99.1.0.255")}
    clock = parsed[(8, "0.0.1.0.0.255")]
    assert clock.version == 0
    assert clock.getAccess(1) == AccessMode.READ
    assert clock.getAccess(2) == AccessMode.READ_WRITE
    assert clock.getAccess(3) == AccessMode.AUTHENTICATED_READ_WRITE
    assert clock.getMethodAccess(1) == MethodAccessMode.NO_ACCESS
    assert clock.getMethodAccess(6) == MethodAccessMode.AUTHENTICATED_ACCESS
    profile = parsed[(7, "1.0.99.1.0.255")]
    assert profile.version == 1
    assert profile.getAccess(4) == AccessMode.WRITE
    assert profile.getMethodAccess(1) == MethodAccessMode.ACCESS
    assert parsed[(15, "0.0.40.0.0.255")].getAccess(7) == AccessMode.NO_ACCESS


def test_object_list_decodes_with_dlms_cosem() -> None:
    from dlms_cosem.parsers import AssociationObjectListParser

    association, _ = make_association()
    items = AssociationObjectListParser.parse_bytes(encode(association.get_attribute(2)))
    assert [
        (item.interface, str(item.logical_name.to_string()), item.version) for item in items
    ] == [
        (15, "0-0:40.0.0.255", 2),
        (8, "0-0:1.0.0.255", 0),
        (7, "1-0:99.1.0.255", 1),
    ]
    profile = items[2]
    assert sorted(profile.attribute_access_rights) == [1, 2, 4]
    assert profile.attribute_access_rights[2].access_selectors == [1, 2]
    assert profile.attribute_access_rights[1].access_selectors == []
    assert sorted(profile.method_access_rights) == [1]
    # dlms-cosem reads the modes as IC15 v3 bit flags; modes 1 and 3 mean the same there.
    clock = items[1]
    assert clock.attribute_access_rights[1].access_rights == [0]  # read
    assert clock.attribute_access_rights[2].access_rights == [0, 1]  # read, write


def test_object_list_is_cached_until_the_source_changes() -> None:
    calls = []

    class CountingList(ObjectList):
        def entries(self):  # type: ignore[no-untyped-def]
            calls.append(1)
            return super().entries()

    source = CountingList([CLOCK_ENTRY])
    association, _ = make_association(source)
    first = association.get_attribute(2)
    assert association.get_attribute(2) is first
    assert len(calls) == 1
    assert isinstance(first, Array) and first.items == (CLOCK_ENTRY.to_data(),)
    source.add(PROFILE_ENTRY)
    second = association.get_attribute(2)
    assert len(calls) == 2
    assert isinstance(second, Array) and len(second.items) == 2
    assert encode(second) == encode(Array((CLOCK_ENTRY.to_data(), PROFILE_ENTRY.to_data())))
    assert source.remove(7, PROFILE_ENTRY.logical_name)
    assert not source.remove(7, PROFILE_ENTRY.logical_name)
    assert encode(association.get_attribute(2)) == encode(Array((CLOCK_ENTRY.to_data(),)))


def test_object_list_replaces_an_entry_with_the_same_name() -> None:
    source = ObjectList([CLOCK_ENTRY])
    narrowed = ObjectListEntry(8, 0, CLOCK_ENTRY.logical_name, ((1, A.READ_ONLY, None),), ())
    source.add(narrowed)
    assert list(source.entries()) == [narrowed]
    assert source.version == 2


def test_object_list_has_no_selective_access() -> None:
    association, _ = make_association()
    refused(
        lambda: association.get_attribute(2, AccessSelection(1, NullData())),
        ObjectResult.SCOPE_OF_ACCESS_VIOLATED,
    )


# ----------------------------------------------------------------------------- other attributes


def test_attribute_values() -> None:
    users = (User(1, "reader"), User(2, "installer"))
    association, _ = make_association(users=lambda: users, current_user=lambda: users[1])
    assert (association.CLASS_ID, association.VERSION) == (15, 2)
    assert association.get_attribute(1) == OctetString(bytes((0, 0, 40, 0, 0, 255)))
    assert association.get_attribute(3) == Structure((Integer(1), LongUnsigned(1)))
    assert encode(association.get_attribute(4)) == bytes.fromhex(
        "0207110211101202f41105110811011103"
    )
    assert encode(association.get_attribute(6)) == bytes.fromhex(
        "0207110211101202f41105110811021105"
    )
    assert association.get_attribute(5) == Structure(
        (
            BitString(CONFORMANCE.to_bytes(3, "big"), 24),
            LongUnsigned(1024),
            LongUnsigned(512),
            Unsigned(6),
            Integer(0),
            OctetString(b"\x01\x02"),
        )
    )
    assert association.get_attribute(8) == Enum(2)
    assert association.get_attribute(9) == OctetString(bytes((0, 0, 43, 0, 1, 255)))
    assert association.get_attribute(10) == Array(
        (
            Structure((Unsigned(1), VisibleString("reader"))),
            Structure((Unsigned(2), VisibleString("installer"))),
        )
    )
    assert association.get_attribute(11) == Structure((Unsigned(2), VisibleString("installer")))


def test_defaults_for_users() -> None:
    association, _ = make_association()
    assert association.get_attribute(10) == Array(())
    assert association.get_attribute(11) == Structure((Unsigned(0), VisibleString("")))


def test_attributes_decode_with_gurux() -> None:
    from gurux_dlms import GXByteBuffer, GXDLMSClient, ValueEventArgs
    from gurux_dlms.enums import Conformance
    from gurux_dlms.objects import GXDLMSAssociationLogicalName

    association, _ = make_association(
        users=lambda: (User(1, "reader"),), current_user=lambda: User(1, "reader")
    )
    client = GXDLMSClient(True)
    target = GXDLMSAssociationLogicalName()
    for index in (3, 4, 5, 6, 8, 9, 10, 11):
        value = GXDLMSClient.getValue(GXByteBuffer(encode(association.get_attribute(index))), False)
        event = ValueEventArgs(client.settings, target, index, 0, None)
        event.value = value
        target.setValue(client.settings, event)
    assert (target.clientSAP, target.serverSAP) == (1, 1)
    context = target.applicationContextName
    assert (context.jointIsoCtt, context.country, context.countryName) == (2, 16, 756)
    assert (context.identifiedOrganization, context.dlmsUA) == (5, 8)
    assert (context.applicationContext, context.contextId) == (1, 3)
    mechanism = target.authenticationMechanismName
    assert (mechanism.countryName, mechanism.authenticationMechanismName) == (756, 2)
    assert mechanism.mechanismId == 5
    info = target.xDLMSContextInfo
    conformance = Conformance(info.conformance)
    for granted in (
        Conformance.GET,
        Conformance.SET,
        Conformance.ACTION,
        Conformance.SELECTIVE_ACCESS,
    ):
        assert granted in conformance
    assert Conformance.GENERAL_PROTECTION not in conformance
    assert (info.maxReceivePduSize, info.maxSendPduSize, info.dlmsVersionNumber) == (1024, 512, 6)
    assert bytes(info.cypheringInfo) == b"\x01\x02"
    assert target.associationStatus == 2
    assert target.securitySetupReference == "0.0.43.0.1.255"
    assert target.userList == [(1, "reader")]
    assert target.currentUser == (1, "reader")


def test_secret_is_never_readable_nor_writable() -> None:
    association, events = make_association()
    refused(lambda: association.get_attribute(7), ObjectResult.READ_WRITE_DENIED)
    refused(
        lambda: association.get_attribute(7, AccessSelection(1, NullData())),
        ObjectResult.READ_WRITE_DENIED,
    )
    refused(
        lambda: association.set_attribute(7, OctetString(b"password")),
        ObjectResult.READ_WRITE_DENIED,
    )
    assert 7 not in AssociationLN.writable_attributes()
    assert events == []


def test_all_attributes_are_read_only_here() -> None:
    association, _ = make_association()
    assert AssociationLN.writable_attributes() == frozenset()
    for index in range(1, 12):
        refused(
            lambda i=index: association.set_attribute(i, NullData()), ObjectResult.READ_WRITE_DENIED
        )
    refused(lambda: association.get_attribute(12), ObjectResult.OBJECT_UNAVAILABLE)


def test_context_info_validation() -> None:
    with pytest.raises(ValueError):
        XdlmsContextInfo(1 << 24, 1024, 1024)


# ----------------------------------------------------------------------------- methods


def test_methods_without_handlers_are_refused() -> None:
    association, events = make_association()
    for index in range(1, 7):
        refused(
            lambda i=index: association.invoke_method(i, OctetString(b"x")),
            ObjectResult.READ_WRITE_DENIED,
        )
    refused(lambda: association.invoke_method(7, Integer(0)), ObjectResult.OBJECT_UNAVAILABLE)
    assert events == []


def test_reply_to_hls_authentication_is_delegated() -> None:
    received: list[Data] = []

    def reply(parameter: Data) -> Data:
        received.append(parameter)
        return OctetString(b"\x10" + bytes(16))

    association, events = make_association(reply_to_hls_authentication=reply)
    result = association.invoke_method(1, OctetString(b"f(StoC)"))
    assert result == OctetString(b"\x10" + bytes(16))
    assert received == [OctetString(b"f(StoC)")]
    assert events == []  # authenticating changes nothing


def test_handler_refusal_passes_through() -> None:
    def refuse(parameter: Data) -> Data | None:
        raise ObjectError(ObjectResult.OTHER_REASON, "authentication failed")

    association, events = make_association(reply_to_hls_authentication=refuse)
    refused(lambda: association.invoke_method(1, OctetString(b"bad")), ObjectResult.OTHER_REASON)
    assert events == []


@pytest.mark.parametrize(
    ("index", "option", "name"),
    [
        (2, "change_hls_secret", "change_HLS_secret"),
        (3, "add_object", "add_object"),
        (4, "remove_object", "remove_object"),
        (5, "add_user", "add_user"),
        (6, "remove_user", "remove_user"),
    ],
)
def test_configuring_methods_are_delegated_and_reported(index: int, option: str, name: str) -> None:
    received: list[Data] = []

    def handler(parameter: Data) -> None:
        received.append(parameter)

    association, events = make_association(**{option: handler})
    assert association.invoke_method(index, Unsigned(9)) is None
    assert received == [Unsigned(9)]
    assert events == [
        ChangeEvent(CURRENT, "configuration-changed", {"method_index": index, "method": name})
    ]
    for other in set(range(1, 7)) - {index}:
        refused(
            lambda o=other: association.invoke_method(o, Unsigned(9)),
            ObjectResult.READ_WRITE_DENIED,
        )
