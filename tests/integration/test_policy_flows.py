"""Approvals under approval policies, through the handlers against DynamoDB (rules 22 to 28):
the flow an approval records, tiered decisions, quorum, races, own limits, what each eligible
approver reads, and what each request costs."""

from __future__ import annotations

import uuid
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest

from approval_core.adapters.approval_store import DynamoApprovalStore
from approval_core.adapters.directory import DynamoDirectoryWriter
from approval_core.api.wiring import dynamodb_client
from approval_core.domain.directory import CustomerEntry
from approval_core.domain.models import Approval, FlowPolicy, Person, Status
from tests.dynamodb_rules import REFUSALS
from tests.integration.conftest import Invoke, RequestCounter
from tests.integration.test_expiry_and_events import always, approvals, fresh_store, sweeper
from tests.integration.test_policies_api import Policies, policy_body

__all__ = ["fresh_store"]  # the fixture, used here
APPROVE = [{"op": "replace", "path": "/status", "value": "APPROVED"}]
DECLINE = [{"op": "replace", "path": "/status", "value": "DECLINED"}]
# cart-req (250.10 EUR) is above it, cart-req-2 (80 EUR) below.
CONDITION = "resource.totalPrice.amount:>=100 resource.totalPrice.currency:EUR"


def ask(cart: str = "cart-req", approver: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"resourceType": "CART", "resourceId": cart, "action": "CHECKOUT"}
    if approver is not None:
        body["approver"] = {"userId": approver}
    return body


@pytest.fixture
def policies(handlers: dict[str, ModuleType], tenant: str) -> Policies:
    return Policies(handlers, tenant)


@pytest.fixture
def two_tiers(policies: Policies) -> dict[str, Any]:
    """ACME's policy: one of the two buyers, then an admin (admin or usadmin)."""
    created = policies.call("POST", body=policy_body(condition=CONDITION))
    assert created["statusCode"] == 201, created
    return dict(created["json"])


def create(invoke: Invoke, user: str = "req", **options: Any) -> str:
    created = invoke("CreateApprovalFunction", user=user, body=ask(**options))
    assert created["statusCode"] == 201, created
    return str(created["json"]["id"])


def read(invoke: Invoke, approval_id: str, user: str = "req") -> dict[str, Any]:
    response = invoke("GetApprovalFunction", user=user, approval_id=approval_id)
    assert response["statusCode"] == 200, response
    return dict(response["json"])


def decide(invoke: Invoke, approval_id: str, user: str, body: Any = APPROVE, **options: Any) -> dict[str, Any]:
    return invoke("UpdateApprovalFunction", user=user, approval_id=approval_id, body=body, **options)


def pending(document: dict[str, Any]) -> list[str]:
    return [person["userId"] for person in document.get("pendingApprovers", [])]


# --------------------------------------------------------------------------- rule 22/24: matching
def test_rule_22_without_policies_create_is_unchanged_and_costs_two_requests(
    invoke: Invoke, dynamodb_requests: RequestCounter
) -> None:
    approval_id = create(invoke, approver="admin")
    assert dynamodb_requests.operations == ["BatchGetItem", "TransactWriteItems"]
    assert "flow" not in read(invoke, approval_id)


def test_rule_22_one_policy_matches_and_the_approval_records_its_flow(
    invoke: Invoke, two_tiers: dict[str, Any], dynamodb_requests: RequestCounter
) -> None:
    dynamodb_requests.operations.clear()
    approval_id = create(invoke)
    assert dynamodb_requests.operations == ["BatchGetItem", "Query", "TransactWriteItems"]
    document = read(invoke, approval_id)
    [flow] = document["flow"]
    assert (flow["policyId"], flow["currentTier"], flow["version"]) == ("big", 1, 1)
    assert [[p["userId"] for p in tier["approvers"]] for tier in flow["tiers"]] == [
        ["buyer", "buyer2"],
        ["admin", "usadmin"],
    ]
    assert pending(document) == ["buyer", "buyer2"]
    assert document["approver"]["userId"] == "buyer"  # the first eligible approver, for Emporix clients


