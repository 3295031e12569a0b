"""PATCH, DELETE, list, permitted and search users through the real handlers against DynamoDB:
statuses, bodies, conditional writes under real concurrency, and what each call costs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from approval_core.adapters.approval_store import DynamoApprovalStore
from approval_core.api.wiring import approval_service, dynamodb_client
from approval_core.domain.caller import Caller
from approval_core.domain.errors import ApprovalError
from approval_core.domain.models import Approval
from tests.integration.conftest import Invoke, RequestCounter
from tests.world import create_body

CART_QUERY = {"resourceType": "CART", "resourceId": "cart-req", "action": "CHECKOUT"}


def create(invoke: Invoke, user: str = "req", **body: Any) -> str:
    response = invoke("CreateApprovalFunction", user=user, body=create_body(**body))
    assert response["statusCode"] == 201, response
    return str(response["json"]["id"])


def patch(invoke: Invoke, approval_id: str, user: str, body: Any, **kwargs: Any) -> dict[str, Any]:
    return invoke("UpdateApprovalFunction", user=user, approval_id=approval_id, body=body, **kwargs)


def read(invoke: Invoke, approval_id: str, user: str = "req") -> dict[str, Any]:
    response = invoke("GetApprovalFunction", user=user, approval_id=approval_id)
    assert response["statusCode"] == 200, response
    return dict(response["json"])


def in_parallel(count: int, action: Callable[[int], int]) -> list[int]:
    statuses: list[int] = []
    barrier = threading.Barrier(count)

    def run(index: int) -> None:
        barrier.wait()
        statuses.append(action(index))

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


# --------------------------------------------------------------------------- PATCH
def test_approver_approves_and_the_requestor_is_permitted(invoke: Invoke) -> None:
    approval_id = create(invoke)
    response = patch(invoke, approval_id, "admin", {"op": "replace", "path": "/status", "value": "APPROVED"})
    assert response["statusCode"] == 204
    assert not response.get("body")
    document = read(invoke, approval_id)
    assert (document["status"], document["metadata"]["version"]) == ("APPROVED", 2)
    assert [entry["action"] for entry in document["history"]] == ["CREATED", "APPROVED"]
    permitted = invoke("CheckPermittedFunction", user="req", body=CART_QUERY)
    assert permitted["json"] == {
        "action": "CHECKOUT",
        "permitted": True,
        "status": "APPROVED",
        "approvalId": approval_id,
    }


def test_rule_5_approved_resource_is_400005_over_http(invoke: Invoke) -> None:
    approval_id = create(invoke)
    patch(invoke, approval_id, "admin", [{"op": "REPLACE", "path": "/status", "value": "APPROVED"}])
    response = invoke("CreateApprovalFunction", body=create_body())
    assert (response["statusCode"], response["json"]["errorCode"]) == (400, "APPROVAL-400005")


@pytest.mark.parametrize(
    ("user", "body", "status", "code"),
    [
        ("req", [{"op": "REPLACE", "path": "/status", "value": "APPROVED"}], 400, "APPROVAL-400002"),
        ("admin", [{"op": "REPLACE", "path": "/status", "value": "SOMETIMES"}], 400, "APPROVAL-400003"),
        ("admin", [{"op": "REPLACE", "path": "/requestor/userId", "value": "admin"}], 400, "APPROVAL-400007"),
        ("admin", [{"op": "ADD", "path": "/comment", "value": "mine now"}], 400, "APPROVAL-400008"),
        ("req", [{"op": "COPY", "path": "/comment", "value": "x"}], 400, "APPROVAL-400010"),
        ("req", [], 400, "APPROVAL-400010"),
        ("req", [{"op": "REPLACE", "path": "/details", "value": "not an object"}], 400, "APPROVAL-400001"),
        (
            "req",
            [{"op": "ADD", "path": "/details/addresses/0/zipCode", "value": "123456789012"}],
            400,
            "APPROVAL-400001",
        ),
        ("buyer2", [{"op": "REPLACE", "path": "/comment", "value": "x"}], 404, "APPROVAL-404001"),
    ],
    ids=["400002", "400003", "400007", "400008", "400010-op", "400010-empty", "400001-type", "400001-zip", "404001"],
)
def test_patch_error_codes_leave_the_approval_unchanged(
    invoke: Invoke, user: str, body: Any, status: int, code: str
) -> None:
    approval_id = create(invoke, details={"addresses": [{"street": "Main", "type": "SHIPPING"}]})
    before = read(invoke, approval_id)
    response = patch(invoke, approval_id, user, body)
    assert (response["statusCode"], response["json"]["errorCode"]) == (status, code)
    assert read(invoke, approval_id) == before


def test_rule_7_patch_of_a_finished_approval_is_400009(invoke: Invoke) -> None:
    approval_id = create(invoke)
    patch(invoke, approval_id, "admin", [{"op": "REPLACE", "path": "/status", "value": "DECLINED"}])
    response = patch(invoke, approval_id, "req", [{"op": "ADD", "path": "/comment", "value": "again"}])
    assert (response["statusCode"], response["json"]["errorCode"]) == (400, "APPROVAL-400009")


def test_rule_9_if_match_mismatch_is_409002(invoke: Invoke) -> None:
    approval_id = create(invoke)
    response = patch(
        invoke, approval_id, "req", [{"op": "ADD", "path": "/comment", "value": "x"}], headers={"If-Match": "5"}
    )
    assert (response["statusCode"], response["json"]["errorCode"]) == (409, "APPROVAL-409002")


def test_rule_7_and_9_the_database_condition_tells_finished_from_concurrent(invoke: Invoke, tenant: str) -> None:
    """The store's conditional write, not a read before it, refuses a stale or finished write."""
    approval_id = create(invoke)
    store = DynamoApprovalStore(dynamodb_client(), _table())
    stale = store.get(tenant, approval_id)
    assert stale is not None
    patch(invoke, approval_id, "req", [{"op": "ADD", "path": "/comment", "value": "newer"}])
    from approval_core.domain.errors import ApprovalFinished, ConcurrentModification

    with pytest.raises(ConcurrentModification):
        store.update(tenant, _next(stale), expected_version=1, now="2026-01-01T00:00:00.000Z")
    patch(invoke, approval_id, "admin", [{"op": "REPLACE", "path": "/status", "value": "APPROVED"}])
    with pytest.raises(ApprovalFinished):
        store.update(tenant, _next(stale), expected_version=3, now="2026-01-01T00:00:00.000Z")


