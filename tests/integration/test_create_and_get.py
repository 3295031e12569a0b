"""POST and GET through the real handlers against DynamoDB: the contract's statuses, bodies and
costs, as a storefront sees them."""

from __future__ import annotations

import json
import re
import threading
from decimal import Decimal

import pytest

from approval_core.api.wiring import approval_service
from approval_core.domain.caller import Caller
from approval_core.domain.errors import ApprovalError
from approval_core.domain.models import CreateApprovalRequest
from tests.integration.conftest import Invoke, RequestCounter
from tests.world import create_body


def create(invoke: Invoke, user: str = "req", **body: object) -> dict:
    return invoke("CreateApprovalFunction", user=user, body=create_body(**body))  # type: ignore[arg-type]


def test_create_returns_201_with_id_and_get_returns_the_document(invoke: Invoke) -> None:
    created = create(invoke, comment="for the new site")
    assert created["statusCode"] == 201, created
    approval_id = created["json"]["id"]

    read = invoke("GetApprovalFunction", user="admin", approval_id=approval_id)
    assert read["statusCode"] == 200
    document = read["json"]
    assert document["id"] == approval_id
    assert document["status"] == "PENDING"
    assert (document["resourceType"], document["action"]) == ("CART", "CHECKOUT")
    assert document["requestor"] == {"userId": "req", "firstName": "Req", "lastName": "Tester"}
    assert document["approver"] == {"userId": "admin", "firstName": "Admin", "lastName": "Tester"}
    assert document["comment"] == "for the new site"
    assert document["metadata"]["version"] == 1
    assert document["history"][0]["action"] == "CREATED"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", document["expiryDate"])


def test_amounts_keep_their_exact_value_not_their_written_form(invoke: Invoke) -> None:
    # The cart's 250.10 is stored as DynamoDB stores numbers (value, not form: 250.1) and never
    # passes through a binary float on the way.
    approval_id = create(invoke)["json"]["id"]
    raw = invoke("GetApprovalFunction", approval_id=approval_id)["body"]
    assert '"totalPrice":{"currency":"EUR","amount":250.1}' in raw
    assert json.loads(raw, parse_float=Decimal)["resource"]["totalPrice"]["amount"] == Decimal("250.10")


def test_details_are_stored_and_unknown_properties_are_dropped(invoke: Invoke) -> None:
    details = {
        "currency": "EUR",
        "shipping": {"zoneId": "eu", "methodId": "std", "amount": 4.90},
        "addresses": [
            {
                "id": "addr-1",
                "tags": ["home"],
                "street": "Main",
                "zipCode": "10115",
                "country": "DE",
                "type": "SHIPPING",
            }
        ],
    }
    approval_id = create(
        invoke, details=details, resource={"id": "forged", "totalPrice": {"currency": "EUR", "amount": 1}}
    )["json"]["id"]
    document = invoke("GetApprovalFunction", approval_id=approval_id)["json"]
    # The address's id is kept (the storefront reads it back); the address book's tags are not.
    assert document["details"]["addresses"] == [
        {"id": "addr-1", "street": "Main", "zipCode": "10115", "country": "DE", "type": "SHIPPING"}
    ]
    assert document["details"]["shipping"]["amount"] == 4.90
    # The resource is the cart source's snapshot, never the request's.
    assert document["resource"]["id"] == "cart-req"
    assert document["resource"]["totalPrice"]["amount"] == 250.10


def test_rule_6_get_by_a_non_participant_is_404001(invoke: Invoke) -> None:
    approval_id = create(invoke)["json"]["id"]
    response = invoke("GetApprovalFunction", user="buyer2", approval_id=approval_id)
    assert response["statusCode"] == 404
    assert response["json"]["errorCode"] == "APPROVAL-404001"


