"""The expiry sweep (rule 13) and the change events, against DynamoDB: the issue's numbers
(1,000 overdue among 10,000), concurrent and interrupted sweeps, and events in version order."""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.config import Config

from approval_core.adapters.approval_store import DynamoApprovalStore
from approval_core.adapters.directory import DynamoDirectory
from approval_core.adapters.dynamodb import CLIENT_CONFIG, from_item
from approval_core.adapters.reads import SeparateReads
from approval_core.api.stream import publish_changes
from approval_core.api.wiring import dynamodb_client
from approval_core.domain.clock import iso
from approval_core.domain.events import ApprovalEvent
from approval_core.domain.models import Approval, HistoryAction, HistoryEntry, Status
from approval_core.service import ApprovalService, SweepResult
from approvals_local.template import load_template
from tests.integration.conftest import EVENT_BUS, Invoke, LambdaContext, sample_event
from tests.reporting import report
from tests.world import create_body

ROOT = Path(__file__).resolve().parents[2]
THEN = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
def fresh_store(dynamodb_endpoint: str, tables: dict[str, str]) -> DynamoApprovalStore:
    """Tables of their own: the expiry index spans every tenant, so sweep counts must not see
    other tests' approvals."""
    # moto's Query reads every item of the table (80,000 here, with the status keys): slower than
    # DynamoDB by far, so this client waits longer than the functions' 2 s for an answer.
    client = boto3.client(
        "dynamodb", endpoint_url=dynamodb_endpoint, config=CLIENT_CONFIG.merge(Config(read_timeout=60))
    )
    suffix = uuid.uuid4().hex[:8]
    definition = load_template(ROOT / "template.yaml").tables["ApprovalsTable"]
    client.create_table(TableName=f"sweep-{suffix}", **definition)
    store = DynamoApprovalStore(client, f"sweep-{suffix}")
    store.backfill_status_keys(has_time=lambda: True)
    return store


def approvals(count: int, overdue: int) -> list[Approval]:
    def one(index: int) -> Approval:
        return Approval.model_validate(
            {
                "id": f"a{index:05d}",
                "status": "PENDING",
                "resourceType": "CART",
                "action": "CHECKOUT",
                "resource": {"id": f"cart-{index}"},
                "requestor": {"userId": f"req{index % 50}"},
                "approver": {"userId": "admin"},
                "expiryDate": "2026-01-08T00:00:00.000Z" if index < overdue else "2031-01-01T00:00:00.000Z",
                "metadata": {
                    "createdAt": "2026-01-01T00:00:00.000Z",
                    "modifiedAt": "2026-01-01T00:00:00.000Z",
                    "version": 1,
                },
                "history": [
                    {
                        "at": "2026-01-01T00:00:00.000Z",
                        "by": f"req{index % 50}",
                        "action": "CREATED",
                        "status": "PENDING",
                        "version": 1,
                    }
                ],
            }
        )

    return [one(index) for index in range(count)]


def sweeper(store: DynamoApprovalStore) -> ApprovalService:
    directory = DynamoDirectory(dynamodb_client(), os.environ["DIRECTORY_TABLE_NAME"])
    reads = SeparateReads(directory, directory, store)
    return ApprovalService(store=store, directory=directory, carts=directory, reads=reads, clock=lambda: NOW)


def always() -> bool:
    return True


def expired_entries(store: DynamoApprovalStore, tenant: str, approval_id: str) -> int:
    approval = store.get(tenant, approval_id)
    assert approval is not None
    return sum(1 for entry in approval.history if entry.action == "EXPIRED")


def test_rule_13_one_sweep_expires_1000_overdue_among_10000_reading_about_one_item_each(
    fresh_store: DynamoApprovalStore,
) -> None:
    fresh_store.load("big", approvals(10_000, overdue=1_000))
    items_read: list[int] = []
    fresh_store._client.meta.events.register(
        "after-call.dynamodb.Query", lambda parsed, **_: items_read.append(parsed.get("ScannedCount", 0))
    )

    result = sweeper(fresh_store).expire_overdue(always)

    assert result == SweepResult(expired=1_000, skipped=0, still_overdue=0)
    assert fresh_store.count_overdue(iso(NOW)) == 0
    assert sum(items_read) <= 1.1 * 1_000
    report(f"expiry sweep: {sum(items_read)} items read for {result.expired} expired among 10000")
    assert fresh_store.get("big", "a00000").status is Status.EXPIRED  # type: ignore[union-attr]
    assert fresh_store.get("big", "a00999").status is Status.EXPIRED  # type: ignore[union-attr]
    assert fresh_store.get("big", "a01000").status is Status.PENDING  # type: ignore[union-attr]
    # The participants' copies and the resource's lock changed with the approval.
    listed = fresh_store.list_for_participant("big", "req0", None)
    assert {a.status for a in listed if a.id < "a01000"} == {Status.EXPIRED}
    lock = fresh_store.latest_for_resource("big", "CART", "cart-0", "CHECKOUT")
    assert lock is not None
    assert lock.status is Status.EXPIRED


