"""Status filters, createdAt ranges and totals answered from keys: exact answers, strongly
consistent after a change, rule 13 before the sweep, paging through ties, and the items read
(counted from DynamoDB's answers, deterministic) bounded by what the page returns."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from approval_core.adapters import keys
from approval_core.adapters.approval_store import DynamoApprovalStore
from approval_core.adapters.dynamodb import from_item, to_item
from approval_core.domain.clock import iso
from approval_core.domain.models import Approval, HistoryEntry, OverdueApproval, Status
from approval_core.domain.query import parse_query
from tests.integration.conftest import Invoke

NOW = datetime.now(UTC)
STATUS_ORDER = ["APPROVED", "DECLINED", "CLOSED", "PENDING", "EXPIRED"]


class ItemsRead:
    """Items DynamoDB reports read (ScannedCount of a Query, the items a get returns)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in ("Query", "Scan"):
            self.count += int(parsed.get("ScannedCount", 0))
        elif model.name == "GetItem":
            self.count += 1 if parsed.get("Item") else 0
        elif model.name == "BatchGetItem":
            self.count += sum(len(items) for items in parsed.get("Responses", {}).values())


@pytest.fixture
def items_read(handlers: dict[str, Any]) -> Iterator[ItemsRead]:
    from approval_core.api.wiring import dynamodb_client

    counter = ItemsRead()
    events = dynamodb_client().meta.events
    events.register("after-call.dynamodb", counter)
    yield counter
    events.unregister("after-call.dynamodb", counter)


@pytest.fixture
def store(tables: dict[str, str]) -> DynamoApprovalStore:
    from approval_core.api.wiring import dynamodb_client

    return DynamoApprovalStore(dynamodb_client(), tables["ApprovalsTable"])


def approval(index: int, status: str, *, created: datetime | None = None, overdue: bool = False) -> Approval:
    created = created or NOW - timedelta(hours=1, seconds=index)
    expiry = NOW - timedelta(minutes=1) if overdue or status == "EXPIRED" else NOW + timedelta(days=7)
    stamp = iso(created)
    return Approval.model_validate(
        {
            "id": f"a{index:05d}-{uuid.uuid4().hex[:6]}",
            "status": status,
            "resourceType": "CART",
            "action": "CHECKOUT",
            "resource": {"id": f"cart-{index}", "siteCode": "main" if index % 2 else "other"},
            "requestor": {"userId": "req"},
            "approver": {"userId": "admin"},
            "expiryDate": iso(expiry),
            "metadata": {"createdAt": stamp, "modifiedAt": stamp, "version": 1},
            "history": [{"at": stamp, "by": "req", "action": "CREATED", "status": "PENDING", "version": 1}],
        }
    )


def history(tenant: str, store: DynamoApprovalStore, statuses: list[str], **kwargs: Any) -> list[Approval]:
    made = [approval(index, status, **kwargs) for index, status in enumerate(statuses)]
    store.load(tenant, made)
    return made


def listed(invoke: Invoke, user: str = "admin", **query: str) -> dict[str, Any]:
    headers = {"X-Total-Count": "true"} if query.pop("total", None) else {}
    response = invoke("ListApprovalsFunction", user=user, query=query, headers=headers)
    assert response["statusCode"] == 200, response
    return response


def expected(approvals: list[Approval], q: str) -> list[str]:
    """The answer by definition: every approval as rule 13 shows it, filtered, newest first."""
    now = iso(datetime.now(UTC))
    documents = []
    for item in approvals:
        status = "EXPIRED" if item.status == "PENDING" and item.expiryDate <= now else item.status
        documents.append(item.model_dump(mode="python", exclude_none=True) | {"status": status})
    matching = [document for document in documents if parse_query(q).matches(document)]
    matching.sort(key=lambda document: (document["metadata"]["createdAt"], document["id"]), reverse=True)
    return [document["id"] for document in matching]


# --------------------------------------------------------------------------- items read
@pytest.mark.parametrize("q", ["status:PENDING", "status:(PENDING,DECLINED)"])
@pytest.mark.parametrize("total", [False, True])
def test_a_status_filter_reads_about_what_it_returns(
    invoke: Invoke, tenant: str, store: DynamoApprovalStore, items_read: ItemsRead, q: str, total: bool
) -> None:
    # The approver: 31 finished approvals, 1 pending (plus a declined one for the pair).
    made = history(tenant, store, ["APPROVED"] * 20 + ["CLOSED"] * 11 + ["PENDING", "DECLINED"])
    listed(invoke, q="status:APPROVED")  # the container has found the table's status keys complete
    items_read.count = 0
    response = listed(invoke, q=q, **({"total": "1"} if total else {}))
    returned = len(response["json"])
    assert [document["id"] for document in response["json"]] == expected(made, q)
    assert items_read.count <= 1.1 * returned + 1
    if total:
        assert response["headers"]["X-Total-Count"] == str(returned)


