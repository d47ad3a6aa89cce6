"""GET, SET and ACTION execution for one association: rights first, then the object.

Every refusal is a standard result: an object the role cannot see is ``object-undefined``
(as if it did not exist), a class id that does not match is ``object-class-inconsistent``,
a missing right is ``read-write-denied``, and an object's own refusal is passed on as its
``ObjectResult``. An unexpected failure inside an object is logged and answered
``hardware-fault``: it never takes the meter down.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from securemeter.apdu.action import (
    ActionRequestNormal,
    ActionResponseNormal,
    ActionResponseWithList,
)
from securemeter.apdu.common import CosemAttributeDescriptor, SelectiveAccess
from securemeter.apdu.enums import ActionResult, DataAccessResult
from securemeter.apdu.get import (
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithList,
)
from securemeter.apdu.set import (
    SetRequestNormal,
    SetRequestWithList,
    SetResponseNormal,
    SetResponseWithList,
)
from securemeter.codec.axdr import Data, Integer
from securemeter.codec.obis import Obis
from securemeter.cosem.base import AccessSelection, CosemObject, ObjectError
from securemeter.meter.access import ObjectRights, RoleRights
from securemeter.session.events import ServiceRequest, ServiceResponse

log = logging.getLogger("securemeter.meter")


@dataclass(frozen=True, slots=True)
class Executed:
    """What a state-changing request did, for the logs."""

    service: str  # "set" or "action"
    logical_name: Obis
    index: int
    result: int  # DataAccessResult or ActionResult code


class Dispatcher:
    """Executes requests against one association's view of the device."""

    def __init__(
        self,
        objects: Mapping[Obis, CosemObject],
        rights: RoleRights,
        *,
        on_executed: Callable[[Executed], None] | None = None,
    ) -> None:
        self._objects = objects
        self._rights = rights
        self._on_executed = on_executed

    def execute(self, request: ServiceRequest) -> ServiceResponse:
        invoke = request.invoke_id_and_priority
        if isinstance(request, GetRequestNormal):
            return GetResponseNormal(invoke, self._get(request.attribute, request.access_selection))
        if isinstance(request, GetRequestWithList):
            return GetResponseWithList(
                invoke,
                tuple(self._get(attribute, selection) for attribute, selection in request.items),
            )
        if isinstance(request, SetRequestNormal):
            return SetResponseNormal(
                invoke, self._set(request.attribute, request.access_selection, request.value)
            )
        if isinstance(request, SetRequestWithList):
            return SetResponseWithList(
                invoke,
                tuple(
                    self._set(attribute, selection, value)
                    for (attribute, selection), value in zip(
                        request.items, request.values, strict=True
                    )
                ),
            )
        if isinstance(request, ActionRequestNormal):
            result, data = self._action(
                request.method.class_id,
                request.method.instance_id,
                request.method.method_id,
                request.parameter,
            )
            return ActionResponseNormal(invoke, result, data)
        results = tuple(
            self._action(method.class_id, method.instance_id, method.method_id, parameter)
            for method, parameter in zip(request.methods, request.parameters, strict=True)
        )
        return ActionResponseWithList(invoke, results)

    def _lookup(
        self, class_id: int, logical_name: Obis
    ) -> tuple[CosemObject, ObjectRights] | DataAccessResult:
        rights = self._rights.for_object(logical_name)
        obj = self._objects.get(logical_name)
        if rights is None or obj is None:
            return DataAccessResult.OBJECT_UNDEFINED
        if class_id != obj.CLASS_ID:
            return DataAccessResult.OBJECT_CLASS_INCONSISTENT
        return obj, rights

    def _get(
        self, attribute: CosemAttributeDescriptor, selection: SelectiveAccess | None
    ) -> Data | DataAccessResult:
        found = self._lookup(attribute.class_id, attribute.instance_id)
        if isinstance(found, DataAccessResult):
            return found
        obj, rights = found
        if not rights.can_read(attribute.attribute_id):
            return DataAccessResult.READ_WRITE_DENIED
        access = (
            None if selection is None else AccessSelection(selection.selector, selection.parameters)
        )
        try:
            return obj.get_attribute(attribute.attribute_id, access)
        except ObjectError as exc:
            return DataAccessResult(exc.result)
        except Exception:
            log.exception("GET %s attribute %d failed", obj, attribute.attribute_id)
            return DataAccessResult.HARDWARE_FAULT

    def _set(
        self,
        attribute: CosemAttributeDescriptor,
        selection: SelectiveAccess | None,
        value: Data,
    ) -> DataAccessResult:
        found = self._lookup(attribute.class_id, attribute.instance_id)
        if isinstance(found, DataAccessResult):
            return found
        obj, rights = found
        if not rights.can_write(attribute.attribute_id):
            result = DataAccessResult.READ_WRITE_DENIED
        elif selection is not None:
            result = DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
        else:
            try:
                obj.set_attribute(attribute.attribute_id, value)
                result = DataAccessResult.SUCCESS
            except ObjectError as exc:
                result = DataAccessResult(exc.result)
            except Exception:
                log.exception("SET %s attribute %d failed", obj, attribute.attribute_id)
                result = DataAccessResult.HARDWARE_FAULT
        self._report("set", attribute.instance_id, attribute.attribute_id, result)
        return result

    def _action(
        self, class_id: int, logical_name: Obis, method_id: int, parameter: Data | None
    ) -> tuple[ActionResult, Data | None]:
        found = self._lookup(class_id, logical_name)
        if isinstance(found, DataAccessResult):
            result = ActionResult(found)
            self._report("action", logical_name, method_id, result)
            return result, None
        obj, rights = found
        data: Data | None = None
        if not rights.can_invoke(method_id):
            result = ActionResult.READ_WRITE_DENIED
        else:
            try:
                # Methods "without" a parameter are invoked with integer(0) (Green Book).
                argument = parameter if parameter is not None else Integer(0)
                data = obj.invoke_method(method_id, argument)
                result = ActionResult.SUCCESS
            except ObjectError as exc:
                result = ActionResult(exc.result)
            except Exception:
                log.exception("ACTION %s method %d failed", obj, method_id)
                result = ActionResult.HARDWARE_FAULT
        self._report("action", logical_name, method_id, result)
        return result, data

    def _report(self, service: str, logical_name: Obis, index: int, result: int) -> None:
        if self._on_executed is not None:
            self._on_executed(Executed(service, logical_name, index, int(result)))
