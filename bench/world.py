"""The data the benchmarks run on: one tenant's company, its customers and carts (in the seed
format of local mode), and approvals made in bulk for the scaling measurements."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from approval_core.domain.models import Approval

TENANT = "bench"
COMPANY = "c1"
REQUESTOR = "req"
APPROVER = "admin"
# Approvals in the past and far in the future, whatever day the benchmark runs.
OVERDUE_EXPIRY = "2020-01-08T00:00:00.000Z"
FUTURE_EXPIRY = "2099-01-01T00:00:00.000Z"


def cart(cart_id: str, owner: str, amount: str = "250.10") -> dict[str, Any]:
    """A cart as a storefront has it: two lines, prices, a delivery window."""
    return {
        "id": cart_id,
        "customerId": owner,
        "companyId": COMPANY,
        "siteCode": "main",
        "currency": "EUR",
        "items": [
            {
                "quantity": 2,
                "itemPrice": {"currency": "EUR", "amount": 100.05},
                "itemYrn": f"urn:yaas:saasag:caasproduct:product:{TENANT};drill-{cart_id}",
            },
            {
                "quantity": 1,
                "itemPrice": {"currency": "EUR", "amount": 50.00},
                "itemYrn": f"urn:yaas:saasag:caasproduct:product:{TENANT};bits-{cart_id}",
            },
        ],
        "totalPrice": {"currency": "EUR", "amount": amount},
        "subTotalPrice": {"currency": "EUR", "amount": amount},
        "subtotalAggregate": {"currency": "EUR", "netValue": 210.17, "grossValue": amount, "taxValue": 39.93},
        "deliveryWindow": {"id": "dw1", "slotId": "s1", "deliveryDate": "2026-12-01T10:00:00.000Z"},
    }


def customer(user_id: str, group: str) -> dict[str, Any]:
    return {
        "id": user_id,
        "firstName": user_id.capitalize(),
        "lastName": "Bench",
        "groups": [group],
        "companies": [COMPANY],
    }


def seed_document(requestors: int = 1, carts_per_requestor: int = 8) -> dict[str, Any]:
    """One company with a limit, its requesters (``req``, ``req1``, ...), buyers and admins, and
    ``carts_per_requestor`` carts for each requester (``cart-req-0``, ...)."""
    requestor_ids = [REQUESTOR] + [f"{REQUESTOR}{index}" for index in range(1, requestors)]
    customers = [customer(user, "B2B_REQUESTER") for user in requestor_ids]
    customers += [customer(APPROVER, "B2B_ADMIN"), customer("admin2", "B2B_ADMIN")]
    customers += [customer(f"buyer{index}", "B2B_BUYER") for index in range(4)]
    carts = [cart(f"cart-{user}-{index}", user) for user in requestor_ids for index in range(carts_per_requestor)]
    company = {"id": COMPANY, "name": "Bench Tools", "approvalLimit": {"amount": 1000, "currency": "EUR"}}
    return {"tenants": {TENANT: {"companies": [company], "customers": customers, "carts": carts}}}


def write_seed(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def bulk_approvals(
    count: int, overdue: int, list_sizes: tuple[int, ...], approvers: int = 500
) -> tuple[list[Approval], dict[int, str]]:
    """``count`` approvals, ``overdue`` of them (spread evenly, PENDING) past their expiry. The
    first ones belong to one requestor per entry of ``list_sizes`` (``l10`` has 10 approvals,
    ...): a history of PENDING, DECLINED, APPROVED and CLOSED in turn; the rest, all PENDING, to
    2,000 other requestors. Returns the approvals and {size: user}."""
    if sum(list_sizes) > count:
        raise ValueError(f"the list users' approvals ({sum(list_sizes)}) exceed the total ({count})")
    owners: list[str] = [list_user(size) for size in list_sizes for _ in range(size)]
    # Overdue ones among the other requestors only: the list users' histories are what a swept
    # table holds (an overdue approval the sweep has not reached costs a list one more item read).
    every = max(1, (count - len(owners)) // max(1, overdue))
    start = datetime(2025, 1, 1, tzinfo=UTC)
    approvals = []
    expired_so_far = 0
    for index in range(count):
        requestor = owners[index] if index < len(owners) else f"r{index % 2000}"
        is_overdue = index >= len(owners) and (index - len(owners)) % every == 0 and expired_so_far < overdue
        expired_so_far += is_overdue
        created = (start + timedelta(seconds=index)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        status = (
            HISTORY_STATUSES[index % len(HISTORY_STATUSES)] if index < len(owners) and not is_overdue else "PENDING"
        )
        approvals.append(
            Approval.model_validate(
                {
                    "id": f"b{index:06d}",
                    "status": status,
                    "resourceType": "CART",
                    "action": "CHECKOUT",
                    "resource": {"id": f"cart-{index}", "siteCode": "main"},
                    "requestor": {"userId": requestor, "firstName": "Bench", "lastName": "Requestor"},
                    "approver": {"userId": f"a{index % approvers}", "firstName": "Bench", "lastName": "Approver"},
                    "expiryDate": OVERDUE_EXPIRY if is_overdue else FUTURE_EXPIRY,
                    "metadata": {"createdAt": created, "modifiedAt": created, "version": 1},
                    "history": [
                        {"at": created, "by": requestor, "action": "CREATED", "status": "PENDING", "version": 1}
                    ],
                }
            )
        )
    return approvals, {size: list_user(size) for size in list_sizes}


HISTORY_STATUSES = ("PENDING", "DECLINED", "APPROVED", "CLOSED")


def list_user(size: int) -> str:
    """The requestor who has ``size`` of the bulk approvals."""
    return f"l{size}"


def pending_approvals(count: int, requestor: str, approver: str) -> list[Approval]:
    """``count`` PENDING approvals that ``requestor`` asked ``approver`` for, one cart each
    (``decide-0``, ...): what a bulk decision decides."""
    created = "2025-06-01T00:00:00.000Z"
    return [
        Approval.model_validate(
            {
                "id": f"decide-{index}",
                "status": "PENDING",
                "resourceType": "CART",
                "action": "CHECKOUT",
                "resource": {"id": f"cart-decide-{index}", "siteCode": "main"},
                "requestor": {"userId": requestor, "firstName": "Req", "lastName": "Bench"},
                "approver": {"userId": approver, "firstName": "Admin", "lastName": "Bench"},
                "expiryDate": FUTURE_EXPIRY,
                "metadata": {"createdAt": created, "modifiedAt": created, "version": 1},
                "history": [{"at": created, "by": requestor, "action": "CREATED", "status": "PENDING", "version": 1}],
            }
        )
        for index in range(count)
    ]