def test_rule_5_racing_creates_for_one_cart_give_exactly_one_success(tenant: str) -> None:
    """Raced through the service (one process shares the handlers' resolver state); the e2e suite
    races the HTTP API."""
    service = approval_service()
    request = CreateApprovalRequest.model_validate(create_body())
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def race() -> None:
        barrier.wait()
        try:
            service.create_approval(Caller(tenant, "req"), request)
            outcomes.append("created")
        except ApprovalError as refused:
            outcomes.append(refused.error_code or "")

    threads = [threading.Thread(target=race) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["APPROVAL-409001"] * 7 + ["created"]


def test_get_costs_exactly_one_dynamodb_request(invoke: Invoke, dynamodb_requests: RequestCounter) -> None:
    approval_id = create(invoke)["json"]["id"]
    dynamodb_requests.operations.clear()
    invoke("GetApprovalFunction", approval_id=approval_id)
    assert dynamodb_requests.operations == ["GetItem"]


def test_create_costs_one_batch_read_and_one_transaction(invoke: Invoke, dynamodb_requests: RequestCounter) -> None:
    assert create(invoke)["statusCode"] == 201
    assert dynamodb_requests.operations == ["BatchGetItem", "TransactWriteItems"]


# --------------------------------------------------------------------------- error codes over HTTP
@pytest.mark.parametrize(
    ("user", "body", "status", "code"),
    [
        ("req", create_body(approver="admin2"), 400, "APPROVAL-400006"),
        ("buyer", create_body("cart-buyer-small"), 400, "APPROVAL-400008"),
        ("nocomp", create_body("cart-nocomp"), 400, "APPROVAL-400011"),
        ("req", create_body("no-such-cart"), 404, "APPROVAL-404002"),
        ("ghost", create_body("cart-ghost"), 404, "APPROVAL-404003"),
    ],
    ids=["400006", "400008", "400011", "404002", "404003"],
)
def test_create_error_codes(invoke: Invoke, user: str, body: dict, status: int, code: str) -> None:
    response = invoke("CreateApprovalFunction", user=user, body=body)
    assert response["statusCode"] == status
    assert response["json"]["errorCode"] == code
    assert response["json"]["code"] == status
    assert response["json"]["message"]


def test_rule_5_second_pending_approval_is_409001_over_http(invoke: Invoke) -> None:
    create(invoke)
    response = create(invoke, approver="buyer")
    assert response["statusCode"] == 409
    assert response["json"]["errorCode"] == "APPROVAL-409001"


def test_client_given_id_that_exists_is_409001_over_http(invoke: Invoke) -> None:
    assert create(invoke, id="order-4711")["statusCode"] == 201
    response = create(invoke, resource_id="cart-req-2", id="order-4711")
    assert (response["statusCode"], response["json"]["errorCode"]) == (409, "APPROVAL-409001")


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("raw_body", "field"),
    [
        ("{not json", "body"),
        ("[]", "body"),
        (
            json.dumps({"resourceId": "cart-req", "action": "CHECKOUT", "approver": {"userId": "admin"}}),
            "resourceType",
        ),
        (json.dumps(create_body() | {"resourceType": "ORDER"}), "resourceType"),
        (json.dumps(create_body() | {"action": "PAY"}), "action"),
        (json.dumps(create_body() | {"approver": "admin"}), "approver"),
        (json.dumps(create_body() | {"resourceId": 42}), "resourceId"),
        (json.dumps(create_body() | {"comment": "x" * 4001}), "comment"),
        (json.dumps(create_body() | {"details": {"addresses": []}}), "details.addresses"),
        (
            json.dumps(create_body() | {"details": {"addresses": [{"zipCode": "123456789012"}]}}),
            "details.addresses.0.zipCode",
        ),
        (json.dumps(create_body() | {"details": {"shipping": {"amount": -1}}}), "details.shipping.amount"),
        (
            json.dumps(create_body() | {"details": {"payment": {"paymentId": "p", "customAttributes": "x"}}}),
            "details.payment.customAttributes",
        ),
        (
            json.dumps(create_body())[:-1] + ', "details": {"shipping": {"amount": NaN}}}',
            "body",
        ),
    ],
    ids=[
        "malformed",
        "array",
        "missing",
        "enum-type",
        "enum-action",
        "approver-type",
        "id-type",
        "long-comment",
        "no-addresses",
        "zip",
        "negative-shipping",
        "payment-type",
        "nan",
    ],
)
def test_bad_input_is_400001_naming_the_problem(invoke: Invoke, raw_body: str, field: str) -> None:
    response = invoke("CreateApprovalFunction", raw_body=raw_body)
    assert response["statusCode"] == 400, response
    assert response["json"]["errorCode"] == "APPROVAL-400001"
    assert any(detail["message"].startswith(field) for detail in response["json"]["details"]), response["json"]