def test_a_page_of_a_status_filter_reads_the_page_not_the_history(
    invoke: Invoke, tenant: str, store: DynamoApprovalStore, items_read: ItemsRead
) -> None:
    statuses = [STATUS_ORDER[index % 4] for index in range(400)]
    made = history(tenant, store, statuses)
    listed(invoke, q="status:APPROVED", pageSize="1")
    items_read.count = 0
    response = listed(invoke, q="status:(PENDING,DECLINED)", pageSize="60", total="1")
    assert [document["id"] for document in response["json"]] == expected(made, "status:(PENDING,DECLINED)")[:60]
    assert response["headers"]["X-Total-Count"] == "200"
    assert items_read.count <= 1.1 * 60 + 1


# --------------------------------------------------------------------------- exact answers
@pytest.mark.parametrize(
    "q",
    [
        "status:PENDING",
        "status:EXPIRED",
        "status:(PENDING,EXPIRED)",
        "status:(PENDING,DECLINED)",
        "status:(APPROVED,CLOSED,EXPIRED)",
        "status:(PENDING,DECLINED) resource.siteCode:main",
        "status:DECLINED metadata.createdAt:>=2000-01-01T00:00:00.000Z",
        "metadata.createdAt:(>=2000-01-01 AND <=2999-01-01)",
    ],
)
def test_rule_13_status_filters_answer_exactly_before_the_sweep(
    invoke: Invoke, tenant: str, store: DynamoApprovalStore, q: str
) -> None:
    # Overdue PENDING approvals the sweep has not reached read as EXPIRED, in lists and totals.
    made = history(tenant, store, [STATUS_ORDER[index % 5] for index in range(23)])
    made += history(tenant, store, ["PENDING"] * 3, overdue=True)
    pages, page_number = [], 1
    while True:
        page = listed(invoke, q=q, pageSize="4", pageNumber=str(page_number), total="1")
        pages.extend(document["id"] for document in page["json"])
        assert all(document["status"] in STATUS_ORDER for document in page["json"])
        if len(page["json"]) < 4:
            break
        page_number += 1
    assert pages == expected(made, q)
    assert page["headers"]["X-Total-Count"] == str(len(pages))


def test_pages_of_a_status_filter_never_overlap_or_skip_when_created_at_ties(
    invoke: Invoke, tenant: str, store: DynamoApprovalStore
) -> None:
    same = NOW - timedelta(hours=2)
    made = history(tenant, store, ["PENDING", "DECLINED", "APPROVED"] * 4, created=same)
    seen = []
    for page_number in range(1, 12):
        page = listed(invoke, q="status:(PENDING,DECLINED)", pageSize="1", pageNumber=str(page_number))
        seen.extend(document["id"] for document in page["json"])
    assert seen == expected(made, "status:(PENDING,DECLINED)")


def test_a_list_right_after_a_patch_shows_the_change(invoke: Invoke, tenant: str) -> None:
    response = invoke("CreateApprovalFunction", user="req", body=_create_body())
    approval_id = response["json"]["id"]
    assert [d["id"] for d in listed(invoke, q="status:PENDING", total="1")["json"]] == [approval_id]
    patched = invoke(
        "UpdateApprovalFunction",
        user="admin",
        approval_id=approval_id,
        body=[{"op": "REPLACE", "path": "/status", "value": "APPROVED"}],
    )
    assert patched["statusCode"] == 204
    pending = listed(invoke, q="status:PENDING", total="1")
    approved = listed(invoke, user="req", q="status:APPROVED", total="1")
    assert (pending["json"], pending["headers"]["X-Total-Count"]) == ([], "0")
    assert ([d["id"] for d in approved["json"]], approved["headers"]["X-Total-Count"]) == ([approval_id], "1")
    assert approved["json"][0]["status"] == "APPROVED"


