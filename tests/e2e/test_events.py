"""Every change of an approval becomes one event on the template's bus, derived from the table's
stream, and the expiry sweep runs on its schedule: `approvals-local serve` as a developer
watches it (the events in a file, or on stdout)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from approvals_local.tokens import load_signing_key, mint
from tests.e2e.support import ROOT, Api, Mint, Serve, create_body, run_cli, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

EVENT_SECONDS = 15  # a change reaches the bus within the stream's batching window (1 s) and a poll


def tenant_seed(name: str) -> dict[str, Any]:
    return {
        "tenants": {
            name: {
                "companies": [{"id": "co", "name": "Co"}],
                "customers": [
                    {"id": "req", "firstName": "R", "lastName": "Q", "groups": ["B2B_REQUESTER"], "companies": ["co"]},
                    {"id": "adm", "firstName": "A", "lastName": "D", "groups": ["B2B_ADMIN"], "companies": ["co"]},
                ],
                "carts": [
                    {
                        "id": "cart",
                        "customerId": "req",
                        "companyId": "co",
                        "totalPrice": {"currency": "EUR", "amount": 10},
                    }
                ],
            }
        }
    }


def events_for(lines: list[str], approval_id: str) -> list[dict[str, Any]]:
    events = [json.loads(line) for line in lines if line.strip()]
    return [event for event in events if event["detail"].get("id") == approval_id]


@pytest.fixture
def tenant(serve: Serve, tmp_path: Path) -> str:
    name = "ev" + uuid.uuid4().hex[:10]
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(tenant_seed(name)))
    loaded = run_cli(serve.state_dir, "seed", str(path))
    assert loaded.returncode == 0, loaded.stderr
    return name


def test_each_change_is_one_event_in_the_order_of_its_versions(
    serve: Serve, api: Api, token: Mint, tenant: str
) -> None:
    requestor, approver = token("req", tenant), token("adm", tenant)
    created = api.call("POST", f"/approval/{tenant}/approvals", requestor, json=create_body("cart", "adm"))
    assert created.status_code == 201, created.text
    approval_id = created.json()["id"]
    path = f"/approval/{tenant}/approvals/{approval_id}"
    commented = api.call("PATCH", path, requestor, json=[{"op": "add", "path": "/comment", "value": "please"}])
    assert commented.status_code == 204, commented.text
    approved = api.call("PATCH", path, approver, json=[{"op": "replace", "path": "/status", "value": "APPROVED"}])
    assert approved.status_code == 204, approved.text

    def three_events() -> list[dict[str, Any]]:
        text = (serve.state_dir / "events.jsonl").read_text()
        complete = text.splitlines()[: text.count("\n")]  # not a line serve is still writing
        found = events_for(complete, approval_id)
        return found if len(found) >= 3 else []

    events = wait_until(three_events, EVENT_SECONDS, "three events")

    assert [event["detail"]["version"] for event in events] == [1, 2, 3]
    assert [event["detail-type"] for event in events] == ["Approval Created", "Approval Updated", "Approval Approved"]
    assert {event["source"] for event in events} == {"approval.service"}
    assert {event["account"] for event in events} == {"123456789012"}
    assert all(event["id"] and event["time"] for event in events)
    assert events[-1]["detail"]["status"] == "APPROVED"
    assert not any(line.startswith("event ") for line in serve.stdout_lines)  # the file has them


@pytest.fixture(scope="module")
def sweeping(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    """A serve of its own whose approvals expire after 2 seconds, swept every second, its events
    on stdout."""
    folder = tmp_path_factory.mktemp("sweeping")
    seed = folder / "seed.json"
    seed.write_text(json.dumps(tenant_seed("sweep")))
    server = Serve(folder, ["--seed", str(seed), "--schedule-interval", "1"], env={"APPROVAL_EXPIRY_SECONDS": "2"})
    yield server
    code = server.stop()
    assert code == 0, server.stderr()


def test_the_sweep_expires_an_approval_left_alone_and_says_so_on_stdout(sweeping: Serve) -> None:
    key = load_signing_key(sweeping.state_dir)
    requestor = mint(key, tenant="sweep", user="req")
    api = Api(sweeping.base_url)
    created = api.call("POST", "/approval/sweep/approvals", requestor, json=create_body("cart", "adm"))
    assert created.status_code == 201, created.text
    approval_id = created.json()["id"]

    def swept() -> dict[str, Any] | None:
        approval = dict(api.call("GET", f"/approval/sweep/approvals/{approval_id}", requestor).json())
        return approval if approval["history"][-1]["action"] == "EXPIRED" else None

    approval = wait_until(swept, EVENT_SECONDS, "the sweep")
    assert approval["status"] == "EXPIRED"
    assert approval["history"][-1]["by"] == "system"
    assert approval["metadata"]["version"] == 2

    def printed() -> list[dict[str, Any]]:
        lines = [line.removeprefix("event ") for line in sweeping.stdout_lines if line.startswith("event ")]
        found = events_for(lines, approval_id)
        return found if len(found) >= 2 else []

    events = wait_until(printed, EVENT_SECONDS, "the expiry event")
    assert [(event["detail-type"], event["detail"]["version"]) for event in events] == [
        ("Approval Created", 1),
        ("Approval Expired", 2),
    ]
    assert events[1]["detail"]["by"] == "system"
    assert "schedule ExpireApprovalsFunction Sweep" in sweeping.stderr()


def test_invoke_the_publisher_with_its_sample_event_shows_what_it_published(state_dir: Path) -> None:
    result = run_cli(
        state_dir, "invoke", "PublishApprovalEventsFunction", "--event", "events/publish_approval_events.json"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"batchItemFailures": []}  # stdout holds the result alone
    published = [
        json.loads(line.removeprefix("event ")) for line in result.stderr.splitlines() if line.startswith("event ")
    ]
    sample = json.loads((ROOT / "events" / "publish_approval_events.json").read_text())
    assert len(published) == len(sample["Records"])
    assert {event["source"] for event in published} == {"approval.service"}


def test_invoke_the_sweep_with_its_sample_event(state_dir: Path) -> None:
    sample = ROOT / "events" / "expire_approvals.json"
    result = run_cli(state_dir, "invoke", "ExpireApprovalsFunction", "--event", str(sample))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["expired"] == 0  # the demo seed has no approvals
