"""Hypothesis strategies shared by the whole test tree (``from strategies import ...``).

tests/conftest.py puts this directory on ``sys.path``, so every test module can import them.
"""

from __future__ import annotations

from hypothesis import strategies as st

from securemeter.codec import axdr
from securemeter.codec.cosem_time import (
    DAYLIGHT_SAVINGS_BEGIN,
    DAYLIGHT_SAVINGS_END,
    LAST_DAY,
    MAX_DEVIATION,
    SECOND_LAST_DAY,
    ClockStatus,
    CosemDateTime,
)
from securemeter.codec.obis import Obis


def _optional(values: st.SearchStrategy[int]) -> st.SearchStrategy[int | None]:
    return st.one_of(st.none(), values)


def obis_codes() -> st.SearchStrategy[Obis]:
    octet = st.integers(min_value=0, max_value=255)
    return st.builds(Obis, octet, octet, octet, octet, octet, octet)


@st.composite
def cosem_date_times(draw: st.DrawFn) -> CosemDateTime:
    """Any valid COSEM date-time, wildcards and special month/day values included."""
    year = draw(_optional(st.integers(min_value=0, max_value=0xFFFE)))
    month = draw(
        _optional(
            st.one_of(
                st.integers(min_value=1, max_value=12),
                st.sampled_from([DAYLIGHT_SAVINGS_END, DAYLIGHT_SAVINGS_BEGIN]),
            )
        )
    )
    if month is not None and month <= 12:
        # The longest the month can be: 29 February only when the year may be a leap year.
        leap = year is None or (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0))
        longest = {2: 29 if leap else 28, 4: 30, 6: 30, 9: 30, 11: 30}.get(month, 31)
    else:
        longest = 31
    day_of_month = draw(
        _optional(
            st.one_of(
                st.integers(min_value=1, max_value=longest),
                st.sampled_from([SECOND_LAST_DAY, LAST_DAY]),
            )
        )
    )
    clock_status = draw(
        st.one_of(st.none(), st.integers(min_value=0, max_value=0xFE).map(ClockStatus))
    )
    return CosemDateTime(
        year=year,
        month=month,
        day_of_month=day_of_month,
        day_of_week=draw(_optional(st.integers(min_value=1, max_value=7))),
        hour=draw(_optional(st.integers(min_value=0, max_value=23))),
        minute=draw(_optional(st.integers(min_value=0, max_value=59))),
        second=draw(_optional(st.integers(min_value=0, max_value=59))),
        hundredths=draw(_optional(st.integers(min_value=0, max_value=99))),
        deviation=draw(_optional(st.integers(min_value=-MAX_DEVIATION, max_value=MAX_DEVIATION))),
        clock_status=clock_status,
    )


# ----------------------------------------------------------------------------- A-XDR data

_INTEGER_TYPES: tuple[tuple[type[axdr.Data], int, int], ...] = (
    (axdr.Integer, -(2**7), 2**7 - 1),
    (axdr.Long, -(2**15), 2**15 - 1),
    (axdr.DoubleLong, -(2**31), 2**31 - 1),
    (axdr.Long64, -(2**63), 2**63 - 1),
    (axdr.Unsigned, 0, 2**8 - 1),
    (axdr.LongUnsigned, 0, 2**16 - 1),
    (axdr.DoubleLongUnsigned, 0, 2**32 - 1),
    (axdr.Long64Unsigned, 0, 2**64 - 1),
    (axdr.Enum, 0, 2**8 - 1),
    (axdr.Bcd, 0, 2**8 - 1),
)
_BY_TAG: dict[axdr.DataType, st.SearchStrategy[axdr.Data]] = {}


