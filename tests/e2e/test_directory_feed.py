"""The directory feed in local mode, as a commerce team uses it: a company, customers and a cart
that reach the directory only through signed Emporix webhooks (or only through the directory API)
let a customer ask for an approval that their admin approves."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from approvals_local.tokens import load_signing_key, mint
from tests.e2e.support import ROOT, Api, Serve, create_body, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

TENANT = "feed"
SECRET = "feed-webhook-secret"
DIRECTORY_SCOPE = ["approval.directory_manage"]


@pytest.fixture(scope="module")
def feed_serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    server = Serve(tmp_path_factory.mktemp("directory-feed"), ["--webhook-secret", f"{TENANT}={SECRET}"])
    yield server
    assert server.stop() == 0, server.stderr()


@pytest.fixture(scope="module")
def feed_api(feed_serve: Serve) -> Api:
    return Api(feed_serve.base_url)


@pytest.fixture(scope="module")
def tokens(feed_serve: Serve) -> Any:
    key = load_signing_key(feed_serve.state_dir)

    def _token(user: str, tenant: str = TENANT, **options: Any) -> str:
        return mint(key, tenant=tenant, user=user, **options)

    return _token


def sample(name: str, **changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(json.loads((ROOT / "events" / "emporix" / f"{name}.json").read_text()))
    return {**document, **changes}


def deliver(api: Api, event_type: str, payload: Any, secret: str = SECRET, tenant: str = TENANT) -> requests.Response:
    body = json.dumps(payload).encode()
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return api.call(
        "POST",
        f"/directory/{tenant}/webhooks/emporix/{event_type}",
        data=body,
        headers={"Content-Type": "application/json", "emporix-event-signature": signature},
    )


def entry(api: Api, tokens: Any, kind: str, entry_id: str, tenant: str = TENANT) -> dict[str, Any] | None:
    answer = api.call("GET", f"/directory/{tenant}/{kind}/{entry_id}", tokens("sync", tenant, scopes=DIRECTORY_SCOPE))
    return answer.json() if answer.status_code == 200 else None


def approve_flow(api: Api, tokens: Any, tenant: str, requester: str, admin: str, cart: str) -> None:
    created = api.call(
        "POST", f"/approval/{tenant}/approvals", tokens(requester, tenant), json=create_body(cart, admin)
    )
    assert created.status_code == 201, created.text
    approval = created.json()["id"]
    decided = api.call(
        "PATCH",
        f"/approval/{tenant}/approvals/{approval}",
        tokens(admin, tenant),
        json=[{"op": "replace", "path": "/status", "value": "APPROVED"}],
    )
    assert decided.status_code == 204, decided.text
    read = api.call("GET", f"/approval/{tenant}/approvals/{approval}", tokens(requester, tenant))
    assert read.json()["status"] == "APPROVED"


def test_webhooks_alone_set_up_an_approval_the_admin_approves(feed_api: Api, tokens: Any) -> None:
    assert deliver(feed_api, "client-management.legalentity-created", sample("legalentity-created")).status_code == 200
    assert deliver(feed_api, "customer.created", sample("customer-created")).status_code == 200
    admin = sample("customer-created", id="olaf", customerNumber="C-1002", firstName="Olaf")
    admin["mixins"] = {"approvalGroups": {"groups": ["B2B_ADMIN"]}}
    assert deliver(feed_api, "customer.created", admin).status_code == 200
    for user in ("nora", "olaf"):
        assigned = sample("user-assigned-to-legalentity", userId=user)
        assert deliver(feed_api, "client-management.user-assigned-to-legalentity", assigned).status_code == 200
    assert deliver(feed_api, "cart.created", sample("cart-created")).status_code == 200
    assert deliver(feed_api, "cart.item-added", sample("cart-item-added")).status_code == 200

    wait_until(lambda: (entry(feed_api, tokens, "carts", "nw-cart") or {}).get("items"), what="the cart's item")
    for user in ("nora", "olaf"):
        wait_until(
            lambda u=user: (entry(feed_api, tokens, "customers", u) or {}).get("companies"), what=f"{user}'s company"
        )
    approve_flow(feed_api, tokens, TENANT, "nora", "olaf", "nw-cart")


def test_a_wrong_signature_is_401_and_changes_nothing(feed_api: Api, tokens: Any) -> None:
    payload = sample("customer-created", id="mallory", customerNumber="C-666")
    refused = deliver(feed_api, "customer.created", payload, secret="not-the-secret")
    assert refused.status_code == 401
    unsigned = feed_api.call("POST", f"/directory/{TENANT}/webhooks/emporix/customer.created", json=payload)
    assert unsigned.status_code == 401
    # A good delivery after the refused ones: once the consumer has applied it, anything queued
    # before it would show too.
    deliver(feed_api, "customer.created", sample("customer-created", id="witness", customerNumber="C-667"))
    wait_until(lambda: entry(feed_api, tokens, "customers", "witness"), what="the witness customer")
    assert entry(feed_api, tokens, "customers", "mallory") is None


def test_a_replay_changes_nothing_and_an_older_update_does_not_win(feed_api: Api, tokens: Any) -> None:
    base = {"id": "rita", "customerNumber": "C-2001", "firstName": "Rita"}
    deliver(feed_api, "customer.created", sample("customer-created", **base, lastName="First", metadata={"version": 1}))
    newer = sample("customer-updated", **base, lastName="Newer", metadata={"version": 5})
    deliver(feed_api, "customer.updated", newer)
    wait_until(lambda: (entry(feed_api, tokens, "customers", "rita") or {}).get("lastName") == "Newer", what="v5")
    before = entry(feed_api, tokens, "customers", "rita")
    deliver(feed_api, "customer.updated", newer)  # replayed
    deliver(feed_api, "customer.updated", sample("customer-updated", **base, lastName="Older", metadata={"version": 4}))
    # The customer's events are applied in order: once this assignment shows, the two before it were applied.
    assigned = sample("user-assigned-to-legalentity", userId="rita", legalEntityId="marker")
    deliver(feed_api, "client-management.user-assigned-to-legalentity", assigned)
    after = wait_until(
        lambda: (found := entry(feed_api, tokens, "customers", "rita")) and "marker" in found["companies"] and found,
        what="the marker assignment",
    )
    assert after["lastName"] == "Newer"
    assert {**after, "companies": before["companies"]} == before  # type: ignore[index]


def test_the_same_flow_through_the_directory_api(feed_api: Api, tokens: Any) -> None:
    tenant = "acme"  # the demo seed's tenant: its entries are overwritten for this flow's ids only
    sync = tokens("sync", tenant, scopes=DIRECTORY_SCOPE)

    def put(kind: str, entry_id: str, body: dict[str, Any]) -> None:
        answer = feed_api.call("PUT", f"/directory/{tenant}/{kind}/{entry_id}", sync, json=body)
        assert answer.status_code == 200, answer.text

    put("companies", "apico", {"name": "API Co", "approvalLimit": {"amount": 100, "currency": "EUR"}, "version": 1})
    put("customers", "apireq", {"firstName": "Api", "groups": ["B2B_REQUESTER"], "companies": ["apico"]})
    put("customers", "apiadm", {"firstName": "Adm", "groups": ["B2B_ADMIN"], "companies": ["apico"]})
    put(
        "carts",
        "apicart",
        {
            "customerId": "apireq",
            "companyId": "apico",
            "currency": "EUR",
            "totalPrice": {"amount": 20, "currency": "EUR"},
        },
    )
    approve_flow(feed_api, tokens, tenant, "apireq", "apiadm", "apicart")
    denied = feed_api.call("PUT", f"/directory/{tenant}/customers/x", tokens("apireq", tenant), json={})
    assert denied.status_code == 403


def test_the_webhook_route_needs_no_token_but_the_directory_api_does(feed_api: Api) -> None:
    assert feed_api.call("GET", f"/directory/{TENANT}/customers/nora").status_code == 401


def test_the_same_flow_through_the_bulk_import(feed_api: Api, feed_serve: Serve, tokens: Any, tmp_path: Path) -> None:
    tenant = "imported"
    export = tmp_path / "export.jsonl"
    rows = [
        {"tenant": tenant, "kind": "company", "id": "imp", "approvalLimit": {"amount": 100, "currency": "EUR"}},
        {"tenant": tenant, "kind": "customer", "id": "ireq", "groups": ["B2B_REQUESTER"], "companies": ["imp"]},
        {"tenant": tenant, "kind": "customer", "id": "iadm", "groups": ["B2B_ADMIN"], "companies": ["imp"]},
        {"tenant": tenant, "kind": "cart", "id": "icart", "customerId": "ireq", "companyId": "imp", "currency": "EUR"},
    ]
    export.write_text("".join(json.dumps(row) + "\n" for row in rows))
    endpoint = feed_serve.dynamodb_endpoint
    done = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "approvals-admin"),
            "import",
            str(export),
            "--table",
            "DirectoryTable",
            "--endpoint",
            endpoint,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={
            **os.environ,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        },
    )
    assert done.returncode == 0, done.stderr
    assert "4 written, 0 skipped, 0 refused" in done.stdout
    approve_flow(feed_api, tokens, tenant, "ireq", "iadm", "icart")
