"""Register, interface class 3 version 0: a value with a scaler and a unit.

The value comes from a provider (the metrology engine); scaler and unit are fixed by the
configuration. reset (method 1) is behaviour the meter injects; without it the method is
refused.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum

from securemeter.codec.axdr import Data, Enum, Integer, Structure
from securemeter.codec.obis import Obis
from securemeter.cosem.base import (
    AttributeDef,
    ChangeKind,
    ChangeObserver,
    CosemObject,
    MethodDef,
    ObjectError,
    ObjectResult,
    expect_no_parameter,
)


class Unit(IntEnum):
    """Physical units of scaler_unit (Blue Book unit table); values are the enum codes."""

    YEAR = 1
    MONTH = 2
    WEEK = 3
    DAY = 4
    HOUR = 5
    MINUTE = 6
    SECOND = 7
    DEGREE = 8  # phase angle
    DEGREE_CELSIUS = 9
    CURRENCY = 10
    METRE = 11
    METRE_PER_SECOND = 12
    CUBIC_METRE = 13
    CUBIC_METRE_CORRECTED = 14
    CUBIC_METRE_PER_HOUR = 15
    CUBIC_METRE_PER_HOUR_CORRECTED = 16
    CUBIC_METRE_PER_DAY = 17
    CUBIC_METRE_PER_DAY_CORRECTED = 18
    LITRE = 19
    KILOGRAM = 20
    NEWTON = 21
    NEWTON_METRE = 22
    PASCAL = 23
    BAR = 24
    JOULE = 25
    JOULE_PER_HOUR = 26
    WATT = 27
    VOLT_AMPERE = 28
    VAR = 29
    WATT_HOUR = 30
    VOLT_AMPERE_HOUR = 31
    VAR_HOUR = 32
    AMPERE = 33
    COULOMB = 34
    VOLT = 35
    VOLT_PER_METRE = 36
    FARAD = 37
    OHM = 38
    OHM_SQUARE_METRE_PER_METRE = 39
    WEBER = 40
    TESLA = 41
    AMPERE_PER_METRE = 42
    HENRY = 43
    HERTZ = 44
    ACTIVE_ENERGY_METER_CONSTANT = 45  # 1/(Wh)
    REACTIVE_ENERGY_METER_CONSTANT = 46  # 1/(varh)
    APPARENT_ENERGY_METER_CONSTANT = 47  # 1/(VAh)
    VOLT_SQUARED_HOUR = 48
    AMPERE_SQUARED_HOUR = 49
    KILOGRAM_PER_SECOND = 50
    SIEMENS = 51
    KELVIN = 52
    VOLT_SQUARED_HOUR_METER_CONSTANT = 53  # 1/(V²h)
    AMPERE_SQUARED_HOUR_METER_CONSTANT = 54  # 1/(A²h)
    VOLUME_METER_CONSTANT = 55  # 1/m³
    PERCENTAGE = 56
    AMPERE_HOUR = 57
    OTHER_UNIT = 254
    COUNT = 255  # no unit, unitless count


class Register(CosemObject):
    CLASS_ID = 3
    VERSION = 0
    ATTRIBUTES = (
        AttributeDef(1, "logical_name"),
        AttributeDef(2, "value"),
        AttributeDef(3, "scaler_unit"),
    )
    METHODS = (MethodDef(1, "reset"),)

    def __init__(
        self,
        logical_name: Obis,
        *,
        value: Callable[[], Data],
        scaler: int,
        unit: Unit,
        reset: Callable[[], None] | None = None,
        on_change: ChangeObserver | None = None,
    ) -> None:
        super().__init__(logical_name, on_change=on_change)
        self._value = value
        self.scaler = scaler
        self.unit = Unit(unit)
        self._scaler_unit = Structure((Integer(scaler), Enum(self.unit)))  # range-checks scaler
        self._reset = reset

    def _get_value(self) -> Data:
        return self._value()

    def _get_scaler_unit(self) -> Data:
        return self._scaler_unit

    def _invoke_reset(self, parameter: Data) -> Data | None:
        expect_no_parameter(parameter, "reset")
        if self._reset is None:
            raise ObjectError(ObjectResult.READ_WRITE_DENIED, f"{self}: reset is not offered")
        self._reset()
        self._notify(ChangeKind.REGISTER_RESET, method_index=1, method="reset")
        return None
