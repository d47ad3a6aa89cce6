"""Interface lockout, a manufacturer-specific interface class: the port lockout of one interface.

Class id 8193, version 0 (class ids 8192 to 32767 are left to manufacturers; gurux-dlms maps
8192 to an Italian companion class, hence 8193). One instance per interface under the
manufacturer-specific OBIS code 0.0.96.128.e.255 (e = 0 TCP, 1 optical; docs/ACCESS.md).

| # | attribute | type |
|---|---|---|
| 1 | logical_name | octet-string |
| 2 | lockout_state | enum: 0 unlocked, 1 locked, 2 disabled (lockout switched off) |
| 3 | failed_attempts | double-long-unsigned: counted failures in the current window |
| 4 | remaining_lockout_time | double-long-unsigned: seconds until the lockout ends (0 if none) |
| 5 | lockout_count | double-long-unsigned: lockouts since the meter was made |

Method 1 ``lift`` (integer(0)) ends a lockout and clears the failures. Nothing is writable:
the settings come from the configuration. The values and the lift are behaviour the meter
injects (``meter/lockout.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from securemeter.codec.axdr import Data, DoubleLongUnsigned, Enum
from securemeter.codec.obis import Obis
from securemeter.cosem.base import (
    AttributeDef,
    ChangeObserver,
    CosemObject,
    MethodDef,
    MethodHandler,
    expect_no_parameter,
)

INTERFACE_LOCKOUT_CLASS_ID: Final = 8193
_MAX_DOUBLE_LONG_UNSIGNED: Final = 0xFFFFFFFF


class LockoutState(IntEnum):
    UNLOCKED = 0
    LOCKED = 1
    DISABLED = 2


@dataclass(frozen=True, slots=True)
class LockoutReading:
    """What the object shows at one instant."""

    state: LockoutState
    failed_attempts: int
    remaining_lockout_time: int  # whole seconds, rounded up
    lockout_count: int


class InterfaceLockout(CosemObject):
    CLASS_ID = INTERFACE_LOCKOUT_CLASS_ID
    VERSION = 0
    ATTRIBUTES = (
        AttributeDef(1, "logical_name"),
        AttributeDef(2, "lockout_state"),
        AttributeDef(3, "failed_attempts"),
        AttributeDef(4, "remaining_lockout_time"),
        AttributeDef(5, "lockout_count"),
    )
    METHODS = (MethodDef(1, "lift"),)

    def __init__(
        self,
        logical_name: Obis,
        *,
        reading: Callable[[], LockoutReading],
        lift: MethodHandler | None = None,
        on_change: ChangeObserver | None = None,
    ) -> None:
        super().__init__(logical_name, on_change=on_change)
        self._reading = reading
        self._lift = lift

    def _get_lockout_state(self) -> Data:
        return Enum(LockoutState(self._reading().state))

    def _get_failed_attempts(self) -> Data:
        return _counter(self._reading().failed_attempts)

    def _get_remaining_lockout_time(self) -> Data:
        return _counter(self._reading().remaining_lockout_time)

    def _get_lockout_count(self) -> Data:
        return _counter(self._reading().lockout_count)

    def _invoke_lift(self, parameter: Data) -> Data | None:
        expect_no_parameter(parameter, "lift")
        # Not a configuration change: the meter writes its own security record of the lift.
        return self._delegate(self._lift, 1, parameter, configuring=False)


def _counter(value: int) -> DoubleLongUnsigned:
    return DoubleLongUnsigned(min(max(value, 0), _MAX_DOUBLE_LONG_UNSIGNED))
