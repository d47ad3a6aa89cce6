"""What every COSEM interface class shares: access modes, refusals, declarations, dispatch.

An interface class declares its attributes and methods once, as data (``ATTRIBUTES``,
``METHODS``), and implements each one as a method named after it:

* ``_get_<name>(self) -> Data`` for every attribute (GET without selection);
* ``_select_<name>(self, selection) -> Data`` for attributes that declare selectors;
* ``_set_<name>(self, value) -> None`` for attributes a SET may change;
* ``_invoke_<name>(self, parameter) -> Data | None`` for every method.

``__init_subclass__`` checks the declarations against the handlers when the class is created
and builds one index -> function table per class, so a GET costs one dict lookup and one call.

Objects implement behaviour only. Who may read, write or invoke what is decided by the meter
before it calls an object; an object refuses only what it can never do, with these results:

* unknown attribute or method index: ``OBJECT_UNAVAILABLE``;
* SET of an attribute that is read-only by nature: ``READ_WRITE_DENIED``;
* a method whose behaviour was not injected: ``READ_WRITE_DENIED``;
* a value of the wrong data type or of the wrong size for a sized type (``octet-string(12)``):
  ``TYPE_UNMATCHED``;
* a well-typed value outside the allowed range, or one that designates nothing usable:
  ``OTHER_REASON``;
* selective access on an attribute that offers none, or a selector, restricting object or
  column the attribute does not offer: ``SCOPE_OF_ACCESS_VIOLATED``. Selection parameters of
  the wrong shape are ``TYPE_UNMATCHED``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any, ClassVar, TypeVar

from securemeter.codec.axdr import (
    Data,
    DoubleLong,
    DoubleLongUnsigned,
    Enum,
    Integer,
    Long,
    Long64,
    Long64Unsigned,
    LongUnsigned,
    NullData,
    OctetString,
    Structure,
    Unsigned,
)
from securemeter.codec.obis import Obis
from securemeter.errors import SecuremeterError


class AttributeAccess(IntEnum):
    """Attribute access modes of Association LN versions 0 to 2."""

    NO_ACCESS = 0
    READ_ONLY = 1
    WRITE_ONLY = 2
    READ_AND_WRITE = 3
    AUTHENTICATED_READ_ONLY = 4
    AUTHENTICATED_WRITE_ONLY = 5
    AUTHENTICATED_READ_AND_WRITE = 6

    @property
    def can_read(self) -> bool:
        return self in _READABLE

    @property
    def can_write(self) -> bool:
        return self in _WRITABLE

    @property
    def needs_authentication(self) -> bool:
        return self >= AttributeAccess.AUTHENTICATED_READ_ONLY


_READABLE = frozenset(
    {
        AttributeAccess.READ_ONLY,
        AttributeAccess.READ_AND_WRITE,
        AttributeAccess.AUTHENTICATED_READ_ONLY,
        AttributeAccess.AUTHENTICATED_READ_AND_WRITE,
    }
)
_WRITABLE = frozenset(
    {
        AttributeAccess.WRITE_ONLY,
        AttributeAccess.READ_AND_WRITE,
        AttributeAccess.AUTHENTICATED_WRITE_ONLY,
        AttributeAccess.AUTHENTICATED_READ_AND_WRITE,
    }
)


class MethodAccess(IntEnum):
    """Method access modes of Association LN versions 1 and 2."""

    NO_ACCESS = 0
    ACCESS = 1
    AUTHENTICATED_ACCESS = 2


class ObjectResult(IntEnum):
    """Why an object refused; numerically the Data-Access-Result / Action-Result code."""

    HARDWARE_FAULT = 1
    TEMPORARY_FAILURE = 2
    READ_WRITE_DENIED = 3
    OBJECT_UNDEFINED = 4
    OBJECT_CLASS_INCONSISTENT = 9
    OBJECT_UNAVAILABLE = 11
    TYPE_UNMATCHED = 12
    SCOPE_OF_ACCESS_VIOLATED = 13
    DATA_BLOCK_UNAVAILABLE = 14
    OTHER_REASON = 250


class ObjectError(SecuremeterError):
    """A COSEM object refused a GET, SET or ACTION; ``result`` is what the peer is told."""

    def __init__(self, result: ObjectResult, message: str) -> None:
        super().__init__(message)
        self.result = result

    def __repr__(self) -> str:
        return f"ObjectError({self.result.name}, {str(self)!r})"


@dataclass(frozen=True, slots=True)
class AttributeDef:
    """One attribute of an interface class; ``selectors`` lists its selective-access kinds."""

    index: int
    name: str
    selectors: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class MethodDef:
    index: int
    name: str


@dataclass(frozen=True, slots=True)
class AccessSelection:
    """The access-selection of a GET: a selector and its parameters (a Data value)."""

    selector: int
    parameters: Data


class ChangeKind(StrEnum):
    """What a SET or ACTION changed, for the meter's event logs."""

    CLOCK_SET = "clock-set"
    CLOCK_ADJUSTED = "clock-adjusted"
    REGISTER_RESET = "register-reset"
    CONFIGURATION_CHANGED = "configuration-changed"
    PROFILE_RESET = "profile-reset"


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """Reported to the ``on_change`` observer after a SET or ACTION changed an object.

    ``details`` names the attribute or method (index and Blue Book name) and adds, where the
    meter needs them, the old and new instants of a clock change (aware UTC datetimes) or the
    new value of a communication or profile setting. It never carries secrets or method
    parameters.
    """

    logical_name: Obis
    kind: str
    details: Mapping[str, object] = field(default_factory=dict)


