"""The HTTP functions' router: the handler of the route API Gateway matched, the response as the
Lambda proxy integration (payload 2.0) expects it, exceptions answered by their nearest handler."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from approval_core.api.http import GatewayEvent, Response, json_response, new_resolver
from approval_core.api.routing import GatewayRoutedResolver
from approval_core.domain.errors import ApprovalNotFound


def gateway_event(route_key: str, parameters: dict[str, str] | None, **more: Any) -> dict[str, Any]:
    return {"routeKey": route_key, "pathParameters": parameters, "headers": {}, **more}


def test_the_route_api_gateway_matched_answers_with_its_decoded_path_parameters() -> None:
    app = GatewayRoutedResolver()

    @app.gateway_route("GET /approval/{tenant}/approvals/{approvalId}")
    def answer(tenant: str, approval_id: str) -> Response[str]:
        return json_response(200, {"tenant": tenant, "id": approval_id})

    # An id holding an encoded '/': API Gateway routed it and decoded the parameter.
    event = gateway_event("GET /approval/{tenant}/approvals/{approvalId}", {"tenant": "acme", "approvalId": "a/b"})
    answered = app.resolve(event, None)  # type: ignore[arg-type]
    assert answered == {
        "statusCode": 200,
        "body": '{"tenant":"acme","id":"a/b"}',
        "isBase64Encoded": False,
        "headers": {"Content-Type": "application/json"},
        "cookies": [],
    }


def test_a_path_parameter_may_be_given_another_argument_name() -> None:
    app = GatewayRoutedResolver()

    @app.gateway_route("GET /directory/{tenant}/{kind}/{id}", id="entry_id")
    def answer(tenant: str, kind: str, entry_id: str) -> Response[str]:
        return Response(200, body=f"{tenant} {kind} {entry_id}")

    event = gateway_event("GET /directory/{tenant}/{kind}/{id}", {"tenant": "acme", "kind": "carts", "id": "c1"})
    assert app.resolve(event, None)["body"] == "acme carts c1"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("route_key", "parameters"),
    [("GET /elsewhere", {}), ("GET /approval/{tenant}/approvals/{approvalId}", {"tenant": "acme"}), ("", None)],
)
def test_an_event_naming_no_route_of_the_function_is_the_plain_404(
    route_key: str, parameters: dict[str, str] | None
) -> None:
    app = new_resolver()

    @app.gateway_route("GET /approval/{tenant}/approvals/{approvalId}")
    def answer(tenant: str, approval_id: str) -> Response[str]:
        raise AssertionError("not this route")

    answered = app.resolve(gateway_event(route_key, parameters), None)  # type: ignore[arg-type]
    assert answered["statusCode"] == 404
    assert answered["body"] == '{"code":404,"status":"Not Found","message":"No such resource"}'


def test_an_error_is_answered_by_the_handler_of_its_nearest_class() -> None:
    app = new_resolver()

    @app.gateway_route("GET /approval/{tenant}/approvals/{approvalId}")
    def answer(tenant: str, approval_id: str) -> Response[str]:
        raise ApprovalNotFound()

    event = gateway_event("GET /approval/{tenant}/approvals/{approvalId}", {"tenant": "acme", "approvalId": "x"})
    answered = app.resolve(event, None)  # type: ignore[arg-type]
    assert answered["statusCode"] == 404
    assert '"errorCode":"APPROVAL-404001"' in answered["body"]


def test_an_unexpected_error_is_a_500_without_its_details() -> None:
    app = new_resolver()

    @app.gateway_route("GET /approval/{tenant}/approvals")
    def answer(tenant: str) -> Response[str]:
        raise KeyError("secret detail")

    answered = app.resolve(gateway_event("GET /approval/{tenant}/approvals", {"tenant": "acme"}), None)  # type: ignore[arg-type]
    assert answered["statusCode"] == 500
    assert "secret" not in answered["body"]


def test_a_bytes_body_goes_out_base64_encoded() -> None:
    answered = Response(200, "application/octet-stream", b"\x00\xff").to_gateway()
    assert answered["isBase64Encoded"] is True
    assert base64.b64decode(answered["body"]) == b"\x00\xff"


def test_headers_are_read_in_any_case() -> None:
    event = GatewayEvent({"headers": {"if-match": '"3"', "X-Total-Count": "true"}})
    assert event.headers.get("If-Match") == '"3"'
    assert event.headers["x-total-count"] == "true"
    assert "IF-MATCH" in event.headers
    assert event.headers.get("idempotency-key") is None


def test_a_base64_body_is_decoded_and_claims_are_read_from_the_jwt_authorizer() -> None:
    event = GatewayEvent(
        {
            "body": base64.b64encode(b'{"a": 1}').decode(),
            "isBase64Encoded": True,
            "requestContext": {"authorizer": {"jwt": {"claims": {"sub": "ann"}, "scopes": ["s"]}}},
        }
    )
    assert event.decoded_body == '{"a": 1}'
    assert event.request_context.authorizer.jwt_claim == {"sub": "ann"}
    assert GatewayEvent({}).request_context.authorizer.jwt_claim == {}