def test_the_sweep_moves_counts_and_status_keys_with_the_approval(
    invoke: Invoke, tenant: str, store: DynamoApprovalStore
) -> None:
    (due,) = history(tenant, store, ["PENDING"], overdue=True)
    overdue = next(item for item in store.overdue(iso(datetime.now(UTC))) if item.approvalId == due.id)
    entry = HistoryEntry(at=iso(datetime.now(UTC)), by="system", action="EXPIRED", status=Status.EXPIRED, version=2)
    assert store.expire(overdue, entry, sweep_id="s1")
    expired = listed(invoke, q="status:EXPIRED", total="1")
    assert ([d["id"] for d in expired["json"]], expired["headers"]["X-Total-Count"]) == ([due.id], "1")
    assert expired["json"][0]["metadata"]["version"] == 2
    assert listed(invoke, q="status:PENDING", total="1")["headers"]["X-Total-Count"] == "0"
    assert isinstance(overdue, OverdueApproval)


# --------------------------------------------------------------------------- migration
def _strip_status_keys(client: Any, table: str, tenant: str) -> None:
    """The table as a version before status keys left it: copies only, no marker."""
    for user_id in ("req", "admin"):
        partition = keys.participant_partition(tenant, user_id)
        page = client.query(
            TableName=table,
            KeyConditionExpression="PK = :p",
            ExpressionAttributeValues=to_item({":p": partition}),
            ProjectionExpression="PK, SK",
        )
        for item in page["Items"]:
            if not from_item(item)["SK"].startswith(keys.PARTICIPATION_PREFIX):
                client.delete_item(TableName=table, Key=item)
    client.delete_item(TableName=table, Key=to_item(keys.status_keys_marker()))


def test_an_old_table_answers_from_full_reads_until_backfilled_then_from_keys(dynamodb_endpoint: str) -> None:
    from approval_core.adapters.dynamodb import make_client
    from approvals_local.template import load_template, read_document
    from tests.iam_grants import GrantChecker
    from tests.integration.conftest import ROOT

    # A table of its own: the backfill scans the whole table.
    client = make_client(dynamodb_endpoint)
    table = f"backfill-{uuid.uuid4().hex[:8]}"
    client.create_table(TableName=table, **load_template(ROOT / "template.yaml").tables["ApprovalsTable"])
    client.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    tenant = "old"
    made = history(tenant, DynamoApprovalStore(client, table), [STATUS_ORDER[index % 5] for index in range(17)])
    made += history(tenant, DynamoApprovalStore(client, table), ["PENDING"], overdue=True)
    _strip_status_keys(client, table, tenant)
    old = DynamoApprovalStore(client, table)
    assert not old.status_keys_complete()
    assert old.list_keyed(tenant, "admin", _selection()) is None  # the service reads everything then
    q = "status:(PENDING,EXPIRED,DECLINED)"
    # Cut off after its first page, the backfill leaves its position for the next run.
    calls = iter([True, False])
    client.meta.events.register("provide-client-params.dynamodb.Scan", _one_item_pages)
    # The scheduled expiry function runs the backfill on AWS: its policy must allow every request.
    grants = GrantChecker(read_document(ROOT / "template.yaml"), {table: "ApprovalsTable"})
    client.meta.events.register("before-parameter-build.dynamodb", grants)
    try:
        with grants.running("ExpireApprovalsFunction"):
            assert not old.backfill_status_keys(has_time=lambda: next(calls, False))
            assert old.backfill_status_keys(has_time=lambda: True)
            assert not grants.denied, sorted({str(access) for access in grants.denied})
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.Scan", _one_item_pages)
        client.meta.events.unregister("before-parameter-build.dynamodb", grants)
    assert DynamoApprovalStore(client, table).backfill_status_keys(has_time=lambda: True)  # idempotent
    listing = DynamoApprovalStore(client, table).list_keyed(tenant, "admin", _selection(q))
    assert listing is not None
    assert [item.id for item in listing.approvals] == expected(made, q)
    assert listing.total == len(expected(made, q))
    client.delete_table(TableName=table)


def _one_item_pages(params: dict[str, Any], **_: Any) -> None:
    params["Limit"] = 3


def _selection(q: str = "status:PENDING") -> Any:
    from approval_core.domain.listing import KeyedSelection

    query = parse_query(q)
    return KeyedSelection(
        statuses=query.status_values(),
        created_from=None,
        created_to=None,
        now=iso(datetime.now(UTC)),
        keep=lambda item: True,
        limit=60,
        max_read=10_000,
    )


def _create_body() -> dict[str, Any]:
    from tests.world import create_body

    return create_body()