ChangeObserver = Callable[[ChangeEvent], None]
MethodHandler = Callable[[Data], Data | None]
"""Behaviour injected into an object for one method: the parameter in, the return data out."""

_Getter = Callable[[Any], Data]
_Selector = Callable[[Any, AccessSelection], Data]
_Setter = Callable[[Any, Data], None]
_Invoker = Callable[[Any, Data], Data | None]


def _handler_name(prefix: str, name: str) -> str:
    return f"_{prefix}_{name.lower()}"


class CosemObject:
    """Base of the interface classes: declarations plus table-driven GET/SET/ACTION."""

    CLASS_ID: ClassVar[int]
    VERSION: ClassVar[int]
    ATTRIBUTES: ClassVar[tuple[AttributeDef, ...]]
    METHODS: ClassVar[tuple[MethodDef, ...]] = ()

    # Built by __init_subclass__ from the declarations above.
    _GETTERS: ClassVar[dict[int, _Getter]]
    _SELECTORS: ClassVar[dict[int, tuple[frozenset[int], _Selector]]]
    _SETTERS: ClassVar[dict[int, _Setter]]
    _INVOKERS: ClassVar[dict[int, _Invoker]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not hasattr(cls, "ATTRIBUTES"):
            return  # an intermediate base: nothing declared yet
        # Rebuilt for every concrete subclass, so that overridden handlers take effect.
        _check_declarations(cls)
        getters: dict[int, _Getter] = {}
        selectors: dict[int, tuple[frozenset[int], _Selector]] = {}
        setters: dict[int, _Setter] = {}
        for attribute in cls.ATTRIBUTES:
            getter = getattr(cls, _handler_name("get", attribute.name), None)
            if getter is None:
                raise TypeError(f"{cls.__name__} declares {attribute.name} but has no getter")
            getters[attribute.index] = getter
            selective = getattr(cls, _handler_name("select", attribute.name), None)
            if bool(attribute.selectors) != (selective is not None):
                raise TypeError(f"{cls.__name__}.{attribute.name}: selectors and handler differ")
            if selective is not None:
                selectors[attribute.index] = (frozenset(attribute.selectors), selective)
            setter = getattr(cls, _handler_name("set", attribute.name), None)
            if setter is not None:
                setters[attribute.index] = setter
        invokers: dict[int, _Invoker] = {}
        for method in cls.METHODS:
            invoker = getattr(cls, _handler_name("invoke", method.name), None)
            if invoker is None:
                raise TypeError(f"{cls.__name__} declares method {method.name} but no handler")
            invokers[method.index] = invoker
        cls._GETTERS = getters
        cls._SELECTORS = selectors
        cls._SETTERS = setters
        cls._INVOKERS = invokers

    @classmethod
    def writable_attributes(cls) -> frozenset[int]:
        """Indices of the attributes that have a SET handler."""
        return frozenset(cls._SETTERS)

    def __init__(self, logical_name: Obis, *, on_change: ChangeObserver | None = None) -> None:
        self.logical_name = logical_name
        self._logical_name_data = OctetString(logical_name.to_bytes())
        self._on_change = on_change

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.logical_name})"

    # -- the three services

    def get_attribute(self, index: int, selection: AccessSelection | None = None) -> Data:
        """The value of attribute ``index``, optionally restricted by a selective access."""
        if selection is None:
            getter = self._GETTERS.get(index)
            if getter is None:
                raise self._no_attribute(index)
            return getter(self)
        selective = self._SELECTORS.get(index)
        if selective is None:
            if index not in self._GETTERS:
                raise self._no_attribute(index)
            raise ObjectError(
                ObjectResult.SCOPE_OF_ACCESS_VIOLATED,
                f"{self}: attribute {index} has no selective access",
            )
        offered, select = selective
        if selection.selector not in offered:
            raise ObjectError(
                ObjectResult.SCOPE_OF_ACCESS_VIOLATED,
                f"{self}: attribute {index} does not offer selector {selection.selector}",
            )
        return select(self, selection)

    def set_attribute(self, index: int, value: Data) -> None:
        setter = self._SETTERS.get(index)
        if setter is None:
            if index not in self._GETTERS:
                raise self._no_attribute(index)
            raise ObjectError(
                ObjectResult.READ_WRITE_DENIED, f"{self}: attribute {index} is read-only"
            )
        setter(self, value)

    def invoke_method(self, index: int, parameter: Data) -> Data | None:
        invoker = self._INVOKERS.get(index)
        if invoker is None:
            raise ObjectError(ObjectResult.OBJECT_UNAVAILABLE, f"{self}: no method {index}")
        return invoker(self, parameter)

    # -- helpers for subclasses

    def _get_logical_name(self) -> Data:
        return self._logical_name_data

    def _notify(self, kind: str, **details: object) -> None:
        if self._on_change is not None:
            self._on_change(ChangeEvent(self.logical_name, kind, details))

    def _delegate(
        self, handler: MethodHandler | None, index: int, parameter: Data, *, configuring: bool
    ) -> Data | None:
        """Run the injected behaviour of method ``index``; refuse if none was injected.

        ``configuring`` methods report CONFIGURATION_CHANGED once the handler succeeded.
        """
        name = self.METHODS[index - 1].name
        if handler is None:
            raise ObjectError(ObjectResult.READ_WRITE_DENIED, f"{self}: {name} is not offered")
        result = handler(parameter)
        if configuring:
            self._notify(ChangeKind.CONFIGURATION_CHANGED, method_index=index, method=name)
        return result

    def _no_attribute(self, index: int) -> ObjectError:
        return ObjectError(ObjectResult.OBJECT_UNAVAILABLE, f"{self}: no attribute {index}")