def test_duplicate_addresses_are_400001(invoke: Invoke) -> None:
    address = {"street": "Main", "zipCode": "10115", "country": "DE", "type": "SHIPPING"}
    response = create(invoke, details={"addresses": [address, dict(address)]})
    assert response["json"]["errorCode"] == "APPROVAL-400001"
    assert "duplicate" in response["body"]


def test_body_over_256_kib_is_413(invoke: Invoke) -> None:
    response = invoke("CreateApprovalFunction", raw_body=json.dumps(create_body(comment="x" * (300 * 1024))))
    assert response["statusCode"] == 413


@pytest.mark.parametrize("path_tenant", ["A!", "ab", "x" * 17, "9abc"])
def test_malformed_tenant_is_400(invoke: Invoke, path_tenant: str) -> None:
    response = invoke("GetApprovalFunction", approval_id="x", path_tenant=path_tenant)
    assert response["statusCode"] == 400
    assert "tenant" in response["json"]["message"]


def test_other_tenant_than_the_tokens_is_403(invoke: Invoke) -> None:
    response = invoke("GetApprovalFunction", approval_id="x", path_tenant="othertenant")
    assert response["statusCode"] == 403


def test_missing_scope_is_403_even_without_api_gateway(invoke: Invoke) -> None:
    response = invoke("CreateApprovalFunction", body=create_body(), claims={"scope": "approval.approval_read_own"})
    assert response["statusCode"] == 403


def test_either_scope_of_the_pair_grants_access(invoke: Invoke) -> None:
    response = invoke("CreateApprovalFunction", body=create_body(), claims={"scope": "approval.approval_manage"})
    assert response["statusCode"] == 201


def test_missing_subject_is_401_as_api_gateway_answers_it(invoke: Invoke) -> None:
    # API Gateway's JWT authorizer does not require sub; the function refuses such a token with
    # the authorizer's own 401 (http-api-troubleshooting-jwt), so clients see one kind of 401.
    response = invoke("GetApprovalFunction", approval_id="x", claims={"sub": None})
    assert response["statusCode"] == 401
    assert response["json"] == {"message": "Unauthorized"}
    assert "the token has no subject" in response["headers"]["www-authenticate"]


def test_scope_is_checked_before_body_size_and_tenant(invoke: Invoke) -> None:
    response = invoke(
        "CreateApprovalFunction",
        raw_body="x" * (300 * 1024),
        path_tenant="othertenant",
        claims={"scope": "approval.approval_read"},
    )
    assert response["statusCode"] == 403


def test_groups_claim_as_api_gateway_flattens_it_is_honoured(invoke: Invoke) -> None:
    response = invoke(
        "CreateApprovalFunction",
        user="plain",
        body=create_body("cart-plain"),
        claims={"cognito:groups": "[B2B_REQUESTER]"},
    )
    assert response["statusCode"] == 201


def test_no_response_carries_a_stack_trace(invoke: Invoke) -> None:
    for raw in ["{", "null", '{"resourceType": []}', "\udcff"]:
        body = invoke("CreateApprovalFunction", raw_body=raw)["body"]
        assert "Traceback" not in body
        assert "Error:" not in body