def _table() -> str:
    import os

    return os.environ["APPROVALS_TABLE_NAME"]


def _next(approval: Approval) -> Approval:
    metadata = approval.metadata.model_copy(update={"version": approval.metadata.version + 1})
    return approval.model_copy(update={"comment": "stale writer", "metadata": metadata})


# Concurrency is raced through the service, not the handlers: in one process, handlers share the
# Powertools resolver's current event (Lambda runs one invocation per container); the e2e tests
# race the HTTP API, whose containers are processes.
def outcome(action: Callable[[], object]) -> int:
    try:
        action()
    except ApprovalError as refused:
        return refused.status
    return 204


def test_rule_9_concurrent_patches_lose_no_update(invoke: Invoke, tenant: str) -> None:
    approval_id = create(invoke)
    service, requestor = approval_service(), Caller(tenant, "req")

    def edit(index: int) -> int:
        body = [{"op": "ADD", "path": "/comment", "value": f"edit {index}"}]
        return outcome(lambda: service.update_approval(requestor, approval_id, body))

    statuses = in_parallel(8, edit)
    assert set(statuses) <= {204, 409}
    assert 409 in statuses  # the race happened: some writers lost and were told so
    document = read(invoke, approval_id)
    assert document["metadata"]["version"] == 1 + statuses.count(204)
    assert len(document["history"]) == 1 + statuses.count(204)


def test_racing_approve_and_decline_have_exactly_one_winner(invoke: Invoke, tenant: str) -> None:
    approval_id = create(invoke)
    service, approver = approval_service(), Caller(tenant, "admin")

    def decide(index: int) -> int:
        body = [{"op": "REPLACE", "path": "/status", "value": "APPROVED" if index % 2 else "DECLINED"}]
        return outcome(lambda: service.update_approval(approver, approval_id, body))

    statuses = in_parallel(6, decide)
    assert statuses.count(204) == 1
    document = read(invoke, approval_id)
    assert document["metadata"]["version"] == 2
    assert document["history"][-1]["status"] == document["status"]


