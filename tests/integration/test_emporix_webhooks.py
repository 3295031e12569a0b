"""Emporix webhooks through the receiver, the queue and the consumer against moto's server: what an
Emporix tenant's deliveries do to the directory, and what they cannot do."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import os
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from approval_core.adapters.directory import DynamoDirectory, DynamoDirectoryWriter
from approval_core.api.wiring import dynamodb_client
from approval_core.directory_feed import DirectoryFeed
from approval_core.domain.directory import Kind
from tests.integration.conftest import FUNCTIONS, Invoke, LambdaContext, request_and_approve, sample_event

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cret-of-the-tenant"


def sample(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((ROOT / "events" / "emporix" / f"{name}.json").read_text()))


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class Emporix:
    """Delivers events as Emporix's HTTP webhook provider does, then runs the queue's consumer."""

    def __init__(self, handlers: dict[str, ModuleType], tenant: str) -> None:
        self.handlers = handlers
        self.tenant = tenant
        self.sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL_SQS"])
        self.queue = os.environ["DIRECTORY_EVENTS_QUEUE_URL"]

    def deliver(
        self, event_type: str, payload: Any, *, signature: str | None = "sign", tenant: str | None = None
    ) -> dict[str, Any]:
        event = sample_event(FUNCTIONS["ReceiveEmporixWebhookFunction"])
        tenant = tenant or self.tenant
        body = json.dumps(payload).encode()
        path = f"/directory/{tenant}/webhooks/emporix/{event_type}"
        event["rawPath"] = event["requestContext"]["http"]["path"] = path
        event["pathParameters"] = {"tenant": tenant, "eventType": event_type}
        event["body"] = body.decode()
        headers = {k: v for k, v in event["headers"].items() if k != "emporix-event-signature"}
        if signature is not None:
            headers["emporix-event-signature"] = sign(body) if signature == "sign" else signature
        event["headers"] = headers
        response = self.handlers["ReceiveEmporixWebhookFunction"].lambda_handler(event, LambdaContext())
        response["json"] = json.loads(response["body"]) if response.get("body") else None
        return response

    def apply(self) -> int:
        """Run the consumer on everything queued; returns how many messages it applied."""
        applied = 0
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.queue, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return applied
            records = [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": {},
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:DirectoryEventsQueue.fifo",
                    "awsRegion": "us-east-1",
                }
                for m in messages
            ]
            result = self.handlers["ApplyDirectoryEventsFunction"].lambda_handler({"Records": records}, LambdaContext())
            assert result == {"batchItemFailures": []}, result
            for message in messages:
                self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])
            applied += len(messages)

    def send(self, event_type: str, payload: Any) -> None:
        response = self.deliver(event_type, payload)
        assert response["statusCode"] == 200, response
        self.apply()


@pytest.fixture
def emporix(handlers: dict[str, ModuleType], tenant: str) -> Emporix:
    ssm = boto3.client("ssm", endpoint_url=os.environ["AWS_ENDPOINT_URL_SSM"])
    ssm.put_parameter(Name=f"{os.environ['WEBHOOK_SECRETS_PATH']}/{tenant}", Value=SECRET, Type="SecureString")
    client = Emporix(handlers, tenant)
    client.apply()  # nothing of an earlier test left in the queue
    return client


def directory(tables: dict[str, str]) -> DynamoDirectory:
    return DynamoDirectory(dynamodb_client(), tables["DirectoryTable"])


def customer(emporix: Emporix, tables: dict[str, str], customer_id: str) -> Any:
    return directory(tables).get_customers(emporix.tenant, [customer_id]).get(customer_id)


def northwind(emporix: Emporix) -> None:
    emporix.send("client-management.legalentity-created", sample("legalentity-created"))
    emporix.send("customer.created", sample("customer-created"))
    admin = {**sample("customer-created"), "id": "olaf", "customerNumber": "C-1002", "firstName": "Olaf"}
    admin["mixins"] = {"approvalGroups": {"groups": ["B2B_ADMIN"]}}
    emporix.send("customer.created", admin)
    for user in ("nora", "olaf"):
        emporix.send(
            "client-management.user-assigned-to-legalentity", {**sample("user-assigned-to-legalentity"), "userId": user}
        )


def test_a_company_customers_and_a_cart_from_webhooks_serve_an_approval(emporix: Emporix, invoke: Invoke) -> None:
    northwind(emporix)
    emporix.send("cart.created", sample("cart-created"))
    emporix.send("cart.item-added", sample("cart-item-added"))
    request_and_approve(invoke, "nw-cart", requestor="nora", approver="olaf")


def test_a_wrong_or_missing_signature_is_401_and_changes_nothing(emporix: Emporix, tables: dict[str, str]) -> None:
    payload = sample("customer-created")
    wrong = emporix.deliver("customer.created", payload, signature=sign(json.dumps(payload).encode(), "guess"))
    assert wrong["statusCode"] == 401
    assert emporix.deliver("customer.created", payload, signature=None)["statusCode"] == 401
    assert emporix.deliver("customer.created", payload, tenant="nosecret")["statusCode"] == 401
    assert emporix.apply() == 0
    assert customer(emporix, tables, "nora") is None


def test_a_replayed_event_changes_nothing(emporix: Emporix, tables: dict[str, str]) -> None:
    northwind(emporix)
    emporix.send("customer.updated", sample("customer-updated"))
    before = customer(emporix, tables, "nora")
    # The same delivery later (after the queue's five-minute deduplication window): applied again.
    emporix.handlers["ApplyDirectoryEventsFunction"].lambda_handler(
        {
            "Records": [
                dict(
                    sample_event(FUNCTIONS["ApplyDirectoryEventsFunction"])["Records"][0],
                    body=json.dumps(
                        {
                            "tenant": emporix.tenant,
                            "eventType": "customer.updated",
                            "payload": sample("customer-updated"),
                        }
                    ),
                )
            ]
        },
        LambdaContext(),
    )
    emporix.send("client-management.user-assigned-to-legalentity", sample("user-assigned-to-legalentity"))
    assert customer(emporix, tables, "nora") == before


def test_an_older_customer_update_after_a_newer_one_does_not_win(emporix: Emporix, tables: dict[str, str]) -> None:
    northwind(emporix)
    newer = {**sample("customer-updated"), "lastName": "Newer", "metadata": {"version": 5}}
    older = {**sample("customer-updated"), "lastName": "Older", "metadata": {"version": 4}}
    emporix.send("customer.updated", newer)
    emporix.send("customer.updated", older)
    found = customer(emporix, tables, "nora")
    assert found.last_name == "Newer"
    assert found.company_ids == ("nw",)  # the profile update kept the membership
    assert found.groups == frozenset({"B2B_REQUESTER"})  # and the groups the event does not carry


def test_a_legal_entity_limit_change_reaches_its_members(emporix: Emporix, tables: dict[str, str]) -> None:
    northwind(emporix)
    emporix.send("client-management.legalentity-updated", sample("legalentity-updated"))
    assert customer(emporix, tables, "olaf").companies["nw"].approval_limit.amount == Decimal(750)
    emporix.send("client-management.legalentity-created", sample("legalentity-created"))  # older: ignored
    assert customer(emporix, tables, "olaf").companies["nw"].approval_limit.amount == Decimal(750)


def test_deleting_a_legal_entity_takes_it_from_its_members(emporix: Emporix, tables: dict[str, str]) -> None:
    northwind(emporix)
    emporix.send("client-management.legalentity-deleted", sample("legalentity-deleted"))
    assert customer(emporix, tables, "olaf").companies == {}
    assert directory(tables).get_members(emporix.tenant, "nw") != []  # still listed: they name it


def test_customer_deleted_names_the_customer_by_number(emporix: Emporix, tables: dict[str, str]) -> None:
    northwind(emporix)
    emporix.send("customer.deleted", sample("customer-deleted"))
    assert customer(emporix, tables, "nora") is None
    assert "nora" not in {m.id for m in directory(tables).get_members(emporix.tenant, "nw")}
    emporix.send("customer.updated", sample("customer-updated"))  # older than the deletion? no version: kept out
    assert customer(emporix, tables, "nora") is None


def test_cart_item_events_and_closing(emporix: Emporix, tables: dict[str, str]) -> None:
    emporix.send("cart.created", sample("cart-created"))
    emporix.send("cart.item-added", sample("cart-item-added"))
    emporix.send("cart.item-updated", {**sample("cart-item-added"), "quantity": 5})
    cart = directory(tables).get_cart(emporix.tenant, "nw-cart")
    assert cart is not None
    assert [(i.itemYrn, i.quantity) for i in cart.items] == [("drill-01", Decimal(5))]
    emporix.send("cart.item-deleted", sample("cart-item-deleted"))
    assert directory(tables).get_cart(emporix.tenant, "nw-cart").items == []  # type: ignore[union-attr]
    emporix.send("cart.closed", sample("cart-closed"))
    assert directory(tables).get_cart(emporix.tenant, "nw-cart") is None
    emporix.send("cart.created", sample("cart-created"))  # version 1 after the close at 9: stale
    assert directory(tables).get_cart(emporix.tenant, "nw-cart") is None


def test_other_event_types_are_acknowledged_and_ignored(emporix: Emporix) -> None:
    answer = emporix.deliver("product.updated", {"id": "p1"})
    assert answer["statusCode"] == 200
    assert answer["json"]["result"] == "IGNORED"
    assert emporix.apply() == 0


def test_a_body_larger_than_a_queue_message_is_413_and_nothing_is_queued(emporix: Emporix) -> None:
    payload = {**sample("customer-created"), "note": "x" * (250 * 1024)}
    answer = emporix.deliver("customer.created", payload)
    assert answer["statusCode"] == 413
    assert emporix.apply() == 0


class ShortOfTime(LambdaContext):
    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 1_000


def test_a_large_legal_entitys_change_is_retried_until_every_member_has_it(
    emporix: Emporix, tables: dict[str, str]
) -> None:
    emporix.send("client-management.legalentity-created", sample("legalentity-created"))
    feed = DirectoryFeed(DynamoDirectoryWriter(dynamodb_client(), tables["DirectoryTable"]))
    members = [f"m{index:03d}" for index in range(150)]
    for member in members:
        feed.put(emporix.tenant, Kind.CUSTOMER, member, {"companies": ["nw"]})
    message = {"tenant": emporix.tenant, "eventType": "client-management.legalentity-updated"}
    record = sample_event(FUNCTIONS["ApplyDirectoryEventsFunction"])["Records"][0]
    record["body"] = json.dumps({**message, "payload": sample("legalentity-updated")})
    consumer = emporix.handlers["ApplyDirectoryEventsFunction"]

    first = consumer.lambda_handler({"Records": [record]}, ShortOfTime())
    assert first == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    # SQS delivers it again after the visibility timeout: it carries on where the first stopped.
    assert consumer.lambda_handler({"Records": [record]}, LambdaContext()) == {"batchItemFailures": []}
    limits = set()
    for start in range(0, len(members), 90):
        found = directory(tables).get_customers(emporix.tenant, members[start : start + 90])
        limits |= {customer.companies["nw"].approval_limit.amount for customer in found.values()}
    assert limits == {Decimal(750)}


def test_unassignment_takes_the_customer_out_of_the_company(emporix: Emporix, tables: dict[str, str]) -> None:
    northwind(emporix)
    unassigned = {key: value for key, value in sample("user-assigned-to-legalentity").items() if key != "primary"}
    emporix.send("client-management.user-unassigned-from-legalentity", unassigned)
    assert customer(emporix, tables, "nora").company_ids == ()
    assert "nora" not in {m.id for m in directory(tables).get_members(emporix.tenant, "nw")}


@pytest.mark.parametrize("event_type", ["cart.updated", "cart.merged"])
def test_a_cart_update_with_totals_sets_them_and_keeps_its_items(
    emporix: Emporix, tables: dict[str, str], event_type: str
) -> None:
    emporix.send("cart.created", sample("cart-created"))
    emporix.send("cart.item-added", sample("cart-item-added"))
    total = {"amount": 1200, "currency": "EUR"}
    emporix.send(event_type, {**sample("cart-created"), "totalPrice": total, "metadata": {"version": 3}})
    cart = directory(tables).get_cart(emporix.tenant, "nw-cart")
    assert cart is not None
    assert cart.totalPrice is not None
    assert cart.totalPrice.amount == Decimal(1200)
    assert [item.itemYrn for item in cart.items] == ["drill-01"]
