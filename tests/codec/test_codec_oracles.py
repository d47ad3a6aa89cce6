"""Cross-checks against gurux-dlms and dlms-cosem, used only as independent oracles.

Both libraries are test-only dependencies (GPL / BSL): nothing here is copied into the package.
Each oracle is driven only on the value range it handles correctly (noted where it matters).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from dlms_cosem import dlms_data as dc
from dlms_cosem import time as dc_time
from gurux_dlms.enums import DataType as GxType
from gurux_dlms.GXBitString import GXBitString
from gurux_dlms.GXByteBuffer import GXByteBuffer
from gurux_dlms.GXDLMSSettings import GXDLMSSettings
from gurux_dlms.internal._GXCommon import _GXCommon
from gurux_dlms.internal._GXDataInfo import _GXDataInfo
from hypothesis import given, settings
from hypothesis import strategies as st

from securemeter.codec import axdr
from securemeter.codec.cosem_time import ClockStatus, CosemDateTime
from strategies import values_of

GURUX_SETTINGS = GXDLMSSettings(False, None)
PRINTABLE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)


def bits_of(value: axdr.BitString) -> str:
    return "".join("1" if value.bit(index) else "0" for index in range(value.length))


# ----------------------------------------------------------------------------- gurux decoder


def gurux_decode(raw: bytes) -> tuple[Any, int]:
    buffer = GXByteBuffer(raw)
    info = _GXDataInfo()
    value = _GXCommon.getData(GURUX_SETTINGS, buffer, info)
    assert info.complete
    return value, buffer.position


def same_as_gurux(ours: axdr.Data, theirs: Any) -> bool:
    if isinstance(ours, axdr.Array | axdr.Structure | axdr.CompactArray):
        return len(ours.items) == len(theirs) and all(
            same_as_gurux(mine, other) for mine, other in zip(ours.items, theirs, strict=True)
        )
    if isinstance(ours, axdr.NullData):
        return theirs is None
    if isinstance(ours, axdr.BitString):
        return str(theirs) == bits_of(ours)
    if isinstance(ours, axdr.OctetString):
        return bytes(theirs) == ours.value
    if isinstance(ours, axdr.VisibleString | axdr.Utf8String):
        return bool(theirs == ours.value)
    if isinstance(ours, axdr.Float32 | axdr.Float64 | axdr.Boolean):
        return bool(theirs == ours.value)
    assert isinstance(ours, axdr._Fixed)
    return int(theirs) == ours.value


# Types whose gurux decoding is a plain value (gurux turns non-ASCII text into hex, parses
# dates into its own objects and mishandles dont-care, so those stay out).
_INTEGERS = [
    st.integers(-(2**7), 2**7 - 1).map(axdr.Integer),
    st.integers(-(2**15), 2**15 - 1).map(axdr.Long),
    st.integers(-(2**31), 2**31 - 1).map(axdr.DoubleLong),
    st.integers(-(2**63), 2**63 - 1).map(axdr.Long64),
    st.integers(0, 2**8 - 1).map(axdr.Unsigned),
    st.integers(0, 2**16 - 1).map(axdr.LongUnsigned),
    st.integers(0, 2**32 - 1).map(axdr.DoubleLongUnsigned),
    st.integers(0, 2**64 - 1).map(axdr.Long64Unsigned),
    st.integers(0, 2**8 - 1).map(axdr.Enum),
]
GURUX_LEAVES: st.SearchStrategy[axdr.Data] = st.one_of(
    *_INTEGERS,
    st.just(axdr.NullData()),
    st.booleans().map(axdr.Boolean),
    st.binary(max_size=300).map(axdr.OctetString),
    PRINTABLE.map(axdr.VisibleString),
    st.lists(st.sampled_from("01"), max_size=40).map("".join).map(axdr.BitString.from_bits),
    st.floats(width=32, allow_nan=False).map(axdr.Float32),
    st.floats(allow_nan=False).map(axdr.Float64),
)
# gurux reads compact-arrays of simple types or of flat structures of simple types.
_COMPACT_SIMPLE = st.sampled_from(
    [
        axdr.DataType.UNSIGNED,
        axdr.DataType.LONG_UNSIGNED,
        axdr.DataType.DOUBLE_LONG,
        axdr.DataType.LONG64_UNSIGNED,
        axdr.DataType.OCTET_STRING,
        axdr.DataType.BOOLEAN,
        axdr.DataType.FLOAT64,
    ]
).map(axdr.TypeDescription.simple)
_COMPACT_DESCRIPTION = st.one_of(
    _COMPACT_SIMPLE,
    st.lists(_COMPACT_SIMPLE, min_size=1, max_size=4).map(
        lambda parts: axdr.TypeDescription.structure(*parts)
    ),
)


@st.composite
def gurux_compact_arrays(draw: st.DrawFn) -> axdr.CompactArray:
    description = draw(_COMPACT_DESCRIPTION)
    values = values_of(description).filter(
        lambda value: "nan" not in repr(value)  # NaN never compares equal
    )
    return axdr.CompactArray(description, tuple(draw(st.lists(values, max_size=4))))


GURUX_VALUES = st.recursive(
    GURUX_LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=4).map(lambda items: axdr.Array(tuple(items))),
        st.lists(children, max_size=4).map(lambda items: axdr.Structure(tuple(items))),
    ),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None)
@given(GURUX_VALUES)
def test_gurux_decodes_our_encoding(value: axdr.Data) -> None:
    raw = axdr.encode(value)
    theirs, consumed = gurux_decode(raw)
    assert consumed == len(raw)
    assert same_as_gurux(value, theirs)


@settings(max_examples=100, deadline=None)
@given(gurux_compact_arrays())
def test_gurux_decodes_our_compact_arrays(value: axdr.CompactArray) -> None:
    raw = axdr.encode(value)
    theirs, consumed = gurux_decode(raw)
    assert consumed == len(raw)
    assert same_as_gurux(value, theirs)


# ----------------------------------------------------------------------------- gurux encoder

_GURUX_ENCODABLE: list[tuple[GxType, type[axdr.Data], st.SearchStrategy[Any]]] = [
    (GxType.INT8, axdr.Integer, st.integers(-(2**7), 2**7 - 1)),
    (GxType.INT16, axdr.Long, st.integers(-(2**15), 2**15 - 1)),
    (GxType.INT32, axdr.DoubleLong, st.integers(-(2**31), 2**31 - 1)),
    (GxType.INT64, axdr.Long64, st.integers(-(2**63), 2**63 - 1)),
    (GxType.UINT8, axdr.Unsigned, st.integers(0, 2**8 - 1)),
    (GxType.UINT16, axdr.LongUnsigned, st.integers(0, 2**16 - 1)),
    (GxType.UINT32, axdr.DoubleLongUnsigned, st.integers(0, 2**32 - 1)),
    (GxType.UINT64, axdr.Long64Unsigned, st.integers(0, 2**64 - 1)),
    (GxType.ENUM, axdr.Enum, st.integers(0, 2**7 - 1)),  # gurux writes enums signed
    (GxType.OCTET_STRING, axdr.OctetString, st.binary(max_size=300)),
    (GxType.STRING, axdr.VisibleString, PRINTABLE),
    (GxType.FLOAT32, axdr.Float32, st.floats(width=32, allow_nan=False)),
    (GxType.FLOAT64, axdr.Float64, st.floats(allow_nan=False)),
]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_gurux_encodes_the_same_octets(data: st.DataObject) -> None:
    gurux_type, ours, values = data.draw(st.sampled_from(_GURUX_ENCODABLE))
    plain = data.draw(values)
    buffer = GXByteBuffer()
    _GXCommon.setData(GURUX_SETTINGS, buffer, gurux_type, plain)
    assert axdr.encode(ours(plain)) == bytes(buffer.array())


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(["00000000", "11111111", "10100101"]), max_size=8).map("".join))
def test_gurux_encodes_the_same_bit_strings(bits: str) -> None:
    # gurux sends the bit count rounded up to whole octets, so compare on whole octets only.
    buffer = GXByteBuffer()
    _GXCommon.setData(GURUX_SETTINGS, buffer, GxType.BITSTRING, GXBitString(bits))
    assert axdr.encode(axdr.BitString.from_bits(bits)) == bytes(buffer.array())


def test_boolean_true_octet_differs_from_gurux_but_both_read_as_true() -> None:
    # We send TRUE as 0xFF (as BER does); gurux sends 0x01. Each reads the other's as TRUE.
    buffer = GXByteBuffer()
    _GXCommon.setData(GURUX_SETTINGS, buffer, GxType.BOOLEAN, True)
    assert axdr.decode_exact(bytes(buffer.array())) == axdr.Boolean(True)
    assert gurux_decode(axdr.encode(axdr.Boolean(True)))[0] is True


# ----------------------------------------------------------------------------- dlms-cosem


def to_dlms_cosem(value: axdr.Data) -> Any:
    """The dlms-cosem object for ``value`` (only the types it can encode)."""
    simple: dict[type[axdr.Data], Any] = {
        axdr.Integer: dc.IntegerData,
        axdr.Long: dc.LongData,
        axdr.DoubleLong: dc.DoubleLongData,
        axdr.Long64: dc.Long64Data,
        axdr.Unsigned: dc.UnsignedIntegerData,
        axdr.LongUnsigned: dc.UnsignedLongData,
        axdr.DoubleLongUnsigned: dc.DoubleLongUnsignedData,
        axdr.Long64Unsigned: dc.UnsignedLong64Data,
        axdr.Enum: dc.EnumData,
        axdr.OctetString: dc.OctetStringData,
        axdr.VisibleString: dc.VisibleStringData,
    }
    if isinstance(value, axdr.Array):
        return dc.DataArray([to_dlms_cosem(item) for item in value.items])
    if isinstance(value, axdr.Structure):
        return dc.DataStructure([to_dlms_cosem(item) for item in value.items])
    return simple[type(value)](value.value)  # type: ignore[attr-defined]


# dlms-cosem writes string lengths as one octet: keep strings under 128 octets.
DLMS_COSEM_VALUES = st.recursive(
    st.one_of(
        *_INTEGERS,
        st.binary(max_size=127).map(axdr.OctetString),
        PRINTABLE.map(axdr.VisibleString),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4).map(lambda items: axdr.Array(tuple(items))),
        st.lists(children, max_size=4).map(lambda items: axdr.Structure(tuple(items))),
    ),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None)
@given(DLMS_COSEM_VALUES)
def test_dlms_cosem_encodes_the_same_octets(value: axdr.Data) -> None:
    assert axdr.encode(value) == to_dlms_cosem(value).to_bytes()


@settings(max_examples=150, deadline=None)
@given(DLMS_COSEM_VALUES)
def test_dlms_cosem_decodes_our_encoding(value: axdr.Data) -> None:
    (theirs,) = dc.DlmsDataParser().parse(axdr.encode(value))
    assert theirs == to_dlms_cosem(value)


@settings(max_examples=150, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2099, 12, 31),
        # dlms-cosem reads deviation 0 as "no timezone", so UTC itself stays out.
        timezones=st.sampled_from(
            [timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30))]
        ),
    )
)
def test_dlms_cosem_reads_our_date_time_and_deviation_sign(value: datetime) -> None:
    ours = CosemDateTime.from_datetime(value, clock_status=ClockStatus.DAYLIGHT_SAVING_ACTIVE)
    theirs, status = dc_time.datetime_from_bytes(ours.to_bytes())
    assert theirs == ours.to_datetime()
    assert theirs.utcoffset() == value.utcoffset()
    assert status is not None and status.daylight_saving_active
    # And the other way: their encoding of an aware datetime is ours, except that
    # dlms-cosem leaves day_of_week unspecified (octet 4).
    theirs_raw = dc_time.datetime_to_bytes(theirs, None)
    assert theirs_raw[4] == 0xFF
    assert theirs_raw[:4] + theirs_raw[5:11] == ours.to_bytes()[:4] + ours.to_bytes()[5:11]
