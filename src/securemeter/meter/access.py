"""Rights of one client role over the meter's objects, and the checks made before any
GET, SET or ACTION reaches an object.

A role sees only the objects it has some right on; an object it cannot see answers
``object-undefined`` exactly like one that does not exist, so a role cannot probe what
others may reach. Rights are resolved once per role into plain dicts (the hot path is a
dict lookup).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from securemeter.codec.obis import Obis
from securemeter.cosem.association_ln import ObjectListEntry
from securemeter.cosem.base import AttributeAccess, CosemObject, MethodAccess

ALL = -1  # in a grant: every attribute (or method) of the object


@dataclass(frozen=True, slots=True)
class Grant:
    """Rights on one object (``logical_name``) or on every object (``None``)."""

    logical_name: Obis | None
    read: frozenset[int] = frozenset()
    write: frozenset[int] = frozenset()
    methods: frozenset[int] = frozenset()
    deny: frozenset[int] = frozenset()  # attributes never granted (e.g. a secret)


@dataclass(frozen=True, slots=True)
class ObjectRights:
    attributes: Mapping[int, AttributeAccess]
    methods: Mapping[int, MethodAccess]

    def can_read(self, index: int) -> bool:
        access = self.attributes.get(index)
        return access is not None and access.can_read

    def can_write(self, index: int) -> bool:
        access = self.attributes.get(index)
        return access is not None and access.can_write

    def can_invoke(self, index: int) -> bool:
        return self.methods.get(index, MethodAccess.NO_ACCESS) is not MethodAccess.NO_ACCESS


# Attributes no role may ever read, whatever a grant says: (class_id, attribute index).
NEVER_READABLE = frozenset({(15, 7)})  # Association LN secret


@dataclass(slots=True)
class RoleRights:
    """The resolved rights of one role over one logical device's objects."""

    objects: dict[Obis, ObjectRights] = field(default_factory=dict)

    def for_object(self, logical_name: Obis) -> ObjectRights | None:
        return self.objects.get(logical_name)

    def object_list(self, objects: Mapping[Obis, CosemObject]) -> list[ObjectListEntry]:
        """The object_list of this role's Association LN: visible objects, real rights."""
        entries = []
        for logical_name, rights in self.objects.items():
            obj = objects[logical_name]
            entries.append(
                ObjectListEntry(
                    class_id=obj.CLASS_ID,
                    version=obj.VERSION,
                    logical_name=logical_name,
                    attribute_access=tuple(
                        (
                            attribute.index,
                            rights.attributes.get(attribute.index, AttributeAccess.NO_ACCESS),
                            attribute.selectors or None,
                        )
                        for attribute in obj.ATTRIBUTES
                    ),
                    method_access=tuple(
                        (method.index, rights.methods.get(method.index, MethodAccess.NO_ACCESS))
                        for method in obj.METHODS
                    ),
                )
            )
        return entries


def resolve_rights(
    grants: Iterable[Grant],
    objects: Mapping[Obis, CosemObject],
    *,
    authenticated: bool,
) -> RoleRights:
    """Turn a role's grants into per-object rights; objects without any right are invisible.

    ``authenticated`` picks the access modes shown in the object list (the authenticated_*
    variants for roles that authenticate).
    """
    reads: dict[Obis, set[int]] = {}
    writes: dict[Obis, set[int]] = {}
    methods: dict[Obis, set[int]] = {}
    denied: dict[Obis, set[int]] = {}
    for grant in grants:
        targets = objects.keys() if grant.logical_name is None else (grant.logical_name,)
        for logical_name in targets:
            obj = objects.get(logical_name)
            if obj is None:
                raise KeyError(f"grant names unknown object {logical_name}")
            attribute_indices = {attribute.index for attribute in obj.ATTRIBUTES}
            method_indices = {method.index for method in obj.METHODS}
            reads.setdefault(logical_name, set()).update(_expand(grant.read, attribute_indices))
            writes.setdefault(logical_name, set()).update(_expand(grant.write, attribute_indices))
            methods.setdefault(logical_name, set()).update(_expand(grant.methods, method_indices))
            denied.setdefault(logical_name, set()).update(grant.deny)
    rights = RoleRights()
    for logical_name, obj in objects.items():
        readable = reads.get(logical_name, set()) - denied.get(logical_name, set())
        readable = {i for i in readable if (obj.CLASS_ID, i) not in NEVER_READABLE}
        writable = writes.get(logical_name, set()) - denied.get(logical_name, set())
        invocable = methods.get(logical_name, set())
        if not (readable or writable or invocable):
            continue
        attributes = {
            index: _attribute_mode(index in readable, index in writable, authenticated)
            for index in readable | writable
        }
        method_modes = {
            index: MethodAccess.AUTHENTICATED_ACCESS if authenticated else MethodAccess.ACCESS
            for index in invocable
        }
        rights.objects[logical_name] = ObjectRights(
            MappingProxyType(attributes), MappingProxyType(method_modes)
        )
    return rights


def _expand(indices: frozenset[int], available: set[int]) -> set[int]:
    if ALL in indices:
        return set(available)
    unknown = indices - available
    if unknown:
        raise KeyError(f"no such attribute or method: {sorted(unknown)}")
    return set(indices)


def _attribute_mode(read: bool, write: bool, authenticated: bool) -> AttributeAccess:
    if read and write:
        mode = AttributeAccess.READ_AND_WRITE
    elif write:
        mode = AttributeAccess.WRITE_ONLY
    else:
        mode = AttributeAccess.READ_ONLY
    return AttributeAccess(mode + 3) if authenticated else mode
