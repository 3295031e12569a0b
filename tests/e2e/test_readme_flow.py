"""The README's two minutes with the local service, checked as a user would see them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.e2e.support import ROOT, Api, Mint, Serve, clean_environment, create_body, run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_ann_asks_carol_and_both_read_it_but_bob_cannot(serve: Serve, api: Api, token: Mint) -> None:
    minted = run_cli(serve.state_dir, "token", "--tenant", "acme", "--user", "ann")
    assert minted.returncode == 0, minted.stderr
    ann = minted.stdout.strip()

    created = api.call(
        "POST",
        "/approval/acme/approvals",
        ann,
        json=create_body("cart-ann-1", "carol", comment="Drills for the new site"),
    )
    assert created.status_code == 201, created.text
    assert list(created.json()) == ["id"]
    approval_id = created.json()["id"]

    for reader in (ann, token("carol")):
        got = api.call("GET", f"/approval/acme/approvals/{approval_id}", reader)
        assert got.status_code == 200, got.text
        assert got.headers["Content-Type"].startswith("application/json")
        # Amounts are written exactly as the cart has them: 250.10, not 250.1.
        assert re.search(r'"amount":\s*250\.10[,}]', got.text), got.text
        approval = json.loads(got.text, parse_float=Decimal)
        assert approval["id"] == approval_id
        assert approval["status"] == "PENDING"
        assert approval["resourceType"] == "CART"
        assert approval["action"] == "CHECKOUT"
        assert approval["comment"] == "Drills for the new site"
        resource = approval["resource"]
        assert resource["id"] == "cart-ann-1"
        assert str(resource["totalPrice"]["amount"]) == "250.10"
        assert str(resource["items"][0]["itemPrice"]["amount"]) == "125.05"
        assert str(resource["subtotalAggregate"]["netValue"]) == "210.17"
        assert approval["requestor"] == {"userId": "ann", "firstName": "Ann", "lastName": "Lee"}
        assert approval["approver"] == {"userId": "carol", "firstName": "Carol", "lastName": "Diaz"}
        assert approval["history"][0]["action"] == "CREATED"
        assert approval["history"][0]["by"] == "ann"
        assert approval["metadata"]["version"] == 1
        # serve runs without APPROVAL_EXPIRY_SECONDS here: the template's default, 7 days.
        created_at = instant(approval["metadata"]["createdAt"])
        assert instant(approval["expiryDate"]) - created_at == timedelta(seconds=604800)

    hidden = api.call("GET", f"/approval/acme/approvals/{approval_id}", token("bob"))
    assert hidden.status_code == 404
    assert hidden.json()["errorCode"] == "APPROVAL-404001"


def test_groups_in_the_token_win_over_the_directory(api: Api, token: Mint) -> None:
    # Ann is a requester in the directory; as an admin (token groups) she may not ask for approval.
    response = api.call(
        "POST",
        "/approval/acme/approvals",
        token("ann", groups=["B2B_ADMIN"]),
        json=create_body("cart-ann-2", "carol"),
    )
    assert response.status_code == 400, response.text
    assert response.json()["errorCode"] == "APPROVAL-400008"


def readme_walkthrough() -> str:
    """The shell block of the README's "Two minutes with the local service", as a reader copies it."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Two minutes with the local service") :]
    found = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert found, "the README's walkthrough has no sh block"
    return found.group(1)


def json_values(text: str) -> list[object]:
    """The JSON documents curl printed one after the other (without newlines between them)."""
    decoder, values, at = json.JSONDecoder(), [], 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        value, at = decoder.raw_decode(text, at)
        values.append(value)
    return values


def run_against_a_serve(script: str, state_dir: Path) -> str:
    """What a README block prints, run in bash from the project folder against a serve of its own
    (only the address differs from the README's: this serve's port is a free one)."""
    server = Serve(state_dir)
    try:
        result = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script.replace("http://127.0.0.1:3000", server.base_url)],
            cwd=ROOT,
            env=clean_environment(state_dir),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_readme_walkthrough_runs_as_written(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Copied into a shell from the project folder while `make run` serves: only the address differs
    (this serve's port is a free one, not 3000)."""
    if not shutil.which("curl"):
        pytest.skip("curl is not installed: the README's walkthrough uses it")
    # A store of its own: the walkthrough's approval must be the cart's first.
    output = run_against_a_serve(readme_walkthrough(), tmp_path_factory.mktemp("readme-walkthrough"))
    approval_id, rest = output.split("\n", 1)
    assert re.fullmatch(r"[\w:-]+", approval_id), output
    first_read, pending, second_read, permitted, ordered, used = json_values(rest)
    assert isinstance(first_read, dict)
    assert isinstance(second_read, dict)
    assert isinstance(pending, list)
    assert (first_read["id"], first_read["status"]) == (approval_id, "PENDING")
    assert approval_id in [approval["id"] for approval in pending]
    assert (second_read["status"], second_read["approverComment"], second_read["metadata"]["version"]) == (
        "APPROVED",
        "Go ahead",
        2,
    )
    assert permitted == {"action": "CHECKOUT", "permitted": True, "status": "APPROVED", "approvalId": approval_id}
    assert isinstance(ordered, dict)
    assert (ordered["status"], ordered["createdResource"], ordered["metadata"]["version"]) == (
        "APPROVED",
        {"id": "order-1"},
        3,
    )
    assert (ordered["history"][-1]["action"], ordered["history"][-1]["by"]) == ("ORDERED", "checkout")
    assert used == {
        "action": "CHECKOUT",
        "permitted": False,
        "status": "APPROVED",
        "approvalId": approval_id,
        "reason": "ALREADY_USED",
    }


def test_the_readme_second_story_policies_runs_as_written(tmp_path_factory: pytest.TempPathFactory) -> None:
    """ACME's policy (above 5,000 EUR: a buyer, then the admin), as the README tells it."""
    if not shutil.which("curl"):
        pytest.skip("curl is not installed: the README's walkthrough uses it")
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### A second story: approval policies") :]
    found = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert found, "the README's second story has no sh block"
    output = run_against_a_serve(found.group(1), tmp_path_factory.mktemp("readme-policies"))
    # curl prints the policy without a newline, then echo prints the approval's id on its line.
    policy, end = json.JSONDecoder().raw_decode(output)
    approval_id, rest = output[end:].split("\n", 1)
    assert (policy["id"], policy["metadata"]["version"]) == ("big-orders", 1), output
    assert re.fullmatch(r"[\w:-]+", approval_id), output
    values = json_values(rest)
    after_bob, permitted = values
    assert isinstance(after_bob, dict)
    assert (after_bob["id"], after_bob["status"], after_bob["flow"][0]["currentTier"]) == (approval_id, "PENDING", 2)
    assert [person["userId"] for person in after_bob["pendingApprovers"]] == ["carol"]
    assert [entry["action"] for entry in after_bob["history"]] == ["CREATED", "TIER_APPROVED"]
    assert permitted == {"action": "CHECKOUT", "permitted": True, "status": "APPROVED", "approvalId": approval_id}