def test_rule_22_below_the_condition_no_policy_matches_and_rules_1_to_5_apply(
    invoke: Invoke, two_tiers: dict[str, Any]
) -> None:
    missing = invoke("CreateApprovalFunction", user="req", body=ask("cart-req-2"))
    assert (missing["statusCode"], missing["json"]["errorCode"]) == (400, "APPROVAL-400001")
    approval_id = create(invoke, cart="cart-req-2", approver="admin")
    assert "flow" not in read(invoke, approval_id)


def test_rule_22_a_policy_that_does_not_apply_to_the_group_leaves_the_buyer_to_rule_4(
    invoke: Invoke, two_tiers: dict[str, Any]
) -> None:
    refused = invoke("CreateApprovalFunction", user="buyer", body=ask("cart-buyer-small", approver="admin"))
    assert (refused["statusCode"], refused["json"]["errorCode"]) == (400, "APPROVAL-400008")


def test_rule_22_a_condition_on_another_currency_does_not_match(invoke: Invoke, policies: Policies) -> None:
    usd = policy_body(condition="resource.totalPrice.currency:USD")
    assert policies.call("POST", body=usd)["statusCode"] == 201
    approval_id = create(invoke, approver="admin")
    assert "flow" not in read(invoke, approval_id)


def test_rule_22_two_policies_both_match_and_both_must_be_satisfied(invoke: Invoke, policies: Policies) -> None:
    buyers = policy_body(id="buyers", condition=None, tiers=[{"name": "B", "approvers": [{"userId": "buyer"}]}])
    admins = policy_body(id="admins", condition=None, tiers=[{"name": "A", "approvers": [{"userId": "admin"}]}])
    assert policies.call("POST", body=buyers)["statusCode"] == 201
    assert policies.call("POST", body=admins)["statusCode"] == 201
    approval_id = create(invoke, approver="admin")
    assert sorted(pending(read(invoke, approval_id))) == ["admin", "buyer"]
    assert decide(invoke, approval_id, "admin")["statusCode"] == 204
    assert read(invoke, approval_id)["status"] == "PENDING"
    assert decide(invoke, approval_id, "buyer")["statusCode"] == 204
    assert read(invoke, approval_id)["status"] == "APPROVED"


def test_rule_22_a_buyer_within_the_limit_whom_a_policy_matches_needs_the_approval(
    invoke: Invoke, policies: Policies
) -> None:
    body = policy_body(appliesTo={"groups": ["B2B_BUYER"]}, condition=None)
    body["tiers"] = [{"name": "Admin", "approvers": [{"group": "B2B_ADMIN"}]}]
    assert policies.call("POST", body=body)["statusCode"] == 201
    approval_id = create(invoke, user="buyer", cart="cart-buyer-small")
    assert pending(read(invoke, approval_id, user="buyer")) == ["admin", "usadmin"]


# --------------------------------------------------------------------------- rule 25: the approver
def test_rule_25_a_named_approver_must_be_eligible_in_a_first_tier(invoke: Invoke, two_tiers: dict[str, Any]) -> None:
    later = invoke("CreateApprovalFunction", user="req", body=ask(approver="admin"))
    assert (later["statusCode"], later["json"]["errorCode"]) == (400, "APPROVAL-400006")
    approval_id = create(invoke, approver="buyer2")
    assert read(invoke, approval_id)["approver"]["userId"] == "buyer2"


