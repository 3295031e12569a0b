"""What the service reads but does not own: customers and companies (the directory) and carts
(the cart source). The ports in ``approval_core.ports`` return these."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from pydantic import Field

from approval_core.domain.models import (
    DeliveryWindow,
    Identifier,
    Item,
    Model,
    Money,
    Price,
    Resource,
    SubtotalAggregate,
    Text,
)

B2B_ADMIN = "B2B_ADMIN"
B2B_BUYER = "B2B_BUYER"
B2B_REQUESTER = "B2B_REQUESTER"


@dataclass(frozen=True)
class Company:
    id: str
    name: str | None = None
    approval_limit: Money | None = None


@dataclass(frozen=True)
class Customer:
    """A customer as the directory knows them.

    ``company_ids`` are the companies the customer belongs to; ``companies`` holds those the
    directory can describe. An id without a description is a company that does not exist in the
    directory (APPROVAL-404003).
    """

    id: str
    first_name: str | None = None
    last_name: str | None = None
    groups: frozenset[str] = frozenset()
    company_ids: tuple[str, ...] = ()
    companies: dict[str, Company] = field(default_factory=dict)
    # The customer's own approval limit as an approver (rule 28); None: none.
    approval_limit: Money | None = None

    def in_group(self, *groups: str) -> bool:
        return not self.groups.isdisjoint(groups)


class Cart(Model):
    id: Identifier
    customerId: Identifier | None = None
    companyId: Identifier | None = None
    siteCode: Text | None = None
    currency: Text | None = None
    items: list[Item] = []
    totalPrice: Price | None = None
    subTotalPrice: Price | None = None
    subtotalAggregate: SubtotalAggregate | None = None
    deliveryWindow: DeliveryWindow | None = None

    def snapshot(self) -> Resource:
        """The approval's ``resource``: the cart as it was when approval was asked."""
        return Resource.model_validate(self.model_dump(exclude={"customerId", "companyId", "currency"}))


class Quote(Cart):
    """A quote, as the quote source has it: a cart's shape, lines named by ``itemId``, and the
    quote's ``version`` (rule 18: part of what the approver saw)."""

    version: Annotated[int, Field(ge=0, le=10**15)] | None = None


@dataclass(frozen=True)
class TenantSettings:
    """A tenant's approval settings (Emporix's system preferences ``approval.*``)."""

    enable_quote_approval_process: bool = False