def test_delete_racing_an_approval_leaves_a_consistent_state(invoke: Invoke, tenant: str) -> None:
    approval_id = create(invoke)
    service = approval_service()
    approve = [{"op": "REPLACE", "path": "/status", "value": "APPROVED"}]
    actions = [
        lambda: service.close_approval(Caller(tenant, "req"), approval_id),
        lambda: service.update_approval(Caller(tenant, "admin"), approval_id, approve),
    ]
    statuses = in_parallel(2, lambda index: outcome(actions[index]))
    assert statuses.count(204) == 1
    document = read(invoke, approval_id)
    assert document["status"] in ("CLOSED", "APPROVED")
    permitted = invoke("CheckPermittedFunction", user="req", body=CART_QUERY)["json"]
    assert permitted["status"] == document["status"]
    assert permitted["permitted"] is (document["status"] == "APPROVED")


# --------------------------------------------------------------------------- DELETE
def test_rule_10_delete_closes_and_frees_the_resource(invoke: Invoke) -> None:
    approval_id = create(invoke)
    assert invoke("CloseApprovalFunction", user="req", approval_id=approval_id)["statusCode"] == 204
    assert read(invoke, approval_id)["status"] == "CLOSED"
    assert create(invoke) != approval_id


def test_rule_10_delete_of_a_finished_approval_is_400001(invoke: Invoke) -> None:
    approval_id = create(invoke)
    invoke("CloseApprovalFunction", user="req", approval_id=approval_id)
    response = invoke("CloseApprovalFunction", user="req", approval_id=approval_id)
    assert (response["statusCode"], response["json"]["errorCode"]) == (400, "APPROVAL-400001")


def test_rule_10_delete_by_the_approver_is_400008(invoke: Invoke) -> None:
    approval_id = create(invoke)
    response = invoke("CloseApprovalFunction", user="admin", approval_id=approval_id)
    assert (response["statusCode"], response["json"]["errorCode"]) == (400, "APPROVAL-400008")


# --------------------------------------------------------------------------- list
def test_list_returns_the_callers_approvals_with_total(invoke: Invoke) -> None:
    first = create(invoke)
    second = create(invoke, resource_id="cart-req-2", approver="buyer")
    response = invoke(
        "ListApprovalsFunction",
        user="req",
        query={"q": "status:(PENDING,DECLINED) resource.siteCode:main"},
        headers={"X-Total-Count": "true"},
    )
    assert response["statusCode"] == 200
    assert [document["id"] for document in response["json"]] == [second, first]
    assert response["headers"]["X-Total-Count"] == "2"
    assert [d["id"] for d in invoke("ListApprovalsFunction", user="buyer2", query={})["json"]] == []


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"pageSize": "61"}, "pageSize"),
        ({"pageSize": "0"}, "pageSize"),
        ({"pageNumber": "x"}, "pageNumber"),
        ({"pageNumber": "9" * 5000}, "pageNumber"),
        ({"q": "status:(PENDING"}, "q"),
        ({"q": "status"}, "q"),
        ({"sort": "status:sideways"}, "sort"),
    ],
)
def test_bad_list_parameters_are_400001_naming_the_parameter(invoke: Invoke, query: dict, parameter: str) -> None:
    response = invoke("ListApprovalsFunction", user="req", query=query)
    assert (response["statusCode"], response["json"]["errorCode"]) == (400, "APPROVAL-400001")
    assert response["json"]["message"].startswith(parameter)


def test_list_page_reads_only_the_page_not_the_whole_history(
    invoke: Invoke, tenant: str, dynamodb_requests: RequestCounter
) -> None:
    store = DynamoApprovalStore(dynamodb_client(), _table())
    template = Approval.model_validate(read(invoke, create(invoke)))
    for index in range(70):
        created = f"2030-01-01T00:{index // 60:02d}:{index % 60:02d}.000Z"  # newer than the first one
        store.create(
            tenant,
            template.model_copy(
                update={
                    "id": f"bulk{index:03d}",
                    "resource": template.resource.model_copy(update={"id": f"bulk-cart-{index}"}),
                    "metadata": template.metadata.model_copy(update={"createdAt": created}),
                }
            ),
            now=created,
        )
    scanned: list[int] = []
    dynamodb_client().meta.events.register(
        "after-call.dynamodb.Query", lambda parsed, **_: scanned.append(parsed["ScannedCount"])
    )
    dynamodb_requests.operations.clear()
    response = invoke("ListApprovalsFunction", user="req", query={"pageSize": "10"})
    assert [document["id"] for document in response["json"]][:2] == ["bulk069", "bulk068"]
    assert dynamodb_requests.operations == ["Query"]
    assert scanned == [10]