# --------------------------------------------------------------------------- rule 26: deciding
def test_rule_26_a_buyer_then_the_admin_approve_and_each_step_costs_two_requests(
    invoke: Invoke, two_tiers: dict[str, Any], dynamodb_requests: RequestCounter
) -> None:
    approval_id = create(invoke)
    early = decide(invoke, approval_id, "admin")
    assert (early["statusCode"], early["json"]["errorCode"]) == (400, "APPROVAL-400014")
    dynamodb_requests.operations.clear()
    assert decide(invoke, approval_id, "buyer2")["statusCode"] == 204
    assert dynamodb_requests.operations == ["GetItem", "TransactWriteItems"]
    document = read(invoke, approval_id, user="admin")
    assert (document["status"], document["flow"][0]["currentTier"]) == ("PENDING", 2)
    assert pending(document) == ["admin", "usadmin"]
    late = decide(invoke, approval_id, "buyer")
    assert (late["statusCode"], late["json"]["errorCode"]) == (400, "APPROVAL-400014")
    again = decide(invoke, approval_id, "buyer2")
    assert (again["statusCode"], again["json"]["errorCode"]) == (400, "APPROVAL-400013")
    permitted = invoke("CheckPermittedFunction", user="req", body={"resourceType": "CART", "resourceId": "cart-req"})
    assert permitted["json"]["permitted"] is False
    dynamodb_requests.operations.clear()
    assert decide(invoke, approval_id, "usadmin")["statusCode"] == 204
    assert dynamodb_requests.operations == ["GetItem", "TransactWriteItems"]
    document = read(invoke, approval_id)
    assert (document["status"], document["flow"][0].get("currentTier"), pending(document)) == ("APPROVED", None, [])
    decisions = [(e["by"], e["action"], [s["tier"] for s in e.get("tiers", [])]) for e in document["history"]]
    assert decisions == [("req", "CREATED", []), ("buyer2", "TIER_APPROVED", [1]), ("usadmin", "APPROVED", [2])]
    permitted = invoke("CheckPermittedFunction", user="req", body={"resourceType": "CART", "resourceId": "cart-req"})
    assert permitted["json"]["permitted"] is True


def test_rule_26_decline_at_tier_2_after_approval_at_tier_1(invoke: Invoke, two_tiers: dict[str, Any]) -> None:
    approval_id = create(invoke)
    assert decide(invoke, approval_id, "buyer")["statusCode"] == 204
    assert decide(invoke, approval_id, "admin", DECLINE)["statusCode"] == 204
    document = read(invoke, approval_id, user="buyer2")
    assert document["status"] == "DECLINED"
    assert document["history"][-1]["tiers"] == [{"policyId": "big", "tier": 2, "tierName": "Admin"}]


