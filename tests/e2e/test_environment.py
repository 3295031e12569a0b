"""serve passes its own environment over the functions' environment of template.yaml."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from approvals_local.tokens import load_signing_key, mint
from tests.e2e.support import Api, Serve, create_body

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

UMBRELLA = {
    "tenants": {
        "umbrella": {
            "companies": [{"id": "um", "name": "Umbrella"}],
            "customers": [
                {"id": "uma", "firstName": "Uma", "groups": ["B2B_REQUESTER"], "companies": ["um"]},
                {"id": "ulf", "firstName": "Ulf", "groups": ["B2B_ADMIN"], "companies": ["um"]},
            ],
            "carts": [
                {
                    "id": "cart-uma",
                    "customerId": "uma",
                    "companyId": "um",
                    "totalPrice": {"currency": "EUR", "amount": 1},
                }
            ],
        }
    }
}


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_approval_expiry_seconds_from_the_environment(serve: Serve, tmp_path: Path) -> None:
    """A second serve, on the first one's store (--dynamodb-endpoint), with its own seed."""
    seed = tmp_path / "umbrella.json"
    seed.write_text(json.dumps(UMBRELLA))
    quick = Serve(
        tmp_path,
        ["--dynamodb-endpoint", serve.dynamodb_endpoint, "--seed", str(seed)],
        env={"APPROVAL_EXPIRY_SECONDS": "4"},
    )
    try:
        key = load_signing_key(tmp_path)
        api = Api(quick.base_url)
        uma = mint(key, tenant="umbrella", user="uma")
        created = api.call("POST", "/approval/umbrella/approvals", uma, json=create_body("cart-uma", "ulf"))
        assert created.status_code == 201, created.text
        path = f"/approval/umbrella/approvals/{created.json()['id']}"

        read_at = datetime.now(UTC)
        approval = api.call("GET", path, uma).json()
        expires_after = instant(approval["expiryDate"]) - instant(approval["metadata"]["createdAt"])
        assert expires_after == timedelta(seconds=4)
        # Read before its expiry date, it is PENDING (a loaded machine may read it later than that).
        if read_at < instant(approval["expiryDate"]):
            assert approval["status"] == "PENDING"

        # Once the expiry date has passed, a read reports it EXPIRED (contract, rule 13).
        deadline = time.monotonic() + 15
        while approval["status"] == "PENDING" and time.monotonic() < deadline:
            time.sleep(0.2)
            approval = api.call("GET", path, uma).json()
        assert approval["status"] == "EXPIRED"
    finally:
        code = quick.stop()
    assert code == 0, quick.stderr()
