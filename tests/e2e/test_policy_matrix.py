"""The authorization matrix of the approval-policy routes (rule 29): an operator, an admin of the
policy's company, an admin of another company, customers and foreign or unscoped tokens, against
each route, over HTTP through local mode's gateway. Every cell checks what it changed, or that a
refusal changed nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.matrix_support import COMPANY, FORBIDDEN, SCOPE_MISSING, Expect, World, refused
from tests.e2e.policy_matrix_support import (
    POLICY_CREATE,
    POLICY_DELETE,
    POLICY_GET,
    POLICY_LIST,
    POLICY_OPERATIONS,
    POLICY_REPLACE,
    PolicyOperation,
)
from tests.e2e.support import Api, Mint, Serve

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

OPERATOR = "approval.policy_manage"
OWN = "approval.policy_manage_own"
CUSTOMER_SCOPES = ["approval.approval_read_own", "approval.approval_manage_own"]

WRITTEN = Expect(201, "policy")
READ = Expect(200, "policy")
LISTED = Expect(200, "policies listed")
UNLISTED = Expect(200, "policies unlisted")
DELETED = Expect(204, "no content")
GONE = Expect(404, "no policy")
NOT_THEIRS = refused("APPROVAL-400008")


@dataclass(frozen=True)
class Caller:
    name: str
    user: str
    scopes: list[str]
    expect: tuple[Expect, ...]  # in POLICY_OPERATIONS' order
    tenant: Callable[[World], str] = lambda world: world.tenant

    def __str__(self) -> str:
        return self.name


CALLERS = (
    Caller("operator", "ops", [OPERATOR], (WRITTEN, LISTED, READ, READ, DELETED)),
    Caller("own_admin", "adm", [*CUSTOMER_SCOPES, OWN], (WRITTEN, LISTED, READ, READ, DELETED)),
    Caller("other_companys_admin", "oadm", [*CUSTOMER_SCOPES, OWN], (NOT_THEIRS, UNLISTED, GONE, GONE, GONE)),
    # A customer given the admins' scope is still no admin of the company.
    Caller("requester_with_the_own_scope", "req", [*CUSTOMER_SCOPES, OWN], (NOT_THEIRS, UNLISTED, GONE, GONE, GONE)),
    Caller("customer", "req", CUSTOMER_SCOPES, (SCOPE_MISSING,) * 5),
    Caller("own_admin_without_the_scope", "adm", CUSTOMER_SCOPES, (SCOPE_MISSING,) * 5),
    Caller("operator_of_another_tenant", "ops", [OPERATOR], (FORBIDDEN,) * 5, tenant=lambda world: world.twin),
)
CELLS = [
    pytest.param(caller, operation, expect, id=f"{caller}-{operation}")
    for caller in CALLERS
    for operation, expect in zip(POLICY_OPERATIONS, caller.expect, strict=True)
]


def policy_body(policy_id: str, name: str = "Big orders") -> dict[str, Any]:
    return {
        "id": policy_id,
        "companyId": COMPANY,
        "name": name,
        "condition": "resource.totalPrice.amount:>=100000",
        "tiers": [{"name": "Admins", "approvers": [{"group": "B2B_ADMIN"}]}],
    }


@pytest.fixture(scope="module")
def world(serve: Serve, api: Api, token: Mint, tmp_path_factory: pytest.TempPathFactory) -> World:
    return World.seeded(serve, api, token, tmp_path_factory.mktemp("policy-matrix"))


def operator(world: World) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.mint('ops', world.tenant, scopes=[OPERATOR])}"}


def stored(world: World, policy_id: str) -> dict[str, Any] | None:
    response = world.api.call("GET", f"/approval/{world.tenant}/policies/{policy_id}", headers=operator(world))
    assert response.status_code in (200, 404), response.text
    return dict(response.json()) if response.status_code == 200 else None


@pytest.mark.parametrize(("caller", "operation", "expect"), CELLS)
def test_policy_matrix(world: World, caller: Caller, operation: PolicyOperation, expect: Expect) -> None:
    policy_id = f"cell-{uuid.uuid4().hex[:10]}"
    if operation is not POLICY_CREATE:
        made = world.api.call(
            "POST", f"/approval/{world.tenant}/policies", headers=operator(world), json=policy_body(policy_id)
        )
        assert made.status_code == 201, made.text
    before = stored(world, policy_id)
    bearer = world.mint(caller.user, caller.tenant(world), scopes=caller.scopes)
    body = policy_body(policy_id, name="Changed") if operation in (POLICY_CREATE, POLICY_REPLACE) else None
    response = world.api.call(
        operation.method,
        operation.path.format(tenant=world.tenant, policyId=policy_id),
        headers={"Authorization": f"Bearer {bearer}"},
        json=body,
    )
    text = response.text[:600]
    assert response.status_code == expect.status, f"expected {expect}, got {response.status_code}: {text}"
    after = stored(world, policy_id)
    if expect.kind == "policy":
        assert response.json()["id"] == policy_id, text
        assert after is not None
        assert after["name"] == ("Changed" if body else "Big orders"), after
    elif expect.kind in ("policies listed", "policies unlisted"):
        listed = [policy["id"] for policy in response.json()]
        assert (policy_id in listed) == (expect.kind == "policies listed"), listed
        assert after == before
    elif operation is POLICY_DELETE and expect.status == 204:
        assert after is None
    else:
        if expect.error_code is not None:
            assert response.json().get("errorCode") == expect.error_code, text
        assert after == before, "a refused request changed the policy"
    if after is not None:
        # A company holds at most 20 policies: each cell takes its own out again.
        removed = world.api.call("DELETE", f"/approval/{world.tenant}/policies/{policy_id}", headers=operator(world))
        assert removed.status_code == 204, removed.text


def test_the_policy_matrix_has_an_answer_for_every_route_and_caller() -> None:
    assert [operation.name for operation in POLICY_OPERATIONS] == [
        POLICY_CREATE.name,
        POLICY_LIST.name,
        POLICY_GET.name,
        POLICY_REPLACE.name,
        POLICY_DELETE.name,
    ]
    for caller in CALLERS:
        assert len(caller.expect) == len(POLICY_OPERATIONS), caller.name