def test_rule_26_quorum_2_of_3_with_concurrent_approvals_all_counted(
    invoke: Invoke, handlers: dict[str, ModuleType], policies: Policies, tenant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = policy_body(
        condition=None,
        tiers=[{"name": "Trio", "approvers": [{"group": "B2B_ADMIN"}, {"userId": "buyer"}], "required": 2}],
    )
    assert policies.call("POST", body=body)["statusCode"] == 201
    approval_id = create(invoke)
    store = handlers["UpdateApprovalFunction"].service.store
    read_before_anyone: Approval = store.get(tenant, approval_id)
    real_get = store.get
    stale_reads = iter([read_before_anyone])

    def get_as_when_both_read(tenant_: str, approval_id_: str) -> Approval | None:
        # usadmin read the approval before admin's approval was written: their write loses the race.
        return next(stale_reads, None) or real_get(tenant_, approval_id_)

    assert decide(invoke, approval_id, "admin")["statusCode"] == 204
    monkeypatch.setattr(store, "get", get_as_when_both_read)
    assert decide(invoke, approval_id, "usadmin")["statusCode"] == 204
    monkeypatch.undo()
    document = read(invoke, approval_id)
    assert document["status"] == "APPROVED"
    assert sorted(a["userId"] for a in document["flow"][0]["tiers"][0]["approvals"]) == ["admin", "usadmin"]


def test_rule_26_a_client_naming_a_version_gets_the_conflict(
    invoke: Invoke, policies: Policies, two_tiers: dict[str, Any]
) -> None:
    approval_id = create(invoke)
    stale = decide(invoke, approval_id, "buyer", headers={"If-Match": "7"})
    assert (stale["statusCode"], stale["json"]["errorCode"]) == (409, "APPROVAL-409002")


# --------------------------------------------------------------------------- rule 27: reading
def test_rule_27_every_eligible_approver_reads_it_and_lists_it_in_one_request(
    invoke: Invoke, two_tiers: dict[str, Any], dynamodb_requests: RequestCounter
) -> None:
    approval_id = create(invoke)
    for user in ("buyer", "buyer2", "admin", "usadmin"):
        assert read(invoke, approval_id, user=user)["id"] == approval_id
        dynamodb_requests.operations.clear()
        listed = invoke("ListApprovalsFunction", user=user, query={})
        assert [a["id"] for a in listed["json"]] == [approval_id], user
        assert dynamodb_requests.operations == ["Query"], user
    assert invoke("GetApprovalFunction", user="plain", approval_id=approval_id)["statusCode"] == 404


def test_rule_27_status_filters_and_totals_include_the_watched_approvals(
    invoke: Invoke, two_tiers: dict[str, Any]
) -> None:
    approval_id = create(invoke)
    own = create(invoke, user="buyer", cart="cart-buyer-big", approver="admin")
    pending_list = invoke(
        "ListApprovalsFunction", user="admin", query={"q": "status:PENDING"}, headers={"X-Total-Count": "true"}
    )
    assert sorted(a["id"] for a in pending_list["json"]) == sorted([approval_id, own])
    assert pending_list["headers"]["X-Total-Count"] == "2"
    assert decide(invoke, approval_id, "buyer")["statusCode"] == 204
    assert decide(invoke, approval_id, "admin")["statusCode"] == 204
    approved = invoke(
        "ListApprovalsFunction", user="usadmin", query={"q": "status:APPROVED"}, headers={"X-Total-Count": "true"}
    )
    assert [a["id"] for a in approved["json"]] == [approval_id]
    assert approved["headers"]["X-Total-Count"] == "1"
    everything = invoke("ListApprovalsFunction", user="usadmin", query={}, headers={"X-Total-Count": "true"})
    assert everything["headers"]["X-Total-Count"] == "1"


# --------------------------------------------------------------------------- snapshots
def test_rule_24_a_policy_edited_while_an_approval_is_pending_leaves_its_snapshot(
    invoke: Invoke, policies: Policies, two_tiers: dict[str, Any]
) -> None:
    approval_id = create(invoke)
    only_admin = policy_body(condition=CONDITION, tiers=[{"name": "Admin", "approvers": [{"userId": "admin"}]}])
    assert policies.call("PUT", "big", only_admin)["statusCode"] == 200
    document = read(invoke, approval_id)
    assert [tier["name"] for tier in document["flow"][0]["tiers"]] == ["Buyers", "Admin"]
    assert decide(invoke, approval_id, "buyer")["statusCode"] == 204
    later = create(invoke, cart="cart-req-2", approver="admin")  # below the condition: no flow
    assert "flow" not in read(invoke, later)


# --------------------------------------------------------------------------- rule 28: own limits
def test_rule_28_an_approver_above_their_own_limit_is_refused(
    invoke: Invoke, tables: dict[str, str], tenant: str, two_tiers: dict[str, Any]
) -> None:
    writer = DynamoDirectoryWriter(dynamodb_client(), tables["DirectoryTable"])
    limited = CustomerEntry(
        id="buyer2",
        firstName="Buyer2",
        lastName="Tester",
        groups=["B2B_BUYER"],
        companies=["c1"],
        approvalLimit={"currency": "EUR", "amount": Decimal(100)},
    )
    writer.put_customer(tenant, limited)
    approval_id = create(invoke)
    assert pending(read(invoke, approval_id, user="buyer2")) == ["buyer"]
    refused = decide(invoke, approval_id, "buyer2")
    assert (refused["statusCode"], refused["json"]["errorCode"]) == (400, "APPROVAL-400012")


# --------------------------------------------------------------------------- the bound
def test_rule_24_twenty_five_eligible_approvers_fit_dynamodbs_transactions(
    invoke: Invoke, tables: dict[str, str], tenant: str, policies: Policies
) -> None:
    writer = DynamoDirectoryWriter(dynamodb_client(), tables["DirectoryTable"])
    crowd = [f"app{n:02d}" for n in range(23)]  # with admin and usadmin: 25 eligible approvers
    for user in crowd:
        writer.put_customer(tenant, CustomerEntry(id=user, groups=["B2B_ADMIN"], companies=["c1"]))
    body = policy_body(
        condition=None, tiers=[{"name": "Everyone", "approvers": [{"group": "B2B_ADMIN"}], "required": 2}]
    )
    assert policies.call("POST", body=body)["statusCode"] == 201
    refusals = len(REFUSALS)
    approval_id = create(invoke)
    assert len(read(invoke, approval_id)["pendingApprovers"]) == 25
    assert decide(invoke, approval_id, "app07")["statusCode"] == 204
    assert decide(invoke, approval_id, "app21")["statusCode"] == 204
    assert read(invoke, approval_id, user="app00")["status"] == "APPROVED"
    assert len(REFUSALS) == refusals


# --------------------------------------------------------------------------- expiry
def test_rule_24_the_whole_flow_expires_with_every_eligible_approvers_copy(fresh_store: DynamoApprovalStore) -> None:
    approvers = [{"userId": f"a{n:02d}"} for n in range(25)]
    approval = approvals(1, overdue=1)[0].model_copy(
        update={
            "approver": Person(userId="a00"),
            "flow": [
                FlowPolicy.model_validate(
                    {
                        "policyId": "p",
                        "name": "All",
                        "version": 1,
                        "currentTier": 1,
                        "tiers": [{"name": "All", "required": 1, "approvers": approvers}],
                    }
                )
            ],
        }
    )
    refusals = len(REFUSALS)
    fresh_store.create("acme", approval, now="2026-01-01T00:00:00.000Z")
    result = sweeper(fresh_store).expire_overdue(always)
    assert (result.expired, result.skipped) == (1, 0)
    assert len(REFUSALS) == refusals
    for user in ("req0", "a00", "a24"):
        [copy] = fresh_store.list_for_participant("acme", user, None)
        assert copy.status is Status.EXPIRED, user


def test_the_suite_holds_moto_to_dynamodbs_100_items_per_transaction(tables: dict[str, str]) -> None:
    from botocore.exceptions import ClientError

    from approval_core.adapters.dynamodb import to_item

    writes: list[Any] = [
        {"Put": {"TableName": tables["DirectoryTable"], "Item": to_item({"PK": f"limit-{n}", "SK": "x"})}}
        for n in range(101)
    ]
    with pytest.raises(ClientError, match="less than or equal to 100"):
        dynamodb_client().transact_write_items(TransactItems=writes)


# --------------------------------------------------------------------------- permitted and search users
CART_QUERY = {"resourceType": "CART", "resourceId": "cart-buyer-small"}


def test_rule_22_companies_without_policies_pay_nothing_for_permitted_and_search(
    invoke: Invoke, dynamodb_requests: RequestCounter
) -> None:
    assert invoke("CheckPermittedFunction", user="buyer", body=CART_QUERY)["json"]["permitted"] is True
    assert dynamodb_requests.operations == ["BatchGetItem"]
    dynamodb_requests.operations.clear()
    found = invoke("SearchUsersFunction", user="req", body={"resourceType": "CART", "resourceId": "cart-req"})
    assert [user["userId"] for user in found["json"]] == ["admin", "buyer", "buyer2", "usadmin"]
    assert dynamodb_requests.operations == ["BatchGetItem", "Query"]


def test_rule_22_a_buyer_within_the_limit_whom_a_policy_matches_is_not_permitted_alone(
    invoke: Invoke, policies: Policies, dynamodb_requests: RequestCounter
) -> None:
    body = policy_body(appliesTo={"groups": ["B2B_BUYER"]}, condition=None)
    body["tiers"] = [{"name": "Admin", "approvers": [{"group": "B2B_ADMIN"}]}]
    assert policies.call("POST", body=body)["statusCode"] == 201
    dynamodb_requests.operations.clear()
    assert invoke("CheckPermittedFunction", user="buyer", body=CART_QUERY)["json"]["permitted"] is False
    assert dynamodb_requests.operations == ["BatchGetItem", "Query"]


def test_rule_27_search_users_returns_the_first_tiers_eligible_approvers_in_two_requests(
    invoke: Invoke, two_tiers: dict[str, Any], dynamodb_requests: RequestCounter
) -> None:
    dynamodb_requests.operations.clear()
    found = invoke("SearchUsersFunction", user="req", body={"resourceType": "CART", "resourceId": "cart-req"})
    assert [user["userId"] for user in found["json"]] == ["buyer", "buyer2"]
    assert dynamodb_requests.operations == ["BatchGetItem", "Query"]


def test_rule_28_search_users_leaves_out_an_approver_above_their_own_limit(
    invoke: Invoke, tables: dict[str, str], tenant: str
) -> None:
    writer = DynamoDirectoryWriter(dynamodb_client(), tables["DirectoryTable"])
    limit = {"currency": "EUR", "amount": Decimal(100)}
    writer.put_customer(tenant, CustomerEntry(id="buyer2", groups=["B2B_BUYER"], companies=["c1"], approvalLimit=limit))
    found = invoke("SearchUsersFunction", user="req", body={"resourceType": "CART", "resourceId": "cart-req"})
    assert [user["userId"] for user in found["json"]] == ["admin", "buyer", "usadmin"]
    refused = invoke("CreateApprovalFunction", user="req", body=ask(approver="buyer2"))
    assert (refused["statusCode"], refused["json"]["errorCode"]) == (400, "APPROVAL-400006")


def test_a_retried_transaction_whose_token_committed_succeeds_as_on_dynamodb(tables: dict[str, str]) -> None:
    """The SDK retries a transaction whose answer was lost with the same ClientRequestToken, and
    DynamoDB answers success again: the embedded engine too, so a retried create or decision on a
    busy machine is not refused by its own first attempt."""
    from approval_core.adapters.dynamodb import to_item

    token = f"token-{uuid.uuid4().hex}"
    write = {
        "Put": {
            "TableName": tables["DirectoryTable"],
            "Item": to_item({"PK": f"retried-{token}", "SK": "x"}),
            "ConditionExpression": "attribute_not_exists(PK)",
        }
    }
    dynamodb_client().transact_write_items(TransactItems=[write], ClientRequestToken=token)
    dynamodb_client().transact_write_items(TransactItems=[write], ClientRequestToken=token)
    client = dynamodb_client()
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(TransactItems=[write], ClientRequestToken=f"other-{token}")


# --------------------------------------------------------------------------- with the order side and bulk decisions
ORDER = [{"op": "add", "path": "/createdResource", "value": {"id": "order-7"}}]


def test_rule_17_on_a_flow_only_the_approval_that_completes_it_may_approve_by_ordering(
    invoke: Invoke, two_tiers: dict[str, Any]
) -> None:
    approval_id = create(invoke)
    # Tier 1's buyer could approve, but that would not complete the flow: the early approval's error.
    early = decide(invoke, approval_id, "buyer", ORDER)
    assert (early["statusCode"], early["json"]["errorCode"]) == (400, "APPROVAL-400002")
    assert decide(invoke, approval_id, "buyer")["statusCode"] == 204
    # The admin's approval completes it: one write approves on tier 2 and records the order.
    assert decide(invoke, approval_id, "usadmin", ORDER)["statusCode"] == 204
    document = read(invoke, approval_id)
    assert (document["status"], document["createdResource"], pending(document)) == (
        "APPROVED",
        {"id": "order-7"},
        [],
    )
    assert document["flow"][0].get("currentTier") is None
    decisions = [(e["by"], e["action"], [s["tier"] for s in e.get("tiers", [])]) for e in document["history"]]
    assert decisions[-2:] == [("usadmin", "APPROVED", [2]), ("usadmin", "ORDERED", [])]
    used = invoke("CheckPermittedFunction", user="req", body={"resourceType": "CART", "resourceId": "cart-req"})
    assert (used["json"]["permitted"], used["json"]["reason"]) == (False, "ALREADY_USED")


def test_rule_20_a_bulk_decision_on_a_flow_moves_its_tiers_as_a_patch_would(
    invoke: Invoke, two_tiers: dict[str, Any]
) -> None:
    approval_id = create(invoke)
    bulk = invoke("DecideApprovalsFunction", user="buyer", body={"approvalIds": [approval_id], "status": "APPROVED"})
    assert bulk["statusCode"] == 200, bulk
    assert bulk["json"]["results"] == [{"approvalId": approval_id, "code": 204}]
    document = read(invoke, approval_id, user="admin")
    assert (document["status"], document["flow"][0]["currentTier"]) == ("PENDING", 2)
    again = invoke("DecideApprovalsFunction", user="buyer", body={"approvalIds": [approval_id], "status": "APPROVED"})
    assert again["json"]["results"][0]["error"]["errorCode"] == "APPROVAL-400013"
