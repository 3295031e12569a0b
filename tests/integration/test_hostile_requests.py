"""Requests chosen to hurt the service, through the real handlers: every one ends in 200 or the
contract's 400, quickly, with a short body, and without DynamoDB requests it need not make."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.conftest import Invoke, RequestCounter
from tests.unit.test_hostile_input import CATASTROPHIC_PATTERNS, CRAFTED_COMMENT, GENEROUS_BOUND_SECONDS
from tests.world import create_body

HYPOTHESIS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def list_approvals(invoke: Invoke, **query: str) -> dict[str, Any]:
    return invoke("ListApprovalsFunction", query=query)


@pytest.fixture
def crafted_approval(invoke: Invoke) -> str:
    response = invoke("CreateApprovalFunction", body=create_body(comment=CRAFTED_COMMENT))
    assert response["statusCode"] == 201
    return str(response["json"]["id"])


def test_catastrophic_regexes_against_a_crafted_comment_answer_quickly(invoke: Invoke, crafted_approval: str) -> None:
    for pattern in CATASTROPHIC_PATTERNS:
        started = time.monotonic()
        response = list_approvals(invoke, q=f"comment:~{pattern}")
        assert response["statusCode"] == 200, (pattern, response)
        assert time.monotonic() - started < GENEROUS_BOUND_SECONDS, pattern
    assert [a["id"] for a in list_approvals(invoke, q="comment:~^a+!$")["json"]] == [crafted_approval]


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("q", "status:1e-99999999999999999999"),
        ("q", "metadata.version:>9e99999999999999999999"),
        ("q", "comment:~(a)\\1"),
        ("q", "comment:~" + "a" * 300),
        ("q", "status:" + "P" * 5000),
        ("sort", "x" * 5000 + "!"),
    ],
    ids=["tiny-number", "huge-number", "backreference", "long-regex", "long-q", "long-sort"],
)
def test_bad_list_parameters_are_400001_naming_the_parameter_with_a_short_body(
    invoke: Invoke, crafted_approval: str, parameter: str, value: str
) -> None:
    response = list_approvals(invoke, **{parameter: value})
    assert (response["statusCode"], response["json"]["errorCode"]) == (400, "APPROVAL-400001")
    assert response["json"]["details"][0]["field"] == parameter
    assert len(response["body"]) < 600


@HYPOTHESIS
@given(q=st.text(max_size=120), sort=st.one_of(st.none(), st.text(max_size=60)))
def test_any_q_and_sort_end_in_200_or_400(invoke: Invoke, crafted_approval: str, q: str, sort: str | None) -> None:
    query = {"q": q} if sort is None else {"q": q, "sort": sort}
    response = list_approvals(invoke, **query)
    assert response["statusCode"] in (200, 400), response
    if response["statusCode"] == 400:
        assert response["json"]["errorCode"] == "APPROVAL-400001"


@pytest.mark.parametrize("function", ["GetApprovalFunction", "UpdateApprovalFunction", "CloseApprovalFunction"])
@pytest.mark.parametrize("approval_id", ["x" * 3000, "ü" * 129], ids=["3000-chars", "129-non-ascii"])
def test_path_ids_no_approval_can_have_are_400001_before_any_dynamodb_request(
    invoke: Invoke, dynamodb_requests: RequestCounter, function: str, approval_id: str
) -> None:
    body = [{"op": "ADD", "path": "/comment", "value": "x"}] if function == "UpdateApprovalFunction" else None
    response = invoke(function, approval_id=approval_id, body=body)
    assert (response["statusCode"], response["json"]["errorCode"]) == (400, "APPROVAL-400001")
    assert response["json"]["details"][0]["field"] == "approvalId"
    assert len(response["body"]) < 400
    assert dynamodb_requests.count == 0
