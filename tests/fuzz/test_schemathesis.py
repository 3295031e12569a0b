"""Property-based fuzzing of approvals-local serve against openapi.yaml with schemathesis.

Every operation of the document gets the examples of the document, schemathesis' coverage cases
(boundaries, missing and wrong-typed values, unexpected properties ...) and random cases, valid and
invalid alike, sent with the tokens of the seeded customers (now and then with a missing, expired,
malformed or unfit one). Generated cases are steered towards data that exists (tenant ``acme``, its
carts, approvals made before), so most reach the rules and the database instead of stopping at 403
or 404.

Checks: no 5xx; status code, content type, headers and body as the document describes them; a
request the document calls invalid is refused; no response reveals a traceback or an internal
exception name. Deterministic: a fixed seed; ``FUZZ_SCALE=10`` (make fuzz) runs ten times as many
random cases.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.support import ROOT, create_body
from tests.fuzz.support import TALLY, World, no_internal_details

SEED = 20261124
SCALE = int(os.environ.get("FUZZ_SCALE", "1"))
RANDOM_CASES_PER_OPERATION = int(os.environ.get("FUZZ_CASES_PER_OPERATION", 400 * SCALE))

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "suppress-health-check": ["all"],
        "generation": {
            "mode": "all",
            "max-examples": RANDOM_CASES_PER_OPERATION,
            "database": "none",
            # The service ignores query parameters and headers it does not know (the contract says
            # so): an extra one does not make a request invalid.
            "allow-extra-parameters": False,
            # The tokens are the test's to choose (World.steer), not schemathesis'.
            "with-security-parameters": False,
            # Header values must be sendable: no control characters.
            "exclude-header-characters": "\r\n\x00",
        },
        "phases": {"stateful": {"enabled": False}},
        "warnings": False,
    }
)
schema = schemathesis.openapi.from_path(ROOT / "openapi.yaml", config=CONFIG)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    no_internal_details,
]

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("fuzz")]


def fuzz(case: Any, fuzz_world: World) -> None:
    headers, _, user = fuzz_world.steer(case)
    response = case.call(base_url=fuzz_world.base_url, headers=headers, session=fuzz_world.session, timeout=30)
    negative = case.meta is not None and case.meta.generation.mode.is_negative
    TALLY.add(case.operation.label, negative, response.status_code)
    fuzz_world.record(case, response, user)
    case.validate_response(response, checks=CHECKS, headers=headers)


def fuzz_test(operation_id: str) -> Any:
    def test(case: Any, fuzz_world: World) -> None:
        fuzz(case, fuzz_world)

    test.__name__ = test.__qualname__ = f"test_fuzz_{operation_id}"
    return schema.include(operation_id=operation_id).parametrize()(test)


# One test function per operation, in the document's order: schemathesis gives the items of one
# parametrized function the same node id (with pytest 9), and pytest-xdist would run only one.
OPERATION_IDS = [op["operationId"] for path in schema.raw_schema["paths"].values() for op in path.values()]
globals().update({f"test_fuzz_{operation_id}": fuzz_test(operation_id) for operation_id in OPERATION_IDS})


# --------------------------------------------------------------------------- what fuzzing found
# Each of these was a 500 that the fuzzing above found (fixed in 7d610f3); one request apiece keeps
# them fixed, whatever the random cases of a run happen to be.
BODY_OPERATIONS = [
    ("POST", "/approval/acme/approvals"),
    ("PATCH", "/approval/acme/approvals/{approval}"),
    ("POST", "/approval/acme/approval/permitted"),
    ("POST", "/approval/acme/search/users"),
]


def assert_validation_failed(response: Any) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["errorCode"] == "APPROVAL-400001", response.text


@pytest.mark.parametrize(("method", "path"), BODY_OPERATIONS)
def test_a_body_that_is_not_utf8_is_refused(fuzz_world: World, method: str, path: str) -> None:
    url = fuzz_world.base_url + path.format(approval=fuzz_world.approvals[0].id)
    headers = {"Authorization": f"Bearer {fuzz_world.tokens['ann']}", "Content-Type": "application/json"}
    response = fuzz_world.session.request(method, url, data=b'{"resourceId": "\xff"}', headers=headers, timeout=30)
    assert_validation_failed(response)


@pytest.mark.parametrize("number", ["1e200", "2e-308", "12345678901234567890123456789012345678901"])
def test_a_number_dynamodb_cannot_store_is_refused(fuzz_world: World, number: str) -> None:
    cart = fuzz_world.reserved_cart()
    # The number as written, not as a float would round it.
    body = json.dumps(create_body(cart, "bob", details={"payment": {"customAttributes": {"n": "N"}}}))
    body = body.replace('"N"', number)
    headers = {"Authorization": f"Bearer {fuzz_world.tokens['ann']}", "Content-Type": "application/json"}
    response = fuzz_world.session.post(
        f"{fuzz_world.base_url}/approval/acme/approvals", data=body, headers=headers, timeout=30
    )
    assert_validation_failed(response)


def test_a_patched_number_dynamodb_cannot_store_is_refused(fuzz_world: World) -> None:
    approval = fuzz_world.create("ann", "bob", fuzz_world.reserved_cart())
    headers = {"Authorization": f"Bearer {fuzz_world.tokens['ann']}", "Content-Type": "application/json"}
    body = '[{"op": "replace", "path": "/details/shipping/amount", "value": 1e200}]'
    response = fuzz_world.session.patch(
        f"{fuzz_world.base_url}/approval/acme/approvals/{approval.id}", data=body, headers=headers, timeout=30
    )
    assert_validation_failed(response)


def test_a_document_patched_past_the_item_size_is_refused(fuzz_world: World) -> None:
    # Each request is within the 256 KiB body limit; together they outgrow one DynamoDB item.
    approval = fuzz_world.create("ann", "bob", fuzz_world.reserved_cart())
    headers = {"Authorization": f"Bearer {fuzz_world.tokens['ann']}"}
    url = f"{fuzz_world.base_url}/approval/acme/approvals/{approval.id}"
    statuses = []
    for index in range(3):
        operation = {"op": "add", "path": f"/details/payment/customAttributes/k{index}", "value": "x" * 200_000}
        response = fuzz_world.session.patch(url, json=[operation], headers=headers, timeout=30)
        statuses.append(response.status_code)
    assert statuses == [204, 204, 400], statuses
    assert_validation_failed(response)
    assert fuzz_world.session.get(url, headers=headers, timeout=30).json()["metadata"]["version"] == 3
