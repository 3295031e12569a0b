"""Input DynamoDB cannot store is the client's problem (400), never a 500: bodies that are not
UTF-8, numbers beyond DynamoDB's range, approvals patched past its item size or nesting depth.
moto is held to DynamoDB's limits here (tests/dynamodb_rules.py), so a write that DynamoDB would
refuse fails these tests even where moto would have stored it."""

from __future__ import annotations

import base64
import json

import pytest

from tests.dynamodb_rules import REFUSALS
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


def nested(levels: int) -> dict[str, object]:
    value: dict[str, object] = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"d": value}
    return value


def test_patches_that_nest_the_approval_deeper_than_dynamodb_stores_are_400001(invoke: Invoke) -> None:
    # Each body is shallow enough on its own; together they would nest the stored approval
    # beyond DynamoDB's 32 levels (moto would store it; DynamoDB answers ValidationException).
    refusals_before = len(REFUSALS)
    approval_id = invoke("CreateApprovalFunction", body=create_body())["json"]["id"]
    path = "/details/payment/customAttributes/n"
    first = [{"op": "ADD", "path": "/details", "value": {"payment": {"customAttributes": {"n": nested(12)}}}}]
    assert invoke("UpdateApprovalFunction", approval_id=approval_id, body=first)["statusCode"] == 204
    path += "/d" * 11
    second = invoke(
        "UpdateApprovalFunction", approval_id=approval_id, body=[{"op": "ADD", "path": path, "value": nested(12)}]
    )
    assert second["statusCode"] == 204, second
    path += "/d" * 11
    third = invoke(
        "UpdateApprovalFunction", approval_id=approval_id, body=[{"op": "ADD", "path": path, "value": nested(12)}]
    )
    assert (third["statusCode"], third["json"]["errorCode"]) == (400, "APPROVAL-400001")
    assert "32 levels" in third["json"]["details"][0]["message"]
    assert invoke("GetApprovalFunction", approval_id=approval_id)["json"]["metadata"]["version"] == 3
    assert len(REFUSALS) == refusals_before  # refused by the service, before DynamoDB would


def test_the_size_check_measures_the_whole_item_as_dynamodb_does(invoke: Invoke) -> None:
    # Grow the approval across DynamoDB's 400 KB in small steps: every step is stored (204) or
    # refused as 400001 by the service itself, never handed to DynamoDB to refuse (a 500 before:
    # the old check measured the document without the expiry index's attributes).
    refusals_before = len(REFUSALS)
    approval_id = invoke("CreateApprovalFunction", body=create_body())["json"]["id"]
    half = [{"op": "ADD", "path": "/details", "value": {"payment": {"customAttributes": {"a": "x" * 200_000}}}}]
    assert invoke("UpdateApprovalFunction", approval_id=approval_id, body=half)["statusCode"] == 204
    answers = []
    for size in range(203_000, 211_000, 500):
        grow = [{"op": "ADD", "path": "/details/payment/customAttributes/b", "value": "y" * size}]
        response = invoke("UpdateApprovalFunction", approval_id=approval_id, body=grow)
        answers.append(response["statusCode"])
        assert response["statusCode"] == 204 or response["json"]["errorCode"] == "APPROVAL-400001", response
    assert 204 in answers
    assert 400 in answers
    assert answers == sorted(answers, key=lambda status: status == 400)  # once refused, refused
    assert len(REFUSALS) == refusals_before
