"""Conditional writes under real concurrency: many clients at once against `approvals-local
serve`, whose functions run in separate containers (processes) against one DynamoDB."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.e2e.support import Api, Mint, Serve, create_body, run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture
def tenant(serve: Serve, tmp_path: Path) -> str:
    """A tenant of its own: a requester, an admin approver and a cart."""
    name = "c" + uuid.uuid4().hex[:10]
    seed = {
        "tenants": {
            name: {
                "companies": [{"id": "co", "name": "Co", "approvalLimit": {"amount": 100, "currency": "EUR"}}],
                "customers": [
                    {"id": "req", "firstName": "R", "lastName": "Q", "groups": ["B2B_REQUESTER"], "companies": ["co"]},
                    {"id": "adm", "firstName": "A", "lastName": "D", "groups": ["B2B_ADMIN"], "companies": ["co"]},
                ],
                "carts": [
                    {
                        "id": "cart",
                        "customerId": "req",
                        "companyId": "co",
                        "siteCode": "main",
                        "totalPrice": {"currency": "EUR", "amount": 10},
                    }
                ],
            }
        }
    }
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed))
    loaded = run_cli(serve.state_dir, "seed", str(path))
    assert loaded.returncode == 0, loaded.stderr
    return name


def all_at_once(count: int, call: Callable[[int], requests.Response]) -> list[int]:
    statuses: list[int] = []
    barrier = threading.Barrier(count)

    def run(index: int) -> None:
        barrier.wait()
        statuses.append(call(index).status_code)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def create(api: Api, token: Mint, tenant: str) -> str:
    response = api.call("POST", f"/approval/{tenant}/approvals", token("req", tenant), json=create_body("cart", "adm"))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def read(api: Api, token: Mint, tenant: str, approval_id: str) -> dict:
    response = api.call("GET", f"/approval/{tenant}/approvals/{approval_id}", token("req", tenant))
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_racing_creates_for_one_cart_give_exactly_one_201(api: Api, token: Mint, tenant: str) -> None:
    requestor = token("req", tenant)
    statuses = all_at_once(
        8, lambda _: api.call("POST", f"/approval/{tenant}/approvals", requestor, json=create_body("cart", "adm"))
    )
    assert sorted(statuses) == [201] + [409] * 7


def test_concurrent_patches_lose_no_update(api: Api, token: Mint, tenant: str) -> None:
    approval_id = create(api, token, tenant)
    requestor = token("req", tenant)
    path = f"/approval/{tenant}/approvals/{approval_id}"
    statuses = all_at_once(
        10,
        lambda index: api.call("PATCH", path, requestor, json=[{"op": "add", "path": "/comment", "value": f"{index}"}]),
    )
    assert set(statuses) <= {204, 409}
    approval = read(api, token, tenant, approval_id)
    assert approval["metadata"]["version"] == 1 + statuses.count(204)
    assert [entry["version"] for entry in approval["history"]] == list(range(1, 2 + statuses.count(204)))


def test_racing_approve_and_decline_have_exactly_one_winner(api: Api, token: Mint, tenant: str) -> None:
    approval_id = create(api, token, tenant)
    approver = token("adm", tenant)
    path = f"/approval/{tenant}/approvals/{approval_id}"
    decisions = ["APPROVED", "DECLINED"] * 4
    statuses = all_at_once(
        8,
        lambda index: api.call(
            "PATCH", path, approver, json={"op": "REPLACE", "path": "/status", "value": decisions[index]}
        ),
    )
    assert statuses.count(204) == 1
    assert set(statuses) <= {204, 400, 409}
    approval = read(api, token, tenant, approval_id)
    assert approval["status"] in ("APPROVED", "DECLINED")
    assert approval["metadata"]["version"] == 2


def test_delete_racing_an_approval_leaves_a_consistent_state(api: Api, token: Mint, tenant: str) -> None:
    approval_id = create(api, token, tenant)
    path = f"/approval/{tenant}/approvals/{approval_id}"
    calls = [
        lambda: api.call("DELETE", path, token("req", tenant)),
        lambda: api.call(
            "PATCH", path, token("adm", tenant), json=[{"op": "replace", "path": "/status", "value": "APPROVED"}]
        ),
    ]
    statuses = all_at_once(2, lambda index: calls[index]())
    assert statuses.count(204) == 1
    approval = read(api, token, tenant, approval_id)
    permitted = api.call(
        "POST",
        f"/approval/{tenant}/approval/permitted",
        token("req", tenant),
        json={"resourceType": "CART", "resourceId": "cart", "action": "CHECKOUT"},
    ).json()
    assert approval["status"] in ("CLOSED", "APPROVED")
    assert permitted["status"] == approval["status"]
    assert permitted["permitted"] is (approval["status"] == "APPROVED")
    assert approval["history"][-1]["action"] == ("CLOSED" if approval["status"] == "CLOSED" else "APPROVED")
