"""Shared machinery of the communication setup classes: integer settings with ranges.

A setup object holds a frozen settings value. A SET of one of its attributes is type- and
range-checked, handed to ``on_settings_changed`` (the meter persists it and applies it to the
next connection or listener; it may raise to refuse) and only then applied and reported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Generic, TypeVar

from securemeter.codec.axdr import Data
from securemeter.codec.obis import Obis
from securemeter.cosem.base import (
    ChangeKind,
    ChangeObserver,
    CosemObject,
    IntegerData,
    expect_integer,
)

_S = TypeVar("_S")


@dataclass(frozen=True, slots=True)
class SettingField:
    """How a settings field shows as an attribute: as data type ``kind``, within low..high."""

    field: str
    kind: type[IntegerData]
    low: int
    high: int


class SettingsObject(CosemObject, Generic[_S]):
    FIELDS: ClassVar[Mapping[int, SettingField]]

    def __init__(
        self,
        logical_name: Obis,
        *,
        settings: _S,
        on_settings_changed: Callable[[_S], None] | None = None,
        on_change: ChangeObserver | None = None,
    ) -> None:
        super().__init__(logical_name, on_change=on_change)
        for spec in self.FIELDS.values():
            number = getattr(settings, spec.field)
            if not spec.low <= number <= spec.high:
                raise ValueError(f"{spec.field} must be within {spec.low}..{spec.high}")
        self._settings = settings
        self._on_settings_changed = on_settings_changed

    @property
    def settings(self) -> _S:
        return self._settings

    def _read(self, index: int) -> Data:
        spec = self.FIELDS[index]
        return spec.kind(getattr(self._settings, spec.field))

    def _write(self, index: int, value: Data) -> None:
        spec = self.FIELDS[index]
        name = self.ATTRIBUTES[index - 1].name
        number = expect_integer(value, spec.kind, name, low=spec.low, high=spec.high)
        self._store(index, replace(self._as_dataclass(), **{spec.field: number}), number)

    def _store(self, index: int, settings: _S, shown: object) -> None:
        if self._on_settings_changed is not None:
            self._on_settings_changed(settings)  # persist first; it may refuse by raising
        self._settings = settings
        self._notify(
            ChangeKind.CONFIGURATION_CHANGED,
            attribute_index=index,
            attribute=self.ATTRIBUTES[index - 1].name,
            value=shown,
        )

    def _as_dataclass(self) -> Any:
        return self._settings