def test_rule_13_two_concurrent_sweeps_expire_each_approval_once(fresh_store: DynamoApprovalStore) -> None:
    fresh_store.load("twice", approvals(300, overdue=200))
    results: list[SweepResult] = []
    barrier = threading.Barrier(2)

    def sweep() -> None:
        barrier.wait()
        results.append(sweeper(fresh_store).expire_overdue(always))

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(result.expired for result in results) == 200
    assert {expired_entries(fresh_store, "twice", f"a{index:05d}") for index in range(200)} == {1}


def test_rule_13_a_sweep_cut_off_half_way_is_completed_by_the_next(fresh_store: DynamoApprovalStore) -> None:
    fresh_store.load("cut", approvals(200, overdue=100))
    budget = iter([True] * 50 + [False] * 1000)

    first = sweeper(fresh_store).expire_overdue(lambda: next(budget))
    second = sweeper(fresh_store).expire_overdue(always)

    assert (first.expired, first.still_overdue) == (50, 50)
    assert (second.expired, second.still_overdue) == (50, 0)
    assert {expired_entries(fresh_store, "cut", f"a{index:05d}") for index in range(100)} == {1}


def test_rule_13_sweep_leaves_a_newer_approvals_lock_alone(fresh_store: DynamoApprovalStore) -> None:
    old, new = approvals(2, overdue=1)
    fresh_store.load("relock", [old])
    newer = new.model_copy(update={"resource": old.resource})
    fresh_store.create("relock", newer, now="2026-02-01T00:00:00.000Z")  # the old one is overdue

    assert sweeper(fresh_store).expire_overdue(always).expired == 1

    lock = fresh_store.latest_for_resource("relock", "CART", old.resource.id, "CHECKOUT")
    assert lock is not None
    assert (lock.approvalId, lock.status) == (newer.id, Status.PENDING)


def test_expire_function_runs_one_sweep_and_reports_counts(handlers: dict[str, ModuleType]) -> None:
    result = handlers["ExpireApprovalsFunction"].lambda_handler(sample_event("expire_approvals"), LambdaContext())
    assert set(result) == {"expired", "skipped", "still_overdue"}
    assert result["still_overdue"] == 0


# --------------------------------------------------------------------------- events
class RecordingPublisher:
    def __init__(self, fail_on_version: int | None = None) -> None:
        self.events: list[ApprovalEvent] = []
        self.fail_on_version = fail_on_version

    def publish(self, event: ApprovalEvent) -> None:
        if event.detail["version"] == self.fail_on_version:
            raise RuntimeError("EventBridge is down")
        self.events.append(event)


def stream_records(approval_id: str) -> list[dict[str, Any]]:
    """The approvals table's stream records of one approval item, as Lambda receives them."""
    client = dynamodb_client()
    table = os.environ["APPROVALS_TABLE_NAME"]
    streams = boto3.client("dynamodbstreams", endpoint_url=client.meta.endpoint_url)
    arn = client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            records.extend(page["Records"])
            iterator = page.get("NextShardIterator") if page["Records"] else None
    mine = [r for r in records if from_item(r["dynamodb"]["Keys"]).get("PK", "").endswith(f"#APPROVAL#{approval_id}")]
    return [{**r, "eventSourceARN": arn} for r in mine]


@pytest.fixture
def flow(invoke: Invoke) -> str:
    """Create, edit the comment, approve: three committed changes of one approval."""
    approval_id = invoke("CreateApprovalFunction", body=create_body())["json"]["id"]
    edit = [{"op": "ADD", "path": "/comment", "value": "urgent"}]
    approve = [{"op": "REPLACE", "path": "/status", "value": "APPROVED"}]
    assert invoke("UpdateApprovalFunction", user="req", approval_id=approval_id, body=edit)["statusCode"] == 204
    assert invoke("UpdateApprovalFunction", user="admin", approval_id=approval_id, body=approve)["statusCode"] == 204
    return str(approval_id)


def test_every_change_of_a_flow_becomes_exactly_its_event_in_version_order(flow: str, tenant: str) -> None:
    publisher = RecordingPublisher()
    response = publish_changes({"Records": stream_records(flow)}, publisher)
    assert response == {"batchItemFailures": []}
    assert [(e.detail_type, e.detail["version"]) for e in publisher.events] == [
        ("Approval Created", 1),
        ("Approval Updated", 2),
        ("Approval Approved", 3),
    ]
    first = publisher.events[0]
    assert first.source == "approval.service"
    assert first.detail["tenant"] == tenant
    assert first.detail["id"] == flow
    assert first.detail["resourceId"] == "cart-req"
    assert first.detail["requestor"]["userId"] == "req"
    assert first.detail["approver"]["userId"] == "admin"
    assert [e.detail["status"] for e in publisher.events] == ["PENDING", "PENDING", "APPROVED"]


