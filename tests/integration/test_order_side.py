"""The order side (rules 14 to 19) through the handlers against DynamoDB: quotes fed by the
directory API, webhooks, the import and the seed; legalEntity and createdResource round-trips;
approving by ordering in one write; a changed or used approval no longer permitting a checkout,
with permitted still one request."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from approval_core.adapters.directory import DynamoDirectory, DynamoDirectoryWriter
from approval_core.api.wiring import dynamodb_client
from approval_core.directory_feed import DirectoryFeed
from approval_core.emporix import apply_event
from tests.integration.conftest import Invoke, RequestCounter
from tests.integration.test_directory_api import Directory
from tests.world import create_body

PLATFORM_SCOPES = "approval.approval_manage approval.directory_manage"
QUOTE = {
    "customerId": "req",
    "companyId": "c1",
    "version": 2,
    "items": [
        {
            "itemId": "line-1",
            "quantity": 3,
            "unit": "pcs",
            "unitPrice": {"currency": "EUR", "amount": 100},
            "newUnitPrice": {"currency": "EUR", "amount": 90},
            "calculatedPrice": {"currency": "EUR", "netValue": 270, "grossValue": 321.3, "taxValue": 51.3},
        }
    ],
    "totalPrice": {"currency": "EUR", "amount": 321.3, "netValue": 270, "grossValue": 321.3, "taxValue": 51.3},
}


@pytest.fixture
def directory(handlers: dict[str, ModuleType], tenant: str) -> Directory:
    return Directory(handlers, tenant)


def quote_body(quote_id: str = "q1", approver: str = "admin") -> dict[str, Any]:
    return {"resourceType": "QUOTE", "resourceId": quote_id, "action": "CHECKOUT", "approver": {"userId": approver}}


def permitted(invoke: Invoke, user: str, resource_id: str = "cart-req", resource_type: str = "CART") -> Any:
    body = {"resourceType": resource_type, "resourceId": resource_id, "action": "CHECKOUT"}
    response = invoke("CheckPermittedFunction", user=user, body=body)
    assert response["statusCode"] == 200, response
    return response["json"]


def order(invoke: Invoke, approval_id: str, user: str, order_id: str = "order-1", **options: Any) -> Any:
    body = [{"op": "ADD", "path": "/createdResource", "value": {"id": order_id}}]
    return invoke("UpdateApprovalFunction", user=user, approval_id=approval_id, body=body, **options)


def approve(invoke: Invoke, approval_id: str, user: str = "admin") -> None:
    body = [{"op": "replace", "path": "/status", "value": "APPROVED"}]
    assert invoke("UpdateApprovalFunction", user=user, approval_id=approval_id, body=body)["statusCode"] == 204


def create(invoke: Invoke, body: dict[str, Any] | None = None) -> str:
    created = invoke("CreateApprovalFunction", user="req", body=body or create_body())
    assert created["statusCode"] == 201, created
    return str(created["json"]["id"])


# --------------------------------------------------------------------------- rule 14
def test_rule_14_quote_approval_from_the_directory_api_costs_one_read_and_one_write(
    invoke: Invoke, directory: Directory, dynamodb_requests: RequestCounter
) -> None:
    assert directory.put("quotes", "q1", QUOTE)["statusCode"] == 200
    assert directory.put("settings", "approval", {"enableQuoteApprovalProcess": True})["statusCode"] == 200
    assert directory.call("GET", "settings", "approval")["json"]["enableQuoteApprovalProcess"] is True
    dynamodb_requests.operations.clear()
    approval_id = create(invoke, quote_body())
    assert dynamodb_requests.operations == ["BatchGetItem", "TransactWriteItems"]
    approval = invoke("GetApprovalFunction", user="admin", approval_id=approval_id)["json"]
    assert approval["resourceType"] == "QUOTE"
    assert "details" not in approval
    assert approval["resource"]["items"][0]["itemId"] == "line-1"
    assert approval["resource"]["items"][0]["newUnitPrice"] == {"currency": "EUR", "amount": 90}
    assert approval["resource"]["totalPrice"]["netValue"] == 270
    assert approval["resource"]["version"] == 2
    assert approval["legalEntity"] == {"id": "c1"}


def test_rule_14_quote_approvals_switched_off_are_400004(invoke: Invoke, directory: Directory) -> None:
    directory.put("quotes", "q1", QUOTE)
    refused = invoke("CreateApprovalFunction", user="req", body=quote_body())
    assert (refused["statusCode"], refused["json"]["errorCode"]) == (400, "APPROVAL-400004")
    assert "enableQuoteApprovalProcess" in refused["json"]["message"]
    directory.put("settings", "approval", {"enableQuoteApprovalProcess": True})
    directory.put("settings", "approval", {"enableQuoteApprovalProcess": False})
    again = invoke("CreateApprovalFunction", user="req", body=quote_body())
    assert again["json"]["errorCode"] == "APPROVAL-400004"


def test_rule_14_unknown_settings_are_refused(directory: Directory) -> None:
    assert directory.put("settings", "approval", {"enableQuoteApproval": True})["statusCode"] == 400
    assert directory.put("settings", "other", {"enableQuoteApprovalProcess": True})["statusCode"] == 400


def test_rule_14_quotes_from_emporix_events_serve_an_approval(tables: dict[str, str], tenant: str) -> None:
    feed = DirectoryFeed(DynamoDirectoryWriter(dynamodb_client(), tables["DirectoryTable"]))
    sample = json.loads((Path(__file__).resolve().parents[2] / "events/emporix/quote-created.json").read_text())
    apply_event(feed, tenant, "quote.created", sample)
    quote = DynamoDirectory(dynamodb_client(), tables["DirectoryTable"]).get_quote(tenant, "nw-quote")
    assert quote is not None
    assert (quote.customerId, quote.companyId, quote.version) == ("nora", "nw", 1)
    assert quote.items[0].newUnitPrice is not None
    assert quote.items[0].newUnitPrice.amount == Decimal(135)
    apply_event(feed, tenant, "quote.updated", {**sample, "items": [], "metadata": {"version": 2}})
    updated = DynamoDirectory(dynamodb_client(), tables["DirectoryTable"]).get_quote(tenant, "nw-quote")
    assert updated is not None
    assert (updated.items, updated.version) == ([], 2)
    apply_event(feed, tenant, "quote.deleted", {"id": "nw-quote", "metadata": {"version": 3}})
    assert DynamoDirectory(dynamodb_client(), tables["DirectoryTable"]).get_quote(tenant, "nw-quote") is None


# --------------------------------------------------------------------------- rule 15
def test_rule_15_legal_entity_round_trips_and_filters(invoke: Invoke) -> None:
    approval_id = create(invoke)
    listed = invoke("ListApprovalsFunction", user="req", query={"q": "legalEntity.id:c1"})["json"]
    assert [approval["id"] for approval in listed] == [approval_id]
    assert listed[0]["legalEntity"] == {"id": "c1"}
    assert invoke("ListApprovalsFunction", user="req", query={"q": "legalEntity.id:c2"})["json"] == []


# --------------------------------------------------------------------------- rules 16 and 17
def test_rule_16_created_resource_round_trips_once(invoke: Invoke) -> None:
    approval_id = create(invoke)
    approve(invoke, approval_id)
    assert order(invoke, approval_id, "req")["statusCode"] == 204
    approval = invoke("GetApprovalFunction", user="admin", approval_id=approval_id)["json"]
    assert approval["createdResource"] == {"id": "order-1"}
    assert approval["status"] == "APPROVED"
    assert [entry["action"] for entry in approval["history"]] == ["CREATED", "APPROVED", "ORDERED"]
    again = order(invoke, approval_id, "admin", "order-2")
    assert (again["statusCode"], again["json"]["errorCode"]) == (400, "APPROVAL-400015")
    comment = invoke(
        "UpdateApprovalFunction",
        user="req",
        approval_id=approval_id,
        body=[{"op": "add", "path": "/comment", "value": "x"}],
    )
    assert comment["json"]["errorCode"] == "APPROVAL-400009"


def test_rule_17_approving_by_ordering_is_one_conditional_write(
    invoke: Invoke, dynamodb_requests: RequestCounter
) -> None:
    approval_id = create(invoke)
    dynamodb_requests.operations.clear()
    platform = {"scope": PLATFORM_SCOPES}
    assert order(invoke, approval_id, "checkout-client", claims=platform)["statusCode"] == 204
    assert dynamodb_requests.operations == ["GetItem", "TransactWriteItems"]
    approval = invoke("GetApprovalFunction", user="req", approval_id=approval_id)["json"]
    assert approval["status"] == "APPROVED"
    assert approval["createdResource"] == {"id": "order-1"}
    assert [(entry["action"], entry["by"], entry["version"]) for entry in approval["history"][1:]] == [
        ("APPROVED", "admin", 2),
        ("ORDERED", "checkout-client", 3),
    ]
    assert approval["metadata"]["version"] == 3
    assert permitted(invoke, "req")["reason"] == "ALREADY_USED"


def test_rule_17_the_requestor_cannot_approve_by_ordering(invoke: Invoke) -> None:
    approval_id = create(invoke)
    refused = order(invoke, approval_id, "req")
    assert (refused["statusCode"], refused["json"]["errorCode"]) == (400, "APPROVAL-400002")
    stranger = order(invoke, approval_id, "buyer2")
    assert stranger["statusCode"] == 404


# --------------------------------------------------------------------------- rules 18 and 19
def test_rule_18_a_changed_cart_is_not_permitted_and_may_get_a_new_approval(
    invoke: Invoke, directory: Directory, dynamodb_requests: RequestCounter
) -> None:
    approval_id = create(invoke)
    approve(invoke, approval_id)
    assert permitted(invoke, "req")["permitted"] is True
    cart = directory.call("GET", "carts", "cart-req")["json"]
    cart["items"][0]["quantity"] = 10
    assert directory.put("carts", "cart-req", cart)["statusCode"] == 200
    dynamodb_requests.operations.clear()
    assert permitted(invoke, "req") == {
        "action": "CHECKOUT",
        "permitted": False,
        "status": "APPROVED",
        "approvalId": approval_id,
        "reason": "RESOURCE_CHANGED",
    }
    assert dynamodb_requests.operations == ["BatchGetItem"]
    second = create(invoke)
    approve(invoke, second)
    assert permitted(invoke, "req")["approvalId"] == second
    assert permitted(invoke, "req")["permitted"] is True


def test_rule_18_an_unchanged_approved_cart_still_refuses_a_second_approval(invoke: Invoke) -> None:
    approve(invoke, create(invoke))
    refused = invoke("CreateApprovalFunction", user="req", body=create_body())
    assert refused["json"]["errorCode"] == "APPROVAL-400005"


def test_rule_19_a_used_approval_is_not_permitted_twice(invoke: Invoke) -> None:
    approval_id = create(invoke)
    approve(invoke, approval_id)
    assert permitted(invoke, "req")["permitted"] is True
    assert order(invoke, approval_id, "admin")["statusCode"] == 204
    assert permitted(invoke, "req") == {
        "action": "CHECKOUT",
        "permitted": False,
        "status": "APPROVED",
        "approvalId": approval_id,
        "reason": "ALREADY_USED",
    }
    assert create(invoke) != approval_id


# --------------------------------------------------------------------------- the feed's other ways in
def test_the_import_and_the_seed_load_quotes_and_settings(tables: dict[str, str], tmp_path: Path) -> None:
    from approvals_admin.importer import run_import
    from approvals_local.seed import load_seed, read_seed

    seed = {
        "tenants": {
            "imported": {"quotes": [{"id": "q9", **QUOTE}], "settings": {"enableQuoteApprovalProcess": True}},
        }
    }
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed))
    writer = DynamoDirectoryWriter(dynamodb_client(), tables["DirectoryTable"])
    summary = run_import(path, writer, "test", report=lambda _: None)
    assert (summary.written, summary.refused) == (2, 0)
    reader = DynamoDirectory(dynamodb_client(), tables["DirectoryTable"])
    assert reader.get_tenant_settings("imported").enable_quote_approval_process is True
    seeded = {"tenants": {"seeded": seed["tenants"]["imported"]}}
    path.write_text(json.dumps(seeded))
    load_seed(dynamodb_client(), tables["DirectoryTable"], read_seed(path))
    quote = reader.get_quote("seeded", "q9")
    assert quote is not None
    assert quote.items[0].itemId == "line-1"
    assert reader.get_tenant_settings("seeded").enable_quote_approval_process is True
    assert reader.get_tenant_settings("nowhere").enable_quote_approval_process is False


def test_rule_16_recording_an_order_over_another_version_is_409002(invoke: Invoke) -> None:
    approval_id = create(invoke)
    approve(invoke, approval_id)
    stale = order(invoke, approval_id, "req", headers={"If-Match": "1"})
    assert (stale["statusCode"], stale["json"]["errorCode"]) == (409, "APPROVAL-409002")


def test_rule_16_the_store_tells_a_lost_race_from_a_used_approval(
    invoke: Invoke, tables: dict[str, str], tenant: str
) -> None:
    from approval_core.adapters.approval_store import DynamoApprovalStore
    from approval_core.domain.errors import ConcurrentModification, CreatedResourceAlreadySet
    from approval_core.domain.models import Reference, Status

    approval_id = create(invoke)
    approve(invoke, approval_id)
    store = DynamoApprovalStore(dynamodb_client(), tables["ApprovalsTable"])
    stored = store.get(tenant, approval_id)
    assert stored is not None
    used = stored.model_copy(update={"createdResource": Reference(id="order-9")})
    with pytest.raises(ConcurrentModification):
        store.update(tenant, used, expected_version=1, now="2026-01-01T00:00:00.000Z", expected_status=Status.APPROVED)
    assert order(invoke, approval_id, "req")["statusCode"] == 204
    with pytest.raises(CreatedResourceAlreadySet):
        store.update(tenant, used, expected_version=2, now="2026-01-01T00:00:00.000Z", expected_status=Status.APPROVED)


def test_rule_17_approving_by_ordering_publishes_both_events_from_its_one_stream_record(invoke: Invoke) -> None:
    from approval_core.api.stream import publish_changes
    from tests.integration.test_expiry_and_events import RecordingPublisher, stream_records

    approval_id = create(invoke)
    assert order(invoke, approval_id, "admin")["statusCode"] == 204
    publisher = RecordingPublisher()
    assert publish_changes({"Records": stream_records(approval_id)}, publisher) == {"batchItemFailures": []}
    assert [(e.detail_type, e.detail["version"], e.detail["by"]) for e in publisher.events] == [
        ("Approval Created", 1, "req"),
        ("Approval Approved", 2, "admin"),
        ("Approval Ordered", 3, "admin"),
    ]
