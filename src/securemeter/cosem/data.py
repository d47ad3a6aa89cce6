"""Data, interface class 1 version 0: one value (attribute 2).

A Data object is backed in one of three ways, chosen at construction:

* a fixed value (``value=`` without ``validator``): read-only;
* a provider callable (``provider=``): read-only, asked on every GET;
* a writable holder (``value=`` with ``validator=``): a SET is validated, handed to the
  optional ``on_store`` persistence callback and only then applied.
"""

from __future__ import annotations

from collections.abc import Callable

from securemeter.codec.axdr import Data, OctetString
from securemeter.codec.obis import Obis
from securemeter.cosem.base import (
    AttributeDef,
    ChangeKind,
    ChangeObserver,
    CosemObject,
    IntegerData,
    ObjectError,
    ObjectResult,
    expect,
    expect_integer,
)

Validator = Callable[[Data], None]
"""Checks a value offered by a SET; raises ObjectError (TYPE_UNMATCHED, OTHER_REASON) if bad."""


def octet_string_validator(*, max_length: int, min_length: int = 0) -> Validator:
    """Accept exactly an octet-string of ``min_length`` to ``max_length`` octets.

    ``octet_string_validator(max_length=128)`` accepts up to 128 octets,
    ``octet_string_validator(min_length=128, max_length=128)`` exactly 128.
    """
    if not 0 <= min_length <= max_length:
        raise ValueError(f"bad octet-string bounds {min_length}..{max_length}")

    def validate(value: Data) -> None:
        size = len(expect(value, OctetString, "value").value)
        if not min_length <= size <= max_length:
            raise ObjectError(
                ObjectResult.TYPE_UNMATCHED,
                f"value must be an octet-string of {min_length}..{max_length} octets, got {size}",
            )

    return validate


def type_validator(kind: type[Data]) -> Validator:
    """Accept any value of exactly the data type ``kind``."""

    def validate(value: Data) -> None:
        expect(value, kind, "value")

    return validate


def integer_validator(kind: type[IntegerData], low: int, high: int) -> Validator:
    """Accept a value of the integer data type ``kind`` between ``low`` and ``high``."""

    def validate(value: Data) -> None:
        expect_integer(value, kind, "value", low=low, high=high)

    return validate


class DataObject(CosemObject):
    CLASS_ID = 1
    VERSION = 0
    ATTRIBUTES = (AttributeDef(1, "logical_name"), AttributeDef(2, "value"))

    def __init__(
        self,
        logical_name: Obis,
        *,
        value: Data | None = None,
        provider: Callable[[], Data] | None = None,
        validator: Validator | None = None,
        on_store: Callable[[Data], None] | None = None,
        on_change: ChangeObserver | None = None,
    ) -> None:
        super().__init__(logical_name, on_change=on_change)
        if (value is None) == (provider is None):
            raise ValueError("a Data object needs exactly one of value= and provider=")
        if provider is not None and validator is not None:
            raise ValueError("a provided value cannot be written")
        if on_store is not None and validator is None:
            raise ValueError("on_store needs a validator: only a writable value is stored")
        if value is not None and validator is not None:
            validator(value)  # the initial value must satisfy the rule it will be held to
        self._value = value
        self._provider = provider
        self._validator = validator
        self._on_store = on_store

    @property
    def writable(self) -> bool:
        return self._validator is not None

    def _get_value(self) -> Data:
        if self._provider is not None:
            return self._provider()
        assert self._value is not None  # exactly one of the two is set
        return self._value

    def _set_value(self, value: Data) -> None:
        if self._validator is None:
            raise ObjectError(ObjectResult.READ_WRITE_DENIED, f"{self}: value is read-only")
        self._validator(value)
        if self._on_store is not None:
            self._on_store(value)  # persist first: a failed store leaves the value unchanged
        self._value = value
        self._notify(ChangeKind.CONFIGURATION_CHANGED, attribute_index=2, attribute="value")
