"""Scaling (section 4): items read for a list's first page as a customer's history grows, and
items read by the expiry sweep per approval it expires among many that are not due."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bench.capacity import Cost
from bench.dynamo_server import DynamoServer
from bench.harness import Functions, LambdaContext
from bench.report import Section, verdict
from bench.world import TENANT, bulk_approvals, list_user

PAGE_SIZE = 60  # the contract's default page size
SWEEP_TARGET = 1.1
FILTERED_TARGET = 1.1  # items read <= 1.1 x returned + 1
FILTERED: tuple[tuple[str, dict[str, str], dict[str, str]], ...] = (
    ("q=status:PENDING", {"q": "status:PENDING"}, {}),
    ("q=status:PENDING, X-Total-Count", {"q": "status:PENDING"}, {"X-Total-Count": "true"}),
    ("q=status:(PENDING,DECLINED)", {"q": "status:(PENDING,DECLINED)"}, {}),
    ("q=status:(PENDING,DECLINED), X-Total-Count", {"q": "status:(PENDING,DECLINED)"}, {"X-Total-Count": "true"}),
    ("X-Total-Count, no filter", {}, {"X-Total-Count": "true"}),
)


def measure(
    functions: Functions, server: DynamoServer | None, total: int, overdue: int, list_sizes: tuple[int, ...]
) -> Section:
    section = Section(
        "4. Scaling: items read as the data grows",
        ["measurement", "items read", "requests", "floor items", "target", ""],
    )
    started = time.monotonic()
    if server is not None:
        server.load(functions.tables["ApprovalsTable"], TENANT, total, overdue, list_sizes)
        users = {size: list_user(size) for size in list_sizes}
    else:  # another DynamoDB: over its API
        approvals, users = bulk_approvals(total, overdue, list_sizes)
        store = functions.store()
        for start in range(0, total, 10_000):
            store.load(TENANT, approvals[start : start + 10_000])
            print(f"  loaded {min(total, start + 10_000):,} of {total:,} approvals", file=sys.stderr, flush=True)
    load_seconds = time.monotonic() - started

    first_page: list[int] = []
    for size in list_sizes:
        cost = _list(functions, users[size], {})
        first_page.append(cost.items_read)
        floor = min(size, PAGE_SIZE)
        section.add(
            f"list, first page, user with {size:,} approvals",
            cost.items_read,
            cost.requests,
            floor,
            f"≤ {floor}",
            verdict(cost.items_read, floor),
        )
    # Filtered lists and counts, answered from status keys: items read against what the page returns.
    flat_filtered: dict[str, list[int]] = {}
    # A warm container: its first keyed list reads the table's status-keys marker once.
    _list(functions, users[min(list_sizes)], {"q": "status:PENDING"})
    for label, query, headers in FILTERED:
        for size in list_sizes:
            cost = _list(functions, users[size], query, headers)
            returned = cost.returned
            bound = FILTERED_TARGET * returned + 1
            flat_filtered.setdefault(label, []).append(cost.items_read)
            section.add(
                f"list, {size:,} approvals, {label}: {returned} returned",
                cost.items_read,
                cost.requests,
                returned,
                f"≤ {bound:g}",
                verdict(cost.items_read, bound),
            )

    # Not the recorder: its reads of every written item would make the sweep slower for nothing.
    scanned: list[int] = []
    requests: list[str] = []
    events = functions.client.meta.events

    def count(parsed: Mapping[str, Any], **_: Any) -> None:
        scanned.append(int(parsed.get("ScannedCount", 0)))

    def request(model: Any, **_: Any) -> None:
        requests.append(model.name)

    events.register("after-call.dynamodb.Query", count)
    events.register("before-call.dynamodb", request)
    try:
        started = time.monotonic()
        result = functions.invoke(
            "ExpireApprovalsFunction", functions.event("ExpireApprovalsFunction", user=""), LambdaContext(900_000)
        )
        sweep_seconds = time.monotonic() - started
    finally:
        events.unregister("after-call.dynamodb.Query", count)
        events.unregister("before-call.dynamodb", request)
    expired = int(result["expired"])
    read = sum(scanned)
    per_expired = read / max(1, expired)
    section.add(
        f"expiry sweep: {expired:,} expired among {total:,}, items read per expiry",
        per_expired,
        len(requests),
        1.0,
        f"≤ {SWEEP_TARGET}",
        verdict(per_expired, SWEEP_TARGET),
    )
    flat = "flat" if len(set(first_page)) == 1 or max(first_page) <= PAGE_SIZE else "NOT flat"
    section.notes += [
        f"items read: ScannedCount of the functions' Query requests; the first page is {flat} across "
        f"{', '.join(f'{s:,}' for s in list_sizes)} approvals (a page is at most {PAGE_SIZE}); each list user's "
        "history is PENDING, DECLINED, APPROVED and CLOSED in turn (overdue PENDING ones read as EXPIRED)",
        "filtered lists and counts: items read by every request of the call (the counts item and the caller's "
        "overdue markers, then the status buckets; ScannedCount of each Query); target ≤ 1.1 x returned + 1; "
        "items read by size, per filter: "
        + "; ".join(f"{label}: {', '.join(map(str, read))}" for label, read in flat_filtered.items()),
        f"the sweep read {read:,} index items in {len(scanned)} Query "
        f"requests (one per shard of PendingByExpiry at least) and took {sweep_seconds:.1f} s on moto; loading "
        f"{total:,} approvals (with their copies, status keys, counts and locks: DynamoApprovalStore.load) "
        f"took {load_seconds:.0f} s",
    ]
    return section


@dataclass(frozen=True)
class ListCost:
    items_read: int
    requests: int
    returned: int


def _list(functions: Functions, user: str, query: dict[str, str], headers: dict[str, str] | None = None) -> ListCost:
    with functions.recording() as recorder:
        response = functions.call("ListApprovalsFunction", expect=200, user=user, query=query, headers=headers)
    cost = Cost.of(recorder.calls)
    return ListCost(cost.items_read, cost.requests, len(json.loads(response["body"])))
