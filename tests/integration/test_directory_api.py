"""The directory API through its handlers against DynamoDB: what the commerce platform's machine
client sees, and what the approval functions then read."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest

from approval_core.adapters.directory import DynamoDirectory, DynamoDirectoryWriter
from approval_core.api.wiring import dynamodb_client
from approval_core.directory_feed import DirectoryFeed
from approval_core.domain.directory import Kind
from tests.integration.conftest import FUNCTIONS, Invoke, LambdaContext, request_and_approve, sample_event
from tests.world import create_body

SCOPE = "approval.directory_manage"


class Directory:
    """Requests to the directory API's functions for one tenant."""

    def __init__(self, handlers: dict[str, ModuleType], tenant: str) -> None:
        self.handlers = handlers
        self.tenant = tenant

    def call(
        self,
        method: str,
        kind: str,
        entry_id: str,
        body: Any = None,
        *,
        scope: str = SCOPE,
        token_tenant: str | None = None,
        query: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        function = {"PUT": "PutDirectoryEntryFunction", "GET": "GetDirectoryEntryFunction"}.get(
            method, "DeleteDirectoryEntryFunction"
        )
        event = sample_event(FUNCTIONS[function])
        claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
        claims.update({"sub": "commerce-sync", "tenant": token_tenant or self.tenant, "scope": scope})
        path = f"/directory/{self.tenant}/{kind}/{entry_id}"
        event["rawPath"] = event["requestContext"]["http"]["path"] = path
        event["pathParameters"] = {"tenant": self.tenant, "kind": kind, "id": entry_id}
        event["queryStringParameters"] = query
        event["body"] = None if body is None else json.dumps(body)
        response = self.handlers[function].lambda_handler(event, LambdaContext())
        response["json"] = json.loads(response["body"]) if response.get("body") else None
        return response

    def put(self, kind: str, entry_id: str, body: Any, **options: Any) -> dict[str, Any]:
        return self.call("PUT", kind, entry_id, body, **options)


@pytest.fixture
def directory(handlers: dict[str, ModuleType], tenant: str) -> Directory:
    return Directory(handlers, tenant)


def reader(tables: dict[str, str]) -> DynamoDirectory:
    return DynamoDirectory(dynamodb_client(), tables["DirectoryTable"])


def test_entries_written_through_the_api_serve_an_approval(directory: Directory, invoke: Invoke) -> None:
    assert (
        directory.put("companies", "nw", {"name": "Northwind", "approvalLimit": {"amount": 500, "currency": "EUR"}})[
            "statusCode"
        ]
        == 200
    )
    directory.put("customers", "nora", {"firstName": "Nora", "groups": ["B2B_REQUESTER"], "companies": ["nw"]})
    directory.put("customers", "olaf", {"firstName": "Olaf", "groups": ["B2B_ADMIN"], "companies": ["nw"]})
    cart = {
        "customerId": "nora",
        "companyId": "nw",
        "currency": "EUR",
        "items": [{"quantity": 1, "itemPrice": {"currency": "EUR", "amount": 90}}],
        "totalPrice": {"currency": "EUR", "amount": 90},
    }
    assert directory.put("carts", "nw-cart", cart)["json"] == {"id": "nw-cart", "result": "WRITTEN"}

    approval_id = request_and_approve(invoke, "nw-cart", requestor="nora", approver="olaf")
    read = invoke("GetApprovalFunction", user="nora", approval_id=approval_id)
    assert read["json"]["status"] == "APPROVED"


def test_get_returns_the_entry_in_the_seed_shape_with_its_version(directory: Directory) -> None:
    directory.put("customers", "gus", {"firstName": "Gus", "groups": ["B2B_BUYER"], "companies": ["c1"], "version": 4})
    read = directory.call("GET", "customers", "gus")
    assert read["statusCode"] == 200
    assert read["json"] == {
        "id": "gus",
        "firstName": "Gus",
        "groups": ["B2B_BUYER"],
        "companies": ["c1"],
        "version": 4,
    }


def test_a_repeated_write_changes_nothing_and_an_older_one_is_409(directory: Directory) -> None:
    newer = {"firstName": "New", "groups": ["B2B_BUYER"], "companies": ["c1"], "version": 7}
    assert directory.put("customers", "vic", newer)["json"]["result"] == "WRITTEN"
    assert directory.put("customers", "vic", newer)["json"]["result"] == "UNCHANGED"
    older = directory.put("customers", "vic", {**newer, "firstName": "Old", "version": 6})
    assert older["statusCode"] == 409, older
    assert directory.call("GET", "customers", "vic")["json"]["firstName"] == "New"


def test_modified_at_orders_writes_like_version(directory: Directory) -> None:
    later = {"name": "Later", "modifiedAt": "2026-11-02T10:00:00.000Z"}
    directory.put("companies", "mc", later)
    stale = directory.put("companies", "mc", {"name": "Earlier", "modifiedAt": "2026-11-01T10:00:00.000Z"})
    assert stale["statusCode"] == 409
    assert directory.call("GET", "companies", "mc")["json"]["name"] == "Later"


def test_bad_input_is_400_naming_the_field(directory: Directory) -> None:
    bad_amount = directory.put("companies", "x1", {"approvalLimit": {"amount": "lots", "currency": "EUR"}})
    assert bad_amount["statusCode"] == 400
    assert [d["field"] for d in bad_amount["json"]["details"]] == ["approvalLimit.amount"]
    unknown = directory.put("customers", "x2", {"firstName": "X", "group": ["B2B_ADMIN"]})
    assert unknown["statusCode"] == 400
    assert unknown["json"]["details"][0]["field"] == "group"
    other_id = directory.put("carts", "x3", {"id": "x4"})
    assert other_id["statusCode"] == 400
    assert other_id["json"]["details"][0]["field"] == "id"
    not_json = directory.call("PUT", "carts", "x3", None)
    assert not_json["statusCode"] == 400
    assert directory.call("GET", "customers", "x2")["statusCode"] == 404


def test_without_the_directory_scope_it_is_403_and_nothing_is_written(directory: Directory) -> None:
    refused = directory.put("customers", "eve", {"groups": ["B2B_ADMIN"]}, scope="approval.approval_manage")
    assert refused["statusCode"] == 403
    assert directory.call("GET", "customers", "eve")["statusCode"] == 404


def test_another_tenants_token_is_403(directory: Directory) -> None:
    refused = directory.put("customers", "eve", {"groups": ["B2B_ADMIN"]}, token_tenant="other")
    assert refused["statusCode"] == 403
    assert directory.call("GET", "customers", "eve")["statusCode"] == 404


def test_an_unknown_kind_is_404(directory: Directory) -> None:
    assert directory.put("orders", "o1", {})["statusCode"] == 404


def test_a_company_limit_change_reaches_its_members(directory: Directory, tables: dict[str, str], tenant: str) -> None:
    directory.put("companies", "c1", {"name": "ACME", "approvalLimit": {"amount": 50, "currency": "EUR"}})
    customers = reader(tables).get_customers(tenant, ["req", "admin", "usadmin"])
    assert {c.companies["c1"].approval_limit.amount for c in customers.values()} == {Decimal(50)}  # type: ignore[union-attr]


def test_a_large_company_is_updated_in_bounded_resumable_steps(tables: dict[str, str], tenant: str) -> None:
    writer = DynamoDirectoryWriter(dynamodb_client(), tables["DirectoryTable"])
    feed = DirectoryFeed(writer)
    feed.put(tenant, Kind.COMPANY, "big", {"approvalLimit": {"amount": 1, "currency": "EUR"}})
    members = [f"m{index:03d}" for index in range(230)]
    for member in members:
        feed.put(tenant, Kind.CUSTOMER, member, {"groups": ["B2B_BUYER"], "companies": ["big"]})
    change = {"approvalLimit": {"amount": 2, "currency": "EUR"}, "version": 2}
    first = feed.put(tenant, Kind.COMPANY, "big", change, time_left=lambda: False)
    assert first.propagation is not None
    assert not first.propagation.complete
    assert first.propagation.members_updated == 100
    # The same request again carries on where the first stopped.
    second = feed.put(tenant, Kind.COMPANY, "big", change)
    assert second.outcome.value == "UNCHANGED"
    assert second.propagation is not None
    assert second.propagation.complete
    assert second.propagation.members_updated == 130
    limits = {
        c.companies["big"].approval_limit.amount for c in reader(tables).get_customers(tenant, members[:99]).values()
    }  # type: ignore[union-attr]
    limits |= {
        c.companies["big"].approval_limit.amount for c in reader(tables).get_customers(tenant, members[99:198]).values()
    }  # type: ignore[union-attr]
    limits |= {
        c.companies["big"].approval_limit.amount for c in reader(tables).get_customers(tenant, members[198:]).values()
    }  # type: ignore[union-attr]
    assert limits == {Decimal(2)}


def test_leaving_a_company_removes_the_membership(directory: Directory, tables: dict[str, str], tenant: str) -> None:
    directory.put("customers", "mover", {"groups": ["B2B_ADMIN"], "companies": ["c1"]})
    directory.put("customers", "mover", {"groups": ["B2B_ADMIN"], "companies": ["c2"]})
    assert "mover" not in {m.id for m in reader(tables).get_members(tenant, "c1")}
    assert "mover" in {m.id for m in reader(tables).get_members(tenant, "c2")}


def test_deleting_a_customer_keeps_their_approvals_readable(
    directory: Directory, invoke: Invoke, tables: dict[str, str], tenant: str
) -> None:
    created = invoke("CreateApprovalFunction", user="req", body=create_body())
    assert created["statusCode"] == 201
    deleted = directory.call("DELETE", "customers", "req")
    assert deleted["statusCode"] == 200
    assert deleted["json"] == {"id": "req", "result": "WRITTEN"}
    assert directory.call("GET", "customers", "req")["statusCode"] == 404
    assert "req" not in {m.id for m in reader(tables).get_members(tenant, "c1")}
    read = invoke("GetApprovalFunction", user="admin", approval_id=created["json"]["id"])
    assert read["statusCode"] == 200
    assert read["json"]["requestor"]["userId"] == "req"
    assert directory.call("DELETE", "customers", "req")["json"]["result"] == "UNCHANGED"  # idempotent
    assert directory.call("DELETE", "customers", "never-" + uuid.uuid4().hex[:6])["statusCode"] == 404


def test_an_update_older_than_a_delete_does_not_bring_the_entry_back(directory: Directory) -> None:
    directory.put("carts", "gone", {"customerId": "req", "version": 3})
    assert directory.call("DELETE", "carts", "gone", query={"version": "5"})["statusCode"] == 200
    late = directory.put("carts", "gone", {"customerId": "req", "version": 4})
    assert late["statusCode"] == 409
    assert directory.call("GET", "carts", "gone")["statusCode"] == 404
    assert directory.put("carts", "gone", {"customerId": "req", "version": 6})["statusCode"] == 200


def test_a_customer_written_while_their_company_changes_gets_its_new_record(
    tables: dict[str, str], tenant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The company's change lands between the customer's read of it and the customer's write: the
    company's propagation does not know the new member yet, so the customer's write starts over."""
    writer = DynamoDirectoryWriter(dynamodb_client(), tables["DirectoryTable"])
    feed = DirectoryFeed(writer)
    feed.put(tenant, Kind.COMPANY, "race", {"approvalLimit": {"amount": 1, "currency": "EUR"}})
    read_records = writer._records
    changed: list[bool] = []

    def company_changes_meanwhile(wanted: Any) -> Any:
        found = read_records(wanted)
        if not changed:
            changed.append(True)
            feed.put(tenant, Kind.COMPANY, "race", {"approvalLimit": {"amount": 2, "currency": "EUR"}})
        return found

    monkeypatch.setattr(writer, "_records", company_changes_meanwhile)
    feed.put(tenant, Kind.CUSTOMER, "racer", {"groups": ["B2B_BUYER"], "companies": ["race"]})
    racer = reader(tables).get_customers(tenant, ["racer"])["racer"]
    assert racer.companies["race"].approval_limit.amount == 2  # type: ignore[union-attr]
