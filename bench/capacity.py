"""DynamoDB requests and capacity units of what a function does, from botocore event hooks on its
client.

Requests are counted (``before-call``). Capacity is asked for (``ReturnConsumedCapacity: TOTAL``
is added to every request) and what the server answers is kept, but moto answers constants (0.5
for a GetItem, 1 for a Query or a BatchWriteItem, one per key for a BatchGetItem, nothing for a
transaction), not units computed from item sizes. So the units reported are computed here from
the sizes of the items each request read or wrote, by DynamoDB's published rules:

* item size: attribute names plus values (strings in UTF-8 bytes, numbers about one byte per two
  significant digits plus one, 1 byte for booleans and nulls, 3 bytes per list or map plus 1 per
  element);
* reads: 4 KB units; GetItem and each item of a BatchGetItem rounded up on their own, a Query's
  items summed then rounded up; strongly consistent 1 unit, eventually consistent (every index
  query) 0.5; at least one unit per item asked for, found or not;
* writes: 1 KB units of the larger of the item before and after; transactional reads and writes
  cost twice; a global secondary index is written when its entry appears, changes or disappears
  (one write for its entry, a delete and a put when its key changes), at the standard rate.

To know the item before a write, the recorder reads it with a client of its own (not counted)
before the function's request goes out; so recording is for counting, never for timing.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from approval_core.adapters.item_limits import item_size

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

READ_UNIT = 4096
WRITE_UNIT = 1024
Key = dict[str, Any]
Item = dict[str, Any]


# --------------------------------------------------------------------------- tables
@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple[str, ...]
    projected: tuple[str, ...] | None  # None: ALL


@dataclass(frozen=True)
class TableShape:
    keys: tuple[str, ...]
    indexes: tuple[Index, ...] = ()

    @classmethod
    def from_definition(cls, definition: Mapping[str, Any]) -> TableShape:
        indexes = []
        for index in definition.get("GlobalSecondaryIndexes", []):
            projection = index.get("Projection", {})
            kind = projection.get("ProjectionType", "ALL")
            projected = None if kind == "ALL" else tuple(projection.get("NonKeyAttributes", []))
            indexes.append(Index(index["IndexName"], tuple(k["AttributeName"] for k in index["KeySchema"]), projected))
        return cls(tuple(k["AttributeName"] for k in definition["KeySchema"]), tuple(indexes))

    def key_of(self, item: Mapping[str, Any]) -> Key:
        return {name: item[name] for name in self.keys}

    def index_entry(self, index: Index, item: Mapping[str, Any] | None) -> Item | None:
        if not item or any(name not in item for name in index.keys):
            return None
        names = set(self.keys) | set(index.keys)
        names |= set(item) if index.projected is None else set(index.projected)
        return {name: item[name] for name in names if name in item}


# --------------------------------------------------------------------------- priced operations
@dataclass
class Touch:
    """One item a request read or wrote (or, for a write, the item before and after)."""

    table: str
    category: str
    kind: str  # "read" | "write"
    size: int = 0
    size_before: int = 0
    consistent: bool = True
    transactional: bool = False
    index_writes: list[int] = field(default_factory=list)  # sizes of index entries written


@dataclass
class Call:
    operation: str
    touches: list[Touch] = field(default_factory=list)
    query_sizes: list[int] = field(default_factory=list)  # a Query's items, rounded up together
    query_consistent: bool = True
    scanned: int = 0
    reported_units: float = 0.0  # what the server said (moto: constants)

    def units(self, without: frozenset[str] = frozenset()) -> tuple[float, float]:
        """(read units, write units), leaving out the items of the categories in ``without``."""
        reads = writes = 0.0
        if self.operation == "Query":
            total = sum(self.query_sizes)
            reads += max(1, math.ceil(total / READ_UNIT)) * (1.0 if self.query_consistent else 0.5)
        kept = [touch for touch in self.touches if touch.category not in without]
        kept_writes = [touch for touch in kept if touch.kind == "write"]
        for touch in kept:
            factor = 2.0 if touch.transactional and len(kept_writes) > 1 else 1.0
            if touch.kind == "read":
                units = max(1, math.ceil(touch.size / READ_UNIT))
                reads += units * (1.0 if touch.consistent else 0.5) * factor
            else:
                writes += max(1, math.ceil(max(touch.size, touch.size_before) / WRITE_UNIT)) * factor
                writes += sum(max(1, math.ceil(size / WRITE_UNIT)) for size in touch.index_writes)
        return reads, writes


def category(key: Mapping[str, Any]) -> str:
    """What an item is, from its key (docs/data-model.md)."""
    partition = str(next(iter(key.get("PK", {}).values()), ""))
    sort = str(next(iter(key.get("SK", {}).values()), ""))
    if sort == "APPROVAL":
        return "approval"
    if sort == "LOCK":
        return "lock"
    if sort.startswith("APPROVAL#"):
        return "copy"
    if sort.startswith("MEMBER#"):
        return "member"
    if "#CART#" in partition:
        return "cart"
    if "#CUSTOMER#" in partition:
        return "customer"
    if "#COMPANY#" in partition:
        return "company"
    return "other"


# --------------------------------------------------------------------------- the recorder
class Recorder:
    """Counts and prices the DynamoDB requests a client makes while it is ``recording()``."""

    def __init__(self, client: DynamoDBClient, probe: DynamoDBClient, shapes: Mapping[str, TableShape]) -> None:
        self._client = client
        self._probe = probe
        self._shapes = shapes
        self.calls: list[Call] = []
        # (table, key, the item before) of every write: what puts the table back as it was.
        self.written: list[tuple[str, Key, Item | None]] = []
        self._params: dict[str, Any] = {}
        self._before: list[tuple[str, Key, Item | None, bool]] = []

    # ------------------------------------------------------------------ hooks
    def _provide(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        params.setdefault("ReturnConsumedCapacity", "TOTAL")
        self._before = [
            (table, key, self._read(table, key), transactional)
            for table, key, transactional in write_targets(model.name, params, self._shapes)
        ]
        self.written.extend((table, key, before) for table, key, before, _ in self._before)
        self.calls.append(Call(model.name))
        self._params = copy.deepcopy(params)

    def _after(self, parsed: Mapping[str, Any], model: Any, **_: Any) -> None:
        call = self.calls[-1]
        params = self._params
        reported = parsed.get("ConsumedCapacity")
        entries = reported if isinstance(reported, list) else [reported] if reported else []
        call.reported_units = sum(float(entry.get("CapacityUnits", 0)) for entry in entries)
        name = model.name
        if name == "GetItem":
            table = params["TableName"]
            item = parsed.get("Item")
            key = params["Key"]
            call.touches.append(
                Touch(table, category(key), "read", item_size(item), 0, bool(params.get("ConsistentRead")))
            )
        elif name == "BatchGetItem":
            found: dict[tuple[str, str], int] = {}
            for table, items in parsed.get("Responses", {}).items():
                for item in items:
                    found[(table, key_text(self._shapes[table].key_of(item)))] = item_size(item)
            for table, request in params["RequestItems"].items():
                for key in request["Keys"]:
                    size = found.get((table, key_text(key)), 0)
                    call.touches.append(
                        Touch(table, category(key), "read", size, 0, bool(request.get("ConsistentRead")))
                    )
        elif name == "Query":
            call.query_sizes = [item_size(item) for item in parsed.get("Items", [])]
            call.query_consistent = bool(params.get("ConsistentRead")) and "IndexName" not in params
            call.scanned = int(parsed.get("ScannedCount", 0))
        for table, key, before, transactional in self._before:
            after = self._read(table, key)
            shape = self._shapes[table]
            index_writes: list[int] = []
            for index in shape.indexes:
                old, new = shape.index_entry(index, before), shape.index_entry(index, after)
                if old == new:
                    continue
                if old and new and all(old[k] == new[k] for k in index.keys):
                    index_writes.append(max(item_size(old), item_size(new)))
                else:
                    index_writes += [item_size(entry) for entry in (old, new) if entry]
            call.touches.append(
                Touch(
                    table,
                    category(key),
                    "write",
                    item_size(after),
                    item_size(before),
                    True,
                    transactional,
                    index_writes,
                )
            )
        self._before = []

    def _read(self, table: str, key: Key) -> Item | None:
        return self._probe.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")

    # ------------------------------------------------------------------ use
    def start(self) -> None:
        self.calls = []
        self.written = []
        events = self._client.meta.events
        events.register("provide-client-params.dynamodb", self._provide)
        events.register("after-call.dynamodb", self._after)

    def stop(self) -> list[Call]:
        events = self._client.meta.events
        events.unregister("provide-client-params.dynamodb", self._provide)
        events.unregister("after-call.dynamodb", self._after)
        return self.calls


def write_targets(
    operation: str, params: Mapping[str, Any], shapes: Mapping[str, TableShape]
) -> Iterator[tuple[str, Key, bool]]:
    """(table, key, transactional) of each item a request writes."""
    if operation == "TransactWriteItems":
        for entry in params["TransactItems"]:
            (kind, op), *_ = entry.items()
            if kind != "ConditionCheck":
                yield _target(op, kind, shapes, transactional=True)
    elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
        yield _target(params, operation.removesuffix("Item"), shapes, transactional=False)
    elif operation == "BatchWriteItem":
        for table, requests in params["RequestItems"].items():
            for request in requests:
                if "PutRequest" in request:
                    yield table, shapes[table].key_of(request["PutRequest"]["Item"]), False
                else:
                    yield table, dict(request["DeleteRequest"]["Key"]), False


def _target(
    op: Mapping[str, Any], kind: str, shapes: Mapping[str, TableShape], transactional: bool
) -> tuple[str, Key, bool]:
    table = op["TableName"]
    key = shapes[table].key_of(op["Item"]) if kind == "Put" else dict(op["Key"])
    return table, key, transactional


def key_text(key: Mapping[str, Any]) -> str:
    return repr(sorted((name, repr(value)) for name, value in key.items()))


@dataclass(frozen=True)
class Cost:
    requests: int
    reads: float
    writes: float
    reported: float
    items_read: int

    @classmethod
    def of(cls, calls: list[Call], without: frozenset[str] = frozenset()) -> Cost:
        reads = writes = 0.0
        for call in calls:
            call_reads, call_writes = call.units(without)
            reads += call_reads
            writes += call_writes
        items_read = sum(
            max(call.scanned, len(call.query_sizes)) + sum(1 for touch in call.touches if touch.kind == "read")
            for call in calls
        )
        return cls(len(calls), reads, writes, sum(call.reported_units for call in calls), items_read)
