"""A small company world shared by unit and integration tests: one tenant, two companies, the
B2B roles and carts on both sides of the approval limit."""

from __future__ import annotations

from decimal import Decimal

from approval_core.domain.models import Money
from approval_core.domain.reference import B2B_ADMIN, B2B_BUYER, B2B_REQUESTER, Cart, Company, Customer

TENANT = "acme"
EUR_LIMIT = Company(id="c1", name="ACME", approval_limit=Money(currency="EUR", amount=Decimal("1000")))
NO_LIMIT = Company(id="c2", name="ACME US")
COMPANIES = [EUR_LIMIT, NO_LIMIT]


def customer(user_id: str, groups: list[str], company_ids: list[str]) -> Customer:
    known = {company.id: company for company in COMPANIES}
    return Customer(
        id=user_id,
        first_name=user_id.capitalize(),
        last_name="Tester",
        groups=frozenset(groups),
        company_ids=tuple(company_ids),
        companies={cid: known[cid] for cid in company_ids if cid in known},
    )


CUSTOMERS = [
    customer("req", [B2B_REQUESTER], ["c1"]),
    customer("buyer", [B2B_BUYER], ["c1"]),
    customer("buyer2", [B2B_BUYER], ["c1"]),
    customer("admin", [B2B_ADMIN], ["c1"]),
    customer("admin2", [B2B_ADMIN], ["c2"]),
    customer("usadmin", [B2B_ADMIN], ["c1", "c2"]),
    customer("multi", [B2B_REQUESTER], ["c2", "c1"]),
    customer("plain", [], ["c1"]),
    customer("nocomp", [B2B_REQUESTER], []),
    customer("ghost", [B2B_REQUESTER], ["c-gone"]),
]


def cart(cart_id: str, owner: str, amount: str, currency: str = "EUR", company_id: str | None = "c1") -> Cart:
    price = {"currency": currency, "amount": Decimal(amount)}
    return Cart.model_validate(
        {
            "id": cart_id,
            "customerId": owner,
            "companyId": company_id,
            "siteCode": "main",
            "currency": currency,
            "items": [
                {
                    "quantity": 1,
                    "itemPrice": price,
                    "itemYrn": f"urn:yaas:saasag:caasproduct:product:acme;{cart_id}",
                }
            ],
            "totalPrice": price,
            "subTotalPrice": price,
            "subtotalAggregate": {
                "currency": currency,
                "netValue": Decimal(amount),
                "grossValue": Decimal(amount),
                "taxValue": 0,
            },
            "deliveryWindow": {"id": "dw1", "slotId": "s1", "deliveryDate": "2026-12-01T10:00:00.000Z"},
        }
    )


CARTS = [
    cart("cart-req", "req", "250.10"),
    cart("cart-req-2", "req", "80.00"),
    cart("cart-buyer-small", "buyer", "500"),
    cart("cart-buyer-limit", "buyer", "1000.00"),
    cart("cart-buyer-big", "buyer", "2499.90"),
    cart("cart-buyer-usd", "buyer", "10", currency="USD"),
    cart("cart-multi", "multi", "50", company_id=None),
    cart("cart-multi-c2", "multi", "50", company_id="c2"),
    cart("cart-plain", "plain", "50"),
    cart("cart-nocomp", "nocomp", "50", company_id=None),
    cart("cart-ghost", "ghost", "50", company_id=None),
    cart("cart-foreign", "req", "50", company_id="c2"),
    cart("cart-admin", "admin", "50"),
]


def create_body(resource_id: str = "cart-req", approver: str = "admin", **extra: object) -> dict[str, object]:
    return {
        "resourceType": "CART",
        "resourceId": resource_id,
        "action": "CHECKOUT",
        "approver": {"userId": approver},
        **extra,
    }