def _check_declarations(cls: type[CosemObject]) -> None:
    attributes = cls.ATTRIBUTES
    if not attributes or attributes[0] != AttributeDef(1, "logical_name"):
        raise TypeError(f"{cls.__name__}: attribute 1 must be logical_name")
    for declared in (attributes, cls.METHODS):
        indices = [item.index for item in declared]
        if indices != list(range(1, len(indices) + 1)):
            raise TypeError(f"{cls.__name__}: indices must run 1, 2, 3 ... in order")


# ----------------------------------------------------------------------------- value checks

_D = TypeVar("_D", bound=Data)


def expect(value: Data, kind: type[_D], what: str) -> _D:
    """``value`` if it is exactly of type ``kind``, else a TYPE_UNMATCHED refusal."""
    if type(value) is not kind:
        raise ObjectError(
            ObjectResult.TYPE_UNMATCHED,
            f"{what} must be {kind.__name__}, got {type(value).__name__}",
        )
    return value


def expect_structure(value: Data, size: int, what: str) -> tuple[Data, ...]:
    """The items of a structure of exactly ``size`` elements, else TYPE_UNMATCHED."""
    items = expect(value, Structure, what).items
    if len(items) != size:
        raise ObjectError(
            ObjectResult.TYPE_UNMATCHED, f"{what} must have {size} elements, got {len(items)}"
        )
    return items


def expect_octet_string(value: Data, what: str, *, size: int) -> bytes:
    """The octets of an octet-string of exactly ``size`` octets, else TYPE_UNMATCHED."""
    raw = expect(value, OctetString, what).value
    if len(raw) != size:
        raise ObjectError(ObjectResult.TYPE_UNMATCHED, f"{what} must be an octet-string({size})")
    return raw


IntegerData = (
    Integer
    | Long
    | DoubleLong
    | Long64
    | Unsigned
    | LongUnsigned
    | DoubleLongUnsigned
    | Long64Unsigned
    | Enum
)
"""The A-XDR data types that carry an integer ``value``."""


def expect_integer(
    value: Data,
    kind: type[IntegerData],
    what: str,
    *,
    low: int | None = None,
    high: int | None = None,
) -> int:
    """The number in a value of exactly type ``kind``, optionally checked against a range."""
    number = expect(value, kind, what).value
    if low is not None and high is not None:
        expect_in_range(number, low, high, what)
    return number


def expect_in_range(number: int, low: int, high: int, what: str) -> int:
    if not low <= number <= high:
        raise ObjectError(
            ObjectResult.OTHER_REASON, f"{what} must be within {low}..{high}, got {number}"
        )
    return number


def expect_no_parameter(parameter: Data, what: str) -> None:
    """Methods "without" data take integer(0); null-data is accepted as well."""
    if parameter == Integer(0) or type(parameter) is NullData:
        return
    raise ObjectError(ObjectResult.TYPE_UNMATCHED, f"{what} takes integer(0) as its parameter")