# --------------------------------------------------------------------------- permitted and search
def test_permitted_for_an_unknown_cart_is_false_not_404(invoke: Invoke) -> None:
    response = invoke("CheckPermittedFunction", user="req", body=CART_QUERY | {"resourceId": "nope"})
    assert (response["statusCode"], response["json"]) == (200, {"action": "CHECKOUT", "permitted": False})


def test_permitted_for_a_caller_in_no_company_is_400011(invoke: Invoke) -> None:
    response = invoke("CheckPermittedFunction", user="nocomp", body=CART_QUERY)
    assert (response["statusCode"], response["json"]["errorCode"]) == (400, "APPROVAL-400011")


def test_search_users_lists_possible_approvers(invoke: Invoke) -> None:
    response = invoke("SearchUsersFunction", user="buyer", body=CART_QUERY | {"resourceId": "cart-buyer-big"})
    assert response["statusCode"] == 200
    assert sorted(user["userId"] for user in response["json"]) == ["admin", "usadmin"]
    assert response["json"][0] == {"userId": "admin", "firstName": "Admin", "lastName": "Tester"}


@pytest.mark.parametrize(
    ("user", "cart", "code"),
    [
        ("req", "nope", "APPROVAL-404002"),
        ("buyer", "cart-req", "APPROVAL-400008"),
        ("nocomp", "cart-nocomp", "APPROVAL-400011"),
    ],
)
def test_search_users_error_codes(invoke: Invoke, user: str, cart: str, code: str) -> None:
    response = invoke("SearchUsersFunction", user=user, body=CART_QUERY | {"resourceId": cart})
    assert response["json"]["errorCode"] == code


@pytest.mark.parametrize("function", ["CheckPermittedFunction", "SearchUsersFunction"])
def test_resource_queries_need_the_type_and_id(invoke: Invoke, function: str) -> None:
    response = invoke(function, user="req", body={"resourceType": "CART", "action": "CHECKOUT"})
    assert (response["statusCode"], response["json"]["details"][0]["message"]) == (400, "resourceId: cannot be null")


@pytest.mark.parametrize("function", ["CheckPermittedFunction", "SearchUsersFunction"])
def test_resource_queries_without_action_default_to_checkout(invoke: Invoke, function: str) -> None:
    without = invoke(function, user="req", body={"resourceType": "CART", "resourceId": "cart-req"})
    with_action = invoke(function, user="req", body=CART_QUERY)
    assert without["statusCode"] == 200, without["json"]
    assert without["json"] == with_action["json"]


# --------------------------------------------------------------------------- cost
def test_patch_costs_two_requests(invoke: Invoke, dynamodb_requests: RequestCounter) -> None:
    approval_id = create(invoke)
    dynamodb_requests.operations.clear()
    patch(invoke, approval_id, "admin", [{"op": "REPLACE", "path": "/status", "value": "APPROVED"}])
    assert dynamodb_requests.operations == ["GetItem", "TransactWriteItems"]


def test_delete_costs_two_requests(invoke: Invoke, dynamodb_requests: RequestCounter) -> None:
    approval_id = create(invoke)
    dynamodb_requests.operations.clear()
    invoke("CloseApprovalFunction", user="req", approval_id=approval_id)
    assert dynamodb_requests.operations == ["GetItem", "TransactWriteItems"]


def test_permitted_costs_one_request(invoke: Invoke, dynamodb_requests: RequestCounter) -> None:
    approval_id = create(invoke)
    dynamodb_requests.operations.clear()
    response = invoke("CheckPermittedFunction", user="req", body=CART_QUERY)
    # The customer, the cart and the lock (which names the approval) in one BatchGetItem.
    assert dynamodb_requests.operations == ["BatchGetItem"]
    answer = {"action": "CHECKOUT", "permitted": False, "status": "PENDING", "approvalId": approval_id}
    assert response["json"] == answer


def test_search_users_costs_two_requests(invoke: Invoke, dynamodb_requests: RequestCounter) -> None:
    invoke("SearchUsersFunction", user="req", body=CART_QUERY)
    assert dynamodb_requests.operations == ["BatchGetItem", "Query"]


def test_list_with_status_filter_costs_two_queries(invoke: Invoke, dynamodb_requests: RequestCounter) -> None:
    create(invoke)
    invoke("ListApprovalsFunction", user="req", query={"q": "status:PENDING"})
    dynamodb_requests.operations.clear()
    invoke("ListApprovalsFunction", user="req", query={"q": "status:PENDING"})
    # The counts with the overdue markers (rule 13), then the PENDING bucket: not the whole history.
    assert dynamodb_requests.operations == ["Query", "Query"]
