"""The load of section 5: storefront traffic against ``approvals-local serve``, read-heavy.

Run by ``bench.load`` with ``BENCH_LOAD_CONFIG`` naming a JSON file: the tokens, one approval per
requester (each simulated storefront user works on its own, so no two change one approval at
once), and the free carts that creates take one by one.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

from locust import FastHttpUser, constant, task

CONFIG: dict[str, Any] = json.loads(Path(os.environ["BENCH_LOAD_CONFIG"]).read_text(encoding="utf-8"))
TENANT: str = CONFIG["tenant"]
BASE = f"/approval/{TENANT}"
_users = itertools.count()
_free_carts = iter(CONFIG["free_carts"])


class Storefront(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        mine = CONFIG["approvals"][next(_users) % len(CONFIG["approvals"])]
        self.approval_id: str = mine["id"]
        self.cart: str = mine["cart"]
        self.auth = {"Authorization": f"Bearer {CONFIG['tokens'][mine['requestor']]}"}

    @task(40)
    def get_approval(self) -> None:
        self.client.get(f"{BASE}/approvals/{self.approval_id}", headers=self.auth, name="GET approval")

    @task(25)
    def list_approvals(self) -> None:
        self.client.get(f"{BASE}/approvals", headers=self.auth, name="GET list")

    @task(20)
    def permitted(self) -> None:
        body = {"resourceType": "CART", "resourceId": self.cart, "action": "CHECKOUT"}
        self.client.post(f"{BASE}/approval/permitted", json=body, headers=self.auth, name="POST permitted")

    @task(5)
    def search_users(self) -> None:
        body = {"resourceType": "CART", "resourceId": self.cart, "action": "CHECKOUT"}
        self.client.post(f"{BASE}/search/users", json=body, headers=self.auth, name="POST search users")

    @task(5)
    def edit_comment(self) -> None:
        change = [{"op": "ADD", "path": "/comment", "value": "please approve soon"}]
        self.client.request(
            "PATCH", f"{BASE}/approvals/{self.approval_id}", json=change, headers=self.auth, name="PATCH approval"
        )

    @task(5)
    def create(self) -> None:
        free = next(_free_carts, None)
        if free is None:  # every seeded cart has its approval: ask about one instead
            self.permitted()
            return
        owner, cart = free
        body = {"resourceType": "CART", "resourceId": cart, "action": "CHECKOUT", "approver": {"userId": "admin"}}
        headers = {"Authorization": f"Bearer {CONFIG['tokens'][owner]}"}
        self.client.post(f"{BASE}/approvals", json=body, headers=headers, name="POST create")
