"""PATCH of an approval: JSON Patch (RFC 6902) operations on the approval document, with the
contract's paths, rights (rule 8) and error codes.

The operations apply to a copy of the document, all or none: the caller gets either the new
document or an error, never a half-patched approval.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from approval_core.domain.errors import (
    InvalidPatchOperation,
    InvalidStatusValue,
    NoPermission,
    PatchPathNotSupported,
    StatusChangeNotAllowed,
    excerpt,
)
from approval_core.domain.models import Status


class Op(StrEnum):
    ADD = "add"
    REMOVE = "remove"
    REPLACE = "replace"


class Role(StrEnum):
    REQUESTOR = "requestor"
    APPROVER = "approver"


@dataclass(frozen=True)
class Operation:
    op: Op
    pointer: tuple[str, ...]
    value: Any = None

    @property
    def path(self) -> str:
        return "/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in self.pointer)


# Rule 8: who may change what. A path is patchable when it is one of these or lies below one.
# Both participants may move the delivery window: the storefront offers that edit to the approver.
DELIVERY_WINDOW = ("resource", "deliveryWindow")
REQUESTOR_PATHS = (("comment",), ("details",), DELIVERY_WINDOW)
APPROVER_PATHS = (("status",), ("approverComment",), DELIVERY_WINDOW)
STATUSES_THE_APPROVER_SETS = frozenset({Status.APPROVED, Status.DECLINED})
# The requestor's PATCH to CLOSED is the same change as a DELETE (rule 10).
STATUSES_THE_REQUESTOR_SETS = frozenset({Status.CLOSED})
ARRAY_INDEX = re.compile(r"0|[1-9][0-9]{0,8}")


def parse_operations(body: Any) -> list[Operation]:
    """The operations of a PATCH body (APPROVAL-400010 for a malformed one).

    A single operation object not wrapped in an array is taken as a one-element array, and ``op``
    is read in any letter case: live storefronts send both.
    """
    raw_operations = [body] if isinstance(body, dict) else body
    if not isinstance(raw_operations, list) or not raw_operations:
        raise InvalidPatchOperation("The body must be a non-empty array of patch operations")
    return [_operation(index, raw) for index, raw in enumerate(raw_operations)]


def _operation(index: int, raw: Any) -> Operation:
    where = f"operation {index}"
    if not isinstance(raw, dict):
        raise InvalidPatchOperation(f"{where}: must be an object with op and path")
    op, path = raw.get("op"), raw.get("path")
    if not isinstance(op, str) or op.lower() not in Op.__members__.values():
        raise InvalidPatchOperation(f"{where}: op must be ADD, REMOVE or REPLACE")
    if not isinstance(path, str) or not path.startswith("/") or path == "/":
        raise InvalidPatchOperation(f"{where}: path must be a JSON pointer such as /status")
    operation = Op(op.lower())
    if operation is not Op.REMOVE and "value" not in raw:
        raise InvalidPatchOperation(f"{where}: {operation.upper()} {path} needs a value")
    pointer = tuple(part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/"))
    return Operation(op=operation, pointer=pointer, value=raw.get("value"))


def check_paths(operations: list[Operation]) -> None:
    """APPROVAL-400007 for a path that is not patchable at all (``remove /status`` included)."""
    for operation in operations:
        if not _under(operation.pointer, REQUESTOR_PATHS + APPROVER_PATHS):
            raise PatchPathNotSupported(f"{excerpt(operation.path)} cannot be patched")
        if operation.pointer == ("status",) and operation.op is Op.REMOVE:
            raise PatchPathNotSupported("/status cannot be removed")


def rule_8_check_rights(operations: list[Operation], role: Role) -> None:
    """Rule 8: the requestor changes /comment, /details... and /resource/deliveryWindow...; the
    approver changes /status (to APPROVED or DECLINED), /approverComment and
    /resource/deliveryWindow...; the status is checked by ``rule_8_new_status``."""
    for operation in operations:
        if operation.pointer == ("status",):
            continue  # a status change by the wrong participant is a transition error (400002)
        allowed = REQUESTOR_PATHS if role is Role.REQUESTOR else APPROVER_PATHS
        if not _under(operation.pointer, allowed):
            raise NoPermission(f"The {role} cannot change {excerpt(operation.path)}")


def rule_8_new_status(operations: list[Operation], role: Role) -> Status | None:
    """The status the operations set, if any (APPROVAL-400003 for an unknown value,
    APPROVAL-400002 for a change rule 8 does not allow): the approver sets APPROVED or DECLINED,
    the requestor CLOSED."""
    allowed = STATUSES_THE_APPROVER_SETS if role is Role.APPROVER else STATUSES_THE_REQUESTOR_SETS
    values = [operation.value for operation in operations if operation.pointer == ("status",)]
    for value in values:  # every value first: the contract ranks 400003 before 400002
        if value not in Status.__members__.values():
            raise InvalidStatusValue(f"{excerpt(str(value))} is not an approval status")
    for status in map(Status, values):
        if status not in allowed:
            raise StatusChangeNotAllowed(f"The {role} cannot change the status to {status}")
    return Status(values[-1]) if values else None


# Rules 16 and 17: the order an approved checkout created, set once, in a PATCH of its own.
CREATED_RESOURCE = ("createdResource",)


def records_order(body: Any) -> bool:
    """Whether a PATCH body sets ``/createdResource`` (however else it is malformed)."""
    try:
        operations = parse_operations(body)
    except InvalidPatchOperation:
        return False
    return any(operation.pointer[:1] == CREATED_RESOURCE for operation in operations)


def created_resource(operations: list[Operation]) -> Any:
    """The value of the one ``add /createdResource`` operation (APPROVAL-400010 for anything
    else: it is set once, whole, and alone, so that recording an order changes nothing else)."""
    if len(operations) != 1 or operations[0].pointer != CREATED_RESOURCE or operations[0].op is not Op.ADD:
        raise InvalidPatchOperation("/createdResource is set by a single ADD operation with the value {id}")
    return operations[0].value


def closes(body: Any) -> bool:
    """Whether a PATCH body asks to set the status to CLOSED (however else it is malformed)."""
    try:
        operations = parse_operations(body)
    except InvalidPatchOperation:
        return False
    return any(
        operation.pointer == ("status",) and operation.op is not Op.REMOVE and operation.value == Status.CLOSED
        for operation in operations
    )


def apply(document: dict[str, Any], operations: list[Operation]) -> dict[str, Any]:
    """A patched copy of ``document`` (APPROVAL-400010 when a target does not exist)."""
    patched = copy.deepcopy(document)
    for operation in operations:
        parent = _parent(patched, operation)
        key = operation.pointer[-1]
        if isinstance(parent, dict):
            _apply_to_object(parent, key, operation)
        elif isinstance(parent, list):
            _apply_to_array(parent, key, operation)
        else:
            raise InvalidPatchOperation(f"{excerpt(operation.path)}: the parent is not an object or an array")
    return patched


def _parent(document: dict[str, Any], operation: Operation) -> Any:
    node: Any = document
    for depth, part in enumerate(operation.pointer[:-1]):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and (index := _index(part, len(node))) is not None:
            node = node[index]
        else:
            missing = "/" + "/".join(operation.pointer[: depth + 1])
            raise InvalidPatchOperation(f"{excerpt(operation.path)}: {excerpt(missing)} does not exist")
    return node


def _apply_to_object(parent: dict[str, Any], key: str, operation: Operation) -> None:
    if operation.op is not Op.ADD and key not in parent:
        raise InvalidPatchOperation(
            f"{operation.op.upper()} {excerpt(operation.path)}: the member does not exist; use ADD"
        )
    if operation.op is Op.REMOVE:
        del parent[key]
    else:
        parent[key] = copy.deepcopy(operation.value)


def _apply_to_array(parent: list[Any], key: str, operation: Operation) -> None:
    if operation.op is Op.ADD:
        index = len(parent) if key == "-" else _index(key, len(parent) + 1)
        if index is None:
            raise InvalidPatchOperation(f"ADD {excerpt(operation.path)}: index out of range")
        parent.insert(index, copy.deepcopy(operation.value))
        return
    index = _index(key, len(parent))
    if index is None:
        raise InvalidPatchOperation(f"{operation.op.upper()} {excerpt(operation.path)}: index out of range")
    if operation.op is Op.REMOVE:
        del parent[index]
    else:
        parent[index] = copy.deepcopy(operation.value)


def _index(part: str, size: int) -> int | None:
    """An RFC 6901 array index below ``size`` (no sign, no leading zeros), else None."""
    if not ARRAY_INDEX.fullmatch(part):
        return None
    index = int(part)
    return index if index < size else None


def _under(pointer: tuple[str, ...], prefixes: tuple[tuple[str, ...], ...]) -> bool:
    return any(pointer[: len(prefix)] == prefix for prefix in prefixes)