def test_a_failed_record_and_those_after_it_are_retried_in_order(flow: str) -> None:
    records = stream_records(flow)
    publisher = RecordingPublisher(fail_on_version=2)

    response = publish_changes({"Records": records}, publisher)

    failed = [failure["itemIdentifier"] for failure in response["batchItemFailures"]]
    assert failed == [record["dynamodb"]["SequenceNumber"] for record in records[1:]]
    assert [event.detail["version"] for event in publisher.events] == [1]
    publisher.fail_on_version = None
    retried = [r for r in records if r["dynamodb"]["SequenceNumber"] in failed]
    assert publish_changes({"Records": retried}, publisher) == {"batchItemFailures": []}
    assert [event.detail["version"] for event in publisher.events] == [1, 2, 3]


def test_publisher_function_puts_events_on_the_bus(handlers: dict[str, ModuleType], flow: str) -> None:
    events = boto3.client("events", endpoint_url=os.environ["AWS_ENDPOINT_URL_EVENTBRIDGE"])
    sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL_EVENTBRIDGE"])
    queue = sqs.create_queue(QueueName=f"seen-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = f"all-{uuid.uuid4().hex[:8]}"
    events.put_rule(Name=rule, EventBusName=EVENT_BUS, EventPattern=json.dumps({"source": ["approval.service"]}))
    events.put_targets(Rule=rule, EventBusName=EVENT_BUS, Targets=[{"Id": "seen", "Arn": queue_arn}])

    response = handlers["PublishApprovalEventsFunction"].lambda_handler(
        {"Records": stream_records(flow)}, LambdaContext()
    )

    assert response == {"batchItemFailures": []}
    seen = [json.loads(m["Body"]) for m in _drain(sqs, queue)]
    mine = sorted((e for e in seen if e["detail"]["id"] == flow), key=lambda e: e["detail"]["version"])
    assert [(e["detail-type"], e["detail"]["version"]) for e in mine] == [
        ("Approval Created", 1),
        ("Approval Updated", 2),
        ("Approval Approved", 3),
    ]


def _drain(sqs: Any, queue: str) -> Iterator[dict[str, Any]]:
    while True:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return
        yield from messages


def test_a_batch_whose_first_record_fails_is_retried_whole_in_order(flow: str) -> None:
    records = stream_records(flow)
    publisher = RecordingPublisher(fail_on_version=1)

    response = publish_changes({"Records": records}, publisher)

    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [
        r["dynamodb"]["SequenceNumber"] for r in records
    ]
    assert publisher.events == []


def test_an_expiry_written_whose_answer_was_lost_still_counts_once(fresh_store: DynamoApprovalStore) -> None:
    """A timed-out transaction that DynamoDB applied is retried by the client: the retry's failed
    condition returns the item, whose last history entry is this expiry's own."""
    fresh_store.load("lost", approvals(1, overdue=1))
    overdue = next(fresh_store.overdue(iso(NOW)))
    entry = HistoryEntry(at=iso(NOW), by="system", action=HistoryAction.EXPIRED, status=Status.EXPIRED, version=2)
    assert fresh_store.expire(overdue, entry, "sweep-1") is True
    assert fresh_store.expire(overdue, entry, "sweep-1") is True  # the same request again: ours
    assert fresh_store.expire(overdue, entry, "sweep-2") is False  # another sweep finds it done


def test_rule_10_a_patch_to_closed_is_the_same_change_and_event_as_a_delete(invoke: Invoke, tenant: str) -> None:
    by_delete = invoke("CreateApprovalFunction", body=create_body())["json"]["id"]
    assert invoke("CloseApprovalFunction", user="req", approval_id=by_delete)["statusCode"] == 204
    by_patch = invoke("CreateApprovalFunction", body=create_body())["json"]["id"]
    close = [{"op": "replace", "path": "/status", "value": "CLOSED"}]
    assert invoke("UpdateApprovalFunction", user="req", approval_id=by_patch, body=close)["statusCode"] == 204

    def change(approval_id: str) -> tuple[Any, ...]:
        document = invoke("GetApprovalFunction", approval_id=approval_id)["json"]
        publisher = RecordingPublisher()
        assert publish_changes({"Records": stream_records(approval_id)}, publisher) == {"batchItemFailures": []}
        last = publisher.events[-1]
        event = {key: value for key, value in last.detail.items() if key not in ("id", "at")}
        history = [{key: value for key, value in entry.items() if key != "at"} for entry in document["history"]]
        return document["status"], document["metadata"]["version"], history, last.detail_type, event

    assert change(by_patch) == change(by_delete)
    assert change(by_patch)[3] == "Approval Closed"
