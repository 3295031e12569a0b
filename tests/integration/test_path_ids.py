"""Ids in paths, in events shaped as API Gateway (HTTP API, payload 2.0) sends them: it routes on the
path the client sent (``/approvals/ann%3Aorder-1``) and hands the function the decoded ``rawPath``
(``/approvals/ann:order-1``) and decoded ``pathParameters``; Powertools routes on ``rawPath``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import Invoke
from tests.world import create_body

# Ids a client must percent-encode in a path: a colon, a space, non-ASCII letters, and a character
# outside Powertools' route pattern (the euro sign), which only the route key can route.
ENCODED_IDS = ["ann:order-1", "order 4711", "bestellung-müller-äöü", "注文-1", "budget€2026"]
APPROVAL_FUNCTIONS = ["GetApprovalFunction", "UpdateApprovalFunction", "CloseApprovalFunction"]
NOT_PENDING = [{"op": "add", "path": "/comment", "value": "x"}]


def not_found(response: dict[str, Any]) -> bool:
    return response["statusCode"] == 404 and response["json"].get("errorCode") == "APPROVAL-404001"


@pytest.mark.parametrize("approval_id", ENCODED_IDS)
def test_an_id_clients_encode_is_read_changed_and_closed_by_its_decoded_form(invoke: Invoke, approval_id: str) -> None:
    created = invoke("CreateApprovalFunction", body=create_body(id=approval_id))
    assert (created["statusCode"], created["json"]) == (201, {"id": approval_id})

    read = invoke("GetApprovalFunction", user="admin", approval_id=approval_id)
    assert (read["statusCode"], read["json"]["id"]) == (200, approval_id)
    edit = [{"op": "add", "path": "/comment", "value": "urgent"}]
    assert invoke("UpdateApprovalFunction", approval_id=approval_id, body=edit)["statusCode"] == 204
    assert invoke("CloseApprovalFunction", approval_id=approval_id)["statusCode"] == 204
    document = invoke("GetApprovalFunction", approval_id=approval_id)["json"]
    assert (document["status"], document["comment"]) == ("CLOSED", "urgent")


@pytest.mark.parametrize("function", APPROVAL_FUNCTIONS)
@pytest.mark.parametrize("approval_id", ["a/b", "ann:order-1/", "/x"])
def test_an_id_with_an_encoded_slash_is_the_contracts_404_not_a_routing_error(
    invoke: Invoke, function: str, approval_id: str
) -> None:
    # rawPath /approval/<tenant>/approvals/a/b matches no rule of Powertools; the route key does.
    body = NOT_PENDING if function == "UpdateApprovalFunction" else None
    response = invoke(function, approval_id=approval_id, body=body)
    assert not_found(response), response
    assert approval_id in response["json"]["message"]


def test_the_approval_an_encoded_slash_misses_is_not_another_ones(invoke: Invoke) -> None:
    assert invoke("CreateApprovalFunction", body=create_body(id="a"))["statusCode"] == 201
    assert not_found(invoke("GetApprovalFunction", approval_id="a/b"))
    assert invoke("GetApprovalFunction", approval_id="a")["statusCode"] == 200


def test_a_tenant_with_an_encoded_slash_is_still_a_bad_tenant(invoke: Invoke) -> None:
    response = invoke("GetApprovalFunction", approval_id="x", path_tenant="ac/me")
    assert response["statusCode"] == 400
    assert response["json"]["details"][0]["field"] == "tenant"
    listing = invoke("ListApprovalsFunction", path_tenant="ac/me")
    assert (listing["statusCode"], listing["json"]["details"][0]["field"]) == (400, "tenant")


def test_an_event_no_route_of_the_function_names_is_still_a_plain_404(invoke: Invoke) -> None:
    # A path the gateway did not route to this function (no route key, e.g. sam local's catch-all).
    response = invoke("GetApprovalFunction", approval_id="a/b", route_key="$default")
    assert response["statusCode"] == 404
    assert "errorCode" not in response["json"]