def _bit_strings() -> st.SearchStrategy[axdr.BitString]:
    @st.composite
    def build(draw: st.DrawFn) -> axdr.BitString:
        length = draw(st.integers(min_value=0, max_value=64))
        value = bytearray(draw(st.binary(min_size=(length + 7) // 8, max_size=(length + 7) // 8)))
        if length % 8:
            value[-1] &= (0xFF << (8 - length % 8)) & 0xFF  # unused trailing bits are zero
        return axdr.BitString(bytes(value), length)

    return build()


def _simple_strategies() -> dict[axdr.DataType, st.SearchStrategy[axdr.Data]]:
    if _BY_TAG:
        return _BY_TAG
    for cls, low, high in _INTEGER_TYPES:
        _BY_TAG[cls.TAG] = st.integers(min_value=low, max_value=high).map(cls)
    _BY_TAG.update(
        {
            axdr.DataType.NULL: st.just(axdr.NullData()),
            axdr.DataType.DONT_CARE: st.just(axdr.DontCare()),
            axdr.DataType.BOOLEAN: st.booleans().map(axdr.Boolean),
            axdr.DataType.BIT_STRING: _bit_strings(),
            axdr.DataType.OCTET_STRING: st.binary(max_size=300).map(axdr.OctetString),
            axdr.DataType.VISIBLE_STRING: st.text(
                st.characters(max_codepoint=0xFF), max_size=40
            ).map(axdr.VisibleString),
            axdr.DataType.UTF8_STRING: st.text(max_size=40).map(axdr.Utf8String),
            axdr.DataType.FLOAT32: st.floats(width=32).map(axdr.Float32),
            axdr.DataType.FLOAT64: st.floats().map(axdr.Float64),
            axdr.DataType.DATE_TIME: st.one_of(
                st.binary(min_size=12, max_size=12),
                cosem_date_times().map(lambda value: value.to_bytes()),
            ).map(axdr.DateTime),
            axdr.DataType.DATE: st.binary(min_size=5, max_size=5).map(axdr.Date),
            axdr.DataType.TIME: st.binary(min_size=4, max_size=4).map(axdr.Time),
        }
    )
    return _BY_TAG


def type_descriptions() -> st.SearchStrategy[axdr.TypeDescription]:
    """Compact-array contents-descriptions: simple types, small arrays and structures."""
    simple_tags = sorted(set(_simple_strategies()) - {axdr.DataType.NULL, axdr.DataType.DONT_CARE})
    simple = st.sampled_from(simple_tags).map(axdr.TypeDescription.simple)
    return st.recursive(
        simple,
        lambda children: st.one_of(
            st.builds(axdr.TypeDescription.array, st.integers(min_value=1, max_value=3), children),
            st.lists(children, min_size=1, max_size=4).map(
                lambda parts: axdr.TypeDescription.structure(*parts)
            ),
        ),
        max_leaves=6,
    )


def values_of(description: axdr.TypeDescription) -> st.SearchStrategy[axdr.Data]:
    """Values that conform to ``description``."""
    if description.data_type == axdr.DataType.STRUCTURE:
        return st.tuples(*(values_of(part) for part in description.elements)).map(axdr.Structure)
    if description.data_type == axdr.DataType.ARRAY:
        element = values_of(description.elements[0])
        count = description.number_of_elements
        return st.lists(element, min_size=count, max_size=count).map(
            lambda items: axdr.Array(tuple(items))
        )
    return _simple_strategies()[description.data_type]


@st.composite
def compact_arrays(draw: st.DrawFn) -> axdr.CompactArray:
    description = draw(type_descriptions())
    items = draw(st.lists(values_of(description), max_size=4))
    return axdr.CompactArray(description, tuple(items))


def data_values() -> st.SearchStrategy[axdr.Data]:
    """Any A-XDR Data value: every type, nested arrays/structures and compact arrays."""
    leaves = st.one_of(*_simple_strategies().values(), compact_arrays())
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=4).map(lambda items: axdr.Array(tuple(items))),
            st.lists(children, max_size=4).map(lambda items: axdr.Structure(tuple(items))),
        ),
        max_leaves=12,
    )
