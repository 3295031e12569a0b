"""Input DynamoDB cannot store is the client's problem (400), never a 500: bodies that are not
UTF-8, numbers beyond DynamoDB's range, approvals patched past its item size."""

from __future__ import annotations

import base64
import json

import pytest

from tests.integration.conftest import Invoke
from tests.world import create_body


@pytest.mark.parametrize("number", ["1e200", "2e-308", "1" * 41], ids=["huge", "tiny", "41-digits"])
def test_numbers_dynamodb_cannot_store_are_400001(invoke: Invoke, number: str) -> None:
    raw = json.dumps(create_body())[:-1] + f', "details": {{"payment": {{"customAttributes": {{"n": {number}}}}}}}}}'
    response = invoke("CreateApprovalFunction", raw_body=raw)
    assert (response["statusCode"], response["json"]["errorCode"]) == (400, "APPROVAL-400001")
    assert "details.payment.customAttributes.n" in response["json"]["details"][0]["message"]


def test_a_body_that_is_not_utf8_is_400001(invoke: Invoke, handlers: dict) -> None:
    from tests.integration.conftest import LambdaContext, sample_event

    event = sample_event("create_approval")
    event["body"] = base64.b64encode(b'{"resourceType": "\xff\xfe"}').decode()
    event["isBase64Encoded"] = True
    response = handlers["CreateApprovalFunction"].lambda_handler(event, LambdaContext())
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["errorCode"] == "APPROVAL-400001"


def test_a_patch_past_the_item_size_is_400001_and_changes_nothing(invoke: Invoke) -> None:
    approval_id = invoke("CreateApprovalFunction", body=create_body())["json"]["id"]
    big = [{"street": f"{index} " + "x" * 900, "type": "SHIPPING"} for index in range(230)]
    first = invoke(
        "UpdateApprovalFunction",
        approval_id=approval_id,
        body=[{"op": "ADD", "path": "/details", "value": {"addresses": big}}],
    )
    assert first["statusCode"] == 204, first
    more = [
        {"op": "ADD", "path": "/details/addresses/-", "value": {"street": f"more {i} " + "y" * 900}} for i in range(230)
    ]
    second = invoke("UpdateApprovalFunction", approval_id=approval_id, body=more)
    assert (second["statusCode"], second["json"]["errorCode"]) == (400, "APPROVAL-400001")
    document = invoke("GetApprovalFunction", approval_id=approval_id)["json"]
    assert document["metadata"]["version"] == 2


@pytest.mark.parametrize("depth", [30, 5_000, 100_000])
def test_bodies_nested_deeper_than_dynamodb_stores_are_400001(invoke: Invoke, depth: int) -> None:
    raw = (
        json.dumps(create_body())[:-1]
        + ', "details": {"payment": {"customAttributes": {"n": '
        + "[" * depth
        + "]" * depth
        + "}}}}"
    )
    response = invoke("CreateApprovalFunction", raw_body=raw)
    assert (response["statusCode"], response["json"]["errorCode"]) == (400, "APPROVAL-400001")
