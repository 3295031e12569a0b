"""Bulk decisions over HTTP in local mode (rules 20 and 21): an approver decides several approvals
in one request, each with its own outcome, and a retried request decides nothing twice."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.matrix_support import seed_document
from tests.e2e.support import Api, Mint, Serve, create_body, run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture(scope="module")
def tenant(serve: Serve, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tenant of its own: req (B2B_REQUESTER) and adm (B2B_ADMIN) of one company, with carts."""
    name = f"b{uuid.uuid4().hex[:10]}"
    path = Path(tmp_path_factory.mktemp("bulk")) / "seed.json"
    path.write_text(json.dumps(seed_document(name)))
    loaded = run_cli(serve.state_dir, "seed", str(path))
    assert loaded.returncode == 0, loaded.stderr
    return name


def test_rule_20_an_approver_decides_several_approvals_in_one_request(api: Api, token: Mint, tenant: str) -> None:
    req, adm = token("req", tenant), token("adm", tenant)

    def create(cart: str) -> str:
        made = api.call("POST", f"/approval/{tenant}/approvals", req, json=create_body(cart, "adm"))
        assert made.status_code == 201, made.text
        return str(made.json()["id"])

    first, closed, second = (create(f"req-{number:03d}") for number in range(3))
    assert api.call("DELETE", f"/approval/{tenant}/approvals/{closed}", req).status_code == 204

    body: dict[str, Any] = {
        "approvalIds": [first, closed, "no-such-approval", second],
        "status": "DECLINED",
        "approverComment": "Not this quarter",
    }
    decided = api.call("POST", f"/approval/{tenant}/approvals/bulk", adm, json=body)
    assert decided.status_code == 200, decided.text
    results = decided.json()["results"]
    assert [(result["approvalId"], result["code"]) for result in results] == [
        (first, 204),
        (closed, 400),
        ("no-such-approval", 404),
        (second, 204),
    ]
    assert [result.get("error", {}).get("errorCode") for result in results] == [
        None,
        "APPROVAL-400009",
        "APPROVAL-404001",
        None,
    ]
    for approval_id, status in ((first, "DECLINED"), (closed, "CLOSED"), (second, "DECLINED")):
        approval = api.call("GET", f"/approval/{tenant}/approvals/{approval_id}", req).json()
        assert approval["status"] == status
        assert approval.get("approverComment") == ("Not this quarter" if status == "DECLINED" else None)

    # Rule 21: the same request again (a client retrying after a lost answer) changes nothing.
    retried = api.call("POST", f"/approval/{tenant}/approvals/bulk", adm, json=body)
    assert [result["code"] for result in retried.json()["results"]] == [400, 400, 404, 400]
    history = api.call("GET", f"/approval/{tenant}/approvals/{first}", req).json()["history"]
    assert [entry["action"] for entry in history] == ["CREATED", "DECLINED"]


def test_rule_21_more_than_50_ids_is_400001_naming_the_field(api: Api, token: Mint, tenant: str) -> None:
    body = {"approvalIds": [f"a{number}" for number in range(51)], "status": "APPROVED"}
    refused = api.call("POST", f"/approval/{tenant}/approvals/bulk", token("adm", tenant), json=body)
    assert refused.status_code == 400, refused.text
    assert refused.json()["errorCode"] == "APPROVAL-400001"
    assert [detail["field"] for detail in refused.json()["details"]] == ["approvalIds"]
