"""Per API call: DynamoDB requests and capacity units (section 1) and the warm overhead of the
function over the same DynamoDB requests made directly with boto3 (section 3)."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore import xform_name

from approval_core.domain.bulk import MAX_BULK_APPROVALS
from bench.capacity import Cost, key_text
from bench.harness import Functions, LambdaContext
from bench.report import Section, verdict
from bench.world import APPROVER, REQUESTOR, TENANT, bulk_approvals, pending_approvals

CREATE_BODY = {
    "resourceType": "CART",
    "action": "CHECKOUT",
    "approver": {"userId": APPROVER},
    "comment": "Drills for the new site, please approve",
    "details": {
        "currency": "EUR",
        "shipping": {"zoneId": "eu", "methodId": "standard", "amount": 4.9, "methodName": "Standard"},
        "addresses": [
            {
                "contactName": "Req Bench",
                "street": "Main Street",
                "streetNumber": "1",
                "zipCode": "10115",
                "city": "Berlin",
                "country": "DE",
                "type": "SHIPPING",
            }
        ],
    },
}
# The participants' copies exist so that a list page is one Query: the floor writes only the
# approval (and, for a status change, the resource's lock, which rule 5 needs).
COPIES = frozenset({"copy"})


@dataclass
class Endpoint:
    label: str
    function: str
    request: dict[str, Any]
    floor: int
    floor_why: str
    target: int | None = None
    warm_target: float | None = None
    stable: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # items it writes
    # Section 3 times each call against its replay; a bulk decision's 51 requests per round
    # would make that the longest part of the run and tell nothing the single PATCH does not.
    timed: bool = True


@dataclass(frozen=True)
class Timing:
    function_ms: float
    direct_ms: float
    overhead_ms: float  # median of each invocation's time less its replay's

    @property
    def ratio(self) -> float:
        return self.function_ms / self.direct_ms if self.direct_ms else float("nan")


def endpoints(functions: Functions) -> list[Endpoint]:
    """Approvals for the reads and changes, made by the create function itself: ``req`` asks
    ``admin``; cart ``cart-req-7`` stays free for the create measurement."""
    ids = [
        functions.call(
            "CreateApprovalFunction", expect=201, user=REQUESTOR, body={**CREATE_BODY, "resourceId": f"cart-req-{n}"}
        )
        for n in range(6)
    ]
    first, second, third = (str(json.loads(r["body"])["id"]) for r in ids[:3])
    cart = {"resourceType": "CART", "resourceId": "cart-req-0", "action": "CHECKOUT"}
    free_cart = {**cart, "resourceId": "cart-req-7"}
    approve = [{"op": "REPLACE", "path": "/status", "value": "APPROVED"}]
    decided = pending_approvals(MAX_BULK_APPROVALS, REQUESTOR, APPROVER)
    functions.store().load(TENANT, decided)
    bulk = {"approvalIds": [approval.id for approval in decided], "status": "APPROVED", "approverComment": "Go ahead"}
    return [
        Endpoint(
            "GET approval",
            "GetApprovalFunction",
            {"user": REQUESTOR, "approval_id": first},
            floor=1,
            floor_why="GetItem of the approval",
            target=1,
            warm_target=1.3,
        ),
        Endpoint(
            "POST permitted",
            "CheckPermittedFunction",
            {"user": REQUESTOR, "body": cart},
            floor=1,
            floor_why="one BatchGetItem over both tables: customer, cart, lock",
            target=1,
        ),
        Endpoint(
            "PATCH (edit comment)",
            "UpdateApprovalFunction",
            {"user": REQUESTOR, "approval_id": first, "body": [{"op": "ADD", "path": "/comment", "value": "x"}]},
            floor=2,
            floor_why="read the approval, conditional write",
            target=2,
        ),
        Endpoint(
            "PATCH (approve)",
            "UpdateApprovalFunction",
            {"user": APPROVER, "approval_id": second, "body": approve},
            floor=2,
            floor_why="read the approval, write it and the lock",
            target=2,
        ),
        Endpoint(
            "DELETE approval",
            "CloseApprovalFunction",
            {"user": REQUESTOR, "approval_id": third},
            floor=2,
            floor_why="read the approval, write it and the lock",
            target=2,
        ),
        Endpoint(
            f"POST bulk (approve {MAX_BULK_APPROVALS})",
            "DecideApprovalsFunction",
            {"user": APPROVER, "body": bulk},
            floor=1 + MAX_BULK_APPROVALS,
            floor_why="one BatchGetItem of all the approvals, then each one's conditional write and lock",
            target=1 + MAX_BULK_APPROVALS,
            timed=False,
        ),
        Endpoint(
            "POST create",
            "CreateApprovalFunction",
            {"user": REQUESTOR, "body": {**CREATE_BODY, "resourceId": "cart-req-7"}},
            floor=2,
            floor_why="BatchGetItem (customers, cart), one transaction",
            target=3,
            warm_target=1.5,
        ),
        Endpoint(
            "POST search users",
            "SearchUsersFunction",
            {"user": REQUESTOR, "body": free_cart},
            floor=2,
            floor_why="BatchGetItem (customer, cart), then Query of the members",
            target=2,
        ),
        Endpoint(
            "GET list (first page)",
            "ListApprovalsFunction",
            {"user": REQUESTOR},
            floor=1,
            floor_why="one Query of the caller's partition",
            target=1,
        ),
    ]


# --------------------------------------------------------------------------- section 1
def measure_costs(functions: Functions, points: list[Endpoint], sweep_size: int) -> Section:
    section = Section(
        "1. DynamoDB per API call: requests (measured) and capacity units (computed from item sizes)",
        ["call", "requests", "floor", "target", "", "RCU", "floor RCU", "WCU", "floor WCU", "items read", "moto CU"],
    )
    for point in points:
        with functions.recording() as recorder:
            response = functions.call(point.function, **point.request)
        if response["statusCode"] >= 300:
            raise RuntimeError(f"{point.label} answered {response['statusCode']}: {response.get('body')}")
        point.stable = [(table, key) for table, key, _ in recorder.written]
        before: dict[str, Any] = {}
        for table, key, item in recorder.written:  # the first write of an item saw it as it was
            before.setdefault(_text(table, key), item)
        functions.restore(before, point.stable)
        cost, floor = Cost.of(recorder.calls), Cost.of(recorder.calls, without=COPIES)
        section.add(
            point.label,
            cost.requests,
            point.floor,
            _le(point.target),
            verdict(cost.requests, point.target),
            cost.reads,
            floor.reads,
            cost.writes,
            floor.writes,
            cost.items_read,
            cost.reported,
        )
    _sweep_cost(functions, section, sweep_size)
    section.notes += [
        "requests: counted with a botocore before-call hook on the functions' client; floor: one request per "
        "item group the call must touch (" + "; ".join(f"{p.label}: {p.floor_why}" for p in points) + ")",
        "RCU/WCU: computed by DynamoDB's rules from the sizes of the items each request read or wrote "
        "(strongly consistent reads 1 per 4 KB, index queries 0.5, writes 1 per 1 KB of the larger of before/after, "
        "transactions x2, index entries written at the standard rate); floor RCU/WCU: the same items without the "
        "participants' copies (a transaction left with one item priced as a plain conditional write)",
        "moto CU: what moto answers to ReturnConsumedCapacity=TOTAL: constants per operation (0.5 GetItem, "
        "1 per BatchGetItem key, 1 Query, nothing for transactions), not item sizes: shown, not used",
    ]
    return section


def _sweep_cost(functions: Functions, section: Section, size: int) -> None:
    approvals, _ = bulk_approvals(size, overdue=size, list_sizes=())
    functions.store().load("sweep", approvals)
    with functions.recording() as recorder:
        result = functions.invoke(
            "ExpireApprovalsFunction", functions.event("ExpireApprovalsFunction", user=""), LambdaContext(120_000)
        )
    expired = max(1, int(result["expired"]))
    cost, floor = Cost.of(recorder.calls), Cost.of(recorder.calls, without=COPIES)
    section.add(
        f"expiry sweep, per approval expired ({expired} expired)",
        cost.requests / expired,
        (expired + 1) / expired,
        "—",
        "—",
        cost.reads / expired,
        floor.reads / expired,
        cost.writes / expired,
        floor.writes / expired,
        cost.items_read / expired,
        cost.reported / expired,
    )


# --------------------------------------------------------------------------- section 3
def measure_warm(functions: Functions, points: list[Endpoint], iterations: int, warmup: int) -> Section:
    direct = boto3.client("dynamodb", endpoint_url=functions.endpoint, region_name="us-east-1")
    section = Section(
        "3. Warm overhead: function invocation in-process vs the same DynamoDB requests made directly",
        ["call", "function ms", "direct boto3 ms", "ratio", "target", "", "overhead ms"],
    )
    for point in (point for point in points if point.timed):
        timing = _time(functions, point, direct, iterations, warmup)
        target = f"≤ {point.warm_target}x" if point.warm_target else "—"
        section.add(
            point.label,
            timing.function_ms,
            timing.direct_ms,
            f"{timing.ratio:.2f}x",
            target,
            verdict(timing.ratio, point.warm_target),
            timing.overhead_ms,
        )
    section.notes += [
        f"medians of {iterations} invocations after {warmup} warm-up ones; each invocation's requests (recorded by "
        "reference with a provide-client-params hook) are replayed with a plain boto3 client against the same "
        "server right after it, with the items it wrote put back before each (untimed), so both run on the same state",
        "the DynamoDB server (moto, local mode's embedded engine) runs in a process of its own; its time is in both, "
        "and it is slow (a Query reads every item of the table): the ratios are lower than against DynamoDB, where a "
        "request takes a few ms; overhead ms (median of each invocation less its replay) is the function's own time",
    ]
    return section


def _time(functions: Functions, point: Endpoint, direct: Any, iterations: int, warmup: int) -> Timing:
    function_times: list[float] = []
    direct_times: list[float] = []
    event = functions.event(point.function, **point.request)
    for round_ in range(warmup + iterations):
        snapshot = functions.snapshot(point.stable)
        with functions.logging_requests() as log:
            started = time.perf_counter()
            response = functions.invoke(point.function, event)
            function_time = time.perf_counter() - started
        if response["statusCode"] >= 300:
            raise RuntimeError(f"{point.label} answered {response['statusCode']}: {response.get('body')}")
        written = functions.written(log)
        functions.restore(snapshot, written)
        calls: list[Callable[..., Any]] = [getattr(direct, xform_name(operation)) for operation, _ in log]
        started = time.perf_counter()
        for call, (_, params) in zip(calls, log, strict=True):
            call(**params)
        direct_time = time.perf_counter() - started
        functions.restore(snapshot, written)
        if round_ >= warmup:
            function_times.append(function_time)
            direct_times.append(direct_time)
    return Timing(
        statistics.median(function_times) * 1000,
        statistics.median(direct_times) * 1000,
        statistics.median(f - d for f, d in zip(function_times, direct_times, strict=True)) * 1000,
    )


def _le(target: int | None) -> str:
    return "—" if target is None else f"≤ {target}" if target > 1 else str(target)


def _text(table: str, key: dict[str, Any]) -> str:
    return key_text({"table": table, **key})
